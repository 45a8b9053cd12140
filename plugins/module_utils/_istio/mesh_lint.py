# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The seed runbook's mesh rules, checked offline; messages shaped like ``istioctl analyze -o json``.

This file is private to the aksmesh.istio collection: its contents may change at any time.

Codes (documented in docs/mesh_lint.md):

- AKM0001 Warning  a user's Deployment or its pod template lacks the ``app`` or ``version`` label
- AKM0002 Warning  VirtualService without ``exportTo: ["."]`` (not bound to another namespace's gateway)
- AKM0003 Error    VirtualService bound to a gateway in another namespace is not exported there
- AKM0004 Warning  ServiceEntry without ``exportTo: ["."]``
- AKM0005 Error    Gateway not in the namespace of the workload its selector matches
- AKM0006 Error    no mesh-wide STRICT PeerAuthentication in the root namespace
- AKM0007 Warning  outbound traffic policy is not REGISTRY_ONLY
- AKM0008 Error    VirtualServices with overlapping hosts on the same gateway (upstream IST0109)
- AKM0009 Error    a VirtualService references a Gateway that does not exist (upstream IST0101)
- AKM0010 Error    a gateway-bound VirtualService routes to a subset whose DestinationRule the gateway cannot see
- AKM0011 Warning  an ALLOW AuthorizationPolicy names a source (principal or namespace) in a namespace without sidecars
- AKM0012 Warning  a namespace-wide default deny that no ALLOW AuthorizationPolicy lets anything through
- AKM0013 Error    a namespace in ambient mode also carries a sidecar injection label
- AKM0014 Warning  an AuthorizationPolicy with L7 rules in an ambient namespace is not attached to a waypoint
- AKM0015 Warning  sidecar-only configuration (Sidecar, an EnvoyFilter with a workloadSelector) in an ambient namespace
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import route_destinations, service_fqdn
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import shipped_by

DOCS = "https://github.com/aksmesh/istio/blob/main/docs/mesh_lint.md#"
LEVELS = {"Info": 0, "Warning": 1, "Error": 2}
CODES = {
    "AKM0001": ("Warning", "MissingAppVersionLabels"),
    "AKM0002": ("Warning", "VirtualServiceNotLocal"),
    "AKM0003": ("Error", "VirtualServiceHiddenFromGateway"),
    "AKM0004": ("Warning", "ServiceEntryNotLocal"),
    "AKM0005": ("Error", "GatewayNotWithWorkload"),
    "AKM0006": ("Error", "MeshWideMTLSMissing"),
    "AKM0007": ("Warning", "OutboundNotRegistryOnly"),
    "AKM0008": ("Error", "ConflictingMeshGatewayVirtualServiceHosts"),
    "AKM0009": ("Error", "ReferencedResourceNotFound"),
    "AKM0010": ("Error", "SubsetHiddenFromGateway"),
    "AKM0011": ("Warning", "AuthorizationSourceWithoutSidecar"),
    "AKM0012": ("Warning", "DefaultDenyAllowsNothing"),
    "AKM0013": ("Error", "AmbientNamespaceInjected"),
    "AKM0014": ("Warning", "AmbientL7PolicyWithoutWaypoint"),
    "AKM0015": ("Warning", "AmbientSidecarOnlyConfig"),
}
AMBIENT = ("istio.io/dataplane-mode", "ambient")
# the parts of an AuthorizationPolicy rule only a proxy that parses HTTP (a sidecar, a waypoint) can evaluate
L7_OPERATION = ("hosts", "notHosts", "methods", "notMethods", "paths", "notPaths")
L7_SOURCE = ("requestPrincipals", "notRequestPrincipals")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def _meta(obj):
    return obj.get("metadata") or {}


def _ns(obj, default="default"):
    return _meta(obj).get("namespace") or default


def origin(obj):
    return "%s %s/%s" % (obj.get("kind"), _ns(obj), _meta(obj).get("name"))


def message(code, obj, text, reference=None):
    level = CODES[code][0]
    out = {"code": code, "level": level, "message": text, "documentationUrl": DOCS + code.lower()}
    if obj is not None:
        out["origin"] = origin(obj)
        out["reference"] = reference or origin(obj)
    return out


def _labels_ok(labels):
    return "app" in (labels or {}) and "version" in (labels or {})


def check_workload_labels(objs, ctx):
    """AKM0001, on the user's workloads: not on those the collection or Istio ships (topology.shipped_by), which
    the user cannot label."""
    for obj in objs:
        if obj.get("kind") not in WORKLOAD_KINDS or shipped_by(obj):
            continue
        meta_labels = _meta(obj).get("labels") or {}
        pod_labels = (((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
        missing = [where for where, lbl in (("metadata", meta_labels), ("pod template", pod_labels))
                   if not _labels_ok(lbl)]
        if missing:
            yield message("AKM0001", obj, "%s lacks the app and/or version label on its %s; Istio telemetry, Kiali "
                          "and subset routing rely on them" % (origin(obj), " and ".join(missing)))


def _gateway_refs(vs):
    ns = _ns(vs)
    refs = []
    for ref in (vs.get("spec") or {}).get("gateways") or []:
        if ref == "mesh":
            continue
        refs.append(tuple(ref.split("/", 1)) if "/" in ref else (ns, ref))
    for route_kind in ("http", "tls", "tcp"):
        for route in (vs.get("spec") or {}).get(route_kind) or []:
            for match in route.get("match") or []:
                for ref in match.get("gateways") or []:
                    if ref != "mesh":
                        refs.append(tuple(ref.split("/", 1)) if "/" in ref else (ns, ref))
    return refs


def check_export_to(objs, ctx):
    for obj in objs:
        kind = obj.get("kind")
        export = (obj.get("spec") or {}).get("exportTo")
        if kind == "ServiceEntry" and export != ["."]:
            yield message("AKM0004", obj, "%s is exported to %s; ServiceEntries must use exportTo: [\".\"] so a "
                          "namespace's egress rules do not leak into others" % (origin(obj), export or "all "
                                                                                "namespaces"))
        if kind != "VirtualService":
            continue
        ns = _ns(obj)
        other = sorted(set(g_ns for g_ns, _name in _gateway_refs(obj) if g_ns != ns))
        if other:
            hidden = [g for g in other if export is not None and g not in export and "*" not in export]
            if hidden:
                yield message("AKM0003", obj, "%s is bound to a gateway in %s but exported to %s only, so the "
                              "gateway cannot see it; add %s to exportTo" % (origin(obj), ", ".join(hidden), export,
                                                                             ", ".join(hidden)))
        elif export != ["."]:
            yield message("AKM0002", obj, "%s is exported to %s; use exportTo: [\".\"] for routes that are not "
                          "bound to another namespace's gateway" % (origin(obj), export or "all namespaces"))


def _selector_matches(selector, labels):
    return bool(selector) and all((labels or {}).get(k) == v for k, v in selector.items())


def check_gateway_placement(objs, ctx):
    workloads = [o for o in objs if o.get("kind") in WORKLOAD_KINDS]
    known = ctx.get("workloads") or []
    for gw in objs:
        if gw.get("kind") != "Gateway" or not (gw.get("apiVersion") or "").startswith("networking.istio.io"):
            continue
        selector = (gw.get("spec") or {}).get("selector") or {}
        namespaces = set()
        for wl in workloads:
            pod_labels = (((wl.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
            if _selector_matches(selector, pod_labels):
                namespaces.add(_ns(wl))
        for wl in known:
            if _selector_matches(selector, wl.get("selector") or {}) or wl.get("selector") == selector:
                namespaces.add(wl["namespace"])
        if namespaces and _ns(gw) not in namespaces:
            yield message("AKM0005", gw, "%s selects a gateway workload running in %s; create the Gateway in that "
                          "namespace" % (origin(gw), ", ".join(sorted(namespaces))))


def _exported_to(obj, namespace):
    export = (obj.get("spec") or {}).get("exportTo")
    if not export or "*" in export:
        return True
    return namespace in set(_ns(obj) if e == "." else e for e in export)


def check_subsets_visible_to_gateways(objs, ctx):
    rules = [o for o in objs if o.get("kind") == "DestinationRule"]
    for vs in objs:
        if vs.get("kind") != "VirtualService":
            continue
        for host, subset, gw_ns in route_destinations(vs):
            defining = [dr for dr in rules if service_fqdn((dr.get("spec") or {}).get("host") or "", _ns(dr)) == host
                        and subset in [s.get("name") for s in (dr.get("spec") or {}).get("subsets") or []]]
            for gw in gw_ns:
                if subset and defining and not any(_exported_to(dr, gw) for dr in defining):
                    yield message("AKM0010", vs, "%s routes gateway traffic in %s to subset %s of %s, but %s is not "
                                  "exported to %s: the gateway answers cluster_not_found; add %s to its exportTo" % (
                                      origin(vs), gw, subset, host, origin(defining[0]), gw, gw),
                                  reference=origin(defining[0]))


def check_mtls(objs, ctx):
    root = ctx.get("root_namespace") or "istio-system"
    for obj in objs:
        if obj.get("kind") == "PeerAuthentication" and _ns(obj) == root and not (obj.get("spec") or {}).get(
                "selector") and ((obj.get("spec") or {}).get("mtls") or {}).get("mode") == "STRICT":
            return
    if ctx.get("require_mesh_policy", True):
        yield message("AKM0006", None, "no mesh-wide PeerAuthentication with mtls.mode STRICT in the root namespace "
                      "%s; add one (role aksmesh.istio.mesh_mtls)" % root)


def check_outbound(objs, ctx):
    modes = []
    for obj in objs:
        if obj.get("kind") == "IstioOperator":
            modes.append((obj, (((obj.get("spec") or {}).get("meshConfig") or {}).get("outboundTrafficPolicy") or {})
                          .get("mode", "ALLOW_ANY")))
        elif obj.get("kind") == "ConfigMap" and _meta(obj).get("name", "").startswith("istio") and \
                "mesh" in (obj.get("data") or {}):
            text = obj["data"]["mesh"]
            modes.append((obj, "REGISTRY_ONLY" if "REGISTRY_ONLY" in text else "ALLOW_ANY"))
    for obj, mode in modes:
        if mode != "REGISTRY_ONLY":
            yield message("AKM0007", obj, "%s sets outboundTrafficPolicy %s; use REGISTRY_ONLY and declare external "
                          "hosts with ServiceEntries (role aksmesh.istio.mesh_egress)" % (origin(obj), mode))


def _visible(vs):
    export = (vs.get("spec") or {}).get("exportTo")
    if not export or "*" in export:
        return None  # everywhere
    return set(_ns(vs) if e == "." else e for e in export)


def _overlap(a, b):
    va, vb = _visible(a), _visible(b)
    return va is None or vb is None or bool(va & vb)


def check_gateway_hosts(objs, ctx):
    gateways = set((_ns(o), _meta(o).get("name")) for o in objs if o.get("kind") == "Gateway")
    seen = {}
    for vs in objs:
        if vs.get("kind") != "VirtualService":
            continue
        spec = vs.get("spec") or {}
        hosts = spec.get("hosts") or []
        refs = sorted(set(_gateway_refs(vs)))
        for ref in refs:
            if ref not in gateways and not ctx.get("partial"):
                yield message("AKM0009", vs, "Referenced gateway not found: \"%s/%s\"" % ref,
                              reference="Gateway %s/%s" % ref)
            for host in hosts:
                seen.setdefault((ref, host), []).append(vs)
        if not spec.get("gateways") or "mesh" in spec.get("gateways"):
            for host in hosts:
                seen.setdefault((("", "mesh"), service_fqdn(host, _ns(vs))), []).append(vs)
    for ((g_ns, g_name), host), owners in sorted(seen.items(), key=lambda kv: str(kv[0])):
        if g_name != "mesh" and any(_has_match(o) for o in owners):
            continue
        for obj in owners:
            others = [o for o in owners if o is not obj and _overlap(o, obj)]
            if not others:
                continue
            names = ",".join(sorted("%s/%s" % (_ns(o), _meta(o).get("name")) for o in [obj] + others))
            gateway = "mesh" if g_name == "mesh" else "%s/%s" % (g_ns, g_name)
            yield message("AKM0008", obj, "The VirtualServices %s associated with gateway %s define the same host %s "
                          "which can lead to undefined behavior. This can be fixed by merging the conflicting "
                          "VirtualServices into a single resource." % (names, gateway, host))


PRINCIPAL_NAMESPACE = re.compile(r"^[^/]*/ns/([^/]+)/sa/")
DRY_RUN = "istio.io/dry-run"


def _authorization_policies(objs):
    return [o for o in objs if o.get("kind") == "AuthorizationPolicy"
            and (o.get("apiVersion") or "").startswith("security.istio.io/")]


def _namespace_labels(objs):
    """{namespace: labels} of the Namespace objects among ``objs``."""
    out = {}
    for obj in objs:
        if obj.get("kind") == "Namespace" and _meta(obj).get("name"):
            out.setdefault(_meta(obj)["name"], {}).update(_meta(obj).get("labels") or {})
    return out


def _ambient(labels):
    return (labels or {}).get(AMBIENT[0]) == AMBIENT[1]


def _ambient_namespaces(objs):
    """The names of the namespaces among ``objs`` that are in ambient mode."""
    return set(name for name, labels in _namespace_labels(objs).items() if _ambient(labels))


def _action(policy):
    return (policy.get("spec") or {}).get("action") or "ALLOW"


def _enforced(policy):
    return str((_meta(policy).get("annotations") or {}).get(DRY_RUN, "")).lower() != "true"


def _with_identities(labels):
    """Whether pods of a namespace with these labels get a mesh identity: sidecar injection or ambient mode."""
    labels = labels or {}
    if labels.get("istio.io/dataplane-mode") == "ambient":
        return True
    return labels.get("istio-injection") != "disabled" and (
        labels.get("istio-injection") == "enabled" or bool(labels.get("istio.io/rev")))


def _source_namespaces(source):
    """(field, value, namespace) for each exact namespace a source's principals or namespaces name."""
    for value in source.get("principals") or []:
        match = PRINCIPAL_NAMESPACE.match(str(value))
        if match and "*" not in match.group(1):
            yield "principal", value, match.group(1)
    for value in source.get("namespaces") or []:
        if "*" not in str(value):
            yield "namespace", value, value


def check_authz_sources(objs, ctx):
    """AKM0011: a namespace without sidecars has no mTLS identities, so a principal or namespace source there never
    matches. Only namespaces among the checked objects are judged (an unknown one may be labelled elsewhere)."""
    labels = _namespace_labels(objs)
    gateway_namespaces = set(w.get("namespace") for w in ctx.get("workloads") or [])
    for policy in _authorization_policies(objs):
        if _action(policy) != "ALLOW":
            continue
        reported = set()
        for rule in (policy.get("spec") or {}).get("rules") or []:
            for entry in rule.get("from") or []:
                for field, value, ns in _source_namespaces(entry.get("source") or {}):
                    if ns not in labels or ns in gateway_namespaces or _with_identities(labels[ns]) or \
                            ns in reported:
                        continue
                    reported.add(ns)
                    yield message("AKM0011", policy, "%s allows the %s %s, but namespace %s has no sidecar injection "
                                  "(no istio-injection=enabled or istio.io/rev label): its pods have no mTLS identity, "
                                  "so the rule never matches and their calls are refused; label the namespace (role "
                                  "aksmesh.istio.mesh_injection) or drop the source" % (origin(policy), field, value,
                                                                                        ns),
                                  reference="Namespace %s" % ns)


def check_default_deny(objs, ctx):
    """AKM0012: a namespace-wide ALLOW policy without rules refuses everything; some enforced ALLOW policy with a
    rule, in that namespace or the root namespace (mesh-wide), must let something in."""
    root = ctx.get("root_namespace") or "istio-system"
    policies = [p for p in _authorization_policies(objs) if _enforced(p) and _action(p) == "ALLOW"]
    for policy in policies:
        spec = policy.get("spec") or {}
        if spec.get("rules") or spec.get("selector") or spec.get("targetRef") or spec.get("targetRefs"):
            continue
        ns = _ns(policy)
        opening = [p for p in policies if (p.get("spec") or {}).get("rules") and (ns == root or _ns(p) in (ns, root))]
        if not opening:
            yield message("AKM0012", policy, "%s refuses every request to the workloads of %s and no ALLOW "
                          "AuthorizationPolicy lets anything in (dry-run policies do not): every call to them, the "
                          "ingress gateway's too, is refused with 403; add ALLOW policies (role aksmesh.istio."
                          "mesh_authz) or take %s off the default-deny list" % (
                              origin(policy), "the mesh" if ns == root else "namespace " + ns, ns))


def check_ambient_injection(objs, ctx):
    """AKM0013: ambient mode and a sidecar injection label on one namespace: its pods get sidecars, which ztunnel
    leaves out of the ambient mesh - half the namespace's traffic follows one data plane, half the other."""
    for name, labels in sorted(_namespace_labels(objs).items()):
        injection = [key for key in ("istio-injection", "istio.io/rev")
                     if key in labels and not (key == "istio-injection" and labels[key] == "disabled")]
        if _ambient(labels) and injection:
            yield message("AKM0013", {"kind": "Namespace", "metadata": {"name": name, "namespace": name}},
                          "Namespace %s is in ambient mode (%s=%s) and also labelled %s for sidecar injection: its "
                          "new pods get sidecars, which ztunnel leaves out of the ambient mesh; keep one data plane "
                          "per namespace (remove %s, or the ambient label while it stays on sidecars)"
                          % (name, AMBIENT[0], AMBIENT[1], " and ".join(injection), " and ".join(injection)),
                          reference="Namespace %s" % name)


def _l7_fields(policy):
    """The L7 parts of a policy's rules (operation fields, request principals, request.* conditions)."""
    found = []
    for rule in (policy.get("spec") or {}).get("rules") or []:
        for entry in rule.get("to") or []:
            found.extend("to.operation.%s" % key for key in L7_OPERATION if (entry.get("operation") or {}).get(key))
        for entry in rule.get("from") or []:
            found.extend("from.source.%s" % key for key in L7_SOURCE if (entry.get("source") or {}).get(key))
        found.extend("when %s" % cond.get("key") for cond in rule.get("when") or []
                     if str(cond.get("key", "")).startswith("request."))
    return sorted(set(found))


def check_ambient_l7_policies(objs, ctx):
    """AKM0014: in an ambient namespace, a policy that selects workloads (no targetRefs) is enforced by ztunnel,
    which sees connections, not requests: its L7 parts cannot be evaluated (an ALLOW rule with them allows nothing).
    Such a policy goes to a waypoint (targetRefs to the waypoint Gateway or to the Services that use it)."""
    ambient = _ambient_namespaces(objs)
    for policy in _authorization_policies(objs):
        spec = policy.get("spec") or {}
        if _ns(policy) not in ambient or spec.get("targetRef") or spec.get("targetRefs"):
            continue
        fields = _l7_fields(policy)
        if fields:
            yield message("AKM0014", policy, "%s has L7 rules (%s) in the ambient namespace %s but no targetRefs: "
                          "ztunnel enforces it, which sees connections, not requests, so those rules cannot match; "
                          "deploy a waypoint (a Gateway of class istio-waypoint, istio.io/use-waypoint on the "
                          "namespace or Service) and attach the policy to it with targetRefs" % (
                              origin(policy), ", ".join(fields), _ns(policy)))


def check_ambient_sidecar_config(objs, ctx):
    """AKM0015: a Sidecar, or an EnvoyFilter that selects workloads, in an ambient namespace configures sidecars the
    namespace's pods do not have."""
    ambient = _ambient_namespaces(objs)
    for obj in objs:
        kind, spec = obj.get("kind"), obj.get("spec") or {}
        if _ns(obj) not in ambient or not (obj.get("apiVersion") or "").startswith("networking.istio.io/"):
            continue
        if kind == "Sidecar" or (kind == "EnvoyFilter" and spec.get("workloadSelector")):
            yield message("AKM0015", obj, "%s configures sidecars, but namespace %s is in ambient mode: its pods have "
                          "none, so it has no effect; express it for ztunnel or a waypoint, or remove it" % (
                              origin(obj), _ns(obj)))


def _has_match(vs):
    return any(route.get("match") for route in (vs.get("spec") or {}).get("http") or [])


RULES = (check_workload_labels, check_export_to, check_gateway_placement, check_subsets_visible_to_gateways,
         check_mtls, check_outbound,
         check_gateway_hosts, check_authz_sources, check_default_deny,
         check_ambient_injection, check_ambient_l7_policies, check_ambient_sidecar_config)


def lint(objs, ctx=None, suppress=(), min_level="Info"):
    """All messages for ``objs``, suppressions (``CODE`` or ``CODE=Kind ns/name`` globs) and level applied."""
    import fnmatch
    ctx = ctx or {}
    out = []
    for rule in RULES:
        for msg in rule(objs, ctx):
            if LEVELS[msg["level"]] < LEVELS[min_level]:
                continue
            if any(_suppressed(msg, s, fnmatch) for s in suppress):
                continue
            out.append(msg)
    return out


def _suppressed(msg, rule, fnmatch):
    code, _sep, target = rule.partition("=")
    return code == msg["code"] and (not target or fnmatch.fnmatchcase(msg.get("origin", ""), target))


def counts(messages):
    out = {"Error": 0, "Warning": 0, "Info": 0}
    for msg in messages:
        out[msg["level"]] += 1
    return out
