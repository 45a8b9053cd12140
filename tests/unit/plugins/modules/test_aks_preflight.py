"""aks_preflight's numbers, checked before anything is asked of Azure (no Azure)."""

import pytest

from ansible_collections.aksmesh.istio.plugins.modules import aks_preflight

GOOD = {"min_memory_gib": 4.0, "istiod_replicas": 2, "gateways": 2, "gateway_replicas": 2}


@pytest.mark.parametrize("params,needle", [
    ({"min_memory_gib": float("nan")}, "min_memory_gib must be positive (and a finite number), got nan"),
    ({"min_memory_gib": float("inf")}, "got inf"),
    ({"min_memory_gib": 0.0}, "min_memory_gib must be positive"),
    ({"gateways": -1}, "gateways must not be negative, got -1"),
])
def test_numbers_that_would_pass_every_pool_or_mean_nothing_are_refused(params, needle):
    """min_memory_gib: nan compared false with every VM size: every pool passed."""
    assert needle in aks_preflight.check_numbers(dict(GOOD, **params))


def test_the_defaults_pass():
    assert aks_preflight.check_numbers(GOOD) is None
