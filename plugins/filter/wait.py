# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wait_limit filter: a module's own timeout -> the async limit of the task that runs it with progress."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.module_utils._cli import duration_seconds

# what a long task does besides its wait (download, render, apply, verify): the async limit is only a safety net
# for a task that hangs, the module's own timeout speaks first
MARGIN_SECONDS = 600


def wait_limit(timeout):
    if isinstance(timeout, bool) or timeout is None:
        raise AnsibleFilterError("wait_limit: expected seconds or a duration such as 5m0s, got %r" % (timeout,))
    if isinstance(timeout, (int, float)):
        seconds = float(timeout)
    else:
        text = str(timeout).strip()
        try:
            seconds = float(text) if text.isdigit() else duration_seconds(text)
        except ValueError as exc:
            raise AnsibleFilterError("wait_limit: %s" % exc)
    if seconds < 0:
        raise AnsibleFilterError("wait_limit: %r is negative" % (timeout,))
    return int(2 * seconds) + MARGIN_SECONDS


class FilterModule(object):
    def filters(self):
        return {"wait_limit": wait_limit}
