"""Unit tests for _k8s.apply: the engine's decisions and reports over a fake API server (no cluster)."""

import copy

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import apply as ap
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError

RESOURCES = {"/api/v1": [("namespaces", "Namespace", False), ("configmaps", "ConfigMap", True),
                         ("services", "Service", True)],
             "/apis/apps/v1": [("deployments", "Deployment", True), ("deployments/status", "Deployment", True)]}


class FakeApi:
    """Discovery, GET, LIST, server-side apply (a new resourceVersion when the content changes) and DELETE."""

    def __init__(self, objects=(), fail=None):
        self.store = {}
        self.sent = []
        self.fail = fail or {}
        self.version = 0
        for obj in objects:
            self._put(copy.deepcopy(obj))

    def _put(self, obj):
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)
        self.store[(obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])] = obj
        return obj

    @staticmethod
    def _parse(path):
        base = "/api/v1" if path.startswith("/api/v1") else "/apis/apps/v1"
        parts = path[len(base) + 1:].split("/")
        namespace = None
        if parts[0] == "namespaces" and len(parts) >= 3:
            namespace, parts = parts[1], parts[2:]
        kind = dict((plural, kind) for plural, kind, _ns in RESOURCES[base])[parts[0]]
        return kind, namespace, parts[1] if len(parts) > 1 else None

    def request(self, method, path, query=None, body=None, content_type="application/json", ok_missing=False):
        self.sent.append((method, path, dict(query or {})))
        if (method, path) in self.fail:
            raise self.fail[(method, path)]
        if (method, path, "write") in self.fail and "dryRun" not in (query or {}):
            raise self.fail[(method, path, "write")]  # the dry run passes, the write fails
        if path in RESOURCES:
            return {"resources": [{"name": n, "kind": k, "namespaced": ns} for n, k, ns in RESOURCES[path]]}
        if path.startswith("/apis/") and path.count("/") == 3:
            return None  # a group version the server does not serve
        kind, namespace, name = self._parse(path)
        key = (kind, namespace, name)
        if method == "GET" and name is None:
            return {"items": [copy.deepcopy(o) for (k, ns, _n), o in sorted(self.store.items())
                              if k == kind and (namespace is None or ns == namespace)]}
        if method == "GET":
            return copy.deepcopy(self.store.get(key))
        if method == "PATCH":
            live = self.store.get(key)
            out = copy.deepcopy(body)
            out["metadata"]["managedFields"] = [{"manager": query["fieldManager"], "operation": "Apply"}]
            if live is not None and _content(live) == _content(out):
                return copy.deepcopy(live)
            if "dryRun" in (query or {}):
                out["metadata"]["resourceVersion"] = "dry"
                return out
            return copy.deepcopy(self._put(out))
        if method == "DELETE":
            return self.store.pop(key, None) if "dryRun" not in query else self.store.get(key)
        raise AssertionError("unexpected %s %s" % (method, path))

    def writes(self):
        return [(m, p) for m, p, q in self.sent if m in ("PATCH", "DELETE") and "dryRun" not in q]


def _content(obj):
    return {k: v for k, v in obj.items() if k != "metadata"}, {
        k: v for k, v in obj["metadata"].items() if k not in ("resourceVersion", "managedFields")}


