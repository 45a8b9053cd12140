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

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import topology
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.ingress import static_ip_service
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError, obj

try:
    import yaml

    HAS_YAML = True
except ImportError:
    HAS_YAML = False

LINUX = {"kubernetes.io/os": "linux"}


def anti_affinity_rule(labels):
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


def replica_range(hpa_min, hpa_max):
    """(minimum, maximum) replicas of istiod and the gateways, the minimum no greater than the maximum."""
    if int(hpa_min) > int(hpa_max):
        raise MeshConfigError("hpa_min", "%s is greater than O(hpa_max) (%s)" % (hpa_min, hpa_max))
    return int(hpa_min), int(hpa_max)


def _k8s(replicas, anti_affinity, labels):
    k8s = {"hpaSpec": {"minReplicas": replicas[0], "maxReplicas": replicas[1]}, "nodeSelector": dict(LINUX)}
    if anti_affinity:
        k8s["affinity"] = anti_affinity_rule(labels)
    return k8s


def mesh_settings(outbound_policy, access_log_file, access_log_encoding, prometheus_merge, tracing, mesh_config):
    """The production meshConfig: REGISTRY_ONLY, access logs, Prometheus merge, tracing provider, user additions."""
    mesh = {"outboundTrafficPolicy": {"mode": outbound_policy}, "enablePrometheusMerge": bool(prometheus_merge),
            "accessLogFile": access_log_file, "accessLogEncoding": access_log_encoding}
    mesh.update(extension_providers(tracing))
    mesh.update(mesh_config or {})
    return mesh


def addon_shared_config(mesh, revisions, tracing):
    """The managed AKS add-on's mesh configuration, the documented way: the ConfigMap
    ``istio-shared-configmap-<revision>`` in ``aks-istio-system`` for each of ``revisions``, key ``mesh``; ``mesh``
    holds outbound_policy, access_log_file, access_log_encoding, prometheus_merge and mesh_config. ``tracing`` adds
    the tracing provider (``extensionProviders``, which AKS allows in the shared ConfigMap) as on the other
    methods; the addons' mesh-wide Telemetry in ``aks-istio-system`` turns it on."""
    if not revisions:
        raise MeshConfigError("revisions", "is empty: the shared mesh ConfigMap is per add-on revision")
    if not HAS_YAML:
        raise MeshConfigError("mesh", "PyYAML is needed to write the add-on's mesh configuration")
    text = yaml.safe_dump(mesh_settings(tracing=tracing, **mesh), default_flow_style=False, sort_keys=True)
    return [obj("v1", "ConfigMap", "istio-shared-configmap-%s" % revision, "aks-istio-system",
                data={"mesh": text}) for revision in revisions]


def cni_namespace_of(namespace, cni_enabled, cni_namespace):
    """Where the Istio CNI node agent goes: ``cni_namespace``, which must be the Istio ``namespace`` (upstream's
    default) or ``kube-system`` (the cni chart's advice where system-node-critical pods are confined to it): the
    install creates and cleanup removes no other namespace. Empty when the agent is off."""
    if not cni_enabled:
        return ""
    if cni_namespace not in (namespace, "kube-system"):
        raise MeshConfigError("cni_namespace", "%r: the Istio CNI node agent goes into the Istio namespace (%s) "
                                               "or kube-system" % (cni_namespace, namespace))
    return cni_namespace


def build(namespace, profile, revision, hub, tag, hpa_min, hpa_max, anti_affinity, outbound_policy,
          access_log_encoding, access_log_file, prometheus_merge, mesh_config, tracing, ingress_enabled,
          ingress_namespace, ingress_ip, ingress_ip_resource_group, ingress_dns_label, ingress_pip_name,
          ingress_load_balancer_ip, egress_enabled, egress_namespace, cni_enabled, cni_namespace,
          ingress_source_ranges=None):
    """The IstioOperator ``aksmesh`` installing into ``namespace``; with ``cni_enabled`` the ``cni`` component
    (the istio-cni-node DaemonSet) in ``cni_namespace`` and injection without istio-init."""
    if not namespace:
        raise MeshConfigError("namespace", "is empty: name the namespace to install Istio in")
    cni_ns = cni_namespace_of(namespace, cni_enabled, cni_namespace)
    replicas = replica_range(hpa_min, hpa_max)
    mesh = mesh_settings(outbound_policy, access_log_file, access_log_encoding, prometheus_merge, tracing,
                         mesh_config)
    service, service_annotations = static_ip_service({
        "ip": ingress_ip, "ip_resource_group": ingress_ip_resource_group, "dns_label": ingress_dns_label,
        "pip_name": ingress_pip_name, "load_balancer_ip": ingress_load_balancer_ip,
        "source_ranges": ingress_source_ranges})
    # the gateway components' names and pod labels: the istioctl row of the topology table
    ingress, egress = topology.gateway("istioctl", "ingress"), topology.gateway("istioctl", "egress")
    ing_k8s = _k8s(replicas, anti_affinity, ingress["selector"])
    if service:
        ing_k8s["service"] = service
    if service_annotations:
        ing_k8s["serviceAnnotations"] = service_annotations
    spec = {
        "profile": profile,
        "namespace": namespace,
        "meshConfig": mesh,
        "values": {"global": {"istioNamespace": namespace, "defaultNodeSelector": dict(LINUX)}},
        "components": {
            "pilot": {"enabled": True, "k8s": _k8s(replicas, anti_affinity, {"app": "istiod"})},
            "ingressGateways": [{"name": ingress["service"], "enabled": ingress_enabled,
                                 "namespace": ingress_namespace, "k8s": ing_k8s}],
            "egressGateways": [{"name": egress["service"], "enabled": egress_enabled,
                                "namespace": egress_namespace,
                                "k8s": _k8s(replicas, anti_affinity, egress["selector"])}],
        },
    }
    if cni_ns:
        # istioctl derives values.pilot.cni from the component too; it is written out so the intent is explicit
        spec["components"]["cni"] = {"enabled": True, "namespace": cni_ns}
        spec["values"]["pilot"] = {"cni": {"enabled": True}}
    if revision:
        spec["revision"] = revision
    if hub:
        spec["hub"] = hub
    if tag:
        spec["tag"] = tag
    return {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
            "metadata": {"name": "aksmesh", "namespace": namespace}, "spec": spec}
