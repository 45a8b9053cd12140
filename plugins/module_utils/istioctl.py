# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running istioctl: argument building, IstioOperator files, and its exit-code contract."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile

ANALYZE_FOUND = 79  # istioctl analyze: messages at or above --failure-threshold


class IstioctlError(Exception):
    def __init__(self, message, rc=None, stdout="", stderr=""):
        super(IstioctlError, self).__init__(message)
        self.rc, self.stdout, self.stderr = rc, stdout, stderr


def find(module, path=None):
    """The istioctl binary: an explicit path, or PATH; fails the module with the fix when absent."""
    return find_tool(module, "istioctl", path, "install it with the aksmesh.istio.istioctl role")


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


def kube_args(params, context_flag="--context"):
    args = []
    kubeconfig = params.get("kubeconfig")
    if isinstance(kubeconfig, str) and kubeconfig:
        args += ["--kubeconfig", os.path.expanduser(kubeconfig)]
    if params.get("context"):
        args += [context_flag, params["context"]]
    return args


def write_operator(operator, directory):
    """An IstioOperator (dict) written as a private file for ``-f``; a path is passed through."""
    if isinstance(operator, str):
        return operator
    fd, path = tempfile.mkstemp(prefix="iop-", suffix=".yaml", dir=directory)
    with os.fdopen(fd, "w") as fh:
        json.dump(operator, fh)  # JSON is YAML
    return path


def run(module, argv, ok_codes=(0,), environ=None):
    rc, out, err = module.run_command(argv, environ_update=environ or {})
    if rc not in ok_codes:
        raise IstioctlError("%s failed with exit code %s: %s" % (" ".join(argv[:3]), rc, (err or out).strip()[-2000:]),
                            rc, out, err)
    return rc, out, err
