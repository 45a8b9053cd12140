#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: apply
short_description: Apply or delete many Kubernetes objects in one call, with server-side apply
version_added: 0.1.0
description:
  - Applies a whole set of objects (definitions, multi-document YAML, files, directories) with server-side apply
    in one module call, instead of one M(kubernetes.core.k8s) call per object.
  - Idempotent and cheap. A run where nothing changed reads each kind once (one GET or one LIST) after discovery
    and writes nothing. It compares the definitions with the fields this O(field_manager) owns on the live
    objects, so only objects that differ are sent to the server.
  - An object annotated C(kustomize.toolkit.fluxcd.io/ssa=IfNotPresent) (as Flux reads it) is created when it is
    absent and never updated, so a placeholder Secret never overwrites the value someone set.
  - Namespaces and CustomResourceDefinitions are applied first, then the rest; O(state=absent) deletes in reverse.
    Objects whose kind comes from a CRD in the same batch are applied once that CRD is Established.
  - Retries 429 and 5xx answers with backoff honouring C(Retry-After), and dropped connections; reports field
    manager conflicts with the owning manager's name.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.in_process
  - aksmesh.istio.attributes.action
  - aksmesh.istio.k8s_auth
  - aksmesh.istio.planned
attributes:
  check_mode:
    support: full
    description: Sends server-side dry-run requests; nothing is persisted.
  diff_mode:
    support: full
    description: Shows, per object, the fields of the definition before and after (Secret values masked).
