# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The customizations of the Gateway API ingress's deployed resources (``aksmesh_ingress_gateway_customizations``).

This file is private to the aksmesh.istio collection: its contents may change at any time.

istiod deploys a Deployment, a Service, a ServiceAccount and, when asked, a HorizontalPodAutoscaler and a
PodDisruptionBudget for a ``Gateway`` of class ``istio``; a ConfigMap that the Gateway names in
``spec.infrastructure.parametersRef`` overlays them (a strategic merge patch per key: Istio's gateway customization,
``pilot/pkg/config/kube/gatewaycommon/deploymentcontroller.go``'s supportedOverlays). The AKS add-on takes such a
ConfigMap too, but its webhook refuses every field outside AKS's resource customization allow list (AKS
documentation, istio-gateway-api, "Resource customization allowlist"): the add-on method is checked against that list
here, before anything changes, and the variable's path of the first field outside it is named.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# the ConfigMap keys istiod reads, each the resource it overlays
UPSTREAM = ("deployment", "service", "serviceAccount", "horizontalPodAutoscaler", "podDisruptionBudget")

# AKS's resource customization allow list for the add-on's Gateways: per key, the field paths that may be set (a
# path covers what is below it; the items of a list are walked with the list's path)
AKS_ALLOW_LIST = {
    "deployment": (
        "metadata.labels", "metadata.annotations", "spec.replicas",
        "spec.template.metadata.labels", "spec.template.metadata.annotations",
        "spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
        "spec.template.spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution",
        "spec.template.spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution",
        "spec.template.spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution",
        "spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution",
        "spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution",
        "spec.template.spec.containers.resizePolicy", "spec.template.spec.containers.resources.limits",
        "spec.template.spec.containers.resources.requests", "spec.template.spec.containers.stdin",
        "spec.template.spec.containers.stdinOnce",
        # the strategic merge key of a container: which container the fields above are for
        "spec.template.spec.containers.name",
        "spec.template.spec.nodeSelector", "spec.template.spec.nodeName", "spec.template.spec.tolerations",
        "spec.template.spec.topologySpreadConstraints",
    ),
    "service": (
        "metadata.labels", "metadata.annotations", "spec.type", "spec.loadBalancerSourceRanges",
        "spec.loadBalancerClass", "spec.externalTrafficPolicy", "spec.internalTrafficPolicy",
    ),
    "horizontalPodAutoscaler": (
        "metadata.labels", "metadata.annotations",
        "spec.behavior.scaleUp.stabilizationWindowSeconds", "spec.behavior.scaleUp.selectPolicy",
        "spec.behavior.scaleUp.policies", "spec.behavior.scaleDown.stabilizationWindowSeconds",
        "spec.behavior.scaleDown.selectPolicy", "spec.behavior.scaleDown.policies",
        "spec.metrics", "spec.minReplicas", "spec.maxReplicas",
    ),
    "podDisruptionBudget": (
        "metadata.labels", "metadata.annotations", "spec.minAvailable", "spec.unhealthyPodEvictionPolicy",
    ),
}
# AKS: an HPA's minReplicas must not be below this
AKS_MIN_REPLICAS = 2

VARIABLE = "aksmesh_ingress_gateway_customizations"


def _leaves(value, path):
    """The paths (tuples) of every value set below ``value``; a list's items are walked with the list's path, and a
    list of plain values is one leaf."""
    if isinstance(value, dict):
        if not value:
            return [path]
        out = []
        for key in sorted(value, key=str):
            out += _leaves(value[key], path + (str(key),))
        return out
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        out = []
        for item in value:
            out += [leaf for leaf in _leaves(item, path) if leaf not in out]
        return out
    return [path]


def _allowed(leaf, allowed):
    return any(leaf[:len(prefix)] == prefix for prefix in allowed)


def problem(customizations, aks_allow_list):
    """Why ``customizations`` (the variable's value) cannot be given to istiod (or, with ``aks_allow_list``, to the
    AKS add-on): ``(path, reason)``, the path inside the value (``.deployment.spec``, "" for the whole); None when it
    can. ``message`` words it for the inventory variable."""
    if not isinstance(customizations, dict):
        return "", "expected a mapping of %s to their overlays, got %r" % (", ".join(UPSTREAM), customizations)
    keys = AKS_ALLOW_LIST if aks_allow_list else UPSTREAM
    for key in sorted(customizations, key=str):
        overlay = customizations[key]
        if key not in keys:
            return "." + str(key), "%s customizes %s only%s" % (
                "the AKS add-on" if aks_allow_list else "istiod", ", ".join(keys),
                " (its allow list has no serviceAccount)" if aks_allow_list and key in UPSTREAM else "")
        if not isinstance(overlay, dict):
            return "." + key, "expected the overlay of the %s as a mapping (metadata, spec), got %r" % (key, overlay)
        if not aks_allow_list:
            continue
        allowed = [tuple(path.split(".")) for path in AKS_ALLOW_LIST[key]]
        for leaf in _leaves(overlay, ()):
            if not _allowed(leaf, allowed):
                return (".%s.%s" % (key, ".".join(leaf)),
                        "not on the AKS add-on's resource customization allow list (its webhook refuses it): for the "
                        "%s it takes %s" % (key, ", ".join(AKS_ALLOW_LIST[key])))
        low = (overlay.get("spec") or {}).get("minReplicas") if key == "horizontalPodAutoscaler" else None
        if low is not None and (isinstance(low, bool) or not isinstance(low, int) or low < AKS_MIN_REPLICAS):
            return ".horizontalPodAutoscaler.spec.minReplicas", "%r: the AKS add-on takes %d or more" % (
                low, AKS_MIN_REPLICAS)
    return None


def message(found):
    """The settings' message of what ``problem`` found."""
    return "%s%s: %s" % (VARIABLE, found[0], found[1])


def with_source_ranges(customizations, source_ranges):
    """The overlays (a copy) with the Service's ``loadBalancerSourceRanges`` (aksmesh_ingress_source_ranges) added."""
    out = dict((key, dict(value)) for key, value in (customizations or {}).items())
    if source_ranges:
        service = out.setdefault("service", {})
        service["spec"] = dict(service.get("spec") or {}, loadBalancerSourceRanges=list(source_ranges))
    return out
