"""Drift: someone edits what the collection applied (kubectl patch); the apply module names each field, its live and
desired values and who changed it; without force it fails and changes nothing, in check mode it reports, with force
it takes the fields back and says what it overwrote. On the real API server and the real kubectl."""

import json

from tests.support.ansible_runner import run_module

NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}


def route(v1, v2):
    return [{"route": [{"destination": {"host": "reviews", "subset": "v1"}, "weight": v1},
                       {"destination": {"host": "reviews", "subset": "v2"}, "weight": v2}]}]


VS = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
      "metadata": {"name": "reviews", "namespace": "shop"}, "spec": {"hosts": ["reviews"], "http": route(90, 10)}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "grafana", "namespace": "shop"},
          "stringData": {"admin-password": "graf-Pass-123"}}


def apply(kubeconfig, definitions, **kw):
    check = kw.pop("check_mode", False)
    return run_module("apply", dict({"kubeconfig": kubeconfig, "definitions": definitions}, **kw),
                      check_mode=check, diff=kw.pop("diff", False))


def live_weights(kube_api):
    vs = kube_api.get("networking.istio.io/v1", "VirtualService", "shop", "reviews")
    return [d["weight"] for d in vs["spec"]["http"][0]["route"]]


def test_a_kubectl_patch_is_reported_refused_or_taken_back(kube_api, kubeconfig):
    first = apply(kubeconfig, [NS, VS, SECRET])
    assert not first.failed and first["changed"], first.result
    patch = json.dumps({"spec": {"http": route(50, 50)}})
    kube_api.kubectl("patch", "virtualservice", "reviews", "-n", "shop", "--type=merge", "-p", patch)
    kube_api.kubectl("patch", "secret", "grafana", "-n", "shop", "--type=merge", "-p",
                     json.dumps({"stringData": {"admin-password": "someone-elses"}}))
    kube_api.clear_log()

    # a read-only run: each drifted field with its values and the manager that holds it; nothing written
    report = apply(kubeconfig, [NS, VS, SECRET], check_mode=True)
    assert not report.failed and report["changed"], report.result
    vs_drift = [d for d in report["drift"] if d["kind"] == "VirtualService"]
    assert vs_drift == [{"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "namespace": "shop",
                         "name": "reviews", "action": "drifted", "path": ".spec.http", "desired": route(90, 10),
                         "live": route(50, 50), "managers": ["kubectl-patch (Update)"]}], report["drift"]
    secret_drift = [d for d in report["drift"] if d["kind"] == "Secret"]
    assert secret_drift and all(d["desired"] == d["live"] == "********" for d in secret_drift), secret_drift
    assert "someone-elses" not in json.dumps(report.result) and "graf-Pass-123" not in json.dumps(report.result)
    assert kube_api.writes() == []  # dry runs only

    # report (no force): the object fails naming field, values, manager and the variable; nothing changes
    refused = apply(kubeconfig, [NS, VS])
    assert refused.failed, refused.result
    msg = refused["msg"]
    assert "VirtualService shop/reviews" in msg and ".spec.http" in msg and "kubectl-patch" in msg, msg
    assert "aksmesh_reconcile: force" in msg and '"weight": 50' in msg and '"weight": 90' in msg, msg
    assert live_weights(kube_api) == [50, 50]

    # force: taken back, and the result says what was overwritten and from whom
    forced = apply(kubeconfig, [NS, VS, SECRET], force_conflicts=True)
    assert not forced.failed and forced["changed"], forced.result
    (taken,) = [d for d in forced["drift"] if d["kind"] == "VirtualService"]
    assert taken["action"] == "configured" and taken["live"] == route(50, 50)
    assert taken["managers"] == ["kubectl-patch (Update)"]
    assert live_weights(kube_api) == [90, 10]
    assert "someone-elses" not in json.dumps(forced.result)
    again = apply(kubeconfig, [NS, VS, SECRET])
    assert not again.failed and not again["changed"] and again["drift"] == [], again.result
