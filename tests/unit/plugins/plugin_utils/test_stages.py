"""The stage registry (plugins/plugin_utils/_stages.py) is the one place a stage is named.

The table agrees with what the playbooks do (roles, tags, cleanup parts, switches); no builder, role or playbook
writes a stage as a label, a render folder or a prune stage: those come from the registry through the
aksmesh.istio.stage action (the stage of the task's role), role_stage, stage_labels and settings_mesh.stages.
"""

import ast
import pathlib
import re

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.filter.stages import FilterModule
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import STAGE, obj, stamp
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _stages as stages
from ansible_collections.aksmesh.istio.plugins.plugin_utils._settings import DEFAULTS

REPO = pathlib.Path(__file__).resolve().parents[4]
FILTERS = FilterModule().filters()
NAMES = [stage.name for stage in stages.STAGES]


def yaml_tasks(items):
    """Every task of a task list, blocks opened."""
    for item in items or []:
        if not isinstance(item, dict):
            continue
        yield item
        for key in ("block", "rescue", "always"):
            yield from yaml_tasks(item.get(key))


def play_tasks(path):
    return [task for play in yaml.safe_load(path.read_text()) for task in yaml_tasks(play.get("tasks"))]


# --- the table --------------------------------------------------------------------------------------------------


def test_one_name_per_stage_and_one_stage_per_role():
    assert len(set(NAMES)) == len(NAMES)
    roles = [role for stage in stages.STAGES for role in stage.roles]
    assert len(set(roles)) == len(roles)
    for role in roles:
        assert (REPO / "roles" / role / "tasks" / "main.yml").is_file(), role


@pytest.mark.parametrize("stage", stages.STAGES, ids=NAMES)
def test_a_stage_name_is_a_label_value_and_a_folder_name(stage):
    assert names.problem("Namespace", stage.name.replace("_", "-")) is None  # a DNS-1123 label, '_' aside
    assert re.match(r"^[a-z0-9_-]+$", stage.name)
    assert stages.folder(stage) == ("" if stage.number is None else "%02d-%s" % (stage.number, stage.name))
    for api_version, kind in stage.prune:
        assert "/" in api_version or api_version == "v1", (api_version, kind)
    assert set(stage.methods) <= {"istioctl", "helm", "aks_addon"}
    assert set(stage.needs) <= {"azure", "cluster", "istioctl_used", "kubeconfig_fetched", "static_ip_ingress"}


@pytest.mark.parametrize("stage", [s for s in stages.STAGES if s.switch], ids=lambda s: s.name)
def test_a_switch_is_a_boolean_setting(stage):
    assert DEFAULTS[stage.switch][0] == "bool"


def role_tasks(path):
    """(module, name, tasks_from) of each import_role/include_role task of a playbook."""
    out = []
    for task in play_tasks(path):
        for module in ("ansible.builtin.import_role", "ansible.builtin.include_role"):
            if module in task:
                out.append((module, task[module]["name"], task[module].get("tasks_from", "main")))
    return out


STAGE_ROLES = set(role for stage in stages.STAGES for role in stage.roles + (stage.entry,))


@pytest.mark.parametrize("playbook", ["site.yml", "cleanup.yml", "upgrade.yml", "verify.yml"])
def test_the_playbooks_name_no_stage_role_they_loop_over_the_registry(playbook):
    """site.yml and cleanup.yml include the roles of settings_mesh.stages in a loop: a new stage is a row of the
    registry, not a task of theirs (what they name besides: the settings, the report, the kubeconfig's removal)."""
    named = [(m, name.rsplit(".", 1)[-1], t) for m, name, t in role_tasks(REPO / "playbooks" / playbook)]
    stage_tasks = [(m, name, t) for m, name, t in named if name in STAGE_ROLES]
    allowed = {("ansible.builtin.include_role", "mesh_analyze", "report"),
               ("ansible.builtin.include_role", "aks_credentials", "remove")}
    assert set(stage_tasks) <= allowed, stage_tasks
    if playbook in ("site.yml", "cleanup.yml"):
        loops = [task for task in play_tasks(REPO / "playbooks" / playbook)
                 if (task.get("ansible.builtin.include_tasks") or {}).get("file") == "tasks/stage.yml"]
        assert loops and all("| aksmesh.istio.stage_loop" in task["loop"] and task["tags"] == ["always"]
                             and task["ansible.builtin.include_tasks"]["apply"] == {"tags": "{{ aksmesh_stage.tags }}"}
                             for task in loops)
        entries = sorted(task["vars"]["aksmesh_stage_entry"] for task in loops)
        assert entries == (["main", "preflight"] if playbook == "site.yml" else ["absent"])


