#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mesh_lint
short_description: Check manifests or a live cluster against the runbook's mesh rules, without istioctl
version_added: 0.1.0
description:
  - Checks Kubernetes and Istio objects, from files or from the live cluster, against the collection's mesh rules
    and returns messages shaped like C(istioctl analyze -o json) (C(code), C(level), C(message), C(origin),
    C(reference), C(documentationUrl)).
  - "Codes: AKM0001 the user's workloads lack C(app)/C(version) labels (not those the collection or Istio ships);
    AKM0002 VirtualService not C(exportTo: [\".\"]);
    AKM0003 VirtualService bound to another namespace's gateway but hidden from it; AKM0004 ServiceEntry not
    C(exportTo: [\".\"]); AKM0005 Gateway outside its workload's namespace; AKM0006 no mesh-wide STRICT
    PeerAuthentication; AKM0007 outbound traffic policy not REGISTRY_ONLY; AKM0008 VirtualServices with the
    same host on one gateway (like upstream IST0109); AKM0009 referenced Gateway missing (like IST0101); AKM0010
    gateway-bound VirtualService routing to a subset whose DestinationRule the gateway cannot see; AKM0011 ALLOW
    AuthorizationPolicy source in a namespace without sidecars; AKM0012 default deny that nothing is allowed
    through; AKM0013 ambient namespace with a sidecar injection label; AKM0014 L7 AuthorizationPolicy in an
    ambient namespace not attached to a waypoint; AKM0015 sidecar-only configuration in an ambient namespace. See
    docs/mesh_lint.md."
  - Read only.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.in_process
  - aksmesh.istio.attributes.in_process_action
  - aksmesh.istio.attributes.read_only
  - aksmesh.istio.k8s_auth
options:
  src:
    description: Files or directories (recursively) to check. Without O(src) and O(definitions), the live cluster
      is checked.
    type: list
    elements: path
    default: []
  definitions:
    description: Objects (a list, or multi-document YAML text) to check.
    type: raw
  root_namespace:
    description: The Istio root namespace, where the mesh-wide PeerAuthentication belongs.
    type: str
    default: istio-system
  gateway_workloads:
    description:
      - Gateway workloads not among the checked objects, each C({selector, namespace}), to place Gateways by (the
        selector a mapping of labels, the namespace a name). Any other shape fails the task, naming the item.
      - Default the ingress and egress gateways of the C(istioctl) install method's default layout (the topology
        table, C(plugins/module_utils/_istio/topology.py)); P(aksmesh.istio.mesh_analyze#role) passes
        C(settings_mesh.gateways), the workloads of the host's install method.
    type: list
    elements: dict
  partial:
    description: The objects are part of a mesh; do not report references to Gateways outside them (AKM0009)
      or a missing mesh-wide policy (AKM0006).
    type: bool
    default: false
  mesh_namespaces:
    description:
      - Live cluster only. Report only the findings in the namespaces of the mesh (and about cluster-scoped
        objects) - those labelled C(app.kubernetes.io/managed-by=aksmesh) (created by the collection) and those
        enrolled in sidecar injection (C(istio-injection), C(istio.io/rev)) - as
        M(aksmesh.istio.istioctl_analyze) does with the same option. Every object is still read, so references
        across namespaces are checked.
    type: bool
    default: false
  suppress:
    description: Messages to drop, as C(CODE) or C(CODE=Kind namespace/name) with globs.
    type: list
    elements: str
    default: []
  output_threshold:
    description: Lowest level to report.
    type: str
    choices: [Info, Warning, Error]
    default: Info
  fail_level:
    description: Fail when a message at or above this level is found; C(never) only reports.
    type: str
    choices: [Info, Warning, Error, never]
    default: Error
"""

EXAMPLES = r"""
- name: Lint what render mode wrote
  aksmesh.istio.mesh_lint:
    src: [out/demo-aks/]
    partial: true
    fail_level: never
  register: lint

- name: Lint the live mesh
  aksmesh.istio.mesh_lint:
    kubeconfig: "{{ aksmesh_kubeconfig }}"
    suppress:
      - AKM0001=Deployment legacy/*
"""

RETURN = r"""
messages:
  description: Findings in the shape of C(istioctl analyze -o json).
  returned: always
  type: list
  elements: dict
  sample: [{"code": "AKM0004", "level": "Warning", "origin": "ServiceEntry shop/api", "reference":
            "ServiceEntry shop/api", "message": "ServiceEntry shop/api is exported to all namespaces; ...",
            "documentationUrl": "https://github.com/aksmesh/istio/blob/main/docs/mesh_lint.md#akm0004"}]
counts:
  description: Messages per level.
  returned: always
  type: dict
  sample: {"Error": 0, "Warning": 1, "Info": 0}
checked:
  description: Number of objects checked.
  returned: always
  type: int
"""

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import lint_program
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule


def main():
    module = KubeModule(argument_spec=lint_program.argument_spec(), supports_check_mode=True)
    lint_program.run(module)


if __name__ == "__main__":
    main()
