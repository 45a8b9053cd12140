# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The managed AKS Istio add-on: the serviceMeshProfile we want, and whether a revision change is allowed.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import obj
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import (
    ADDON_EGRESS_NAMESPACE, ADDON_INGRESS_NAMESPACE, ADDON_NAMESPACE, addon_egress_gateway)
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.support import minor_of

GATEWAY_MODES = (("external_ingress_gateway", "External"), ("internal_ingress_gateway", "Internal"))
EGRESS_NAMESPACE = ADDON_EGRESS_NAMESPACE
# the first azure-mgmt-containerservice whose models carry the egress gateways' name, namespace and
# gatewayConfigurationName (API version 2025-09-01); older ones would leave them out of the update
EGRESS_SDK_MINIMUM = "40.1.0"
# option -> serviceMeshProfile.istio.certificateAuthority.plugin field
CA_FIELDS = (("key_vault_id", "keyVaultId"), ("root_cert_object_name", "rootCertObjectName"),
             ("cert_chain_object_name", "certChainObjectName"), ("cert_object_name", "certObjectName"),
             ("key_object_name", "keyObjectName"))
_VAULT_NAME = r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]"
KEY_VAULT_NAME = re.compile(r"^%s$" % _VAULT_NAME)
KEY_VAULT_ID = re.compile(r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]{1,90}/providers/"
                          r"Microsoft\.KeyVault/vaults/%s$" % _VAULT_NAME, re.IGNORECASE)
KEY_VAULT_OBJECT = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
MAX_EGRESS_GATEWAYS = 500


# the add-on's Gateway API support (AKS: istio-gateway-api): revision asm-1-26 or later, on a cluster whose managed
# Gateway API CRDs are installed (ingressProfile.gatewayAPI.installation: Standard)
GATEWAY_API_FLOOR = (1, 26)


def revision_minor(revision):
    """(major, minor) of an add-on revision such as asm-1-28, or None."""
    parts = (revision or "").split("-")
    if len(parts) == 3 and parts[0] == "asm" and parts[1].isdigit() and parts[2].isdigit():
        return int(parts[1]), int(parts[2])
    return None


def gateway_api_problems(cluster_body, revisions):
    """What keeps the add-on from serving a Kubernetes Gateway API ingress on the cluster (REST body), with
    ``revisions`` running: [] when nothing does."""
    out = []
    low = [r for r in revisions or [] if (revision_minor(r) or (0, 0)) < GATEWAY_API_FLOOR]
    if low:
        out.append("the add-on's Gateway API support needs revision asm-%d-%d or later, and %s %s older: upgrade "
                   "the add-on (upgrade.yml), or keep aksmesh_ingress_api: istio"
                   % (GATEWAY_API_FLOOR + (", ".join(low), "is" if len(low) == 1 else "are")))
    profile = ((cluster_body.get("properties") or {}).get("ingressProfile") or {}).get("gatewayAPI") or {}
    installation = profile.get("installation") or "Disabled"
    if installation != "Standard":
        out.append("the cluster's managed Gateway API CRDs are not installed (ingressProfile.gatewayAPI.installation "
                   "is %s), and the add-on's Gateway API support needs them: az aks update --resource-group <group> "
                   "--name <cluster> --enable-gateway-api, or keep aksmesh_ingress_api: istio" % installation)
    return out


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


def plugin_ca(ca):
    """(certificateAuthority.plugin in REST shape, error) from the module's ``certificate_authority`` option."""
    for option, _field in CA_FIELDS:
        if not ca.get(option):
            return None, "certificate_authority.%s is missing: the plug-in CA needs all of %s" % (
                option, ", ".join(o for o, _f in CA_FIELDS))
    if not KEY_VAULT_ID.match(ca["key_vault_id"]):
        return None, ("certificate_authority.key_vault_id %r is not a Key Vault resource ID (/subscriptions/<id>/"
                      "resourceGroups/<group>/providers/Microsoft.KeyVault/vaults/<name>)" % ca["key_vault_id"])
    for option, _field in CA_FIELDS[1:]:
        if not KEY_VAULT_OBJECT.match(ca[option]):
            return None, ("certificate_authority.%s %r is not a Key Vault object name (letters, digits and '-', "
                          "at most 127)" % (option, ca[option]))
    return dict((field, ca[option]) for option, field in CA_FIELDS), None