def test_the_stage_loops_are_the_same_for_every_host_in_run_order():
    main = stages.loop("main")
    assert [row["name"] for row in main] == NAMES and main[-1]["tags"] == list(stages.get("analyze").tags)
    preflight = stages.loop("preflight")
    assert [row["name"] for row in preflight] == stages.applying_names()
    assert {"name": "certs", "tags": ["mesh", "certs", "gateways"], "validate": True} in preflight
    assert {"name": "traffic", "tags": ["mesh", "traffic"], "validate": True} in preflight
    absent = stages.loop("absent")
    assert [row["name"] for row in absent] == [n for n in reversed(NAMES) if stages.get(n).cleanup]
    assert absent[-1] == {"name": "static_ip", "tags": ["static_ip"], "validate": True}
    assert {"name": "istio", "tags": ["install", "control_plane"], "validate": True} in absent
    # a main entry point whose variables the pre-flight checked against the same spec is not checked again; the
    # certs stage's pre-flight runs under the gateways' tags too (--skip-tags gateways skips it, not certs' main),
    # the control plane's main goes through a dispatcher with options of its own
    unchecked = [row["name"] for row in main if not row["validate"]]
    assert "traffic" in unchecked and not {"certs", "istio", "istio-helm", "credentials", "analyze"} & set(unchecked)
    refused = r"stage_loop: 'install' is not an entry point the playbooks include: use one of main, preflight, absent"
    with pytest.raises(AnsibleFilterError, match=refused):
        FILTERS["stage_loop"]("install")
    assert FILTERS["stage_loop"]("main") == main


@pytest.mark.parametrize("stage", [stage for stage in stages.STAGES if stages.checked_by_preflight(stage)],
                         ids=lambda stage: stage.name)
