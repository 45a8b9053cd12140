"""aksmesh.istio.report: the report file written on the controller at once, mode 0600 in a 0700 folder it creates,
never a change, in check mode too; a folder or an unwritable place named; a typo refused."""

import json
import os

import pytest
import yaml
from ansible.errors import AnsibleActionFail

from ansible_collections.aksmesh.istio.plugins.action import report as report_action
from ansible_collections.aksmesh.istio.plugins.modules import report as report_docs
from tests.unit.plugins.action.support import build


def run(args, check_mode=False):
    plugin = build(report_action.ActionModule, "aksmesh.istio.report", args, check_mode=check_mode)
    return plugin.run(task_vars={}), plugin.calls


def test_the_documentation_is_the_argument_spec():
    options = yaml.safe_load(report_docs.DOCUMENTATION)["options"]
    assert {name: (o["type"], o.get("required", False)) for name, o in options.items()} == {
        name: (o["type"], o.get("required", False)) for name, o in report_action.ARGUMENT_SPEC.items()}


@pytest.mark.parametrize("check_mode", [False, True])
def test_writes_the_report_in_a_new_folder_never_a_change(tmp_path, check_mode):
    dest = tmp_path / "reports" / "nested" / "aks.json"
    result, calls = run({"dest": str(dest), "content": json.dumps({"clean": True}) + "\n"}, check_mode=check_mode)
    assert not result.get("failed") and result["changed"] is False and result["rewritten"] is True
    assert calls == []  # no module process
    assert json.loads(dest.read_text()) == {"clean": True}
    assert dest.stat().st_mode & 0o777 == 0o600 and dest.parent.stat().st_mode & 0o777 == 0o700
    again, _calls = run({"dest": str(dest), "content": json.dumps({"clean": True}) + "\n"})
    assert again["changed"] is False and again["rewritten"] is False
    assert sorted(os.listdir(dest.parent)) == ["aks.json"]  # no scratch file left


def test_an_existing_folder_keeps_its_mode(tmp_path):
    tmp_path.chmod(0o755)
    run({"dest": str(tmp_path / "aks.json"), "content": "{}"})
    assert tmp_path.stat().st_mode & 0o777 == 0o755 and (tmp_path / "aks.json").stat().st_mode & 0o777 == 0o600


def test_a_folder_as_dest_is_named_and_left_alone(tmp_path):
    with pytest.raises(AnsibleActionFail, match=r"dest: .* is a folder"):
        run({"dest": str(tmp_path), "content": "{}"})
    assert os.listdir(tmp_path) == []


def test_an_unwritable_place_names_the_variable_to_set(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(AnsibleActionFail, match=r"cannot write the report .*aksmesh_report_dir"):
        run({"dest": str(blocker / "aks.json"), "content": "{}"})


def test_a_typo_is_refused(tmp_path):
    with pytest.raises(AnsibleActionFail, match="contnet"):
        run({"dest": str(tmp_path / "aks.json"), "contnet": "{}"})
    assert os.listdir(tmp_path) == []
