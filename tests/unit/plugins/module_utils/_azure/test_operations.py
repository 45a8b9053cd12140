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


class Answer:
    """What an HttpResponseError carries: the status and headers of the answer."""

    def __init__(self, status, headers=None):
        self.status_code, self.headers, self.reason = status, headers or {}, "reason"

    def text(self):
        return ""


def _calls(*outcomes):
    """A call that raises or returns each outcome in turn; ``calls`` counts them."""
    seen = []

    def call():
        seen.append(1)
        outcome = outcomes[len(seen) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    return call, seen


def test_a_dropped_connection_and_throttling_are_tried_again_bounded():
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
    from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import retried, transient
    slept, warned = [], []
    dropped = ServiceResponseError("Connection aborted: RemoteDisconnected('Remote end closed connection')")
    throttled = HttpResponseError(response=Answer(429, {"Retry-After": "7"}))
    call, seen = _calls(dropped, throttled, "creds")
    assert retried(call, "user credentials of aks", sleep=slept.append, warn=warned.append) == "creds"
    assert len(seen) == 3 and slept == [2.0, 7.0]
    assert "the connection failed or was dropped" in warned[0] and "attempt 2 of 3" in warned[0]
    assert "HTTP 429" in warned[1]
    # bounded: the third dropped connection fails, naming the attempts
    call, seen = _calls(dropped, ServiceRequestError("Connection refused"), dropped)
    with pytest.raises(AzureOperationError) as err:
        retried(call, "user credentials of aks", sleep=slept.append)
    assert len(seen) == 3 and "(after 3 attempts)" in str(err.value)
    # a lasting error fails at once, and so does a Retry-After longer than a run should wait
    call, seen = _calls(HttpResponseError(response=Answer(403)))
    with pytest.raises(AzureOperationError):
        retried(call, "x", sleep=slept.append)
    call, seen = _calls(HttpResponseError(response=Answer(503, {"Retry-After": "3600"})))
    with pytest.raises(AzureOperationError) as err:
        retried(call, "x", sleep=slept.append)
    assert len(seen) == 1 and "HTTP 503" in str(err.value)
    assert transient(HttpResponseError(response=Answer(502))) == "HTTP 502"
    assert transient(HttpResponseError(response=Answer(404))) is None and transient(ValueError("x")) is None