def egress_gateways(gateways):
    """(components.egressGateways in REST shape, error) from the module's ``egress_gateways`` option."""
    if len(gateways) > MAX_EGRESS_GATEWAYS:
        return None, "at most %d egress gateways per cluster; got %d" % (MAX_EGRESS_GATEWAYS, len(gateways))
    out, seen = [], set()
    for gw in gateways:
        name, namespace = gw.get("name") or "", gw.get("namespace") or EGRESS_NAMESPACE
        # the add-on's rule for egress gateway names (AKS documentation, istio-deploy-egress): 1-53 characters
        if not (0 < len(name) <= 53 and names.DNS1123_SUBDOMAIN.match(name)):
            return None, ("egress_gateways name %r: 1 to 53 lower-case letters, digits, '-' and '.', starting and "
                          "ending with a letter or digit" % name)
        if names.problem("Namespace", namespace):
            return None, "egress_gateways %s: namespace %r is not a namespace name" % (name, namespace)
        if (namespace, name) in seen:
            return None, "egress_gateways %s/%s is given twice: names are unique per namespace" % (namespace, name)
        seen.add((namespace, name))
        enabled = gw.get("enabled", True) is not False
        entry = {"enabled": enabled, "name": name, "namespace": namespace}
        config = gw.get("gateway_configuration_name")
        if enabled and not config:
            return None, ("egress_gateways %s/%s needs gateway_configuration_name: the StaticGatewayConfiguration "
                          "in %s that gives the gateway its fixed egress IPs" % (namespace, name, namespace))
        if config:
            if names.problem("StaticGatewayConfiguration", config, "egressgateway.kubernetes.azure.com"):
                return None, "egress_gateways %s/%s: gateway_configuration_name %r is not an object name" % (
                    namespace, name, config)
            entry["gatewayConfigurationName"] = config
        out.append(entry)
    return out, None


def prerequisites(cluster, ca, egress):
    """Errors naming the fix when the managed cluster (REST shape) lacks what a plug-in CA or an enabled egress
    gateway needs: the Key Vault secrets provider add-on; the Static Egress Gateway feature and a Gateway pool."""
    props = cluster.get("properties") or {}
    errors = []
    if ca:
        addons = dict((k.lower(), v) for k, v in (props.get("addonProfiles") or {}).items())
        if not (addons.get("azurekeyvaultsecretsprovider") or {}).get("enabled"):
            errors.append("the plug-in CA is read from Key Vault by the Azure Key Vault secrets provider, which is "
                          "off: enable it (az aks enable-addons --addons azure-keyvault-secrets-provider) and let "
                          "its identity read the vault's secrets")
    if any(gw["enabled"] for gw in egress or []):
        network = props.get("networkProfile") or {}
        if not (network.get("staticEgressGatewayProfile") or {}).get("enabled"):
            errors.append("add-on egress gateways build on the Static Egress Gateway feature, which is off: enable "
                          "it (az aks update --enable-static-egress-gateway)")
        if not [p for p in props.get("agentPoolProfiles") or [] if p.get("mode") == "Gateway"]:
            errors.append("add-on egress gateways need a node pool in mode Gateway for their StaticGatewayConfiguration "
                          "(az aks nodepool add --mode Gateway)")
    return errors


def addon_egress(gateways):
    """Role entries -> {gateways: the module's egress_gateways option, configurations: the
    StaticGatewayConfiguration objects (egressgateway.kubernetes.azure.com/v1alpha1) the enabled ones refer to,
    from each entry's ``gateway_nodepool_name`` (and optional ``public_ip_prefix_id``), egress: the gateway that
    mesh_egress routes through (the first enabled one: {namespace, selector, service}, or {} when none is)}."""
    keys = ("name", "namespace", "gateway_configuration_name", "enabled")
    enabled = [gw for gw in gateways if gw.get("enabled", True) is not False]
    egress = {}
    if enabled:
        row = addon_egress_gateway(enabled[0]["name"], enabled[0].get("namespace") or "")
        egress = dict((k, row[k]) for k in ("namespace", "selector", "service"))
    return {"gateways": [dict((k, gw[k]) for k in keys if k in gw) for gw in gateways],
            "configurations": _static_gateway_configurations(gateways), "egress": egress}


