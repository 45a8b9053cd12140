import json

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import helm


@pytest.mark.parametrize("chart,name,version", [
    ("gateway-1.31.0-dev", "gateway", "1.31.0-dev"), ("istiod-1.30.0", "istiod", "1.30.0"),
    ("base-1.30.0-rc.1", "base", "1.30.0-rc.1"), ("istio-cni-1.29.2", "istio-cni", "1.29.2"),
    ("cert-manager-v1.21.2", "cert-manager", "v1.21.2")])
def test_release_status_splits_chart_name_and_semver(chart, name, version):
    listing = json.dumps([{"name": "r", "chart": chart, "revision": "2", "status": "deployed", "app_version": "x"}])
    got = helm.release_status(listing, "r")
    assert (got["chart"], got["version"], got["revision"]) == (name, version, 2)
    assert helm.changes(got, {}, name, version, {}) == []


def test_argument_problems_keep_flags_out_of_positionals():
    assert helm.argument_problems("istiod-1-30-0", "istiod", "istio-system") == []
    bad = helm.argument_problems("--dry-run", "-x", "kube-system/x")
    assert len(bad) == 3 and "name '--dry-run' is not a release name" in bad[0]
    assert "chart '-x'" in bad[1] and "namespace 'kube-system/x'" in bad[2]
    assert "release name" in helm.argument_problems("a" * 54, "istiod", "ns")[0]
    assert helm.argument_problems("istiod", None, "istio-system") == []  # state=absent names no chart


def test_template_argv_renders_crds_and_leaves_hooks_out_for_render_mode():
    argv = helm.template_argv("https://charts.example", "istiod", "istiod", "1.30.0", "1.32.0", hooks=False)
    assert argv == ["template", "--include-crds", "--repo", "https://charts.example", "-f", "-", "--no-hooks",
                    "--kube-version", "1.32.0", "--version", "1.30.0", "--", "istiod", "istiod"]
    # check mode compares everything helm install would create, hooks too; no version: the repository's newest
    assert helm.template_argv("r", "base", "base") == ["template", "--include-crds", "--repo", "r", "-f", "-", "--",
                                                       "base", "base"]


def test_as_installed_adds_what_helm_install_sets_and_the_release_namespace():
    objs = [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "istiod"}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": {"name": "istiod", "labels": {"app": "istiod"}}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": "other",
                                                                   "annotations": {"a": "b"}}}]
    sa, role, cm = helm.as_installed(objs, "istiod", "istio-system")
    assert sa["metadata"] == {"name": "istiod", "namespace": "istio-system",
                              "labels": {"app.kubernetes.io/managed-by": "Helm"},
                              "annotations": {"meta.helm.sh/release-name": "istiod",
                                              "meta.helm.sh/release-namespace": "istio-system"}}
    assert "namespace" not in role["metadata"] and role["metadata"]["labels"] == {
        "app": "istiod", "app.kubernetes.io/managed-by": "Helm"}
    assert cm["metadata"]["namespace"] == "other" and cm["metadata"]["annotations"]["a"] == "b"
    assert objs[0]["metadata"] == {"name": "istiod"}  # copies


@pytest.mark.parametrize("version, ok", [(None, True), ("1.32.0", True), ("v1.35.4", True), ("1.33", True),
                                         ("latest", False), ("1.32.0\n", False), ("--debug", False)])
def test_kube_version_problem(version, ok):
    assert (helm.kube_version_problem(version) is None) == ok
