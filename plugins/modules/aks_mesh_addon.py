#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: aks_mesh_addon
short_description: Enable, upgrade by canary, and disable the managed AKS Istio add-on
version_added: 0.1.0
description:
  - Manages the managed cluster's C(serviceMeshProfile) (mode C(Istio), revisions, internal and external ingress
    gateways) through C(azure-mgmt-containerservice); no Azure CLI.
  - Declarative revisions. C([asm-1-26]) on a cluster without the add-on enables it. C([asm-1-26, asm-1-27])
    starts a canary upgrade (the new revision must be one the cluster's upgrade profile offers); then
    C([asm-1-27]) completes it, or C([asm-1-26]) rolls it back. O(state=absent) disables the add-on.
  - Idempotent; no PUT when the profile already matches. Long-running operations are polled until
    O(timeout); the returned C(progress) lists the statuses seen.
  - Refuses to enable the add-on when a self-managed istiod runs in the cluster (outside C(aks-istio-system)),
    naming the Deployments. The Kubernetes connection for that check comes from the Kubernetes options when
    O(kubeconfig), O(context) or O(host) is set, else from the cluster user credentials (in memory).
  - O(report_only=true) only reports the revisions available for the region and Kubernetes version, and the
    upgrades.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.action
  - aksmesh.istio.aks_cluster
  - aksmesh.istio.azure_auth
  - aksmesh.istio.k8s_auth
attributes:
  check_mode:
    support: full
    description: Validates the change and reports it; sends no PUT.
  diff_mode:
    support: full
    description: Shows the service mesh profile before and after.
options:
  state:
    description: C(present) manages the add-on, C(absent) disables it.
    type: str
    choices: [present, absent]
    default: present
  report_only:
    description: Change nothing; report the current and available revisions and upgrades.
    type: bool
    default: false
  revisions:
    description:
      - Add-on revisions that should run, such as C(asm-1-26). One, or two during a canary upgrade.
      - Default with O(state=present), the newest available revision when the add-on is off, else the current ones.
      - An empty list is refused (to turn the add-on off, set O(state=absent)).
    type: list
    elements: str
  external_ingress_gateway:
    description: Whether the external ingress gateway (C(aks-istio-ingressgateway-external)) runs. Unset keeps it.
    type: bool
  internal_ingress_gateway:
    description: Whether the internal ingress gateway (C(aks-istio-ingressgateway-internal)) runs. Unset keeps it.
    type: bool
  certificate_authority:
    description:
      - A plug-in CA from Azure Key Vault for the mesh (C(serviceMeshProfile.istio.certificateAuthority.plugin))
        instead of the add-on's self-signed root. Unset keeps what the cluster has.
      - Needs the Azure Key Vault secrets provider add-on on the cluster, with read access to the vault's secrets;
        the module refuses (before any write) and names the fix when it is off.
    type: dict
    suboptions:
      key_vault_id:
        description: Resource ID of the Key Vault.
        type: str
        required: true
      root_cert_object_name:
        description: Key Vault object holding the root certificate.
        type: str
        required: true
      cert_chain_object_name:
        description: Key Vault object holding the certificate chain.
        type: str
        required: true
      cert_object_name:
        description: Key Vault object holding the intermediate certificate.
        type: str
        required: true
      key_object_name:
        description: Key Vault object holding the intermediate certificate's private key.
        type: str
        required: true
  egress_gateways:
    description:
      - The add-on's egress gateways (C(serviceMeshProfile.istio.components.egressGateways)). Each runs as a
        Deployment and a ClusterIP Service named O(egress_gateways[].name) in its namespace, pods labelled
        C(istio=<name>), and sends traffic out through the fixed IPs of its StaticGatewayConfiguration.
      - A list names all of them; gateways the cluster runs that it leaves out are disabled. Unset keeps them.
      - Enabled gateways need the cluster's Static Egress Gateway feature and a node pool in mode C(Gateway); the
        module refuses (before any write) and names the fix when either is missing. The StaticGatewayConfiguration
        object must exist in the gateway's namespace (the P(aksmesh.istio.aks_mesh_addon#role) role applies it).
      - Needs azure-mgmt-containerservice 40.1.0 or later, the first whose models carry the gateways' names and
        C(gatewayConfigurationName); with an older one the module refuses before any write.
    type: list
    elements: dict
    suboptions:
      name:
        description: Gateway name, 1 to 53 characters (lower-case letters, digits, C(-) and C(.)).
        type: str
        required: true
      namespace:
        description: Namespace of the gateway.
        type: str
        default: aks-istio-egress
      gateway_configuration_name:
        description: Name of the StaticGatewayConfiguration in that namespace; required when enabled.
        type: str
      enabled:
        description: Whether the gateway runs.
        type: bool
        default: true
  check_self_managed:
    description: Before enabling, look for a self-managed istiod in the cluster and refuse if there is one.
    type: bool
    default: true
  gateway_api:
    description:
      - The ingress is a Kubernetes Gateway API C(Gateway) that the add-on's istiod deploys (AKS
        istio-gateway-api). With O(state=present), every run checks what AKS requires for it before any write -
        the revisions asm-1-26 or later, and the cluster's managed Gateway API CRDs
        (C(ingressProfile.gatewayAPI.installation=Standard), C(az aks update --enable-gateway-api)) - and fails
        naming what is missing.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for the managed cluster update; at least C(1) (refused before anything is sent otherwise).
    type: int
    default: 1800
