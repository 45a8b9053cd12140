# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The settings boundary: the ``aksmesh_*`` inventory, validated once, as one normalised fact.

This file is private to the aksmesh.istio collection: its contents may change at any time.

Every cross-cutting setting (target, install method, namespaces, gateways, revision, render folder, connection,
the Istio CNI node agent)
is derived here and nowhere else; the roles read the result (``settings_mesh``) through their defaults.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import ipaddress
import os
import re

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.istio_addon import (
    GATEWAY_API_FLOOR, revision_minor)
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import support
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import (
    GATEWAY_API_INGRESS, INGRESS_APIS, METHODS, TopologyError, ingress_service, topology)
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import gateway_api
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _gateway_customizations as customizations
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _methods
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _permissions
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _stages as stages

# inventory variable (without the aksmesh_ prefix) -> (type, default); documented in roles/settings/meta
DEFAULTS = {
    "target": ("str", "render"),
    "install_method": ("str", "istioctl"),
    "render_dir": ("str", None),
    "kubeconfig": ("raw", None),
    "kube_context": ("str", None),
    "resource_group": ("str", None),
    "cluster_name": ("str", None),
    "istio_version": ("str", "1.30.0"),
    "revision": ("str", None),
    "istio_namespace": ("str", None),
    "ingress_namespace": ("str", None),
    "egress_namespace": ("str", None),
    "ingress_ip": ("str", None),
    "ingress_ip_resource_group": ("str", None),
    "ingress_source_ranges": ("list", None),
    # the Gateway API ingress's deployed resources, overlaid by istiod (plugin_utils/_gateway_customizations.py)
    "ingress_gateway_customizations": ("dict", None),
    # a switch of aksmesh_ingress_api with both ingresses serving: the other API's ingress stays (with
    # aksmesh_ingress_ip) while the chosen one serves beside it (with aksmesh_ingress_migration_ip)
    "ingress_migration": ("bool", False),
    "ingress_migration_ip": ("str", None),
    "preflight": ("bool", True),
    "access_check": ("bool", True),
    "static_ip": ("bool", True),
    "istioctl_download": ("bool", True),
    # the sha256 of the istioctl archive the run downloads, pinned in the inventory (not read beside the archive)
    "istioctl_sha256": ("str", None),
    "secrets": ("bool", True),
    "addons": ("bool", True),
    "sample": ("bool", False),
    "lint_fail_level": ("str", "Error"),
    "analyze": ("bool", True),
    "analyze_all_namespaces": ("bool", False),
    "analyze_absent_hosts": ("str", "report"),
    "analyze_always": ("bool", False),
    "reconcile": ("str", "report"),
    "verify": ("bool", False),
    "report_dir": ("str", None),
    "poll_interval": ("int", 10),
    "cni": ("bool", False),
    "dataplane_mode": ("str", "sidecar"),
    "ingress_api": ("str", "istio"),
    # derived: true with aksmesh_ingress_api gateway_api (the ingress needs the CRDs)
    "gateway_api_crds": ("bool", None),
    "gateway_api_proxy": ("str", gateway_api.PROXY),
    "unknown_variables": ("str", "fail"),
    "render_helm_as": ("str", "manifests"),
    "render_kube_version": ("str", None),
}
# the other aksmesh_* inventory variables (without the prefix) -> type: the playbooks read them, the settings check
# their types (documented in roles/settings/meta too). The passphrases (SECRETS) never reach a message or settings_mesh.
OTHER_VARIABLES = {
    # the credentials of the secrets stage (site.yml's play vars hand them to mesh_secrets)
    "grafana_username": "str",
    "grafana_passphrase": "str",
    "kiali_username": "str",
    "kiali_passphrase": "str",
}
# cleanup.yml: aksmesh_cleanup_<part> false keeps a part: the stage registry's parts, then the Istio CRDs and the
# namespaces the collection owns (removed with the control plane)
OTHER_VARIABLES.update(("cleanup_" + part, "bool") for part in stages.cleanup_parts() + ["crds", "namespaces"])
# upgrade.yml (the istio_upgrade role)
OTHER_VARIABLES.update([("upgrade_to_revision", "str"), ("upgrade_from_revision", "str"), ("upgrade_version", "str"),
                        ("upgrade_restart", "bool"), ("upgrade_remove_old", "bool")])
