"""Unit tests for _istio.support: the Istio/Kubernetes support table."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.support import check_kubernetes, minor_of


@pytest.mark.parametrize("text, expect", [("1.30.0", (1, 30)), ("v1.32.4", (1, 32)), ("asm-1-26", (1, 26)),
                                          ("latest", None)])
def test_minor_of(text, expect):
    assert minor_of(text) == expect


def test_kubernetes_support():
    assert check_kubernetes("1.30.1", "1.32.0") == ([], [])
    errors = check_kubernetes("1.30.1", "1.31.9")[0]
    assert "older than Istio 1.30 supports (1.32 to 1.35)" in errors[0]
    warnings = check_kubernetes("1.30.1", "1.36.0")[1]
    assert "newer than Istio 1.30" in warnings[0]
    assert check_kubernetes("1.99.0", "1.32.0")[1]  # unknown line: warn, do not block
    assert check_kubernetes("main", "1.32")[0]
