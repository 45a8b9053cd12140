"""aksmesh.istio.stage: the stage from the registry (by name or the task's role), its label on the objects, its prune
kinds and selector, apply or render, the check-mode plan; the module boundary (_execute_module) recorded."""

import copy
import pathlib

import pytest
import yaml

from ansible_collections.aksmesh.istio.plugins.action import stage as stage_action
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import STAGE, obj
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC
from ansible_collections.aksmesh.istio.plugins.modules import stage as stage_docs
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _stages as stages
from ansible_collections.aksmesh.istio.plugins.plugin_utils._action_module import FACT, REPORT_FACT
from tests.unit.plugins.action.support import build

REPO = pathlib.Path(__file__).resolve().parents[4]
APPLYING = [s for s in stages.STAGES if stages.folder(s)]
POLICY = obj("security.istio.io/v1", "PeerAuthentication", "default", "istio-system", {"mtls": {"mode": "STRICT"}})


def owned_namespace():
    """A namespace of the mesh: its stage label already has a value (the control plane stage's)."""
    namespace = obj("v1", "Namespace", "istio-system", None)
    namespace["metadata"]["labels"][STAGE] = stages.CONTROL_PLANE
    return namespace


def run(args, role="aksmesh.istio.mesh_mtls", check_mode=False, async_val=0, returns=None, task_vars=None):
    plugin = build(stage_action.ActionModule, "aksmesh.istio.stage", args, check_mode=check_mode,
                   async_val=async_val, returns=returns or {"changed": False, "counts": {"unchanged": 1}})
    plugin._load_name = "aksmesh.istio.stage"
    variables = dict(task_vars or {"ansible_facts": {}})
    if role:
        variables.update(ansible_role_name=role, role_name=role.rsplit(".", 1)[-1])
    return plugin.run(task_vars=variables), plugin.calls


# --- the documentation is the argument spec ---------------------------------------------------------------------


def test_the_documented_options_are_the_argument_spec():
    doc = yaml.safe_load(stage_docs.DOCUMENTATION)
    assert doc["extends_documentation_fragment"] == ["aksmesh.istio.k8s_auth"]
    own = dict((k, v) for k, v in stage_action.ARGUMENT_SPEC.items() if k not in K8S_AUTH_ARG_SPEC)
    assert sorted(doc["options"]) == sorted(own)
    for name, spec in own.items():
        documented = doc["options"][name]
        assert documented["type"] == spec["type"], name
        assert documented.get("default") == spec.get("default"), name
        assert documented.get("choices") == spec.get("choices"), name
        assert documented.get("elements") == spec.get("elements"), name
        assert bool(documented.get("required")) == bool(spec.get("required")), name
    assert sorted(stage_action.CONNECTION_SPEC) == sorted(K8S_AUTH_ARG_SPEC)
    assert set(doc["attributes"]) == {"action", "async", "check_mode", "diff_mode"}
    assert all(doc["attributes"][a]["support"] == "full" for a in doc["attributes"])


def test_the_stage_is_in_the_kubernetes_action_group():
    groups = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["action_groups"]
    assert "stage" in groups["k8s"] and "render" not in groups["k8s"]


# --- the stage: by name, or the stage of the task's role --------------------------------------------------------


def test_an_unknown_name_fails_naming_the_stages_that_apply_objects():
    result, calls = run({"name": "network_policies", "definitions": [POLICY]})
    assert result["failed"] and calls == []
    assert result["msg"].startswith("name: 'network_policies' is not a stage of aksmesh.istio that applies objects: "
                                    "the stages that do are ")
    assert result["msg"].endswith(", ".join(s.name for s in APPLYING))


def test_a_stage_that_applies_nothing_is_refused():
    result, calls = run({"name": "credentials", "definitions": [POLICY]})
    assert result["failed"] and "'credentials' is not a stage of aksmesh.istio that applies objects" in result["msg"]
    assert calls == []


def test_without_a_name_the_role_of_the_task_names_the_stage():
    _result, calls = run({"definitions": [POLICY]}, role="aksmesh.istio.mesh_network_policies")
    assert calls[0]["args"]["definitions"][0]["metadata"]["labels"][STAGE] == "network-policies"
    _result, calls = run({"definitions": [POLICY]}, role="aks_mesh_addon")  # a short role name too
    assert calls[0]["args"]["definitions"][0]["metadata"]["labels"][STAGE] == stages.CONTROL_PLANE


