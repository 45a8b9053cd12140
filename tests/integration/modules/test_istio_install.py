"""istio_install with the real istioctl on the real API server: idempotent (a second run writes nothing),
check mode never installs, diff, absent."""

import pytest

from tests.support.ansible_runner import run_module


def istio_operator(**options):
    """The istio_operator filter, as the istio_install role calls it (the settings-derived options given here)."""
    from ansible_collections.aksmesh.istio.plugins.filter.mesh import FilterModule
    cfg = {"profile": "default", "revision": "", "ingress_namespace": "istio-ingress", "egress_namespace": "istio-egress",
           "tracing": {},
           "ingress_ip": "", "ingress_ip_resource_group": "", "ingress_source_ranges": [], "cni_enabled": False,
           "cni_namespace": "istio-system"}
    cfg.update(options)
    return FilterModule().filters()["istio_operator"]("istio-system", **cfg)


def operator(**extra):
    cfg = {"tag": "1.30.0", "ingress_ip": "51.124.1.2", "ingress_ip_resource_group": "rg-ips",
           "ingress_dns_label": "shop"}
    cfg.update(extra)
    return istio_operator(**cfg)


def deployments(kube_api):
    return [d for d in kube_api.get("apps/v1", "Deployment") if d["metadata"]["namespace"].startswith("istio")]


def test_install_is_idempotent_and_check_mode_never_installs(kube_api, kubeconfig):
    checked = run_module("istio_install", {"kubeconfig": kubeconfig, "operator": operator()}, check_mode=True,
                         diff=True)
    assert not checked.failed, checked.result
    assert checked["changed"] and checked["objects"]["missing"] > 0 and checked["command"] == []
    assert kube_api.writes() == [] and deployments(kube_api) == []

    first = run_module("istio_install", {"kubeconfig": kubeconfig, "operator": operator()}, timeout=600)
    assert not first.failed, first.result
    assert first["changed"] and "install" in first["command"] and "IngressGateways" in first["components"]
    svc = kube_api.get("v1", "Service", "istio-ingress", "istio-ingressgateway")
    # the static IP the way AKS asks for it today: the ipv4 annotation, no deprecated spec.loadBalancerIP
    assert svc["metadata"]["annotations"]["service.beta.kubernetes.io/azure-load-balancer-ipv4"] == "51.124.1.2"
    assert "loadBalancerIP" not in svc["spec"]
    kube_api.wait_for(lambda: ((kube_api.get("v1", "Service", "istio-ingress", "istio-ingressgateway")["status"].get(
        "loadBalancer") or {}).get("ingress") or [{}])[0].get("ip") == "51.124.1.2", "the ingress to get its static IP")
    assert svc["metadata"]["annotations"]["service.beta.kubernetes.io/azure-load-balancer-resource-group"] == "rg-ips"
    assert {d["metadata"]["name"] for d in deployments(kube_api)} >= {"istiod", "istio-ingressgateway"}

    kube_api.clear_log()
    again = run_module("istio_install", {"kubeconfig": kubeconfig, "operator": operator()})
    assert not again.failed and again["changed"] is False and again["objects"]["differ"] == 0, again.result
    assert again["command"] == [] and kube_api.writes() == []  # istioctl install did not run again

    changed = run_module("istio_install", {"kubeconfig": kubeconfig, "operator": operator(hpa_min=3)},
                         check_mode=True, diff=True)
    assert changed["changed"] and changed["objects"]["differ"] > 0
    assert "minReplicas: 3" in changed.result["diff"]["prepared"]
    assert kube_api.writes() == []


def test_uninstall_and_nothing_to_remove(kube_api, kubeconfig):
    run_module("istio_install", {"kubeconfig": kubeconfig, "operator": operator()}, timeout=600)
    gone = run_module("istio_install", {"kubeconfig": kubeconfig, "state": "absent", "purge": True}, timeout=600)
    assert not gone.failed and gone["changed"] and "--purge" in gone["command"], gone.result
    assert all(d["metadata"].get("deletionTimestamp") for d in deployments(kube_api))  # going, in foreground
    kube_api.wait_for(lambda: deployments(kube_api) == [], "the Istio Deployments to be deleted")
    again = run_module("istio_install", {"kubeconfig": kubeconfig, "state": "absent", "purge": True})
    assert again["changed"] is False and again["command"] == []


def test_failures_report_istioctl_output(kube_api, kubeconfig):
    broken = operator()
    broken["spec"]["profile"] = "no-such-profile"
    failed = run_module("istio_install", {"kubeconfig": kubeconfig, "operator": broken})
    assert failed.failed and "no-such-profile" in failed["msg"], failed.result
    assert kube_api.writes() == []
    bad = run_module("istio_install", {"kubeconfig": kubeconfig, "operator": "/nope.yaml"})
    assert bad.failed and "is not a file" in bad["msg"]


@pytest.mark.parametrize("cfg,needle", [({"hpa_min": 6, "hpa_max": 2}, "istio_install_hpa_min: 6 is greater"),
                                        ({"outbound_policy": "OPEN"}, "istio_install_outbound_policy must be one of")])
def test_operator_builder_rejects_bad_settings(cfg, needle):
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match=needle):
        istio_operator(**cfg)
