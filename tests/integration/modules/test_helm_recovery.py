"""aksmesh.istio.helm_release after an interrupted helm command: the real helm, killed with SIGKILL while it waits,
leaves its release pending-install, as an AWX cancel or a controller crash does; the next run recovers it."""

import json
import os
import signal
import subprocess

from tests.support.ansible_runner import TOOLS_BIN, run_module
from tests.support.cluster import ISTIO_VERSION

NS = "pending-gw"
RECORD = "sh.helm.release.v1.gw.v1"
# a public IP no one made: the loopback cloud provider gives the LoadBalancer no address, so helm --wait never ends
STUCK = {"service": {"annotations": {"service.beta.kubernetes.io/azure-pip-name": "pip-nobody-made"}}}


def records(kube_api):
    """Release record Secret -> its status label, as helm's Secret driver writes them."""
    return {s["metadata"]["name"]: s["metadata"]["labels"].get("status")
            for s in kube_api.get("v1", "Secret", NS) or []
            if (s["metadata"].get("labels") or {}).get("owner") == "helm"}


def test_a_release_left_pending_install_is_uninstalled_then_installed(kube_api, kubeconfig, istio_chart_repo,
                                                                      tmp_path):
    values = tmp_path / "stuck.json"
    values.write_text(json.dumps(STUCK))
    helm = subprocess.Popen(
        [str(TOOLS_BIN / "helm"), "--kubeconfig", kubeconfig, "-n", NS, "install", "--create-namespace",
         "--repo", istio_chart_repo, "--version", ISTIO_VERSION, "-f", str(values), "--wait", "--timeout", "10m",
         "--", "gw", "gateway"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        kube_api.wait_for(lambda: records(kube_api) == {RECORD: "pending-install"} and kube_api.get(
            "v1", "Service", NS, "gw"), "helm to save its pending-install record and create the Service", 120)
    finally:
        os.killpg(helm.pid, signal.SIGKILL)  # mid-wait, as a cancelled job's helm dies
        helm.wait()
    assert records(kube_api) == {RECORD: "pending-install"}
    args = {"name": "gw", "chart": "gateway", "repo": istio_chart_repo, "version": ISTIO_VERSION, "namespace": NS,
            "values": {"service": {"type": "ClusterIP"}}, "timeout": "20s", "kubeconfig": kubeconfig}
    env = {"ANSIBLE_ASYNC_DIR": str(tmp_path / "async")}
    # check mode says what a run would do, and changes nothing
    check = run_module("helm_release", args, check_mode=True, env=env, timeout=300)
    assert not check.failed and check["changed"] is True, check.result
    assert (check["pending"]["action"], check["pending"]["done"]) == ("uninstall", False), check["pending"]
    assert records(kube_api) == {RECORD: "pending-install"}
    # the record is younger than the timeout (a helm command elsewhere may still finish it): the run waits, then
    # uninstalls the never-deployed release and installs it as asked
    res = run_module("helm_release", args, env=env, timeout=300)
    assert not res.failed, res.result
    pending = res["pending"]
    assert (pending["status"], pending["revision"], pending["action"], pending["rollback_to"], pending["done"]) == (
        "pending-install", 1, "uninstall", None, True), pending
    assert pending.get("waited", 0) > 0, pending
    assert res["changed"] is True and (res["release"]["status"], res["release"]["revision"]) == ("deployed", 1)
    assert any("was pending-install" in str(w) and "uninstalled it" in str(w) for w in res.result.get("warnings", []))
    assert records(kube_api) == {RECORD: "deployed"}
    assert kube_api.get("v1", "Service", NS, "gw")["spec"]["type"] == "ClusterIP"
    again = run_module("helm_release", args, env=env, timeout=300)
    assert not again.failed and again["changed"] is False and "pending" not in again.result, again.result
