#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: aks_preflight
short_description: Prove an AKS cluster can run Istio before anything changes
version_added: 0.1.0
description:
  - Reads the AKS managed cluster and checks that it exists, is C(Succeeded) and running.
  - Checks that every Linux node pool that will run Istio has a VM size with B(more than 4 GiB) of memory.
    AKS reserves part of each node's memory, so sizes such as C(Standard_B2s) cannot start all Istio services.
    Memory comes from the Compute resource SKUs (C(MemoryGB)) of the cluster's region.
  - Checks the Kubernetes version against the chosen Istio line (at least its minimum; newer than its tested
    maximum only warns).
  - With O(cni), checks that the Istio CNI plugin can chain to the cluster's network plugin, from the cluster's
    C(networkProfile). Azure CNI (also Overlay) and kubenet can; Azure CNI powered by Cilium
    (C(networkDataplane=cilium), exclusive unless Cilium runs with C(cni.exclusive=false)) and a bring-your-own CNI
    (C(networkPlugin=none)) fail unless O(cni_chaining_confirmed).
  - Optionally checks live capacity through the Kubernetes API, comparing the allocatable CPU and memory of
    Ready Linux nodes with what the Istio control plane requests. The Kubernetes connection comes from the
    Kubernetes options when O(kubeconfig), O(context) or O(host) is set, otherwise from the cluster user
    credentials fetched from Azure and kept in memory.
  - Read only; check mode behaves the same. Fails with one message naming every problem (pool, size, memory and
    the fix), and still returns the whole report.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.read_only
  - aksmesh.istio.aks_cluster
  - aksmesh.istio.azure_auth
  - aksmesh.istio.k8s_auth
options:
  istio_version:
    description: The Istio version that will be installed; selects the supported Kubernetes versions.
    type: str
    default: 1.30.0
  pools:
    description: Names of the node pools that will run Istio. Default, all Linux pools.
    type: list
    elements: str
    default: []
  modes:
    description: Limit the memory check to pools of these modes.
    type: list
    elements: str
    choices: [System, User, Gateway]
    default: []
  min_memory_gib:
    description: A VM size must have more memory than this, in GiB.
    type: float
    default: 4
  check_capacity:
    description: Also compare live allocatable capacity of Linux nodes with the control plane's requests.
    type: bool
    default: false
  istiod_replicas:
    description: istiod replicas the capacity check counts (each requests 500m CPU and 2 GiB).
    type: int
    default: 2
  gateways:
    description: Number of gateway deployments (ingress, egress) the capacity check counts.
    type: int
    default: 2
  gateway_replicas:
    description: Replicas of each gateway the capacity check counts (each requests 100m CPU and 128 MiB).
    type: int
    default: 2
  cni:
    description: The Istio CNI node agent will be installed (C(aksmesh_cni)); check that its plugin can chain to the
      cluster's network plugin.
    type: bool
    default: false
  cni_chaining_confirmed:
    description: With O(cni), you have made sure that the cluster's CNI lets the Istio CNI plugin chain to it where the
      network profile cannot show it (Cilium with C(cni.exclusive=false), a bring-your-own CNI that supports chained
      plugins); those findings then only warn.
    type: bool
    default: false
  addon_gateway_api_revisions:
    description:
      - The AKS add-on revisions that will serve a Kubernetes Gateway API ingress (C(aksmesh_ingress_api=gateway_api)
        with C(aksmesh_install_method=aks_addon)); empty for none. Checks what AKS requires for it - each revision
        asm-1-26 or later, and the cluster's managed Gateway API CRDs (C(ingressProfile.gatewayAPI.installation),
        C(az aks update --enable-gateway-api)).
    type: list
    elements: str
    default: []
seealso:
  - module: aksmesh.istio.aks_public_ip
  - module: aksmesh.istio.istio_install
notes:
  - The Kubernetes version table lives in C(plugins/module_utils/_istio/support.py) and covers Istio 1.24 to 1.30.
"""

EXAMPLES = r"""
- name: Can this cluster run Istio 1.30?
  aksmesh.istio.aks_preflight:
    resource_group: rg-shop
    name: aks-shop
    istio_version: 1.30.0

- name: Check only the user pools, and live capacity too
  aksmesh.istio.aks_preflight:
    resource_group: rg-shop
    name: aks-shop
    modes: [User]
    check_capacity: true
  register: preflight

- name: The Istio CNI node agent will be installed too
  aksmesh.istio.aks_preflight:
    resource_group: rg-shop
    name: aks-shop
    cni: true

