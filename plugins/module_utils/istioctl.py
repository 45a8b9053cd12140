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


def owner_labels(operator, version, revision=None, component=None):
    """The labels ``istioctl install`` adds to every object it applies, which ``manifest generate`` output
    lacks (istio's getOwnerLabels): compare generated objects with the cluster only after adding them."""
    meta = (operator or {}).get("metadata") or {}
    values = ((operator or {}).get("spec") or {}).get("values") or {}
    labels = {"operator.istio.io/managed": "Reconcile", "operator.istio.io/version": version or "",
              "istio.io/rev": revision or values.get("revision") or "default"}
    if meta.get("name"):
        labels["install.operator.istio.io/owning-resource"] = meta["name"]
    if meta.get("namespace"):
        labels["install.operator.istio.io/owning-resource-namespace"] = meta["namespace"]
    if component:
        labels["operator.istio.io/component"] = component
    return labels


def label_as_installed(objs, operator, version, revision=None, installed_component=None):
    """``manifest generate`` objects with the labels ``istioctl install`` gives them (see owner_labels).

    Install labels each object with the component it rendered it for; generate output shows that label only
    where the chart sets it. ``installed_component(obj)`` names it for the rest (from the live object);
    otherwise it is Base (CRDs and the base chart's objects)."""
    for obj in objs:
        meta = obj.setdefault("metadata", {})
        labels = meta.get("labels") or {}
        component = labels.get("operator.istio.io/component") or (
            installed_component(obj) if installed_component else None) or "Base"
        labels.update(owner_labels(operator, version, revision, component))
        meta["labels"] = labels
    return objs


WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def webhook_identity(obj):
    """What of an Istio webhook configuration istioctl decides: its revision and where each webhook calls.
    The rest is Istio's runtime state: istiod writes caBundle and turns failurePolicy to Fail once it serves,
    and a revision tag (``istioctl tag``, which install runs for the default revision) deactivates the
    revision's own injector selectors. Comparing more would make every install look undone."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    hooks = sorted((w.get("name"), json.dumps((w.get("clientConfig") or {}).get("service") and dict(
        (k, v) for k, v in w["clientConfig"]["service"].items() if k != "port"), sort_keys=True))
        for w in obj.get("webhooks") or [])
    return labels.get("istio.io/rev"), hooks


def run(module, argv, ok_codes=(0,), environ=None):
    rc, out, err = module.run_command(argv, environ_update=environ or {})
    if rc not in ok_codes:
        raise IstioctlError("%s failed with exit code %s: %s" % (" ".join(argv[:3]), rc, (err or out).strip()[-2000:]),
                            rc, out, err)
    return rc, out, err
