# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manual sidecar injection as ``istioctl kube-inject`` does it, with the injection template, values and mesh
config of a control-plane revision (its ConfigMaps, read from the cluster or from rendered objects).

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# the pod-template annotation the injector writes, and reads to leave an injected pod alone
STATUS = "sidecar.istio.io/status"
# kinds istioctl kube-inject injects (inject.IntoObject); it passes every other kind through unchanged
POD_TEMPLATE_KINDS = ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "CronJob",
                      "DeploymentConfig", "ReplicationController")


class InjectError(ValueError):
    """The injection inputs are missing or unusable; the message names the object and the fix."""


def configmap_names(revision):
    """(injector ConfigMap, mesh ConfigMap) of a revision, as istioctl and the charts name them."""
    suffix = "" if revision in (None, "", "default") else "-" + revision
    return "istio-sidecar-injector" + suffix, "istio" + suffix


def inputs(injector, mesh, namespace, revision):
    """{config, values, mesh}: the three files ``istioctl kube-inject`` takes, from the two ConfigMaps (dicts, or
    None when missing); InjectError names what is missing and the fix."""
    inj_name, mesh_name = configmap_names(revision)
    where = "revision %s" % (revision or "default")
    for name, cm, keys in ((inj_name, injector, ("config", "values")), (mesh_name, mesh, ("mesh",))):
        if cm is None:
            raise InjectError("ConfigMap %s/%s not found (%s): install that revision first, or name the revision "
                              "and Istio namespace the control plane runs with" % (namespace, name, where))
        missing = [k for k in keys if not ((cm.get("data") or {}).get(k) or "").strip()]
        if missing:
            raise InjectError("ConfigMap %s/%s has no %s: it is not an Istio injection ConfigMap of %s"
                              % (namespace, name, " or ".join(missing), where))
    return {"config": injector["data"]["config"], "values": injector["data"]["values"], "mesh": mesh["data"]["mesh"]}


def find_configmaps(objs, namespace, revision):
    """(injector, mesh) ConfigMaps among rendered objects (``istioctl manifest generate`` output), or None each."""
    wanted = configmap_names(revision)
    found = {}
    for obj in objs:
        meta = obj.get("metadata") or {}
        if obj.get("kind") == "ConfigMap" and meta.get("namespace", namespace) == namespace and \
                meta.get("name") in wanted:
            found[meta["name"]] = obj
    return found.get(wanted[0]), found.get(wanted[1])


def pod_template(obj):
    """The pod template's metadata of an injectable object, or None."""
    if obj.get("kind") not in POD_TEMPLATE_KINDS:
        return None
    spec = obj.get("spec") or {}
    if obj["kind"] == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return (spec.get("template") or {}).get("metadata") or {}


def injected_revision(obj):
    """The revision recorded in the pod template's injection status, "" when injected without one, None when the
    object is not injected (or has no pod template)."""
    meta = pod_template(obj)
    status = ((meta or {}).get("annotations") or {}).get(STATUS)
    if status is None:
        return None
    try:
        return json.loads(status).get("revision") or ""
    except (ValueError, AttributeError):
        return ""


def outcome(before, after):
    """Per object of the input and its injected form: {injected, already_injected, not_injected} (lists of
    ``Kind namespace/name``)."""
    out = {"injected": [], "already_injected": [], "not_injected": []}
    for old, new in zip(before, after):
        ref = _ref(old)
        if injected_revision(old) is not None:
            out["already_injected"].append(ref)
        elif injected_revision(new) is not None:
            out["injected"].append(ref)
        else:
            out["not_injected"].append(ref)
    return out


def _ref(obj):
    meta = obj.get("metadata") or {}
    return "%s %s" % (obj.get("kind"), "/".join(x for x in (meta.get("namespace"), meta.get("name")) if x))


def _opts_out(meta):
    """Whether a pod template opts out of injection (sidecar.istio.io/inject false, as label or annotation)."""
    for where in ("labels", "annotations"):
        if str(((meta or {}).get(where) or {}).get("sidecar.istio.io/inject", "")).lower() == "false":
            return True
    return False


def pending(objs):
    """What injection would do once the revision's template is there (a check-mode run whose control plane is only
    planned): {injected: [], already_injected, not_injected, pending}, ``pending`` the objects that would get the
    sidecar (lists of ``Kind namespace/name``)."""
    out = {"injected": [], "already_injected": [], "not_injected": [], "pending": []}
    for obj in objs:
        meta = pod_template(obj)
        if injected_revision(obj) is not None:
            out["already_injected"].append(_ref(obj))
        elif meta is None or _opts_out(meta):
            out["not_injected"].append(_ref(obj))
        else:
            out["pending"].append(_ref(obj))
    return out
