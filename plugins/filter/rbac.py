# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ClusterRoles a run's identity needs (cluster_roles) and the permissions of the stages a run's tags select
(run_permissions): see plugins/plugin_utils/_permissions.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _permissions
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _stages as stages


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


def run_permissions(permissions, run_tags=None, skip_tags=None, skip_stages=None):
    """The entries of ``settings_mesh.permissions`` whose stage this run runs: selected by its tags, not skipped."""
    try:
        return [entry for entry in permissions if entry["stage"] not in (skip_stages or [])
                and stages.selected(stages.get(entry["stage"]), run_tags, skip_tags)]
    except (KeyError, TypeError, stages.StageError) as exc:
        raise AnsibleFilterError("run_permissions: give it settings_mesh.permissions (%s)" % exc)


class FilterModule(object):
    def filters(self):
        return {"cluster_roles": cluster_roles, "run_permissions": run_permissions}