requirements:
  - azure-mgmt-containerservice >= 27.0.0 (>= 40.1.0 for O(egress_gateways))
seealso:
  - module: aksmesh.istio.ingress_info
  - name: Istio-based service mesh add-on for AKS
    description: Microsoft's documentation of the add-on and its revisions.
    link: https://learn.microsoft.com/azure/aks/istio-about
"""

EXAMPLES = r"""
- name: Enable the add-on with an external ingress gateway
  aksmesh.istio.aks_mesh_addon:
    resource_group: rg-shop
    name: aks-shop
    revisions: [asm-1-26]
    external_ingress_gateway: true

- name: Start a canary upgrade
  aksmesh.istio.aks_mesh_addon:
    resource_group: rg-shop
    name: aks-shop
    revisions: [asm-1-26, asm-1-27]

- name: Complete it once the workloads run on asm-1-27
  aksmesh.istio.aks_mesh_addon:
    resource_group: rg-shop
    name: aks-shop
    revisions: [asm-1-27]

- name: What can this cluster run?
  aksmesh.istio.aks_mesh_addon:
    resource_group: rg-shop
    name: aks-shop
    report_only: true
  register: mesh
"""

RETURN = r"""
planned:
  description:
    - Check mode. The namespaces and Istio kinds enabling or changing the add-on would bring to the cluster; the
      action plugin adds them to the run's plan, the host fact C(settings_planned), which the next tasks of the
      check-mode run read (O(aksmesh.istio.apply#module:planned)).
  returned: in check mode, when the add-on would change
  type: dict
  contains:
    namespaces:
      description: Namespaces the add-on would create.
      type: list
      elements: str
    kinds:
      description: Custom resource kinds it would serve (C(<group>/*)).
      type: list
      elements: str
action:
  description: What the run did (or would do in check mode).
  returned: always
  type: str
  sample: upgrade_start
  choices: [unchanged, enable, upgrade_start, upgrade_complete, rollback, disable, configure, report]
revisions_before:
  description: Revisions running before the run.
  returned: always
  type: list
  elements: str
revisions:
  description: Revisions running after the run.
  returned: always
  type: list
  elements: str
available_revisions:
  description: Revisions offered in the cluster's region for its Kubernetes version.
  returned: always
  type: list
  elements: str
  sample: [asm-1-25, asm-1-26]
available_upgrades:
  description: Revisions the current one can be upgraded to.
  returned: always
  type: list
  elements: str
service_mesh_profile:
  description: The managed cluster's serviceMeshProfile after the run (REST shape).
  returned: always
  type: dict
ingress_gateway_services:
  description: Namespace and Service names of the enabled ingress gateways.
  returned: always
  type: list
  elements: dict
  sample: [{namespace: aks-istio-ingress, service: aks-istio-ingressgateway-external, mode: External}]
progress:
  description: Statuses of the long-running update as polled.
  returned: when the cluster was updated
  type: list
  elements: str
"""

from ansible_collections.aksmesh.istio.plugins.module_utils._azure import istio_addon
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.aks_cluster import aks_argument_spec
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.aks_mesh_addon import AddonModule
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import run_module
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule


def argument_spec():
    return aks_argument_spec(
        kube=True,
        state=dict(type="str", default="present", choices=["present", "absent"]),
        report_only=dict(type="bool", default=False),
        revisions=dict(type="list", elements="str"),
        external_ingress_gateway=dict(type="bool"),
        internal_ingress_gateway=dict(type="bool"),
        certificate_authority=dict(type="dict", options=dict(
            key_vault_id=dict(type="str", required=True), root_cert_object_name=dict(type="str", required=True),
            cert_chain_object_name=dict(type="str", required=True), cert_object_name=dict(type="str", required=True),
            key_object_name=dict(type="str", required=True))),
        egress_gateways=dict(type="list", elements="dict", options=dict(
            name=dict(type="str", required=True),
            namespace=dict(type="str", default=istio_addon.EGRESS_NAMESPACE),
            gateway_configuration_name=dict(type="str"),
            enabled=dict(type="bool", default=True))),
        check_self_managed=dict(type="bool", default=True),
        gateway_api=dict(type="bool", default=False),
        timeout=dict(type="int", default=1800),
    )


def main():
    module = KubeModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module, lambda: AddonModule(module).run())


if __name__ == "__main__":
    main()
