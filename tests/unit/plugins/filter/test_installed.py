"""istioctl_as_installed: the render of the istioctl method as istioctl install leaves it on a cluster."""

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.filter.installed import FilterModule
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.istioctl import chart_component

AS_INSTALLED = FilterModule().filters()["istioctl_as_installed"]
OPERATOR = {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
            "metadata": {"name": "aksmesh", "namespace": "istio-system"}, "spec": {}}


def generated(chart, component=None, **extra):
    labels = {"helm.sh/chart": chart, "install.operator.istio.io/owning-resource": "unknown"}
    if component:
        labels["operator.istio.io/component"] = component
    return dict({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa", "labels": labels}}, **extra)


def test_labels_as_install_writes_them_with_the_component_of_the_chart():
    out = AS_INSTALLED([generated("istiod-1.0.0"), generated("istio-ingress-1.0.0", "IngressGateways"),
                        generated("base-1.0.0"), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}],
                       OPERATOR, "1.30.0", revision="1-30-0")
    labels = [o["metadata"]["labels"] for o in out]
    assert [label["operator.istio.io/component"] for label in labels] == ["Pilot", "IngressGateways", "Base", "Base"]
    assert all(label["install.operator.istio.io/owning-resource"] == "aksmesh" for label in labels)
    assert labels[0]["operator.istio.io/version"] == "1.30.0" and labels[0]["istio.io/rev"] == "1-30-0"
    assert labels[0]["install.operator.istio.io/owning-resource-namespace"] == "istio-system"


def test_values_as_the_api_server_stores_them():
    deployment = generated("istio-ingress-1.0.0", "IngressGateways", kind="Deployment", spec={"template": {"spec": {
        "containers": [{"name": "istio-proxy", "resources": {"limits": {"cpu": "2000m", "memory": "1024Mi"}}}]}}})
    out = AS_INSTALLED([deployment], OPERATOR, "1.30.0")
    assert out[0]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "2", "memory": "1Gi"}
    assert out[0]["metadata"]["labels"]["istio.io/rev"] == "default"
    assert deployment["metadata"]["labels"]["install.operator.istio.io/owning-resource"] == "unknown"  # a copy


def test_istioctls_output_as_it_wrote_it_is_parsed_once_and_its_empty_documents_dropped():
    text = "---\n" + yaml.safe_dump(generated("istiod-1.0.0")) + "---\n\n---\n" + yaml.safe_dump(
        generated("istio-ingress-1.0.0", "IngressGateways"))
    out = AS_INSTALLED(text, OPERATOR, "1.30.0")
    assert [o["metadata"]["labels"]["operator.istio.io/component"] for o in out] == ["Pilot", "IngressGateways"]
    assert out == AS_INSTALLED([d for d in yaml.safe_load_all(text) if d], OPERATOR, "1.30.0")

    class UnsafeBytes(bytes):
        pass

    class Unsafe(str):  # what a command's stdout is in a template: Ansible's unsafe or tagged text, which keeps its
        def encode(self, *args, **kwargs):  # class through encode() (ansible-core 2.16)
            return UnsafeBytes(str.encode(self, *args, **kwargs))
    assert AS_INSTALLED(Unsafe(text), OPERATOR, "1.30.0") == out


def test_the_chart_names_the_component():
    assert chart_component(generated("istio-cni-1.0.0")) == "Cni"
    assert chart_component(generated("ztunnel-1.0.0")) == "Ztunnel"
    assert chart_component(generated("other-1.0.0")) is None
    assert chart_component({"metadata": {}}) is None


@pytest.mark.parametrize("args, message", [
    (({}, OPERATOR, "1.30.0"), "expected the list of objects"),
    (("a: [", OPERATOR, "1.30.0"), "istioctl manifest generate's output is not valid YAML"),
    (("- 1\n", OPERATOR, "1.30.0"), "expected the list of objects"),
    (([], None, "1.30.0"), "give the IstioOperator"),
    (([], OPERATOR, ""), "give the IstioOperator"),
])
def test_bad_input_is_named(args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        AS_INSTALLED(*args)
