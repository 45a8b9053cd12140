# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running a command-line tool (istioctl, helm): finding its binary and running it with its output captured (the
Kubernetes connection is handed to it by _k8s.tool_kubeconfig).

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os


class CommandError(Exception):
    """A tool exited with a code outside its contract; ``detail`` is the end of what it printed."""

    def __init__(self, message, rc=None, stdout="", stderr="", command=None):
        super(CommandError, self).__init__(message)
        self.rc, self.stdout, self.stderr, self.command = rc, stdout, stderr, command

    @property
    def detail(self):
        return _tail(self.stdout, self.stderr)


def find_tool(module, name, path, hint):
    """A command-line tool: an explicit ``path``, or PATH; fails the module naming the fix when absent."""
    if path:
        if not os.access(path, os.X_OK):
            module.fail_json(msg="%s_path %s is not an executable file; %s" % (name, path, hint))
        return path
    found = module.get_bin_path(name)
    if not found:
        module.fail_json(msg="%s is not on PATH; %s or set %s_path" % (name, hint, name))
    return found


def run(module, argv, ok_codes=(0,), environ=None, data=None):
    """(rc, stdout, stderr) of ``argv``; CommandError when the exit code is not in ``ok_codes``.

    ``data`` goes to the tool's standard input (with a final newline)."""
    rc, out, err = module.run_command(argv, environ_update=environ or {}, data=data, binary_data=data is None)
    if rc not in ok_codes:
        raise CommandError("%s failed with exit code %s: %s" % (" ".join(argv[:3]), rc, _tail(out, err)), rc, out, err,
                           list(argv))
    return rc, out, err


def _tail(out, err):
    return (err or out or "").strip()[-2000:]
