# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Istio's Bookinfo sample, placed for the install method in use: what the runbooks deploy to check the ingress.

This file is private to the aksmesh.istio collection: its contents may change at any time.

Upstream's files (``samples/bookinfo`` of the Istio release) assume the ``istioctl`` default layout: the Gateway in
the application's namespace selecting ``istio: ingressgateway`` and listening on the gateway pod's port 8080. Here:

- the application (``platform/kube/bookinfo.yaml``) goes into its own namespace, labelled for injection the way the
  control plane needs (``istio-injection=enabled``, or ``istio.io/rev=<revision>`` with a revision or the add-on);
- the Gateway (``networking/bookinfo-gateway.yaml``) goes into the namespace of the ingress gateway workload with
  that workload's selector, and listens on the gateway Service's port 80 (Istio maps a Service port to the pod's
  target port, which is 8080 for istioctl's gateway and 80 for the Helm chart's), as the gateways stage does;
- the VirtualService names ``<gateway namespace>/<gateway>`` and is exported to its own namespace and the gateway's;
  the DestinationRules (``networking/destination-rule-all.yaml``) are exported to their own namespace and to the
  gateway namespace for the hosts the gateway routes to (the gateways stage's rules, same code), with the subsets
  the application runs only (upstream's file names Deployments bookinfo.yaml does not hold: IST0173 on a cluster).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import injection
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import (
    MeshConfigError, gateway_routes, labels, name_of, obj)
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import owned_namespaces
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.names import SYSTEM_NAMESPACES
from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders import gateways

try:
    import yaml

    HAS_YAML = True
except ImportError:
    HAS_YAML = False

# manifest key -> its path below samples/bookinfo of the Istio release
FILES = {
    "bookinfo": "platform/kube/bookinfo.yaml",
    "gateway": "networking/bookinfo-gateway.yaml",
    "destination_rules": "networking/destination-rule-all.yaml",
}
HTTP_SERVER_PORT = {"number": 80, "name": "http", "protocol": "HTTP"}


def _docs(key, text):
    """The objects of one upstream file: its YAML text, or the objects already loaded."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d] if isinstance(text, str) else list(text or [])
    except yaml.YAMLError as exc:
        raise MeshConfigError("manifests", "%s (%s) is not YAML: %s" % (key, FILES[key], exc))
    if not docs or not all(isinstance(d, dict) and d.get("kind") for d in docs):
        raise MeshConfigError("manifests", "%s (%s) holds no Kubernetes objects" % (key, FILES[key]))
    return docs


def _of_kind(key, docs, kind):
    found = [d for d in docs if d["kind"] == kind]
    if not found:
        raise MeshConfigError("manifests", "%s (%s) has no %s: is it Istio's Bookinfo sample?" % (
            key, FILES[key], kind))
    return found


def check_namespace(namespace, istio_namespace, workloads):
    """The sample's namespace is its own: cleanup deletes it, so it may not be one the mesh or Kubernetes needs."""
    name_of("namespace", "the sample's namespace", "Namespace", namespace)
    mesh = sorted(owned_namespaces(istio_namespace, [w["namespace"] for w in workloads or []]))
    if namespace in SYSTEM_NAMESPACES or namespace in mesh:
        raise MeshConfigError("namespace", "%s is %s; cleanup deletes the sample's namespace, so give it one of its "
                                           "own (the default is bookinfo)" % (
                                               namespace, "a Kubernetes namespace" if namespace in SYSTEM_NAMESPACES else
                                               "a namespace of the mesh (%s)" % ", ".join(mesh)))


def _namespace(namespace, revision):
    extra = dict((k, v) for k, v in injection.desired_labels({"name": namespace}, revision).items() if v is not None)
    return obj("v1", "Namespace", namespace, None, extra_labels=extra)


def _application(docs, namespace):
    out = []
    for doc in docs:
        doc = copy.deepcopy(doc)
        meta = doc.setdefault("metadata", {})
        meta["namespace"] = namespace
        meta["labels"] = dict(meta.get("labels") or {}, **labels())
        out.append(doc)
    return out


def gateway_namespace(gateway_name, workloads, ingress_selector):
    """The namespace of the ingress gateway workload ``ingress_selector`` selects: where the Gateway must live."""
    if not ingress_selector:
        raise MeshConfigError("ingress_selector", "is empty: give the labels of the ingress gateway pods (the "
                                                  "install method's, by default)")
    try:
        return gateways.workload_namespace(ingress_selector, workloads or [], "gateway %s" % gateway_name)
    except MeshConfigError as exc:
        raise MeshConfigError("ingress_selector", "%s; set O(gateway_workloads) to where your ingress gateway runs"
                              % exc.message)


def _gateway(docs, gateway_name, workloads, ingress_selector):
    """Upstream's Gateway, in the ingress workload's namespace with its selector, on the Service's HTTP port."""
    upstream = _of_kind("gateway", docs, "Gateway")[0]
    servers = []
    for server in (upstream.get("spec") or {}).get("servers") or []:
        server = copy.deepcopy(server)
        if (server.get("port") or {}).get("protocol", "HTTP").upper() == "HTTP":
            server["port"] = dict(HTTP_SERVER_PORT)
        servers.append(server)
    if not servers:
        raise MeshConfigError("manifests", "gateway (%s): its Gateway has no servers" % FILES["gateway"])
    ns = gateway_namespace(gateway_name, workloads, ingress_selector)
    gw = obj("networking.istio.io/v1", "Gateway", gateway_name, ns,
             {"selector": dict(ingress_selector), "servers": servers})
    return [gw], {gateway_name: ns}, upstream["metadata"]["name"]


def _virtual_services(docs, namespace, gateway_name, upstream_gateway, placed):
    out = []
    for vs in _of_kind("gateway", docs, "VirtualService"):
        spec = vs.get("spec") or {}
        refs = [gateway_name if ref == upstream_gateway else ref for ref in spec.get("gateways") or []]
        item = {"name": vs["metadata"]["name"], "namespace": namespace, "hosts": spec.get("hosts"), "gateways": refs}
        for key in ("http", "tls", "tcp"):
            if spec.get(key):
                item[key] = spec[key]
        out.append(gateways.virtual_service(item, placed))
    return out


def _workload_labels(app):
    """The pod labels of each Deployment of the application."""
    return [((((doc.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {})
            for doc in app if doc.get("kind") == "Deployment"]


def _deployed(subsets, host, workloads):
    """The subsets some workload of the host's service runs: upstream's file also names ratings' v2-mysql and
    v2-mysql-vm, whose Deployments are not in bookinfo.yaml (istioctl analyze: IST0173, a subset that selects no
    pods)."""
    app = (host or "").split(".")[0]
    return [s for s in subsets or [] if any(
        pod.get("app") == app and all(pod.get(k) == v for k, v in (s.get("labels") or {}).items())
        for pod in workloads)]


def _destination_rules(docs, namespace, routes, workloads):
    out = []
    for dr in _of_kind("destination_rules", docs, "DestinationRule"):
        spec = dr.get("spec") or {}
        out.append(gateways.destination_rule({
            "name": dr["metadata"]["name"], "namespace": namespace, "host": spec.get("host"),
            "subsets": _deployed(spec.get("subsets"), spec.get("host"), workloads),
            "traffic_policy": spec.get("trafficPolicy")}, routes))
    return out


def sample_manifests(manifests, namespace, revision, gateway_name, gateway_workloads, ingress_selector,
                     istio_namespace, state):
    """``manifests``: {bookinfo, gateway, destination_rules: upstream file text or objects} -> the sample's objects:
    its labelled Namespace, the application, the Gateway in the ingress workload's namespace, the VirtualService and
    DestinationRules. With ``state`` absent only what removes it all: the Namespace and the Gateway (no files)."""
    check_namespace(namespace, istio_namespace, gateway_workloads)
    name_of("gateway_name", "the sample's Gateway", "Gateway", gateway_name)
    if state == "absent":
        ns = gateway_namespace(gateway_name, gateway_workloads, ingress_selector)
        return [obj("v1", "Namespace", namespace, None),
                obj("networking.istio.io/v1", "Gateway", gateway_name, ns)]
    missing = sorted(set(FILES) - set(manifests or {}))
    if missing:
        raise MeshConfigError("manifests", "missing %s: give the text of %s" % (
            ", ".join(missing), ", ".join(FILES[k] for k in missing)))
    try:
        app = _docs("bookinfo", manifests["bookinfo"])
        _of_kind("bookinfo", app, "Deployment")
        gw_docs = _docs("gateway", manifests["gateway"])
        gws, placed, upstream_gateway = _gateway(gw_docs, gateway_name, gateway_workloads, ingress_selector)
        vss = _virtual_services(gw_docs, namespace, gateway_name, upstream_gateway, placed)
        drs = _destination_rules(_docs("destination_rules", manifests["destination_rules"]), namespace,
                                 gateway_routes(vss), _workload_labels(app))
    except MeshConfigError as exc:
        if exc.option in ("manifests", "ingress_selector"):
            raise
        # the gateways stage's rules, applied to upstream's files: name the input they come from
        raise MeshConfigError("manifests", exc.render())
    return [_namespace(namespace, revision)] + _application(app, namespace) + gws + vss + drs