def cm(name, namespace="shop", **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": data or {"k": "v"}}


def applied(obj, manager="aksmesh"):
    """``obj`` as the server holds it after ``manager`` applied it (its fields owned)."""
    live = copy.deepcopy(obj)
    live["metadata"]["managedFields"] = [{"manager": manager, "operation": "Apply", "fieldsV1": {
        "f:data": dict(("f:%s" % k, {}) for k in obj.get("data") or {})}}]
    return live


def actions(engine):
    return [(r["kind"], r["name"], r["action"]) for r in engine.results]


def test_plan_is_done_pending_or_failed():
    assert ap.Plan.done("unchanged") == ("unchanged", None, None, None, None, None)
    assert not ap.Plan.done("created", None, {"a": 1}).pending
    pending = ap.Plan.to_apply("resource", {"live": 1})
    assert pending.pending and pending.resource == "resource" and pending.live == {"live": 1}
    failed = ap.Plan.failed("boom")
    assert not failed.pending and failed.action == "failed" and failed.error == "boom"


def test_missing_objects_are_created_with_one_read_per_kind():
    api = FakeApi()
    engine = ap.ApplyEngine(api)
    engine.apply_all([cm("a"), cm("b"), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}])
    assert actions(engine) == [("Namespace", "shop", "created"), ("ConfigMap", "a", "created"),
                               ("ConfigMap", "b", "created")]
    reads = [p for m, p, _q in api.sent if m == "GET" and p not in RESOURCES]
    assert reads == ["/api/v1/namespaces/shop", "/api/v1/namespaces/shop/configmaps"]  # a GET, then one LIST
    patches = [(p, q) for m, p, q in api.sent if m == "PATCH"]
    # the Namespace dry-run first; the ConfigMaps in it cannot be before it exists: named as checked late. Objects of
    # one rank go to the server concurrently: the two ConfigMaps in either order, after the Namespace
    applied = {"fieldManager": "aksmesh", "fieldValidation": "Strict"}
    assert patches[:2] == [("/api/v1/namespaces/shop", dict(applied, dryRun="All")),
                           ("/api/v1/namespaces/shop", applied)]
    assert sorted(patches[2:], key=lambda patch: patch[0]) == [
        (path, applied) for path in ("/api/v1/namespaces/shop/configmaps/a", "/api/v1/namespaces/shop/configmaps/b")]
    assert engine.unvalidated == ["ConfigMap shop/a (its Namespace comes with the batch)",
                                  "ConfigMap shop/b (its Namespace comes with the batch)"]
    assert engine.failures == []


def test_one_object_that_changes_is_not_dry_run_first():
    api = FakeApi([applied(cm("same"))])
    engine = ap.ApplyEngine(api)
    engine.apply_all([cm("same"), cm("new")])
    assert actions(engine) == [("ConfigMap", "same", "unchanged"), ("ConfigMap", "new", "created")]
    assert [q.get("dryRun") for m, _p, q in api.sent if m == "PATCH"] == [None]


def test_objects_in_place_are_not_written_and_changed_ones_are_configured():
    api = FakeApi([applied(cm("same")), applied(cm("old", k="before"))])
    engine = ap.ApplyEngine(api, diff=True)
    engine.apply_all([cm("same"), cm("old", k="after")])
    assert actions(engine) == [("ConfigMap", "same", "unchanged"), ("ConfigMap", "old", "configured")]
    assert api.writes() == [("PATCH", "/api/v1/namespaces/shop/configmaps/old")]
    diff = engine.results[1]["diff"]
    assert diff["before"]["data"] == {"k": "before"} and diff["after"]["data"] == {"k": "after"}
    assert "diff" not in engine.results[0]


def test_check_mode_dry_runs_and_writes_nothing():
    api = FakeApi([applied(cm("old", k="before"))])
    engine = ap.ApplyEngine(api, check_mode=True)
    engine.apply_all([cm("old", k="after"), cm("new")])
    assert actions(engine) == [("ConfigMap", "old", "configured"), ("ConfigMap", "new", "created")]
    assert api.writes() == []
    assert all(q.get("dryRun") == "All" for m, _p, q in api.sent if m == "PATCH")


