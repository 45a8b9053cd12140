"""Integer timeouts are refused out of range, by name, before a module does anything."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils import _timeouts as timeouts

SPEC = {"wait_timeout": {"type": "int", "default": 300}, "request_timeout": {"type": "int", "default": 30},
        "timeout": {"type": "int", "default": 600}, "idle_timeout": {"type": "int", "default": 4},
        "readiness_timeout": {"type": "str", "default": "300s"}}


@pytest.mark.parametrize("params, needle", [
    ({"wait_timeout": -5}, "wait_timeout -5: give the seconds to wait, 0 or more (default 300); nothing was changed"),
    ({"request_timeout": 0}, "request_timeout 0: give the seconds to wait, at least 1 (default 30)"),
    ({"timeout": 0}, "timeout 0: give the seconds to wait, at least 1 (default 600)"),
    ({"timeout": -1, "wait_timeout": -1}, "timeout -1:"),  # the first by name
])
def test_out_of_range_is_named(params, needle):
    assert timeouts.problem(SPEC, params).startswith(needle)


@pytest.mark.parametrize("params", [
    {}, {"wait_timeout": 0, "request_timeout": 1, "timeout": 1},
    {"idle_timeout": -1},  # not a wait: its module checks its range (4 to 30 minutes)
    {"readiness_timeout": "-5s"},  # a duration: checked as one where it is parsed
])
def test_in_range_or_not_a_wait_passes(params):
    assert timeouts.problem(SPEC, params) is None
