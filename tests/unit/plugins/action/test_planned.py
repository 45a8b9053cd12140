"""The action plugins of the modules that take or return a check-mode plan (plugins/plugin_utils/_action_module.py):
in check mode the run's plan (a host fact) goes in and the module's comes back into it; outside check mode, and with
async, the module just runs."""

import importlib
import pathlib
import re

import pytest
import yaml

from ansible.release import __version__ as ansible_core_version

from ansible_collections.aksmesh.istio.plugins.plugin_utils import _action_module as base
from tests.unit.plugins.action.support import build

REPO = pathlib.Path(__file__).resolve().parents[4]
FACT = base.FACT
CORE_VERSION = tuple(int(part) for part in ansible_core_version.split(".")[:2])
PLANNED_MODULES = ["apply", "istio_install", "helm_release", "injection", "aks_mesh_addon", "ingress_info",
                   "kube_inject"]


def plugin_class(name):
    return importlib.import_module("ansible_collections.aksmesh.istio.plugins.action.%s" % name).ActionModule


def facts(plan):
    return {"ansible_facts": {FACT: plan, "other": 1}}


EARLIER = {"namespaces": ["istio-system"], "kinds": ["networking.istio.io/*"]}


# --- the plan ----------------------------------------------------------------------------------------------------


def test_merge_keeps_each_name_once_sorted_and_ignores_what_is_no_plan():
    merged = base.merge({"namespaces": ["b", "a"], "kinds": ["x.io/K"]}, None, True, {"namespaces": ["a", "c", ""]},
                        {"kinds": "not a list"})
    assert merged == {"namespaces": ["a", "b", "c"], "kinds": ["x.io/K"]}
    assert base.merge() == {"namespaces": [], "kinds": []}


def test_the_run_plan_is_the_host_fact_or_empty():
    assert base.run_plan(facts(EARLIER)) == EARLIER
    assert base.run_plan({}) == base.run_plan(None) == base.run_plan({"ansible_facts": {}}) == base.merge()


# --- the action plugins ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PLANNED_MODULES)
def test_each_plugin_has_its_module_and_takes_the_plan_exactly_when_the_module_does(name):
    module = (REPO / "plugins" / "modules" / ("%s.py" % name)).read_text()
    takes = "aksmesh.istio.planned" in module  # the planned option's doc fragment
    assert plugin_class(name).TAKES_PLANNED is takes, name
    assert issubclass(plugin_class(name), base.PlannedActionModule)
    assert "aksmesh.istio.attributes.action" in module  # documents its action plugin and async


def test_outside_check_mode_the_module_runs_as_the_task_says_and_the_plan_stays():
    task_vars = facts(dict(EARLIER))
    plugin = build(plugin_class("apply"), "aksmesh.istio.apply", {"definitions": [{"kind": "Namespace"}]},
                   returns={"changed": True, "counts": {"created": 1}, "planned": {"namespaces": ["shop"]}})
    result = plugin.run(task_vars=task_vars)
    assert plugin.calls == [{"module": "aksmesh.istio.apply", "args": {"definitions": [{"kind": "Namespace"}]},
                             "wrap_async": False}]
    # the change is kept (below), the plan is not
    assert result["counts"] == {"created": 1} and list(result["ansible_facts"]) == [base.CHANGED_FACT]
    assert task_vars["ansible_facts"][FACT] == EARLIER


# --- the stages that changed something (roles/mesh_analyze leaves istioctl analyze out of a run without any) -----


def changed_fact(result):
    return (result.get("ansible_facts") or {}).get(base.CHANGED_FACT)


@pytest.mark.parametrize("returns, kept", [
    ({"changed": True}, ["injection"]),
    ({"changed": False, "differs": True}, ["injection"]),  # compared first: the job in the background changes it
    ({"changed": False, "differs": False}, None),
    ({"changed": False}, None),
])
def test_a_change_outside_check_mode_adds_the_stage_of_the_task_once(returns, kept):
    def run(facts_before, check_mode=False):
        plugin = build(plugin_class("injection"), "aksmesh.istio.injection", {}, check_mode=check_mode,
                       returns=returns)
        plugin._templar = Identity()
        return plugin.run(task_vars={"ansible_facts": dict(facts_before),
                                     "ansible_role_name": "aksmesh.istio.mesh_injection"})
    assert changed_fact(run({base.CHANGED_FACT: []})) == kept
    assert changed_fact(run({})) == kept  # outside site.yml (no settings role) too
    # a stage already listed is not added again; another one is
    assert changed_fact(run({base.CHANGED_FACT: ["injection"]})) is None
    assert changed_fact(run({base.CHANGED_FACT: ["mtls"]})) == (["mtls", "injection"] if kept else None)
    assert changed_fact(run({base.CHANGED_FACT: []}, check_mode=True)) is None  # a dry run changes nothing
    assert base.run_changed({"ansible_facts": {base.CHANGED_FACT: "not a list"}}) == []


