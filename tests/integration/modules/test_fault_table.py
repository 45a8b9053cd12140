"""Faults injected between the modules and the real API server, one row each: 409, 429 with Retry-After, 500/503,
an answer slower than the request timeout, a connection dropped before and after the server did the write. Each
fault is survived (the module succeeds, the cluster is as asked, the result tells what this run did) or reported
(a named error, nothing half-done); no write is ever doubled (a create lands once, no stale write wins).
"""

import dataclasses
import time
import typing

import pytest
from kubernetes import client, config

from tests.integration.modules.test_istio_install import operator
from tests.support.ansible_runner import run_module

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mesh", "namespace": "default"},
      "data": {"mode": "STRICT"}}
CONFLICT = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
            "message": "Operation cannot be fulfilled on configmaps \"mesh\": the object has been modified"}


@dataclasses.dataclass
class Row:
    id: str
    module: str
    args: dict
    faults: list  # (path regex, action, kwargs)
    outcome: str  # "survived" or "reported"
    expect: typing.Callable = None  # (api clients, result) -> None: asserts the cluster state and the result
    setup: typing.Callable = None  # (api clients) -> None
    message: str = ""  # reported: text the error names
    creates_one_per_collection: bool = True  # so a second 201 for one collection is a doubled create


def configmap(api):
    return client.CoreV1Api(api).read_namespaced_config_map("mesh", "default")


def cm_applied(api, res):
    assert configmap(api).data == {"mode": "STRICT"}
    assert res["changed"] is True and res["results"][0]["action"] == "created"


def cm_deleted(api, res):
    assert not [c for c in client.CoreV1Api(api).list_namespaced_config_map("default").items
                if c.metadata.name == "mesh"]
    assert res["changed"] is True and res["results"][0]["action"] == "deleted", res["results"]


def create_cm(api):
    client.CoreV1Api(api).create_namespaced_config_map("default", {"metadata": {"name": "mesh"},
                                                                   "data": {"mode": "STRICT"}})


def shop(api):
    return client.CoreV1Api(api).read_namespace("shop").metadata.labels or {}


def shop_labelled(api, res):
    assert shop(api).get("istio-injection") == "enabled"
    assert res["changed"] is True and res["namespaces"][0]["action"] in ("created", "labelled"), res["namespaces"]


def create_shop(api):
    client.CoreV1Api(api).create_namespace({"metadata": {"name": "shop", "labels": {"team": "shop"}}})


def shop_labelled_kept_team(api, res):
    shop_labelled(api, res)
    assert shop(api)["team"] == "shop"


def nothing_created(api, res):
    assert not [c for c in client.CoreV1Api(api).list_namespaced_config_map("default").items
                if c.metadata.name == "mesh"]


def istiod_running(api, res):
    assert res["changed"] is True
    assert client.AppsV1Api(api).read_namespaced_deployment("istiod", "istio-system")


def read_ok(_api, res):
    assert res["changed"] is False


def cm_kept(api, res):
    assert configmap(api).data == {"mode": "STRICT"}
    assert not res.result.get("changed"), res.result


def nothing_written(api, res):
    # read one by one: the row's fault still answers the LIST
    with pytest.raises(client.exceptions.ApiException) as missing:
        client.CoreV1Api(api).read_namespaced_config_map("mesh-two", "default")
    assert missing.value.status == 404
    assert configmap(api).data == {"mode": "STRICT"} and not res.result.get("changed"), res.result


TWO = {"definitions": [CM, dict(CM, metadata={"name": "mesh-two", "namespace": "default"})], "request_timeout": 2,
       "api_retries": 1}


