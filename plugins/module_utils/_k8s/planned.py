# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the earlier tasks of a check-mode run would have created: namespaces and custom resource kinds.

A dry run persists nothing, so on a fresh cluster the install's namespaces and CRDs are not there when the next
task dry-runs its objects into them, and the API server refuses (``namespaces "istio-system" not found``, no such
kind). Each module that would create them returns them as ``planned`` in check mode; the next modules accept the
same mapping and report objects that go into a planned namespace, or are of a planned kind, as "would create"
instead of failing.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

PLANNED_ARG_SPEC = dict(
    planned=dict(type="dict", options=dict(
        namespaces=dict(type="list", elements="str", default=[]),
        kinds=dict(type="list", elements="str", default=[]),
    )),
)

# The groups of the kinds a control plane installs with its CRDs (the managed add-on does not say which).
ISTIO_GROUPS = ("extensions.istio.io", "networking.istio.io", "security.istio.io", "telemetry.istio.io")


def group_of(api_version):
    return api_version.rpartition("/")[0]


class Planned(object):
    """Namespaces and kinds (``<group>/<Kind>``, or ``<group>/*`` for every kind of a group) a check-mode run has
    planned so far."""

    def __init__(self, namespaces=(), kinds=()):
        self.namespaces = set(namespaces or ())
        self.kinds = set(kinds or ())

    @classmethod
    def from_params(cls, params):
        given = params.get("planned") or {}
        return cls(given.get("namespaces"), given.get("kinds"))

    def has_namespace(self, name):
        return name in self.namespaces

    def has_kind(self, api_version, kind):
        group = group_of(api_version)
        return "%s/%s" % (group, kind) in self.kinds or "%s/*" % group in self.kinds

    def add_namespace(self, name):
        if name:
            self.namespaces.add(name)

    def add_crd(self, crd):
        spec = crd.get("spec") or {}
        group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
        if group and kind:
            self.kinds.add("%s/%s" % (group, kind))

    def add_groups(self, groups):
        self.kinds.update("%s/*" % g for g in groups)

    def add_missing(self, pairs):
        """(object, live) pairs a dry run compared: the Namespaces and CRDs without a live object are planned."""
        for obj, live in pairs:
            if live is None and obj["kind"] == "Namespace":
                self.add_namespace(obj["metadata"]["name"])
            elif live is None and obj["kind"] == "CustomResourceDefinition":
                self.add_crd(obj)

    def result(self):
        return {"namespaces": sorted(self.namespaces), "kinds": sorted(self.kinds)}


def changes(differ):
    """(object, live) pairs that differ from the cluster, as the ``manifest_changes`` entries modules return."""
    return [dict(apiVersion=obj["apiVersion"], kind=obj["kind"], namespace=obj["metadata"].get("namespace"),
                 name=obj["metadata"]["name"], action="configure" if live else "create") for obj, live in differ]
