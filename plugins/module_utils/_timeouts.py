# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The integer timeouts of a module's options, in seconds (``LEAST``: the option names the collection's modules give
them), checked before the module does anything: none is negative, and those that bound a request or an operation
that is always started are at least 1 second.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# the least each may be: a request or an operation that always runs (request_timeout, timeout) would fail after it
# was sent with 0 seconds (urllib3 reads a timeout of 0 as non-blocking; a long-running Azure operation would be
# started, then reported as timed out); wait_timeout 0 waits for nothing
LEAST = {"request_timeout": 1, "timeout": 1, "wait_timeout": 0}


def problem(spec, params):
    """None, or the message naming the first integer timeout option of ``spec`` that ``params`` gives out of range."""
    for option in sorted(set(spec) & set(LEAST)):
        about = spec[option] or {}
        value = params.get(option)
        if about.get("type") != "int" or value is None:
            continue
        least = LEAST[option]
        if value < least:
            return ("%s %s: give the seconds to wait, %s (default %s); nothing was changed"
                    % (option, value, "at least %d" % least if least else "0 or more", about.get("default")))
    return None


def refuse_out_of_range(module):
    """Fail ``module`` (an AnsibleModule) naming an integer timeout option it was given out of range."""
    message = problem(module.argument_spec, module.params)
    if message:
        module.fail_json(msg=message)
