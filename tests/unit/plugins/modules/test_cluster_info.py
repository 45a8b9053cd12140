"""cluster_info over the REST client: the requests it sends and the result it builds (no cluster)."""

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import cluster_read as cluster_info

ISTIOD = {"metadata": {"name": "istiod", "namespace": "istio-system", "labels": {"app": "istiod"}},
          "spec": {"replicas": 1, "template": {"spec": {"containers": [
              {"name": "discovery", "image": "docker.io/istio/pilot:1.30.0"}]}}},
          "status": {"readyReplicas": 1}}
ANSWERS = {
    "/version": {"major": "1", "minor": "35+", "gitVersion": "v1.35.4"},
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions": {"items": [
        {"metadata": {"name": "gateways.networking.istio.io"}, "spec": {"group": "networking.istio.io"}}]},
    "/apis/apps/v1/deployments": {"items": [ISTIOD]},
    "/apis/apps/v1/namespaces/istio-system/deployments": {"items": [ISTIOD]},
    "/apis/apps/v1/namespaces/istio-ingress/deployments": {"items": []},
    "/apis/apps/v1/namespaces/shop/deployments": {"items": [{"metadata": {"name": "web", "namespace": "shop"}}]},
    "/apis/apps/v1/namespaces/shop/statefulsets": {"items": []},
    "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations": {"items": [{"metadata": {
        "name": "istio-revision-tag-default", "labels": {"istio.io/tag": "default", "istio.io/rev": "1-30-0"},
        "annotations": {"meta.helm.sh/release-name": "istiod-1-30-0"}}}]},
    "/apis/apps/v1/namespaces/shop/daemonsets": {"items": []},
    "/api/v1/namespaces": {"items": [{"metadata": {"name": "shop", "labels": {"istio-injection": "enabled"}}},
                                     {"metadata": {"name": "plain"}}]},
}


class FakeRest:
    def __init__(self):
        self.sent = []

    def request(self, method, path, query=None, body=None, content_type="application/json", ok_missing=False):
        self.sent.append((method, path, query))
        return ANSWERS[path]


class FakeModule:
    def __init__(self, **params):
        self.params = dict({"istio_namespace": [], "workload_namespaces": []}, **params)


def test_reads_with_gets_only_and_keeps_the_documented_result():
    rest = FakeRest()
    out = cluster_info.read(FakeModule(), rest)
    assert sorted(out) == ["changed", "injection_namespaces", "istio_crds", "istio_revisions",
                           "kubernetes_version", "revision_tags", "workloads"]
    assert out["changed"] is False
    assert out["kubernetes_version"] == {"git_version": "v1.35.4", "major": 1, "minor": 35}
    assert out["istio_crds"]["names"] == ["gateways.networking.istio.io"] and not out["istio_crds"]["installed"]
    assert [(r["revision"], r["version"], r["ready"]) for r in out["istio_revisions"]] == [("default", "1.30.0", True)]
    assert [n["name"] for n in out["injection_namespaces"]] == ["shop"]
    assert out["revision_tags"] == [{"tag": "default", "revision": "1-30-0", "webhook": "istio-revision-tag-default",
                                     "release": "istiod-1-30-0"}]
    assert all(method == "GET" for method, _path, _query in rest.sent)
    assert ("GET", "/apis/apps/v1/deployments", {"labelSelector": "app=istiod"}) in rest.sent


def test_istio_namespace_limits_the_deployment_reads():
    rest = FakeRest()
    out = cluster_info.read(FakeModule(istio_namespace=["istio-ingress"]), rest)
    assert out["istio_revisions"] == []
    assert [p for _m, p, _q in rest.sent if "deployments" in p] == ["/apis/apps/v1/namespaces/istio-ingress/deployments"]


def test_workload_namespaces_lists_the_pod_controllers():
    out = cluster_info.read(FakeModule(workload_namespaces=["shop"]), FakeRest())
    assert out["workloads"] == [{"kind": "Deployment", "namespace": "shop", "name": "web", "restarted_at": None,
                                 "restarted_for": None}]
