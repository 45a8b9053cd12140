#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cluster_info
short_description: Report a Kubernetes cluster's version and what it holds of Istio
version_added: 0.1.0
description:
  - Reads the Kubernetes server version, whether the Istio CRDs are installed, the Istio control-plane
    revisions (istiod Deployments, their version and readiness) and the namespaces labelled for sidecar
    injection.
  - Read only. Check mode behaves the same.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.in_process
  - aksmesh.istio.attributes.in_process_action
  - aksmesh.istio.k8s_auth
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
options:
  istio_namespace:
    description:
      - Namespaces to look for istiod Deployments in. An empty list searches all namespaces.
    type: list
    elements: str
    default: []
  workload_namespaces:
    description:
      - Namespaces whose Deployments, StatefulSets and DaemonSets to list in RV(workloads) (for example to
        restart them after a revision upgrade). Empty lists none.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: What does the cluster have?
  aksmesh.istio.cluster_info:
    kubeconfig: "{{ aksmesh_kubeconfig }}"
  register: cluster

- name: Fail when another Istio is already installed
  ansible.builtin.assert:
    that: cluster.istio_revisions | length == 0
    fail_msg: "Istio {{ cluster.istio_revisions | map(attribute='version') | list }} is already installed"

- name: Only look in istio-system
  aksmesh.istio.cluster_info:
    context: aks-prod
    istio_namespace: [istio-system]

- name: The workloads of two namespaces, to restart after an upgrade
  aksmesh.istio.cluster_info:
    workload_namespaces: [shop, payments]
  register: cluster
"""

RETURN = r"""
kubernetes_version:
  description: Server version as the API reports it.
  returned: always
  type: dict
  contains:
    git_version:
      description: Full version string.
      type: str
      sample: v1.32.4
    major:
      description: Major version.
      type: int
      sample: 1
    minor:
      description: Minor version (digits only; C(28+) becomes 28).
      type: int
      sample: 32
  sample: {"git_version": "v1.32.4", "major": 1, "minor": 32}
istio_crds:
  description: Istio CustomResourceDefinitions in the cluster.
  returned: always
  type: dict
  contains:
    installed:
      description: Whether every CRD the collection's roles need is present.
      type: bool
    names:
      description: Names of all CRDs whose group ends in C(istio.io).
      type: list
      elements: str
    missing:
      description: Required CRDs that are absent.
      type: list
      elements: str
  sample: {"installed": true, "names": ["gateways.networking.istio.io"], "missing": []}
istio_revisions:
  description: One entry per istiod Deployment (label C(app=istiod)).
  returned: always
  type: list
  elements: dict
  sample: [{"revision": "default", "namespace": "istio-system", "deployment": "istiod",
            "version": "1.30.0", "image": "docker.io/istio/pilot:1.30.0", "ready": true}]
injection_namespaces:
  description:
    - Namespaces labelled for sidecar injection. C(mode) is C(enabled)/C(disabled) for the C(istio-injection)
      label and C(revision) for C(istio.io/rev). C(conflict) is true when a namespace has both labels.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "shop", "label": "istio-injection", "value": "enabled", "mode": "enabled", "conflict": false}]
revision_tags:
  description:
    - Revision tags (MutatingWebhookConfigurations labelled C(istio.io/tag)) and the revision each points to.
      C(release) is the Helm release that owns the tag (istiod chart value C(revisionTags)), empty when
      C(istioctl tag set) made it.
  returned: always
  type: list
  elements: dict
  sample: [{"tag": "default", "revision": "1-30-0", "webhook": "istio-revision-tag-default", "release": ""}]
workloads:
  description:
    - The Deployments, StatefulSets and DaemonSets of O(workload_namespaces). C(restarted_at) is the pod
      template's C(kubectl.kubernetes.io/restartedAt) annotation; C(restarted_for) the revision the collection
      last restarted the workload for (C(aksmesh.io/restarted-for-revision)).
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "Deployment", "namespace": "shop", "name": "productpage", "restarted_at": null,
            "restarted_for": null}]
"""

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import cluster_read
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule


def main():
    module = KubeModule(argument_spec=cluster_read.argument_spec(), supports_check_mode=True)
    cluster_read.run(module)


if __name__ == "__main__":
    main()
