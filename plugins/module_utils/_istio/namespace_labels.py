# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The injection module's run: each namespace labelled (or created) with its sidecar injection labels
(``injection``), safely against concurrent writers, with the module's result, diff and check-mode plan.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import injection as inj
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import service_waypoints
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors, ownership
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names as k8s_names
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import connect
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError, RestClient

CONFLICT_RETRIES = 3
FIELD_MANAGER = "aksmesh"  # the collection's writes carry its name in managedFields
CHANGES = ("created", "labelled", "unlabelled", "drifted")
_AGAIN = object()  # a write met a concurrent change: read the namespace again
KUBE_SYSTEM = inj.KUBE_SYSTEM  # the cluster's own namespaces: never labelled for injection


def argument_spec():
    """The injection module's options (plugins/modules/injection.py documents them)."""
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(
        namespaces=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            revision=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            waypoint=dict(type="bool", default=False),
            service_waypoints=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                services=dict(type="list", elements="str", required=True),
            )),
        )),
        create=dict(type="bool", default=True),
        force_conflicts=dict(type="bool", default=False),
        revision=dict(type="str"),
        dataplane_mode=dict(type="str", choices=list(inj.MODES), default="sidecar"),
    )
    return spec


def run(module):
    """The injection module: check the namespaces given, then label (create) each."""
    check_params(module)
    rest = RestClient(connect(module), timeout=module.params["request_timeout"])
    results = []
    errors.run(module, lambda: label(module, rest, results), partial=lambda: dict(namespaces=results))


def check_params(module):
    """Fail on a namespace or revision name the API server would refuse, or a namespace listed twice."""
    entries = module.params["namespaces"]
    k8s_names.require(module, [("Namespace", n["name"], "namespaces[%d].name" % i) for i, n in enumerate(entries)]
                      + [("Namespace", n["revision"], "namespaces[%d].revision" % i) for i, n in enumerate(entries)]
                      + [("Namespace", module.params["revision"], "revision")])
    system = ["namespaces[%d].name %s" % (i, n["name"]) for i, n in enumerate(entries)
              if n["name"] in KUBE_SYSTEM and n["state"] == "present"]
    if system:
        module.fail_json(msg="%s: a namespace of the cluster itself gets no sidecar injection (its pods start before "
                             "the mesh and run it); take it out of namespaces (mesh_injection_namespaces)"
                             % ", ".join(system))
    refused = ["namespaces[%d].waypoint: %s" % (i, why)
               for i, why in inj.waypoint_problems(entries, module.params["dataplane_mode"])]
    mode = module.params["dataplane_mode"]
    refused += ["namespaces%s: %s" % problem for problem in service_waypoints.problems(entries, mode)]
    if refused:
        module.fail_json(msg="; ".join(refused))
    listed = [n["name"] for n in entries]
    if len(set(listed)) != len(listed):
        module.fail_json(msg="namespaces lists a namespace twice: %s" % sorted(set(n for n in listed
                                                                                   if listed.count(n) > 1)))


def label(module, rest, results):
    """Label (create) each namespace as asked, once every one was read and found possible; ``results`` grows as
    it goes."""
    diffs = []
    found = preflight(module, rest)
    for entry in module.params["namespaces"]:
        result, diff = label_one(module, rest, entry, found[entry["name"]])
        results.append(result)
        if diff:
            diffs.append(diff)
    # the Services with a waypoint of their own, once every namespace is labelled (created)
    services = service_waypoints.label(module, rest, module.params["namespaces"], FIELD_MANAGER)
    for svc in services:
        if svc["action"] in CHANGES:
            header = "Service %s/%s" % (svc["namespace"], svc["name"])
            diffs.append({"before_header": header, "after_header": header, "before": "",
                          "after": "%s=%s" % (inj.USE_WAYPOINT, svc["waypoint"]) if svc["waypoint"] else ""})
    changed = any(r["action"] in CHANGES for r in results + services)
    drift = [dict(field, apiVersion="v1", kind="Namespace", namespace=None, name=r["name"], action=r["action"])
             for r in results for field in r.get("drift") or []]
    drift += [dict(field, apiVersion="v1", kind="Service", namespace=s["namespace"], name=s["name"],
                   action=s["action"]) for s in services for field in s.pop("drift", None) or []]
    out = dict(changed=changed, namespaces=results, services=services, drift=drift)
    if module.check_mode:  # for the next tasks of the check-mode run: these namespaces would exist
        out["planned"] = {"namespaces": sorted(r["name"] for r in results if r["action"] == "created"), "kinds": []}
    if module._diff:
        out["diff"] = diffs
    return out


def _path(name):
    return "/api/v1/namespaces/%s" % k8s_names.segment("Namespace", name)


def preflight(module, rest):
    """Every namespace read before the first write ({name: live or None}); fails naming all of them when one
    does not exist and create=false, or when another field manager changed injection labels (the real run,
    without force_conflicts): the module labels all the namespaces or none."""
    p = module.params
    found, missing, drifted = {}, [], []
    for entry in p["namespaces"]:
        live = found[entry["name"]] = rest.request("GET", _path(entry["name"]), ok_missing=True)
        if live is None and entry["state"] == "present" and not p["create"]:
            missing.append(entry["name"])
        elif live is not None and not (module.check_mode or p["force_conflicts"]):
            changed = label_drift(live, inj.desired_labels(entry, p["revision"], p["dataplane_mode"]))
            if changed and inj.label_patch((live.get("metadata") or {}).get("labels") or {},
                                           inj.desired_labels(entry, p["revision"], p["dataplane_mode"])) is not None:
                drifted.append((entry["name"], changed))
    if missing:
        module.fail_json(msg="namespaces: %s %s not exist; nothing was labelled. Create %s first or set create=true"
                             % (", ".join(missing), "does" if len(missing) == 1 else "do",
                                "it" if len(missing) == 1 else "them"))
    if drifted:
        refuse_drift(module, *drifted[0])
    return found


