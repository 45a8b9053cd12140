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
import re

# a Go duration (time.ParseDuration, what helm --timeout and istioctl --readiness-timeout take): 5m0s, 300s, 1h30m
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|\u00b5s|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, u"\u00b5s": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


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


def duration_seconds(text):
    """Seconds of a Go duration such as ``5m0s``; ValueError (naming the value and the form) when it is none."""
    text = str(text).strip()
    if text == "0":
        return 0.0
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError("%r is not a duration: give a number with a unit, such as 300s, 5m0s or 1h30m" % text)
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def duration_problem(option, text):
    """None, or the message naming ``option`` when ``text`` is not a Go duration (checked before anything runs)."""
    try:
        duration_seconds(text)
    except ValueError as exc:
        return "%s %s" % (option, exc)
    return None


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