def test_a_main_entry_point_left_unchecked_has_the_options_its_preflight_checked(stage):
    """site.yml includes these roles' main entry point without checking their argument spec (rolespec_validate):
    their pre-flight checked the same variables, under the same tags, against a spec with the same options."""
    specs = yaml.safe_load((REPO / "roles" / stage.entry / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    assert specs["main"]["options"] == specs["preflight"]["options"]
    assert stages.preflight_tags(stage) == list(stage.tags)


@pytest.mark.parametrize("stage", stages.STAGES, ids=NAMES)
def test_each_stage_role_has_the_entry_points_the_playbooks_include(stage):
    tasks = REPO / "roles" / stage.entry / "tasks"
    assert (tasks / "main.yml").is_file()
    assert (tasks / "absent.yml").is_file() == bool(stage.cleanup), stage.name
    specs = yaml.safe_load((REPO / "roles" / stage.entry / "meta" / "argument_specs.yml").read_text())
    if stage.preflight is not None:
        assert (tasks / "preflight.yml").is_file() and "preflight" in specs["argument_specs"]
        assert set(stages.preflight_tags(stage)) >= set(stage.tags)
    assert "absent" in specs["argument_specs"] or not stage.cleanup, stage.name


@pytest.mark.parametrize("stage", [s for s in stages.STAGES if s.number is not None], ids=lambda s: s.name)
def test_every_stage_that_builds_objects_has_a_preflight_that_checks_its_variables(stage):
    """Issue 23/26: a stage's variables were checked when it ran, after earlier stages had changed the cluster (or
    Azure, or the render folder). Every stage that builds objects has a pre-flight, run before any stage: its role's
    ``preflight`` entry point takes the ``main`` entry point's options (the argument spec check Ansible runs first)
    and builds the objects (a task of its own, or the method role's, through the control plane's dispatcher)."""
    assert stage.preflight is not None, "%s: give it preflight=[] in plugins/plugin_utils/_stages.py" % stage.name
    for role in stage.roles:
        specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
        assert "preflight" in specs, role
        main, preflight = specs["main"]["options"], specs["preflight"]["options"]
        assert all(preflight.get(name) == spec for name, spec in main.items()), (
            "%s: the preflight entry point takes main's options (options: *main_options)" % role)
        tasks = list(yaml_tasks(yaml.safe_load((REPO / "roles" / role / "tasks" / "preflight.yml").read_text())))
        modules = [key for task in tasks for key in task if key.startswith("aksmesh.istio.")]
        assert tasks and modules == [], "%s: the pre-flight applies nothing (%s)" % (role, modules)


def test_each_cleanup_part_is_named_in_cleanup_yml():
    text = (REPO / "playbooks" / "cleanup.yml").read_text()
    for stage in stages.STAGES:
        if stage.cleanup:
            assert stage.cleanup in text, stage.name
            assert stage.cleanup in stages.cleanup_tags(stage)


def test_docs_stages_md_is_the_registry():
    import importlib.util
    spec = importlib.util.spec_from_file_location("stages_doc", REPO / "tools" / "stages_doc.py")
    doc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(doc)
    assert (REPO / "docs" / "stages.md").read_text() == doc.table(), "docs/stages.md is stale: run make docs"
    readme = (REPO / "README.md").read_text()
    assert "docs/stages.md" in readme


def test_the_mesh_namespaces_label_is_a_stage():
    assert stages.get(stages.CONTROL_PLANE).number is not None


def test_unknown_stages_and_roles():
    with pytest.raises(stages.StageError, match=r"'network_policies' is not a stage of aksmesh.istio: the stages are"):
        stages.get("network_policies")
    assert stages.of_role("aksmesh.istio.mesh_network_policies").name == "network-policies"
    assert stages.of_role("mesh_apply") is None and stages.of_role(None) is None


# --- the filters: the stage of a role, its label on the objects -------------------------------------------------


def test_role_stage_takes_a_role_or_the_parent_role_names():
    assert FILTERS["role_stage"]("aks_mesh_addon") == "istio"
    assert FILTERS["role_stage"](["aksmesh.istio.istio_helm", "aksmesh.istio.other"]) == "istio-helm"
    assert FILTERS["role_stage"]([]) == "" and FILTERS["role_stage"]("my_role") == ""


def test_stage_labels_fill_only_the_empty_stage_label_in_place():
    built = obj("v1", "ConfigMap", "a", "ns", extra_labels={"app": "x"})
    upstream = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "labels": {
        "app.kubernetes.io/managed-by": "Helm", "x": "y", STAGE: None, "aksmesh.io/addon": "kiali"}}}
    owned = obj("v1", "Namespace", "istio-system", None)
    owned["metadata"]["labels"][STAGE] = "istio"
    plain = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
    out = FILTERS["stage_labels"]([built, upstream, owned, plain], "traffic")
    assert list(out[0]["metadata"]["labels"].items()) == [
        ("app.kubernetes.io/managed-by", "aksmesh"), (STAGE, "traffic"), ("app", "x")]
    assert list(out[1]["metadata"]["labels"]) == list(upstream["metadata"]["labels"])  # the label keeps its place
    assert out[1]["metadata"]["labels"][STAGE] == "traffic"
    assert out[2]["metadata"]["labels"][STAGE] == "istio" and out[3] == plain
    assert built["metadata"]["labels"][STAGE] is None and upstream["metadata"]["labels"][STAGE] is None  # copies
    assert stamp([], "traffic") == []


def test_stage_labels_refuse_a_stage_the_registry_does_not_know():
    with pytest.raises(AnsibleFilterError, match=r"stage_labels: 'my-stage' is not a stage of aksmesh.istio"):
        FILTERS["stage_labels"]([], "my-stage")
    with pytest.raises(AnsibleFilterError, match="expected a list of objects"):
        FILTERS["stage_labels"]({}, "traffic")


# --- no stage literal outside the registry ----------------------------------------------------------------------

