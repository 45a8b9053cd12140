# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure SDK errors as actionable messages, and long-running operations polled with a deadline.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time


class AzureOperationError(Exception):
    """An Azure call failed; the message names the object, the API's reason and the fix."""

    def __init__(self, message, status=None, code=None):
        super(AzureOperationError, self).__init__(message)
        self.status = status
        self.code = code


FIXES = {
    401: "check the credential (client_id/secret/tenant, the managed or workload identity's client_id, or az login)",
    403: "grant the identity a role on the resource (Contributor, or Azure Kubernetes Service Contributor "
         "for clusters and Network Contributor for IP addresses)",
    404: "check the subscription, resource group and name",
    409: "another operation is running on it; wait and re-run",
    429: "Azure throttled the requests; re-run later",
}


# MSAL's message when the token endpoint answers a 5xx (azure-identity raises ClientAuthenticationError without a
# status for it, as for a refused credential)
ENTRA_SERVICE_ERROR = re.compile(r"HTTP Error: (5\d\d)\b")


def describe(exc, what):
    """An AzureOperationError for an exception raised by an SDK call about ``what``."""
    status = getattr(exc, "status_code", None)
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or getattr(exc, "message", None) or str(exc)
    kind = type(exc).__name__
    if kind == "ClientAuthenticationError" and status is None:
        entra = ENTRA_SERVICE_ERROR.search(str(message))
        if entra:  # MSAL's "Authentication failed: HTTP Error: 500": Entra failed, the credential was not refused
            return AzureOperationError(
                "%s: Microsoft Entra ID answered the token request with HTTP %s, a service error: the credential "
                "was not refused. Fix: re-run later (the Azure status page shows Entra ID incidents)"
                % (what, entra.group(1)), int(entra.group(1)), "EntraServiceError")
        return AzureOperationError("%s: authentication failed: %s. Fix: %s" % (what, _first_line(message), FIXES[401]),
                                   401, "AuthenticationFailed")
    if kind == "ServiceRequestError":
        return AzureOperationError("%s: cannot reach Azure Resource Manager: %s. Fix: check the network, proxy and "
                                   "resource_manager_endpoint" % (what, _first_line(message)), None, "Unreachable")
    text = "%s: %s%s%s" % (what, "HTTP %s " % status if status else "", "%s: " % code if code else "",
                           _first_line(message))
    fix = FIXES.get(status)
    return AzureOperationError(text + (". Fix: " + fix if fix else ""), status, code)


# What the SDK raises for a connection that failed or was dropped before an answer came (azure.core.exceptions)
CONNECTION_ERRORS = ("ServiceRequestError", "ServiceResponseError")
# statuses worth another try: throttled, or the service (or a gateway in front of it) briefly unable to answer
TRANSIENT_STATUSES = (408, 429, 500, 502, 503, 504)
RETRY_ATTEMPTS = 3
RETRY_AFTER_MAX = 60  # seconds: a longer Retry-After fails now, naming it, rather than hold the run


def transient(exc):
    """Why an SDK error is worth another try (a dropped connection, throttling, a 5xx answer), or None."""
    if any(cls.__name__ in CONNECTION_ERRORS for cls in type(exc).__mro__):
        return "the connection failed or was dropped (%s)" % (_first_line(getattr(exc, "message", None) or exc)
                                                              or type(exc).__name__)
    status = getattr(exc, "status_code", None)
    if status in TRANSIENT_STATUSES:
        return "HTTP %s" % status
    return None


def retry_after(exc, attempt):
    """Seconds to wait before the next try: the answer's Retry-After (delta-seconds), else 2, 4, 8 ...; None when
    Azure asks for more than RETRY_AFTER_MAX."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    try:
        asked = float(headers.get("Retry-After") or headers.get("retry-after") or "")
    except (TypeError, ValueError):
        return float(2 ** attempt)
    return max(asked, 0.0) if asked <= RETRY_AFTER_MAX else None


def retried(call, what, attempts=RETRY_ATTEMPTS, sleep=time.sleep, warn=None):
    """``call()``, again after a transient error (see ``transient``) up to ``attempts`` in all, waiting as
    ``retry_after`` says; ``warn(message)`` hears of each retry. Any other error, or the last, becomes
    ``describe(exc, what)``.

    For calls safe to repeat only: the SDK's own retry policy repeats neither a POST whose connection dropped
    (Azure may have acted on it) nor a throttled POST without Retry-After; a read such as
    listClusterUserCredential is safe to repeat."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:
            why = transient(exc)
            wait_s = retry_after(exc, attempt) if why else None
            if why is None or wait_s is None or attempt == attempts:
                err = describe(exc, what)
                if why and attempt > 1:
                    err = AzureOperationError("%s (after %d attempts)" % (err, attempt), err.status, err.code)
                raise err
            if warn:
                warn("%s: %s; trying again in %gs (attempt %d of %d)" % (what, why, wait_s, attempt + 1, attempts))
            sleep(wait_s)
    raise AssertionError("unreachable")


def _first_line(message):
    return str(message).strip().splitlines()[0].rstrip(".") if str(message).strip() else ""


def wait(poller, timeout, what, sleep=time.sleep, clock=time.monotonic):
    """Poll an LROPoller until done or ``timeout`` seconds; returns (result, progress list of statuses seen).

    Raises AzureOperationError naming the operation and its last status when the deadline passes, so a
    playbook never hangs on a slow Azure operation.
    """
    deadline = clock() + timeout
    progress = [poller.status()]
    while not poller.done():
        left = deadline - clock()
        if left <= 0:
            raise AzureOperationError("%s: still %s after %ss; Azure continues in the background. Fix: raise "
                                      "timeout, or re-run later (the module is idempotent)"
                                      % (what, poller.status(), timeout), None, "Timeout")
        poller.wait(min(left, 5))
        status = poller.status()
        if status != progress[-1]:
            progress.append(status)
    return poller.result(), progress


def run_lro(start, timeout, what):
    """Start a long-running operation (``start()`` returns its poller) and wait for it; any SDK error becomes
    an AzureOperationError naming ``what``. Returns (result, progress)."""
    try:
        return wait(start(), timeout, what)
    except AzureOperationError:
        raise
    except Exception as exc:
        raise describe(exc, what)


def run_module(module, runner):
    """exit_json with ``runner()``'s result; an AzureOperationError becomes fail_json with its message."""
    try:
        result = runner()
    except AzureOperationError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


def rest(model):
    """A model (new mapping-based or msrest) as a plain dict in the REST API's shape (camelCase, properties)."""
    if model is None:
        return None
    if hasattr(model, "serialize"):
        return model.serialize(keep_readonly=True)
    return model.as_dict()
