# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the ingress gateway listens: the Service per install method, and its address and ports."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._topology import METHODS, ingress_service

# install method -> (Service name, namespace) as each method names it (from the topology table)
SERVICES = dict((method, ingress_service(method)) for method in METHODS)
SERVICES["aks_addon_internal"] = ingress_service("aks_addon", internal=True)


def ingress_facts(svc):
    """Address and ports of a gateway Service, as the seed's jsonpath commands read them."""
    ingress = (((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [{}])[0]
    ports = dict((p.get("name") or str(p["port"]), p["port"]) for p in (svc.get("spec") or {}).get("ports") or [])
    node_ports = dict((p.get("name") or str(p["port"]), p["nodePort"])
                      for p in (svc.get("spec") or {}).get("ports") or [] if p.get("nodePort"))
    address = ingress.get("ip") or ingress.get("hostname")
    out = {"service": svc["metadata"]["name"], "namespace": svc["metadata"].get("namespace"),
           "type": (svc.get("spec") or {}).get("type"), "ip": ingress.get("ip"), "hostname": ingress.get("hostname"),
           "address": address, "ports": ports, "node_ports": node_ports,
           "http2_port": ports.get("http2"), "https_port": ports.get("https"),
           "requested_ip": (svc.get("spec") or {}).get("loadBalancerIP"),
           "annotations": (svc.get("metadata") or {}).get("annotations") or {}}
    urls = []
    if address and out["http2_port"]:
        urls.append("http://%s:%s" % (address, out["http2_port"]) if out["http2_port"] != 80 else "http://%s" % address)
    if address and out["https_port"]:
        urls.append("https://%s:%s" % (address, out["https_port"]) if out["https_port"] != 443
                    else "https://%s" % address)
    out["urls"] = urls
    return out
