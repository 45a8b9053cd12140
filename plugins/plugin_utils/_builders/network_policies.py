# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Default-deny NetworkPolicies for the gateway namespaces, with the holes a gateway needs.

This file is private to the aksmesh.istio collection: its contents may change at any time.

The allow rules select the gateway pods of the install method in use (the topology table): a rule whose
selector matches no pod would leave ``default-deny`` cutting the gateway off.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import METRICS_PORTS, STATUS_PORT
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError, obj

DNS = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
       "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
NAMES = {"ingress": "allow-ingress-gateway", "egress": "allow-egress-gateway-from-mesh"}


def _namespace(name):
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _tcp(ports):
    return [{"protocol": "TCP", "port": p} for p in ports]


def _istiod(istio_ns):
    return {"to": [_namespace(istio_ns)], "ports": _tcp([15012, 15017])}


def _pol(name, ns, spec):
    return obj("networking.k8s.io/v1", "NetworkPolicy", name, ns, spec)


def _allow(gw, prometheus_ns):
    """The allow rule of one gateway workload: traffic ports (from anywhere for ingress, from the mesh for
    egress), the status port for health probes, the metrics ports from Prometheus's namespace."""
    role = gw["role"]
    traffic = {"ports": _tcp(gw.get("ports") or [])}
    if role == "egress":
        traffic["from"] = [{"namespaceSelector": {}}]
    rules = [traffic, {"ports": _tcp([STATUS_PORT])}]
    if prometheus_ns:
        rules.append({"from": [_namespace(prometheus_ns)], "ports": _tcp(METRICS_PORTS)})
    name = NAMES[role] if gw.get("name", role) == role else "allow-%s-gateway" % gw["name"].replace("_", "-")
    return _pol(name, gw["namespace"], {"podSelector": {"matchLabels": gw["selector"]}, "policyTypes": ["Ingress"],
                                        "ingress": rules})


def network_policies(mode, gateways, istio_namespace, prometheus_namespace):
    """``default-deny`` (or ``restrict-all``, egress too) for each namespace of the ``gateways`` workloads, with the
    allow rules each gateway needs; Prometheus in ``prometheus_namespace`` may scrape them."""
    if not istio_namespace:
        raise MeshConfigError("istio_namespace", "is empty: name the namespace istiod runs in")
    gateways = gateways or []
    for gw in gateways:
        if not gw.get("namespace") or gw.get("role") not in ("ingress", "egress") or not gw.get("selector") \
                or not gw.get("ports"):
            raise MeshConfigError("gateways", "entry %s needs namespace, role (ingress or egress), selector (the "
                                              "gateway pods' labels) and ports (their container ports)" % gw)
    out, done = [], set()
    types = ["Ingress", "Egress"] if mode == "restrict-all" else ["Ingress"]
    for gw in gateways:
        ns = gw["namespace"]
        if ns not in done:
            out.append(_pol("default-deny", ns, {"podSelector": {}, "policyTypes": types}))
        out.append(_allow(gw, prometheus_namespace))
        if mode == "restrict-all" and ns not in done:
            egress = [DNS, _istiod(istio_namespace)]
            if any(g["role"] == "ingress" for g in gateways if g["namespace"] == ns):
                egress.append({"to": [{"namespaceSelector": {}}]})  # to the services it routes to
            for egw in [g for g in gateways if g["namespace"] == ns and g["role"] == "egress"]:
                egress.append({"ports": _tcp(egw.get("external_ports") or [80, 443])})
            out.append(_pol("allow-gateway-egress", ns, {"podSelector": {}, "policyTypes": ["Egress"],
                                                         "egress": egress}))
        done.add(ns)
    return out
