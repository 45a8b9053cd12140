"""Discovery and OpenAPI v3 documents, built from the registry.

kubectl reads ``/api``, ``/apis`` and each group version's resource list (legacy
discovery: it falls back to it when the response is not the aggregated format),
and ``/openapi/v3`` to learn that the server validates fields itself
(``fieldValidation``) and which patch types each kind accepts. We do not declare
strategic merge patch in OpenAPI, so kubectl computes it from its built-in Go
types for core kinds and uses JSON merge patch for custom resources, as it does
against a real server for CRDs.
"""

from __future__ import annotations

import hashlib
import json

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def api_versions():
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}


def api_group_list(registry):
    groups = []
    for group, versions in sorted(registry.groups().items()):
        if not group:
            continue
        gv = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": gv, "preferredVersion": gv[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry, group):
    versions = registry.groups().get(group)
    if not versions:
        return None
    gv = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": gv, "preferredVersion": gv[0]}


def resource_list(registry, group, version):
    resources = []
    for rt in sorted(registry.all(), key=lambda r: r.plural):
        if rt.group != group or rt.version != version:
            continue
        resources.append({"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                          "kind": rt.kind, "verbs": VERBS, "shortNames": list(rt.short_names),
                          "storageVersionHash": hashlib.sha1(rt.plural.encode()).hexdigest()[:12]})
        for sub in rt.subresources:
            resources.append({"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced,
                              "kind": rt.kind if sub == "status" else "Scale", "verbs": ["get", "patch", "update"]})
    if not resources:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": resources}


def _gv_path(group, version):
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_root(registry):
    paths = {}
    for group, versions in registry.groups().items():
        for version in versions:
            doc = openapi_gv(registry, group, version)
            digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16].upper()
            path = _gv_path(group, version)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


def openapi_gv(registry, group, version):
    params = [{"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
              for name in ("dryRun", "fieldManager", "fieldValidation", "force")]
    content = {ct: {"schema": {"type": "object"}} for ct in (
        "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json")}
    paths = {}
    for rt in registry.all():
        if rt.group != group or rt.version != version:
            continue
        base = "/" + _gv_path(group, version) + ("/namespaces/{namespace}" if rt.namespaced else "")
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        op = {"operationId": f"patch{rt.kind}", "parameters": params,
              "requestBody": {"content": content, "required": True},
              "responses": {"200": {"description": "OK"}},
              "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk}
        paths[f"{base}/{rt.plural}/{{name}}"] = {"patch": op}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "unversioned"},
            "paths": paths, "components": {"schemas": {}}}
