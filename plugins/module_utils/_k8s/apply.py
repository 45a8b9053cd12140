# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply or delete a batch of Kubernetes objects with server-side apply, cheaply and idempotently.

This file is private to the aksmesh.istio collection: its contents may change at any time.

Cost of a run where nothing changed: discovery of the group versions used, and one
read per kind (a GET for a single object, else one LIST, namespaced when the batch
stays in one namespace); no writes. Objects that differ are applied with
server-side apply (dry-run in check mode); their action comes from the server's
answer (a new resourceVersion means the apply changed something).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import itertools
import time
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import manifests, ownership
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.discovery import Discovery, UnknownKind
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.planned import Planned
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.redact import MASK as REDACTED, public_key, redact
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError

APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
WAITABLE = ("Deployment", "DaemonSet", "StatefulSet", "CustomResourceDefinition")


class Plan(namedtuple("Plan", "action before after resource live error")):
    """What the engine decided, or did, for one object: settled (``action``, with ``before``/``after`` for the diff),
    pending (to apply: its ``resource`` and ``live`` object), or failed (``error``, the message)."""

    __slots__ = ()

    @classmethod
    def done(cls, action, before=None, after=None):
        return cls(action, before, after, None, None, None)

    @classmethod
    def to_apply(cls, resource, live):
        return cls(None, None, None, resource, live, None)

    @classmethod
    def failed(cls, message):
        return cls("failed", None, None, None, None, message)

    @property
    def pending(self):
        return self.action is None


class ObjectError(Exception):
    def __init__(self, obj, message):
        super(ObjectError, self).__init__(message)
        self.obj = obj
        self.message = message


def describe(obj):
    meta = obj.get("metadata") or {}
    where = "%s/" % meta["namespace"] if meta.get("namespace") else ""
    return "%s %s%s" % (obj.get("kind"), where, meta.get("name"))


def explain(obj, exc, drifted=""):
    """An error message naming the object, the API's reason and, where we know it, the fix (``drifted``: the fields
    another manager changed, as ``ownership.drift_text`` tells them)."""
    if exc.status == 409 and exc.manager_conflict:
        owners = "; ".join("%s (%s)" % (c.get("field"), c.get("message")) for c in exc.causes)
        return ("%s: fields are managed by another field manager: %s.%s Nothing of it was changed. Set "
                "force_conflicts=true (aksmesh_reconcile: force in the inventory) to take them back, or leave "
                "those fields out of the definition" % (
                    describe(obj), owners, (" Drifted: %s." % drifted) if drifted else ""))
    if exc.status == 404 and "namespaces" in exc.message:
        return "%s: %s; create the namespace first (add a Namespace to the batch)" % (describe(obj), exc.message)
    return "%s: %s" % (describe(obj), exc)


# The annotation Flux honours for objects to create only when absent (placeholder Secrets); the engine does too.
IF_NOT_PRESENT = ("kustomize.toolkit.fluxcd.io/ssa", "IfNotPresent")