# rbac.yml: the file it writes, the subjects bound to the roles of the host's stages and to the verify role
OTHER_VARIABLES.update([("rbac_dest", "str"), ("rbac_subjects", "list"), ("rbac_verify_subjects", "list")])
SECRETS = ("grafana_passphrase", "kiali_passphrase")
# aksmesh_* names the playbooks set themselves (loop and task variables, the report site.yml hands to AWX with
# set_stats, which an AWX workflow passes on to its next job as an extra variable): never reported as unknown
RUN_VARIABLES = ("stage", "stage_entry", "stage_runs", "drift", "report")
UNKNOWN_VARIABLES = ("fail", "warn")
TARGETS = ("render", "cluster")
LINT_LEVELS = ("Info", "Warning", "Error")
ABSENT_HOSTS = ("report", "fail")
RECONCILE = ("report", "force")
# render mode: a Helm chart (the Helm method's Istio, cert-manager) as its objects, or as Flux HelmReleases
RENDER_HELM_AS = ("manifests", "flux")
# the data plane of the mesh's namespaces: sidecars, or ambient (ztunnel per node; the istioctl method's ambient profile)
DATAPLANE_MODES = ("sidecar", "ambient")
PROXY_URL = re.compile(r"^(https?|file)://[^\s]+\Z")
KUBE_VERSION = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+\Z")
POLL_RANGE = (1, 60)
# \Z as in module_utils/_k8s/names.py, not $: "$" also matches before a trailing newline ("asm-1-28\n")
ADDON_REVISION = re.compile(r"^asm-[0-9]+-[0-9]+\Z")
ISTIO_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?\Z")
SHA256 = re.compile(r"^[0-9a-f]{64}\Z")


def _needs(s, azure, render):
    """{condition of the stage registry: (holds, why a stage that needs it does not run, or "")}."""
    # (render mode talks to no Azure: nothing to say)
    no_azure = "" if render else "no Azure names (aksmesh_resource_group, aksmesh_cluster_name)"
    return {
        "azure": (azure, no_azure),
        "cluster": (not render, ""),
        "istioctl_used": (not render or s["install_method"] == "istioctl", ""),
        "kubeconfig_fetched": (s["kubeconfig"] is None, "aksmesh_kubeconfig is given"),
        "static_ip_ingress": (_methods.BY_NAME[s["install_method"]].gateway_static_ip
                              or s["ingress_api"] == "gateway_api",
                              "the AKS add-on's gateways get their IPs from AKS (its Gateway API ingress takes a "
                              "static IP: aksmesh_ingress_api gateway_api)"),
    }


def _render_kube_version(s):
    """The Kubernetes version render mode gives helm template: aksmesh_render_kube_version, else the oldest the
    Istio line supports (module_utils/_istio/support.py), so the objects suit every cluster it may run on."""
    if s["render_kube_version"] is not None:
        return s["render_kube_version"].lstrip("v")
    low = support.supported_range(s["istio_version"])[0] or max(low for low, high in support.SUPPORT.values())
    return "%d.%d.0" % low


def _host_stages(s, azure, render, method):
    """settings_mesh.stages: every stage of the registry in run order, with whether it runs for this host and why not
    (for the run's summary; "" when there is nothing to say, as for a stage that is off by default)."""
    needs = _needs(s, azure, render)
    out = {}
    for stage in stages.STAGES:
        why = None
        for need in stage.needs:
            holds, reason = needs[need]
            if not holds:
                why = reason
                break
        if why is None and stage.methods and method not in stage.methods:
            why = stage.method_note
        if why is None and stage.switch and not s[stage.switch]:
            why = "aksmesh_%s is false" % stage.switch if DEFAULTS[stage.switch][1] else ""
        out[stage.name] = dict(stages.published(stage), enabled=why is None, skipped=why or "")
    return out


class SettingsError(ValueError):
    """An inventory setting is wrong; the message names the variable and the fix."""


def _fail(name, msg):
    raise SettingsError("aksmesh_%s: %s" % (name, msg))


def _typed(raw):
    """The settings with defaults applied and types checked (None means "not set"); the other variables' types."""
    out = {}
    for name, (kind, default) in DEFAULTS.items():
        value = raw.get(name)
        if value is None:
            out[name] = default
            continue
        if kind == "bool":
            if not isinstance(value, bool):
                _fail(name, "expected true or false, got %r" % (value,))
        elif kind == "int":
            if isinstance(value, str) and value.strip().isdigit():  # an INI [group:vars] value is a string
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                _fail(name, "expected a whole number of seconds, got %r" % (value,))
        elif kind == "str":
            if not isinstance(value, str):
                _fail(name, "expected a string, got %s" % type(value).__name__)
            if not value.strip():
                _fail(name, "is empty: remove the variable to use the default, or give a value")
        elif kind == "list":
            if not isinstance(value, (list, tuple)):
                _fail(name, "expected a list, got %s" % type(value).__name__)
            value = list(value)
        elif kind == "dict":
            if not isinstance(value, dict):
                _fail(name, "expected a mapping, got %s" % type(value).__name__)
        out[name] = value
    _check_others(raw)
    return out


