# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""aksmesh.istio.ingress_info on the controller, around its module: in check mode it hands the run's plan to the
module (a Service whose namespace only the dry run has is planned, not missing)
(plugins/plugin_utils/_action_module.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.plugin_utils._action_module import PlannedActionModule


class ActionModule(PlannedActionModule):
    TAKES_PLANNED = True
    RETURNS_PLANNED = False  # its planned result says whether the Service is only planned