options:
  definitions:
    description:
      - Objects to apply. A list of objects, a single object, or multi-document YAML text. C(List) kinds are
        expanded.
      - O(definition) is M(kubernetes.core.k8s)'s name for it, so a task written for that module reads the same.
    type: raw
    aliases: [definition]
  src:
    description:
      - Files or directories (read recursively, C(*.yaml), C(*.yml), C(*.json)) holding objects to apply.
    type: list
    elements: path
    default: []
  namespace:
    description:
      - Namespace for namespaced objects that do not name one. Defaults to C(default).
    type: str
  state:
    description:
      - C(present) applies the objects, C(absent) deletes them (missing ones count as unchanged).
    type: str
    choices: [present, absent]
    default: present
  field_manager:
    description:
      - Server-side apply field manager name. Use one name per owner of a set of fields.
    type: str
    default: aksmesh
  force_conflicts:
    description:
      - Take over fields another field manager owns instead of failing with a conflict.
      - Either way the fields someone else changed since the last apply are reported (RV(drift)) - with C(false)
        a conflict fails the object naming each field, its live and desired values and the manager that holds it
        (nothing of the object is changed), with C(true) they are taken back and reported as overwritten.
      - In check mode a conflict is not a failure - the object is reported as C(drifted) with its fields (a drift
        report writes nothing).
    type: bool
    default: false
  wait:
    description:
      - After applying, wait until Deployments, DaemonSets and StatefulSets are rolled out and
        CustomResourceDefinitions are Established.
      - With O(state=absent), wait until every deleted object is gone (a namespace until its content is
        deleted and it has finalized), so that a following run can create it again.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait in total when O(wait=true).
    type: int
    default: 300
  prune:
    description:
      - Delete objects that carry O(prune.label_selector), are of one of O(prune.kinds), were applied by this
        O(field_manager), and are not in the batch. Opt-in.
      - An empty batch with O(prune) applies nothing and deletes every object the selector selects, in every
        namespace unless O(prune.namespaces) is given - what an earlier batch applied, now that its last object
        was taken out. Its selector must name both ownership labels.
    type: dict
    suboptions:
      label_selector:
        description:
          - Label selector the batch's objects carry, for example
            C(app.kubernetes.io/managed-by=aksmesh,aksmesh.io/stage=mtls).
          - Only C(key=value) requirements, at least one, and among them every ownership label
            (C(app.kubernetes.io/managed-by), C(aksmesh.io/stage)) that all objects of the batch carry - an empty
            or broader selector would prune what other stages applied, and is refused before anything changes.
        type: str
        required: true
      kinds:
        description: The kinds to prune, each with C(apiVersion) and C(kind), and C(optional=true) for a kind the
          cluster may not serve (its CRD absent, as the Gateway API's may be), which then has nothing to prune; any
          other kind the API server does not serve fails the task before its first write.
        type: list
        elements: dict
        required: true
      namespaces:
        description: Namespaces to prune in. Defaults to the namespaces of the batch (with an empty batch, every
          namespace).
        type: list
        elements: str
  apply_order:
    description:
      - C(kinds) applies Namespaces and CRDs first, then dependants (and deletes in reverse); C(as_given) keeps
        the input order.
    type: str
    choices: [kinds, as_given]
    default: kinds
  continue_on_error:
    description:
      - Apply the rest of the batch when one object fails; the module still fails at the end, listing every
        failure.
    type: bool
    default: false
  api_retries:
    description:
      - How often to retry a request answered with 429 or 5xx, or whose connection dropped.
    type: int
    default: 5
  parallel:
    description:
      - How many objects of the same apply-order rank (for example all ConfigMaps, or all custom resources) are
        sent to the API server at once. C(1) applies one object after the other.
    type: int
    default: 8
notes:
  - Secret values never appear in results or diffs, nor in any message (they are the module's no-log values). A
    user name is no secret - the value of a key such as C(username), C(user) or C(admin-user) is shown, so that
    Ansible does not mask a common word such as C(admin) wherever it appears. Pass Secrets from vaulted variables.
"""

EXAMPLES = r"""
- name: Apply the mesh configuration in one call
  aksmesh.istio.apply:
    kubeconfig: "{{ aksmesh_kubeconfig }}"
    src:
      - files/mesh/
    wait: true

- name: Apply definitions built in the play
  aksmesh.istio.apply:
    namespace: shop
    definitions:
      - apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: web
        spec:
          host: web
          exportTo: ["."]
          trafficPolicy:
            tls:
              mode: ISTIO_MUTUAL

- name: A task written for kubernetes.core.k8s, then the applied object for the next task
  aksmesh.istio.apply:
    definition:
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: mesh-settings
        namespace: shop
      data:
        mode: strict
  register: applied

- name: Use what the server answered
  ansible.builtin.debug:
    msg: "{{ applied.results[0].result.metadata.uid }}"

- name: Remove what an earlier release applied but this one does not
  aksmesh.istio.apply:
    src: [manifests/]
    prune:
      label_selector: app.kubernetes.io/managed-by=aksmesh
      kinds:
        - {apiVersion: networking.istio.io/v1, kind: VirtualService}
        - {apiVersion: networking.istio.io/v1, kind: DestinationRule}

- name: Delete them again
  aksmesh.istio.apply:
    src: [manifests/]
    state: absent
"""

RETURN = r"""
planned:
  description:
    - Check mode. O(planned) with the namespaces and CRD kinds this batch would create added (C(namespaces),
      C(kinds)); the action plugin keeps it as the run's plan, the host fact C(settings_planned), for the next
      tasks of the check-mode run.
  returned: in check mode
  type: dict
results:
  description: One entry per object, in the order they were processed.
  returned: always
  type: list
  elements: dict
  contains:
    apiVersion:
      description: API version of the object.
      type: str
    kind:
      description: Kind of the object.
      type: str
    namespace:
      description: Namespace, or null for cluster-scoped objects.
      type: str
    name:
      description: Name of the object.
      type: str
    action:
      description: What happened (or would happen in check mode).
      type: str
      choices: [created, configured, unchanged, deleted, pruned, drifted, failed]
    drift:
      description:
        - The fields whose live value differs from the definition, each with C(path), C(desired), C(live) and
          C(managers) (the field managers, with their operation, that hold the field now; empty when the field was
          removed). A Secret's values are masked.
        - A field that O(field_manager) alone holds (its C(Apply) entry) is a pending change - the definition
          changed since its last apply, nobody else changed the field - and no drift, so RV(drift) leaves it out.
      type: list
      elements: dict
      returned: when action is configured (a pending change, or drift taken back) or drifted (check mode, held by
        another manager)
    error:
      description: Why the object failed.
      type: str
      returned: when action is failed
    result:
      description:
        - The object as the API server answered the apply (in check mode, its dry run; when unchanged, as read),
          for later tasks to chain on (its C(metadata.uid), C(resourceVersion), server defaults, C(status)).
        - C(metadata.managedFields) left out; a Secret's C(data) and C(stringData) values are masked (keys
          stay), in the result as in C(--diff).
        - In check mode, an object whose kind only an earlier task of the run would create is returned as given.
      type: dict
      returned: when action is created, configured or unchanged
  sample: [{"apiVersion": "v1", "kind": "Namespace", "namespace": null, "name": "shop", "action": "created",
            "result": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "uid": "0b6c..."},
                       "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}}]
drift:
  description:
    - Every drifted field of the batch (another field manager changed or removed it), one entry per field - the
      object (C(apiVersion), C(kind), C(namespace), C(name), C(action)) and the field (C(path), C(desired), C(live),
      C(managers), the other field managers that hold it); see RV(results[].drift). Pending changes of the
      definitions (fields only O(field_manager) holds) are not drift and not listed.
    - With O(force_conflicts=true) these fields were taken back (action C(configured)); in check mode, action
      C(drifted) marks the ones another manager holds (the real run fails without O(force_conflicts)).
  returned: always
  type: list
  elements: dict
  sample: [{"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "namespace": "shop",
            "name": "reviews", "action": "drifted", "path": ".spec.http",
            "desired": [{"route": [{"destination": {"host": "reviews", "subset": "v1"}, "weight": 90}]}],
            "live": [{"route": [{"destination": {"host": "reviews", "subset": "v1"}, "weight": 50}]}],
            "managers": ["kubectl-patch (Update)"]}]
counts:
  description: Number of objects per action.
  returned: always
  type: dict
  sample: {"created": 3, "configured": 1, "unchanged": 40}
requests:
  description: API requests this run made, per HTTP verb (discovery included).
  returned: always
  type: dict
  sample: {"GET": 12, "PATCH": 4}
unvalidated:
  description:
    - Before the first write the module resolves every kind of the batch and dry-runs every object that changes
      (when more than one does), so a batch the API server would refuse in part is not begun.
    - The objects it could not dry-run then - their Namespace or their CustomResourceDefinition comes (or changes)
      with the same batch - are checked when applied, after the objects before them; listed here as
      C(Kind namespace/name (why)).
  returned: always
  type: list
  elements: str
  sample: ["Gateway shop/web (its Namespace comes with the batch)"]
failures:
  description: Error messages, one per failed object, naming the object and the API's reason.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import batch
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule


def main():
    module = KubeModule(argument_spec=batch.argument_spec(), supports_check_mode=True, **batch.CHECKS)
    batch.run(module)


if __name__ == "__main__":
    main()
