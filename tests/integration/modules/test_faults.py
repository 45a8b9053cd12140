"""Writes survive faults without doubling: the fault-injecting proxy in front of the real API server."""

from kubernetes import client, config

from tests.support.ansible_runner import run_module
from tests.integration.modules.test_istio_install import deployments, operator

NOT_FOUND = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
             "message": 'namespaces "shop" not found'}


def test_a_namespace_created_meanwhile_is_labelled_not_retried(kube_api, kubeconfig):
    """Two runs create the namespace at the same moment: this one reads 'not found', the other creates it, this
    one's create meets AlreadyExists. It labels the namespace that exists, with one create and one patch."""
    core = client.CoreV1Api(config.new_client_from_config(kubeconfig))
    core.create_namespace({"metadata": {"name": "shop", "labels": {"team": "shop"}}})
    kube_api.clear_log()
    kube_api.faults.add(r"/api/v1/namespaces/shop$", 404, method="GET", body=NOT_FOUND)
    res = run_module("injection", {"kubeconfig": kubeconfig, "namespaces": [{"name": "shop"}]})
    assert not res.failed, res.result
    assert res["namespaces"][0]["action"] == "labelled"
    labels = core.read_namespace("shop").metadata.labels
    assert labels["istio-injection"] == "enabled" and labels["team"] == "shop"
    writes = [(w.method, w.status) for w in kube_api.writes()]
    assert writes == [("POST", 409), ("PATCH", 200)], writes


def test_a_label_patch_never_overwrites_a_newer_change(kube_api, kubeconfig):
    """The patch carries the resourceVersion it was computed from: when the namespace changed in between, the
    server refuses it (409) and the module reads again, instead of writing over the newer change."""
    core = client.CoreV1Api(config.new_client_from_config(kubeconfig))
    core.create_namespace({"metadata": {"name": "shop"}})
    kube_api.clear_log()
    conflict = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
                "message": "Operation cannot be fulfilled on namespaces \"shop\": the object has been modified"}
    kube_api.faults.add(r"/api/v1/namespaces/shop$", 409, method="PATCH", body=conflict)
    res = run_module("injection", {"kubeconfig": kubeconfig, "namespaces": [{"name": "shop", "revision": "1-30-0"}]})
    assert not res.failed and res["namespaces"][0]["action"] == "labelled", res.result
    methods = [w.method for w in kube_api.requests() if "/namespaces/shop" in w.path]
    assert methods == ["GET", "PATCH", "GET", "PATCH"], methods  # read again after the conflict, no blind resend
    assert core.read_namespace("shop").metadata.labels["istio.io/rev"] == "1-30-0"


def test_istioctl_install_survives_a_transient_api_error(kube_api, kubeconfig):
    kube_api.faults.add(r"/apis/apps/v1/namespaces/istio-system/deployments", 500, method="PATCH|POST|PUT",
                        body={"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 500,
                              "reason": "InternalError", "message": "Internal error occurred: etcd is busy"})
    res = run_module("istio_install", {"kubeconfig": kubeconfig, "operator": operator()}, timeout=900)
    assert not res.failed, res.result
    assert res["retries"] >= 1 and "transient API error" in str(res.result.get("warnings")), res.result
    assert {d["metadata"]["name"] for d in deployments(kube_api)} >= {"istiod", "istio-ingressgateway"}
    again = run_module("istio_install", {"kubeconfig": kubeconfig, "operator": operator()})
    assert again["changed"] is False, again.result


def test_istioctl_install_reports_a_lasting_api_error(kube_api, kubeconfig):
    kube_api.faults.add(r"/apis/apps/v1/namespaces/istio-system/deployments", 500, method="PATCH|POST|PUT",
                        count=1000, body={"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 500,
                                          "reason": "InternalError", "message": "Internal error occurred: down"})
    res = run_module("istio_install", {"kubeconfig": kubeconfig, "operator": operator()}, timeout=900)
    assert res.failed and "after 3 attempts" in res["msg"] and "Internal error occurred" in res["msg"], res.result
    assert res["retries"] == 2


def test_a_create_whose_answer_was_lost_is_not_doubled(kube_api, kubeconfig):
    """The connection drops after the API server created the namespace: the retried create meets AlreadyExists,
    and the module reads the namespace instead of creating it twice or failing."""
    kube_api.faults.add(r"/api/v1/namespaces$", "drop-after", method="POST")
    res = run_module("injection", {"kubeconfig": kubeconfig, "namespaces": [{"name": "shop"}]})
    assert not res.failed, res.result
    core = client.CoreV1Api(config.new_client_from_config(kubeconfig))
    assert core.read_namespace("shop").metadata.labels["istio-injection"] == "enabled"
    creates = [w.status for w in kube_api.writes() if w.method == "POST"]
    assert creates[-1] == 409 and len(creates) == 2, creates  # the lost answer, then AlreadyExists: no third try