class ApplyEngine(object):
    def __init__(self, rest, field_manager="aksmesh", force_conflicts=False, check_mode=False, diff=False,
                 default_namespace=None, continue_on_error=False, wait=False, wait_timeout=300,
                 poll_interval=1.0, by_kind=True, parallel=8, clock=time.monotonic, sleep=time.sleep, planned=None):
        self.rest = rest
        self.discovery = Discovery(rest)
        self.manager = field_manager
        self.force = force_conflicts
        self.check_mode = check_mode
        self.diff = diff
        self.default_namespace = default_namespace
        self.continue_on_error = continue_on_error
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.clock = clock
        self.sleep = sleep
        self.by_kind = by_kind
        self.parallel = parallel
        self.results = []
        self.failures = []
        self._live = {}  # (api_version, kind, ns, name) -> live object or None
        self._answers = {}  # (api_version, kind, ns, name) -> the API server's answer to the apply (or dry run)
        self._read = set()  # resources (api_version, kind) whose objects are prefetched
        self._unread = {}  # resources whose prefetch failed -> the error, which fails each object of the kind
        self._drift = {}  # (api_version, kind, ns, name) -> fields whose live value differs (ownership.drift)
        self._batch = []
        # objects that could not be dry-run before the first write (their CRD or namespace comes with the batch):
        # checked when their turn comes, as "Kind ns/name (why)"
        self.unvalidated = []
        # check mode: the namespaces and kinds this dry run (and the earlier tasks of the run) would create
        self.planned = planned or Planned()

    # ---- helpers ----------------------------------------------------------------------------
    def _resolve(self, obj):
        try:
            return self.discovery.resolve(obj["apiVersion"], obj["kind"])
        except UnknownKind as exc:
            crd = self._crd_in_batch(obj)
            if crd is None and self.check_mode and self.planned.has_kind(obj["apiVersion"], obj["kind"]):
                return None  # an earlier task of this check-mode run would create its CRD
            if crd is None:
                raise ObjectError(obj, "%s: %s" % (describe(obj), exc))
            if self.check_mode:
                return None  # its CRD is only being dry-run: cannot validate it now
            self._wait_established(crd)
            self.discovery.forget(obj["apiVersion"])
            try:
                return self.discovery.resolve(obj["apiVersion"], obj["kind"])
            except UnknownKind as again:
                raise ObjectError(obj, "%s: %s" % (describe(obj), again))

    def _crd_in_batch(self, obj):
        group = obj["apiVersion"].rpartition("/")[0]
        for cand in self._batch:
            if cand["kind"] == "CustomResourceDefinition":
                spec = cand.get("spec") or {}
                if spec.get("group") == group and (spec.get("names") or {}).get("kind") == obj["kind"]:
                    return cand
        return None

    def _place(self, obj, res):
        meta = obj["metadata"]
        if res is not None and res.namespaced:
            meta["namespace"] = meta.get("namespace") or self.default_namespace or "default"
        elif res is not None:
            meta.pop("namespace", None)

    def _prefetch(self, res):
        """Read every batch object of this resource with one request (GET for one, else one LIST)."""
        key = (res.api_version, res.kind)
        if key in self._read:
            if key in self._unread:
                # the read failed: applied blind, an object that exists would be reported as created
                raise self._unread[key]
            return
        self._read.add(key)
        mine = [o for o in self._batch if (o["apiVersion"], o["kind"]) == key]
        for o in mine:
            self._place(o, res)
        try:
            self._read_kind(res, mine)
        except K8sApiError as exc:
            self._unread[key] = exc
            raise

    def _read_kind(self, res, mine):
        if len(mine) == 1:
            meta = mine[0]["metadata"]
            live = self.rest.request("GET", res.path(meta["name"], meta.get("namespace")), ok_missing=True)
            self._live[manifests.identity(mine[0])] = live
            return
        namespaces = set(o["metadata"].get("namespace") for o in mine)
        namespace = namespaces.pop() if len(namespaces) == 1 else None
        listed = self.rest.request("GET", res.collection_path(namespace)) or {}
        by_name = dict(((i["metadata"].get("namespace"), i["metadata"]["name"]), i) for i in listed.get("items", []))
        for o in mine:
            meta = o["metadata"]
            live = by_name.get((meta.get("namespace"), meta["name"]))
            if live is not None:
                live.setdefault("apiVersion", res.api_version)
                live.setdefault("kind", res.kind)
            self._live[manifests.identity(o)] = live

    def _record(self, obj, action, before=None, after=None):
        meta = obj["metadata"]
        entry = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "namespace": meta.get("namespace"),
                 "name": meta["name"], "action": action}
        if self.diff and action not in ("unchanged",):
            entry["diff"] = {"before": before or {}, "after": after or {}}
        drifted = self._drift.get(manifests.identity(obj)) if action in ("configured", "drifted") else None
        if drifted:
            # what someone else changed since the last apply: taken back (configured), or would be (check mode); the
            # fields this manager alone holds are the definition's pending changes (ownership.pending)
            entry["drift"] = drifted
        if action in ("created", "configured", "unchanged"):
            key = manifests.identity(obj)
            # the object as the server answered the apply (its dry run in check mode), or as read when unchanged;
            # a CRD-dependent object of a check-mode run that the server cannot see yet: as given
            entry["result"] = applied_view(self._answers.get(key) or self._live.get(key) or obj)
        self.results.append(entry)

    # ---- present ------------------------------------------------------------------------------
    def apply_all(self, objs):
        """Apply in kind order; objects of the same rank go to the server concurrently. Before the first write
        every kind is resolved and every object that changes is dry-run (``validate``): a batch the server would
        refuse in part is not begun."""
        self._batch = manifests.ordered(objs, by_kind=self.by_kind)
        plans = self.validate()
        if self.failures and not self.continue_on_error:
            return self.results
        groups = [[o] for o in self._batch] if not self.by_kind or self.parallel < 2 else [
            list(g) for _rank, g in itertools.groupby(self._batch, key=manifests.rank)]
        for group in groups:
            planned = [(obj, plans[id(obj)] if id(obj) in plans else self._plan_or_failure(obj))
                       for obj in group if id(obj) not in self._refused]
            todo = [(obj, plan) for obj, plan in planned if plan.pending]
            if len(todo) > 1:
                with ThreadPoolExecutor(max_workers=min(self.parallel, len(todo))) as pool:
                    done = dict((id(obj), (obj, pool.submit(self._patch, obj, plan.resource, plan.live)))
                                for obj, plan in todo)
                outcomes = dict((key, _outcome(obj, fut)) for key, (obj, fut) in done.items())
            else:
                outcomes = dict((id(obj), _outcome(obj, None, lambda o=obj, p=plan: self._patch(o, p.resource, p.live)))
                                for obj, plan in todo)
            for obj, plan in planned:
                if plan.pending:
                    plan = outcomes[id(obj)]
                if plan.error is not None:
                    self._fail(obj, plan.error)
                else:
                    self._record(obj, plan.action, plan.before, plan.after)
            if self.failures and not self.continue_on_error:
                break
        if self.wait and not self.check_mode and not self.failures:
            self._wait_all()
        return self.results

    def validate(self):
        """Before the first write (not in check mode, where every write is a dry run): every kind of the batch
        resolved, every object read, and every object that would change dry-run as one server-side apply
        (schema, admission, conflicts). Failures are recorded (and their objects left out of the batch); the
        result maps the checked objects (by id) to their Plan, the objects left to check when applied are not in
        it: those whose CustomResourceDefinition or Namespace comes with the batch (``unvalidated``, named).
        One object that changes needs no dry run: its own apply is all or nothing."""
        self._refused = set()
        if self.check_mode:
            return {}
        plans, later, refusals = {}, [], {}
        for obj in self._batch:
            try:
                res = self.discovery.resolve(obj["apiVersion"], obj["kind"])
            except UnknownKind as exc:
                if self._crd_in_batch(obj) is None:
                    refusals[id(obj)] = "%s: %s" % (describe(obj), exc)
                else:
                    later.append((obj, "its CustomResourceDefinition comes with the batch"))
                continue
            except K8sApiError as exc:
                refusals[id(obj)] = explain(obj, exc)
                continue
            plan = self._plan_or_failure(obj, res)
            if plan.error is not None:
                refusals[id(obj)] = plan.error
            else:
                plans[id(obj)] = plan
        created = set(o["metadata"]["name"] for o in self._batch if o["kind"] == "Namespace" and o["apiVersion"] == "v1"
                      and self._live.get(manifests.identity(o)) is None and id(o) in plans)
        # kinds whose CRD the batch changes: their objects may use what the new schema adds
        changing = set((crd["spec"].get("group"), (crd["spec"].get("names") or {}).get("kind"))
                       for crd in self._batch if crd["kind"] == "CustomResourceDefinition"
                       and isinstance(crd.get("spec"), dict) and id(crd) in plans and plans[id(crd)].pending)
        pending = []
        for obj in self._batch:
            plan = plans.get(id(obj))
            if plan is None or not plan.pending:
                continue
            if plan.resource.namespaced and obj["metadata"].get("namespace") in created:
                later.append((obj, "its Namespace comes with the batch"))
                del plans[id(obj)]  # planned again when its namespace exists
            elif (plan.resource.group, plan.resource.kind) in changing:
                later.append((obj, "its CustomResourceDefinition changes with the batch"))
                del plans[id(obj)]
            else:
                pending.append((obj, plan))
        if len(pending) + len(later) > 1:
            for obj, plan in pending:
                error = self._dry_run(obj, plan)
                if error is not None:
                    refusals[id(obj)] = error
                    del plans[id(obj)]
        for obj in self._batch:  # in the batch's order
            if id(obj) in refusals:
                self._refuse(obj, refusals[id(obj)])
        self.unvalidated = ["%s (%s)" % (describe(obj), why) for obj, why in later]
        return plans

    def _dry_run(self, obj, plan):
        """The error message the server-side apply of ``obj`` would fail with, or None."""
        meta = obj["metadata"]
        query = {"fieldManager": self.manager, "fieldValidation": "Strict", "dryRun": "All"}
        if self.force:
            query["force"] = "true"
        try:
            self.rest.request("PATCH", plan.resource.path(meta["name"], meta.get("namespace")), query, obj,
                              APPLY_CONTENT_TYPE)
        except K8sApiError as exc:
            return explain(obj, exc, ownership.drift_text(self._drift.get(manifests.identity(obj)) or [],
                                                          self.manager)) + "; nothing of the batch was written"
        return None

    @property
    def refused(self):
        """Whether ``validate`` refused objects of the batch (then, without continue_on_error, nothing was written)."""
        return bool(self._refused)

    def _refuse(self, obj, message):
        self._refused.add(id(obj))
        self._fail(obj, message)

    def _plan_or_failure(self, obj, res=None):
        try:
            return self._plan(obj, res)
        except ObjectError as exc:
            return Plan.failed(exc.message)
        except K8sApiError as exc:
            return Plan.failed(explain(obj, exc))

    def _plan(self, obj, res=None):
        """A Plan: done when settled without writing, else pending (its resource and live object) to apply."""
        res = res or self._resolve(obj)
        if res is None:
            self._place(obj, None)
            return Plan.done("created", None, obj)
        self._prefetch(res)
        meta = obj["metadata"]
        if self.check_mode and res.namespaced and self.planned.has_namespace(meta.get("namespace")):
            # its namespace exists only in this dry run: the server cannot validate it yet
            return Plan.done("created", None, obj)
        live = self._live.get(manifests.identity(obj))
        if live is not None and (meta.get("annotations") or {}).get(IF_NOT_PRESENT[0]) == IF_NOT_PRESENT[1]:
            return Plan.done("unchanged")  # created when absent, never updated (a placeholder Secret)
        if self._in_place(obj, res, live):
            return Plan.done("unchanged")
        if live is not None:
            self._drift[manifests.identity(obj)] = redact_drift(obj, ownership.drift(obj, live, self.manager))
        if self.check_mode:
            self.planned.add_missing([(obj, live)])
        return Plan.to_apply(res, live)

    def _in_place(self, obj, res, live):
        """Is ``obj`` applied as given? From managedFields; where only server defaults inside owned fields
        differ, a dry-run apply decides (it writes nothing)."""
        verdict = ownership.compare(obj, live, self.manager)
        if verdict != ownership.MAYBE:
            return verdict == ownership.SAME
        meta = obj["metadata"]
        query = {"fieldManager": self.manager, "fieldValidation": "Strict", "dryRun": "All"}
        if self.force:
            query["force"] = "true"
        try:
            out = self.rest.request("PATCH", res.path(meta["name"], meta.get("namespace")), query, obj,
                                    APPLY_CONTENT_TYPE)
        except K8sApiError as exc:
            if self._dry_run_refused(exc):
                # what the live object adds inside the fields we own are server defaults, as far as managedFields
                # can tell
                return True
            return False  # the real apply reports it
        return _comparable(out) == _comparable(live)

    def _patch(self, obj, res, live):
        meta = obj["metadata"]
        query = {"fieldManager": self.manager, "fieldValidation": "Strict"}
        if self.force:
            query["force"] = "true"
        if self.check_mode:
            query["dryRun"] = "All"
        try:
            out = self.rest.request("PATCH", res.path(meta["name"], meta.get("namespace")), query, obj,
                                    APPLY_CONTENT_TYPE)
        except K8sApiError as exc:
            if self._dry_run_refused(exc):
                # the object would be created or, as managedFields show (the drift report has the fields), changed
                return Plan.done("created" if live is None else "configured",
                                 ownership.prune_like(live, obj) if live else None, obj)
            if not (exc.status == 409 and exc.manager_conflict):
                raise
            if self.check_mode:
                # a drift report: another manager holds fields this apply would write; the real run fails
                # (or takes them back with force_conflicts)
                return Plan.done("drifted", ownership.prune_like(live, obj) if live else None, obj)
            raise ObjectError(obj, explain(obj, exc, ownership.drift_text(
                self._drift.get(manifests.identity(obj)) or [], self.manager)))
        if live is None:
            action = "created"
        elif self.check_mode:
            action = "configured" if _comparable(out) != _comparable(live) else "unchanged"
        else:
            action = "configured" if out["metadata"].get("resourceVersion") != live["metadata"].get(
                "resourceVersion") else "unchanged"
        if not self.check_mode:
            self._live[manifests.identity(obj)] = out
        self._answers[manifests.identity(obj)] = out
        return Plan.done(action, ownership.prune_like(live, obj) if live else None, ownership.prune_like(out, obj))

    _refused = frozenset()
    # a check run whose identity may not dry-run compared from managedFields alone (the result says so)
    compared_locally = False

    def _dry_run_refused(self, exc):
        """Whether ``exc`` refused a dry run of this check run: a read-only identity (verify.yml's
        aksmesh-istio:verify) may not dry-run, as Kubernetes authorizes a dry run as the write it simulates. The
        caller then decides from managedFields, and the result says so (``compared_locally``)."""
        refused = self.check_mode and exc.status == 403
        self.compared_locally = self.compared_locally or refused
        return refused

    def reject(self, obj, message):
        """Record ``obj`` as failed without sending it (refused before the batch, e.g. by its name)."""
        self._fail(obj, message)

    def _fail(self, obj, message):
        self.failures.append(message)
        meta = obj.get("metadata") or {}
        self.results.append({"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
                             "namespace": meta.get("namespace"), "name": meta.get("name"), "action": "failed",
                             "error": message})

    # ---- compare only ---------------------------------------------------------------------------------
    def compare(self, objs):
        """[(object, live or None, in_place)] without writing: is each object already applied as given?"""
        self._batch = manifests.ordered(objs, by_kind=self.by_kind)
        out = []
        for obj in self._batch:
            try:
                res = self.discovery.resolve(obj["apiVersion"], obj["kind"])
            except UnknownKind:
                out.append((obj, None, False))
                continue
            self._prefetch(res)
            live = self._live.get(manifests.identity(obj))
            out.append((obj, live, self._in_place(obj, res, live)))
        return out

    # ---- waiting ------------------------------------------------------------------------------------
    def _wait_all(self):
        deadline = self.clock() + self.wait_timeout
        for entry in self.results:
            if entry["kind"] in WAITABLE and entry["action"] != "failed":
                self._wait_ready(entry, deadline)

    def _wait_established(self, crd):
        deadline = self.clock() + self.wait_timeout
        entry = {"apiVersion": crd["apiVersion"], "kind": crd["kind"], "namespace": None,
                 "name": crd["metadata"]["name"]}
        self._wait_ready(entry, deadline)

    def _wait_ready(self, entry, deadline):
        res = self.discovery.resolve(entry["apiVersion"], entry["kind"])
        path = res.path(entry["name"], entry.get("namespace"))
        while True:
            live = self.rest.request("GET", path, ok_missing=True)
            state = _readiness(entry["kind"], live)
            if state is True:
                return
            if self.clock() >= deadline:
                raise_obj = {"apiVersion": entry["apiVersion"], "kind": entry["kind"],
                             "metadata": {"name": entry["name"], "namespace": entry.get("namespace")}}
                self._fail(raise_obj, "%s: not ready after %ss: %s" % (describe(raise_obj), self.wait_timeout, state))
                return
            self.sleep(self.poll_interval)

    # ---- absent --------------------------------------------------------------------------------------
    def delete_all(self, objs):
        self._batch = manifests.ordered(objs, reverse=True, by_kind=self.by_kind)
        for obj in self._batch:
            try:
                res = self.discovery.resolve(obj["apiVersion"], obj["kind"])
            except UnknownKind:
                self._place(obj, None)
                self._record(obj, "unchanged")  # its kind is gone, so is the object
                continue
            except K8sApiError as exc:
                self._fail(obj, explain(obj, exc))
                if not self.continue_on_error:
                    break
                continue
            self._place(obj, res)
            try:
                self._delete_one(obj, res, "deleted")
            except K8sApiError as exc:
                self._fail(obj, explain(obj, exc))
                if not self.continue_on_error:
                    break
        if self.wait and not self.check_mode and not self.failures:
            self._wait_gone_all()
        return self.results

    def _wait_gone_all(self):
        """After deleting: wait until each deleted object is gone (a namespace until it has finalized)."""
        deadline = self.clock() + self.wait_timeout
        for entry in self.results:
            if entry["action"] != "deleted":
                continue
            path = self.discovery.resolve(entry["apiVersion"], entry["kind"]).path(entry["name"],
                                                                                   entry.get("namespace"))
            while self.rest.request("GET", path, ok_missing=True) is not None:
                if self.clock() >= deadline:
                    obj = {"apiVersion": entry["apiVersion"], "kind": entry["kind"],
                           "metadata": {"name": entry["name"], "namespace": entry.get("namespace")}}
                    self._fail(obj, "%s: still there after %ss (deleting)" % (describe(obj), self.wait_timeout))
                    return
                self.sleep(self.poll_interval)

    def _delete_one(self, obj, res, action):
        meta = obj["metadata"]
        query = {"dryRun": "All"} if self.check_mode else {}
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Foreground"
                if obj["kind"] in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job") else "Background"}
        if self.check_mode:
            # DeleteOptions in the body take the place of the query's options: without dryRun here the API
            # server really deletes
            body["dryRun"] = ["All"]
        try:
            out = self.rest.request("DELETE", res.path(meta["name"], meta.get("namespace")), query, body,
                                    ok_missing=True)
        except K8sApiError as exc:
            if not self._dry_run_refused(exc):
                raise
            out = obj  # it would be deleted (it was listed above)
        self._record(obj, action if out is not None else "unchanged",
                     ownership.prune_like(out, obj) if out is not None else None, None)

    # ---- prune ----------------------------------------------------------------------------------------
    def prune(self, kinds, label_selector, namespaces=None):
        """Delete objects of ``kinds`` matching ``label_selector`` that this manager applied but the batch lacks.
        An object is kept by its group, kind, namespace and name (any version of it: Istio's and the Gateway API's
        ``Gateway`` are two kinds). A kind marked ``optional`` that the API server does not serve has nothing to
        prune (the Gateway API's, on a cluster without its CRDs)."""
        keep = set((_group(k[0]), k[1], k[2], k[3]) for k in (manifests.identity(o) for o in self._batch))
        for spec in kinds:
            try:
                res = self.discovery.resolve(spec["apiVersion"], spec["kind"])
            except UnknownKind:
                planned_crd = self.check_mode and self.planned.has_kind(spec["apiVersion"], spec["kind"])
                if spec.get("optional") or planned_crd:
                    continue  # no such kind (or its CRD exists only in this dry run): nothing of it to prune
                raise
            scopes = (namespaces or [None]) if res.namespaced else [None]
            for ns in scopes:
                listed = self.rest.request("GET", res.collection_path(ns), {"labelSelector": label_selector}) or {}
                for item in listed.get("items", []):
                    meta = item["metadata"]
                    ident = (_group(res.api_version), res.kind, meta.get("namespace"), meta["name"])
                    if ident in keep or ownership.apply_entry(item, self.manager) is None:
                        continue
                    obj = {"apiVersion": res.api_version, "kind": res.kind,
                           "metadata": {"name": meta["name"], "namespace": meta.get("namespace")}}
                    try:
                        self._delete_one(obj, res, "pruned")
                    except K8sApiError as exc:
                        self._fail(obj, explain(obj, exc))


