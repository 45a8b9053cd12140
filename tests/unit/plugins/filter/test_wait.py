"""wait_limit: the async bound of a long task is twice the module's own timeout plus a margin."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.filter.wait import MARGIN_SECONDS, FilterModule

wait_limit = FilterModule().filters()["wait_limit"]


@pytest.mark.parametrize("timeout, seconds", [(1800, 3600), ("300s", 600), ("5m0s", 600), ("300", 600), (0, 0),
                                              ("1h", 7200)])
def test_twice_the_timeout_plus_the_margin(timeout, seconds):
    assert wait_limit(timeout) == seconds + MARGIN_SECONDS


@pytest.mark.parametrize("timeout, match", [("5 minutes", "is not a duration"), (None, "expected seconds"),
                                            (True, "expected seconds"), (-5, "is negative")])
def test_bad_timeouts_are_named(timeout, match):
    with pytest.raises(AnsibleFilterError, match=match):
        wait_limit(timeout)