APPLY = {"definitions": [CM], "request_timeout": 2}
PATCH_CM = r"/api/v1/namespaces/default/configmaps/mesh$"
ROWS = [
    Row("apply-429-retry-after", "apply", APPLY, [(PATCH_CM, 429, dict(method="PATCH",
                                                                       headers={"Retry-After": "1"}))],
        "survived", cm_applied),
    Row("apply-500", "apply", APPLY, [(PATCH_CM, 500, dict(method="PATCH"))], "survived", cm_applied),
    Row("apply-409-optimistic-lock", "apply", APPLY, [(PATCH_CM, 409, dict(method="PATCH", body=CONFLICT))],
        "survived", cm_applied),
    Row("apply-slow-answer", "apply", APPLY, [(PATCH_CM, "delay", dict(method="PATCH", seconds=4))],
        "survived", cm_applied),
    Row("apply-drop-before", "apply", APPLY, [(PATCH_CM, "drop", dict(method="PATCH"))], "survived", cm_applied),
    Row("apply-drop-after-write", "apply", APPLY, [(PATCH_CM, "drop-after", dict(method="PATCH"))],
        "survived", cm_applied),
    Row("apply-500-on-read", "apply", APPLY, [(PATCH_CM, 500, dict(method="GET"))], "survived", cm_applied),
    Row("apply-503-lasting", "apply", dict(APPLY, api_retries=2),
        [(PATCH_CM, 503, dict(method="PATCH", count=10))], "reported", nothing_created,
        message="ConfigMap default/mesh"),
    Row("apply-absent-drop-after-delete", "apply", dict(APPLY, state="absent"),
        [(PATCH_CM, "drop-after", dict(method="DELETE"))], "survived", cm_deleted, setup=create_cm),
    Row("apply-absent-429", "apply", dict(APPLY, state="absent"),
        [(PATCH_CM, 429, dict(method="DELETE", headers={"Retry-After": "1"}))], "survived", cm_deleted,
        setup=create_cm),
    # issue 23: a discovery answer of 503 is no 'kind not served' (absent reported the object gone and left it)
    Row("apply-absent-discovery-503", "apply", dict(APPLY, state="absent", api_retries=1),
        [(r"/api/v1$", 503, dict(method="GET", count=10))], "reported", cm_kept, setup=create_cm,
        message="discovery of v1 failed (503"),
    Row("apply-present-discovery-503", "apply", dict(APPLY, api_retries=1),
        [(r"/api/v1$", 503, dict(method="GET", count=10))], "reported", nothing_created,
        message="discovery of v1 failed (503"),
    # issue 23: a failed LIST fails its whole kind (the rest of it was applied blind, existing objects 'created')
    Row("apply-list-500-fails-the-kind", "apply", TWO,
        [(r"/api/v1/namespaces/default/configmaps$", 500, dict(method="GET", count=10))], "reported",
        nothing_written, setup=create_cm, message="ConfigMap default/mesh-two: 500"),
    Row("injection-429-on-create", "injection", {"namespaces": [{"name": "shop"}], "request_timeout": 2},
        [(r"/api/v1/namespaces$", 429, dict(method="POST", headers={"Retry-After": "1"}))], "survived",
        shop_labelled),
    Row("injection-slow-label-patch", "injection", {"namespaces": [{"name": "shop"}], "request_timeout": 2},
        [(r"/api/v1/namespaces/shop$", "delay", dict(method="PATCH", seconds=4))], "survived",
        shop_labelled_kept_team, setup=create_shop),
    Row("injection-drop-after-label-patch", "injection", {"namespaces": [{"name": "shop"}]},
        [(r"/api/v1/namespaces/shop$", "drop-after", dict(method="PATCH"))], "survived",
        shop_labelled_kept_team, setup=create_shop),
    Row("injection-500-on-read", "injection", {"namespaces": [{"name": "shop"}]},
        [(r"/api/v1/namespaces/shop$", 500, dict(method="GET"))], "survived", shop_labelled_kept_team,
        setup=create_shop),
    Row("cluster-info-429", "cluster_info", {},
        [(r"/apis/apiextensions.k8s.io/v1/customresourcedefinitions$", 429, dict(method="GET",
                                                                                 headers={"Retry-After": "1"}))],
        "survived", read_ok),
    Row("cluster-info-drop", "cluster_info", {}, [(r"/api/v1/namespaces$", "drop", dict(method="GET"))],
        "survived", read_ok),
    Row("istio-install-429-retry-after", "istio_install", {"operator": operator()},
        [(r"/apis/apps/v1/namespaces/istio-system/deployments", 429, dict(method="PATCH|POST|PUT",
                                                                          headers={"Retry-After": "1"}))],
        "survived", istiod_running, creates_one_per_collection=False),
    Row("ingress-info-500", "ingress_info", {"service": "kubernetes", "namespace": "default"},
        [(r"/api/v1/namespaces/default/services/kubernetes$", 500, dict(method="GET"))], "survived", read_ok),
    Row("ingress-info-slow", "ingress_info", {"service": "kubernetes", "namespace": "default", "request_timeout": 2},
        [(r"/api/v1/namespaces/default/services/kubernetes$", "delay", dict(method="GET", seconds=4))],
        "survived", read_ok),
]


def doubled_writes(kube_api):
    """Creates that took effect twice (more than one 201 for one collection, where the row creates at most one
    object per collection). Stale writes that win are caught by each row's expectation of the cluster state."""
    created = [w.path for w in kube_api.writes() if w.method == "POST" and w.status == 201]
    return [p for p in set(created) if created.count(p) > 1]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row, kube_api, kubeconfig):
    api = config.new_client_from_config(kubeconfig)
    if row.setup:
        row.setup(api)
    kube_api.clear_log()
    faults = [kube_api.faults.add(path, action, **kwargs) for path, action, kwargs in row.faults]
    res = run_module(row.module, dict({"kubeconfig": kubeconfig}, **row.args), timeout=300)
    # a delayed request reaches the server after the module gave up on it: let it land now, so the row checks the
    # state after that late (stale) write, and the write cannot leak into the next row's cluster
    time.sleep(max([kwargs.get("seconds", 0) for _p, action, kwargs in row.faults if action == "delay"] or [-1]) + 1)
    assert all(f.hits for f in faults), "the fault was not met: the row tests nothing"
    if row.outcome == "survived":
        assert not res.failed, res.result
    else:
        assert res.failed and row.message in res["msg"], res.result
        assert "Traceback" not in res.stderr
    row.expect(api, res)
    if row.creates_one_per_collection:
        assert doubled_writes(kube_api) == []
