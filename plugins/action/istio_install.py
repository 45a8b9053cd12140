# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""aksmesh.istio.istio_install on the controller, around its module: in check mode it adds the namespaces and Istio
CRD kinds the install would create to the run's plan; ``force_conflicts`` comes from ``aksmesh_reconcile`` when the
task does not give it, and the control plane's drift goes into the run's report
(plugins/plugin_utils/_action_module.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.plugin_utils._action_module import PlannedActionModule


class ActionModule(PlannedActionModule):
    TAKES_FORCE = True
    REPORTS = True