def test_a_read_only_identity_compares_from_managed_fields_in_check_mode():
    """verify.yml with the read-only role: Kubernetes authorizes a dry run as the write, so each dry run answers
    403; the plan comes from managedFields (a changed field configured, a missing object created), no failure."""
    forbidden = K8sApiError(403, "Forbidden", 'configmaps "old" is forbidden: User "aksmesh-reader" cannot patch')
    api = FakeApi([applied(cm("old", k="before")), applied(cm("same"))],
                  fail={("PATCH", "/api/v1/namespaces/shop/configmaps/old"): forbidden,
                        ("PATCH", "/api/v1/namespaces/shop/configmaps/new"): forbidden})
    engine = ap.ApplyEngine(api, check_mode=True)
    engine.apply_all([cm("old", k="after"), cm("new"), cm("same")])
    assert actions(engine) == [("ConfigMap", "old", "configured"), ("ConfigMap", "new", "created"),
                               ("ConfigMap", "same", "unchanged")]
    assert engine.failures == [] and engine.compared_locally and api.writes() == []
    # a real run reports the 403 as the failure it is
    real = ap.ApplyEngine(FakeApi([applied(cm("old", k="before"))], fail={
        ("PATCH", "/api/v1/namespaces/shop/configmaps/old"): forbidden}))
    real.apply_all([cm("old", k="after")])
    assert actions(real) == [("ConfigMap", "old", "failed")] and not real.compared_locally


def test_an_unknown_kind_fails_its_object():
    api = FakeApi()
    engine = ap.ApplyEngine(api)
    gateway = {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "gw", "namespace": "a"}}
    engine.apply_all([gateway, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}])
    # before the first write: the Namespace is not created ahead of a kind the server does not serve
    assert actions(engine) == [("Gateway", "gw", "failed")] and api.writes() == []
    assert "install its CustomResourceDefinition first" in engine.failures[0]
    engine = ap.ApplyEngine(FakeApi(), continue_on_error=True)
    engine.apply_all([gateway, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}])
    assert actions(engine) == [("Gateway", "gw", "failed"), ("Namespace", "a", "created")]


def test_the_whole_batch_is_dry_run_before_the_first_write():
    """A ConfigMap was patched, then a later object the schema refuses failed the run: half a stage applied."""
    invalid = K8sApiError(422, "Invalid", 'Deployment.apps "web" is invalid: spec.selector: Required value')
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}
    api = FakeApi([applied(cm("a", k="before"))], fail={("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web"):
                                                        invalid})
    engine = ap.ApplyEngine(api)
    engine.apply_all([cm("a", k="after"), deployment])
    assert actions(engine) == [("Deployment", "web", "failed")]
    assert engine.failures == ['Deployment shop/web: 422 Invalid: Deployment.apps "web" is invalid: spec.selector: '
                               'Required value; nothing of the batch was written']
    assert api.writes() == [] and api.store[("ConfigMap", "shop", "a")]["data"] == {"k": "before"}


def test_a_failed_read_fails_its_whole_kind_never_applies_blind():
    """The first LIST of a kind failed, the rest of the kind was applied as if absent (existing ones 'created')."""
    down = K8sApiError(500, "InternalError", "etcd timeout")
    objs = [cm("a"), cm("b"), cm("c", namespace="other")]
    api = FakeApi([applied(cm("b"))], fail={("GET", "/api/v1/configmaps"): down})
    engine = ap.ApplyEngine(api, continue_on_error=True)
    engine.apply_all(objs)
    assert actions(engine) == [("ConfigMap", "a", "failed"), ("ConfigMap", "b", "failed"), ("ConfigMap", "c", "failed")]
    assert all("500 InternalError: etcd timeout" in f for f in engine.failures) and api.writes() == []


def test_a_failed_discovery_fails_absent_never_reports_the_object_gone():
    unavailable = K8sApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request")
    api = FakeApi(objects=[applied(cm("a"))], fail={("GET", "/api/v1"): unavailable})
    engine = ap.ApplyEngine(api)
    engine.delete_all([cm("a")])
    assert actions(engine) == [("ConfigMap", "a", "failed")]
    assert "discovery of v1 failed (503 ServiceUnavailable" in engine.failures[0]
    assert ("ConfigMap", "shop", "a") in api.store


def test_a_failure_stops_later_ranks_unless_continue_on_error():
    denied = {("GET", "/api/v1/namespaces/shop/configmaps/a"): K8sApiError(403, "Forbidden", "configmaps is forbidden")}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}
    engine = ap.ApplyEngine(FakeApi(fail=denied))
    engine.apply_all([deployment, cm("a")])
    assert actions(engine) == [("ConfigMap", "a", "failed")]  # the Deployment's rank is never reached
    assert engine.failures == ["ConfigMap shop/a: 403 Forbidden: configmaps is forbidden"]
    engine = ap.ApplyEngine(FakeApi(fail=denied), continue_on_error=True)
    engine.apply_all([deployment, cm("a")])
    assert actions(engine) == [("ConfigMap", "a", "failed"), ("Deployment", "web", "created")]


