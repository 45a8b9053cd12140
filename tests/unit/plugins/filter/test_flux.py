"""The flux_helm_release filter: a Helm release as a Flux HelmRelease of a named HelmRepository (render mode)."""

from ansible_collections.aksmesh.istio.plugins.filter.flux import FilterModule

FLUX = FilterModule().filters()["flux_helm_release"]


def test_an_istio_release_refers_to_the_istio_repository_and_keeps_the_install_order():
    base = {"name": "istio-base", "namespace": "istio-system"}
    out = FLUX({"name": "istiod", "chart": "istiod", "namespace": "istio-system", "values": {"pilot": {"x": 1}},
                "depends_on": [base]}, "1.30.0", "istio-system")
    assert out["apiVersion"] == "helm.toolkit.fluxcd.io/v2" and out["kind"] == "HelmRelease"
    spec = out["spec"]
    assert spec["chart"]["spec"] == {"chart": "istiod", "version": "1.30.0", "sourceRef": {
        "kind": "HelmRepository", "name": "istio", "namespace": "istio-system"}}
    assert spec["dependsOn"] == [base] and spec["values"] == {"pilot": {"x": 1}}
    assert spec["install"] == {"createNamespace": True} and spec["targetNamespace"] == "istio-system"
    # the stage that applies it fills in its stage label
    assert out["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "aksmesh", "aksmesh.io/stage": None}


def test_a_release_of_another_repository_names_it():
    values = {"crds": {"enabled": True}}
    out = FLUX({"name": "cert-manager", "chart": "cert-manager", "namespace": "cert-manager", "values": values},
               "v1.21.2", "cert-manager", "cert-manager")
    assert out["spec"]["chart"]["spec"]["sourceRef"] == {"kind": "HelmRepository", "name": "cert-manager",
                                                         "namespace": "cert-manager"}
    assert out["spec"]["values"] == values and out["spec"]["values"] is not values
    assert "dependsOn" not in out["spec"]
