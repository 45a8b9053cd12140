# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controlled egress: ServiceEntries (always exportTo ".") and, per external host, the egress-gateway route
sidecar -> egress gateway -> external host (Istio's "egress gateway" pattern), for REGISTRY_ONLY meshes; and TLS
origination (Istio's "egress TLS origination" and "egress gateways with TLS origination" tasks): the application
sends plain HTTP to port 80, and the sidecar, or the egress gateway, opens TLS to the host's port 443.

This file is private to the aksmesh.istio collection: its contents may change at any time.

Because a ServiceEntry exported to "." is visible in its own namespace only, each external host gets one
ServiceEntry in every client namespace and one in the egress gateway's namespace.

Through the egress gateway a host's route is Istio's two legs, split so that no two VirtualServices claim one host
on one gateway (IST0109): the sidecar's leg (gateways mesh: to the egress gateway Service) in each client
namespace, beside the DestinationRule of the gateway Service's subset it routes to; the gateway's leg (the host's
Gateway: on to the host, through the TLS origination subset where a port asks for one) once, in the egress
gateway's namespace, beside its Gateway, its ServiceEntry and the DestinationRule that originates TLS. Each is
exported to its own namespace alone. A client namespace that is the egress gateway's own has both legs in one.

A host is one entry, with one port (``port``, ``protocol``, ``tls_origination``) or several (``ports``): a
ServiceEntry, a VirtualService and a DestinationRule per host and namespace, since a sidecar does not merge two
VirtualServices for one host. TLS origination routes the HTTP port to the TLS port through a subset of the host
whose ``trafficPolicy.portLevelSettings`` originates TLS, so that the TLS port stays a passthrough for the
applications that speak TLS to it themselves.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError, obj
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names

PROTOCOLS = {"TLS": 443, "HTTPS": 443, "HTTP": 80}
TLS_MODES = ("SIMPLE", "MUTUAL")
PORT_KEYS = ("port", "protocol", "tls_origination")
ORIGINATION_KEYS = ("port", "mode", "sni", "credential_name")
GATEWAY_PORTS = {"HTTP": 80, "TLS": 443}  # what the egress gateway's Service carries a host's traffic on

# what a ServiceEntry's hosts accept for an external service: a DNS name, the leftmost label optionally "*"
EXTERNAL_HOST = re.compile(r"^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z",
                           re.IGNORECASE)


def slug(host):
    return re.sub(r"[^a-z0-9-]+", "-", host.lower()).strip("-")[:50]


def service_entry(host, ns, ports, resolution):
    return obj("networking.istio.io/v1", "ServiceEntry", slug(host["host"]), ns,
               {"hosts": [host["host"]], "ports": ports, "resolution": resolution, "location": "MESH_EXTERNAL",
                "exportTo": ["."]})


def _fail(path, message):
    raise MeshConfigError("hosts", message, path=path)


def _port_number(value, path):
    if isinstance(value, bool) or not re.match(r"^[0-9]+\Z", str(value)) or not 0 < int(value) < 65536:
        _fail(path, "%r is not a port number (1 to 65535)" % (value,))
    return int(value)


def _unknown(item, keys, path, what):
    extra = sorted(str(k) for k in item if k not in keys)
    if extra:
        _fail(path, "unknown %s; %s takes %s" % (", ".join(extra), what, ", ".join(keys)))


def _origination(host, value, path, via_gateway, origin):
    """The TLS origination of the HTTP port ``origin``: {port, mode, sni, credential_name}."""
    if value is True:
        value = {}
    if not isinstance(value, dict):
        _fail(path, "is a mapping {port, mode, sni, credential_name} (each optional), or true")
    _unknown(value, ORIGINATION_KEYS, path, "tls_origination")
    port = _port_number(value.get("port") or 443, path + ".port")
    if port == origin:
        _fail(path + ".port", "is %d, the port the application sends plain HTTP to: name the port the host serves "
                              "TLS on (443 by default)" % port)
    mode = str(value.get("mode") or "SIMPLE").upper()
    if mode not in TLS_MODES:
        _fail(path + ".mode", "%s; use SIMPLE (TLS) or MUTUAL (TLS with a client certificate)" % mode)
    sni = value.get("sni")
    if sni in (None, ""):
        if host.startswith("*."):
            _fail(path, "the wildcard host %s names no one server to open TLS to: give sni, or list each host"
                  % host)
        sni = host
    elif not isinstance(sni, str) or sni.startswith("*.") or not EXTERNAL_HOST.match(sni):
        _fail(path + ".sni", "%r is not a DNS name (the server name TLS asks for)" % (sni,))
    credential = value.get("credential_name") or ""
    if not via_gateway and (credential or mode == "MUTUAL"):
        _fail(path + (".credential_name" if credential else ".mode"),
              "a sidecar reads no credentialName from a DestinationRule for every workload (Istio takes it at "
              "sidecars only with a workloadSelector), so it has no client certificate nor CA Secret: originate "
              "TLS at the egress gateway (via_egress_gateway true, the Secret in its namespace), or use mode SIMPLE "
              "without credential_name (the sidecar verifies the host with its system CAs)")
    if mode == "MUTUAL" and not credential:
        _fail(path + ".credential_name", "is missing: MUTUAL presents a client certificate, from the Secret it "
                                         "names (tls.crt, tls.key and ca.crt) in the egress gateway's namespace")
    if credential:
        why = names.problem("Secret", credential)
        if why:
            _fail(path + ".credential_name", "%r %s" % (credential, why))
    return {"port": port, "mode": mode, "sni": sni, "credential_name": credential}


def _ports(host, index, via_gateway):
    """The host's ports: [{port, protocol (HTTP or TLS: what the application speaks), origination, path}]."""
    where = "[%d]" % index
    if host.get("ports") is not None:
        given = [k for k in PORT_KEYS if host.get(k) not in (None, "")]
        if given:
            _fail(where, "gives ports and %s: give either port, protocol and tls_origination (one port) or ports "
                         "(several), not both" % ", ".join(given))
        entries = host["ports"]
        if not isinstance(entries, list) or not entries or not all(isinstance(p, dict) for p in entries):
            _fail(where + ".ports", "is a non-empty list of {port, protocol, tls_origination}")
        paths = ["%s.ports[%d]" % (where, i) for i in range(len(entries))]
        for entry, path in zip(entries, paths):
            _unknown(entry, PORT_KEYS, path, "a port")
    else:
        entries, paths = [dict((k, host.get(k)) for k in PORT_KEYS)], [where]
    out, seen = [], {}
    for entry, path in zip(entries, paths):
        protocol = str(entry.get("protocol") or "TLS").upper()
        if protocol not in PROTOCOLS:
            _fail(path + ".protocol", "%s; use TLS, HTTPS or HTTP" % protocol)
        port = _port_number(entry.get("port") or PROTOCOLS[protocol], path + ".port")
        if port in seen:
            _fail(path + ".port", "%d is listed twice (O(hosts)%s too): give each port once" % (port, seen[port]))
        seen[port] = path
        kind = "HTTP" if protocol == "HTTP" else "TLS"
        origination = None
        if entry.get("tls_origination") not in (None, False):
            if kind != "HTTP":
                _fail(path + ".tls_origination", "is for a port the application sends plain HTTP to (protocol "
                                                 "HTTP); on port %d it speaks %s itself" % (port, protocol))
            origination = _origination(host["host"], entry["tls_origination"], path + ".tls_origination",
                                       via_gateway, port)
        out.append({"port": port, "protocol": kind, "origination": origination, "path": path})
    for item in out:
        target = (item["origination"] or {}).get("port")
        if target in seen and [p for p in out if p["port"] == target][0]["protocol"] == "HTTP":
            _fail(item["path"] + ".tls_origination.port", "is %d, which O(hosts)%s lists as HTTP: name the port the "
                                                          "host serves TLS on" % (target, seen[target]))
    if via_gateway:
        for kind in GATEWAY_PORTS:
            mine = [p for p in out if p["protocol"] == kind]
            if len(mine) > 1:
                _fail(mine[1]["path"], "a second %s port through the egress gateway, which carries one %s port per "
                                       "host (on its own port %d; O(hosts)%s is that one): give the host one, or "
                                       "via_egress_gateway false" % (kind, kind, GATEWAY_PORTS[kind],
                                                                     mine[0]["path"]))
    return out


def _service_entry_ports(ports):
    """The ServiceEntry's ports: each port as the application speaks it, a TLS origination's target as HTTPS
    (HTTP over TLS from the proxy, as Istio's task declares it) whether listed or not."""
    targets = sorted(set(p["origination"]["port"] for p in ports if p["origination"]))
    out = []
    for item in ports:
        proto = "HTTP" if item["protocol"] == "HTTP" else ("HTTPS" if item["port"] in targets else "TLS")
        out.append({"number": item["port"], "name": "%s-%d" % (proto.lower(), item["port"]), "protocol": proto})
    listed = set(p["port"] for p in ports)
    out.extend({"number": t, "name": "https-%d" % t, "protocol": "HTTPS"} for t in targets if t not in listed)
    return out


def _subset(item):
    return "tls-origination-%d" % item["port"]


def _origination_rule(host, ns, ports):
    """The DestinationRule whose subsets open TLS to the host (one per HTTP port that originates TLS)."""
    subsets = []
    for item in ports:
        tls = item["origination"]
        if not tls:
            continue
        settings = {"mode": tls["mode"], "sni": tls["sni"]}
        if tls["credential_name"]:
            settings["credentialName"] = tls["credential_name"]
        subsets.append({"name": _subset(item), "trafficPolicy": {"portLevelSettings": [
            {"port": {"number": tls["port"]}, "tls": settings}]}})
    return obj("networking.istio.io/v1", "DestinationRule", "originate-tls-" + slug(host), ns,
               {"host": host, "exportTo": ["."], "subsets": subsets})


def _to_host(host, item):
    """Where a request that arrived on the HTTP port ``item`` goes: the same port, or TLS origination's."""
    if item["origination"]:
        return {"host": host, "port": {"number": item["origination"]["port"]}, "subset": _subset(item)}
    return {"host": host, "port": {"number": item["port"]}}


def _legs(host, ports, name, gw_host, gw_ref):
    """Istio's two legs of a host through the egress gateway, as {"http": [...], "tls": [...]}: the sidecar's
    (match gateways mesh: the application's port to the egress gateway Service, its subset ``name``) and the egress
    gateway's (match its Gateway ``gw_ref``: on to the host, through the TLS origination subset where a port
    originates TLS)."""
    sidecar, gateway = {}, {}
    for item in ports:
        gw_port = GATEWAY_PORTS[item["protocol"]]
        to_gw = {"destination": {"host": gw_host, "subset": name, "port": {"number": gw_port}}}
        if item["protocol"] == "TLS":
            to_ext = {"destination": {"host": host, "port": {"number": item["port"]}}, "weight": 100}
            sidecar.setdefault("tls", []).append(
                {"match": [{"gateways": ["mesh"], "port": item["port"], "sniHosts": [host]}], "route": [to_gw]})
            gateway.setdefault("tls", []).append(
                {"match": [{"gateways": [gw_ref], "port": gw_port, "sniHosts": [host]}], "route": [to_ext]})
        else:
            to_ext = {"destination": _to_host(host, item), "weight": 100}
            sidecar.setdefault("http", []).append({"match": [{"gateways": ["mesh"], "port": item["port"]}],
                                                   "route": [to_gw]})
            gateway.setdefault("http", []).append({"match": [{"gateways": [gw_ref], "port": gw_port}],
                                                   "route": [to_ext]})
    return sidecar, gateway


def _route(host, ns, gateways, legs):
    """The VirtualService ``egress-<host>`` of ``ns`` (exported to it alone) bound to ``gateways``, with ``legs``."""
    spec = {"hosts": [host], "gateways": gateways, "exportTo": ["."]}
    for kind in ("http", "tls"):
        rules = [rule for leg in legs for rule in leg.get(kind, [])]
        if rules:
            spec[kind] = rules
    return obj("networking.istio.io/v1", "VirtualService", "egress-" + slug(host), ns, spec)


def _check_gateway(hosts, gateway_namespace, gateway_selector, gateway_service):
    via = [i for i, host in enumerate(hosts) if host.get("via_egress_gateway", True)]
    if via and not gateway_namespace:
        raise MeshConfigError("hosts", "routes %s through the egress gateway, but there is none: the install method "
                                       "runs no egress gateway of its own (with the AKS add-on, enable one in the "
                                       "aks_mesh_addon role's egress_gateways: the first enabled one is taken); set "
                                       "O(gateway_namespace), O(gateway_selector) and O(gateway_service) to an "
                                       "egress gateway you run, or give the host via_egress_gateway false"
                              % hosts[via[0]].get("host"), path="[%d]" % via[0])
    for option, value in (("gateway_selector", gateway_selector), ("gateway_service", gateway_service)):
        if via and not value:
            raise MeshConfigError(option, "is empty: name the egress gateway in %s (its pod labels and Service)"
                                  % gateway_namespace)


def egress_manifests(hosts, namespaces, gateway_namespace, gateway_selector, gateway_service):
    """For each of ``hosts``, ServiceEntries in the client ``namespaces`` (and the egress gateway's), and unless the
    host says ``via_egress_gateway: false`` the route through the egress gateway; TLS origination where a port
    asks for it."""
    hosts, clients = hosts or [], []
    for ns in namespaces or []:
        if ns not in clients:
            clients.append(ns)
    _check_gateway(hosts, gateway_namespace, gateway_selector, gateway_service)
    if hosts and not clients:
        raise MeshConfigError("namespaces", "is empty: name the client namespaces whose workloads call out")
    gw_host = "%s.%s.svc.cluster.local" % (gateway_service, gateway_namespace)
    out, names_seen = [], {}
    for index, host in enumerate(hosts):
        if not isinstance(host, dict) or host.get("host") in (None, ""):
            _fail("[%d].host" % index, "is missing: name the external host (such as api.stripe.com)")
        if not EXTERNAL_HOST.match(str(host["host"])):
            _fail("[%d].host" % index, "%r is not a DNS name (such as api.stripe.com or *.blob.core.windows.net): no "
                                       "scheme, port or path" % host["host"])
        name = slug(host["host"])
        if name in names_seen:
            _fail("[%d].host" % index, "%s names the objects O(hosts)%s names too (%s): give a host one entry, with "
                                       "its ports in ports" % (host["host"], names_seen[name], name))
        names_seen[name] = "[%d]" % index
        via_gateway = host.get("via_egress_gateway", True)
        ports = _ports(host, index, via_gateway)
        resolution = host.get("resolution") or "DNS"
        se_ports = _service_entry_ports(ports)
        originates = any(p["origination"] for p in ports)
        for ns in clients + ([gateway_namespace] if via_gateway and gateway_namespace not in clients else []):
            out.append(service_entry(host, ns, se_ports, resolution))
        if not via_gateway:
            if originates:  # the sidecar opens TLS: the route to the TLS port and the subset that originates
                http = [{"match": [{"port": p["port"]}], "route": [{"destination": _to_host(host["host"], p)}]}
                        for p in ports if p["protocol"] == "HTTP"]
                for ns in clients:
                    out.append(_origination_rule(host["host"], ns, ports))
                    out.append(obj("networking.istio.io/v1", "VirtualService", "egress-" + name, ns,
                                   {"hosts": [host["host"]], "exportTo": ["."], "http": http}))
            continue
        servers = []
        for item in ports:
            proto = item["protocol"]
            server = {"port": {"number": GATEWAY_PORTS[proto], "name": "%s-%s" % (proto.lower(), name)[:60],
                               "protocol": proto}, "hosts": [host["host"]]}
            if proto == "TLS":
                server["tls"] = {"mode": "PASSTHROUGH"}
            servers.append(server)
        out.append(obj("networking.istio.io/v1", "Gateway", "egress-" + name, gateway_namespace,
                       {"selector": gateway_selector, "servers": servers}))
        if originates:  # the egress gateway opens TLS, with the Secret of its own namespace
            out.append(_origination_rule(host["host"], gateway_namespace, ports))
        gw_ref = "%s/egress-%s" % (gateway_namespace, name)
        sidecar_leg, gateway_leg = _legs(host["host"], ports, name, gw_host, gw_ref)
        for ns in clients:
            out.append(obj("networking.istio.io/v1", "DestinationRule", "egressgateway-" + name, ns,
                           {"host": gw_host, "exportTo": ["."], "subsets": [{"name": name}]}))
            if ns != gateway_namespace:
                out.append(_route(host["host"], ns, ["mesh"], [sidecar_leg]))
        # the gateway's leg once, beside its Gateway: one VirtualService per host on the egress gateway
        if gateway_namespace in clients:  # its own workloads call out too: both legs in its one VirtualService
            out.append(_route(host["host"], gateway_namespace, ["mesh", gw_ref], [sidecar_leg, gateway_leg]))
        else:
            out.append(_route(host["host"], gateway_namespace, [gw_ref], [gateway_leg]))
    return out