def test_a_job_in_the_background_keeps_no_change_its_result_comes_later():
    started = {"ansible_job_id": "j1", "started": 1, "finished": 0, "changed": True}
    plugin = build(plugin_class("istio_install"), "aksmesh.istio.istio_install", {}, async_val=300, returns=started)
    plugin._templar = Identity()
    assert changed_fact(plugin.run(task_vars={"ansible_facts": {base.CHANGED_FACT: []}})) is None


def test_check_mode_hands_the_run_plan_in_and_adds_the_module_plan_to_the_fact():
    task_vars = facts(dict(EARLIER))
    plugin = build(plugin_class("apply"), "aksmesh.istio.apply", {"definitions": []}, check_mode=True,
                   returns={"changed": True, "planned": {"namespaces": ["shop", "istio-system"], "kinds": []}})
    result = plugin.run(task_vars=task_vars)
    assert plugin.calls[0]["args"] == {"definitions": [], "planned": EARLIER}
    merged = {"namespaces": ["istio-system", "shop"], "kinds": ["networking.istio.io/*"]}
    assert result["ansible_facts"] == {FACT: merged}
    assert result["planned"] == {"namespaces": ["shop", "istio-system"], "kinds": []}  # the module's, as it said
    assert task_vars["ansible_facts"][FACT] == merged and task_vars["ansible_facts"]["other"] == 1


def test_a_plan_the_task_gives_is_the_one_the_module_gets():
    given = {"namespaces": ["mine"], "kinds": []}
    plugin = build(plugin_class("apply"), "aksmesh.istio.apply", {"planned": given}, check_mode=True,
                   returns={"planned": {"namespaces": ["mine"], "kinds": []}})
    result = plugin.run(task_vars=facts(dict(EARLIER)))
    assert plugin.calls[0]["args"]["planned"] == given
    assert result["ansible_facts"][FACT]["namespaces"] == ["istio-system", "mine"]


def test_a_module_without_the_option_gets_no_plan_and_its_plan_is_kept():
    plugin = build(plugin_class("istio_install"), "aksmesh.istio.istio_install", {"operator": {}}, check_mode=True,
                   returns={"changed": True, "planned": {"namespaces": ["istio-system"],
                                                         "kinds": ["security.istio.io/*"]}})
    result = plugin.run(task_vars={"ansible_facts": {}})
    # no planned option; force_conflicts from aksmesh_reconcile (report: false, no settings here)
    assert plugin.calls[0]["args"] == {"operator": {}, "force_conflicts": False}
    assert result["ansible_facts"] == {FACT: {"namespaces": ["istio-system"], "kinds": ["security.istio.io/*"]}}


def test_a_module_that_plans_nothing_leaves_the_fact_alone():
    plugin = build(plugin_class("helm_release"), "aksmesh.istio.helm_release", {"name": "x"}, check_mode=True,
                   returns={"changed": False})
    assert "ansible_facts" not in plugin.run(task_vars=facts(EARLIER))


def test_ingress_info_takes_the_plan_and_its_planned_flag_is_no_plan():
    plugin = build(plugin_class("ingress_info"), "aksmesh.istio.ingress_info", {}, check_mode=True,
                   returns={"planned": True, "address": ""})
    result = plugin.run(task_vars=facts(EARLIER))
    assert plugin.calls[0]["args"] == {"planned": EARLIER}
    assert result["planned"] is True and "ansible_facts" not in result


def test_kube_inject_takes_the_plan_and_adds_nothing_to_it():
    """Its objects go to the next task, which plans them: a pending injection is no plan of its own."""
    plugin = build(plugin_class("kube_inject"), "aksmesh.istio.kube_inject", {"definitions": []}, check_mode=True,
                   returns={"changed": False, "definitions": [], "pending": ["Deployment legacy/web"]})
    result = plugin.run(task_vars=facts(EARLIER))
    assert plugin.calls[0]["args"] == {"definitions": [], "planned": EARLIER}
    assert result["pending"] == ["Deployment legacy/web"] and "ansible_facts" not in result


def test_the_items_of_a_loop_add_up():
    """A loop's items run with the same task variables (one worker), and the last item's fact is the one kept."""
    task_vars = facts(base.merge())
    for namespace in ("istio-system", "istio-ingress"):
        plugin = build(plugin_class("helm_release"), "aksmesh.istio.helm_release", {"name": namespace},
                       check_mode=True, returns={"planned": {"namespaces": [namespace], "kinds": []}})
        result = plugin.run(task_vars=task_vars)
    assert result["ansible_facts"][FACT] == {"namespaces": ["istio-ingress", "istio-system"], "kinds": []}


