# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""aksmesh.istio.gateway_api_crds on the controller: its program runs here when the task would run the module in the
controller's Python anyway (plugins/plugin_utils/_in_process.py), the module otherwise. It reads only: no plan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.plugin_utils._action_module import UnplannedActionModule


class ActionModule(UnplannedActionModule):
    pass