- name: Print the summary
  ansible.builtin.debug:
    var: preflight.summary
"""

RETURN = r"""
cluster:
  description: The cluster's facts.
  returned: when the cluster was read
  type: dict
  sample:
    name: aks-shop
    location: westeurope
    provisioning_state: Succeeded
    power_state: Running
    kubernetes_version: 1.32.4
    node_resource_group: MC_rg-shop_aks-shop_westeurope
    network_plugin: azure
    network_plugin_mode: overlay
    network_dataplane: azure
    network_policy: null
    identity_type: SystemAssigned
node_pools:
  description: Every node pool with its VM size, memory, counts, and whether it passed the memory check.
  returned: when the cluster was read
  type: list
  elements: dict
  sample:
    - name: system
      vm_size: Standard_B2s
      memory_gib: 4.0
      vcpus: 2
      count: 3
      min_count: null
      max_count: null
      autoscaling: false
      os_type: Linux
      mode: System
      checked: true
      ok: false
kubernetes:
  description: The cluster's Kubernetes version and the range the Istio line supports.
  returned: when the cluster was read
  type: dict
  sample: {version: 1.32.4, istio_version: 1.30.0, minimum: "1.32", tested_maximum: "1.35"}
capacity:
  description: Allocatable and requested CPU and memory of Ready Linux nodes (only with O(check_capacity)).
  returned: when O(check_capacity=true)
  type: dict
  sample: {linux_ready_nodes: 3, allocatable_cpu: 11.58, allocatable_memory_gib: 41.2, required_cpu: 1.4,
           required_memory_gib: 4.5, largest_node_memory_gib: 13.7}
errors:
  description: Every problem found; empty when the cluster passes.
  returned: always
  type: list
  elements: str
warnings_found:
  description: Findings that do not stop the install (also shown as Ansible warnings).
  returned: always
  type: list
  elements: str
passed:
  description: Whether all checks passed.
  returned: always
  type: bool
summary:
  description: A human readable summary, one line per fact or finding.
  returned: always
  type: list
  elements: str