def _check_others(raw):
    """The types of the other inventory variables the playbooks read (OTHER_VARIABLES); a passphrase's value, or
    type, is never part of a message."""
    for name, kind in OTHER_VARIABLES.items():
        if name not in raw:
            continue
        value = raw[name]
        if name in SECRETS:
            if not isinstance(value, str):
                _fail(name, "is not a string: quote it, or vault it (ansible-vault encrypt_string)")
        elif kind == "str":
            if value is not None and not isinstance(value, str):
                _fail(name, "expected a string, got %s: quote it" % type(value).__name__)
        elif kind == "bool":
            # what the playbooks make of it (the bool filter, a bool argument): also 'false' from -e name=false
            try:
                boolean(value, strict=True)
            except TypeError:
                _fail(name, "expected true or false, got %r" % (value,))


def unknown_variables(names):
    """[(name, the closest known name or "")] for each aksmesh_* name of ``names`` the collection does not know, in
    name order. The names the playbooks set themselves (RUN_VARIABLES) are known."""
    known = list(DEFAULTS) + list(OTHER_VARIABLES)
    ignored = set(known) | set(RUN_VARIABLES)
    out = []
    for name in sorted(set(str(name) for name in names)):
        if name.startswith("aksmesh_") and name[len("aksmesh_"):] not in ignored:
            # without the prefix every name shares
            close = difflib.get_close_matches(name[len("aksmesh_"):], known, n=1)
            out.append((name, "aksmesh_" + close[0] if close else ""))
    return out


def unknown_text(unknown):
    """What to tell about the unknown variables (``unknown_variables``): each one, then the fix."""
    each = ", ".join(name + (" (did you mean %s?)" % close if close else "") for name, close in unknown)
    one = len(unknown) == 1
    return ("%s: unknown variable%s - rename or remove %s: the collection reads no such variable (every variable: "
            "ansible-doc -t role aksmesh.istio.settings)" % (each, "" if one else "s", "it" if one else "them"))


def _check_unknown(s, raw, variables):
    """The unknown aksmesh_* variables (each with the closest known name): the run fails naming them, or, with
    aksmesh_unknown_variables: warn, goes on (settings_mesh.unknown_variables, which the settings role prints)."""
    mode = s["unknown_variables"]  # one of UNKNOWN_VARIABLES (_check_choices)
    unknown = unknown_variables(["aksmesh_" + name for name in raw] + list(variables or ()))
    if unknown and mode == "fail":
        raise SettingsError(unknown_text(unknown) + "; aksmesh_unknown_variables: warn only warns")
    return {"mode": mode, "names": [name for name, close in unknown],
            "message": unknown_text(unknown) if unknown else ""}


