"""HTTP front of the loopback Kubernetes API: URL routing, auth, content types, Table output."""

from __future__ import annotations

import datetime
import json
import re
import time

import yaml

from ..loopback import LoopbackServer, Response
from . import discovery
from .state import ApiError, ApiState

SERVER_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.4", "gitCommit": "loopback",
                  "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23.8",
                  "compiler": "gc", "platform": "linux/amd64"}
TOKEN = "loopback-admin-token"

PATCH_TYPES = {"application/json-patch+json": "json", "application/merge-patch+json": "merge",
               "application/strategic-merge-patch+json": "strategic", "application/apply-patch+yaml": "apply",
               "application/apply-patch+cbor": "apply"}

_RES = re.compile(r"^/(?:api/(?P<cv>v1)|apis/(?P<g>[^/]+)/(?P<v>[^/]+))(?P<rest>/.*)?$")


def _manager_from_agent(agent):
    """What the API server names a manager that did not say: the user agent up to the first '/'."""
    return (agent or "unknown").split("/")[0][:128]


class KubeApiServer(LoopbackServer):
    """A Kubernetes API on loopback. ``state`` holds the objects; ``version`` is served at /version."""

    def __init__(self, workdir, auto_ready=True, version=None, token=TOKEN):
        self.state = ApiState(auto_ready=auto_ready)
        self.version = dict(SERVER_VERSION, **(version or {}))
        self.token = token
        super().__init__(self.route, workdir, name="kube-api", client_ca=True)

    # ---- kubeconfig ---------------------------------------------------------------------
    def kubeconfig(self, path=None, context="loopback", namespace=None):
        import base64
        ca = base64.b64encode(self.ca.cert_pem.bytes()).decode()
        ctx = {"cluster": "loopback", "user": "loopback-admin"}
        if namespace:
            ctx["namespace"] = namespace
        cfg = {"apiVersion": "v1", "kind": "Config", "current-context": context, "preferences": {},
               "clusters": [{"name": "loopback", "cluster": {"server": self.url,
                                                             "certificate-authority-data": ca}}],
               "contexts": [{"name": context, "context": ctx}],
               "users": [{"name": "loopback-admin", "user": {"token": self.token}}]}
        if path:
            with open(path, "w", encoding="utf-8") as fh:
                yaml.safe_dump(cfg, fh)
        return cfg

    def issue_client_cert(self, common_name="loopback-user"):
        """A client certificate the server accepts instead of the token: (cert_path, key_path)."""
        leaf = self.ca.issue_cert(common_name)
        cert_path = self.workdir / f"{common_name}.crt"
        key_path = self.workdir / f"{common_name}.key"
        leaf.cert_chain_pems[0].write_to_path(str(cert_path))
        leaf.private_key_pem.write_to_path(str(key_path))
        return str(cert_path), str(key_path)

    # ---- routing --------------------------------------------------------------------------
    def route(self, req):
        if req.path in ("/healthz", "/livez", "/readyz"):
            return Response(200, "ok", content_type="text/plain")
        if req.headers.get("authorization") != f"Bearer {self.token}" and not req.client_cert:
            return Response(401, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                  "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
        try:
            return self._route(req)
        except ApiError as err:
            return Response(err.code, err.status())

    def _route(self, req):
        path = req.path.rstrip("/") or "/"
        reg = self.state.registry
        if req.method == "GET":
            if path == "/version":
                return Response(200, self.version)
            if path == "/api":
                return Response(200, discovery.api_versions())
            if path == "/apis":
                return Response(200, discovery.api_group_list(reg))
            if path == "/openapi/v3":
                return Response(200, discovery.openapi_root(reg))
            m = re.fullmatch(r"/openapi/v3/(?:api/(v1)|apis/([^/]+)/([^/]+))", path)
            if m:
                group, version = ("", "v1") if m.group(1) else (m.group(2), m.group(3))
                return Response(200, discovery.openapi_gv(reg, group, version))
            m = re.fullmatch(r"/apis/([^/]+)", path)
            if m:
                doc = discovery.api_group(reg, m.group(1))
                return Response(200, doc) if doc else self._not_found(path)
            m = re.fullmatch(r"/api/(v1)|/apis/([^/]+)/([^/]+)", path)
            if m:
                group, version = ("", "v1") if m.group(1) else (m.group(2), m.group(3))
                doc = discovery.resource_list(reg, group, version)
                return Response(200, doc) if doc else self._not_found(path)
        m = _RES.match(path)
        if not m or not m.group("rest"):
            return self._not_found(path)
        group, version = ("", "v1") if m.group("cv") else (m.group("g"), m.group("v"))
        parts = m.group("rest").strip("/").split("/")
        namespace = None
        if parts[0] == "namespaces" and len(parts) >= 3 and reg.get(group, version, parts[2]):
            namespace, parts = parts[1], parts[2:]
        rt = reg.get(group, version, parts[0])
        if rt is None:
            return self._not_found(path)
        name = parts[1] if len(parts) > 1 else None
        sub = parts[2] if len(parts) > 2 else None
        if sub and sub not in rt.subresources:
            return self._not_found(path)
        return self._dispatch(req, rt, namespace, name, sub)

    def _not_found(self, path):
        return Response(404, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": f"the server could not find the requested resource ({path})",
                              "reason": "NotFound", "details": {}, "code": 404})

    def _body(self, req):
        ctype = req.headers.get("content-type", "application/json").split(";")[0].strip()
        if not req.body:
            return ctype, None
        try:
            if ctype in ("application/apply-patch+yaml", "application/yaml"):
                try:  # JSON is YAML; parse it as JSON first (PyYAML would keep \ud83d-style surrogates apart)
                    return ctype, json.loads(req.body)
                except ValueError:
                    return ctype, yaml.safe_load(req.body)
            return ctype, json.loads(req.body)
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, "BadRequest", f"the body of the request could not be decoded: {exc}") from None

    def _dispatch(self, req, rt, namespace, name, sub):
        st = self.state
        dry_run = req.q("dryRun") == "All"
        manager = req.q("fieldManager") or _manager_from_agent(req.headers.get("user-agent"))
        if req.method == "GET":
            if req.q("watch") in ("true", "1"):
                return self._watch(req, rt, namespace, name)
            if name:
                return self._maybe_table(req, rt, st.get(rt, namespace, name), single=True)
            return self._maybe_table(req, rt, st.list(rt, namespace, req.q("labelSelector"),
                                                      req.q("fieldSelector")))
        if req.method == "POST" and not name:
            body = self._body(req)[1]
            return Response(201, st.create(rt, namespace, body, req.q("fieldManager") or
                                           _manager_from_agent(req.headers.get("user-agent")), dry_run))
        if req.method == "PUT" and name:
            body = self._body(req)[1]
            return Response(200, st.replace(rt, namespace, name, body, manager, dry_run, sub))
        if req.method == "PATCH" and name:
            ctype, body = self._body(req)
            patch_type = PATCH_TYPES.get(ctype)
            if patch_type is None:
                raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                               f"accepted media types include: {', '.join(PATCH_TYPES)}")
            exists = st.objects.get(st._key(rt, namespace, name)) is not None
            out = st.patch(rt, namespace, name, patch_type, body, manager, dry_run,
                           req.q("force") in ("true", "1"), sub)
            return Response(201 if patch_type == "apply" and not exists else 200, out)
        if req.method == "DELETE":
            if name:
                return Response(200, st.delete(rt, namespace, name, dry_run))
            return Response(200, st.delete_collection(rt, namespace, req.q("labelSelector"),
                                                      req.q("fieldSelector"), dry_run))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _watch(self, req, rt, namespace, name):
        """A watch: waits (up to timeoutSeconds, at most 5 s) for the matching set to change, then reports
        the changes as ADDED/MODIFIED/DELETED events and ends; clients re-list and re-watch as with any
        watch that the server closes."""

        def snapshot():
            listed = self.state.list(rt, namespace, req.q("labelSelector"), req.q("fieldSelector"))
            return {(i["metadata"].get("namespace"), i["metadata"]["name"]): i for i in listed["items"]
                    if not name or i["metadata"]["name"] == name}

        before = snapshot()
        deadline = time.monotonic() + min(float(req.q("timeoutSeconds") or 5), 5.0)
        after = before
        while time.monotonic() < deadline:
            time.sleep(0.05)
            after = snapshot()
            if {k: v["metadata"]["resourceVersion"] for k, v in after.items()} != \
                    {k: v["metadata"]["resourceVersion"] for k, v in before.items()}:
                break
        events = [{"type": "DELETED", "object": obj} for key, obj in before.items() if key not in after]
        for key, obj in after.items():
            if key not in before:
                events.append({"type": "ADDED", "object": obj})
            elif obj["metadata"]["resourceVersion"] != before[key]["metadata"]["resourceVersion"]:
                events.append({"type": "MODIFIED", "object": obj})
        return Response(200, "".join(json.dumps(e) + "\n" for e in events))

    def _maybe_table(self, req, rt, payload, single=False):
        if "as=Table" not in req.headers.get("accept", ""):
            return Response(200, payload)
        items = [payload] if single else payload["items"]
        now = datetime.datetime.now(datetime.timezone.utc)
        rows = []
        for item in items:
            meta = item["metadata"]
            created = datetime.datetime.strptime(meta["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=datetime.timezone.utc)
            age = int((now - created).total_seconds())
            rows.append({"cells": [meta["name"], f"{age}s"], "object": {
                "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}})
        table = {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                 "metadata": {"resourceVersion": self.state.resource_version},
                 "columnDefinitions": [
                     {"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0},
                     {"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0}],
                 "rows": rows}
        return Response(200, table)
