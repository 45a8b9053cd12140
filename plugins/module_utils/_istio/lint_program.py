# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh_lint module's program: the objects of files, definitions or the live mesh linted with the
collection's rules (module_utils/_istio/mesh_lint.py).

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import analyze as analysis
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import mesh_lint, topology
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors, manifests, names
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import connect
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import RestClient

LIVE_KINDS = (("apps", "v1", "deployments"), ("apps", "v1", "statefulsets"), ("apps", "v1", "daemonsets"),
              ("networking.istio.io", "v1", "gateways"), ("networking.istio.io", "v1", "virtualservices"),
              ("networking.istio.io", "v1", "serviceentries"), ("security.istio.io", "v1", "peerauthentications"),
              ("security.istio.io", "v1", "authorizationpolicies"), ("", "v1", "namespaces"))
KINDS = {"deployments": "Deployment", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet",
         "gateways": "Gateway", "virtualservices": "VirtualService", "serviceentries": "ServiceEntry",
         "peerauthentications": "PeerAuthentication", "authorizationpolicies": "AuthorizationPolicy",
         "namespaces": "Namespace"}


def argument_spec():
    """The mesh_lint module's options (plugins/modules/mesh_lint.py documents them)."""
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(
        src=dict(type="list", elements="path", default=[]), definitions=dict(type="raw"),
        root_namespace=dict(type="str", default="istio-system"),
        gateway_workloads=dict(type="list", elements="dict"),
        partial=dict(type="bool", default=False), mesh_namespaces=dict(type="bool", default=False), suppress=dict(type="list", elements="str", default=[]),
        output_threshold=dict(type="str", choices=["Info", "Warning", "Error"], default="Info"),
        fail_level=dict(type="str", choices=["Info", "Warning", "Error", "never"], default="Error"))
    return spec


def live_objects(module, root):
    rest = RestClient(connect(module), timeout=module.params["request_timeout"])
    out = []
    for group, version, plural in LIVE_KINDS:
        path = "/apis/%s/%s/%s" % (group, version, plural) if group else "/api/%s/%s" % (version, plural)
        listed = rest.request("GET", path, ok_missing=True) or {}
        for item in listed.get("items", []):
            item.setdefault("apiVersion", "%s/%s" % (group, version) if group else version)
            item.setdefault("kind", KINDS[plural])
            out.append(item)
    mesh = rest.request("GET", "/api/v1/namespaces/%s/configmaps" % names.segment("Namespace", root), {"labelSelector": "istio.io/rev"},
                        ok_missing=True) or {}
    for item in mesh.get("items", []):
        if item["metadata"]["name"].startswith("istio") and "mesh" in (item.get("data") or {}):
            item.update(apiVersion="v1", kind="ConfigMap")
            out.append(item)
    return out


def lint(module):
    p = module.params
    try:
        if p["src"] or p["definitions"] is not None:
            pairs = manifests.expand([p["definitions"]]) if p["definitions"] is not None else []
            pairs += manifests.load_paths(p["src"])
            objs = [obj for obj, _where in manifests.expand(pairs) if isinstance(obj, dict)]
        else:
            objs = live_objects(module, p["root_namespace"])
    except manifests.ManifestError as exc:
        module.fail_json(msg=str(exc))
    wrong = [error for error in (manifests.header_error("document %d" % (index + 1), obj)
                                 for index, obj in enumerate(objs)) if error]
    if wrong:
        module.fail_json(msg="definitions: %s. Nothing was linted" % "; ".join(wrong))
    workloads = p["gateway_workloads"] if p["gateway_workloads"] is not None else topology.gateway_workloads("istioctl")
    for index, workload in enumerate(workloads):
        if not (isinstance(workload.get("namespace"), str) and workload["namespace"]
                and isinstance(workload.get("selector"), dict) and workload["selector"]):
            module.fail_json(msg="gateway_workloads[%d]: expected {selector: the workload's labels (a mapping), "
                                 "namespace: its namespace}, got %r" % (index, workload))
    ctx = {"root_namespace": p["root_namespace"], "workloads": workloads, "partial": p["partial"],
           "require_mesh_policy": not p["partial"]}
    messages = mesh_lint.lint(objs, ctx, p["suppress"], p["output_threshold"])
    if p["mesh_namespaces"]:
        mesh = analysis.mesh_namespaces(obj for obj in objs if obj.get("kind") == "Namespace")
        messages = analysis.concerning(messages, mesh)
    counts = mesh_lint.counts(messages)
    result = dict(changed=False, messages=messages, counts=counts, checked=len(objs))
    if p["fail_level"] != "never" and any(mesh_lint.LEVELS[m["level"]] >= mesh_lint.LEVELS[p["fail_level"]]
                                          for m in messages):
        module.fail_json(msg="mesh lint found %d error(s), %d warning(s): %s" % (
            counts["Error"], counts["Warning"], "; ".join("%s %s" % (m["code"], m["message"]) for m in messages[:5])),
            **result)
    return result


def run(module):
    """The mesh_lint module: its checks, then its work on the module's connection."""
    names.require(module, [("Namespace", module.params["root_namespace"], "root_namespace")])
    if module.params["mesh_namespaces"] and (module.params["src"] or module.params["definitions"] is not None):
        module.fail_json(msg="mesh_namespaces=true keeps the findings in the namespaces of the mesh on the live "
                             "cluster: it does not apply to src or definitions; remove one of them")
    errors.run(module, lambda: lint(module), what="reading the cluster failed")
