# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Istio Helm releases (base, istiod, ingress and egress gateways) with the istioctl path's production values.

This file is private to the aksmesh.istio collection: its contents may change at any time.

Value names are those the upstream charts read (checked against the charts of the pinned Istio): istiod and the
``gateway`` chart take ``nodeSelector``, ``affinity`` and their autoscaling settings at the top level
(``values.global.defaultNodeSelector`` is not read by the istiod chart); istiod's PodDisruptionBudget comes with
``global.defaultPodDisruptionBudget``, the gateway's with ``podDisruptionBudget``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.ingress import static_ip_service
from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders.istio_operator import LINUX, anti_affinity, extension_providers
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError


def _merge(base, extra):
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _gateway_values(cfg, gw, service):
    hpa_min, hpa_max = int(cfg.get("hpa_min", 2)), int(cfg.get("hpa_max", 5))
    values = {"nodeSelector": dict(LINUX), "service": service,
              "autoscaling": {"enabled": True, "minReplicas": hpa_min, "maxReplicas": hpa_max}}
    if cfg.get("revision"):
        values["revision"] = cfg["revision"]
    if hpa_min > 1:
        values["podDisruptionBudget"] = {"minAvailable": 1}
    if cfg.get("anti_affinity", True):
        values["affinity"] = anti_affinity(gw["selector"])
    return values


def releases(cfg):
    """[{name, chart, namespace, values, depends_on}] in install order; ``cfg`` holds the istio_helm role's
    settings. ``depends_on`` names the releases that must be ready first (Flux ``dependsOn`` in render mode)."""
    hpa_min, hpa_max = int(cfg.get("hpa_min", 2)), int(cfg.get("hpa_max", 5))
    if hpa_min > hpa_max:
        raise MeshConfigError("istio_helm_hpa_min (%s) is greater than istio_helm_hpa_max (%s)" % (hpa_min, hpa_max))
    ns, revision = cfg["namespace"], cfg.get("revision") or ""
    istiod = {
        "nodeSelector": dict(LINUX),
        "autoscaleEnabled": True, "autoscaleMin": hpa_min, "autoscaleMax": hpa_max,
        "global": {"defaultPodDisruptionBudget": {"enabled": hpa_min > 1}},
        "meshConfig": {"outboundTrafficPolicy": {"mode": cfg.get("outbound_policy", "REGISTRY_ONLY")},
                       "accessLogFile": cfg.get("access_log_file", "/dev/stdout"),
                       "enablePrometheusMerge": bool(cfg.get("prometheus_merge", True))},
    }
    istiod["meshConfig"].update(extension_providers(cfg.get("tracing")))
    if revision:
        istiod["revision"] = revision
    if cfg.get("anti_affinity", True):
        istiod["affinity"] = anti_affinity({"app": "istiod"})
    base = {"name": "istio-base", "chart": "base", "namespace": ns, "values": {"defaultRevision": revision or "default"}}
    control = {"name": "istiod" + ("-" + revision if revision else ""), "chart": "istiod", "namespace": ns,
               "values": _merge(istiod, cfg.get("istiod_values")),
               "depends_on": [{"name": base["name"], "namespace": ns}]}
    after_control = [{"name": control["name"], "namespace": ns}]
    out = [base, control]
    ingress = cfg.get("ingress") or {}
    if ingress.get("enabled", True):
        spec, annotations = static_ip_service(ingress)
        service = dict(spec)
        if annotations:
            service["annotations"] = annotations
        out.append({"name": ingress["release"], "chart": "gateway", "namespace": ingress["namespace"],
                    "values": _merge(_gateway_values(cfg, ingress, service), cfg.get("gateway_values")),
                    "depends_on": after_control})
    egress = cfg.get("egress") or {}
    if egress.get("enabled", True) and egress.get("namespace"):
        out.append({"name": egress["release"], "chart": "gateway", "namespace": egress["namespace"],
                    "values": _gateway_values(cfg, egress, {"type": "ClusterIP"}), "depends_on": after_control})
    return out
