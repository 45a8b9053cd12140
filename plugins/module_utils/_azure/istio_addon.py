# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The managed AKS Istio add-on: the serviceMeshProfile we want, and whether a revision change is allowed.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import ADDON_NAMESPACE
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.support import minor_of

GATEWAY_MODES = (("external_ingress_gateway", "External"), ("internal_ingress_gateway", "Internal"))


def current_revisions(profile):
    profile = profile or {}
    if profile.get("mode") != "Istio":
        return []
    return list((profile.get("istio") or {}).get("revisions") or [])


def available_revisions(revision_profiles, kubernetes_version):
    """Revisions offered in the region that support the cluster's Kubernetes minor (sorted)."""
    kube = minor_of(kubernetes_version)
    out = []
    for profile in revision_profiles:
        for rev in ((profile.get("properties") or {}).get("meshRevisions") or []):
            versions = [v for c in rev.get("compatibleWith") or [] if c.get("name") == "kubernetes"
                        for v in c.get("versions") or []]
            if not versions or kube in [minor_of(v) for v in versions]:
                out.append(rev["revision"])
    return sorted(set(out), key=lambda r: minor_of(r) or (0, 0))


def plan(current, wanted, available, upgrades):
    """(action, error) for moving the add-on from ``current`` to ``wanted`` revisions.

    Actions: unchanged, enable, upgrade_start (canary: a second revision next to the first),
    upgrade_complete (keep the new one), rollback (keep the old one), disable.
    """
    current, wanted = list(current), list(wanted)
    if sorted(current) == sorted(wanted):
        return "unchanged", None
    if not wanted:
        return "disable", None
    if len(wanted) > 2:
        return None, "at most two revisions can run side by side (an upgrade canary); got %s" % wanted
    if not current:
        if len(wanted) != 1:
            return None, "enable the add-on with one revision, then upgrade by adding a second"
        if wanted[0] not in available:
            return None, ("revision %s is not available for this cluster's region and Kubernetes version; "
                          "available: %s" % (wanted[0], ", ".join(available) or "none"))
        return "enable", None
    if len(current) == 1 and len(wanted) == 2 and current[0] in wanted:
        new = [r for r in wanted if r != current[0]][0]
        if new not in upgrades:
            return None, ("%s cannot be upgraded to %s; upgrades offered: %s"
                          % (current[0], new, ", ".join(upgrades) or "none"))
        return "upgrade_start", None
    if len(current) == 2 and len(wanted) == 1 and wanted[0] in current:
        newest = max(current, key=lambda r: minor_of(r) or (0, 0))
        return ("upgrade_complete" if wanted[0] == newest else "rollback"), None
    if len(current) == 1 and len(wanted) == 1:
        return None, ("the add-on upgrades by canary: first revisions: [%s, %s], move workloads, then "
                      "revisions: [%s] to complete (or [%s] to roll back)"
                      % (current[0], wanted[0], wanted[0], current[0]))
    return None, "cannot go from revisions %s to %s in one step" % (current, wanted)


def desired_profile(current, wanted_revisions, gateways):
    """The serviceMeshProfile (REST shape) for ``wanted_revisions``; gateway flags None keep what is there."""
    if not wanted_revisions:
        return {"mode": "Disabled"}
    profile = copy.deepcopy(current or {})
    if profile.get("mode") != "Istio":
        profile = {"mode": "Istio", "istio": {}}
    istio = profile.setdefault("istio", {}) or {}
    profile["istio"] = istio
    istio["revisions"] = list(wanted_revisions)
    components = istio.setdefault("components", {}) or {}
    istio["components"] = components
    existing = dict((g.get("mode"), g) for g in components.get("ingressGateways") or [])
    for option, mode in GATEWAY_MODES:
        enabled = gateways.get(option)
        if enabled is None:
            continue
        if enabled or mode in existing:
            existing[mode] = dict(existing.get(mode) or {}, mode=mode, enabled=bool(enabled))
    if existing:
        components["ingressGateways"] = [existing[m] for m in ("External", "Internal") if m in existing]
    elif not components:
        istio.pop("components")
    return profile


def comparable(profile):
    """A profile reduced to what we manage, for equality (gateways sorted, disabled mode bare)."""
    profile = profile or {"mode": "Disabled"}
    if profile.get("mode") != "Istio":
        return {"mode": "Disabled"}
    istio = profile.get("istio") or {}
    gws = sorted(((g.get("mode"), bool(g.get("enabled"))) for g in (istio.get("components") or {})
                  .get("ingressGateways") or []))
    return {"mode": "Istio", "revisions": sorted(istio.get("revisions") or []), "gateways": gws}


def self_managed(deployments):
    """istiod Deployments that the add-on did not create (any namespace but aks-istio-system)."""
    return sorted("%s/%s" % (d["metadata"].get("namespace"), d["metadata"]["name"]) for d in deployments
                  if d["metadata"].get("namespace") != ADDON_NAMESPACE)
