# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The apply module's batch: its objects loaded and checked, applied (and pruned) or deleted in one engine run,
and the module's result with counts, requests, failures, check mode's plan and the diff.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MANAGED_BY, STAGE
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors, manifests, names, ownership
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.apply import ApplyEngine
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import connect
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.discovery import UnknownKind
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.planned import PLANNED_ARG_SPEC, Planned
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.redact import redact, secret_values
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import RestClient

try:
    import yaml
except ImportError:
    yaml = None

# drifted: check mode, another field manager holds fields the apply would write (the real run fails, or takes them
# back with force_conflicts): a change a read-only run reports
CHANGES = ("created", "configured", "deleted", "pruned", "drifted")


# AnsibleModule's checks besides the argument spec: the alias "definition" counts as definitions
CHECKS = dict(required_one_of=[("definitions", "src")])


def argument_spec():
    """The apply module's options (plugins/modules/apply.py documents them)."""
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(
        definitions=dict(type="raw", aliases=["definition"]),
        src=dict(type="list", elements="path", default=[]),
        namespace=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        field_manager=dict(type="str", default="aksmesh"),
        force_conflicts=dict(type="bool", default=False),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=300),
        prune=dict(type="dict", options=dict(
            label_selector=dict(type="str", required=True),
            kinds=dict(type="list", elements="dict", required=True),
            namespaces=dict(type="list", elements="str"),
        )),
        apply_order=dict(type="str", choices=["kinds", "as_given"], default="kinds"),
        continue_on_error=dict(type="bool", default=False),
        api_retries=dict(type="int", default=5),
        parallel=dict(type="int", default=8),
    )
    spec.update(PLANNED_ARG_SPEC)
    return spec


def run(module):
    """The apply module: load the batch, then apply or delete it on the module's connection."""
    p = module.params
    try:
        objs, invalid = load(module)
    except manifests.ManifestError as exc:
        module.fail_json(msg=str(exc))
    # Secret values given in definitions never reach the output, not even the echoed arguments
    module.no_log_values.update(secret_values(objs))
    rest = RestClient(connect(module), timeout=p["request_timeout"], retries=p["api_retries"])
    engine = new_engine(module, rest)
    for obj, message in invalid:  # continue_on_error: named as failed, the rest applied
        engine.reject(obj, message)
    errors.run(module, lambda: apply_batch(module, engine, rest, objs),
               partial=lambda: dict(results=engine.results, requests=rest.counts))


def new_engine(module, rest):
    """The apply engine the module's parameters describe."""
    p = module.params
    return ApplyEngine(rest, field_manager=p["field_manager"], force_conflicts=p["force_conflicts"],
                       check_mode=module.check_mode, diff=module._diff, default_namespace=p["namespace"],
                       continue_on_error=p["continue_on_error"], wait=p["wait"], wait_timeout=p["wait_timeout"],
                       by_kind=p["apply_order"] == "kinds", parallel=max(1, p["parallel"]),
                       planned=Planned.from_params(p))


def _prune(p):
    return p["prune"] or {}


def load(module):
    """The batch's objects and, with continue_on_error, the invalid ones as (object, message) pairs; fails on
    a bad namespace name, an empty batch that prunes nothing or a prune kind without apiVersion and kind. An empty
    batch with prune deletes what an earlier batch of the same labels applied (a stage's last object taken out of the
    inventory)."""
    p = module.params
    names.require(module, [("Namespace", p["namespace"], "namespace")] + [
        ("Namespace", ns, "prune.namespaces[%d]" % i) for i, ns in enumerate(_prune(p).get("namespaces") or [])])
    pairs = []
    if p["definitions"] is not None:
        pairs += manifests.expand([p["definitions"]])
    pairs += manifests.expand(manifests.load_paths(p["src"]))
    invalid = [] if p["continue_on_error"] else None
    objs = manifests.normalize(pairs, invalid)
    if not objs and not invalid and not (p["prune"] and p["state"] == "present"):
        module.fail_json(msg="nothing to apply: give definitions or src with at least one object (or, to delete "
                             "what an earlier batch applied, prune)")
    for spec in _prune(p).get("kinds") or []:
        if not spec.get("apiVersion") or not spec.get("kind"):
            module.fail_json(msg="prune.kinds entries need apiVersion and kind, got %s" % spec)
    if p["prune"] and p["state"] == "present":
        problem = selector_problem(p["prune"]["label_selector"], objs)
        if problem:
            module.fail_json(msg="prune.label_selector %s; nothing changed" % problem)
    return objs, invalid or []


# one requirement of a label selector that selects by equality: key=value or key==value
EQUALITY = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._/-]*)\s*==?\s*([A-Za-z0-9._-]*)\s*$")
# the ownership labels a prune selector may not leave out when every object of the batch carries them: without the
# stage's label, prune deletes what the collection's other stages applied
OWNERSHIP = (MANAGED_BY, STAGE)


