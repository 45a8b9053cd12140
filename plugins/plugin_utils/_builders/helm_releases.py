# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Istio Helm releases (base, istiod, ingress and egress gateways) with the istioctl path's production values.

This file is private to the aksmesh.istio collection: its contents may change at any time.

Value names are those the upstream charts read (checked against the charts of the pinned Istio): istiod and the
``gateway`` chart take ``nodeSelector``, ``affinity`` and their autoscaling settings at the top level
(``values.global.defaultNodeSelector`` is not read by the istiod chart); istiod's PodDisruptionBudget comes with
``global.defaultPodDisruptionBudget``, the gateway's with ``podDisruptionBudget``. The ``cni`` chart (the Istio CNI
node agent) goes in before istiod, whose injector then reads ``pilot.cni.enabled``, as upstream's CNI guide installs
them; its defaults (``/opt/cni/bin``, ``/etc/cni/net.d``, Linux nodes, every taint tolerated) are AKS's, so it takes
no values of ours.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.ingress import static_ip_service
from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders.istio_operator import (
    LINUX, anti_affinity_rule, cni_namespace_of, extension_providers, replica_range)
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError


def _merge(base, extra):
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def istiod_release(revision):
    """The istiod chart's release of a control-plane revision: ``istiod``, ``istiod-<revision>`` for a canary
    (``""`` and ``default`` are the default revision). The one place the name is made: the releases below, the
    ``istiod_release`` filter (the Helm upgrade's removal of the old revision)."""
    return "istiod" + ("-" + revision if revision and revision != "default" else "")


def _gateway_values(selector, service, revision, replicas, anti_affinity):
    values = {"nodeSelector": dict(LINUX), "service": service,
              "autoscaling": {"enabled": True, "minReplicas": replicas[0], "maxReplicas": replicas[1]}}
    if revision:
        values["revision"] = revision
    if replicas[0] > 1:
        values["podDisruptionBudget"] = {"minAvailable": 1}
    if anti_affinity:
        values["affinity"] = anti_affinity_rule(selector)
    return values


def releases(namespace, revision, revision_tags, hpa_min, hpa_max, anti_affinity, outbound_policy, access_log_file,
             prometheus_merge, istiod_values, gateway_values, tracing, ingress_enabled, ingress_release,
             ingress_namespace, ingress_selector, ingress_ip, ingress_ip_resource_group, ingress_pip_name,
             ingress_load_balancer_ip, egress_enabled, egress_release, egress_namespace, egress_selector, cni_enabled,
             cni_release, cni_namespace, profile, ztunnel_release, ingress_source_ranges=None):
    """[{name, chart, namespace, values, depends_on}] in install order, base and istiod in ``namespace``, with
    ``cni_enabled`` the ``cni`` chart (release ``cni_release`` in ``cni_namespace``) between them. With ``profile``
    ambient (Istio's Helm install of ambient mode) istiod and the cni chart get the chart profile ``ambient``, the
    cni chart is installed whatever ``cni_enabled`` says (ambient redirects through it), and the ``ztunnel`` chart
    (release ``ztunnel_release`` in ``namespace``) follows istiod.
    ``depends_on`` names the releases that must be ready first (Flux ``dependsOn`` in render mode)."""
    if not namespace:
        raise MeshConfigError("namespace", "is empty: name the namespace of base and istiod")
    ambient = profile == "ambient"
    cni_ns = cni_namespace_of(namespace, cni_enabled or ambient, cni_namespace)
    replicas = replica_range(hpa_min, hpa_max)
    revision = revision or ""
    istiod = {
        "nodeSelector": dict(LINUX),
        "autoscaleEnabled": True, "autoscaleMin": replicas[0], "autoscaleMax": replicas[1],
        "global": {"defaultPodDisruptionBudget": {"enabled": replicas[0] > 1}},
        "meshConfig": {"outboundTrafficPolicy": {"mode": outbound_policy},
                       "accessLogFile": access_log_file,
                       "enablePrometheusMerge": bool(prometheus_merge)},
    }
    istiod["meshConfig"].update(extension_providers(tracing))
    if revision:
        istiod["revision"] = revision
    if revision_tags:  # the istiod chart renders a MutatingWebhookConfiguration istio-revision-tag-<tag> per tag
        istiod["revisionTags"] = list(revision_tags)
    if anti_affinity:
        istiod["affinity"] = anti_affinity_rule({"app": "istiod"})
    base = {"name": "istio-base", "chart": "base", "namespace": namespace,
            "values": {"defaultRevision": revision or "default"}}
    out = [base]
    before_control = [{"name": base["name"], "namespace": namespace}]
    if cni_ns:
        if not cni_release:
            raise MeshConfigError("cni_release", "is empty: name the release of the cni chart")
        istiod["pilot"] = {"cni": {"enabled": True}}
        out.append({"name": cni_release, "chart": "cni", "namespace": cni_ns,
                    "values": {"profile": "ambient"} if ambient else {}, "depends_on": list(before_control)})
        before_control.append({"name": cni_release, "namespace": cni_ns})
    if ambient:
        istiod["profile"] = "ambient"
    control = {"name": istiod_release(revision), "chart": "istiod", "namespace": namespace,
               "values": _merge(istiod, istiod_values), "depends_on": before_control}
    after_control = [{"name": control["name"], "namespace": namespace}]
    out.append(control)
    if ambient:
        if not ztunnel_release:
            raise MeshConfigError("ztunnel_release", "is empty: name the release of the ztunnel chart")
        ztunnel = {"profile": "ambient"}  # the chart's own nodeSelector is Linux (a second one renders it twice)
        if revision:
            ztunnel["revision"] = revision
        out.append({"name": ztunnel_release, "chart": "ztunnel", "namespace": namespace, "values": ztunnel,
                    "depends_on": list(after_control)})
    if ingress_enabled:
        spec, annotations = static_ip_service({"ip": ingress_ip, "ip_resource_group": ingress_ip_resource_group,
                                               "pip_name": ingress_pip_name,
                                               "load_balancer_ip": ingress_load_balancer_ip,
                                               "source_ranges": ingress_source_ranges})
        service = dict(spec)
        if annotations:
            service["annotations"] = annotations
        values = _gateway_values(ingress_selector, service, revision, replicas, anti_affinity)
        out.append({"name": ingress_release, "chart": "gateway", "namespace": ingress_namespace,
                    "values": _merge(values, gateway_values), "depends_on": after_control})
    if egress_enabled and egress_namespace:
        out.append({"name": egress_release, "chart": "gateway", "namespace": egress_namespace,
                    "values": _gateway_values(egress_selector, {"type": "ClusterIP"}, revision, replicas,
                                              anti_affinity),
                    "depends_on": after_control})
    return out
