#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: gateway_api_crds
short_description: Read the Kubernetes Gateway API CRDs out of their module zip and decide what a cluster needs
version_added: 0.3.0
description:
  - Reads the standard channel of the Kubernetes Gateway API (C(config/crd/standard) of the C(sigs.k8s.io/gateway-api)
    module, its CRDs and the ValidatingAdmissionPolicy that refuses experimental CRDs over them) out of the module's
    zip, as a Go module proxy serves it (fetch and verify it with M(aksmesh.istio.download) and its C(h1:) checksum).
  - With O(inspect), reads the cluster's Gateway API CRDs and decides what the gateway-api stage does, returning the
    objects to apply in RV(definitions). No Gateway API CRD - it installs the bundle. CRDs the collection installed
    (its C(app.kubernetes.io/managed-by) label) - it applies the bundle again, an upgrade when the version changed.
    CRDs another installer made (AKS's managed Gateway API, a GitOps tool, C(kubectl)) - it leaves them, naming
    their bundle version and field manager, and warns when their bundle is older than O(version).
  - Fails, naming them, when the cluster has experimental-channel Gateway API CRDs, as AKS's managed Gateway API
    refuses them.
  - Changes nothing; M(aksmesh.istio.stage) applies or renders RV(definitions).
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.in_process
  - aksmesh.istio.attributes.in_process_action
  - aksmesh.istio.k8s_auth
attributes:
  check_mode:
    support: full
    description: Reads only, the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
options:
  module_zip:
    description: The path of the C(sigs.k8s.io/gateway-api) module zip of O(version), verified (M(aksmesh.istio.download)).
    type: path
    required: true
  version:
    description: The module version the zip is of (its files are C(sigs.k8s.io/gateway-api@<version>/...)).
    type: str
    default: v1.6.0
  inspect:
    description: Read the cluster's Gateway API CRDs and decide (a cluster target); false returns the bundle alone
      (render mode), without a connection.
    type: bool
    default: true
  state:
    description: C(absent) returns in RV(definitions) the bundle's objects the cluster has with the collection's
      label, for M(aksmesh.istio.stage) to remove (cleanup); another installer's are never among them.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: The Gateway API module from the Go module proxy, verified by its go.sum hash
  aksmesh.istio.download:
    base_url: https://proxy.golang.org/sigs.k8s.io/gateway-api/@v
    files:
      module: v1.6.0.zip
    checksums:
      module: h1:735YBRj5NXFrOGX0GoSjwzUIzbz8kiEOfADsqHFmHgE=
  register: gateway_api_module

- name: What the cluster needs of it
  aksmesh.istio.gateway_api_crds:
    module_zip: "{{ gateway_api_module.files.module.path }}"
    kubeconfig: ~/.kube/aks-prod.yaml
  register: gateway_api

- name: Install or upgrade them
  aksmesh.istio.stage:
    definitions: "{{ gateway_api.definitions }}"
"""

RETURN = r"""
action:
  description: C(install) (none there, or the collection's at this version), C(upgrade) (the collection's, another
    version), C(keep) (another installer's), C(render) (without O(inspect)), C(remove) (O(state=absent)).
  returned: success
  type: str
  sample: install
definitions:
  description: The objects to apply (the bundle, CRDs first), none when the cluster's CRDs are kept, or with
    O(state=absent) the collection's objects to remove.
  returned: success
  type: list
  elements: dict
found:
  description: The cluster's Gateway API CRDs, each with its channel, bundle version, the field manager that wrote
    its spec and whether the collection installed it.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "gateways.gateway.networking.k8s.io", "channel": "standard", "bundle_version": "v1.4.1",
            "manager": "aks-gateway-api", "ours": false}]
message:
  description: What the stage does with them, in one line.
  returned: success
  type: str
  sample: "leaves the cluster's Gateway API CRDs (v1.4.1, written by kubectl) as they are"
version:
  description: The bundle version read.
  returned: success
  type: str
  sample: v1.6.0
warnings:
  description: What the run should know (an older bundle than O(version)); also shown as warnings.
  returned: success
  type: list
  elements: str
"""

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import gateway_api_program
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule


def main():
    module = KubeModule(argument_spec=gateway_api_program.argument_spec(), supports_check_mode=True)
    gateway_api_program.run(module)


if __name__ == "__main__":
    main()
