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
