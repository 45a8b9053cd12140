# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way a Kubernetes module ends: with its result, or failing with a message that says what it was doing.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import K8sConnectionError
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.names import InvalidName
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError

API_FAILED = "Kubernetes API request failed"
UNREACHABLE_FIX = "Check kubeconfig/context, host, ca_cert and validate_certs."


def describe(exc, what=API_FAILED):
    """The failure message for a K8sApiError met while doing ``what``; an unreachable server is named with the
    options that lead to it."""
    if exc.status == 0 and exc.host:
        return "%s: cannot reach the Kubernetes API at %s: %s. %s" % (what, exc.host, exc.message, UNREACHABLE_FIX)
    return "%s: %s" % (what, exc)


def run(module, fn, what=API_FAILED, partial=None):
    """exit_json with ``fn()``'s result; a Kubernetes error becomes fail_json.

    ``what`` says what the module was doing (the message starts with it); ``partial()``, when given, returns the
    fields the result holds so far (the objects handled before the error), which the failure reports too.
    """
    try:
        result = fn()
    except (K8sConnectionError, InvalidName) as exc:
        module.fail_json(msg=str(exc), **(partial() if partial else {}))
    except K8sApiError as exc:
        module.fail_json(msg=describe(exc, what), exception=traceback.format_exc(), **(partial() if partial else {}))
    module.exit_json(**result)