@pytest.mark.parametrize("role, where", [("my_role", "role my_role"), ("", "a task outside a role"),
                                         ("aksmesh.istio.aks_preflight", None)])
def test_without_a_name_a_role_of_no_applying_stage_fails(role, where):
    result, calls = run({"definitions": [POLICY]}, role=role)
    assert result["failed"] and calls == []
    if where:
        assert result["msg"].startswith("name: not given, and %s runs no stage of aksmesh.istio. Fix: " % where)
        assert result["msg"].endswith("set name to one of %s" % ", ".join(s.name for s in APPLYING))
    else:  # the pre-flight role runs a stage, which applies no objects
        assert "'preflight' is not a stage of aksmesh.istio that applies objects" in result["msg"]


def test_a_name_wins_over_the_role():
    _result, calls = run({"name": "authz", "definitions": [POLICY]}, role="aksmesh.istio.mesh_mtls")
    assert calls[0]["args"]["definitions"][0]["metadata"]["labels"][STAGE] == "authz"


def test_invalid_arguments_fail_before_any_module_runs():
    result, calls = run({"definitions": [POLICY], "state": "gone"})
    assert result["failed"] and "state" in result["msg"] and "present, absent" in result["msg"] and calls == []
    result, calls = run({"definitions": [POLICY], "colour": "red"})
    assert result["failed"] and "colour" in result["msg"] and calls == []


# --- the objects: labelled, applied or rendered -----------------------------------------------------------------


def test_the_stage_label_fills_only_empty_labels_and_the_objects_given_stay_as_they_were():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"}}
    given = [copy.deepcopy(POLICY), owned_namespace(), secret]
    before = copy.deepcopy(given)
    _result, calls = run({"definitions": given})
    sent = calls[0]["args"]["definitions"]
    assert sent[0]["metadata"]["labels"][STAGE] == "mtls"
    assert sent[1]["metadata"]["labels"][STAGE] == stages.CONTROL_PLANE
    assert sent[2] == before[2] and given == before


@pytest.mark.parametrize("stage", APPLYING, ids=lambda s: s.name)
def test_apply_prunes_the_registry_kinds_within_the_stage_label(stage):
    result, calls = run({"name": stage.name, "definitions": [POLICY]}, role="")
    assert [c["module"] for c in calls] == ["aksmesh.istio.apply"]
    args = calls[0]["args"]
    if stage.prune:
        assert args["prune"] == {
            "label_selector": "app.kubernetes.io/managed-by=aksmesh,aksmesh.io/stage=%s" % stage.name,
            "kinds": [dict({"apiVersion": a, "kind": k}, **({"optional": True} if (a, k) in stages.OPTIONAL_KINDS else {}))
                      for a, k in stage.prune]}
    else:
        assert "prune" not in args
    assert result["counts"] == {"unchanged": 1}


def test_apply_gets_the_options_and_nothing_it_was_not_given():
    _result, calls = run({"definitions": [POLICY], "wait": True, "wait_timeout": 60, "field_manager": "me",
                          "force_conflicts": True})
    args = dict(calls[0]["args"])
    assert args.pop("definitions")[0]["kind"] == "PeerAuthentication" and "label_selector" in args.pop("prune")
    assert args == {"state": "present", "field_manager": "me", "force_conflicts": True, "wait": True,
                    "wait_timeout": 60}
    _result, calls = run({"definitions": [POLICY]})
    assert calls[0]["args"]["force_conflicts"] is False and calls[0]["args"]["wait"] is False
    assert calls[0]["args"]["wait_timeout"] == 300 and calls[0]["args"]["field_manager"] == "aksmesh"


def test_absent_deletes_without_pruning_and_prune_false_prunes_nothing():
    _result, calls = run({"definitions": [POLICY], "state": "absent", "wait": True})
    assert calls[0]["args"]["state"] == "absent" and "prune" not in calls[0]["args"]
    _result, calls = run({"definitions": [POLICY], "prune": False})
    assert "prune" not in calls[0]["args"]


