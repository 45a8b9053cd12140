# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""aksmesh.istio.run_start: the run's state facts of a host, empty, set as ``set_fact`` with ``cacheable`` sets them.

It is the first task of the settings role, so that the strategy loads this class in the ansible-playbook process
before any other task of the collection runs: importing plugin_utils._in_process there preloads the collection's
programs, the kubernetes client and its filter plugins once, and every worker forked after it finds them imported
instead of compiling them again (issue 27; the settings, pre-flight and render tasks before the first module of the
collection did, about a tenth of a render run's CPU)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase
# imported for its preload (above), in the process that loads this class
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _in_process  # noqa: F401 pylint: disable=unused-import
from ansible_collections.aksmesh.istio.plugins.plugin_utils._action_module import CHANGED_FACT, FACT, REPORT_FACT

# the facts the stages' action plugins add to, by the names they use (plugins/plugin_utils/_action_module.py)
EMPTY = (
    (FACT, dict),  # what a check-mode run would have created so far (namespaces, kinds)
    (REPORT_FACT, dict),  # drifted fields, missing and extra objects, per stage
    (CHANGED_FACT, list),  # the stages that changed something in the cluster
)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset()
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # unused: nothing goes to a target
        self.validate_argument_spec(argument_spec={})
        # cacheable, as set_fact's cacheable: true: a fact cache never hands an earlier run's state to this one
        result.update(changed=False, ansible_facts=dict((name, kind()) for name, kind in EMPTY),
                      _ansible_facts_cacheable=True)
        return result
