# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where each install method puts things: the one table every role, builder and module reads.

This file is private to the aksmesh.istio collection: its contents may change at any time.

Read from the upstream sources each method installs:
- ``istioctl``: the IstioOperator this collection builds (``istio_operator.build``): gateways named
  ``istio-ingressgateway``/``istio-egressgateway``, pod label ``istio: ingressgateway``/``egressgateway``, Envoy
  listening on 8080/8443 behind Service ports 80/443 (the operator's gateway Service maps them); service accounts
  ``<gateway name>-service-account`` (what ``istioctl manifest generate`` renders for them).
- ``helm``: the ``gateway`` chart labels its pods ``istio: <release name without "istio-">`` and listens on 80/443
  (it sets ``net.ipv4.ip_unprivileged_port_start=0``); releases ``istio-ingress`` and ``istio-egressgateway``; its
  service account is the release name (``gateway.serviceAccountName``: ``serviceAccount.name``, else the release).
- ``aks_addon``: the managed add-on runs istiod in ``aks-istio-system`` (also the root namespace) and its
  gateways ``aks-istio-ingressgateway-external``/``-internal`` in ``aks-istio-ingress``, labelled
  ``istio: <gateway name>``, each running as the service account of its own name (the SPIFFE identity
  ``cluster.local/ns/aks-istio-ingress/sa/aks-istio-ingressgateway-external``); it injects only namespaces
  labelled ``istio.io/rev=<add-on revision>``. Its egress gateways (``aks_mesh_addon_egress_gateways``) run where
  AKS documents them (istio-deploy-egress): in ``aks-istio-egress`` unless the entry names another namespace, as
  a ClusterIP Service ``<name>`` (ports 80 and 443) and a Deployment ``<name>-<revision>`` whose pods are
  labelled ``istio: <name>``, the label a Gateway selects them by.

The service account is what an AuthorizationPolicy names the gateway by (its mTLS principal).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

METHODS = ("istioctl", "helm", "aks_addon")
# where the managed AKS add-on runs istiod (also the root namespace) and its ingress gateways
ADDON_NAMESPACE = "aks-istio-system"
ADDON_INGRESS_NAMESPACE = "aks-istio-ingress"
ADDON_EGRESS_NAMESPACE = "aks-istio-egress"  # where the add-on runs an egress gateway whose entry names no namespace
STATUS_PORT = 15021  # gateway health probes (kubelet and the Azure load balancer)
METRICS_PORTS = (15020, 15090)  # merged metrics (pilot-agent) and Envoy's own, scraped by Prometheus

_GATEWAYS = {
    "istioctl": {
        "ingress": {"service": "istio-ingressgateway", "namespace": "istio-ingress",
                    "selector": {"istio": "ingressgateway"}, "ports": [8080, 8443],
                    "service_account": "istio-ingressgateway-service-account"},
        "egress": {"service": "istio-egressgateway", "namespace": "istio-egress",
                   "selector": {"istio": "egressgateway"}, "ports": [8080, 8443],
                   "service_account": "istio-egressgateway-service-account"},
    },
    "helm": {
        "ingress": {"service": "istio-ingress", "namespace": "istio-ingress", "selector": {"istio": "ingress"},
                    "ports": [80, 443], "service_account": "istio-ingress"},
        "egress": {"service": "istio-egressgateway", "namespace": "istio-egress",
                   "selector": {"istio": "egressgateway"}, "ports": [80, 443],
                   "service_account": "istio-egressgateway"},
    },
    "aks_addon": {
        # Envoy ports of the managed gateways are not documented: admit both layouts
        "ingress": {"service": "aks-istio-ingressgateway-external", "namespace": ADDON_INGRESS_NAMESPACE,
                    "selector": {"istio": "aks-istio-ingressgateway-external"}, "ports": [80, 443, 8080, 8443],
                    "service_account": "aks-istio-ingressgateway-external"},
        "ingress_internal": {"service": "aks-istio-ingressgateway-internal", "namespace": ADDON_INGRESS_NAMESPACE,
                             "selector": {"istio": "aks-istio-ingressgateway-internal"},
                             "ports": [80, 443, 8080, 8443], "service_account": "aks-istio-ingressgateway-internal"},
    },
}


# the ingress APIs: Istio's (a Gateway workload the install method deploys, Istio Gateways and VirtualServices) or the
# Kubernetes Gateway API (a Gateway of class istio, which istiod deploys, and HTTPRoutes)
INGRESS_APIS = ("istio", "gateway_api")
# the Gateway API ingress: the one Gateway's name. istiod deploys it as <name>-<class> (Deployment, Service, service
# account), its pods labelled gateway.networking.k8s.io/gateway-name: <name>, Envoy on the listeners' own ports
GATEWAY_API_INGRESS = "ingress"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
# with the AKS add-on, the namespace of the Gateway API ingress unless aksmesh_ingress_namespace names one
GATEWAY_API_NAMESPACE = "istio-ingress"


def gateway_api_ingress(namespace):
    """The ingress row of the Gateway API ingress in ``namespace`` (what istiod deploys for the Gateway)."""
    deployed = GATEWAY_API_INGRESS + "-istio"
    return {"service": deployed, "namespace": namespace, "selector": {GATEWAY_NAME_LABEL: GATEWAY_API_INGRESS},
            "ports": [80, 443], "service_account": deployed}


class TopologyError(ValueError):
    """The settings ask for a layout the install method cannot have; the message names the setting and the fix."""


def owned_namespaces(istio_namespace, gateway_namespaces):
    """The namespaces the collection owns for a control plane: the Istio namespace (istiod, and the CNI node agent
    and the addons beside it), then the gateway namespaces, each once. The install creates them, cleanup deletes
    them, and no stage may take one as its own (cleanup of that stage would delete it)."""
    out = []
    for namespace in [istio_namespace] + list(gateway_namespaces or []):
        if namespace and namespace not in out:
            out.append(namespace)
    return out


def helm_gateway_selector(release):
    """The ``istio`` pod label the upstream gateway chart gives a release (its name without ``istio-``)."""
    return {"istio": release[len("istio-"):] if release.startswith("istio-") else release}


def topology(method, istio_namespace="", ingress_namespace="", egress_namespace="", revision="", ingress_api="istio"):
    """Namespaces, gateways (Service, namespace, pod selector, container ports) and injection label for a method.

    ``revision`` is the control-plane revision (istioctl/helm, empty for the default one) or the add-on's
    ``asm-x-y`` revision; namespace overrides apply to the istioctl and helm methods only. With ``ingress_api``
    gateway_api the ingress is the Gateway istiod deploys (``gateway_api_ingress``).
    """
    if method not in METHODS:
        raise TopologyError("install method %r: use one of %s" % (method, ", ".join(METHODS)))
    gateways = copy.deepcopy(_GATEWAYS[method])
    if ingress_api == "gateway_api":
        gateways["ingress"] = gateway_api_ingress(ingress_namespace or GATEWAY_API_NAMESPACE
                                                  if method == "aks_addon" else gateways["ingress"]["namespace"])
        # the Gateway replaces the add-on's own ingress gateways (their namespace may not even exist)
        gateways.pop("ingress_internal", None)
    if method == "aks_addon":
        # the Gateway API ingress is the collection's Gateway, in a namespace of its own (the add-on places only
        # its own gateways)
        own_ingress = ingress_api == "gateway_api"
        if own_ingress and ingress_namespace in (ADDON_NAMESPACE, ADDON_INGRESS_NAMESPACE, ADDON_EGRESS_NAMESPACE):
            raise TopologyError("aksmesh_ingress_namespace %r: the AKS add-on's own namespace, which it manages; the "
                                "Gateway API ingress goes to a namespace of the collection's (default %s)"
                                % (ingress_namespace, GATEWAY_API_NAMESPACE))
        for name, value in (("aksmesh_istio_namespace", istio_namespace),
                            ("aksmesh_ingress_namespace", "" if own_ingress else ingress_namespace),
                            ("aksmesh_egress_namespace", egress_namespace)):
            if value and value not in (ADDON_NAMESPACE, ADDON_INGRESS_NAMESPACE):
                raise TopologyError("%s %r: the AKS add-on places its control plane and gateways itself "
                                    "(%s, %s); remove the setting" % (name, value, ADDON_NAMESPACE,
                                                                      ADDON_INGRESS_NAMESPACE))
        istio_ns = ADDON_NAMESPACE
        injection = {"istio.io/rev": revision} if revision else {}
    else:
        istio_ns = istio_namespace or "istio-system"
        if ingress_namespace:
            gateways["ingress"]["namespace"] = ingress_namespace
        if egress_namespace:
            gateways["egress"]["namespace"] = egress_namespace
        injection = {"istio.io/rev": revision} if revision else {"istio-injection": "enabled"}
    for role, gw in gateways.items():
        gw["role"] = "egress" if role == "egress" else "ingress"
        gw["name"] = role
    namespaces = []
    for gw in gateways.values():
        if gw["namespace"] not in namespaces:
            namespaces.append(gw["namespace"])
    return {
        "method": method,
        "istio_namespace": istio_ns,
        "root_namespace": istio_ns,
        # Prometheus, Grafana, Kiali, Jaeger and their credential Secrets (never in the add-on's own namespace)
        "addons_namespace": "istio-system" if method == "aks_addon" else istio_ns,
        "gateways": gateways,
        "gateway_namespaces": namespaces,
        "owned_namespaces": owned_namespaces(istio_ns, namespaces),
        "injection_labels": injection,
        "status_port": STATUS_PORT,
        "metrics_ports": list(METRICS_PORTS),
    }


def addon_egress_gateway(name, namespace=""):
    """The row of the AKS add-on's egress gateway ``name`` (one entry of ``aks_mesh_addon_egress_gateways``):
    ``service``, ``namespace``, ``selector``, ``ports``, as the add-on lays it out (see above). Its service account
    is not documented: the row has none."""
    return {"service": name, "namespace": namespace or ADDON_EGRESS_NAMESPACE, "selector": {"istio": name},
            "ports": [80, 443], "role": "egress", "name": "egress"}


def gateway(method, name):
    """The default-layout row of the gateway ``name`` (``ingress``, ``ingress_internal``, ``egress``) of ``method``:
    ``service``, ``namespace``, ``selector``, ``ports``, ``service_account`` (a copy). What a builder of the
    method's own objects (the IstioOperator's gateway components) names and selects its gateways by."""
    return copy.deepcopy(_GATEWAYS[method][name])


def gateway_workloads(method):
    """[{selector, namespace}] of the default-layout gateways of ``method``, ingress first: what a check of
    Gateway placement (mesh_lint) assumes when it is told no gateway workloads."""
    return [{"selector": dict(gw["selector"]), "namespace": gw["namespace"]} for gw in _GATEWAYS[method].values()]


def ingress_service(method, internal=False):
    """(Service name, namespace) of the default-layout ingress gateway of ``method``."""
    gws = _GATEWAYS[method]
    gw = gws["ingress_internal"] if internal and "ingress_internal" in gws else gws["ingress"]
    return gw["service"], gw["namespace"]


# The workloads the collection and Istio ship, whatever the install method, as opposed to the user's: the label that
# marks each, on the workload or its pod template (a value of None: any value). Istio's own (istiod, the gateways of
# istioctl, Helm, the add-on or the user's own gateway releases, the CNI node agent, ztunnel) carry the ``istio``
# label or Istio's chart labels; the collection's addons the label the mesh_addons role stamps (ADDON_LABEL);
# cert-manager (the cert_manager role's release, named cert-manager) its chart's instance label. The one place this is
# known: mesh_lint checks the app/version labels (AKM0001) on the other, the user's, workloads only.
ADDON_LABEL = "aksmesh.io/addon"
SHIPPED = (
    ("the collection's addons (aksmesh.istio.mesh_addons)", ADDON_LABEL, None),
    ("Istio (its charts' part-of label)", "app.kubernetes.io/part-of", "istio"),
    ("Istio (an istioctl component)", "operator.istio.io/component", None),
    ("Istio (istiod or a gateway: the istio label)", "istio", None),
    ("Istio (istiod)", "app", "istiod"),
    ("Istio (the CNI node agent)", "k8s-app", "istio-cni-node"),
    ("Istio (ztunnel)", "app", "ztunnel"),
    ("cert-manager (its chart, aksmesh.istio.cert_manager)", "app.kubernetes.io/instance", "cert-manager"),
)


def shipped_by(workload):
    """Who ships ``workload`` (a Deployment, StatefulSet or DaemonSet), from the SHIPPED table: the collection or
    Istio; "" when it is the user's."""
    meta = workload.get("metadata") or {}
    template = ((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}
    for labels in (meta.get("labels") or {}, template.get("labels") or {}):
        for who, key, value in SHIPPED:
            if key in labels and (value is None or labels[key] == value):
                return who
    return ""
