"""The AuthorizationPolicy rules of mesh_lint (AKM0011, AKM0012) on a small fixture, and on what the role builds."""

import yaml

from ansible_collections.aksmesh.istio.plugins.filter.mesh import STAGES
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import mesh_lint as ml
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import topology

CTX = {"root_namespace": "istio-system", "workloads": list(topology("istioctl")["gateways"].values()),
       "partial": True, "require_mesh_policy": False}
FIXTURE = """
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {app.kubernetes.io/managed-by: aksmesh}}
---
apiVersion: v1
kind: Namespace
metadata: {name: pay, labels: {istio.io/rev: 1-30-0}}
---
apiVersion: v1
kind: Namespace
metadata: {name: no-sidecars, labels: {istio-injection: disabled, istio.io/rev: 1-30-0}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ambient, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: trial}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: default-deny, namespace: shop}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api, namespace: shop}
spec:
  action: ALLOW
  rules:
    - from:
        - source:
            principals: [cluster.local/ns/shop/sa/web, cluster.local/ns/legacy/sa/cron, cluster.local/ns/legacy/sa/x,
                         cluster.local/ns/istio-ingress/sa/istio-ingressgateway-service-account, "*/ns/le*/sa/y"]
        - source: {namespaces: [pay, no-sidecars, ambient, unknown, "leg*"]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: block-legacy, namespace: shop}
spec:
  action: DENY
  rules: [{from: [{source: {namespaces: [legacy]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: default-deny, namespace: pay}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: only-dry, namespace: pay, annotations: {istio.io/dry-run: "true"}}
spec: {rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: default-deny, namespace: trial, annotations: {istio.io/dry-run: "true"}}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: frozen-workload, namespace: ambient}
spec: {selector: {matchLabels: {app: frozen}}}
"""
# what the fixture gives, from files and live (tests/integration/roles/test_mesh_authz.py applies it)
FINDINGS = [
    # legacy has no injection label: once for the policy, however many of its principals it names
    ("AKM0011", "AuthorizationPolicy shop/api", "Namespace legacy"),
    ("AKM0011", "AuthorizationPolicy shop/api", "Namespace no-sidecars"),
    # pay's only ALLOW policy is a dry run: its default deny lets nothing in
    ("AKM0012", "AuthorizationPolicy pay/default-deny", "AuthorizationPolicy pay/default-deny"),
]


def lint(objs):
    return [(m["code"], m["origin"], m["reference"]) for m in ml.lint(objs, CTX)
            if m["code"] in ("AKM0011", "AKM0012")]


def test_the_fixture_findings():
    objs = list(yaml.safe_load_all(FIXTURE))
    assert lint(objs) == FINDINGS
    message = [m for m in ml.lint(objs, CTX) if m["code"] == "AKM0011"][0]
    assert message["level"] == "Warning" and "cluster.local/ns/legacy/sa/cron" in message["message"]
    assert message["documentationUrl"].endswith("docs/mesh_lint.md#akm0011")


def test_a_mesh_wide_allow_in_the_root_namespace_opens_a_default_deny():
    objs = list(yaml.safe_load_all(FIXTURE)) + [{
        "apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
        "metadata": {"name": "probes", "namespace": "istio-system"},
        "spec": {"rules": [{"to": [{"operation": {"paths": ["/healthz"]}}]}]}}]
    assert [c for c, _o, _r in lint(objs)] == ["AKM0011", "AKM0011"]


def test_what_the_role_builds_for_a_default_deny_namespace_with_ingress_routes_is_clean():
    build = dict((s.name, s) for s in STAGES)["authz_manifests"]
    policies = build([{"name": "api", "namespace": "shop", "rules": [{"from": {"principals": ["shop/web"]}}]}],
                     default_deny_namespaces=["shop", "quiet"],
                     gateway_routes={"web.shop.svc.cluster.local": ["istio-ingress"]},
                     gateway_workloads=CTX["workloads"], root_namespace="istio-system")
    shop = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {
        "istio-injection": "enabled"}}}
    # quiet: default deny, no route, no policy -> nothing gets in
    assert lint(policies + [shop]) == [("AKM0012", "AuthorizationPolicy quiet/default-deny",
                                        "AuthorizationPolicy quiet/default-deny")]
