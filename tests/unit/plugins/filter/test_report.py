"""drift_summary: a cluster's drift report in counts and one line."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.filter.report import drift_summary

FIELD = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "namespace": "shop", "name": "reviews",
         "path": ".spec.http", "managers": ["kubectl-patch (Update)"], "stage": "traffic"}


def test_a_clean_cluster_says_so():
    for found in (None, {}, {"drift": [], "missing": [], "extra": []}):
        out = drift_summary(found, report="/r/aks.json")
        assert out["clean"] and out["line"] == "no drift" and out["report"] == "/r/aks.json"


def test_drift_missing_and_extra_are_named():
    out = drift_summary({"drift": [FIELD, dict(FIELD, path=".spec.hosts")],
                         "missing": [{"kind": "Namespace", "namespace": None, "name": "shop"}],
                         "extra": [{"kind": "VirtualService", "namespace": "shop", "name": "old"}]})
    assert not out["clean"] and out["drifted_fields"] == 2
    assert out["drifted_objects"] == ["VirtualService shop/reviews"] and out["managers"] == ["kubectl-patch (Update)"]
    assert out["line"] == ("2 drifted field(s) in VirtualService shop/reviews (changed by kubectl-patch (Update)); "
                           "1 missing: Namespace shop; 1 extra: VirtualService shop/old")


def test_anything_else_is_refused_by_name():
    with pytest.raises(AnsibleFilterError, match="drift_summary: expected the settings_report fact"):
        drift_summary(["x"])
