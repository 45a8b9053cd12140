# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: one JSON line per task result to $AKSMESH_RESULT_LOG (censored as Ansible shows it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: aksmesh_results
type: aggregate
short_description: Write task results as JSON lines for the test suite
description: Writes each task result, as the default callback would show it, to the file in E(AKSMESH_RESULT_LOG).
requirements: [enable in configuration]
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "aksmesh_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._started = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = time.time()

    def _write(self, result, status):
        path = os.environ.get("AKSMESH_RESULT_LOG")
        if not path:
            return
        res = self._clean_results(dict(result._result), result._task.action) or result._result
        entry = {"task": result._task.get_name(), "action": result._task.action, "host": result._host.get_name(),
                 "status": status, "result": res,
                 "seconds": time.time() - self._started.get(result._task._uuid, time.time())}
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._write(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._write(result, "skipped")
