# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The production IstioOperator for AKS, built from settings (the runbook's final configuration).

This file is private to the aksmesh.istio collection: its contents may change at any time.

Profile ``default``; ingress gateway in its own namespace with the static IP (the ``azure-pip-name`` or
``azure-load-balancer-ipv4`` annotation, ``azure-load-balancer-resource-group`` when needed, optional DNS label);
egress gateway in its own namespace; HPA and pod anti-affinity for istiod and the gateways; Linux nodes only;
meshConfig with REGISTRY_ONLY outbound traffic, access logs, and Prometheus merge (the sidecars' metrics carry the
``prometheus.io`` annotations the sample Prometheus scrapes).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.ingress import static_ip_service
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError, obj

try:
    import yaml

    HAS_YAML = True
except ImportError:
    HAS_YAML = False

LINUX = {"kubernetes.io/os": "linux"}


def anti_affinity(labels):
    return {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
        "weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                           "labelSelector": {"matchLabels": labels}}}]}}


def extension_providers(tracing):
    """meshConfig.extensionProviders for tracing: OpenTelemetry to the collector ``tracing`` names
    ({provider, service, port}), which a Telemetry resource then turns on; empty when there is none."""
    if not tracing or not tracing.get("provider") or not tracing.get("service"):
        return {}
    return {"extensionProviders": [{"name": tracing["provider"], "opentelemetry": {
        "service": tracing["service"], "port": int(tracing.get("port") or 4317)}}]}


def _k8s(cfg, labels):
    k8s = {"hpaSpec": {"minReplicas": int(cfg.get("hpa_min", 2)), "maxReplicas": int(cfg.get("hpa_max", 5))},
           "nodeSelector": dict(LINUX)}
    if int(cfg.get("hpa_min", 2)) > int(cfg.get("hpa_max", 5)):
        raise MeshConfigError("hpa_min (%s) is greater than hpa_max (%s)" % (cfg.get("hpa_min"), cfg.get("hpa_max")))
    if cfg.get("anti_affinity", True):
        k8s["affinity"] = anti_affinity(labels)
    if cfg.get("resources"):
        k8s["resources"] = cfg["resources"]
    return k8s


def mesh_config(cfg):
    """The production meshConfig: REGISTRY_ONLY, access logs, Prometheus merge, tracing provider, user additions."""
    policy = cfg.get("outbound_policy", "REGISTRY_ONLY")
    if policy not in ("REGISTRY_ONLY", "ALLOW_ANY"):
        raise MeshConfigError("outbound_policy %r: use REGISTRY_ONLY or ALLOW_ANY" % policy)
    encoding = cfg.get("access_log_encoding", "TEXT")
    if encoding not in ("TEXT", "JSON"):
        raise MeshConfigError("access_log_encoding %r: use TEXT or JSON" % encoding)
    merge = bool(cfg.get("prometheus_merge", True))
    mesh = {"outboundTrafficPolicy": {"mode": policy}, "enablePrometheusMerge": merge,
            "accessLogFile": cfg.get("access_log_file", "/dev/stdout"), "accessLogEncoding": encoding}
    mesh.update(extension_providers(cfg.get("tracing")))
    mesh.update(cfg.get("mesh_config") or {})
    return mesh


def addon_shared_config(cfg):
    """The managed AKS add-on's mesh configuration, the documented way: the ConfigMap
    ``istio-shared-configmap-<revision>`` in ``aks-istio-system`` for each of ``revisions``, key ``mesh``."""
    if not cfg.get("revisions"):
        raise MeshConfigError("aks_mesh_addon_revisions is empty: the shared mesh ConfigMap is per add-on revision")
    if not HAS_YAML:
        raise MeshConfigError("PyYAML is needed to write the add-on's mesh configuration")
    text = yaml.safe_dump(mesh_config(cfg), default_flow_style=False, sort_keys=True)
    return [obj("v1", "ConfigMap", "istio-shared-configmap-%s" % revision, "aks-istio-system", "istio",
                data={"mesh": text}) for revision in cfg["revisions"]]


def build(cfg):
    ns = cfg.get("namespace") or "istio-system"
    mesh = mesh_config(cfg)
    ingress = cfg.get("ingress") or {}
    service, service_annotations = static_ip_service(ingress)
    service_annotations.update(ingress.get("service_annotations") or {})
    ing_k8s = _k8s(cfg, {"istio": "ingressgateway"})
    if service:
        ing_k8s["service"] = service
    if service_annotations:
        ing_k8s["serviceAnnotations"] = service_annotations
    egress = cfg.get("egress") or {}
    spec = {
        "profile": cfg.get("profile", "default"),
        "namespace": ns,
        "meshConfig": mesh,
        "values": {"global": {"istioNamespace": ns, "defaultNodeSelector": dict(LINUX)}},
        "components": {
            "pilot": {"enabled": True, "k8s": _k8s(cfg, {"app": "istiod"})},
            "ingressGateways": [{"name": ingress.get("name", "istio-ingressgateway"), "enabled":
                                 ingress.get("enabled", True), "namespace": ingress.get("namespace", "istio-ingress"),
                                 "k8s": ing_k8s}],
            "egressGateways": [{"name": egress.get("name", "istio-egressgateway"), "enabled": egress.get("enabled", True),
                                "namespace": egress.get("namespace", "istio-egress"),
                                "k8s": _k8s(cfg, {"istio": "egressgateway"})}],
        },
    }
    if cfg.get("revision"):
        spec["revision"] = cfg["revision"]
    if cfg.get("hub"):
        spec["hub"] = cfg["hub"]
    if cfg.get("tag"):
        spec["tag"] = cfg["tag"]
    return {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
            "metadata": {"name": cfg.get("name", "aksmesh"), "namespace": ns}, "spec": spec}


def gateway_namespaces(operator):
    comps = (operator.get("spec") or {}).get("components") or {}
    out = []
    for kind in ("ingressGateways", "egressGateways"):
        for gw in comps.get(kind) or []:
            if gw.get("enabled") and gw.get("namespace") and gw["namespace"] not in out:
                out.append(gw["namespace"])
    return out