def _check_choices(s):
    if s["target"] not in TARGETS:
        _fail("target", "%r: use render (write files, no Azure, no cluster) or cluster" % s["target"])
    if s["install_method"] not in METHODS:
        _fail("install_method", "%r: use one of %s" % (s["install_method"], ", ".join(METHODS)))
    if s["lint_fail_level"] not in LINT_LEVELS:
        _fail("lint_fail_level", "%r: use one of %s" % (s["lint_fail_level"], ", ".join(LINT_LEVELS)))
    if s["reconcile"] not in RECONCILE:
        _fail("reconcile", "%r: use report (a field someone else changed fails the run, naming it; a check run "
                           "reports it) or force (take the fields back, reporting what was overwritten)" % s["reconcile"])
    if s["unknown_variables"] not in UNKNOWN_VARIABLES:
        _fail("unknown_variables", "%r: use fail (an aksmesh_* variable the collection does not know, a misspelt "
                                   "setting, fails the run) or warn" % (s["unknown_variables"],))
    if s["render_helm_as"] not in RENDER_HELM_AS:
        _fail("render_helm_as", "%r: use manifests (the charts' objects, as helm install leaves them: any GitOps tool "
                                "or kubectl applies them) or flux (Flux HelmRelease objects, for Flux's "
                                "helm-controller)" % (s["render_helm_as"],))
    if not PROXY_URL.match(s["gateway_api_proxy"]):
        _fail("gateway_api_proxy", "%r is not a Go module proxy's address: give its http://, https:// or file:// URL "
                                   "(a mirror such as an Artifactory Go remote, or %s)" % (
                                       s["gateway_api_proxy"], gateway_api.PROXY))
    if s["render_kube_version"] is not None and not KUBE_VERSION.match(s["render_kube_version"]):
        _fail("render_kube_version", "%r is not a Kubernetes version such as 1.32.0" % (s["render_kube_version"],))
    if s["analyze_absent_hosts"] not in ABSENT_HOSTS:
        _fail("analyze_absent_hosts", "%r: use report (a route to a host not deployed yet is listed, fails nothing) "
                                      "or fail" % s["analyze_absent_hosts"])
    if not POLL_RANGE[0] <= s["poll_interval"] <= POLL_RANGE[1]:
        _fail("poll_interval", "%d: use %d to %d seconds between progress lines of a long wait" % (
            s["poll_interval"], POLL_RANGE[0], POLL_RANGE[1]))
    if not ISTIO_VERSION.match(s["istio_version"]):
        _fail("istio_version", "%r is not an Istio release such as 1.30.0" % s["istio_version"])
    if s["istioctl_sha256"] is not None:
        if not SHA256.match(s["istioctl_sha256"]):
            _fail("istioctl_sha256", "%r is not a sha256: give the 64 lowercase hex digits of istioctl-%s-linux-<arch>"
                                     ".tar.gz, checked out of band" % (s["istioctl_sha256"], s["istio_version"]))
        if not s["istioctl_download"]:
            _fail("istioctl_sha256", "is set, but aksmesh_istioctl_download is false: no istioctl is downloaded to "
                                     "check against it. Fix: unset one of them")
    kubeconfig = s["kubeconfig"]
    if kubeconfig is not None and not isinstance(kubeconfig, (str, dict)):
        _fail("kubeconfig", "expected a path or a kubeconfig mapping, got %s" % type(kubeconfig).__name__)
    if isinstance(kubeconfig, str) and not kubeconfig.strip():
        _fail("kubeconfig", "is empty: remove the variable to use the default kubeconfig, or give a path")
    for name in ("istio_namespace", "ingress_namespace", "egress_namespace"):
        why = names.problem("Namespace", s[name]) if s[name] is not None else None
        if why:
            _fail(name, "%r is not a namespace name: it %s" % (s[name], why))
    if s["ingress_ip"] is not None:
        try:
            ipaddress.IPv4Address(s["ingress_ip"])
        except ValueError:
            _fail("ingress_ip", "%r is not an IPv4 address" % s["ingress_ip"])
    if s["ingress_migration_ip"] is not None:
        try:
            ipaddress.IPv4Address(s["ingress_migration_ip"])
        except ValueError:
            _fail("ingress_migration_ip", "%r is not an IPv4 address" % s["ingress_migration_ip"])
    for index, cidr in enumerate(s["ingress_source_ranges"] or []):
        try:
            ipaddress.ip_network(cidr if isinstance(cidr, str) else "", strict=True)
        except ValueError as exc:
            _fail("ingress_source_ranges", "[%d] %r is not a network such as 203.0.113.0/24 (%s)" % (index, cidr, exc))


