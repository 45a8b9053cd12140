# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the ingress gateway listens: the Service per install method, and its address and ports.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import METHODS, ingress_service

# install method -> (Service name, namespace) as each method names it (from the topology table)
SERVICES = dict((method, ingress_service(method)) for method in METHODS)
SERVICES["aks_addon_internal"] = ingress_service("aks_addon", internal=True)


AZURE_PIP_NAME = "service.beta.kubernetes.io/azure-pip-name"
AZURE_IPV4 = "service.beta.kubernetes.io/azure-load-balancer-ipv4"
AZURE_RESOURCE_GROUP = "service.beta.kubernetes.io/azure-load-balancer-resource-group"
AZURE_DNS_LABEL = "service.beta.kubernetes.io/azure-dns-label-name"


def static_ip_service(ingress):
    """(Service spec fields, annotations) that pin the gateway to its static IP, the way AKS asks for it today.

    ``ingress``: ``pip_name`` (the public IP resource the static IP stage ensured: ``azure-pip-name``), else ``ip``
    (an address the user owns: ``azure-load-balancer-ipv4``); ``ip_resource_group`` when the IP is outside the node
    resource group; ``dns_label``; ``load_balancer_ip: true`` also sets the deprecated ``spec.loadBalancerIP``
    (only when a user asks for it); ``source_ranges``, the client networks the load balancer lets in
    (``spec.loadBalancerSourceRanges``; Azure writes them into the network security group), all when empty.
    """
    spec, annotations = {}, {}
    if ingress.get("source_ranges"):
        spec["loadBalancerSourceRanges"] = list(ingress["source_ranges"])
    if ingress.get("pip_name"):
        annotations[AZURE_PIP_NAME] = ingress["pip_name"]
    elif ingress.get("ip"):
        annotations[AZURE_IPV4] = ingress["ip"]
    if ingress.get("load_balancer_ip") and ingress.get("ip"):
        spec["loadBalancerIP"] = ingress["ip"]
    if ingress.get("ip_resource_group") and annotations:
        annotations[AZURE_RESOURCE_GROUP] = ingress["ip_resource_group"]
    if ingress.get("dns_label"):
        annotations[AZURE_DNS_LABEL] = ingress["dns_label"]
    return spec, annotations


def requested_ip(svc):
    """The static IP a gateway Service asks for: the ipv4 annotation, else the deprecated spec field."""
    annotations = (svc.get("metadata") or {}).get("annotations") or {}
    return annotations.get(AZURE_IPV4) or (svc.get("spec") or {}).get("loadBalancerIP")


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
           "requested_ip": requested_ip(svc),
           "requested_pip_name": ((svc.get("metadata") or {}).get("annotations") or {}).get(AZURE_PIP_NAME),
           "annotations": (svc.get("metadata") or {}).get("annotations") or {}}
    urls = []
    if address and out["http2_port"]:
        urls.append("http://%s:%s" % (address, out["http2_port"]) if out["http2_port"] != 80 else "http://%s" % address)
    if address and out["https_port"]:
        urls.append("https://%s:%s" % (address, out["https_port"]) if out["https_port"] != 443
                    else "https://%s" % address)
    out["urls"] = urls
    return out
