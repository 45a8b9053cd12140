"""Unit tests for _k8s.batch: the apply module's batch loaded, applied, pruned or deleted, and its result, over
the fake API server of test_apply (no cluster)."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import apply as ap
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import batch
from tests.unit.plugins.module_utils._k8s.test_apply import FakeApi, cm, edited


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, check_mode=False, diff=False, **params):
        self.params = dict({"namespace": None, "definitions": None, "src": [], "continue_on_error": False,
                            "prune": None, "state": "present"}, **params)
        self.check_mode = check_mode
        self._diff = diff

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


class CountingApi(FakeApi):
    """The fake API server with the request counts RestClient keeps."""

    @property
    def counts(self):
        out = {}
        for method, _path, _query in self.sent:
            out[method] = out.get(method, 0) + 1
        return out


def test_load_expands_definitions_and_files(tmp_path):
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: shop}\n")
    objs, invalid = batch.load(FakeModule(definitions=[cm("a")], src=[str(tmp_path)]))
    assert [o["metadata"]["name"] for o in objs] == ["a", "b"] and invalid == []


@pytest.mark.parametrize("params,message", [
    ({"definitions": []}, "nothing to apply: give definitions or src with at least one object (or, to delete what "
                          "an earlier batch applied, prune)"),
    # an empty batch prunes only in state present
    ({"definitions": [], "state": "absent", "prune": {"kinds": [], "label_selector": "a=b"}},
     "nothing to apply: give definitions or src with at least one object (or, to delete what an earlier batch "
     "applied, prune)"),
    ({"definitions": [cm("a")], "prune": {"kinds": [{"kind": "ConfigMap"}]}},
     "prune.kinds entries need apiVersion and kind, got {'kind': 'ConfigMap'}"),
])
def test_load_fails_on_an_empty_batch_or_a_prune_kind_without_api_version(params, message):
    with pytest.raises(Failed) as failed:
        batch.load(FakeModule(**params))
    assert failed.value.args[0]["msg"] == message


def test_load_fails_on_a_bad_namespace_name():
    with pytest.raises(Failed) as failed:
        batch.load(FakeModule(definitions=[cm("a")], prune={"kinds": [], "namespaces": ["ok", "Not_OK"]}))
    assert "prune.namespaces[1]" in failed.value.args[0]["msg"]


def test_apply_batch_reports_changes_counts_requests_and_the_diff():
    api = CountingApi([cm("same")])
    engine = ap.ApplyEngine(api, diff=True)
    engine.apply_all([cm("same")])
    api.sent[:] = []
    out = batch.apply_batch(FakeModule(diff=True), engine, api, [cm("new")])
    assert out["changed"] is True and out["failures"] == [] and "planned" not in out
    assert out["counts"] == {"unchanged": 1, "created": 1}  # the engine's results so far
    assert out["requests"] == api.counts
    assert [d["before_header"] for d in out["diff"]] == ["ConfigMap shop/new"]
    assert out["diff"][0]["before"] == "" and "name: new" in out["diff"][0]["after"]
    assert all("diff" not in r for r in out["results"])


def test_check_mode_returns_the_plan_and_nothing_changes_without_a_change():
    api = CountingApi()
    module = FakeModule(check_mode=True)
    out = batch.apply_batch(module, ap.ApplyEngine(api, check_mode=True), api, [cm("a")])
    assert out["changed"] is True and out["planned"] == {"namespaces": [], "kinds": []} and "diff" not in out
    api = CountingApi([cm("a")])
    out = batch.apply_batch(FakeModule(state="absent"), ap.ApplyEngine(api), api, [cm("gone")])
    assert out["changed"] is False and out["counts"] == {"unchanged": 1}


def test_the_drift_report_leaves_out_the_pending_changes_of_the_definitions():
    # kubectl changed j (drift); the inventory changed k, which the collection alone holds (a pending change)
    api = CountingApi([edited(cm("a", k="before", j="x"), "j", "y")])
    out = batch.apply_batch(FakeModule(), ap.ApplyEngine(api, force_conflicts=True), api,
                            [cm("a", k="after", j="x")])
    assert [d["path"] for d in out["results"][0]["drift"]] == [".data.j", ".data.k"]
    assert out["drift"] == [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "a",
                             "action": "configured", "path": ".data.j", "desired": "x", "live": "y",
                             "managers": ["kubectl-edit (Update)"]}]
    # a field held by another manager as well: drift, and the report names the other manager only
    field = {"path": ".data.k", "desired": "after", "live": "before", "managers": ["aksmesh (Apply)", "flux (Apply)"]}
    results = [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "a", "action": "drifted",
                "drift": [field, dict(field, path=".data.m", managers=["aksmesh (Apply)"])]}]
    assert [(d["path"], d["managers"]) for d in batch.drift_report(results, "aksmesh")] == [
        (".data.k", ["flux (Apply)"])]


def test_unknown_prune_kinds_fail_before_the_first_write():
    api = CountingApi()
    module = FakeModule(prune={"kinds": [{"apiVersion": "v1", "kind": "ConfigMap"},
                                         {"apiVersion": "example.com/v1", "kind": "Widget"}],
                               "label_selector": "a=b", "namespaces": None})
    with pytest.raises(Failed) as failed:
        batch.apply_batch(module, ap.ApplyEngine(api), api, [cm("a")])
    assert failed.value.args[0]["msg"].startswith("prune.kinds: ") and \
        failed.value.args[0]["msg"].endswith("; nothing changed")
    assert api.writes() == []


def test_an_optional_prune_kind_the_cluster_does_not_serve_has_nothing_to_prune():
    """The Gateway API's kinds on a cluster without their CRDs: the batch applies, nothing is listed for them."""
    api = CountingApi()
    module = FakeModule(prune={"kinds": [{"apiVersion": "v1", "kind": "ConfigMap"},
                                         {"apiVersion": "example.com/v1", "kind": "Widget", "optional": True}],
                               "label_selector": "a=b", "namespaces": None})
    engine = ap.ApplyEngine(api)
    assert batch.unknown_prune_kinds(engine, [], module.params["prune"]["kinds"]) == []
    batch.apply_batch(module, engine, api, [cm("a")])
    assert not engine.failures and [r["action"] for r in engine.results] == ["created"]