def _static_gateway_configurations(gateways):
    out = {}
    for gw in gateways:
        if gw.get("enabled", True) is False or not gw.get("gateway_nodepool_name"):
            continue
        namespace = gw.get("namespace") or EGRESS_NAMESPACE
        spec = {"gatewayNodepoolName": gw["gateway_nodepool_name"]}
        if gw.get("public_ip_prefix_id"):  # else AKS provisions the prefix
            spec["publicIpPrefixId"] = gw["public_ip_prefix_id"]
        out[(namespace, gw["gateway_configuration_name"])] = obj(
            "egressgateway.kubernetes.azure.com/v1alpha1", "StaticGatewayConfiguration",
            gw["gateway_configuration_name"], namespace, spec)
    return [out[k] for k in sorted(out)]


def planned_namespaces(current, desired):
    """Check mode: the namespaces the add-on would create in the cluster for ``desired`` that ``current`` (the
    profile it runs) has not created: its own, its ingress gateways' and its egress gateways'."""
    def made(profile):
        if (profile or {}).get("mode") != "Istio":
            return set()
        components = (profile.get("istio") or {}).get("components") or {}
        out = set([ADDON_NAMESPACE])
        if any(g.get("enabled") for g in components.get("ingressGateways") or []):
            out.add(ADDON_INGRESS_NAMESPACE)
        out.update(g.get("namespace") or EGRESS_NAMESPACE for g in components.get("egressGateways") or []
                   if g.get("enabled"))
        return out
    return sorted(made(desired) - made(current))


def desired_profile(current, wanted_revisions, gateways, ca=None, egress=None):
    """The serviceMeshProfile (REST shape) for ``wanted_revisions``; gateway flags None keep what is there, as do
    ``ca`` None (the plug-in CA) and ``egress`` None (the egress gateways; a list names all of them: those it
    leaves out are disabled)."""
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
    if egress is not None:
        listed = set((g["namespace"], g["name"]) for g in egress)
        dropped = [dict(g, enabled=False) for g in components.get("egressGateways") or []
                   if (g.get("namespace") or EGRESS_NAMESPACE, g.get("name")) not in listed]
        if egress or dropped:
            components["egressGateways"] = list(egress) + dropped
    if not components:
        istio.pop("components")
    if ca is not None:
        istio["certificateAuthority"] = {"plugin": dict(ca)}
    return profile


def comparable(profile):
    """A profile reduced to what we manage, for equality (gateways sorted, disabled mode bare)."""
    profile = profile or {"mode": "Disabled"}
    if profile.get("mode") != "Istio":
        return {"mode": "Disabled"}
    istio = profile.get("istio") or {}
    gws = sorted(((g.get("mode"), bool(g.get("enabled"))) for g in (istio.get("components") or {})
                  .get("ingressGateways") or []))
    egress = sorted((g.get("namespace") or EGRESS_NAMESPACE, g.get("name"), bool(g.get("enabled")),
                     g.get("gatewayConfigurationName")) for g in (istio.get("components") or {})
                    .get("egressGateways") or [] if g.get("enabled"))
    ca = dict(((istio.get("certificateAuthority") or {}).get("plugin")) or {})
    if ca.get("keyVaultId"):  # ARM resource IDs compare without case
        ca["keyVaultId"] = ca["keyVaultId"].lower()
    return {"mode": "Istio", "revisions": sorted(istio.get("revisions") or []), "gateways": gws, "egress": egress,
            "ca": ca}


def self_managed(deployments):
    """istiod Deployments that the add-on did not create (any namespace but aks-istio-system)."""
    return sorted("%s/%s" % (d["metadata"].get("namespace"), d["metadata"]["name"]) for d in deployments
                  if d["metadata"].get("namespace") != ADDON_NAMESPACE)
