"""Unit tests for _istio.namespace_labels: the injection module's labels, creates and races over a scripted API
server (no cluster; the real runs, faults included, are in tests/integration)."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import namespace_labels as nl
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError

PATH = "/api/v1/namespaces/shop"
ENABLED = {"istio-injection": "enabled"}


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, namespaces=None, check_mode=False, diff=False, **params):
        self.params = dict({"namespaces": namespaces or [entry()], "create": True, "revision": None,
                            "force_conflicts": False, "dataplane_mode": "sidecar"}, **params)
        self.check_mode, self._diff = check_mode, diff

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


def entry(name="shop", state="present", revision=None):
    return {"name": name, "state": state, "revision": revision}


def ns(labels=None, version="7"):
    return {"metadata": {"name": "shop", "labels": dict(labels or {}), "resourceVersion": version}}


class ScriptedApi:
    """Answers each GET with the next namespace of ``reads``; writes answer with the next of ``writes``
    (an exception is raised)."""

    def __init__(self, reads, writes=()):
        self.reads, self.writes, self.sent = list(reads), list(writes), []

    def request(self, method, path, query=None, body=None, content_type="application/json", ok_missing=False):
        self.sent.append((method, path, body))
        answer = self.reads.pop(0) if method == "GET" else (self.writes.pop(0) if self.writes else {})
        if isinstance(answer, Exception):
            raise answer
        return answer


def conflict(reason="Conflict"):
    return K8sApiError(409, reason, "the object has been modified")


def test_a_missing_namespace_is_created_with_its_labels():
    api = ScriptedApi([None])
    assert nl.label_one(FakeModule(), api, entry()) == (
        {"name": "shop", "labels": ENABLED, "action": "created"},
        {"before_header": "shop", "after_header": "shop", "before": {}, "after": ENABLED})
    assert api.sent[1] == ("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": "shop", "labels": ENABLED}})


def test_a_missing_namespace_to_unlabel_is_absent_and_create_false_fails():
    assert nl.label_one(FakeModule(), ScriptedApi([None]), entry(state="absent")) == (
        {"name": "shop", "labels": {}, "action": "absent"}, None)
    with pytest.raises(Failed) as failed:
        nl.label_one(FakeModule(create=False), ScriptedApi([None]), entry())
    assert failed.value.args[0]["msg"] == "namespace shop does not exist; create it or set create=true"


def test_a_namespace_someone_else_created_meanwhile_is_labelled():
    api = ScriptedApi([None, ns()], writes=[conflict("AlreadyExists")])
    result, diff = nl.label_one(FakeModule(), api, entry())
    assert result == {"name": "shop", "labels": ENABLED, "action": "labelled"} and diff["before"] == {}
    assert [m for m, _p, _b in api.sent] == ["GET", "POST", "GET", "PATCH"]


def test_labels_in_place_are_unchanged_and_others_are_patched_with_a_precondition():
    assert nl.label_one(FakeModule(), ScriptedApi([ns(ENABLED)]), entry()) == (
        {"name": "shop", "labels": ENABLED, "action": "unchanged"}, None)
    api = ScriptedApi([ns(ENABLED)])
    result, diff = nl.label_one(FakeModule(), api, entry(revision="1-30-0"))
    assert result == {"name": "shop", "labels": {"istio.io/rev": "1-30-0"}, "action": "labelled"}
    assert diff["before"] == ENABLED and diff["after"] == {"istio.io/rev": "1-30-0"}
    assert api.sent[1] == ("PATCH", PATH, {"metadata": {"resourceVersion": "7", "labels": {
        "istio-injection": None, "istio.io/rev": "1-30-0"}}})
    result, _diff = nl.label_one(FakeModule(), ScriptedApi([ns(ENABLED)]), entry(state="absent"))
    assert result == {"name": "shop", "labels": {}, "action": "unlabelled"}


def test_check_mode_writes_nothing():
    api = ScriptedApi([None])
    assert nl.label_one(FakeModule(check_mode=True), api, entry())[0]["action"] == "created"
    api = ScriptedApi([ns()])
    assert nl.label_one(FakeModule(check_mode=True), api, entry())[0]["action"] == "labelled"
    assert [m for m, _p, _b in api.sent] == ["GET"]


def test_a_patch_that_met_a_newer_change_reads_again_and_reports_the_change_it_made():
    # the first PATCH conflicts; the second read finds the labels as wanted (a write whose answer was lost)
    api = ScriptedApi([ns(), ns(ENABLED, version="8")], writes=[conflict()])
    assert nl.label_one(FakeModule(), api, entry()) == (
        {"name": "shop", "labels": ENABLED, "action": "labelled"},
        {"before_header": "shop", "after_header": "shop", "before": {}, "after": ENABLED})
    # a create whose namespace then appears as wanted reports created
    api = ScriptedApi([None, ns(ENABLED)], writes=[conflict("AlreadyExists")])
    assert nl.label_one(FakeModule(), api, entry())[0]["action"] == "created"
    # read again after a conflict, as wanted as it was found first: unchanged
    assert nl.settled(entry(), ENABLED, {"missing": False, "before": ENABLED, "patch": None}) == (
        {"name": "shop", "labels": ENABLED, "action": "unchanged"}, None)


def test_a_namespace_that_keeps_changing_fails_after_the_retries():
    api = ScriptedApi([ns()] * 3, writes=[conflict()] * 3)
    with pytest.raises(Failed) as failed:
        nl.label_one(FakeModule(), api, entry())
    assert failed.value.args[0]["msg"] == "namespace shop kept changing while it was labelled (3 conflicts): re-run"


def test_other_api_errors_are_raised():
    with pytest.raises(K8sApiError):
        nl.label_one(FakeModule(), ScriptedApi([ns()], writes=[K8sApiError(403, "Forbidden", "no")]), entry())
    with pytest.raises(K8sApiError):
        nl.label_one(FakeModule(), ScriptedApi([None], writes=[conflict()]), entry())


def test_label_reports_changed_the_plan_and_the_diffs():
    module = FakeModule(namespaces=[entry(), entry("web")], check_mode=True, diff=True)
    results = []
    api = ScriptedApi([None, {"metadata": {"name": "web", "labels": ENABLED}}])
    out = nl.label(module, api, results)
    assert out["changed"] is True and out["namespaces"] is results and [r["action"] for r in results] == [
        "created", "unchanged"]
    assert out["planned"] == {"namespaces": ["shop"], "kinds": []} and len(out["diff"]) == 1
    out = nl.label(FakeModule(), ScriptedApi([ns(ENABLED)]), [])
    assert out == {"changed": False, "namespaces": [{"name": "shop", "labels": ENABLED, "action": "unchanged"}],
                   "services": [], "drift": []}


def test_check_params_names_a_bad_name_or_a_namespace_listed_twice():
    nl.check_params(FakeModule(namespaces=[entry(), entry("web", revision="1-30-0")], revision="default"))
    with pytest.raises(Failed) as failed:
        nl.check_params(FakeModule(namespaces=[entry(), entry("web"), entry("shop")]))
    assert failed.value.args[0]["msg"] == "namespaces lists a namespace twice: ['shop']"
    with pytest.raises(Failed) as failed:
        nl.check_params(FakeModule(namespaces=[entry("Shop")]))
    assert "namespaces[0].name" in failed.value.args[0]["msg"]


def managed(labels, manager):
    """A namespace whose injection labels ``manager`` changed last (kubectl label --overwrite)."""
    out = ns(labels)
    out["metadata"]["managedFields"] = [
        {"manager": "aksmesh", "operation": "Update", "fieldsV1": {"f:metadata": {"f:labels": {}}}},
        {"manager": manager, "operation": "Update", "fieldsV1": {"f:metadata": {"f:labels": {
            "f:istio-injection": {}}}}}]
    return out


def test_a_label_another_manager_changed_fails_names_it_and_writes_nothing():
    api = ScriptedApi([managed({"istio-injection": "disabled"}, "kubectl-label")])
    with pytest.raises(Failed) as failed:
        nl.label_one(FakeModule(), api, entry())
    msg = failed.value.args[0]["msg"]
    assert "namespace shop" in msg and ".metadata.labels.istio-injection" in msg and "kubectl-label" in msg, msg
    # the apply engine's words (ownership.drift_text): values in JSON
    assert ('.metadata.labels.istio-injection: live "disabled" (set by kubectl-label (Update)), desired "enabled". '
            'Nothing of it was changed.') in msg and "aksmesh_reconcile: force" in msg, msg
    assert [m for m, _p, _b in api.sent] == ["GET"]
    (field,) = failed.value.args[0]["drift"]
    assert field["managers"] == ["kubectl-label (Update)"] and field["name"] == "shop"


def test_check_mode_reports_the_drift_and_force_sets_it_back():
    api = ScriptedApi([managed({"istio-injection": "disabled"}, "kubectl-label")])
    result, _diff = nl.label_one(FakeModule(check_mode=True), api, entry())
    assert result["action"] == "drifted" and result["drift"] == [{
        "path": ".metadata.labels.istio-injection", "desired": "enabled", "live": "disabled",
        "managers": ["kubectl-label (Update)"]}]
    api = ScriptedApi([managed({"istio-injection": "disabled"}, "kubectl-label")])
    result, _diff = nl.label_one(FakeModule(force_conflicts=True), api, entry())
    assert result["action"] == "labelled" and result["drift"][0]["live"] == "disabled"
    assert [m for m, _p, _b in api.sent] == ["GET", "PATCH"]


def test_labels_the_collection_set_itself_or_a_first_run_finds_are_no_drift():
    # its own earlier value (a revision move), and a label nobody holds
    own = ns({"istio-injection": "disabled"})
    own["metadata"]["managedFields"] = [{"manager": "aksmesh", "operation": "Update", "fieldsV1": {
        "f:metadata": {"f:labels": {"f:istio-injection": {}}}}}]
    assert nl.label_drift(own, {"istio-injection": "enabled"}) == []
    assert nl.label_drift(ns({"istio-injection": "disabled"}), {"istio-injection": "enabled"}) == []
    # a label the run removes (moving to a revision) is no drift either
    assert nl.label_drift(managed({"istio-injection": "enabled"}, "kubectl-label"),
                          {"istio-injection": None, "istio.io/rev": "1-30-0"}) == []


def web(labels=None):
    out = ns(labels)
    out["metadata"]["name"] = "web"
    return out


def test_create_false_checks_every_namespace_before_the_first_label():
    """create=false labelled the namespaces that exist, then failed on one that does not."""
    module = FakeModule(namespaces=[entry(), entry("web"), entry("api")], create=False)
    api = ScriptedApi([ns(), None, None])
    with pytest.raises(Failed) as failed:
        nl.label(module, api, [])
    assert failed.value.args[0]["msg"] == ("namespaces: web, api do not exist; nothing was labelled. Create them "
                                           "first or set create=true")
    assert [m for m, _p, _b in api.sent] == ["GET", "GET", "GET"]


def test_drift_on_a_later_namespace_fails_before_the_first_label():
    module = FakeModule(namespaces=[entry(), entry("web")])
    api = ScriptedApi([ns(), managed({"istio-injection": "disabled"}, "kubectl-label")])
    with pytest.raises(Failed) as failed:
        nl.label(module, api, [])
    assert "kubectl-label" in failed.value.args[0]["msg"] and [m for m, _p, _b in api.sent] == ["GET", "GET"]


def test_the_namespaces_read_first_are_not_read_again():
    api = ScriptedApi([ns(), web(ENABLED)])
    out = nl.label(FakeModule(namespaces=[entry(), entry("web")]), api, [])
    assert [r["action"] for r in out["namespaces"]] == ["labelled", "unchanged"]
    assert [m for m, _p, _b in api.sent] == ["GET", "GET", "PATCH"]


@pytest.mark.parametrize("name", ["kube-system", "kube-public", "kube-node-lease"])
def test_the_cluster_s_own_namespaces_are_refused_for_injection(name):
    with pytest.raises(Failed) as failed:
        nl.check_params(FakeModule(namespaces=[entry(), entry(name)]))
    assert failed.value.args[0]["msg"].startswith("namespaces[1].name %s: a namespace of the cluster itself" % name)
    nl.check_params(FakeModule(namespaces=[entry("default"), entry(name, state="absent")]))  # taking labels off: fine