def selector_problem(selector, objs):
    """What is wrong with ``selector`` as the prune selector of ``objs``, or None. Prune deletes what the selector
    selects and the batch lacks: the selector must name the batch's own labels, by equality, and among them every
    ownership label (``app.kubernetes.io/managed-by``, ``aksmesh.io/stage``) the batch's objects all carry."""
    text = (selector or "").strip()
    if not text:
        return ("is empty: prune would delete every object of prune.kinds this field_manager applied, other "
                "batches' too. Set it to the labels the batch's objects carry, for example %s=aksmesh,%s=<stage>"
                % (MANAGED_BY, STAGE))
    wanted = {}
    for requirement in text.split(","):
        match = EQUALITY.match(requirement)
        if not match:
            return ("%r: the requirement %r is not key=value. Prune selects by the labels the batch's objects carry, "
                    "each as key=value (a set-based, != or existence requirement selects more than the batch's own)"
                    % (selector, requirement.strip()))
        wanted[match.group(1)] = match.group(2)
    if not objs:
        # nothing to compare with: the selector must name both ownership labels, or prune deletes other stages' objects
        missing = [key for key in OWNERSHIP if not wanted.get(key)]
        if missing:
            return ("%r does not name %s: an empty batch prunes every object of prune.kinds the selector selects, so "
                    "it must name the ownership labels of the objects to delete, for example %s=aksmesh,%s=<stage>"
                    % (selector, " and ".join(missing), MANAGED_BY, STAGE))
        return None
    shared = None
    for obj in objs:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        mine = set((key, labels.get(key)) for key in OWNERSHIP if labels.get(key))
        shared = mine if shared is None else shared & mine
    missing = ["%s=%s" % (key, value) for key, value in sorted(shared or ()) if wanted.get(key) != value]
    if missing:
        return ("%r is broader than the batch's ownership labels: it lacks %s, which every object of the batch "
                "carries, so prune would delete what other batches applied. Add %s to it"
                % (selector, ", ".join(missing), ",".join(missing)))
    return None


def _dump(obj):
    return yaml.safe_dump(redact(obj), default_flow_style=False) if obj else ""


def render_diff(results):
    """Ansible's diff entries of the results that carry one (taken out of them), Secret values masked."""
    out = []
    for entry in results:
        if "diff" not in entry:
            continue
        diff = entry.pop("diff")
        header = "%s %s%s" % (entry["kind"], entry["namespace"] + "/" if entry.get("namespace") else "",
                              entry["name"])
        out.append({"before_header": header, "after_header": header,
                    "before": _dump(diff["before"]), "after": _dump(diff["after"])})
    return out


def crd_kinds(objs):
    """(group, kind) of each CustomResourceDefinition in the batch."""
    defined = set()
    for obj in objs:
        if obj["kind"] == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            defined.add((spec.get("group"), (spec.get("names") or {}).get("kind")))
    return defined


def unknown_prune_kinds(engine, objs, kinds):
    """prune.kinds entries the API server does not serve and no CRD of the batch defines (checked before the
    first write, so a typo cannot leave a batch applied and its prune undone); an ``optional`` one may be absent."""
    defined = crd_kinds(objs)
    out = []
    for spec in kinds:
        if spec.get("optional"):
            continue
        try:
            engine.discovery.resolve(spec["apiVersion"], spec["kind"])
        except UnknownKind as exc:
            if not _known_later(engine, defined, spec):
                out.append(str(exc))
    return out


def _known_later(engine, defined, spec):
    """Whether a kind the server does not serve yet comes from a CRD of the batch or of an earlier planned task."""
    planned = engine.check_mode and engine.planned.has_kind(spec["apiVersion"], spec["kind"])
    return (spec["apiVersion"].rpartition("/")[0], spec["kind"]) in defined or planned


def apply_batch(module, engine, rest, objs):
    """Apply (and prune) or delete the batch; the module's result, or a failure naming every failed object."""
    p = module.params
    if p["state"] == "present":
        apply_and_prune(module, engine, objs)
    else:
        engine.delete_all(objs)
    out = summary(module, engine, rest)
    if engine.failures:
        untouched = "" if module.check_mode or p["continue_on_error"] or not engine.refused else (
            " (checked before the first write: nothing was applied)")
        module.fail_json(msg="%d of %d objects failed%s: %s" % (len(engine.failures), len(objs), untouched,
                                                                " | ".join(engine.failures)), **out)
    return out


def apply_and_prune(module, engine, objs):
    """Apply the batch, then prune what it no longer holds (when nothing failed); unknown prune kinds fail the
    module before the first write."""
    prune = module.params["prune"]
    if prune:
        unknown = unknown_prune_kinds(engine, objs, prune["kinds"])
        if unknown:
            module.fail_json(msg="prune.kinds: %s; nothing changed" % "; ".join(unknown))
    engine.apply_all(objs)
    if prune and not engine.failures:
        namespaces = prune.get("namespaces") or sorted(set(
            r["namespace"] for r in engine.results if r.get("namespace")))
        engine.prune(prune["kinds"], prune["label_selector"], namespaces)


def drift_report(results, manager):
    """Every drifted field of the batch, one entry per field: the object, the path, desired and live values and the
    other field managers that hold it (a Secret's values masked). Drift is what another field manager changed (or
    removed): a field ``manager`` alone holds is a pending change of the definition (ownership.pending), left out."""
    return [dict(field, apiVersion=r["apiVersion"], kind=r["kind"], namespace=r.get("namespace"), name=r["name"],
                 action=r["action"], managers=ownership.others(field["managers"], manager))
            for r in results for field in r.get("drift") or [] if not ownership.pending(field, manager)]


def summary(module, engine, rest):
    """The module's result from the engine's: changed, results, counts per action, requests, failures, and in
    check mode the plan, with --diff the diff."""
    results = engine.results
    diff = render_diff(results) if module._diff else None
    counts = {}
    for entry in results:
        counts[entry["action"]] = counts.get(entry["action"], 0) + 1
    changed = any(e["action"] in CHANGES for e in results)
    out = dict(changed=changed, results=results, counts=counts, requests=rest.counts, failures=engine.failures,
               drift=drift_report(results, engine.manager), unvalidated=engine.unvalidated)
    if module.check_mode:
        out["planned"] = engine.planned.result()
        if engine.compared_locally:
            module.warn("the identity may not dry-run (a read-only role): objects were compared from their "
                        "managedFields alone, without the API server's defaults and admission")
    if diff is not None:
        out["diff"] = diff
    return out
