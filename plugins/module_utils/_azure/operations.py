# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure SDK errors as actionable messages, and long-running operations polled with a deadline.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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


def describe(exc, what):
    """An AzureOperationError for an exception raised by an SDK call about ``what``."""
    status = getattr(exc, "status_code", None)
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or getattr(exc, "message", None) or str(exc)
    kind = type(exc).__name__
    if kind == "ClientAuthenticationError" and status is None:
        return AzureOperationError("%s: authentication failed: %s. Fix: %s" % (what, _first_line(message), FIXES[401]),
                                   401, "AuthenticationFailed")
    if kind == "ServiceRequestError":
        return AzureOperationError("%s: cannot reach Azure Resource Manager: %s. Fix: check the network, proxy and "
                                   "resource_manager_endpoint" % (what, _first_line(message)), None, "Unreachable")
    text = "%s: %s%s%s" % (what, "HTTP %s " % status if status else "", "%s: " % code if code else "",
                           _first_line(message))
    fix = FIXES.get(status)
    return AzureOperationError(text + (". Fix: " + fix if fix else ""), status, code)


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
