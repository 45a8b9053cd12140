"""A canary upgrade under traffic: site.yml installs the mesh (istioctl method), requests go through the ingress
gateway the whole time ``upgrade.yml`` moves the namespaces and gateways to a new revision, restarts the workloads
and removes the old revision; every answer is recorded from the client's side and each failure is named."""

import time

from tests.integration.traffic.conftest import HOST, MESH_VARS, SHOP, SHOP_OBJECTS, Load, _site_inventory
from tests.support.ansible_runner import REPO, run_playbook
from tests.support.cluster import NODE_IP
from tests.support.dataplane import http_request


def test_a_canary_upgrade_keeps_the_ingress_serving(kube_api, kubeconfig, dataplane, tmp_path):
    inv = _site_inventory(tmp_path, kubeconfig, "istioctl", None)
    first = run_playbook(REPO / "site.yml", tmp_path, inventory=inv)
    assert first.rc == 0, first.stdout[-4000:]
    for obj in SHOP_OBJECTS:
        kube_api.create(obj)
    svc = kube_api.wait_for(lambda: (kube_api.get("v1", "Service", "istio-ingress", "istio-ingressgateway")
                                     .get("status", {}).get("loadBalancer", {}).get("ingress") or [None])[0],
                            "the ingress address")
    dataplane.wait_ready(SHOP, timeout=120)
    for runtime in dataplane.wait_ready("istio-ingress", timeout=120):
        dataplane.wait_proxy_ready(runtime, listeners=["0.0.0.0_8080"])
    kube_api.wait_for(lambda: http_request(svc["ip"], 80, "/", headers={"Host": HOST}, source=NODE_IP)[0] == 200,
                      "the ingress route", timeout=60)
    up = {"aksmesh_upgrade_to_revision": "1-31-1", "aksmesh_upgrade_version": MESH_VARS["aksmesh_istio_version"],
          "aksmesh_upgrade_restart": True, "aksmesh_upgrade_remove_old": True}
    with Load(svc["ip"]) as load:
        time.sleep(1)
        run = run_playbook(REPO / "upgrade.yml", tmp_path, inventory=inv, extra_vars=up)
        assert run.rc == 0, run.stdout[-4000:]
        # the moved workloads and gateways are served by proxies of the new revision before the load stops
        for namespace in (SHOP, "istio-ingress"):
            kube_api.wait_for(lambda ns=namespace: all(
                (r.pod["metadata"].get("labels") or {}).get("istio.io/rev") == "1-31-1"
                or (r.pod["metadata"].get("annotations") or {}).get("istio.io/rev") == "1-31-1"
                for r in dataplane.runtimes(ns)) and dataplane.runtimes(ns), f"{namespace} on the new revision",
                timeout=120)
        time.sleep(2)
    answers, failures = load.answers, load.failures()
    assert len(answers) > 100, len(answers)
    # traffic flows after the move, through the new revision's gateway
    after = [a for a in answers if a[0] > answers[-1][0] - 1.0]
    assert after and all(a[1] == 200 for a in after), after
    # none failed during the move: new gateway pods take traffic only once their proxy's readiness probe answers
    # (the data plane reports it), and a deleted pod's proxy drains while its endpoint goes
    t0 = answers[0][0]
    assert failures == [], [(round(f[0] - t0, 2), f[1], f[2]) for f in failures[:20]]
