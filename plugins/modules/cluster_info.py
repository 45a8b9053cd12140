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
"""

import json
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import inventory as inv
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import K8S_AUTH_ARG_SPEC, connect

try:
    from kubernetes import client as k8s_client
    from kubernetes.client.exceptions import ApiException
except ImportError:
    k8s_client = None  # reported by connect()


def _items(func, **kwargs):
    """Call a list_* function and return its items as plain dicts (no model round trip)."""
    return json.loads(func(_preload_content=False, **kwargs).data)["items"]


def main():
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(istio_namespace=dict(type="list", elements="str", default=[]))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    api = connect(module)
    timeout = module.params["request_timeout"]
    try:
        code = k8s_client.VersionApi(api).get_code(_request_timeout=timeout)
        crds = _items(k8s_client.ApiextensionsV1Api(api).list_custom_resource_definition,
                      _request_timeout=timeout)
        apps = k8s_client.AppsV1Api(api)
        if module.params["istio_namespace"]:
            deployments = []
            for ns in module.params["istio_namespace"]:
                deployments += _items(apps.list_namespaced_deployment, namespace=ns,
                                      label_selector="app=istiod", _request_timeout=timeout)
        else:
            deployments = _items(apps.list_deployment_for_all_namespaces, label_selector="app=istiod",
                                 _request_timeout=timeout)
        namespaces = _items(k8s_client.CoreV1Api(api).list_namespace, _request_timeout=timeout)
    except ApiException as exc:
        module.fail_json(msg="Kubernetes API request failed: %s %s: %s" % (exc.status, exc.reason, exc.body))
    except Exception as exc:  # connection refused, TLS, timeouts: name the server and the cause
        host = api.configuration.host
        module.fail_json(msg="cannot reach the Kubernetes API at %s: %s. Check kubeconfig/context, host, "
                             "ca_cert and validate_certs." % (host, exc), exception=traceback.format_exc())
    minor = "".join(ch for ch in code.minor if ch.isdigit())
    module.exit_json(
        changed=False,
        kubernetes_version=dict(git_version=code.git_version, major=int(code.major), minor=int(minor or 0)),
        istio_crds=inv.istio_crds(crds),
        istio_revisions=inv.istio_revisions(deployments),
        injection_namespaces=inv.injection_namespaces(namespaces),
    )


if __name__ == "__main__":
    main()
