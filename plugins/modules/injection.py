#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: injection
short_description: Label namespaces for Istio sidecar injection (plain or revision-based) or the ambient data plane
version_added: 0.1.0
description:
  - Sets C(istio-injection=enabled) on a namespace, or C(istio.io/rev=<revision>) for revision-based
    (canary) control planes, and removes the other label so a namespace never carries both.
  - With O(dataplane_mode=ambient), sets C(istio.io/dataplane-mode=ambient) instead and removes both injection labels.
  - With O(namespaces[].state=absent), removes all four labels (the injection labels, C(istio.io/dataplane-mode), C(istio.io/use-waypoint)).
  - Changes only these labels (JSON merge patch); other labels stay as they are.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.in_process
  - aksmesh.istio.attributes.action
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
        description:
          - Namespace name.
          - Not C(kube-system), C(kube-public) or C(kube-node-lease) with O(namespaces[].state=present) - the
            cluster's own namespaces get no sidecars (their pods start before the mesh and run it); refused by name.
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
      waypoint:
        description:
          - With O(dataplane_mode=ambient), the namespace's traffic goes through its waypoint
            (C(istio.io/use-waypoint=waypoint); the C(waypoint) Gateway itself is the role's, through
            P(aksmesh.istio.injection_waypoints#filter)). Refused in sidecar mode. Without it the label is removed.
        type: bool
        default: false
      service_waypoints:
        description:
          - With O(dataplane_mode=ambient), waypoints of their own for some Services of the namespace - each Service
            listed is labelled C(istio.io/use-waypoint=<name>) (the Gateways are the role's, through
            P(aksmesh.istio.injection_waypoints#filter)). Only that label of a Service is changed; a Service that does
            not exist yet is reported C(pending) and labelled by a later run.
          - In ambient mode, a Service this module labelled that no entry names any more loses the label (so does every
            one of a namespace whose entry is absent). In sidecar mode no Service is read or changed.
          - Refused in sidecar mode, with a name that is not a DNS-1123 label or is C(waypoint) (the namespace
            waypoint's), a waypoint listed twice, or a Service given to two waypoints.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: The waypoint's name (its Gateway's, and the label's value).
            type: str
            required: true
          services:
            description: The Services of the namespace that go through it.
            type: list
            elements: str
            required: true
  create:
    description:
      - Create namespaces that do not exist (only for O(namespaces[].state=present)).
      - With C(false), every namespace is read first, and one that does not exist fails the task naming all of
        them before any namespace is labelled.
    type: bool
    default: true
  force_conflicts:
    description:
      - Set back an injection label another field manager changed since (drift, from the namespace's
        C(managedFields); for example C(kubectl label --overwrite)) instead of failing with a message that names
        the label, its live and desired values and the manager.
      - In check mode a changed label is reported as action C(drifted) (RV(drift)), not as a failure.
      - The action plugin takes it from C(settings_mesh.reconcile.force) (C(aksmesh_reconcile)) when the task does
        not give it.
    type: bool
    default: false
  revision:
    description:
      - Revision for the entries of O(namespaces) that name none, for example the managed AKS add-on's
        C(asm-1-28); the add-on ignores C(istio-injection=enabled) and injects only C(istio.io/rev=<revision>).
    type: str
  dataplane_mode:
    description:
      - C(sidecar) labels for sidecar injection (and takes an C(istio.io/dataplane-mode) label off); C(ambient) labels
        C(istio.io/dataplane-mode=ambient) and takes the injection labels off - one data plane per namespace.
    type: str
    choices: [sidecar, ambient]
    default: sidecar
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
    - Check mode. The namespaces this run would create; the action plugin adds them to the run's plan, the host
      fact C(settings_planned), which the next tasks of the check-mode run read
      (O(aksmesh.istio.apply#module:planned)).
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
drift:
  description:
    - The injection labels another field manager changed since the collection set them, one entry per label
      (C(apiVersion), C(kind), C(namespace), C(name), C(action), C(path), C(desired), C(live), C(managers)), as
      RV(aksmesh.istio.apply#module:drift) - set back (C(labelled)) with O(force_conflicts), reported (C(drifted))
      in check mode.
  returned: always
  type: list
  elements: dict
services:
  description:
    - The Services of O(namespaces[].service_waypoints), and those whose waypoint label this module took back - each
      with C(namespace), C(name), C(waypoint) (the label's value after the run; null when taken back) and C(action)
      (C(labelled), C(unlabelled), C(unchanged), C(pending) - not there yet - or C(drifted) in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"namespace": "shop", "name": "reviews", "waypoint": "reviews-waypoint", "action": "labelled"}]
namespaces:
  description: Per namespace, the injection labels after the run and what happened.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "shop", "labels": {"istio-injection": "enabled"}, "action": "labelled"}]
"""

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import namespace_labels
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule


def main():
    module = KubeModule(argument_spec=namespace_labels.argument_spec(), supports_check_mode=True)
    namespace_labels.run(module)


if __name__ == "__main__":
    main()
