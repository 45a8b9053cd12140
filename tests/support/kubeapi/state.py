"""The stateful core of the loopback Kubernetes API: objects, versions, ownership.

No HTTP here: :class:`ApiState` takes parsed requests and returns objects or raises
:class:`ApiError`, which the HTTP front turns into ``Status`` bodies.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import itertools
import json
import threading
import uuid

import jsonpatch

from . import fieldsets as fs
from .merge import apply_merge, canonical, json_merge_patch, strategic_merge_patch
from .registry import META_MERGE_KEYS, Registry
from .selectors import parse_field_selector, parse_label_selector


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _details(rt, name):
    return {"name": name, "group": rt.group, "kind": rt.plural}


def not_found(rt, name):
    gr = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
    return ApiError(404, "NotFound", f'{gr} "{name}" not found', _details(rt, name))


def invalid(rt, name, message, field=None):
    gk = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    details = _details(rt, name)
    details["kind"] = rt.kind
    details["causes"] = [{"reason": "FieldValueInvalid", "message": message, "field": field or "metadata"}]
    return ApiError(422, "Invalid", f'{gk} "{name}" is invalid: {field or "metadata"}: {message}', details)


class ApiState:
    """All objects of one loopback cluster, guarded by one lock."""

    def __init__(self, auto_ready=True, lb_ip_prefix="20.50.0."):
        self.registry = Registry()
        self.lock = threading.RLock()
        self.objects = {}  # (group, plural, namespace, name) -> object
        self._rv = itertools.count(1000)
        self._ip = itertools.count(10)
        self.auto_ready = auto_ready
        self.namespace_finalize_seconds = 0.3
        self.lb_ip_prefix = lb_ip_prefix
        self.resource_version = "1000"
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.create(self.registry.get("", "v1", "namespaces"), None,
                        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, "kube-apiserver")

    # ---- helpers -------------------------------------------------------------------
    def _next_rv(self):
        self.resource_version = str(next(self._rv))
        return self.resource_version

    @staticmethod
    def list_keys(rt):
        return fs.ListKeys(rt.merge_keys, META_MERGE_KEYS)

    def _key(self, rt, namespace, name):
        return (rt.group, rt.plural, namespace if rt.namespaced else None, name)

    def _out(self, rt, obj):
        out = copy.deepcopy(obj)
        out["apiVersion"] = rt.api_version
        return out

    def _check_namespace(self, rt, namespace):
        if not rt.namespaced:
            return
        if not namespace:
            raise ApiError(400, "BadRequest", "the namespace of the object must be set")
        ns = self.objects.get(("", "namespaces", None, namespace))
        if ns is None:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                           {"name": namespace, "kind": "namespaces"})
        if ns["metadata"].get("deletionTimestamp"):
            raise ApiError(403, "Forbidden", f"unable to create new content in namespace {namespace} because it "
                           "is being terminated", {"name": namespace, "kind": "namespaces"})

    def _validate(self, rt, obj, namespace, name=None):
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the body of the request was not an object")
        meta = obj.setdefault("metadata", {})
        if obj.get("kind") and obj["kind"] != rt.kind:
            raise ApiError(400, "BadRequest",
                           f"the kind in the body ({obj['kind']}) does not match the URL's resource ({rt.plural})")
        group = obj.get("apiVersion", rt.api_version).rpartition("/")[0]
        if group != rt.group:
            raise ApiError(400, "BadRequest", f"the API version in the data ({obj.get('apiVersion')}) "
                           f"does not match the expected API version ({rt.api_version})")
        if name and meta.get("name") and meta["name"] != name:
            raise ApiError(400, "BadRequest", "the name of the object "
                           f"({meta['name']}) does not match the name on the URL ({name})")
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            else:
                raise invalid(rt, "", "Required value: name or generateName is required", "metadata.name")
        if rt.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match "
                               "the namespace sent on the request")
            meta["namespace"] = namespace or meta.get("namespace")
        else:
            meta.pop("namespace", None)
        for label, value in (meta.get("labels") or {}).items():
            if not isinstance(value, str) or len(value) > 63:
                raise invalid(rt, meta["name"], f"Invalid value: {value!r}: a valid label must be a string "
                              "of at most 63 characters", f"metadata.labels.{label}")
        if rt.kind == "Secret":
            for key, value in (obj.get("stringData") or {}).items():
                obj.setdefault("data", {})[key] = base64.b64encode(str(value).encode()).decode()
            obj.pop("stringData", None)
            for key, value in (obj.get("data") or {}).items():
                try:
                    base64.b64decode(value or "", validate=True)
                except (binascii.Error, TypeError):
                    raise invalid(rt, meta["name"], f"Invalid value: {key}: illegal base64 data",
                                  f"data[{key}]") from None
        return meta["name"]

    # ---- admission defaults and simulated controllers ------------------------------
    def _default(self, rt, obj):
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else None
        if rt.kind == "Service" and spec is not None:
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            if spec.get("clusterIP") is None and spec.get("type") != "ExternalName":
                spec["clusterIP"] = f"10.0.{next(self._ip) // 250}.{next(self._ip) % 250}"
            for port in spec.get("ports") or []:
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
        if rt.kind in ("Deployment", "StatefulSet") and spec is not None:
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
        if rt.kind == "Deployment" and spec is not None:
            spec.setdefault("progressDeadlineSeconds", 600)
        if rt.kind in ("Deployment", "DaemonSet", "StatefulSet", "Job", "ReplicaSet") and spec is not None:
            pod = ((spec.get("template") or {}).get("spec")) or {}
            for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
                for port in container.get("ports") or []:
                    port.setdefault("protocol", "TCP")
        if rt.kind == "Namespace":
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])

    def _controllers(self, rt, obj):
        """What a cluster's controllers would soon write to status, done at once."""
        status = obj.setdefault("status", {}) if rt.kind in (
            "Namespace", "CustomResourceDefinition", "Deployment", "DaemonSet", "StatefulSet", "Service") else None
        if rt.kind == "Namespace":
            status["phase"] = "Terminating" if obj["metadata"].get("deletionTimestamp") else "Active"
        elif rt.kind == "CustomResourceDefinition":
            status["acceptedNames"] = copy.deepcopy(obj["spec"].get("names", {}))
            status["storedVersions"] = [v["name"] for v in obj["spec"].get("versions", []) if v.get("storage")]
            status["conditions"] = [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": now()},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": now()}]
        elif rt.kind in ("Deployment", "StatefulSet") and self.auto_ready:
            replicas = obj.get("spec", {}).get("replicas", 1)
            status.update({"observedGeneration": obj["metadata"]["generation"], "replicas": replicas,
                           "updatedReplicas": replicas, "readyReplicas": replicas,
                           "availableReplicas": replicas})
            if rt.kind == "Deployment":
                status["conditions"] = [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]
        elif rt.kind == "DaemonSet" and self.auto_ready:
            status.update({"observedGeneration": obj["metadata"]["generation"], "desiredNumberScheduled": 2,
                           "currentNumberScheduled": 2, "updatedNumberScheduled": 2, "numberReady": 2,
                           "numberAvailable": 2})
        elif rt.kind == "Service":
            spec = obj.get("spec") or {}
            if spec.get("type") == "LoadBalancer":
                ip = spec.get("loadBalancerIP") or self.lb_ip_prefix + str(next(self._ip) % 250)
                status["loadBalancer"] = {"ingress": [{"ip": ip, "ipMode": "VIP"}]}
            else:
                status["loadBalancer"] = {}

    # ---- ownership -------------------------------------------------------------------
    @staticmethod
    def _manager_entries(obj):
        return obj.setdefault("metadata", {}).setdefault("managedFields", [])

    def _record_update(self, rt, old, new, manager, subresource=None):
        """An Update operation: the manager owns what it changed; others lose it."""
        keys = self.list_keys(rt)
        new_paths = fs.field_paths(new, keys)
        old_obj = old or {}
        changed = {p for p in new_paths if fs.get_at(old_obj, p) != fs.get_at(new, p)}
        if old is not None:
            changed |= {p for p in fs.field_paths(old, keys) if not fs.get_at(new, p)[0]}
        entries = copy.deepcopy((old or {}).get("metadata", {}).get("managedFields") or [])
        self._give(entries, changed, changed, manager, "Update", rt, subresource, new_paths)
        new["metadata"]["managedFields"] = entries

    def _give(self, entries, paths, steal, manager, operation, rt, subresource, live_paths, replace=False):
        """Record that ``manager`` owns ``paths``; other managers lose ``steal``."""
        mine = None
        for entry in entries:
            owned = fs.from_fieldsv1(entry.get("fieldsV1"))
            if entry["manager"] == manager and entry["operation"] == operation:
                mine = entry
                continue
            entry["fieldsV1"] = fs.to_fieldsv1((owned - steal) & live_paths)
        if mine is None:
            mine = {"manager": manager, "operation": operation, "apiVersion": rt.api_version,
                    "fieldsType": "FieldsV1", "fieldsV1": {}}
            if subresource:
                mine["subresource"] = subresource
            entries.append(mine)
            current = set()
        else:
            current = fs.from_fieldsv1(mine.get("fieldsV1"))
        owned = paths if replace else (current | paths)
        fields = fs.to_fieldsv1(owned & live_paths)
        if fields != mine.get("fieldsV1") or "time" not in mine:
            mine["fieldsV1"] = fields
            mine["time"] = now()
            mine["apiVersion"] = rt.api_version
        entries[:] = [e for e in entries if e.get("fieldsV1")]

    # ---- reads -----------------------------------------------------------------------
    def get(self, rt, namespace, name):
        with self.lock:
            obj = self.objects.get(self._key(rt, namespace, name))
            if obj is None:
                raise not_found(rt, name)
            return self._out(rt, obj)

    def list(self, rt, namespace, label_selector=None, field_selector=None):
        try:
            match_labels = parse_label_selector(label_selector)
            match_fields = parse_field_selector(field_selector)
        except ValueError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from None
        with self.lock:
            items = [self._out(rt, obj) for (g, p, ns, _name), obj in sorted(self.objects.items(), key=lambda kv: (
                kv[0][2] or "", kv[0][3])) if g == rt.group and p == rt.plural and (not namespace or ns == namespace)
                and match_labels(obj["metadata"].get("labels")) and match_fields(obj)]
            return {"kind": rt.list_kind, "apiVersion": rt.api_version,
                    "metadata": {"resourceVersion": self.resource_version}, "items": items}

    # ---- writes ------------------------------------------------------------------------
    def _store(self, rt, old, new, dry_run):
        """Finish a write: bump versions when anything changed, run controllers, persist."""
        meta = new["metadata"]
        if old is not None:
            before = {k: v for k, v in old.items() if k not in ("metadata", "status")}
            after = {k: v for k, v in new.items() if k not in ("metadata", "status")}
            if canonical(before) != canonical(after):
                meta["generation"] = old["metadata"].get("generation", 1) + 1
            if canonical(old) == canonical(new):
                return self._out(rt, old)
        if dry_run:
            return self._out(rt, new)
        meta["resourceVersion"] = self._next_rv()
        self._controllers(rt, new)
        self.objects[self._key(rt, meta.get("namespace"), meta["name"])] = new
        if rt.kind == "CustomResourceDefinition":
            for crd_type in self.registry.types_from_crd(new):
                self.registry.add(crd_type)
        return self._out(rt, new)

    def create(self, rt, namespace, body, manager, dry_run=False):
        with self.lock:
            obj = drop_nulls(copy.deepcopy(body))
            name = self._validate(rt, obj, namespace)
            self._check_namespace(rt, obj["metadata"].get("namespace"))
            if self._key(rt, obj["metadata"].get("namespace"), name) in self.objects:
                gr = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
                raise ApiError(409, "AlreadyExists", f'{gr} "{name}" already exists', _details(rt, name))
            obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
            meta = obj["metadata"]
            for field in ("resourceVersion", "managedFields", "deletionTimestamp"):
                meta.pop(field, None)
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
            self._default(rt, obj)
            obj.pop("status", None)
            self._record_update(rt, None, obj, manager)
            return self._store(rt, None, obj, dry_run)

    def _existing(self, rt, namespace, name):
        obj = self.objects.get(self._key(rt, namespace, name))
        if obj is None:
            raise not_found(rt, name)
        return obj

    def _precondition(self, rt, old, new):
        want = (new.get("metadata") or {}).get("resourceVersion")
        if want and want != old["metadata"]["resourceVersion"]:
            gr = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {gr} "{old["metadata"]["name"]}": '
                           "the object has been modified; please apply your changes to the latest version "
                           "and try again", _details(rt, old["metadata"]["name"]))

    def _finish_update(self, rt, old, new, manager, dry_run, subresource=None):
        self._precondition(rt, old, new)
        name = self._validate(rt, new, old["metadata"].get("namespace"), old["metadata"]["name"])
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        meta = new["metadata"]
        for field in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
            else:
                meta.pop(field, None)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if subresource == "status":
            status = new.get("status")
            new = copy.deepcopy(old)
            new["status"] = status
        elif "status" in rt.subresources:
            new["status"] = copy.deepcopy(old.get("status"))
        if "managedFields" not in meta or meta["managedFields"] == old["metadata"].get("managedFields"):
            self._default(rt, new)
            self._record_update(rt, old, new, manager, subresource)
        else:
            self._default(rt, new)
        if new.get("status") is None:
            new.pop("status", None)
        del name
        return self._store(rt, old, new, dry_run)

    def replace(self, rt, namespace, name, body, manager, dry_run=False, subresource=None):
        with self.lock:
            old = self._existing(rt, namespace, name)
            return self._finish_update(rt, old, drop_nulls(copy.deepcopy(body)), manager, dry_run, subresource)

    def patch(self, rt, namespace, name, patch_type, patch, manager, dry_run=False, force=False, subresource=None):
        with self.lock:
            if patch_type == "apply":
                return self.apply(rt, namespace, name, patch, manager, force, dry_run)
            old = self._existing(rt, namespace, name)
            try:
                if patch_type == "json":
                    new = jsonpatch.apply_patch(copy.deepcopy(old), patch)
                elif patch_type == "merge":
                    new = json_merge_patch(old, patch)
                elif patch_type == "strategic":
                    if rt.from_crd:
                        raise ApiError(415, "UnsupportedMediaType", "strategic merge patch is not supported "
                                       "for custom resources; use a JSON merge patch")
                    new = strategic_merge_patch(old, patch, self.list_keys(rt))
                else:
                    raise ApiError(415, "UnsupportedMediaType", f"unsupported patch type {patch_type}")
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                raise ApiError(422, "Invalid", f"the JSON patch could not be applied: {exc}") from None
            return self._finish_update(rt, old, drop_nulls(new), manager, dry_run, subresource)

    def apply(self, rt, namespace, name, config, manager, force=False, dry_run=False):
        """Server-side apply (``application/apply-patch+yaml``)."""
        if not manager:
            raise ApiError(400, "BadRequest", "PATCH requests with the apply content type must set fieldManager")
        if not isinstance(config, dict) or not config.get("apiVersion") or not config.get("kind"):
            raise ApiError(400, "BadRequest", "an applied configuration must set apiVersion and kind")
        config = drop_nulls(copy.deepcopy(config))
        self._validate(rt, config, namespace, name)
        config.get("metadata", {}).pop("managedFields", None)
        config.get("metadata", {}).pop("resourceVersion", None)
        keys = self.list_keys(rt)
        applied = fs.field_paths(config, keys)
        old = self.objects.get(self._key(rt, namespace, name))
        if old is None:
            self._check_namespace(rt, namespace)
            obj = copy.deepcopy(config)
            obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
            obj.pop("status", None)
            obj["metadata"].update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
            self._default(rt, obj)
            entries = []
            self._give(entries, applied, set(), manager, "Apply", rt, None, fs.field_paths(obj, keys))
            obj["metadata"]["managedFields"] = entries
            return self._store(rt, None, obj, dry_run)
        entries = copy.deepcopy(old["metadata"].get("managedFields") or [])
        conflicts = []
        taken = set()
        for entry in entries:
            if entry["manager"] == manager and entry["operation"] == "Apply":
                continue
            owned = fs.from_fieldsv1(entry.get("fieldsV1"))
            for path in sorted(applied & owned, key=str):
                if path[-1] == fs.DOT or fs.get_at(old, path) == fs.get_at(config, path):
                    continue
                conflicts.append((entry, path))
                taken.add(path)
        if conflicts and not force:
            causes = [{"reason": "FieldManagerConflict", "field": fs.path_to_string(p),
                       "message": f'conflict with "{e["manager"]}" using {e.get("apiVersion", rt.api_version)}'}
                      for e, p in conflicts]
            lines = "\n".join(f'- {c["message"]}: {c["field"]}' for c in causes)
            raise ApiError(409, "Conflict", f"Apply failed with {len(causes)} conflict"
                           f"{'s' if len(causes) > 1 else ''}: {lines.lstrip('- ')}",
                           {"name": name, "group": rt.group, "kind": rt.plural, "causes": causes})
        previous = set()
        others = set()
        for entry in entries:
            owned = fs.from_fieldsv1(entry.get("fieldsV1"))
            if entry["manager"] == manager and entry["operation"] == "Apply":
                previous = owned
            else:
                others |= owned - taken
        new = copy.deepcopy(old)
        for path in sorted(previous - applied - others, key=lambda p: -len(p)):
            fs.delete_at(new, path)
        new = apply_merge(new, {k: v for k, v in config.items() if k != "status"}, keys)
        new["metadata"]["managedFields"] = entries
        self._default(rt, new)
        self._give(entries, applied, taken, manager, "Apply", rt, None, fs.field_paths(new, keys), replace=True)
        if canonical(_strip_times(new)) == canonical(_strip_times(old)):
            return self._out(rt, old)
        return self._store(rt, old, new, dry_run)

    def delete(self, rt, namespace, name, dry_run=False):
        with self.lock:
            key = self._key(rt, namespace, name)
            old = self._existing(rt, namespace, name)
            if dry_run:
                return self._out(rt, old)
            if old["metadata"].get("finalizers") and rt.kind != "Namespace":
                if not old["metadata"].get("deletionTimestamp"):
                    old["metadata"]["deletionTimestamp"] = now()
                    old["metadata"]["resourceVersion"] = self._next_rv()
                return self._out(rt, old)
            if rt.kind == "Namespace":
                return self._terminate_namespace(rt, old)
            del self.objects[key]
            self._next_rv()
            if rt.kind == "CustomResourceDefinition":
                spec = old["spec"]
                self.registry.remove_crd(spec["group"], spec["names"]["plural"])
                for other in [k for k in self.objects if k[0] == spec["group"] and k[1] == spec["names"]["plural"]]:
                    del self.objects[other]
            return self._out(rt, old)

    def _terminate_namespace(self, rt, ns):
        """Namespaces go Terminating; the namespace controller removes the content, then the namespace."""
        if not ns["metadata"].get("deletionTimestamp"):
            ns["metadata"]["deletionTimestamp"] = now()
            ns["metadata"]["resourceVersion"] = self._next_rv()
            ns["status"] = {"phase": "Terminating"}
            name = ns["metadata"]["name"]

            def finalize():
                with self.lock:
                    for other in [k for k in self.objects if k[2] == name]:
                        del self.objects[other]
                    self.objects.pop(("", "namespaces", None, name), None)
                    self._next_rv()
            timer = threading.Timer(self.namespace_finalize_seconds, finalize)
            timer.daemon = True
            timer.start()
        return self._out(rt, ns)

    def delete_collection(self, rt, namespace, label_selector=None, field_selector=None, dry_run=False):
        listed = self.list(rt, namespace, label_selector, field_selector)
        for item in listed["items"]:
            self.delete(rt, item["metadata"].get("namespace"), item["metadata"]["name"], dry_run)
        return listed

    # ---- conveniences for tests -------------------------------------------------------
    def load_crds(self, docs):
        crd_type = self.registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        for doc in docs:
            if doc and doc.get("kind") == "CustomResourceDefinition":
                self.apply(crd_type, None, doc["metadata"]["name"], doc, "loopback-bootstrap", force=True)

    def dump(self):
        with self.lock:
            return {k: copy.deepcopy(v) for k, v in self.objects.items()}


def drop_nulls(value):
    """What decoding into typed objects does to JSON nulls: they disappear."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value if v is not None]
    return value


def _strip_times(obj):
    out = copy.deepcopy(obj)
    for entry in out.get("metadata", {}).get("managedFields") or []:
        entry.pop("time", None)
    return json.loads(json.dumps(out))