def _check_combinations(s):
    if s["verify"] and s["target"] != "cluster":
        _fail("verify", "is true but aksmesh_target is render: verify.yml checks a cluster; set aksmesh_target: "
                        "cluster, or run site.yml to render")
    if s["target"] == "cluster" and s["render_dir"] is not None:
        _fail("render_dir", "is set but aksmesh_target is cluster: a host either renders files or changes a "
                            "cluster; remove aksmesh_render_dir or set aksmesh_target: render")
    if (s["resource_group"] is None) != (s["cluster_name"] is None):
        have, missing = ("resource_group", "cluster_name") if s["cluster_name"] is None else (
            "cluster_name", "resource_group")
        _fail(missing, "is missing: aksmesh_%s names an AKS cluster only together with aksmesh_%s" % (have, missing))
    method, revision = s["install_method"], s["revision"]
    if method == "aks_addon":
        if revision is None or not ADDON_REVISION.match(revision):
            _fail("revision", "%s: the AKS add-on needs its revision (for example asm-1-28): it injects only "
                              "namespaces labelled istio.io/rev=<revision>" % (
                                  "is missing" if revision is None else repr(revision)))
        # its own ingress gateways (aksmesh_ingress_api istio) are the add-on's; the Gateway its istiod deploys
        # (gateway_api) takes annotations and the allow-listed Service fields
        if s["ingress_source_ranges"] and s["ingress_api"] != "gateway_api":
            _fail("ingress_source_ranges", "is set, but the AKS add-on manages its ingress gateway Services and does "
                                           "not take loadBalancerSourceRanges; restrict the clients with an "
                                           "AuthorizationPolicy on the gateway (mesh_authz), use the add-on's "
                                           "Gateway API ingress (aksmesh_ingress_api: gateway_api), or use "
                                           "aksmesh_install_method istioctl or helm")
        if s["ingress_ip"] is not None and s["ingress_api"] != "gateway_api":
            _fail("ingress_ip", "is set, but the AKS add-on reverts IP customizations of its ingress gateway Services "
                                "(AKS documentation, istio-deploy-ingress): its gateway keeps the IP Azure gives it; "
                                "for a static IP use the add-on's Gateway API ingress (aksmesh_ingress_api: "
                                "gateway_api), whose Gateway takes it, or aksmesh_install_method istioctl or helm")
        if s["target"] == "cluster" and s["resource_group"] is None:
            _fail("resource_group", "is missing: the AKS add-on is enabled through Azure; set aksmesh_resource_group "
                                    "and aksmesh_cluster_name, or use aksmesh_target: render")
    elif revision is not None and revision != "default" and names.problem("Namespace", revision):
        # a revision becomes a label value and a suffix of object names: a DNS-1123 label
        _fail("revision", "%r is not a revision name such as 1-30-0: it %s" % (
            revision, names.problem("Namespace", revision)))
    if s["dataplane_mode"] not in DATAPLANE_MODES:
        _fail("dataplane_mode", "%r: use sidecar (a sidecar proxy in each pod) or ambient (ztunnel on each node, "
                                "waypoints for L7)" % (s["dataplane_mode"],))
    if s["dataplane_mode"] == "ambient" and method == "aks_addon":
        _fail("dataplane_mode", "is ambient, but the AKS add-on has no ambient data plane (it injects sidecars): use "
                                "aksmesh_install_method istioctl or helm")
    if s["ingress_api"] not in INGRESS_APIS:
        _fail("ingress_api", "%r: use istio (Istio's Gateway and VirtualService, a gateway the install method deploys) "
                             "or gateway_api (the Kubernetes Gateway API: a Gateway istiod deploys, HTTPRoutes)"
                             % (s["ingress_api"],))
    if s["ingress_api"] == "gateway_api":
        floor = GATEWAY_API_FLOOR
        if method == "aks_addon" and revision_minor(revision) is not None and revision_minor(revision) < floor:
            _fail("ingress_api", "is gateway_api, but the AKS add-on's Gateway API support needs revision asm-%d-%d "
                                 "or later, and aksmesh_revision is %s: upgrade the add-on (upgrade.yml) first, or "
                                 "keep aksmesh_ingress_api istio" % (floor + (revision,)))
    if s["ingress_api"] == "gateway_api" or s["ingress_migration"]:  # one side of a migration is the Gateway API's
        if s["gateway_api_crds"] is None and not _methods.BY_NAME[method].managed_gateway_api:
            s["gateway_api_crds"] = True  # the add-on's are AKS's managed Gateway API CRDs
    s["gateway_api_crds"] = bool(s["gateway_api_crds"])
    if s["gateway_api_crds"] and method == "aks_addon":
        _fail("gateway_api_crds", "is true, but the AKS add-on's Gateway API support uses AKS's managed Gateway API "
                                  "CRDs, and a second copy must not be installed beside them: turn them on with "
                                  "az aks update --enable-gateway-api (the cluster's ingressProfile.gatewayAPI."
                                  "installation: Standard) and set aksmesh_gateway_api_crds: false")
    if s["cni"] and method == "aks_addon":
        _fail("cni", "is true, but the AKS add-on manages its own traffic redirection: its Istio CNI is the "
                     "serviceMeshProfile setting istio.components.proxyRedirectionMechanism (CNIChaining, "
                     "az aks mesh enable-istio-cni; the default from add-on revision asm-1-30), which this "
                     "collection does not set; remove aksmesh_cni and set it on the cluster, or use "
                     "aksmesh_install_method istioctl or helm")
    if s["ingress_ip_resource_group"] is not None and s["ingress_ip"] is None:
        _fail("ingress_ip_resource_group", "is set without aksmesh_ingress_ip: name the address too")
    _check_migration(s, method)
    _check_customizations(s, method)


def _check_customizations(s, method):
    """aksmesh_ingress_gateway_customizations: for the Gateway API ingress only, within what istiod overlays (the
    add-on: AKS's allow list), and not a second source of the Service's loadBalancerSourceRanges."""
    given = s["ingress_gateway_customizations"]
    if given is None:
        return
    if s["ingress_api"] != "gateway_api" and not s["ingress_migration"]:  # (a migration has both ingresses)
        raise SettingsError("%s is set, but the ingress is Istio's Gateway on the install method's gateway "
                            "(aksmesh_ingress_api istio): the customizations are of the resources istiod deploys "
                            "for the Gateway API ingress; set aksmesh_ingress_api: gateway_api, or customize the "
                            "method's gateway" % customizations.VARIABLE)
    found = customizations.problem(given, _methods.BY_NAME[method].gateway_allow_list)
    if found:
        raise SettingsError(customizations.message(found))
    ranges = ((given.get("service") or {}).get("spec") or {}).get("loadBalancerSourceRanges")
    if ranges is not None and s["ingress_source_ranges"]:
        raise SettingsError("%s.service.spec.loadBalancerSourceRanges and aksmesh_ingress_source_ranges are both "
                            "set: give the networks once, as aksmesh_ingress_source_ranges" % customizations.VARIABLE)