def test_the_connection_reaches_apply_as_given():
    kubeconfig = {"apiVersion": "v1", "clusters": []}
    _result, calls = run({"definitions": [POLICY], "kubeconfig": kubeconfig, "context": "aks",
                          "ssl_ca_cert": "/ca.pem", "request_timeout": 5})
    args = calls[0]["args"]
    assert args["kubeconfig"] == kubeconfig and args["context"] == "aks"
    assert args["ca_cert"] == "/ca.pem" and args["request_timeout"] == 5
    assert "host" not in args and "api_key" not in args and "ssl_ca_cert" not in args


def test_no_objects_to_apply_or_prune_skips_the_task():
    for args, role in (({"definitions": []}, "aksmesh.istio.mesh_secrets"),  # a stage that prunes nothing
                       ({"definitions": [], "prune": False}, "aksmesh.istio.mesh_mtls"),
                       ({"definitions": [], "state": "absent"}, "aksmesh.istio.mesh_mtls")):
        result, calls = run(args, role=role)
        assert calls == [] and result["skipped"] is True and result["changed"] is False
        assert result["skip_reason"].endswith(": no objects to apply")


def test_no_objects_of_a_stage_that_prunes_prunes_what_it_applied_before():
    """The last object of a stage taken out of the inventory (a namespace's waypoint) is deleted, not left behind."""
    _result, calls = run({"definitions": []}, role="aksmesh.istio.mesh_injection")
    args = calls[0]["args"]
    assert calls[0]["module"] == "aksmesh.istio.apply" and args["definitions"] == []
    # every kind optional: one the cluster does not serve (cert-manager's before its CRDs) has nothing to prune
    assert args["prune"] == {"label_selector": stages.prune_selector(stages.BY_NAME["injection"]),
                             "kinds": [dict(k, optional=True) for k in stages.prune_kinds(stages.BY_NAME["injection"])]}
    _result, calls = run({"definitions": []}, role="aksmesh.istio.mesh_certs")
    assert {k["kind"] for k in calls[0]["args"]["prune"]["kinds"] if k["optional"]} == {
        "Certificate", "Issuer", "ClusterIssuer"}


def test_render_mode_writes_the_stage_folder_with_render():
    result, calls = run({"definitions": [POLICY], "render_dir": "/out/demo", "wait": True, "kubeconfig": "/k"},
                        returns={"changed": True, "counts": {"created": 1}, "folder": "/out/demo/40-mtls"})
    assert calls == [{"module": "aksmesh.istio.render", "wrap_async": False, "args": {
        "definitions": [dict(POLICY, metadata=dict(POLICY["metadata"], labels=dict(
            POLICY["metadata"]["labels"], **{STAGE: "mtls"})))],
        "dest": "/out/demo", "stage": "40-mtls"}}]
    assert result["counts"] == {"created": 1}


def test_render_mode_absent_and_empty_empty_the_folder():
    for args in ({"definitions": [POLICY], "state": "absent"}, {"definitions": []}):
        _result, calls = run(dict(args, render_dir="/out"))
        assert calls[0]["module"] == "aksmesh.istio.render" and calls[0]["args"]["definitions"] == []


# --- check mode and async ----------------------------------------------------------------------------------------


def test_check_mode_hands_the_plan_to_apply_and_keeps_the_stage_plan():
    earlier = {"namespaces": ["istio-system"], "kinds": []}
    task_vars = {"ansible_facts": {FACT: earlier}}
    result, calls = run({"definitions": [POLICY]}, check_mode=True, task_vars=task_vars,
                        returns={"changed": True, "planned": {"namespaces": ["shop", "istio-system"], "kinds": []}})
    assert calls[0]["args"]["planned"] == earlier
    assert result["ansible_facts"] == {FACT: {"namespaces": ["istio-system", "shop"], "kinds": []}}


def test_check_mode_render_gets_no_plan_and_keeps_the_fact():
    result, calls = run({"definitions": [POLICY], "render_dir": "/out"}, check_mode=True,
                        task_vars={"ansible_facts": {FACT: {"namespaces": ["a"], "kinds": []}}},
                        returns={"changed": True})
    assert "planned" not in calls[0]["args"] and "ansible_facts" not in result


