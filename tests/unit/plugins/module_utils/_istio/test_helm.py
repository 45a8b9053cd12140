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
    (file_repo,) = helm.argument_problems("istiod", "istiod", "istio-system", "file:///srv/charts")
    assert file_repo.startswith("repo 'file:///srv/charts' is not a chart repository URL helm can read")
    assert helm.argument_problems("istiod", "istiod", "istio-system", "HTTPS://charts.example.com") == []
    assert helm.argument_problems("istiod", None, "istio-system", "file:///x") == []  # absent reads no chart


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


def test_release_status_reads_any_status_and_its_time():
    listing = json.dumps([{"name": "r", "chart": "istiod-1.30.0", "revision": "3", "status": "pending-upgrade",
                           "updated": "2025-06-01T10:00:00+02:00"}])
    got = helm.release_status(listing, "r")
    assert got["status"] == "pending-upgrade" and got["updated"] == "2025-06-01T10:00:00+02:00"
    assert helm.changes(got, {}, "istiod", "1.30.0", {}) == ["status pending-upgrade"]
    # uninstalled with --keep-history: no release
    assert helm.release_status(json.dumps([dict(name="r", status="uninstalled")]), "r") is None
    argv = helm.list_argv("istiod")
    assert argv[:3] == ["list", "-a", "-o"] and argv[argv.index("--time-format") + 1] == "2006-01-02T15:04:05Z07:00"


@pytest.mark.parametrize("text, seconds", [
    ("2025-06-01T08:00:00Z", 1748764800.0), ("2025-06-01T10:00:00+02:00", 1748764800.0),
    ("2025-06-01T03:30:00-04:30", 1748764800.0),
    ("2025-06-01 08:00:00.123456789 +0000 UTC", 1748764800.0),  # Go's default format (helm list without it)
    ("-", None), ("", None), (None, None)])
def test_epoch_of_the_times_helm_prints(text, seconds):
    assert helm.epoch(text) == seconds


HISTORY = json.dumps([
    {"revision": 1, "status": "superseded"}, {"revision": 2, "status": "deployed"},
    {"revision": 3, "status": "failed"}, {"revision": 4, "status": "pending-upgrade"}])


def test_rollback_target_is_the_last_deployed_revision():
    assert helm.rollback_target(HISTORY, 4) == 2
    assert helm.rollback_target(json.dumps([{"revision": 1, "status": "superseded"},
                                            {"revision": 2, "status": "pending-rollback"}]), 2) == 1
    # never deployed: nothing to roll back to, the release is uninstalled
    assert helm.rollback_target(json.dumps([{"revision": 1, "status": "pending-install"}]), 1) is None
    assert helm.rollback_target(json.dumps([{"revision": 1, "status": "failed"},
                                            {"revision": 2, "status": "pending-upgrade"}]), 2) is None


def test_pending_plan_waits_while_younger_than_the_timeout():
    release = {"status": "pending-install", "revision": 1, "updated": "2025-06-01T08:00:00Z"}
    start = 1748764800.0
    young = helm.pending_plan(release, start + 100, 300, "recover")
    assert (young["age"], young["wait"], young["action"], young["done"]) == (100, 200, "recover", False)
    old = helm.pending_plan(release, start + 900, 300, "fail")
    assert (old["age"], old["wait"], old["action"]) == (900, 0, "fail")
    assert helm.pending_plan(dict(release, status="deployed"), start, 300, "recover") is None
    assert helm.pending_plan(None, start, 300, "recover") is None
    # a time it cannot read: no telling a live record from an abandoned one, so no wait
    assert helm.pending_plan(dict(release, updated="-"), start, 300, "recover")["wait"] == 0


def test_pending_message_names_the_option_and_the_helm_command():
    plan = {"status": "pending-upgrade", "revision": 4, "updated": "2025-06-01T08:00:00Z", "rollback_to": 2}
    msg = helm.pending_message("istiod", "istio-system", plan)
    assert "pending: recover" in msg and "istio_helm_pending" in msg and "Nothing changed" in msg
    assert "helm rollback istiod 2 -n istio-system" in msg
    never = helm.pending_message("istiod", "istio-system", dict(plan, rollback_to=None))
    assert "helm uninstall istiod -n istio-system" in never