def _group(api_version):
    """The API group of an apiVersion ("" for the core group's v1)."""
    return (api_version or "").rpartition("/")[0]


def _outcome(obj, future, call=None):
    """The Plan a finished future (or ``call``) returned for ``obj``; a failed one for the error it raised."""
    try:
        return future.result() if future is not None else call()
    except ObjectError as exc:
        return Plan.failed(exc.message)
    except K8sApiError as exc:
        return Plan.failed(explain(obj, exc))


def _public_field(path):
    """Whether a drifted field (its path text) of a Secret holds a user name (redact.public_key): shown."""
    for field in (".data.", ".stringData."):
        if path.startswith(field):
            return public_key(path[len(field):])
    return False


def redact_drift(obj, drifted):
    """A Secret's drifted values are never shown (but a user name, no secret): the paths and managers are."""
    if obj.get("kind") != "Secret":
        return drifted
    return [d if _public_field(d["path"]) else dict(d, desired=REDACTED,
                                                    live=REDACTED if d["live"] is not None else None)
            for d in drifted]


def applied_view(obj):
    """An applied object for a module's result: without managedFields, Secret values masked."""
    out = copy.deepcopy(obj)
    (out.get("metadata") or {}).pop("managedFields", None)
    return redact(out)


def _comparable(obj):
    out = dict(obj or {})
    meta = dict(out.get("metadata") or {})
    for field in ("resourceVersion", "managedFields", "generation", "uid", "creationTimestamp"):
        meta.pop(field, None)
    out["metadata"] = meta
    out.pop("status", None)
    return ownership._canon(out)


