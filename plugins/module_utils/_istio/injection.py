# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Enrolment labels: sidecar injection (``istio-injection=enabled`` or ``istio.io/rev=<revision>``, never both), or
the ambient data plane (``istio.io/dataplane-mode=ambient``, never with an injection label).

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.names import SYSTEM_NAMESPACES

INJECTION = "istio-injection"
REVISION = "istio.io/rev"
DATAPLANE = "istio.io/dataplane-mode"
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
        return {INJECTION: None, REVISION: None, DATAPLANE: None}
    if mode == "ambient":
        return {INJECTION: None, REVISION: None, DATAPLANE: "ambient"}
    revision = entry.get("revision") or default_revision
    if revision and revision != "default":
        return {INJECTION: None, REVISION: revision, DATAPLANE: None}
    return {INJECTION: "enabled", REVISION: None, DATAPLANE: None}


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