@pytest.mark.parametrize("check_mode", [
    False,
    pytest.param(True, marks=pytest.mark.skipif(
        CORE_VERSION < (2, 17), reason="ansible-core before 2.17 refuses async in check mode (ActionBase.run: 'check "
                                       "mode and async cannot be used on same task'); the roles run without async in "
                                       "check mode")),
])
def test_async_runs_the_module_in_the_background_and_keeps_no_plan(check_mode):
    started = {"ansible_job_id": "j1", "started": 1, "finished": 0, "planned": {"namespaces": ["x"]}}
    plugin = build(plugin_class("aks_mesh_addon"), "aksmesh.istio.aks_mesh_addon", {}, async_val=1800,
                   check_mode=check_mode, returns=started)
    task_vars = facts(EARLIER)
    result = plugin.run(task_vars=task_vars)
    assert result["ansible_job_id"] == "j1" and plugin.calls[0]["wrap_async"] is True
    assert "ansible_facts" not in result and task_vars == facts(EARLIER)


# --- the fact: one name, emptied by the settings role ------------------------------------------------------------


def test_the_settings_role_starts_the_plan_empty_and_cacheable_in_every_run():
    """Its first task, run_start (an action of the collection, so ansible-playbook preloads the collection before it
    forks a worker), sets the facts the action plugins add to empty and cacheable, as set_fact's cacheable does."""
    tasks = yaml.safe_load((REPO / "roles" / "settings" / "tasks" / "main.yml").read_text())
    first = tasks[0]
    assert "aksmesh.istio.run_start" in first and not first["aksmesh.istio.run_start"]
    assert first["tags"] == ["always"]
    for check_mode in (False, True):
        result = build(plugin_class("run_start"), "aksmesh.istio.run_start", {}, check_mode=check_mode).run(
            task_vars=facts(EARLIER))
        assert result["ansible_facts"] == {base.FACT: {}, base.REPORT_FACT: {}, base.CHANGED_FACT: []}
        assert result["_ansible_facts_cacheable"] is True and result["changed"] is False
    with pytest.raises(Exception, match="Unsupported parameters .* plan"):
        build(plugin_class("run_start"), "aksmesh.istio.run_start", {"plan": {}}).run(task_vars=facts(EARLIER))


def test_the_yaml_reads_the_plan_only_from_the_fact():
    """No role or playbook hands the plan around itself any more (settings_mesh.planned, tasks_from: planned)."""
    found = []
    for path in sorted((REPO / "roles").rglob("*.yml")) + sorted((REPO / "playbooks").rglob("*.yml")):
        text = path.read_text()
        for m in re.finditer(r"settings_mesh\.planned|tasks_from:\s*planned|\b\w+_planned\b", text):
            if m.group(0) != FACT:
                found.append("%s: %s" % (path.relative_to(REPO), m.group(0)))
    assert found == []
    # manual injection leaves the plan to kube_inject's action plugin (a control plane only planned: pending)
    assert FACT not in (REPO / "roles" / "mesh_injection" / "tasks" / "manual.yml").read_text()


# --- drift: aksmesh_reconcile and the run's report ---------------------------------------------------------------


class Identity:
    @staticmethod
    def template(value):
        return value


def test_injection_takes_force_from_aksmesh_reconcile_and_files_its_drift_under_its_stage():
    drifted = {"apiVersion": "v1", "kind": "Namespace", "namespace": None, "name": "shop", "action": "labelled",
               "path": ".metadata.labels.istio-injection", "desired": "enabled", "live": "disabled",
               "managers": ["kubectl-label (Update)"]}
    for settings, given, force in ((None, None, False), ({"reconcile": {"force": True}}, None, True),
                                   ({"reconcile": {"force": True}}, False, False)):
        args = {"namespaces": [{"name": "shop"}]}
        if given is not None:
            args["force_conflicts"] = given
        plugin = build(plugin_class("injection"), "aksmesh.istio.injection", args,
                       returns={"changed": True, "drift": [drifted]})
        plugin._templar = Identity()
        task_vars = {"ansible_facts": {}, "ansible_role_name": "aksmesh.istio.mesh_injection"}
        if settings is not None:
            task_vars["settings_mesh"] = settings
        result = plugin.run(task_vars=task_vars)
        assert plugin.calls[0]["args"]["force_conflicts"] is force
        assert result["ansible_facts"][base.REPORT_FACT] == {
            "drift": [dict(drifted, stage="injection")], "missing": [], "extra": []}
    # modules without the option get none
    plugin = build(plugin_class("helm_release"), "aksmesh.istio.helm_release", {"name": "x"})
    plugin._templar = Identity()
    plugin.run(task_vars={"ansible_facts": {}, "settings_mesh": {"reconcile": {"force": True}}})
    assert "force_conflicts" not in plugin.calls[0]["args"]