def test_api_errors_of_concurrent_applies_are_reported_per_object():
    conflict = K8sApiError(409, "Conflict", "Apply failed with 1 conflict",
                           [{"reason": "FieldManagerConflict", "field": ".data.k", "message": "conflict with kubectl"}])
    api = FakeApi(fail={("PATCH", "/api/v1/namespaces/shop/configmaps/b", "write"): conflict})
    engine = ap.ApplyEngine(api, parallel=4)
    engine.apply_all([cm("a"), cm("b"), cm("c")])
    assert actions(engine) == [("ConfigMap", "a", "created"), ("ConfigMap", "b", "failed"),
                               ("ConfigMap", "c", "created")]
    assert "force_conflicts=true" in engine.failures[0] and ".data.k (conflict with kubectl)" in engine.failures[0]


def edited(obj, key, value, manager="kubectl-edit"):
    """``obj`` as applied by the collection, then its ``data[key]`` changed by ``manager`` (kubectl edit)."""
    live = applied(obj)
    live["data"][key] = value
    live["metadata"]["managedFields"][0]["fieldsV1"]["f:data"].pop("f:" + key)
    live["metadata"]["managedFields"].append({"manager": manager, "operation": "Update", "fieldsV1": {
        "f:data": {"f:" + key: {}}}})
    return live


def test_drift_names_who_holds_each_field_and_a_conflict_only_the_other_managers():
    # since the last apply: kubectl changed j, the inventory changed k (a pending change, held by the collection)
    live = edited(cm("a", k="before", j="x"), "j", "y")
    conflict = K8sApiError(409, "Conflict", "Apply failed with 1 conflict",
                           [{"reason": "FieldManagerConflict", "field": ".data.j", "message": "conflict with kubectl"}])
    engine = ap.ApplyEngine(FakeApi([live], fail={("PATCH", "/api/v1/namespaces/shop/configmaps/a"): conflict}))
    engine.apply_all([cm("a", k="after", j="x")])
    (msg,) = engine.failures
    assert msg.endswith('Drifted: .data.j: live "y" (set by kubectl-edit (Update)), desired "x". Nothing of it was '
                        'changed. Set force_conflicts=true (aksmesh_reconcile: force in the inventory) to take them '
                        'back, or leave those fields out of the definition'), msg
    assert ".data.k" not in msg and "aksmesh (" not in msg
    engine = ap.ApplyEngine(FakeApi([live]), force_conflicts=True)
    engine.apply_all([cm("a", k="after", j="x")])
    assert actions(engine) == [("ConfigMap", "a", "configured")]
    assert engine.results[0]["drift"] == [
        {"path": ".data.j", "desired": "x", "live": "y", "managers": ["kubectl-edit (Update)"]},
        {"path": ".data.k", "desired": "after", "live": "before", "managers": ["aksmesh (Apply)"]}]
    # only the pending change: no drift to tell of in a conflict
    assert ap.explain(cm("a"), conflict, "").endswith(".data.j (conflict with kubectl). Nothing of it was changed. "
                                                      "Set force_conflicts=true (aksmesh_reconcile: force in the "
                                                      "inventory) to take them back, or leave those fields out of "
                                                      "the definition")


def test_delete_reports_deleted_and_already_gone():
    api = FakeApi([cm("a")])
    engine = ap.ApplyEngine(api)
    engine.delete_all([cm("a"), cm("gone"), {"apiVersion": "example.com/v1", "kind": "Widget",
                                             "metadata": {"name": "w", "namespace": "shop"}}])
    assert sorted(actions(engine)) == [("ConfigMap", "a", "deleted"), ("ConfigMap", "gone", "unchanged"),
                                       ("Widget", "w", "unchanged")]
    assert api.store == {}