def _check_migration(s, method):
    if s["ingress_migration"] and method == "aks_addon":
        _fail("ingress_migration", "is true, but the AKS add-on's ingress gateways are the add-on's: switch "
                                   "aksmesh_ingress_api in one run there, or use aksmesh_install_method istioctl or "
                                   "helm")
    if s["ingress_migration_ip"] is not None and not s["ingress_migration"]:
        _fail("ingress_migration_ip", "is set, but aksmesh_ingress_migration is false: the address is the new "
                                      "ingress's while both serve. Fix: set aksmesh_ingress_migration: true, or, "
                                      "once the migration is over, give the address as aksmesh_ingress_ip")
    if s["ingress_migration_ip"] is not None and s["ingress_migration_ip"] == s["ingress_ip"]:
        _fail("ingress_migration_ip", "%s is aksmesh_ingress_ip too: while both ingresses serve, the old one keeps "
                                      "aksmesh_ingress_ip and the new one needs another address (one Azure public "
                                      "IP serves one Service's ports)" % s["ingress_migration_ip"])


def _migration(s, method, revision, gateways):
    """While ``aksmesh_ingress_migration`` holds, the other API's ingress serves beside the chosen one: its row joins
    the gateways (``ingress_migration``: the network and authorization policies let both in). What the roles read:
    ``enabled``, ``from`` (the other API) and ``ip`` (the chosen ingress's address meanwhile)."""
    if not s["ingress_migration"]:
        return {"enabled": False, "from": "", "ip": ""}
    other = "istio" if s["ingress_api"] == "gateway_api" else "gateway_api"
    row = topology(method, s["istio_namespace"] or "", s["ingress_namespace"] or "", s["egress_namespace"] or "",
                   revision, ingress_api=other)["gateways"]["ingress"]
    gateways["ingress_migration"] = dict(row, name="ingress_migration")
    return {"enabled": True, "from": other, "ip": s["ingress_migration_ip"] or ""}


def _credentials_dest(given, host):
    """The file the credentials stage (roles/aks_credentials) writes the host's kubeconfig to: aks_credentials_dest,
    else a file of the host's own under ~/.kube/aksmesh."""
    if given is None or given == "":
        return os.path.join(os.path.expanduser("~"), ".kube", "aksmesh", (host or "localhost") + ".yaml")
    if not isinstance(given, str) or not given.strip():
        raise SettingsError("aks_credentials_dest: expected the path of the kubeconfig file the credentials stage "
                            "writes, got %r: give a path, or remove it for ~/.kube/aksmesh/<inventory host>.yaml"
                            % (given,))
    return given


# the controller's files and folders a host of a run writes or reads: aksmesh_render_dir, the report, the kubeconfig
# the credentials stage writes (aks_credentials_dest) and the one aksmesh_kubeconfig names. Each host's default is its
# own (named after the inventory host); two hosts that share one, set by hand, would mix their clusters
# (shared_paths). Temporary files (check mode's kubeconfig copy, istioctl's inputs) are mkdtemp's, never shared.
PATH_FIXES = {
    "aksmesh_render_dir": "give each host a folder of its own (a path with the inventory host's name in it), or "
                          "remove aksmesh_render_dir for the default rendered/<inventory host>",
    "aksmesh_report_dir": "keep aksmesh_report_dir out of every render folder (each host writes "
                          "<aksmesh_report_dir>/<inventory host>.json)",
    "aks_credentials_dest": "give each host a file of its own (a path with the inventory host's name in it), or "
                            "remove aks_credentials_dest for the default ~/.kube/aksmesh/<inventory host>.yaml",
    "aksmesh_kubeconfig": "point aksmesh_kubeconfig at a file no credentials stage of the run writes, or remove it to "
                          "have the host fetch its own",
}


def _path_entry(path, cwd, variable, what, writes, folder=False):
    where = os.path.realpath(os.path.join(cwd or os.getcwd(), os.path.expanduser(path)))
    return {"path": where, "variable": variable, "what": what, "writes": writes, "folder": folder}


def _host_paths(s, cwd, render_dir, report_file, credentials, fetches):
    """settings_mesh.paths: the controller paths the host writes or reads (PATH_FIXES)."""
    out = []
    if render_dir:
        out.append(_path_entry(render_dir, cwd, "aksmesh_render_dir", "render folder", True, folder=True))
    if report_file:
        out.append(_path_entry(report_file, cwd, "aksmesh_report_dir", "report", True))
    if fetches:
        out.append(_path_entry(credentials, cwd, "aks_credentials_dest", "fetched kubeconfig", True))
    if isinstance(s["kubeconfig"], str):
        out.append(_path_entry(s["kubeconfig"], cwd, "aksmesh_kubeconfig", "kubeconfig", False))
    return out


