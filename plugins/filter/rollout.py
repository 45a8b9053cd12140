# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout_restart filter: workloads (cluster_info) -> apply patches that restart them for a revision."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.inventory import restart_patches


def rollout_restart(workloads, revision, at):
    if not isinstance(workloads, list) or not all(isinstance(w, dict) for w in workloads):
        raise AnsibleFilterError("rollout_restart: expected the workloads list cluster_info returns, got %s"
                                 % type(workloads).__name__)
    if not revision or not at:
        raise AnsibleFilterError("rollout_restart: give the revision and the restart time (RFC 3339), for example "
                                 "rollout_restart('1-30-0', now(utc=true).strftime('%Y-%m-%dT%H:%M:%SZ'))")
    return restart_patches(workloads, str(revision), str(at))


class FilterModule(object):
    def filters(self):
        return {"rollout_restart": rollout_restart}
