#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: istio_install
short_description: Install, update or remove Istio with istioctl, idempotently and with check and diff modes
version_added: 0.1.0
description:
  - Renders the IstioOperator with C(istioctl manifest generate) and compares every object with the live cluster
    (the fields the C(istio-operator) field manager owns, as the apply engine does; no writes). When all objects
    are already in place, nothing runs and the task reports C(changed=false); otherwise it runs
    C(istioctl install -y -f <operator>).
  - In check mode it reports what would change and never runs C(istioctl install); with C(--diff) it shows a
    manifest diff (live against rendered) of the objects that differ.
  - O(state=absent) runs C(istioctl uninstall -y) for the revision, or with C(--purge); nothing runs when no Istio
    control plane is found.
  - One run at a time installs or removes a revision on a cluster from this controller - a run waits (up to
    O(readiness_timeout)) for an earlier one still working on it, such as the detached async job of a killed
    C(ansible-playbook), then compares with what it left (RV(earlier_run)). It holds a lock (C(flock)) on a file in
    C(aksmesh-locks) of Ansible's async folder (C(ANSIBLE_ASYNC_DIR), default C(~/.ansible_async)), which the
    system drops when the process ends, however it ends.
  - What C(istioctl manifest generate) printed is kept in C($AKSMESH_MANIFEST_CACHE), else
    C(~/.cache/aksmesh/manifests) (files 0600, the newest 32), by the istioctl binary (its path, size, modification
    time and inode), the C(--set) and C(--revision) flags and the IstioOperator's text. A run that compares an
    unchanged operator with the same istioctl runs no istioctl (manifest generate reads neither the cluster nor the
    network). C(AKSMESH_MANIFEST_CACHE=off) turns it off; a folder that cannot be written is no cache.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.action
  - aksmesh.istio.k8s_auth
  - aksmesh.istio.k8s_auth.tool
attributes:
  check_mode:
    support: full
    description: Renders and compares only; C(istioctl install) and C(uninstall) are not run.
  diff_mode:
    support: full
    description: A manifest diff of the objects that would change.