def _inside(path, folder):
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _clash(one, other):
    """How two hosts' paths (settings_mesh.paths entries) collide, or None: the same file or folder one of them
    writes, or a written path inside the other's render folder. Two hosts that only read one kubeconfig do not
    collide (each reaches the context it names)."""
    if not (one["writes"] or other["writes"]):
        return None
    if one["path"] == other["path"]:
        return "are the same %s, %s" % ("folder" if one["folder"] or other["folder"] else "file", one["path"])
    for inner, outer in ((one, other), (other, one)):
        if outer["folder"] and inner["writes"] and _inside(inner["path"], outer["path"]):
            return "overlap: %s is inside %s" % (inner["path"], outer["path"])
    return None


def shared_paths(hosts):
    """What two hosts of one run share of the paths they write (their ``settings_mesh.paths``): one message per
    pair, naming both hosts, both variables, the path and the fix; [] when each host has its own. ``hosts`` is a
    mapping, inventory host -> paths, or a list of (host, paths) pairs, in the run's order."""
    pairs = list(hosts.items()) if isinstance(hosts, dict) else list(hosts)
    out = []
    for index, (host, paths) in enumerate(pairs):
        for other_host, other_paths in pairs[index + 1:]:
            for one in paths or ():
                for other in other_paths or ():
                    how = _clash(one, other) if other_host != host else None
                    if how is None:
                        continue
                    fixes = [PATH_FIXES[name] for name in sorted(set([one["variable"], other["variable"]]))]
                    out.append("hosts %s and %s share a path: %s's %s (%s) and %s's %s (%s) %s - each would write "
                               "over what the other uses, mixing two clusters; %s" % (
                                   host, other_host, host, one["what"], one["variable"], other_host, other["what"],
                                   other["variable"], how, "; ".join(fixes)))
    return out


