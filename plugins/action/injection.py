# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""aksmesh.istio.injection on the controller, around its module: in check mode it adds the namespaces it would create
to the run's plan, it takes force_conflicts from aksmesh_reconcile when the task does not say, and it adds the labels
that drifted to the run's report (plugins/plugin_utils/_action_module.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible_collections.aksmesh.istio.plugins.plugin_utils._action_module import PlannedActionModule


def namespaces_problem(namespaces):
    """None, or what is wrong with the shape of ``namespaces`` (a list of {name: ...} mappings): a bare name or a
    list of names would reach Ansible's check of the module's options as "dictionary requested, could not parse
    JSON or key=value"."""
    if namespaces is None:
        return None  # the module says it is required
    items = [namespaces] if isinstance(namespaces, (str, Mapping)) else namespaces
    if not isinstance(items, (list, tuple)):
        return "namespaces: expected a list of mappings such as [{name: shop}], got %s" % type(namespaces).__name__
    if isinstance(namespaces, str) or any(isinstance(item, str) for item in items):
        names = [item for item in items if isinstance(item, str)]
        return ("namespaces: expected a list of mappings, each with the namespace's name, got the name%s %s: write "
                "namespaces: [%s]" % ("s" if len(names) > 1 else "", ", ".join(repr(n) for n in names),
                                      ", ".join("{name: %s}" % n for n in names)))
    return None


class ActionModule(PlannedActionModule):
    TAKES_FORCE = True
    REPORTS = True

    def module_call(self, task_vars):
        problem = namespaces_problem(self._task.args.get("namespaces"))
        if problem:
            raise AnsibleActionFail(problem + "; nothing was labelled")
        return super(ActionModule, self).module_call(task_vars)
