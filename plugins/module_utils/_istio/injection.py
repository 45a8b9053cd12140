# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Enrolment labels: sidecar injection (``istio-injection=enabled`` or ``istio.io/rev=<revision>``, never both), or
the ambient data plane (``istio.io/dataplane-mode=ambient``, never with an injection label).

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import ownership
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.names import SYSTEM_NAMESPACES

INJECTION = "istio-injection"
REVISION = "istio.io/rev"
DATAPLANE = "istio.io/dataplane-mode"
# the ambient namespace's waypoint: the namespace's traffic goes through the Gateway of this name (istioctl waypoint
# apply's default name), of class istio-waypoint, which istiod deploys
USE_WAYPOINT = "istio.io/use-waypoint"
WAYPOINT = "waypoint"
MODES = ("sidecar", "ambient")
# the cluster's own namespaces: never labelled for injection (default is the user's to choose)
KUBE_SYSTEM = tuple(n for n in SYSTEM_NAMESPACES if n != "default")


def desired_labels(entry, default_revision=None, mode="sidecar"):
    """{label: value or None (remove)} for one namespace entry {name, revision, state}.

    ``default_revision`` applies to entries that name no revision: the control plane's revision, or the AKS
    add-on's ``asm-x-y`` (the add-on ignores ``istio-injection=enabled``). ``mode`` ``ambient`` enrols the namespace
    in the ambient data plane and takes any injection label off: one data plane per namespace (mesh_lint AKM0013);
    ``sidecar`` takes an ambient label off.
    """
    if entry.get("state", "present") == "absent":
        return {INJECTION: None, REVISION: None, DATAPLANE: None, USE_WAYPOINT: None}
    if mode == "ambient":
        return {INJECTION: None, REVISION: None, DATAPLANE: "ambient",
                USE_WAYPOINT: WAYPOINT if entry.get("waypoint") else None}
    revision = entry.get("revision") or default_revision
    if revision and revision != "default":
        return {INJECTION: None, REVISION: revision, DATAPLANE: None, USE_WAYPOINT: None}
    return {INJECTION: "enabled", REVISION: None, DATAPLANE: None, USE_WAYPOINT: None}


def waypoint_problems(namespaces, mode):
    """[(index, why)] of the entries that ask for a waypoint the data plane cannot have (sidecar mode)."""
    return [(i, "waypoint is for the ambient data plane (aksmesh_dataplane_mode: ambient); a sidecar proxies L7 "
                "itself: remove waypoint") for i, entry in enumerate(namespaces or [])
            if entry.get("waypoint") and entry.get("state", "present") == "present" and mode != "ambient"]


def waypoints(namespaces, revision, dataplane_mode):
    """The waypoints of the ambient ``namespaces`` entries: with ``waypoint``, the namespace's, a ``Gateway``
    ``waypoint``; each of ``service_waypoints``, a ``Gateway`` of its name for the Services it lists (the injection
    module labels them). Each of class ``istio-waypoint`` in the namespace (what ``istioctl waypoint apply`` writes:
    the HBONE listener on 15008, for Services), labelled for ``revision``'s istiod when there is one; istiod deploys
    them. An entry asking for one in sidecar mode, or a Service waypoint that cannot be, is refused by name."""
    from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError, obj
    from ansible_collections.aksmesh.istio.plugins.module_utils._istio.service_waypoints import problems
    for i, why in waypoint_problems(namespaces, dataplane_mode):
        raise MeshConfigError("namespaces", "%s: %s" % (namespaces[i]["name"], why), path="[%d].waypoint" % i)
    for path, why in problems(namespaces, dataplane_mode):
        raise MeshConfigError("namespaces", why, path=path)
    labels = {"istio.io/waypoint-for": "service"}
    if revision and revision != "default":
        labels[REVISION] = revision
    out = []
    for entry in namespaces or []:
        if entry.get("state", "present") == "absent":
            continue
        names = ([WAYPOINT] if entry.get("waypoint") else []) + [
            w["name"] for w in entry.get("service_waypoints") or []]
        out.extend(obj("gateway.networking.k8s.io/v1", "Gateway", name, entry["name"], {
            "gatewayClassName": "istio-waypoint",
            "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]}, extra_labels=dict(labels))
            for name in names)
    return out


def label_drift(live, want, manager):
    """The labels of ``want`` ({key: value or None}) on ``live`` (a namespace, a Service) that a field manager other
    than ``manager`` changed since: [{path, desired, live, managers}] (a label we would remove, or one nobody holds,
    is no drift: a first run finds the user's labels)."""
    current = ((live.get("metadata") or {}).get("labels")) or {}
    out = []
    for key, desired in sorted(want.items()):
        if desired is None or current.get(key) is None or current.get(key) == desired:
            continue
        path = (("f", "metadata"), ("f", "labels"), ("f", key))
        managers = ownership.others(ownership.managers_of(live, path), manager)
        if managers:
            out.append({"path": ownership.path_text(path), "desired": desired, "live": current[key],
                        "managers": managers})
    return out


def label_patch(current, desired):
    """A JSON merge patch for metadata.labels, or None when the labels already match."""
    current = current or {}
    patch = {}
    for key, value in desired.items():
        if value is None and key in current:
            patch[key] = None
        elif value is not None and current.get(key) != value:
            patch[key] = value
    return {"metadata": {"labels": patch}} if patch else None


def refused(entry, istio_namespace):
    """Why the namespace ``entry`` {name, state} may not be labelled for injection, or "": the cluster's own
    namespaces and the control plane's (``istio_namespace``) get no sidecars."""
    if entry.get("state", "present") == "absent":
        return ""
    if entry.get("name") in KUBE_SYSTEM:
        return "a namespace of the cluster itself gets no sidecar injection (its pods start before the mesh and run it)"
    if istio_namespace and entry.get("name") == istio_namespace:
        return ("the control plane's namespace gets no sidecar injection (istiod and the mesh's own workloads run "
                "there without sidecars)")
    return ""


def labelled_namespaces(namespaces, revision, istio_namespace, dataplane_mode="sidecar"):
    """Namespace objects carrying the enrolment labels (render mode: what the injection module would set) for the
    ``namespaces`` entries {name, revision, state}; ``revision`` applies to the entries that name none;
    ``dataplane_mode`` ``ambient`` labels them for the ambient data plane instead. The cluster's own namespaces and
    the control plane's (``istio_namespace``) are refused."""
    from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError, obj
    out = []
    for i, entry in enumerate(namespaces or []):
        why = refused(entry, istio_namespace)
        if why:
            raise MeshConfigError("namespaces", "%s: %s; take it out of O(namespaces)" % (entry["name"], why),
                                  path="[%d].name" % i)
        if entry.get("state", "present") == "absent":
            continue
        labels = dict((k, v) for k, v in desired_labels(entry, revision, dataplane_mode).items() if v is not None)
        out.append(obj("v1", "Namespace", entry["name"], None, extra_labels=labels))
    return out
