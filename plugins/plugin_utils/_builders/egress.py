# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controlled egress: ServiceEntries (always exportTo ".") and, per external host, the egress-gateway route
sidecar -> egress gateway -> external host (Istio's "egress gateway" pattern), for REGISTRY_ONLY meshes.

This file is private to the aksmesh.istio collection: its contents may change at any time.

Because a ServiceEntry exported to "." is visible in its own namespace only, each external host gets one
ServiceEntry in every client namespace and one in the egress gateway's namespace.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError, obj, require

PROTOCOLS = {"TLS": 443, "HTTPS": 443, "HTTP": 80}


# what a ServiceEntry's hosts accept for an external service: a DNS name, the leftmost label optionally "*"
EXTERNAL_HOST = re.compile(r"^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z",
                           re.IGNORECASE)


def slug(host):
    return re.sub(r"[^a-z0-9-]+", "-", host.lower()).strip("-")[:50]


def service_entry(host, ns, ports, resolution):
    return obj("networking.istio.io/v1", "ServiceEntry", slug(host["host"]), ns,
               {"hosts": [host["host"]], "ports": ports, "resolution": resolution, "location": "MESH_EXTERNAL",
                "exportTo": ["."]})


def egress_manifests(hosts, namespaces, gateway_namespace, gateway_selector, gateway_service):
    """For each of ``hosts``, ServiceEntries in the client ``namespaces`` (and the egress gateway's), and unless the
    host says ``via_egress_gateway: false`` the route through the egress gateway."""
    hosts, clients = hosts or [], namespaces or []
    if hosts and not gateway_namespace:
        raise MeshConfigError("hosts", "the install method runs no egress gateway this collection manages (the AKS "
                                       "add-on's egress gateway is not enabled by it): remove them, or set "
                                       "O(gateway_namespace), O(gateway_selector) and O(gateway_service) to an egress "
                                       "gateway you run")
    for option, value in (("gateway_selector", gateway_selector), ("gateway_service", gateway_service)):
        if hosts and not value:
            raise MeshConfigError(option, "is empty: name the egress gateway in %s (its pod labels and Service)"
                                  % gateway_namespace)
    if hosts and not clients:
        raise MeshConfigError("namespaces", "is empty: name the client namespaces whose workloads call out")
    gw_host = "%s.%s.svc.cluster.local" % (gateway_service, gateway_namespace)
    out = []
    for index, host in enumerate(hosts):
        require(host, ["host"], "hosts", "entry %d" % index)
        if not EXTERNAL_HOST.match(str(host["host"])):
            raise MeshConfigError("hosts", "entry %d: host %r is not a DNS name (such as api.stripe.com or "
                                           "*.blob.core.windows.net): no scheme, port or path" % (index, host["host"]))
        protocol = (host.get("protocol") or "TLS").upper()
        if protocol not in PROTOCOLS:
            raise MeshConfigError("hosts", "%s: protocol %s; use TLS, HTTPS or HTTP" % (host["host"], protocol))
        port = int(host.get("port") or PROTOCOLS[protocol])
        proto = "TLS" if protocol in ("TLS", "HTTPS") else "HTTP"
        ports = [{"number": port, "name": "%s-%d" % (proto.lower(), port), "protocol": proto}]
        resolution = host.get("resolution") or "DNS"
        name = slug(host["host"])
        via_gateway = host.get("via_egress_gateway", True)
        for ns in clients + ([gateway_namespace] if via_gateway else []):
            out.append(service_entry(host, ns, ports, resolution))
        if not via_gateway:
            continue
        gw_port = 443 if proto == "TLS" else 80
        server = {"port": {"number": gw_port, "name": "%s-%s" % (proto.lower(), name)[:60], "protocol": proto},
                  "hosts": [host["host"]]}
        if proto == "TLS":
            server["tls"] = {"mode": "PASSTHROUGH"}
        out.append(obj("networking.istio.io/v1", "Gateway", "egress-" + name, gateway_namespace,
                       {"selector": gateway_selector, "servers": [server]}))
        gw_ref = "%s/egress-%s" % (gateway_namespace, name)
        for ns in clients:
            out.append(obj("networking.istio.io/v1", "DestinationRule", "egressgateway-" + name, ns,
                           {"host": gw_host, "exportTo": ["."], "subsets": [{"name": name}]}))
            to_gw = {"destination": {"host": gw_host, "subset": name, "port": {"number": gw_port}}}
            to_ext = {"destination": {"host": host["host"], "port": {"number": port}}, "weight": 100}
            spec = {"hosts": [host["host"]], "gateways": ["mesh", gw_ref], "exportTo": [".", gateway_namespace]}
            if proto == "TLS":
                spec["tls"] = [
                    {"match": [{"gateways": ["mesh"], "port": port, "sniHosts": [host["host"]]}], "route": [to_gw]},
                    {"match": [{"gateways": [gw_ref], "port": gw_port, "sniHosts": [host["host"]]}],
                     "route": [to_ext]}]
            else:
                spec["http"] = [
                    {"match": [{"gateways": ["mesh"], "port": port}], "route": [to_gw]},
                    {"match": [{"gateways": [gw_ref], "port": gw_port}], "route": [to_ext]}]
            out.append(obj("networking.istio.io/v1", "VirtualService", "egress-" + name, ns, spec))
    return out
