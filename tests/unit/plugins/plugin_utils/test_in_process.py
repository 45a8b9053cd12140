"""A module run inside its action plugin (plugins/plugin_utils/_in_process.py): the same program as the module
file, the same checks and messages, no-log values masked in everything it returns, and only where the module would
have run in the controller's Python anyway."""

import importlib
import json
import os
import sys

import pytest

from ansible_collections.aksmesh.istio.plugins.plugin_utils import _in_process as in_process

SECRET = "s3cr3t-passphrase"
OBJECTS = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "grafana", "namespace": "istio-system"},
            "stringData": {"passphrase": SECRET}},
           {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "istio-system"},
            "data": {"mode": "strict"}}]


def render(tmp_path, **kwargs):
    args = dict(definitions=OBJECTS, dest=str(tmp_path / "out"), stage="20-secrets")
    args.update(kwargs)
    return in_process.run("aksmesh.istio.render", args, check_mode=kwargs.pop("_check", False))


def test_render_writes_then_changes_nothing_and_never_returns_a_secret_value(tmp_path):
    first = render(tmp_path)
    assert first["changed"] is True and first["counts"]["created"] == 2, first
    assert SECRET not in json.dumps(first)  # not in the files listed, not in the invocation
    assert first["invocation"]["module_args"]["stage"] == "20-secrets"
    secret_file = tmp_path / "out" / "20-secrets" / "secret-istio-system-grafana.yaml"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    second = render(tmp_path)
    assert second["changed"] is False and second["counts"]["unchanged"] == 2


def test_check_mode_and_diff_write_nothing_and_mask_the_secret(tmp_path):
    result = in_process.run("aksmesh.istio.render", dict(definitions=OBJECTS, dest=str(tmp_path / "out"),
                                                         stage="20-secrets"), check_mode=True, diff=True)
    assert result["changed"] is True and not (tmp_path / "out").exists()
    assert result["diff"] and SECRET not in json.dumps(result)


def test_arguments_are_checked_against_the_modules_spec_with_ansiblemodules_words(tmp_path):
    unknown = render(tmp_path, destination="x")
    assert unknown["failed"] is True
    assert unknown["msg"].startswith("Unsupported parameters for (aksmesh.istio.render) module: destination. "
                                     "Supported parameters include: definitions, dest, prune, stage"), unknown["msg"]
    assert SECRET not in json.dumps(unknown)  # the definitions' secrets are masked before validation fails
    missing = in_process.run("aksmesh.istio.render", dict(definitions=OBJECTS, stage="x"))
    assert missing["failed"] is True and missing["msg"] == "missing required arguments: dest"
    wrong = render(tmp_path, prune="sometimes")
    assert wrong["failed"] is True and "prune" in wrong["msg"] and not (tmp_path / "out").exists()
    assert render(tmp_path, stage="../up")["msg"].startswith("stage '../up' is not a plain folder name")


def test_apply_takes_its_timeouts_checks_and_masks_a_kubeconfigs_credentials():
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
                  "clusters": [{"name": "k", "cluster": {"server": "https://198.18.0.1:1"}}],
                  "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
                  "users": [{"name": "u", "user": {"token": "tok-" + SECRET}}]}
    result = in_process.run("aksmesh.istio.apply", dict(definitions=OBJECTS, kubeconfig=kubeconfig, wait_timeout=-1))
    assert result["failed"] is True and "wait_timeout" in result["msg"], result
    assert SECRET not in json.dumps(result)
    neither = in_process.run("aksmesh.istio.apply", dict(namespace="shop"))
    assert neither["failed"] is True and neither["msg"].startswith("nothing to apply: give definitions or src")


def test_the_end_of_a_program_is_no_error_its_own_handlers_take(tmp_path):
    module = in_process.ControllerModule("aksmesh.istio.render", in_process.program("aksmesh.istio.render"),
                                         dict(definitions=[], dest=str(tmp_path), stage="a"))
    with pytest.raises(in_process.ModuleExit) as ended:
        try:
            module.fail_json(msg="stop here", rc=3)
        except Exception:  # noqa: BLE001 - what a program's own error handling looks like
            pytest.fail("fail_json was taken for an error")
    assert ended.value.result["failed"] is True and ended.value.result["rc"] == 3


def test_a_broken_program_fails_naming_it_with_its_secrets_masked(monkeypatch, tmp_path):
    program = in_process.program("aksmesh.istio.render")

    def broken(module):
        raise KeyError("the value %s" % SECRET)

    monkeypatch.setattr(in_process, "program", lambda name: program._replace(run=broken))
    result = render(tmp_path)
    assert result["failed"] is True and result["msg"].startswith("aksmesh.istio.render failed in the controller: "
                                                                 "KeyError")
    assert SECRET not in json.dumps(result) and "Traceback" in result["exception"]


class Connection:
    transport = "local"


class PlayContext:
    become = False


class Task:
    async_val = 0
    environment = []


class Templar:
    def template(self, value):
        return value


class Action:
    def __init__(self, **changes):
        self._connection, self._play_context, self._task, self._templar = Connection(), PlayContext(), Task(), Templar()
        for where, value in changes.items():
            owner, attribute = where.split("__")
            obj = type(getattr(self, "_" + owner))()
            setattr(obj, attribute, value)
            setattr(self, "_" + owner, obj)


