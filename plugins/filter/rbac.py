# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ClusterRoles a run's identity needs (cluster_roles): see plugins/plugin_utils/_permissions.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _permissions


def cluster_roles(settings, subjects=None, verify_subjects=None, skip_stages=None):
    try:
        method = settings["control_plane"]["name"]
        running = [name for name, row in settings["stages"].items() if row["enabled"] and name not in (skip_stages or [])]
    except (KeyError, TypeError):
        raise AnsibleFilterError("cluster_roles: give it settings_mesh (the settings role's fact)")
    try:
        return _permissions.rbac_list(method, running, subjects, verify_subjects)
    except _permissions.SubjectError as exc:
        raise AnsibleFilterError("cluster_roles: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"cluster_roles": cluster_roles}
