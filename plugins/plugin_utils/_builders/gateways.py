# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gateways in their workload's namespace; VirtualServices and DestinationRules with the exportTo rules.

This file is private to the aksmesh.istio collection: its contents may change at any time.

- A Gateway is created in the namespace of the gateway workload its selector matches.
- VirtualServices and DestinationRules get ``exportTo: ["."]`` unless told otherwise, except a
  VirtualService bound to a Gateway in another namespace: it is exported to its own namespace and
  to each such gateway namespace (``"."`` alone would hide it from the gateway).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import (
    MeshConfigError, destination_rule_export, gateway_routes, name_of, obj, require, unique_names)


def workload_namespace(selector, workloads, where):
    """The namespace of the one gateway workload whose labels the selector matches."""
    hits = [w for w in workloads if all((w.get("selector") or {}).get(k) == v for k, v in selector.items())]
    namespaces = sorted(set(w["namespace"] for w in hits))
    if len(namespaces) != 1:
        known = ", ".join("%s in %s" % (w["selector"], w["namespace"]) for w in workloads)
        raise MeshConfigError("gateways", "%s: selector %s matches %s gateway workloads (known: %s); a Gateway must "
                                          "live in the namespace of the one workload it selects" % (
                                              where, selector, "no" if not namespaces else "several", known))
    return namespaces[0]


def https_credential(gw):
    """The TLS Secret of a gateway shorthand's ``https`` (its ``credential_name``), which TLS termination needs."""
    credential = (gw.get("https") or {}).get("credential_name")
    if not credential:
        raise MeshConfigError("gateways", "gateway %s: https needs credential_name (a TLS Secret in the gateway's "
                                          "namespace)" % gw.get("name"))
    return credential