def test_a_kind_a_crd_of_the_batch_or_an_earlier_task_defines_is_not_unknown():
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "w"},
           "spec": {"group": "example.com", "names": {"kind": "Widget"}}}
    widget = {"apiVersion": "example.com/v1", "kind": "Widget"}
    engine = ap.ApplyEngine(CountingApi())
    assert batch.crd_kinds([crd, cm("a")]) == {("example.com", "Widget")}
    assert batch.unknown_prune_kinds(engine, [crd], [widget]) == []
    assert len(batch.unknown_prune_kinds(engine, [], [widget])) == 1
    engine = ap.ApplyEngine(CountingApi(), check_mode=True)
    engine.planned.add_crd(crd)
    assert batch.unknown_prune_kinds(engine, [], [widget]) == []


def test_prune_deletes_what_the_batch_no_longer_holds_in_its_namespaces():
    old = cm("old")
    old["metadata"]["labels"] = {"a": "b"}
    api = CountingApi()
    engine = ap.ApplyEngine(api)
    engine.apply_all([old])
    new = cm("new")
    new["metadata"]["labels"] = {"a": "b"}
    module = FakeModule(prune={"kinds": [{"apiVersion": "v1", "kind": "ConfigMap"}], "label_selector": "a=b",
                               "namespaces": None})
    out = batch.apply_batch(module, ap.ApplyEngine(api), api, [new])
    assert [(r["name"], r["action"]) for r in out["results"]] == [("new", "created"), ("old", "pruned")]


def test_failures_fail_the_module_with_the_result():
    api = CountingApi()
    engine = ap.ApplyEngine(api, continue_on_error=True)
    engine.reject(cm("bad"), "bad object")
    with pytest.raises(Failed) as failed:
        batch.apply_batch(FakeModule(), engine, api, [cm("a")])
    assert failed.value.args[0]["msg"] == "1 of 1 objects failed: %s" % engine.failures[0]
    assert failed.value.args[0]["failures"] == engine.failures and failed.value.args[0]["changed"] is True


def labelled(name, **labels):
    obj = cm(name)
    obj["metadata"]["labels"] = labels
    return obj


STAGED = dict((("app.kubernetes.io/managed-by", "aksmesh"), ("aksmesh.io/stage", "mtls")))


