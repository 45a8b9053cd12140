"""The real kubectl binary against the loopback API, on Istio custom resources too."""

import json
import re
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")

MESH = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop-gw, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
    - port: {number: 80, name: http, protocol: HTTP}
      hosts: ["shop.example.com"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: ["shop.example.com"]
  gateways: [shop-gw]
  http:
    - route: [{destination: {host: web, port: {number: 80}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, version: v1}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports: [{containerPort: 80}]
"""


def kubectl(env, *args, stdin=None, check=True):
    proc = subprocess.run(["kubectl", *args], env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_get_lists_builtin_and_istio_kinds(kubectl_env):
    out = kubectl(kubectl_env, "get", "namespaces").stdout
    assert "kube-system" in out and out.startswith("NAME")
    assert "virtualservices" in kubectl(kubectl_env, "api-resources", "--api-group=networking.istio.io").stdout


def test_client_side_apply_is_idempotent(kubectl_env, kube_api):
    first = kubectl(kubectl_env, "apply", "-f", "-", stdin=MESH).stdout
    assert "gateway.networking.istio.io/shop-gw created" in first
    assert "deployment.apps/web created" in first
    second = kubectl(kubectl_env, "apply", "-f", "-", stdin=MESH).stdout
    assert second.count("unchanged") == 4
    vs = json.loads(kubectl(kubectl_env, "get", "vs", "shop", "-n", "shop", "-o", "json").stdout)
    assert vs["spec"]["gateways"] == ["shop-gw"]
    assert "kubectl.kubernetes.io/last-applied-configuration" in vs["metadata"]["annotations"]


def test_server_side_apply_and_conflict(kubectl_env):
    out = kubectl(kubectl_env, "apply", "--server-side", "-f", "-", stdin=MESH).stdout
    assert out.count("serverside-applied") == 4
    changed = MESH.replace("shop.example.com", "store.example.com")
    conflict = kubectl(kubectl_env, "apply", "--server-side", "--field-manager=intruder", "-f", "-",
                       stdin=changed, check=False)
    assert conflict.returncode != 0
    assert 'conflict with "kubectl"' in conflict.stderr and ".spec.hosts" in conflict.stderr
    forced = kubectl(kubectl_env, "apply", "--server-side", "--field-manager=intruder", "--force-conflicts",
                     "-f", "-", stdin=changed)
    assert forced.returncode == 0
    vs = json.loads(kubectl(kubectl_env, "get", "virtualservice", "shop", "-n", "shop", "-o", "json").stdout)
    assert vs["spec"]["hosts"] == ["store.example.com"]


def test_diff_shows_changes_and_exit_codes(kubectl_env):
    kubectl(kubectl_env, "apply", "-f", "-", stdin=MESH)
    same = kubectl(kubectl_env, "diff", "-f", "-", stdin=MESH, check=False)
    assert same.returncode == 0, same.stderr
    changed = kubectl(kubectl_env, "diff", "-f", "-", stdin=MESH.replace("nginx:1.27", "nginx:1.28"), check=False)
    assert changed.returncode == 1, changed.stderr
    assert re.search(r"^-\s+(- )?image: nginx:1\.27$", changed.stdout, re.M)
    assert re.search(r"^\+\s+(- )?image: nginx:1\.28$", changed.stdout, re.M)
    assert "observedGeneration" not in changed.stdout  # a dry run does not reach the controllers


def test_delete_from_file(kubectl_env, kube_api):
    kubectl(kubectl_env, "apply", "-f", "-", stdin=MESH)
    out = kubectl(kubectl_env, "delete", "-f", "-", stdin=MESH).stdout
    assert 'virtualservice.networking.istio.io "shop" deleted' in out
    kubectl(kubectl_env, "wait", "--for=delete", "namespace/shop", "--timeout=20s", check=False)
    assert not kube_api.state.objects.get(("", "namespaces", None, "shop"))
    assert "No resources found" in kubectl(kubectl_env, "get", "gateways", "-A").stderr
