# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Standard attributes of a module that only reads.
    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Changes nothing.
"""

    # A module whose action plugin keeps the run's check-mode plan (plugins/plugin_utils/_action_module.py).
    ACTION = r"""
attributes:
  action:
    support: full
    description: An action plugin on the controller runs the module; in check mode it hands on what the earlier tasks
      of the run would have created (the host fact C(settings_planned)) and what this one would.
  async:
    support: full
    description: Runs with the C(async) keyword (progress lines with C(poll)); in check mode, run it without, as the
      plan of an async task cannot be kept.
"""

    # A module whose action plugin may run its program in the controller (plugins/plugin_utils/_in_process.py).
    IN_PROCESS = r"""
attributes:
  in_process:
    support: full
    description: On the local connection, in the controller's own Python (what site.yml uses), without become, a task
      C(environment) or C(async), the action plugin runs the module's program itself instead of starting a module
      process - the same argument checks, messages, results, no-log masking, check mode and diff. Anywhere else the
      module runs as a module process; C(AKSMESH_MODULE_PROCESS=1) in the controller's environment makes every task
      run it that way.
"""

    # A module whose action plugin runs its program in the controller and keeps no plan (reads, downloads, renders),
    # beside IN_PROCESS
    IN_PROCESS_ACTION = r"""
attributes:
  action:
    support: full
    description: An action plugin on the controller runs the module (see the in_process attribute).
"""

    # An action plugin with no module behind it (report, run_start): it does its work in the task's worker
    CONTROLLER = r"""
attributes:
  action:
    support: full
    description: Runs on the controller, in the task's worker; no module is sent to a target.
  async:
    support: none
    description: Done in the task's worker at once; there is nothing to wait for.
"""
