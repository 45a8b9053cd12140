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
