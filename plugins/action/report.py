# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""aksmesh.istio.report: write a run's report file on the controller, in the worker's own process.

The report is output, not a change: written in check mode too, never reported as changed. It is written where
``ansible-playbook`` runs (the AWX execution environment), whatever the connection, as ``fetch`` writes its ``dest``:
no module process, which ``file`` and ``copy`` each cost on every run of site.yml (issue 27).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.action import ActionBase
from ansible_collections.aksmesh.istio.plugins.module_utils._files import atomic

ARGUMENT_SPEC = dict(
    dest=dict(type="path", required=True),
    content=dict(type="str", required=True),
)
FOLDER_MODE = 0o700  # a folder the action creates; an existing one keeps its mode
FILE_MODE = 0o600


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # unused: nothing goes to a target
        _checked, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        dest = args["dest"]
        if os.path.isdir(dest):
            raise AnsibleActionFail("dest: %s is a folder; name the report file (<report folder>/<host>.json)" % dest)
        content = to_text(args["content"])
        try:
            differs = atomic.needs_write(dest, content, FILE_MODE)[0]
            atomic.write(dest, content, mode=FILE_MODE, folder_mode=FOLDER_MODE)  # replaced at once, never wider
        except (IOError, OSError) as exc:
            raise AnsibleActionFail(
                "dest: cannot write the report %s: %s. Fix: set aksmesh_report_dir to a folder the user running "
                "ansible-playbook can write" % (dest, to_native(exc)))
        result.update(changed=False, dest=dest, rewritten=differs)
        return result