PYTHON = sorted(p for p in (REPO / "plugins").rglob("*.py") if p.name != "_stages.py")
YAML = sorted([p for d in ("tasks", "defaults", "vars", "handlers") for p in (REPO / "roles").glob("*/%s/*.yml" % d)]
              + list((REPO / "playbooks").rglob("*.yml")) + list((REPO / "playbooks").rglob("*.j2"))
              + list((REPO / "molecule").rglob("*.yml")))
FOLDER = re.compile(r"\b\d\d-(%s)\b" % "|".join(re.escape(n) for n in NAMES))


def stage_literals_in_python(tree):
    """(line, what) of each place a Python file writes a stage into an object: an ``obj()`` stage argument,
    ``labels()``/``namespaces()`` given a string, ``stage="..."``, a stage label or selector, a render folder."""
    found = []
    # a module's documentation may show a rendered folder (kube_inject's injector example): not code
    docs = set(id(node.value) for node in tree.body if isinstance(node, ast.Assign) and any(
        getattr(target, "id", "") in ("DOCUMENTATION", "EXAMPLES", "RETURN") for target in node.targets))
    for node in ast.walk(tree):
        if id(node) in docs:
            continue
        if isinstance(node, ast.Call):
            called = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            # obj(api_version, kind, name, namespace, spec, ...): a string (or a stage variable) where the spec goes
            stage_arg = node.args[4] if called == "obj" and len(node.args) > 4 else None
            if (isinstance(stage_arg, ast.Constant) and isinstance(stage_arg.value, str)) or getattr(
                    stage_arg, "id", "").lower() == "stage":
                found.append((node.lineno, "obj() takes no stage: aksmesh.istio.stage stamps it"))
            if called in ("labels", "namespaces", "stamp") and any(
                    isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args):
                found.append((node.lineno, "%s() given a stage literal" % called))
            for kw in node.keywords:
                if kw.arg == "stage" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    found.append((node.lineno, "stage=%r" % kw.value.value))
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                is_stage_key = (isinstance(key, ast.Constant) and key.value == STAGE) or getattr(key, "id", "") == "STAGE"
                if is_stage_key and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.append((node.lineno, "stage label %r" % value.value))
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if re.search(re.escape(STAGE) + r"=[a-z]", node.value) or FOLDER.search(node.value):
                found.append((node.lineno, "stage label or folder in %r" % node.value))
    return found


@pytest.mark.parametrize("path", PYTHON, ids=lambda p: str(p.relative_to(REPO)))
def test_no_stage_literal_in_the_python(path):
    found = stage_literals_in_python(ast.parse(path.read_text()))
    assert not found, "%s: %s; the stage registry (plugins/plugin_utils/_stages.py) names stages" % (
        path.relative_to(REPO), found)


YAML_RULES = [
    (re.compile(r"\bstage\s*=\s*['\"]"), "stage='...' given to a filter"),
    (re.compile(r"^\s*stage:\s*(?!\"?\{\{)\S", re.M), "render stage folder literal"),
    (re.compile(re.escape(STAGE) + r"\s*[=:]\s*['\"]?[a-z]"), "stage label or selector literal"),
    (FOLDER, "render folder literal"),
]


@pytest.mark.parametrize("path", YAML, ids=lambda p: str(p.relative_to(REPO)))
def test_no_stage_literal_in_roles_playbooks_and_molecule(path):
    text = path.read_text()
    found = ["line %d: %s (%r)" % (text[:m.start()].count("\n") + 1, why, m.group(0).strip())
             for rule, why in YAML_RULES for m in rule.finditer(text)]
    assert not found, "%s: %s" % (path.relative_to(REPO), found)


def test_the_stage_keys_the_yaml_reads_are_stages():
    """settings_mesh.stages.<name> / ['<name>'] in a role, playbook or template names a stage of the registry."""
    key = re.compile(r"settings_mesh\.stages(?:\.([a-z_]+)|\[['\"]([a-z_-]+)['\"]\])")
    seen = set()
    for path in YAML:
        for m in key.finditer(path.read_text()):
            name = m.group(1) or m.group(2)
            if name in ("items", "values", "keys"):
                continue
            assert name in stages.BY_NAME, "%s: settings_mesh.stages %s is no stage" % (path.relative_to(REPO), name)
            seen.add(name)
    assert seen  # the scan finds the playbooks' reads


