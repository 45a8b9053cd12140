# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Default-deny NetworkPolicies for the gateway namespaces, with the holes a gateway needs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils.mesh_common import MeshConfigError, obj

DNS = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
       "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}


def _istiod(istio_ns):
    return {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": istio_ns}}}],
            "ports": [{"protocol": "TCP", "port": 15012}, {"protocol": "TCP", "port": 15017}]}


def _pol(name, ns, spec):
    return obj("networking.k8s.io/v1", "NetworkPolicy", name, ns, "network-policies", spec)


def network_policies(config):
    mode = config.get("mode") or "default-deny"
    if mode not in ("default-deny", "restrict-all"):
        raise MeshConfigError("mesh_network_policies_mode %r: use default-deny or restrict-all" % mode)
    istio_ns = config.get("istio_namespace") or "istio-system"
    out = []
    gateways = config.get("gateways") or [
        {"namespace": "istio-ingress", "role": "ingress"}, {"namespace": "istio-egress", "role": "egress"}]
    for gw in gateways:
        ns, role = gw.get("namespace"), gw.get("role")
        if not ns or role not in ("ingress", "egress"):
            raise MeshConfigError("mesh_network_policies_gateways entry %s needs namespace and role "
                                  "(ingress or egress)" % gw)
        types = ["Ingress", "Egress"] if mode == "restrict-all" else ["Ingress"]
        out.append(_pol("default-deny", ns, {"podSelector": {}, "policyTypes": types}))
        if role == "ingress":
            ports = gw.get("ports") or [8080, 8443, 15021]
            out.append(_pol("allow-ingress-gateway", ns, {
                "podSelector": {"matchLabels": gw.get("selector") or {"istio": "ingressgateway"}},
                "policyTypes": ["Ingress"], "ingress": [{"ports": [{"protocol": "TCP", "port": p} for p in ports]}]}))
        else:
            ports = gw.get("ports") or [8080, 8443, 15021]
            out.append(_pol("allow-egress-gateway-from-mesh", ns, {
                "podSelector": {"matchLabels": gw.get("selector") or {"istio": "egressgateway"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"namespaceSelector": {}}],
                             "ports": [{"protocol": "TCP", "port": p} for p in ports]}]}))
        if mode == "restrict-all":
            egress = [DNS, _istiod(istio_ns)]
            if role == "ingress":
                egress.append({"to": [{"namespaceSelector": {}}]})  # to the services it routes to
            else:
                egress.append({"ports": [{"protocol": "TCP", "port": p} for p in gw.get("external_ports") or
                                         [80, 443]]})
            out.append(_pol("allow-gateway-egress", ns, {"podSelector": {}, "policyTypes": ["Egress"],
                                                         "egress": egress}))
    return out