def test_compare_says_what_is_in_place_without_writing():
    api = FakeApi([applied(cm("same")), applied(cm("old", k="before"))])
    out = ap.ApplyEngine(api).compare([cm("same"), cm("old", k="after"), cm("new")])
    assert [(o["metadata"]["name"], live is not None, same) for o, live, same in out] == [
        ("same", True, True), ("old", True, False), ("new", False, False)]
    assert api.writes() == []


def test_describe_and_explain_name_the_object_and_the_fix():
    obj = cm("a")
    assert ap.describe(obj) == "ConfigMap shop/a"
    assert ap.describe({"kind": "Namespace", "metadata": {"name": "x"}}) == "Namespace x"
    missing_ns = K8sApiError(404, "NotFound", 'namespaces "shop" not found')
    assert ap.explain(obj, missing_ns).endswith("create the namespace first (add a Namespace to the batch)")
    assert ap.explain(obj, K8sApiError(422, "Invalid", "bad")) == "ConfigMap shop/a: 422 Invalid: bad"


def test_comparable_ignores_server_bookkeeping():
    live = dict(cm("a"), status={"x": 1})
    live["metadata"] = dict(live["metadata"], resourceVersion="9", uid="u", generation=2, managedFields=[],
                            creationTimestamp="t")
    assert ap._comparable(live) == ap._comparable(cm("a"))


@pytest.mark.parametrize("kind,live,ready", [
    ("Deployment", None, "not found"),
    ("Deployment", {"metadata": {"generation": 2}, "status": {"observedGeneration": 1}}, "rollout not observed yet"),
    ("Deployment", {"spec": {"replicas": 2}, "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
                                                        "availableReplicas": 2}}, True),
    ("Deployment", {"spec": {"replicas": 2}, "status": {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 2}},
     "1 old replicas"),
    ("StatefulSet", {"spec": {"replicas": 1}, "status": {"observedGeneration": 1, "updatedReplicas": 1,
                                                         "readyReplicas": 0}}, "0/1 replicas"),
    ("DaemonSet", {"status": {"observedGeneration": 1, "desiredNumberScheduled": 2, "updatedNumberScheduled": 2,
                              "numberAvailable": 2}}, True),
    ("CustomResourceDefinition", {"status": {"conditions": [{"type": "Established", "status": "True"}]}}, True),
    ("CustomResourceDefinition", {"status": {}}, "not Established yet"),
])
def test_readiness(kind, live, ready):
    state = ap._readiness(kind, live)
    assert state is True if ready is True else str(state).startswith(ready)


def test_results_carry_the_applied_objects_for_later_tasks():
    api = FakeApi([applied(cm("same")), applied(cm("old", k="before"))])
    engine = ap.ApplyEngine(api)
    engine.apply_all([cm("same"), cm("old", k="after"), cm("new")])
    by_name = dict((r["name"], r["result"]) for r in engine.results)
    assert by_name["old"]["data"] == {"k": "after"} and by_name["new"]["metadata"]["resourceVersion"] in ("3", "4")
    assert by_name["same"]["metadata"]["resourceVersion"] == "1"  # unchanged: as read
    assert all("managedFields" not in r["metadata"] for r in by_name.values())
    dry = ap.ApplyEngine(FakeApi([applied(cm("old", k="before"))]), check_mode=True)
    dry.apply_all([cm("old", k="after")])
    assert dry.results[0]["result"]["metadata"]["resourceVersion"] == "dry"  # the dry run's answer
    gone = ap.ApplyEngine(FakeApi([applied(cm("old"))]))
    gone.delete_all([cm("old")])
    assert "result" not in gone.results[0]


def test_the_applied_view_masks_secret_values():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "managedFields": [{}]},
              "data": {"password": "cHc="}, "stringData": {"token": "t"}}
    view = ap.applied_view(secret)
    assert view["data"] == {"password": "********"} and view["stringData"] == {"token": "********"}
    assert "managedFields" not in view["metadata"] and secret["data"]["password"] == "cHc="