def test_the_scans_catch_what_they_look_for():
    caught = stage_literals_in_python(ast.parse(
        'obj("v1", "ConfigMap", "a", None, "mtls")\nlabels("addons")\nnamespaces(["a"], stage="istio")\n'
        'x = {STAGE: "certs"}\ny = "app.kubernetes.io/managed-by=aksmesh,aksmesh.io/stage=authz"\nz = "75-authz"\n'))
    assert [line for line, _why in caught] == [1, 2, 3, 4, 5, 6]
    yaml_text = ("    x: \"{{ n | aksmesh.istio.mesh_namespaces(stage='istio') }}\"\n    stage: 10-istio\n"
                 "    selector: aksmesh.io/stage=sample\n")
    assert [why for rule, why in YAML_RULES for _m in rule.finditer(yaml_text)] == [why for _rule, why in YAML_RULES]


def test_the_stages_that_apply_objects_and_their_prune_selector():
    assert stages.applying("mtls") is stages.get("mtls")
    with pytest.raises(stages.StageError, match=r"^'preflight' is not a stage of aksmesh.istio that applies objects: "
                                                r"the stages that do are secrets, gateway-api, istio, istio-helm, injection, "):
        stages.applying("preflight")
    with pytest.raises(stages.StageError, match="^None is not a stage"):
        stages.applying(None)
    assert stages.prune_selector(stages.get("authz")) == "app.kubernetes.io/managed-by=aksmesh,aksmesh.io/stage=authz"


# --- one place applies a stage: the aksmesh.istio.stage action ---------------------------------------------------

TASK_FILES = sorted(p for p in YAML if p.suffix == ".yml" and ("/tasks/" in p.as_posix() or "playbooks" in p.parts))


def task_files_tasks():
    for path in TASK_FILES:
        data = yaml.safe_load(path.read_text()) or []
        plays = [p for p in data if isinstance(p, dict) and "hosts" in p]
        items = [t for play in plays for key in ("pre_tasks", "tasks", "post_tasks") for t in play.get(key) or []]
        if not plays:  # a task file
            items = data
        for task in yaml_tasks(items):
            yield path, task


def test_stage_tasks_take_their_stage_from_the_role_and_nothing_else_renders():
    """Each role's stage task takes the stage of its role (no name literal); no role or playbook calls render
    itself, and none includes a role to apply a stage."""
    seen = set()
    for path, task in task_files_tasks():
        where = "%s: %s" % (path.relative_to(REPO), task.get("name"))
        assert "aksmesh.istio.render" not in task, where
        include = task.get("ansible.builtin.include_role") or task.get("ansible.builtin.import_role") or {}
        assert not str(include.get("name", "")).endswith("mesh_apply"), where
        args = task.get("aksmesh.istio.stage")
        if args is None:
            continue
        assert "name" not in args or "{{" in str(args["name"]), where
        role = path.relative_to(REPO).parts[1] if path.parts[len(REPO.parts)] == "roles" else None
        assert role and stages.of_role(role) and stages.folder(stages.of_role(role)), where
        seen.add(role)
    # every role of a stage that applies objects applies them with aksmesh.istio.stage
    assert seen == set(r for s in stages.STAGES if stages.folder(s) for r in s.roles)


def test_a_loop_leaves_out_the_stages_no_host_of_the_play_runs():
    def host(*running):
        return {stage.name: {"enabled": stage.name in running} for stage in stages.STAGES}
    names = [row["name"] for row in FILTERS["stage_loop"]("main", [host("secrets", "mtls"), host("mtls", "sample")])]
    assert names == ["secrets", "mtls", "sample"]  # in the registry's order, the union of the hosts'
    assert [row["name"] for row in FILTERS["stage_loop"]("absent", [host("mtls")])] == ["mtls"]
    with pytest.raises(AnsibleFilterError, match="expected the settings_mesh.stages of each host"):
        FILTERS["stage_loop"]("main", ["mtls"])
