#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: injection
short_description: Label namespaces for Istio sidecar injection (plain or revision-based)
version_added: 0.1.0
description:
  - Sets C(istio-injection=enabled) on a namespace, or C(istio.io/rev=<revision>) for revision-based
    (canary) control planes, and removes the other label so a namespace never carries both.
  - With O(namespaces[].state=absent), removes both labels.
  - Changes only these labels (JSON merge patch); other labels stay as they are.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.k8s_auth
attributes:
  check_mode:
    support: full
    description: Reports the label changes without writing them.
  diff_mode:
    support: full
    description: Shows each namespace's injection labels before and after.
options:
  namespaces:
    description: Namespaces to label.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Namespace name.
        type: str
        required: true
      revision:
        description:
          - Istio revision to inject from. Unset falls back to O(revision); C(default) (or neither set) uses
            C(istio-injection=enabled).
        type: str
      state:
        description: C(present) labels the namespace, C(absent) removes the injection labels.
        type: str
        choices: [present, absent]
        default: present
  create:
    description: Create namespaces that do not exist (only for O(namespaces[].state=present)).
    type: bool
    default: true
  revision:
    description:
      - Revision for the entries of O(namespaces) that name none, for example the managed AKS add-on's
        C(asm-1-28); the add-on ignores C(istio-injection=enabled) and injects only C(istio.io/rev=<revision>).
    type: str
"""

EXAMPLES = r"""
- name: Inject sidecars in shop, from the canary revision in payments
  aksmesh.istio.injection:
    namespaces:
      - name: shop
      - name: payments
        revision: 1-30-0
"""

RETURN = r"""
planned:
  description:
    - Check mode. The namespaces this run would create; give it to the next tasks of the check-mode run as their
      O(aksmesh.istio.apply#module:planned).
  returned: in check mode
  type: dict
  contains:
    namespaces:
      description: Namespaces that would be created.
      type: list
      elements: str
    kinds:
      description: Always empty (this module creates no kinds).
      type: list
      elements: str
namespaces:
  description: Per namespace, the injection labels after the run and what happened.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "shop", "labels": {"istio-injection": "enabled"}, "action": "labelled"}]
"""

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import injection as inj
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names as k8s_names
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import K8S_AUTH_ARG_SPEC, KubeModule, connect
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError, RestClient


CONFLICT_RETRIES = 3


def label(module, rest, results):
    """Label (create) each namespace as asked; ``results`` grows as it goes."""
    diffs = []
    for entry in module.params["namespaces"]:
        result, diff = label_one(module, rest, entry)
        results.append(result)
        if diff:
            diffs.append(diff)
    changed = any(r["action"] in ("created", "labelled", "unlabelled") for r in results)
    out = dict(changed=changed, namespaces=results)
    if module.check_mode:  # for the next tasks of the check-mode run: these namespaces would exist
        out["planned"] = {"namespaces": sorted(r["name"] for r in results if r["action"] == "created"), "kinds": []}
    if module._diff:
        out["diff"] = diffs
    return out


FIELD_MANAGER = "aksmesh"  # the collection's writes carry its name in managedFields


def label_one(module, rest, entry):
    """(result, diff) for one namespace. Writes survive races: a create that meets AlreadyExists (someone made it
    meanwhile) labels the namespace that exists, and a label patch carries the resourceVersion it was computed
    from, so a patch that arrives late can never overwrite a newer change (409: read again, bounded)."""
    name = entry["name"]
    path = "/api/v1/namespaces/%s" % k8s_names.segment("Namespace", name)
    want = inj.desired_labels(entry, module.params["revision"])
    keep = dict((k, v) for k, v in want.items() if v is not None)
    # what this run found first: after a write whose answer was lost (or a race), the namespace is read again and
    # may already be as wanted; the run still reports the change it made from this state
    found = None
    for attempt in range(CONFLICT_RETRIES):
        live = rest.request("GET", path, ok_missing=True)
        if attempt == 0:
            found = {"missing": live is None}
        if live is None:
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
                        continue  # created by someone else meanwhile: label the one that exists
                    raise
            return ({"name": name, "labels": keep, "action": "created"},
                    {"before_header": name, "after_header": name, "before": {}, "after": keep})
        meta = live.get("metadata") or {}
        current = meta.get("labels") or {}
        patch = inj.label_patch(current, want)
        before = dict((k, current[k]) for k in (inj.INJECTION, inj.REVISION) if k in current)
        if attempt == 0:
            found.update(before=before, patch=patch)
        if patch is None and attempt and (found["missing"] or found["patch"] is not None):
            action = "created" if found["missing"] else (
                "labelled" if entry["state"] == "present" else "unlabelled")
            return ({"name": name, "labels": before, "action": action},
                    {"before_header": name, "after_header": name, "before": found.get("before", {}), "after": before})
        if patch is None:
            return {"name": name, "labels": before, "action": "unchanged"}, None
        if not module.check_mode:
            patch["metadata"]["resourceVersion"] = meta.get("resourceVersion")  # a precondition, not a change
            try:
                rest.request("PATCH", path, {"fieldManager": FIELD_MANAGER}, patch, "application/merge-patch+json")
            except K8sApiError as exc:
                if exc.status == 409:  # changed since it was read: read it again
                    continue
                raise
        return ({"name": name, "labels": keep, "action": "labelled" if entry["state"] == "present" else "unlabelled"},
                {"before_header": name, "after_header": name, "before": before, "after": keep})
    module.fail_json(msg="namespace %s kept changing while it was labelled (%d conflicts): re-run" % (
        name, CONFLICT_RETRIES))


def main():
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(
        namespaces=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            revision=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        )),
        create=dict(type="bool", default=True),
        revision=dict(type="str"),
    )
    module = KubeModule(argument_spec=spec, supports_check_mode=True)
    entries = module.params["namespaces"]
    k8s_names.require(module, [("Namespace", n["name"], "namespaces[%d].name" % i) for i, n in enumerate(entries)]
                      + [("Namespace", n["revision"], "namespaces[%d].revision" % i) for i, n in enumerate(entries)]
                      + [("Namespace", module.params["revision"], "revision")])
    listed = [n["name"] for n in entries]
    if len(set(listed)) != len(listed):
        module.fail_json(msg="namespaces lists a namespace twice: %s" % sorted(set(n for n in listed
                                                                                   if listed.count(n) > 1)))
    rest = RestClient(connect(module), timeout=module.params["request_timeout"])
    results = []
    errors.run(module, lambda: label(module, rest, results), partial=lambda: dict(namespaces=results))


if __name__ == "__main__":
    main()