def gateway_servers(gw):
    if gw.get("servers"):
        return gw["servers"]
    hosts = gw.get("hosts") or []
    if not hosts:
        raise MeshConfigError("gateways", "gateway %s: set hosts (or servers)" % gw.get("name"))
    servers = []
    https = gw.get("https")
    if gw.get("http", True):
        server = {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": hosts}
        if https is not None and gw.get("https_redirect", True):
            server["tls"] = {"httpsRedirect": True}
        servers.append(server)
    if https is not None:
        mode = https.get("mode", "SIMPLE")
        tls = {"mode": mode}
        if mode != "PASSTHROUGH":
            tls["credentialName"] = https_credential(gw)
        servers.append({"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": hosts, "tls": tls})
    return servers


def place_gateways(gateways, workloads, ingress_selector):
    """-> (Gateway objects, {name: namespace} of those gateways).

    Pure and cheap (about 10 us for one Gateway, 0.3 ms for fifty): the certs pre-flight, the certs stage, the
    gateways stage and its routes entry point each call it again from their own role variables, rather than take a
    placement another stage published (which would run earlier than the settings could know the Gateways, go stale
    when a play changes them, and need this same call as the fallback of every entry point run alone)."""
    out, placed = [], {}
    unique_names("gateways", gateways or [])
    for index, gw in enumerate(gateways or []):
        require(gw, ["name"], "gateways", "entry %d" % index)
        where = "gateway %s" % gw["name"]
        name_of("gateways", "entry %d" % index, "Gateway", gw["name"])
        selector = gw.get("selector") or ingress_selector
        if not selector:
            raise MeshConfigError("gateways", "%s: set its selector (O(ingress_selector), the default, is empty)"
                                  % where)
        ns = workload_namespace(selector, workloads or [], where)
        if gw.get("namespace") and gw["namespace"] != ns:
            raise MeshConfigError("gateways", "%s: namespace %s is not where its workload runs (%s); drop namespace "
                                              "or set it to %s" % (where, gw["namespace"], ns, ns))
        placed[gw["name"]] = ns
        out.append(obj("networking.istio.io/v1", "Gateway", gw["name"], ns,
                       {"selector": selector, "servers": gateway_servers(gw)}))
    return out, placed


def qualify(ref, vs_namespace, placed):
    """A VirtualService's gateway reference as <namespace>/<name> when the gateway lives elsewhere."""
    if ref == "mesh":
        return ref
    parts = ref.split("/")
    if len(parts) > 2:
        raise MeshConfigError("virtual_services", "gateway reference %r: give a Gateway name, <namespace>/<name> or "
                                                  "mesh" % ref)
    if len(parts) == 2:
        name_of("virtual_services", "gateway reference %r" % ref, "Namespace", parts[0])
        name_of("virtual_services", "gateway reference %r" % ref, "Gateway", parts[1])
        return ref
    name_of("virtual_services", "gateway reference %r" % ref, "Gateway", ref)
    ns = placed.get(ref)
    return "%s/%s" % (ns, ref) if ns and ns != vs_namespace else ref


def export_to(item, namespace, gateway_refs):
    """exportTo of a VirtualService: its own namespace and the other namespaces of the gateways it is bound to."""
    other = sorted(set(r.split("/", 1)[0] for r in gateway_refs if "/" in r and r.split("/", 1)[0] != namespace))
    given = item.get("export_to")
    if given is None:
        return ["."] + other
    missing = [ns for ns in other if ns not in given and "*" not in given]
    if missing:
        raise MeshConfigError("virtual_services", "%s/%s: export_to %s hides it from the gateway namespace(s) %s it "
                                                  "is bound to; add them or leave export_to unset" % (
                                                      namespace, item.get("name"), given, ", ".join(missing)))
    return given


def virtual_service(vs, placed):
    require(vs, ["name", "namespace", "hosts"], "virtual_services", "virtual service %s" % vs.get("name"))
    ns = name_of("virtual_services", "virtual service %s" % vs["name"], "Namespace", vs["namespace"])
    name_of("virtual_services", "virtual service %s" % vs["name"], "VirtualService", vs["name"])
    refs = [qualify(r, ns, placed) for r in vs.get("gateways") or []]
    spec = {"hosts": vs["hosts"]}
    if refs:
        spec["gateways"] = refs
    spec["exportTo"] = export_to(vs, ns, refs)
    for key in ("http", "tls", "tcp"):
        if vs.get(key):
            spec[key] = vs[key]
    if not any(key in spec for key in ("http", "tls", "tcp")):
        raise MeshConfigError("virtual_services", "%s/%s: give http, tls or tcp routes" % (ns, vs["name"]))
    return obj("networking.istio.io/v1", "VirtualService", vs["name"], ns, spec)


def destination_rule(dr, routes=None):
    require(dr, ["name", "namespace", "host"], "destination_rules", "destination rule %s" % dr.get("name"))
    name_of("destination_rules", "destination rule %s" % dr["name"], "Namespace", dr["namespace"])
    name_of("destination_rules", "destination rule %s" % dr["name"], "DestinationRule", dr["name"])
    where = "%s/%s" % (dr["namespace"], dr["name"])
    spec = {"host": dr["host"], "exportTo": destination_rule_export("destination_rules", where, dr["host"],
                                                                    dr["namespace"], dr.get("export_to"), routes)}
    if dr.get("subsets"):
        spec["subsets"] = dr["subsets"]
    if dr.get("traffic_policy"):
        spec["trafficPolicy"] = dr["traffic_policy"]
    return obj("networking.istio.io/v1", "DestinationRule", dr["name"], dr["namespace"], spec)


def gateway_manifests(gateways, virtual_services, destination_rules, workloads, ingress_selector):
    """Gateways placed in their workload's namespace, then the VirtualServices and DestinationRules."""
    gws, placed = place_gateways(gateways, workloads, ingress_selector)
    vss = [virtual_service(vs, placed) for vs in virtual_services or []]
    routes = gateway_routes(vss)
    drs = [destination_rule(dr, routes) for dr in destination_rules or []]
    return gws + vss + drs


def gateway_route_hosts(gateways, virtual_services, workloads, ingress_selector):
    """{host FQDN: [gateway namespaces routing to it]} for the traffic stage's DestinationRules."""
    _gws, placed = place_gateways(gateways, workloads, ingress_selector)
    return gateway_routes([virtual_service(vs, placed) for vs in virtual_services or []])