"""


import math

from ansible_collections.aksmesh.istio.plugins.module_utils._azure import aks_sizing, istio_addon
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.aks_cluster import (
    agent_pools, aks_argument_spec, cluster_label, cni_chaining, get_cluster, report)
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.aks_kube import cluster_items
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.connection import connect
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import (
    AzureOperationError, describe, rest)
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.support import check_kubernetes, minor_of, supported_range
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule


def argument_spec():
    return aks_argument_spec(
        kube=True,
        istio_version=dict(type="str", default="1.30.0"),
        pools=dict(type="list", elements="str", default=[]),
        modes=dict(type="list", elements="str", default=[], choices=["System", "User", "Gateway"]),
        min_memory_gib=dict(type="float", default=4.0),
        check_capacity=dict(type="bool", default=False),
        istiod_replicas=dict(type="int", default=2),
        gateways=dict(type="int", default=2),
        gateway_replicas=dict(type="int", default=2),
        cni=dict(type="bool", default=False),
        cni_chaining_confirmed=dict(type="bool", default=False),
        addon_gateway_api_revisions=dict(type="list", elements="str", default=[]),
    )


def check_numbers(p):
    """What is wrong with the numbers given, or None: a memory floor that is not a positive finite number (nan
    compared false with every VM size, so every pool passed), a negative replica count."""
    memory = p["min_memory_gib"]
    if not math.isfinite(memory) or memory <= 0:
        return ("min_memory_gib must be positive (and a finite number), got %s: give the GiB every VM size must "
                "exceed, such as 4" % memory)
    negative = [k for k in ("istiod_replicas", "gateways", "gateway_replicas") if p[k] < 0]
    if negative:
        return "%s must not be negative, got %s" % (", ".join(negative), ", ".join(str(p[k]) for k in negative))
    return None


def kubernetes_range(istio_version, kube_version):
    low, high = supported_range(istio_version)
    return dict(version=kube_version, istio_version=istio_version,
                minimum="%d.%d" % low if low else None, tested_maximum="%d.%d" % high if high else None)


def summarize(label, cluster, pools, kube, capacity, errors, warnings):
    network = "/".join(v for v in (cluster["network_plugin"], cluster["network_plugin_mode"],
                                   cluster["network_dataplane"]) if v) or None
    lines = ["%s: %s, %s, Kubernetes %s, node resource group %s, network plugin %s, identity %s"
             % (label, cluster["provisioning_state"], cluster["power_state"], cluster["kubernetes_version"],
                cluster["node_resource_group"], network, cluster["identity_type"])]
    for pool in pools:
        lines.append("pool %s: %s (%s GiB), %s, %s, count %s%s: %s" % (
            pool["name"], pool["vm_size"], pool["memory_gib"], pool["os_type"], pool["mode"], pool["count"],
            " (autoscale %s-%s)" % (pool["min_count"], pool["max_count"]) if pool["autoscaling"] else "",
            ("ok" if pool["ok"] else "TOO SMALL") if pool["checked"] else "not checked"))
    lines.append("Kubernetes %s for Istio %s: supported %s to %s" % (kube["version"], kube["istio_version"],
                                                                     kube["minimum"], kube["tested_maximum"]))
    if capacity:
        lines.append("capacity: %(linux_ready_nodes)s Linux nodes, %(allocatable_cpu)s CPU / "
                     "%(allocatable_memory_gib)s GiB allocatable; control plane requests %(required_cpu)s CPU / "
                     "%(required_memory_gib)s GiB" % capacity)
    lines += ["ERROR: " + e for e in errors] + ["WARNING: " + w for w in warnings]
    lines.append("PASSED" if not errors else "FAILED: %d problem(s)" % len(errors))
    return lines


def main():
    module = KubeModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    problem = check_numbers(p)
    if problem:
        module.fail_json(msg=problem)
    if minor_of(p["istio_version"]) is None:
        module.fail_json(msg="istio_version %r is not a version such as 1.30.0" % p["istio_version"])
    conn = connect(module, "azure-mgmt-containerservice", "azure-mgmt-compute")
    label = cluster_label(p["resource_group"], p["name"])
    errors, warnings = [], []
    try:
        cs = conn.sdk_client("azure-mgmt-containerservice")
        mc = get_cluster(cs, p["resource_group"], p["name"])
        cluster = report(mc)
        location = cluster["location"]
        try:
            skus = [rest(s) for s in conn.sdk_client("azure-mgmt-compute").resource_skus.list(
                filter="location eq '%s'" % location)]
        except Exception as exc:
            raise describe(exc, "Compute resource SKUs of region %s" % location)
    except AzureOperationError as exc:
        module.fail_json(msg=str(exc), errors=[str(exc)], warnings_found=[], passed=False)

    if cluster["provisioning_state"] != "Succeeded":
        errors.append("%s is in provisioning state %s; wait for it to be Succeeded (or fix the failed operation) "
                      "and re-run" % (label, cluster["provisioning_state"]))
    if cluster["power_state"] and cluster["power_state"] != "Running":
        errors.append("%s is %s; start it (az aks start) and re-run" % (label, cluster["power_state"]))
    pools, pool_errors = aks_sizing.check_pools(agent_pools(mc), aks_sizing.vm_memory(skus), p["pools"],
                                                p["modes"], p["min_memory_gib"])
    errors += pool_errors
    kube_errors, kube_warnings = check_kubernetes(p["istio_version"], cluster["kubernetes_version"])
    errors += kube_errors
    warnings += kube_warnings
    kube = kubernetes_range(p["istio_version"], cluster["kubernetes_version"])
    if p["cni"]:
        cni_errors, cni_warnings = cni_chaining(cluster, label, p["cni_chaining_confirmed"])
        errors += cni_errors
        warnings += cni_warnings

    if p["addon_gateway_api_revisions"]:
        errors += istio_addon.gateway_api_problems(rest(mc), p["addon_gateway_api_revisions"])

    capacity = None
    if p["check_capacity"]:
        nodes = cluster_items(module, cs, "/api/v1/nodes", "capacity check of %s" % label,
                              "check the kubeconfig/host options or the network path to the API server")
        need = aks_sizing.required(p["istiod_replicas"], p["gateways"], p["gateway_replicas"])
        capacity, cap_errors = aks_sizing.check_capacity(nodes, need)
        errors += cap_errors

    result = dict(changed=False, cluster=cluster, node_pools=pools, kubernetes=kube, errors=errors,
                  warnings_found=warnings, passed=not errors,
                  summary=summarize(label, cluster, pools, kube, capacity, errors, warnings))
    if capacity is not None:
        result["capacity"] = capacity
    for warning in warnings:
        module.warn(warning)
    if errors:
        module.fail_json(msg="AKS pre-flight failed for %s: %s" % (label, " | ".join(errors)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
