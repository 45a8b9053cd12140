"""Unit tests for _istio.istioctl: operator files and the labels istioctl install adds."""

import json

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import istioctl

OPERATOR = {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
            "metadata": {"name": "aksmesh", "namespace": "istio-system"}, "spec": {"values": {"revision": "canary"}}}


def test_write_operator_writes_a_dict_and_passes_a_path(tmp_path):
    assert istioctl.write_operator("/given.yaml", str(tmp_path)) == "/given.yaml"
    path = istioctl.write_operator(OPERATOR, str(tmp_path))
    with open(path) as fh:
        assert json.load(fh) == OPERATOR


def test_owner_labels_as_istioctl_install_sets_them():
    assert istioctl.owner_labels(OPERATOR, "1.30.0", component="Pilot") == {
        "operator.istio.io/managed": "Reconcile", "operator.istio.io/version": "1.30.0", "istio.io/rev": "canary",
        "install.operator.istio.io/owning-resource": "aksmesh",
        "install.operator.istio.io/owning-resource-namespace": "istio-system", "operator.istio.io/component": "Pilot"}
    assert istioctl.owner_labels(None, None, revision="r1")["istio.io/rev"] == "r1"
    assert istioctl.owner_labels({}, "1.30.0")["istio.io/rev"] == "default"


def test_label_as_installed_names_the_component():
    objs = [{"kind": "Deployment", "metadata": {"labels": {"operator.istio.io/component": "Pilot"}}},
            {"kind": "Service", "metadata": {}}, {"kind": "CustomResourceDefinition"}]
    istioctl.label_as_installed(objs, OPERATOR, "1.30.0", None,
                                lambda obj: "IngressGateways" if obj["kind"] == "Service" else None)
    assert [o["metadata"]["labels"]["operator.istio.io/component"] for o in objs] == [
        "Pilot", "IngressGateways", "Base"]


def test_webhook_identity_ignores_runtime_state():
    hook = {"metadata": {"labels": {"istio.io/rev": "default"}}, "webhooks": [
        {"name": "sidecar.istio.io", "failurePolicy": "Ignore", "clientConfig": {
            "caBundle": "", "service": {"name": "istiod", "namespace": "istio-system", "port": 443}}}]}
    live = json.loads(json.dumps(hook))
    config = dict(live["webhooks"][0]["clientConfig"], caBundle="LS0t")
    live["webhooks"][0].update(failurePolicy="Fail", clientConfig=config)
    assert istioctl.webhook_identity(hook) == istioctl.webhook_identity(live)
    live["webhooks"][0]["clientConfig"]["service"]["name"] = "istiod-canary"
    assert istioctl.webhook_identity(hook) != istioctl.webhook_identity(live)


def test_transient_api_errors_are_told_from_lasting_ones():
    assert istioctl.transient('Error: failed to update resource: Internal error occurred: etcd is busy') == \
        "Internal error occurred"
    assert istioctl.transient("the server is currently unable to handle the request (post deployments.apps)")
    assert istioctl.transient('Error: unknown profile "no-such-profile"') is None
    assert istioctl.transient("") is None and istioctl.transient(None) is None
    # components that never got ready: a second run would only wait as long again
    assert istioctl.transient("resources not ready after 5m0s: context deadline exceeded") is None


def test_a_dropped_connection_is_transient():
    # Go's net/http: the server (or a load balancer) closed the connection without an answer
    assert istioctl.transient('Error: failed to get resource: Get "https://10.0.0.1:443/api/v1/namespaces/'
                              'istio-system": EOF').startswith("EOF")
    assert istioctl.transient("Patch \"https://aks:443/apis/apps/v1/deployments/istiod\": EOF\n")
    assert istioctl.transient("read tcp 10.0.0.2:4711->10.0.0.1:443: read: connection reset") == "connection reset"
    assert istioctl.transient("write tcp 10.0.0.2:4711->10.0.0.1:443: write: broken pipe") == "broken pipe"
    # an end of file that is no dropped connection
    assert istioctl.transient('Error: could not read "operator.yaml": EOFError') is None
    assert istioctl.transient("unexpected EOF") == "unexpected EOF"


def test_default_tag_objects_follow_istioctl_install():
    # istioctl install adds the default tag unless istioctl does not manage webhooks, or a default tag exists and
    # this is a revisioned install (operator/pkg/webhook: detectIfTagWebhookIsNeeded)
    tag = istioctl.default_tag_objects({}, None, "istio-system", default_tag_exists=False)
    assert [(k, ns, n) for _v, k, ns, n in tag] == [
        ("MutatingWebhookConfiguration", None, "istio-revision-tag-default"),
        ("ValidatingWebhookConfiguration", None, "istiod-default-validator"),
        ("Service", "istio-system", "istiod-revision-tag-default")]
    assert istioctl.default_tag_objects({}, None, "istio-system", default_tag_exists=True) == tag
    assert istioctl.default_tag_objects({}, "1-31", "istio-system", default_tag_exists=False) == tag
    assert istioctl.default_tag_objects({}, "1-31", "istio-system", default_tag_exists=True) == []
    managed = {"spec": {"values": {"global": {"operatorManageWebhooks": True}}}}
    assert istioctl.default_tag_objects(managed, None, "istio-system", default_tag_exists=False) == []
