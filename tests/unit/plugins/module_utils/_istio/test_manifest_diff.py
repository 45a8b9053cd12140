import re

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import manifest_diff as md
from tests.support import shared_data

DEP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web, helm.sh/chart: web-1.0}}
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx:1
          env: [{name: A, value: "1"}, {name: B, value: "2"}]
        - name: sidecar
          image: proxy:1
"""
REORDERED = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web, helm.sh/chart: web-2.0}}
spec:
  template:
    spec:
      containers:
        - name: sidecar
          image: proxy:1
        - name: app
          image: nginx:2
          env: [{name: B, value: "2"}, {name: A, value: "1"}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
"""


def test_identity_order_and_keyed_lists():
    result = md.diff(md.load(DEP, "a"), md.load(REORDERED, "b"))
    assert result["added"] == ["Service shop/web"] and result["removed"] == []
    (changed,) = result["changed_objects"]
    paths = {c["path"]: (c["before"], c["after"]) for c in changed["changes"]}
    assert paths == {'metadata.labels."helm.sh/chart"': ("web-1.0", "web-2.0"),
                     "spec.template.spec.containers.name=app.image": ("nginx:1", "nginx:2")}
    assert re.search(r"^-\s+image: nginx:1$", result["unified_diff"], re.M) and result["differs"]


def test_ignore_paths_and_select_globs():
    result = md.diff(md.load(DEP, "a"), md.load(REORDERED, "b"), ignore=['metadata.labels."helm.sh/chart"',
                                                                         "spec.template.spec.containers.*.image"],
                     select={"kind": "Deploy*"})
    assert result["changed_objects"] == [] and result["added"] == [] and not result["differs"]
    with pytest.raises(md.DiffError, match="unclosed quote"):
        md.parse_path('metadata."a')


def test_api_version_does_not_change_identity():
    a = md.load("apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: g, namespace: n}\n", "a")
    b = md.load("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g, namespace: n}\n", "b")
    expected = [{"path": "apiVersion", "before": "networking.istio.io/v1beta1", "after": "networking.istio.io/v1"}]
    assert md.diff(a, b)["changed_objects"][0]["changes"] == expected


def test_bad_documents_are_reported():
    with pytest.raises(md.DiffError, match="not a Kubernetes object"):
        md.load("- a\n- b\n", "left")
    with pytest.raises(md.DiffError, match="not valid YAML"):
        md.load("a: [", "left")


@pytest.mark.shared
def test_two_real_upstream_goldens():
    out = shared_data.upstream("operator", "cmd", "mesh", "testdata", "manifest-generate", "output")
    a = md.load((out / "pilot_default.golden.yaml").read_text(), "a")
    b = md.load((out / "pilot_k8s_settings.golden.yaml").read_text(), "b")
    result = md.diff(a, b)
    assert result["differs"] and result["counts"]["added"] + result["counts"]["removed"] + \
        result["counts"]["changed"] > 0
    same = md.diff(a, md.load((out / "pilot_default.golden.yaml").read_text(), "again"))
    assert not same["differs"] and same["counts"]["unchanged"] == len(a)
