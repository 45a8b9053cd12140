# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sidecar injection labels: ``istio-injection=enabled`` or ``istio.io/rev=<revision>``, never both.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

INJECTION = "istio-injection"
REVISION = "istio.io/rev"


def desired_labels(entry, default_revision=None):
    """{label: value or None (remove)} for one namespace entry {name, revision, state}.

    ``default_revision`` applies to entries that name no revision: the control plane's revision, or the AKS
    add-on's ``asm-x-y`` (the add-on ignores ``istio-injection=enabled``).
    """
    if entry.get("state", "present") == "absent":
        return {INJECTION: None, REVISION: None}
    revision = entry.get("revision") or default_revision
    if revision and revision != "default":
        return {INJECTION: None, REVISION: revision}
    return {INJECTION: "enabled", REVISION: None}


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


def labelled_namespaces(namespaces, revision):
    """Namespace objects carrying the injection labels (render mode: what the injection module would set) for the
    ``namespaces`` entries {name, revision, state}; ``revision`` applies to the entries that name none."""
    from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import obj
    out = []
    for entry in namespaces or []:
        if entry.get("state", "present") == "absent":
            continue
        labels = dict((k, v) for k, v in desired_labels(entry, revision).items() if v is not None)
        out.append(obj("v1", "Namespace", entry["name"], None, extra_labels=labels))
    return out
