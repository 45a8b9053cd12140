#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: access_review
short_description: Check that the Kubernetes identity may do what a run needs, before it changes anything
version_added: 0.3.0
description:
  - Asks the API server whether the identity of the connection holds every permission in O(rules), and fails
    naming each one it lacks, the stage that needs it and the ClusterRole that grants it.
  - One C(SelfSubjectRulesReview) reads the identity's RBAC rules in O(namespace). What they do not grant, and
    everything when the review is incomplete (a webhook authorizer such as Azure RBAC for Kubernetes), is asked
    one C(SelfSubjectAccessReview) each. Neither creates an object.
  - The access stage of C(site.yml) runs it right after the credentials, with the rules of the stages that run
    for the host (C(settings_mesh.permissions)), so a missing permission fails the run before its first write.
  - A rule granted only by a RoleBinding in O(namespace) counts, also for cluster-scoped kinds it cannot grant
    there; the write that needs it then fails with the API server's own 403.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.in_process
  - aksmesh.istio.attributes.in_process_action
  - aksmesh.istio.k8s_auth
attributes:
  check_mode:
    support: full
    description: Reads only. In check mode only the read verbs of O(rules) are checked (a check run writes nothing).
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
options:
  rules:
    description:
      - The permissions needed, as RBAC rules. An empty list checks nothing.
    type: list
    elements: dict
    required: true
    suboptions:
      api_group:
        description: The API group (C("") for the core group).
        type: str
        required: true
      resources:
        description: The resources (plural names, as in a ClusterRole; C(*) for every resource of the group).
        type: list
        elements: str
        required: true
      verbs:
        description: The verbs (C(get), C(list), C(watch), C(create), C(patch), C(update), C(delete), C(escalate), C(bind)).
        type: list
        elements: str
        required: true
      stage:
        description: The stage that needs the rule (named in the failure).
        type: str
        default: ""
      cluster_role:
        description: The ClusterRole that grants the rule (named in the failure's fix).
        type: str
        default: ""
  namespace:
    description: The namespace whose rules the rules review reads (the identity's ClusterRoleBindings count in every one).
    type: str
    default: default
  read_only:
    description:
      - Check only the read verbs (C(get), C(list), C(watch)) of O(rules). Default is true in check mode, false otherwise.
    type: bool
"""

EXAMPLES = r"""
- name: May this identity install and remove PeerAuthentications?
  aksmesh.istio.access_review:
    kubeconfig: ~/.kube/aks-prod.yaml
    rules:
      - api_group: security.istio.io
        resources: [peerauthentications]
        verbs: [get, list, create, patch, delete]
        stage: mtls
        cluster_role: "aksmesh-istio:mtls"

- name: Everything the stages of this host need (site.yml's access stage)
  aksmesh.istio.access_review:
    rules: "{{ settings_mesh.permissions }}"
"""

RETURN = r"""
checked:
  description: How many permissions (verb, group, resource) were checked.
  returned: always
  type: int
  sample: 142
read_only:
  description: Whether only the read verbs were checked.
  returned: always
  type: bool
  sample: false
asked:
  description: How the API server was asked (C(rules review), C(<n> access reviews)).
  returned: always
  type: list
  elements: str
  sample: ["rules review"]
denied:
  description: The permissions the identity lacks, each with the stages that need it and the ClusterRoles that grant it.
  returned: always
  type: list
  elements: dict
  sample: [{"verb": "create", "api_group": "security.istio.io", "resource": "peerauthentications",
            "stages": ["mtls"], "cluster_roles": ["aksmesh-istio:mtls"]}]
"""

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import access
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule


def main():
    module = KubeModule(argument_spec=access.argument_spec(), supports_check_mode=True)
    access.run(module)


if __name__ == "__main__":
    main()
