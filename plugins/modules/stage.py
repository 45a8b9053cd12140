#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# The documentation of the aksmesh.istio.stage action plugin (plugins/action/stage.py), which runs on the controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: stage
short_description: Apply (or render) one stage's objects, with the stage's label, prune kinds and render folder
version_added: 0.2.0
description:
  - The one place a stage of the collection is applied. The stage comes from the collection's stage registry
    (C(plugins/plugin_utils/_stages.py)) - O(name), or the stage of the role the task is in.
  - Puts the stage's C(aksmesh.io/stage) label on the objects whose stage label the stage filters left empty (as
    P(aksmesh.istio.stage_labels#filter) does); a label that has a value stays as it is.
  - Without O(render_dir), applies the objects with M(aksmesh.istio.apply) in one call and, with
    O(state=present), prunes the objects of the stage's kinds that carry the stage's label and are no longer in the
    batch (the kinds come from the registry). With O(state=absent), deletes them.
  - With O(render_dir), writes the objects to C(<render_dir>/<stage folder>/) with M(aksmesh.istio.render) instead
    (one file per object, a folder per stage numbered in apply order); O(state=absent) empties the stage's folder.
  - In check mode, hands M(aksmesh.istio.apply) what the earlier tasks of the run would have created (the host fact
    C(settings_planned), which the P(aksmesh.istio.settings#role) role starts empty), and adds what this stage would
    create to it for the next tasks.
  - Secret values never appear in any output, at C(-vvv) and with C(--diff) too; the modules mask them.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.k8s_auth
attributes:
  action:
    support: full
    description: Runs on the controller, where it reads the stage registry; the objects go to M(aksmesh.istio.apply)
      or M(aksmesh.istio.render).
  async:
    support: full
    description:
      - With the C(async) keyword, the module runs in the background and C(poll) prints a progress line per poll
        while the workloads roll out (O(wait)). The task's C(async) limit can come from
        P(aksmesh.istio.wait_limit#filter).
      - In check mode and in render mode, run it without C(async) (nothing waits there, and the check-mode plan of
        an async task cannot be kept).
  check_mode:
    support: full
    description: Server-side dry run (M(aksmesh.istio.apply)), or the files that would be written
      (M(aksmesh.istio.render)); nothing is persisted.
  diff_mode:
    support: full
    description: Shows, per object (or file), the fields before and after (Secret values masked).
options:
  name:
    description:
      - A stage of the registry that applies objects (one with a render folder, such as C(mtls) or C(gateways)).
        A name the registry does not know fails the task, naming the stages there are.
      - Default the stage of the role the task is in (the registry's roles of each stage); a task outside such a
        role must give it.
    type: str
  definitions:
    description:
      - The stage's objects, as the stage filters build them. An empty list applies nothing - with O(state=present)
        and O(prune), it deletes what the stage applied before, in every namespace (the last waypoint or policy
        taken out of the inventory); the task is skipped for a stage that prunes nothing or with O(prune=false). In
        render mode it empties the stage's folder.
    type: list
    elements: dict
    required: true
  state:
    description:
      - C(present) applies the objects and prunes the stage's objects that are no longer built; C(absent) deletes
        them (in render mode, removes the stage's files).
    type: str
    choices: [present, absent]
    default: present
  prune:
    description:
      - With O(state=present), prune the stage's kinds (from the registry) within its label. C(false) for a task
        that applies only part of a stage, so the rest is not pruned.
    type: bool
    default: true
  wait:
    description: Wait for the rollouts (and, with O(state=absent), until the objects are gone); see
      O(aksmesh.istio.apply#module:wait).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait in total with O(wait=true).
    type: int
    default: 300
  field_manager:
    description: Server-side apply field manager.
    type: str
    default: aksmesh
  force_conflicts:
    description:
      - Take back fields another field manager changed (drift) instead of failing with a conflict that names each
        field, its values and the manager; see O(aksmesh.istio.apply#module:force_conflicts).
      - Default C(settings_mesh.reconcile.force) when the settings role ran (C(aksmesh_reconcile=force)), else
        false.
    type: bool
  render_dir:
    description:
      - Empty, apply to the cluster. Set, render mode - write the objects to C(<render_dir>/<stage folder>/) instead,
        without a cluster (the roles give it C(settings_mesh.render_dir)).
      - The Kubernetes connection options are not used in render mode.
    type: path
    default: ""
notes:
  - The Kubernetes connection options are handed to M(aksmesh.istio.apply) as given; C(module_defaults) for
    C(group/aksmesh.istio.k8s) reach this action as they reach the modules of the group.
seealso:
  - module: aksmesh.istio.apply
  - module: aksmesh.istio.render
  - plugin: aksmesh.istio.stage_labels
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Apply the PeerAuthentications (in the mesh_mtls role, whose stage is mtls)
  aksmesh.istio.stage:
    definitions: "{{ mesh_mtls_mode | aksmesh.istio.mtls_manifests(root_namespace='istio-system') }}"
    state: "{{ mesh_mtls_state }}"
    render_dir: "{{ settings_mesh.render_dir }}"

- name: Apply the addons, with a progress line per poll while they roll out
  aksmesh.istio.stage:
    name: addons
    definitions: "{{ addon_objects }}"
    wait: true
    wait_timeout: 600
    render_dir: "{{ settings_mesh.render_dir }}"
  async: "{{ 600 | aksmesh.istio.wait_limit if not (ansible_check_mode or settings_mesh.render) else 0 }}"
  poll: 10
  register: addons

- name: Render a stage without a cluster
  aksmesh.istio.stage:
    name: gateways
    definitions: "{{ gateway_objects }}"
    render_dir: rendered/demo-aks
"""

RETURN = r"""
counts:
  description: Number of objects (M(aksmesh.istio.apply)) or files (M(aksmesh.istio.render)) per action.
  returned: unless skipped
  type: dict
  sample: {"created": 3, "configured": 1, "unchanged": 40}
results:
  description: M(aksmesh.istio.apply)'s result per object (C(apiVersion), C(kind), C(namespace), C(name),
    C(action), C(result)), see RV(aksmesh.istio.apply#module:results).
  returned: when applied
  type: list
  elements: dict
requests:
  description: API requests made, per HTTP verb.
  returned: when applied
  type: dict
failures:
  description: Error messages, one per failed object.
  returned: when applied
  type: list
  elements: str
drift:
  description:
    - The fields someone else changed since the collection applied them, one entry per field (object, C(path),
      C(desired), C(live), C(managers)), see RV(aksmesh.istio.apply#module:drift).
    - Added, with the stage's name, to the host fact C(settings_report) (C(drift); in check mode also C(missing),
      the objects the stage would create, and C(extra), those it would prune), which the end of C(site.yml) writes
      to the run's drift report.
  returned: when applied
  type: list
  elements: dict
planned:
  description: Check mode. What the earlier tasks of the run and this stage would create (C(namespaces),
    C(kinds)); also kept in the host fact C(settings_planned) for the next tasks.
  returned: when applied in check mode
  type: dict
files:
  description: Render mode. Every file of the stage's folder with its action, see
    RV(aksmesh.istio.render#module:files).
  returned: when rendered
  type: list
  elements: dict
folder:
  description: Render mode. The stage's folder.
  returned: when rendered
  type: str
  sample: rendered/demo-aks/40-mtls
"""
