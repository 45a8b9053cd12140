"""Unit tests for _azure.operations: LRO waits with a deadline, SDK errors with their fix."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import AzureOperationError, describe, wait


class FakePoller:
    """An LROPoller stand-in: done after ``polls`` waits."""

    def __init__(self, polls):
        self.polls = polls

    def status(self):
        return "Succeeded" if self.polls <= 0 else "InProgress"

    def done(self):
        return self.polls <= 0

    def wait(self, timeout):
        self.polls -= 1

    def result(self):
        return "model"


def test_wait_records_progress_and_times_out():
    assert wait(FakePoller(2), 10, "x") == ("model", ["InProgress", "Succeeded"])
    now = [0.0]

    def clock():
        now[0] += 1
        return now[0]
    with pytest.raises(AzureOperationError) as err:
        wait(FakePoller(100), 3, "updating cluster", clock=clock)
    assert "updating cluster: still InProgress after 3s" in str(err.value)


def test_describe_maps_status_to_fix():
    class Err(Exception):
        status_code = 403

        class error:
            code = "AuthorizationFailed"
            message = "The client does not have authorization."
    text = str(describe(Err(), "public IP p"))
    assert text.startswith("public IP p: HTTP 403 AuthorizationFailed") and "Network Contributor" in text