def test_an_empty_batch_with_prune_deletes_what_an_earlier_batch_applied_in_every_namespace():
    """The last waypoint (or policy) taken out of the inventory: the stage's batch is empty, its objects still go."""
    api = CountingApi()
    ap.ApplyEngine(api).apply_all([labelled("old", **STAGED), dict(labelled("other", **STAGED), metadata=dict(
        labelled("other", **STAGED)["metadata"], namespace="elsewhere"))])
    module = FakeModule(definitions=[], prune={"kinds": [{"apiVersion": "v1", "kind": "ConfigMap"}],
                                               "label_selector": "app.kubernetes.io/managed-by=aksmesh,"
                                                                 "aksmesh.io/stage=mtls", "namespaces": None})
    objs, _invalid = batch.load(module)
    assert objs == []
    out = batch.apply_batch(module, ap.ApplyEngine(api), api, objs)
    assert sorted((r["namespace"], r["name"], r["action"]) for r in out["results"]) == [
        ("elsewhere", "other", "pruned"), ("shop", "old", "pruned")]
    assert out["changed"] is True


def test_an_empty_batch_prunes_only_by_both_ownership_labels():
    module = FakeModule(definitions=[], prune={"kinds": [{"apiVersion": "v1", "kind": "ConfigMap"}],
                                               "label_selector": "app.kubernetes.io/managed-by=aksmesh",
                                               "namespaces": None})
    with pytest.raises(Failed) as failed:
        batch.load(module)
    assert "does not name aksmesh.io/stage: an empty batch prunes every object" in failed.value.args[0]["msg"]


@pytest.mark.parametrize("selector,needle", [
    ("", "prune.label_selector is empty: prune would delete every object of prune.kinds this field_manager applied"),
    ("  ", "is empty"),
    ("app.kubernetes.io/managed-by=aksmesh", "is broader than the batch's ownership labels: it lacks "
                                             "aksmesh.io/stage=mtls"),
    ("app.kubernetes.io/managed-by=aksmesh,aksmesh.io/stage", "the requirement 'aksmesh.io/stage' is not key=value"),
    ("app.kubernetes.io/managed-by=aksmesh,aksmesh.io/stage!=x", "the requirement 'aksmesh.io/stage!=x'"),
    ("aksmesh.io/stage in (mtls,gateways)", "is not key=value"),
    ("app.kubernetes.io/managed-by=aksmesh,aksmesh.io/stage=gateways", "it lacks aksmesh.io/stage=mtls"),
])
def test_an_empty_broader_or_malformed_prune_selector_is_refused_before_anything(selector, needle):
    """prune.label_selector: "" deleted every Secret the field manager applied, other stages' too."""
    module = FakeModule(definitions=[labelled("a", **STAGED)], prune={
        "kinds": [{"apiVersion": "v1", "kind": "Secret"}], "label_selector": selector, "namespaces": None})
    with pytest.raises(Failed) as failed:
        batch.load(module)
    assert needle in failed.value.args[0]["msg"] and failed.value.args[0]["msg"].endswith("; nothing changed")


@pytest.mark.parametrize("selector,objs", [
    ("app.kubernetes.io/managed-by=aksmesh,aksmesh.io/stage=mtls", [labelled("a", **STAGED)]),
    ("aksmesh.io/stage == mtls, app.kubernetes.io/managed-by=aksmesh,team=x", [labelled("a", team="x", **STAGED)]),
    ("app=shop", [labelled("a", app="shop")]),  # a batch without ownership labels: its own label
    # the objects share only managed-by: that one is required
    ("app.kubernetes.io/managed-by=aksmesh", [labelled("a", **STAGED), labelled(
        "b", **{"app.kubernetes.io/managed-by": "aksmesh", "aksmesh.io/stage": "other"})]),
])
def test_a_selector_naming_the_batch_s_own_labels_is_taken(selector, objs):
    module = FakeModule(definitions=objs, prune={"kinds": [{"apiVersion": "v1", "kind": "Secret"}],
                                                 "label_selector": selector, "namespaces": None})
    assert [o["metadata"]["name"] for o in batch.load(module)[0]] == [o["metadata"]["name"] for o in objs]
    assert batch.selector_problem(selector, objs) is None


def test_a_batch_refused_before_its_first_write_says_nothing_was_applied():
    api = CountingApi()
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "shop"}}
    with pytest.raises(Failed) as failed:
        batch.apply_batch(FakeModule(), ap.ApplyEngine(api), api, [cm("a"), widget])
    msg = failed.value.args[0]["msg"]
    assert msg.startswith("1 of 2 objects failed (checked before the first write: nothing was applied): Widget "
                          "shop/w: the API server does not serve example.com/v1 Widget"), msg
    assert api.writes() == [] and failed.value.args[0]["unvalidated"] == []