def derive(raw, host="", cwd="", variables=None, credentials_dest=None):
    """The normalised settings fact from the ``aksmesh_*`` inventory (keys without the prefix); ``variables``, the
    names of every ``aksmesh_*`` variable of the host, are checked for names the collection does not know;
    ``credentials_dest`` is the host's aks_credentials_dest, when the inventory sets it."""
    raw = raw or {}
    s = _typed(raw)
    _check_choices(s)
    unknown = _check_unknown(s, raw, variables)
    _check_combinations(s)
    method = s["install_method"]
    revision = "" if s["revision"] in (None, "default") else s["revision"]
    try:
        topo = topology(method, s["istio_namespace"] or "", s["ingress_namespace"] or "", s["egress_namespace"] or "",
                        revision, ingress_api=s["ingress_api"])
    except TopologyError as exc:
        raise SettingsError(str(exc))
    render = s["target"] == "render"
    render_dir = ""
    if render:
        render_dir = s["render_dir"] or os.path.join(cwd or os.getcwd(), "rendered", host or "localhost")
    gateways = topo.pop("gateways")
    migration = _migration(s, method, revision, gateways)
    # the ingress API, and the Gateway API ingress's Gateway (istiod deploys it as the row's service)
    ingress = dict(gateways["ingress"], api=s["ingress_api"],
                   gateway=GATEWAY_API_INGRESS if "gateway_api" in (s["ingress_api"], migration["from"]) else "",
                   # the install method's own ingress gateway (its Service; the Helm release), which the Gateway
                   # API ingress replaces
                   method_service=ingress_service(method)[0],
                   ip=s["ingress_ip"] or "",
                   ip_resource_group=s["ingress_ip_resource_group"] or "",
                   source_ranges=s["ingress_source_ranges"] or [],
                   customizations=s["ingress_gateway_customizations"] or {},
                   migration=migration,
                   # the API whose ingress takes the static IP (aksmesh_ingress_ip, the static IP stage's): the old
                   # one while both serve
                   static_ip_api=migration["from"] or s["ingress_api"])
    if migration["from"] == "istio":
        # Istio's Gateways select the install method's gateway, which serves beside the Gateway API's
        ingress["selector"] = gateways["ingress_migration"]["selector"]
    azure = bool(s["resource_group"]) and not render
    credentials = _credentials_dest(credentials_dest, host)
    host_stages = _host_stages(s, azure, render, method)
    report_dir = "" if render else (s["report_dir"] or os.path.join(cwd or os.getcwd(), "reports"))
    # mesh_analyze's report of the host (roles/mesh_analyze/tasks/report.yml)
    report_file = os.path.join(report_dir, (host or "localhost") + ".json") if report_dir else ""
    out = dict(topo)
    out.update({
        "target": s["target"],
        "render": render,
        "render_dir": render_dir,
        # how render mode writes a Helm chart (manifests or flux), and the Kubernetes version helm template renders for
        "render_helm": {"as": s["render_helm_as"], "kube_version": _render_kube_version(s)},
        "istio_version": s["istio_version"],
        "istioctl_sha256": s["istioctl_sha256"] or "",
        "revision": revision,
        "ingress": ingress,
        "egress": gateways.get("egress") or {},
        "gateways": [gateways[k] for k in ("ingress", "ingress_migration", "ingress_internal", "egress")
                     if k in gateways],
        "azure": {"resource_group": s["resource_group"] or "", "cluster_name": s["cluster_name"] or "",
                  "enabled": azure},
        # credentials_dest: the file the credentials stage writes the kubeconfig to (when it runs)
        "connection": {"kubeconfig": s["kubeconfig"], "context": s["kube_context"], "credentials_dest": credentials},
        # Kubernetes' own namespaces: no stage takes one as its own, and cleanup never deletes one
        "system_namespaces": list(names.SYSTEM_NAMESPACES),
        # the stage registry (plugins/plugin_utils/_stages.py) for this host, in the order site.yml runs them:
        # {name: enabled, skipped (why not), role, folder (render mode), prune_kinds, cleanup part,
        # cleanup_default}: playbooks/tasks/stage.yml and cleanup.yml read it
        "stages": host_stages,
        # what the identity of the run needs of the cluster for the stages that run (plugins/plugin_utils/
        # _permissions.py): the access stage checks it before any stage changes anything
        "permissions": _permissions.needed([name for name, row in host_stages.items() if row["enabled"]], method),
        # the install method table (plugins/plugin_utils/_methods.py): this host's method (the role the
        # istio_control_plane role dispatches to, what upgrade.yml and cleanup.yml may do with it) and every method
        "control_plane": _methods.published(method),
        "methods": _methods.table(),
        "lint_fail_level": s["lint_fail_level"],
        # the analysis after the last stage (the analyze stage): istioctl analyze and mesh_lint of the live mesh,
        # findings in the mesh's namespaces (or all), failing at lint_fail_level
        # drift: fields another manager changed since the last apply; force takes them back (apply force_conflicts)
        "reconcile": {"mode": s["reconcile"], "force": s["reconcile"] == "force"},
        # verify.yml (check mode): the live analysis runs too, and drift fails the host; the report (drift, missing
        # and extra objects, findings) goes to <report_dir>/<host>.json on every cluster run
        "verify": s["verify"],
        "report_dir": report_dir,
        # the controller paths the host writes (render folder, report, fetched kubeconfig) or reads (kubeconfig):
        # the settings role refuses a run where two hosts share one (shared_paths)
        "paths": _host_paths(s, cwd, render_dir, report_file, credentials, host_stages["credentials"]["enabled"]),
        # always: istioctl analyze on every run, also one that changed nothing after a clean analysis
        "analyze": {"all_namespaces": s["analyze_all_namespaces"], "absent_hosts": s["analyze_absent_hosts"],
                    "always": s["analyze_always"]},
        # seconds between the progress lines of the long waits (Ansible async poll): install, charts, add-on, rollouts
        "poll_interval": s["poll_interval"],
        # the Istio CNI node agent instead of privileged istio-init containers (istioctl and helm): in the
        # Istio namespace, where upstream installs it (AKS allows system-node-critical pods outside kube-system)
        "cni": {"enabled": s["cni"], "namespace": topo["istio_namespace"]},
        # the data plane the mesh_injection namespaces join: sidecar injection labels, or ambient (the istioctl
        # method's ambient profile: istiod, the CNI agent in ambient mode and ztunnel)
        "dataplane": {"mode": s["dataplane_mode"]},
        # the Kubernetes Gateway API's standard-channel CRDs (the gateway-api stage): the pinned module version, its
        # go.sum hash and where its zip is fetched (module_utils/_istio/gateway_api.py)
        "gateway_api": {"crds": s["gateway_api_crds"], "version": gateway_api.VERSION, "h1": gateway_api.H1,
                        "url": gateway_api.module_zip_url(s["gateway_api_proxy"])},
        # the aksmesh_* variables the collection does not know, with aksmesh_unknown_variables: warn (fail stops
        # the run): mode, names and the message the settings role prints
        "unknown_variables": unknown,
        # tracing: OpenTelemetry to the Jaeger addon's collector, on every method (the IstioOperator's or istiod
        # chart's meshConfig, the add-on's shared mesh ConfigMap); the addons' mesh-wide Telemetry turns it on
        "tracing": {"provider": "otel-tracing",
                    "service": "jaeger-collector.%s.svc.cluster.local" % topo["addons_namespace"], "port": 4317},
    })
    return out