HERE = {"ansible_python_interpreter": sys.executable}


@pytest.mark.parametrize("action, task_vars, why", [
    (Action(), HERE, None),
    (Action(connection__transport="ssh"), HERE, "not the local connection"),
    (Action(task__async_val=60), HERE, "async"),
    (Action(play_context__become=True), HERE, "become"),
    (Action(task__environment=[{"HTTPS_PROXY": "http://proxy:3128"}]), HERE, "a task environment"),
    (Action(), {"ansible_python_interpreter": "/usr/bin/python3.6"}, "another interpreter"),
    (Action(), {}, "another interpreter"),  # discovery would choose it
    (Action(), {"ansible_facts": {"discovered_interpreter_python": sys.executable}}, None),
], ids=["here", "ssh", "async", "become", "environment", "interpreter", "discovery", "discovered"])
def test_a_module_runs_here_only_where_it_would_run_in_the_controllers_python(action, task_vars, why, monkeypatch):
    monkeypatch.delenv("AKSMESH_MODULE_PROCESS", raising=False)
    monkeypatch.delenv("ANSIBLE_PYTHON_INTERPRETER", raising=False)
    assert in_process.why_not(action, "aksmesh.istio.apply", task_vars) == why
    assert in_process.why_not(action, "aksmesh.istio.kube_inject", task_vars) == "no program"
    monkeypatch.setenv("AKSMESH_MODULE_PROCESS", "1")
    assert in_process.why_not(action, "aksmesh.istio.render", task_vars) == "AKSMESH_MODULE_PROCESS=1"


@pytest.mark.parametrize("name", sorted(in_process.PROGRAMS))
def test_each_program_is_its_module_files(name):
    """The module file runs the same spec, checks and function in the same AnsibleModule class: nothing the module
    checks is left out here. Its action plugin runs the module through PlannedActionModule, where the runner is."""
    import pathlib
    repo = pathlib.Path(__file__).resolve().parents[4]
    short = name.rsplit(".", 1)[-1]
    source = (repo / "plugins" / "modules" / ("%s.py" % short)).read_text()
    utils, module_class = in_process.PROGRAMS[name]
    alias = utils.rsplit(".", 1)[-1]
    main = source[source.index("def main():"):]
    assert main.startswith("def main():\n    module = %s(argument_spec=%s.argument_spec(), supports_check_mode=True"
                           % (module_class, alias)), main
    has_checks = bool(getattr(importlib.import_module(in_process.MODULE_UTILS + utils), "CHECKS", None))
    assert ("**%s.CHECKS)" % alias in main) is has_checks, main
    assert "\n    %s.run(module)\n" % alias in main
    from ansible_collections.aksmesh.istio.plugins.plugin_utils._action_module import PlannedActionModule
    action = importlib.import_module("ansible_collections.aksmesh.istio.plugins.action.%s" % short).ActionModule
    assert issubclass(action, PlannedActionModule)


def test_run_command_reads_like_ansiblemodules(tmp_path, monkeypatch):
    module = in_process.ControllerModule("aksmesh.istio.render", in_process.program("aksmesh.istio.render"),
                                         dict(definitions=[], dest=str(tmp_path), stage="a"))
    monkeypatch.setenv("AKSMESH_WORD", "expanded")
    rc, out, err = module.run_command(["sh", "-c", 'cat; echo "$1 $EXTRA" >&2; exit 3', "sh", "$AKSMESH_WORD"],
                                      environ_update={"EXTRA": "given"}, data="on stdin")
    assert (rc, out, err) == (3, "on stdin\n", "expanded given\n")
    rc, out, _err = module.run_command(["sh", "-c", "cat"], data="raw", binary_data=True)
    assert (rc, out) == (0, "raw")
    assert module.run_command(["sh", "-c", "cat"])[1] == ""  # no data: nothing from the terminal
    assert module.get_bin_path("sh").endswith("/sh") and module.get_bin_path("no-such-tool-here") is None
    with pytest.raises(in_process.ModuleExit) as ended:
        module.run_command([str(tmp_path / "missing-tool"), "version"])
    assert ended.value.result["failed"] is True and "missing-tool" in ended.value.result["cmd"]


def test_what_a_program_leaves_in_the_temporary_folder_goes_with_it(tmp_path, monkeypatch):
    """The kubernetes client writes a kubeconfig's key and certificate data to temporary files that it removes at
    exit; Ansible's worker processes end without exit handlers, so the runner removes them."""
    import tempfile
    program = in_process.program("aksmesh.istio.render")

    def leaves_a_file(module):
        handle, name = tempfile.mkstemp()
        os.write(handle, b"client-key-data")
        os.close(handle)
        module.exit_json(changed=False, left=name)

    monkeypatch.setattr(in_process, "program", lambda name: program._replace(run=leaves_a_file))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = render(tmp_path / "out")
    assert result["left"].startswith(str(tmp_path)) and list(tmp_path.iterdir()) == []
    assert tempfile.tempdir == str(tmp_path)


def test_the_preload_imports_every_filter_plugin_of_the_collection():
    assert "settings" in in_process.filter_modules() and "__init__" not in in_process.filter_modules()
    in_process.preload()
    assert all(in_process.FILTER_PACKAGE + name in sys.modules for name in in_process.filter_modules())
