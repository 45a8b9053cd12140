# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stage registry's filters: the stage a role runs (role_stage), its label on built objects (stage_labels), and
what site.yml and cleanup.yml loop over (stage_loop).

See plugins/plugin_utils/_stages.py: the registry is the one place a stage is named.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import stamp
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _stages as stages


def role_stage(roles):
    """The stage the role runs (a role name, short or fully qualified, or a list of them whose first counts, as
    ``ansible_parent_role_names`` holds them); "" when it runs none."""
    if isinstance(roles, (list, tuple)):
        roles = roles[0] if roles else ""
    stage = stages.of_role(roles)
    return stage.name if stage else ""


def stage_labels(objects, stage):
    """``objects`` with the label of ``stage`` (a stage of the registry) where a builder left it empty."""
    try:
        name = stages.get(stage).name
    except stages.StageError as exc:
        raise AnsibleFilterError("stage_labels: %s" % exc)
    if not isinstance(objects, list):
        raise AnsibleFilterError("stage_labels: expected a list of objects, got %s" % type(objects).__name__)
    return stamp(objects, name)


def stage_loop(entry, hosts_stages=None):
    try:
        return stages.loop(entry, hosts_stages)
    except stages.StageError as exc:
        raise AnsibleFilterError("stage_loop: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"role_stage": role_stage, "stage_labels": stage_labels, "stage_loop": stage_loop}
