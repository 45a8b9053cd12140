# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""aksmesh.istio.kube_inject on the controller, around its module: in check mode it hands the run's plan to the
module (a revision whose control plane an earlier task would install is pending, not missing)
(plugins/plugin_utils/_action_module.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.plugin_utils._action_module import PlannedActionModule


class ActionModule(PlannedActionModule):
    TAKES_PLANNED = True
    RETURNS_PLANNED = False  # it creates nothing: its objects go to the next task
