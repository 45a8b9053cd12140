"""The ambient-mode rules of mesh_lint (AKM0013, AKM0014, AKM0015): the mistakes that leave an ambient namespace half
on sidecars, or with policies and configuration its data plane cannot apply."""

import yaml

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import mesh_lint as ml

CTX = {"root_namespace": "istio-system", "partial": True, "require_mesh_policy": False}
FIXTURE = """
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient, istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: pay, labels: {istio.io/dataplane-mode: ambient, istio.io/rev: 1-30-0}}
---
apiVersion: v1
kind: Namespace
metadata: {name: clean, labels: {istio.io/dataplane-mode: ambient, istio-injection: disabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: sidecars, labels: {istio-injection: enabled}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: get-only, namespace: clean}
spec:
  selector: {matchLabels: {app: web}}
  rules:
    - from: [{source: {principals: [cluster.local/ns/istio-ingress/sa/gw]}}]
      to: [{operation: {methods: [GET], paths: [/api/*], ports: ["8080"]}}]
      when: [{key: "request.headers[x-team]", values: [a]}, {key: source.ip, values: [10.0.0.0/8]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: l4-only, namespace: clean}
spec:
  selector: {matchLabels: {app: web}}
  rules: [{from: [{source: {namespaces: [istio-ingress]}}], to: [{operation: {ports: ["8080"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: on-waypoint, namespace: clean}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  rules: [{to: [{operation: {methods: [GET]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: get-only, namespace: sidecars}
spec:
  rules: [{to: [{operation: {methods: [GET]}}]}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: clean}
spec: {egress: [{hosts: ["./*"]}]}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: lua, namespace: clean}
spec: {workloadSelector: {labels: {app: web}}, configPatches: []}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: mesh-wide, namespace: clean}
spec: {configPatches: []}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: sidecars}
spec: {egress: [{hosts: ["./*"]}]}
"""


def findings(objs):
    return [(m["code"], m["origin"], m["message"]) for m in ml.lint(objs, CTX)
            if m["code"] in ("AKM0013", "AKM0014", "AKM0015")]


def test_the_ambient_mistakes_are_found_and_only_those():
    found = findings(list(yaml.safe_load_all(FIXTURE)))
    assert [(code, where) for code, where, _text in found] == [
        ("AKM0013", "Namespace pay/pay"), ("AKM0013", "Namespace shop/shop"),
        ("AKM0014", "AuthorizationPolicy clean/get-only"),
        ("AKM0015", "Sidecar clean/default"), ("AKM0015", "EnvoyFilter clean/lua")]
    texts = dict(((code, where), text) for code, where, text in found)
    assert texts[("AKM0013", "Namespace shop/shop")] == (
        "Namespace shop is in ambient mode (istio.io/dataplane-mode=ambient) and also labelled istio-injection for "
        "sidecar injection: its new pods get sidecars, which ztunnel leaves out of the ambient mesh; keep one data "
        "plane per namespace (remove istio-injection, or the ambient label while it stays on sidecars)")
    assert texts[("AKM0014", "AuthorizationPolicy clean/get-only")].startswith(
        "AuthorizationPolicy clean/get-only has L7 rules (to.operation.methods, to.operation.paths, when "
        "request.headers[x-team]) in the ambient namespace clean but no targetRefs")
    assert "attach the policy to it with targetRefs" in texts[("AKM0014", "AuthorizationPolicy clean/get-only")]


def test_the_ambient_codes_are_levelled_and_suppressible():
    objs = list(yaml.safe_load_all(FIXTURE))
    levels = dict((m["code"], m["level"]) for m in ml.lint(objs, CTX))
    assert (levels["AKM0013"], levels["AKM0014"], levels["AKM0015"]) == ("Error", "Warning", "Warning")
    left = ml.lint(objs, CTX, suppress=["AKM0015=EnvoyFilter *", "AKM0013=Namespace pay/*"])
    assert [(m["code"], m["origin"]) for m in left if m["code"] in ("AKM0013", "AKM0015")] == [
        ("AKM0013", "Namespace shop/shop"), ("AKM0015", "Sidecar clean/default")]