options:
  operator:
    description: The IstioOperator, as a dictionary or a path to a file. Required for O(state=present).
    type: raw
  revision:
    description: Istio revision (C(--revision)), for canary control planes.
    type: str
  set:
    description:
      - Extra C(--set path=value) values, each as C(path=value) (such as C(values.global.hub=myregistry.example/istio));
        an entry without C(=) or with an empty path is refused before istioctl runs.
    type: list
    elements: str
    default: []
  readiness_timeout:
    description:
      - How long istioctl waits for the control plane to become ready (C(--readiness-timeout)), a Go duration such
        as C(300s) or C(5m0s); anything else fails before anything runs.
    type: str
    default: 300s
  verify:
    description: Verify the installation afterwards (C(--verify)).
    type: bool
    default: false
  state:
    description: C(present) installs or updates, C(absent) uninstalls.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description: With O(state=absent), remove every Istio control plane and shared resources (C(--purge)).
    type: bool
    default: false
  istioctl_path:
    description: The istioctl binary. Defaults to the one on C(PATH).
    type: path
  field_manager:
    description: The field manager istioctl applies with, whose fields are compared.
    type: str
    default: istio-operator
  compare_only:
    description:
      - With O(state=present), compare the rendered control plane with the cluster and report what C(istioctl install)
        would change (RV(differs), RV(objects), RV(manifest_changes), the diff, RV(drift)) without running it, and
        C(changed) false (in check mode, as always, C(changed) says whether it would change); drift fails as it
        would for the install (see O(force_conflicts)).
      - Quick and synchronous - the P(aksmesh.istio.istio_install#role) role runs it first and starts the install,
        with its wait in the background, only when something differs, so a converged cluster costs no wait.
    type: bool
    default: false
  force_conflicts:
    description:
      - When another field manager changed fields of the control plane's objects since istioctl installed them (a
        gateway Service annotation edited with kubectl, say), C(false) fails naming each field, its live and desired
        values and the manager, and runs no install; C(true) runs C(istioctl install), which takes them back, and
        reports them as overwritten (RV(drift)). Only objects istioctl applied before count; webhook configurations
        (istiod patches them at run time) and CRDs (every revision and installer labels them) never do.
      - In check mode drift is reported, never a failure.
      - The P(aksmesh.istio.istio_install#role) role leaves it unset, and the action plugin fills it from
        C(aksmesh_reconcile) (C(force) is V(true)).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Install or update Istio from the production operator
  aksmesh.istio.istio_install:
    kubeconfig: "{{ aksmesh_kubeconfig }}"
    operator: >-
      {{ 'istio-system' | aksmesh.istio.istio_operator(profile='default', revision='', ingress_namespace='istio-ingress',
                                                       ingress_ip='', ingress_ip_resource_group='',
                                                       egress_namespace='istio-egress', tracing={}) }}
    readiness_timeout: 600s

- name: Remove a canary revision
  aksmesh.istio.istio_install:
    revision: 1-30-0
    state: absent
"""

RETURN = r"""
differs:
  description: Whether the control plane differs from the rendered one (the install ran, or would run).
  returned: state is present
  type: bool
  sample: false
drift:
  description:
    - The fields of the control plane's objects another field manager changed (or removed) since istioctl applied
      them, one entry per field - the object (C(apiVersion), C(kind), C(namespace), C(name), C(action)) and the field
      (C(path), C(desired), C(live), C(managers), the other field managers that hold it). Action C(drifted) in check
      mode or when it failed the task, C(configured) when C(istioctl install) took them back
      (O(force_conflicts=true)).
  returned: state is present
  type: list
  elements: dict
  sample: [{"apiVersion": "v1", "kind": "Service", "namespace": "istio-ingress", "name": "istio-ingressgateway",
            "action": "drifted",
            "path": ".metadata.annotations.service.beta.kubernetes.io/azure-load-balancer-ipv4",
            "desired": "51.124.1.2", "live": "51.124.9.9", "managers": ["kubectl-annotate (Update)"]}]
planned:
  description:
    - Check mode. The namespaces and CRD kinds the install would create; the action plugin adds them to the run's
      plan, the host fact C(settings_planned), which the next tasks of the check-mode run read
      (O(aksmesh.istio.apply#module:planned)).
  returned: in check mode, when the install would change the cluster
  type: dict
  contains:
    namespaces:
      description: Namespaces that would exist.
      type: list
      elements: str
    kinds:
      description: Custom resource kinds that would be served (C(<group>/<Kind>) or C(<group>/*)).
      type: list
      elements: str
version:
  description: istioctl's client version.
  returned: always
  type: str
  sample: 1.30.0
revision:
  description: The revision installed or removed (C(default) when none).
  returned: always
  type: str
components:
  description: Istio components with objects that differed (from their C(operator.istio.io/component) label).
  returned: always
  type: list
  elements: str
  sample: [Pilot, IngressGateways]
objects:
  description: Numbers of rendered objects that are in place, differ or are missing.
  returned: always
  type: dict
  sample: {"in_place": 20, "differ": 1, "missing": 2}
pruned:
  description: The live gateway objects of this revision the rendered control plane no longer holds (a gateway
    component the operator disables, as with C(aksmesh_ingress_api=gateway_api)), which C(istioctl install) prunes
    (so the install runs), each C(Kind namespace/name).
  returned: when O(state=present) and the module compared
  type: list
  elements: str
  sample: ["Deployment istio-ingress/istio-ingressgateway"]
manifest_changes:
  description: The rendered objects that differ from the cluster, each with what the install does to it.
  returned: when O(state=present)
  type: list
  elements: dict
  contains:
    apiVersion:
      description: API version.
      type: str
    kind:
      description: Kind.
      type: str
    namespace:
      description: Namespace (null for cluster-scoped objects).
      type: str
    name:
      description: Name.
      type: str
    action:
      description: C(create) (missing) or C(configure) (differs).
      type: str
      choices: [create, configure]
namespaces_created:
  description: Namespaces the rendered components go into that did not exist and were created before
    C(istioctl install) (which creates only its install namespace), e.g. the gateways' own namespaces.
  returned: when istioctl install ran
  type: list
  elements: str
  sample: [istio-ingress, istio-egress]
command:
  description: The install or uninstall command that ran (empty when nothing ran).
  returned: always
  type: list
  elements: str
earlier_run:
  description:
    - An earlier run on this controller was still working on the revision (the detached async job of a killed
      C(ansible-playbook)) and this one waited for it to end - its C(pid), C(what), C(started), and C(waited)
      (seconds).
  returned: when this run waited for an earlier one
  type: dict
retries:
  description:
    - How often C(istioctl install) ran again after a transient API error (overload, restart, timeout, a connection
      dropped or reset); it is idempotent, so it runs up to three times. Each retry is also reported as a warning.
  returned: when istioctl install or uninstall ran
  type: int
  sample: 0
stdout:
  description: istioctl's output.
  returned: when istioctl install or uninstall ran
  type: str
stderr:
  description: istioctl's error output.
  returned: when istioctl install or uninstall ran
  type: str
"""

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import install
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule


def main():
    module = KubeModule(argument_spec=install.argument_spec(), supports_check_mode=True, **install.CHECKS)
    install.run(module)


if __name__ == "__main__":
    main()