def _readiness(kind, live):
    """True when ready, else a short reason."""
    if live is None:
        return "not found"
    status = live.get("status") or {}
    meta = live.get("metadata") or {}
    if kind == "CustomResourceDefinition":
        conds = dict((c.get("type"), c.get("status")) for c in status.get("conditions") or [])
        return True if conds.get("Established") == "True" else "not Established yet"
    if status.get("observedGeneration", 0) < meta.get("generation", 1):
        return "rollout not observed yet (generation %s, observed %s)" % (
            meta.get("generation"), status.get("observedGeneration"))
    if kind == "DaemonSet":
        want = status.get("desiredNumberScheduled", 0)
        ok = status.get("updatedNumberScheduled", 0) >= want and status.get("numberAvailable", 0) >= want
        return True if ok else "%s/%s pods updated and available" % (status.get("numberAvailable", 0), want)
    want = (live.get("spec") or {}).get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    if kind == "StatefulSet":  # as kubectl rollout status: every replica updated and ready
        ok = updated >= want and status.get("readyReplicas", 0) >= want
        return True if ok else "%s/%s replicas updated and ready" % (status.get("readyReplicas", 0), want)
    # as kubectl rollout status: all replicas updated, no old replica left, the updated ones available
    if status.get("replicas", 0) > updated:
        return "%s old replicas pending termination (%s/%s updated)" % (
            status.get("replicas", 0) - updated, updated, want)
    ok = updated >= want and status.get("availableReplicas", 0) >= want
    return True if ok else "%s/%s replicas updated and available" % (status.get("availableReplicas", 0), want)
