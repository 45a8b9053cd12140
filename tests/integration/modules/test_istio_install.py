"""istio_install: idempotent (no second istioctl install), check mode never installs, diff, absent."""

import json

import pytest

from tests.support.ansible_runner import run_module


def operator(**extra):
    import sys
    sys.path.insert(0, "")
    from ansible_collections.aksmesh.istio.plugins.module_utils import istio_operator
    cfg = {"tag": "1.30.0", "ingress": {"ip": "51.124.1.2", "ip_resource_group": "rg-ips", "dns_label": "shop"}}
    cfg.update(extra)
    return istio_operator.build(cfg)


def calls(log):
    return [json.loads(line)["argv"][1] for line in log.read_text().splitlines()] if log.exists() else []


def test_install_is_idempotent_and_check_mode_never_installs(kube_api, kubeconfig, istioctl_log):
    checked = run_module("istio_install", {"kubeconfig": kubeconfig, "operator": operator()}, check_mode=True,
                         diff=True)
    assert not checked.failed, checked.result
    assert checked["changed"] and checked["objects"]["missing"] > 0 and checked["command"] == []
    assert "install" not in calls(istioctl_log)
    assert not [k for k in kube_api.state.objects if k[1] == "deployments"]

    first = run_module("istio_install", {"kubeconfig": kubeconfig, "operator": operator()})
    assert not first.failed, first.result
    assert first["changed"] and first["version"] == "1.30.0" and "IngressGateways" in first["components"]
    svc = kube_api.state.objects[("", "services", "istio-ingress", "istio-ingressgateway")]
    assert svc["spec"]["loadBalancerIP"] == "51.124.1.2"
    assert svc["metadata"]["annotations"]["service.beta.kubernetes.io/azure-load-balancer-resource-group"] == "rg-ips"
    assert calls(istioctl_log).count("install") == 1

    again = run_module("istio_install", {"kubeconfig": kubeconfig, "operator": operator()})
    assert not again.failed and again["changed"] is False and again["objects"]["differ"] == 0
    assert calls(istioctl_log).count("install") == 1  # the second run did not call istioctl install

    changed = run_module("istio_install", {"kubeconfig": kubeconfig, "operator": operator(hpa_min=3)},
                         check_mode=True, diff=True)
    assert changed["changed"] and changed["objects"]["differ"] > 0
    assert "minReplicas: 3" in changed.result["diff"]["prepared"]
    assert calls(istioctl_log).count("install") == 1


def test_uninstall_and_nothing_to_remove(kube_api, kubeconfig, istioctl_log):
    run_module("istio_install", {"kubeconfig": kubeconfig, "operator": operator()})
    gone = run_module("istio_install", {"kubeconfig": kubeconfig, "state": "absent", "purge": True})
    assert not gone.failed and gone["changed"] and "--purge" in gone["command"]
    assert not [k for k in kube_api.state.objects if k[1] == "deployments"]
    again = run_module("istio_install", {"kubeconfig": kubeconfig, "state": "absent", "purge": True})
    assert again["changed"] is False and again["command"] == []


def test_failures_report_istioctl_output(kube_api, kubeconfig, istioctl_log):
    kube_api.version.update(minor="31", gitVersion="v1.31.2")
    failed = run_module("istio_install", {"kubeconfig": kubeconfig, "operator": operator()})
    assert failed.failed and failed["rc"] == 1 and "1.32" in failed["msg"] and "minimum" in failed["stderr"]
    bad = run_module("istio_install", {"kubeconfig": kubeconfig, "operator": "/nope.yaml"})
    assert bad.failed and "is not a file" in bad["msg"]


@pytest.mark.parametrize("cfg,needle", [({"hpa_min": 6, "hpa_max": 2}, "hpa_min"),
                                        ({"outbound_policy": "OPEN"}, "outbound_policy"),
                                        ({"ingress": {"ip": "1.2.3.4"}}, "ip_resource_group")])
def test_operator_builder_rejects_bad_settings(cfg, needle):
    from ansible_collections.aksmesh.istio.plugins.module_utils import istio_operator
    from ansible_collections.aksmesh.istio.plugins.module_utils.mesh_common import MeshConfigError
    with pytest.raises(MeshConfigError, match=needle):
        istio_operator.build(cfg)