_UNREAD = object()


def label_one(module, rest, entry, first=_UNREAD):
    """(result, diff) for one namespace (``first``: the namespace as ``preflight`` read it, if it did). Writes
    survive races: a create that meets AlreadyExists (someone made it meanwhile) labels the namespace that exists,
    and a label patch carries the resourceVersion it was computed from, so a patch that arrives late can never
    overwrite a newer change (409: read again, bounded)."""
    name = entry["name"]
    path = _path(name)
    want = inj.desired_labels(entry, module.params["revision"], module.params["dataplane_mode"])
    keep = dict((k, v) for k, v in want.items() if v is not None)
    # what this run found first: after a write whose answer was lost (or a race), the namespace is read again and
    # may already be as wanted; the run still reports the change it made from this state
    found = {}
    for attempt in range(CONFLICT_RETRIES):
        live = first if attempt == 0 and first is not _UNREAD else rest.request("GET", path, ok_missing=True)
        if attempt == 0:
            found["missing"] = live is None
        if live is None:
            outcome = create(module, rest, entry, keep)
        else:
            outcome = relabel(module, rest, entry, (path, live, want, keep), attempt, found)
        if outcome is not _AGAIN:
            return outcome
    module.fail_json(msg="namespace %s kept changing while it was labelled (%d conflicts): re-run" % (
        name, CONFLICT_RETRIES))


def _diff(name, before, after):
    return {"before_header": name, "after_header": name, "before": before, "after": after}


def _action(entry):
    return "labelled" if entry["state"] == "present" else "unlabelled"


def create(module, rest, entry, keep):
    """(result, diff) for a namespace that is not there: created with its labels (nothing to do when it should
    be unlabelled), or ``_AGAIN`` when someone else created it meanwhile."""
    name = entry["name"]
    if entry["state"] == "absent":
        return {"name": name, "labels": {}, "action": "absent"}, None
    if not module.params["create"]:
        module.fail_json(msg="namespace %s does not exist; create it or set create=true" % name)
    if not module.check_mode:
        try:
            rest.request("POST", "/api/v1/namespaces", {"fieldManager": FIELD_MANAGER}, {
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": keep}})
        except K8sApiError as exc:
            if exc.status == 409 and exc.reason == "AlreadyExists":
                return _AGAIN  # created by someone else meanwhile: label the one that exists
            raise
    return {"name": name, "labels": keep, "action": "created"}, _diff(name, {}, keep)


def label_drift(live, want):
    """The injection labels this run sets that another field manager changed since (``inj.label_drift``)."""
    return inj.label_drift(live, want, FIELD_MANAGER)


def refuse_drift(module, name, drifted):
    module.fail_json(msg="namespace %s: injection labels changed by another field manager: %s. Nothing of it was "
                         "changed. Set force_conflicts=true (aksmesh_reconcile: force in the inventory) to set them "
                         "back, or change the namespace's entry to what it should be" % (
                             name, ownership.drift_text(drifted, FIELD_MANAGER)),
                     drift=[dict(d, apiVersion="v1", kind="Namespace", namespace=None, name=name, action="failed")
                            for d in drifted])


def relabel(module, rest, entry, target, attempt, found):
    """(result, diff) for a namespace that exists (``target``: its path, the live object, the labels wanted and
    those to keep): patched when its labels differ, or ``_AGAIN`` when it changed since it was read."""
    path, live, want, keep = target
    name = entry["name"]
    meta = live.get("metadata") or {}
    current = meta.get("labels") or {}
    patch = inj.label_patch(current, want)
    before = dict((k, current[k]) for k in (inj.INJECTION, inj.REVISION, inj.DATAPLANE) if k in current)
    if attempt == 0:
        found.update(before=before, patch=patch)
    if patch is None:
        return settled(entry, before, found) if attempt else ({"name": name, "labels": before,
                                                               "action": "unchanged"}, None)
    drifted = label_drift(live, want)
    if drifted and module.check_mode and not module.params["force_conflicts"]:
        # a drift report: the real run fails here (or sets them back with force_conflicts)
        return ({"name": name, "labels": before, "action": "drifted", "drift": drifted},
                _diff(name, before, keep))
    if drifted and not module.params["force_conflicts"]:
        refuse_drift(module, name, drifted)
    if not module.check_mode:
        patch["metadata"]["resourceVersion"] = meta.get("resourceVersion")  # a precondition, not a change
        try:
            rest.request("PATCH", path, {"fieldManager": FIELD_MANAGER}, patch, "application/merge-patch+json")
        except K8sApiError as exc:
            if exc.status == 409:  # changed since it was read: read it again
                return _AGAIN
            raise
    result = {"name": name, "labels": keep, "action": _action(entry)}
    if drifted:
        result["drift"] = drifted  # set back (force_conflicts)
    return result, _diff(name, before, keep)


def settled(entry, before, found):
    """(result, diff) for a namespace read again that is now as wanted: the change this run made from what it
    found first (a write whose answer was lost), or unchanged when it found it as wanted."""
    name = entry["name"]
    if not (found["missing"] or found["patch"] is not None):
        return {"name": name, "labels": before, "action": "unchanged"}, None
    action = "created" if found["missing"] else _action(entry)
    return {"name": name, "labels": before, "action": action}, _diff(name, found.get("before", {}), before)