def test_outside_check_mode_there_is_no_plan_and_the_change_is_filed_under_the_stage():
    result, calls = run({"definitions": [POLICY]}, returns={"changed": True})
    assert "planned" not in calls[0]["args"] and result["ansible_facts"] == {"settings_changed": ["mtls"]}


def test_async_runs_apply_in_the_background():
    result, calls = run({"definitions": [POLICY], "wait": True}, async_val=1800,
                        returns={"ansible_job_id": "j1", "started": 1, "finished": 0})
    assert calls[0]["wrap_async"] is True and result["ansible_job_id"] == "j1"


@pytest.mark.parametrize("definitions, msg", [
    (None, "missing required arguments: definitions"),
    ({"kind": "Namespace"}, "definitions: expected a list of objects, got dict"),
    ([POLICY, "kind: Namespace", 3], "definitions: expected a list of objects (mappings), got int, str in it"),
])
def test_the_objects_are_a_list_of_mappings(definitions, msg):
    result, calls = run({"definitions": definitions} if definitions is not None else {})
    assert result["failed"] and result["msg"] == msg and calls == []


# --- drift: force from the settings, the run's report ---------------------------------------------------------


class Identity:
    @staticmethod
    def template(value):
        return value


def run_with_settings(args, settings=None, check_mode=False, returns=None, facts=None):
    plugin = build(stage_action.ActionModule, "aksmesh.istio.stage", args, check_mode=check_mode,
                   returns=returns or {"changed": False})
    plugin._templar = Identity()
    variables = {"ansible_facts": dict(facts or {}), "ansible_role_name": "aksmesh.istio.mesh_traffic"}
    if settings is not None:
        variables["settings_mesh"] = settings
    return plugin.run(task_vars=variables), plugin.calls


@pytest.mark.parametrize("settings, given, force", [
    (None, None, False),
    ({"reconcile": {"mode": "report", "force": False}}, None, False),
    ({"reconcile": {"mode": "force", "force": True}}, None, True),
    ({"reconcile": {"mode": "force", "force": True}}, False, False),  # the task's own word wins
    ({"reconcile": {"mode": "report", "force": False}}, True, True),
])
def test_force_conflicts_follows_aksmesh_reconcile_unless_the_task_says(settings, given, force):
    args = {"definitions": [POLICY]}
    if given is not None:
        args["force_conflicts"] = given
    _result, calls = run_with_settings(args, settings)
    assert calls[0]["args"]["force_conflicts"] is force


DRIFTED = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "namespace": "shop", "name": "reviews",
           "action": "drifted", "path": ".spec.http", "desired": [1], "live": [2],
           "managers": ["kubectl-patch (Update)"]}


def test_each_stage_adds_its_drift_and_in_check_mode_what_is_missing_or_extra_to_the_run_report():
    earlier = {REPORT_FACT: {"drift": [dict(DRIFTED, stage="mtls")], "missing": [], "extra": []}}
    answer = {"changed": True, "drift": [DRIFTED], "results": [
        {"apiVersion": "v1", "kind": "Namespace", "namespace": None, "name": "shop", "action": "created"},
        {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "namespace": "shop", "name": "old",
         "action": "pruned"},
        dict(DRIFTED, action="drifted")]}
    result, _calls = run_with_settings({"definitions": [POLICY]}, check_mode=True, returns=answer, facts=earlier)
    report = result["ansible_facts"][REPORT_FACT]
    assert [d["stage"] for d in report["drift"]] == ["mtls", "traffic"]
    assert report["drift"][1]["managers"] == ["kubectl-patch (Update)"]
    assert report["missing"] == [{"stage": "traffic", "apiVersion": "v1", "kind": "Namespace", "namespace": None,
                                  "name": "shop"}]
    assert [(e["kind"], e["name"]) for e in report["extra"]] == [("VirtualService", "old")]
    # outside check mode created and pruned objects are changes made, not findings: only the drift is kept
    result, _calls = run_with_settings({"definitions": [POLICY]}, returns=answer)
    expected = {"drift": [dict(DRIFTED, stage="traffic")], "missing": [], "extra": []}
    assert result["ansible_facts"][REPORT_FACT] == expected
    # nothing to report: no fact
    result, _calls = run_with_settings({"definitions": [POLICY]}, returns={"changed": False, "drift": []})
    assert REPORT_FACT not in (result.get("ansible_facts") or {})
