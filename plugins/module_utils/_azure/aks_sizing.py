# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Can the node pools run Istio? VM memory from the Compute SKU catalogue, and live node capacity.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# AKS reserves part of every node's memory (kubelet, eviction threshold, OS); on a 4 GiB VM what is left
# cannot hold istiod, the gateways and the addons, so a size must have MORE than this.
MIN_MEMORY_GIB = 4.0

# What the control plane asks the scheduler for (Istio's chart defaults): istiod 500m/2048Mi,
# each gateway 100m/128Mi.
ISTIOD_REQUEST = (0.5, 2048 * 2 ** 20)
GATEWAY_REQUEST = (0.1, 128 * 2 ** 20)


def vm_memory(skus):
    """{vm size (lower case): (name, memory GiB, vCPUs)} from resource SKUs (REST shape, ``MemoryGB``)."""
    out = {}
    for sku in skus:
        if sku.get("resourceType") != "virtualMachines":
            continue
        caps = dict((c.get("name"), c.get("value")) for c in sku.get("capabilities") or [])
        try:
            memory = float(caps.get("MemoryGB"))
        except (TypeError, ValueError):
            continue
        out[sku["name"].lower()] = (sku["name"], memory, int(float(caps.get("vCPUs") or 0)))
    return out


def pool_report(pool):
    """The fields of an agent pool profile (REST shape) the report shows."""
    return dict(name=pool.get("name"), vm_size=pool.get("vmSize"), count=pool.get("count"),
                min_count=pool.get("minCount"), max_count=pool.get("maxCount"),
                autoscaling=bool(pool.get("enableAutoScaling")), os_type=pool.get("osType") or "Linux",
                mode=pool.get("mode"), kubernetes_version=pool.get("orchestratorVersion"))


def selected(pool, names, modes):
    """Whether a pool takes part in the memory check: Linux, and in ``names``/``modes`` when given."""
    if (pool.get("osType") or "Linux").lower() != "linux":
        return False
    if names and pool.get("name") not in names:
        return False
    if modes and (pool.get("mode") or "").lower() not in [m.lower() for m in modes]:
        return False
    return True


def check_pools(pools, memory, names=None, modes=None, min_memory_gib=MIN_MEMORY_GIB):
    """(pool reports with memory and verdict, errors) for the pools that will run Istio."""
    reports, errors = [], []
    for pool in pools:
        rep = pool_report(pool)
        sku = memory.get((rep["vm_size"] or "").lower())
        rep["memory_gib"] = sku[1] if sku else None
        rep["vcpus"] = sku[2] if sku else None
        rep["checked"] = selected(pool, names, modes)
        rep["ok"] = True
        if rep["checked"]:
            if sku is None:
                rep["ok"] = False
                errors.append("node pool %r: VM size %s is not in the region's Compute SKU list, so its memory "
                              "is unknown; check the size name or the region" % (rep["name"], rep["vm_size"]))
            elif sku[1] <= min_memory_gib:
                rep["ok"] = False
                errors.append("node pool %r: VM size %s has %s GiB of memory; Istio needs more than %s GiB per "
                              "node because AKS reserves part of it. Fix: resize the pool to a bigger size (for "
                              "example Standard_D4s_v5, 16 GiB) or add a new pool with one and move the workloads"
                              % (rep["name"], sku[0], _num(sku[1]), _num(min_memory_gib)))
        reports.append(rep)
    missing = sorted(set(names or []) - set(p.get("name") for p in pools))
    if missing:
        errors.append("node pool(s) %s named in pools do not exist; the cluster has %s"
                      % (", ".join(missing), ", ".join(sorted(p.get("name") for p in pools))))
    if not [r for r in reports if r["checked"]] and not missing:
        errors.append("no Linux node pool matches the selection; Istio runs on Linux nodes only "
                      "(add a Linux pool or widen pools/modes)")
    return reports, errors


def _num(value):
    return ("%g" % value)


def quantity(text):
    """Kubernetes quantity ('3860Mi', '4', '1930m', '16Gi', '2e3') as a float in base units."""
    text = str(text).strip()
    suffixes = [("Ki", 2 ** 10), ("Mi", 2 ** 20), ("Gi", 2 ** 30), ("Ti", 2 ** 40), ("Pi", 2 ** 50),
                ("Ei", 2 ** 60), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("E", 1e18),
                ("m", 1e-3), ("n", 1e-9), ("u", 1e-6)]
    for suffix, factor in suffixes:
        if text.endswith(suffix):
            return float(text[:-len(suffix)]) * factor
    return float(text)


def required(istiod_replicas=2, gateways=2, gateway_replicas=2):
    """(cpu cores, memory bytes, largest single pod memory) the control plane requests."""
    pods = istiod_replicas + gateways * gateway_replicas
    cpu = istiod_replicas * ISTIOD_REQUEST[0] + gateways * gateway_replicas * GATEWAY_REQUEST[0]
    mem = istiod_replicas * ISTIOD_REQUEST[1] + gateways * gateway_replicas * GATEWAY_REQUEST[1]
    return dict(pods=pods, cpu=cpu, memory=mem, largest_pod_memory=ISTIOD_REQUEST[1])


def check_capacity(nodes, need):
    """(report, errors) comparing Linux, Ready, schedulable nodes' allocatable with ``need``."""
    usable = []
    for node in nodes:
        labels = (node.get("metadata") or {}).get("labels") or {}
        status = node.get("status") or {}
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        if labels.get("kubernetes.io/os", "linux") != "linux" or (node.get("spec") or {}).get("unschedulable"):
            continue
        if not ready:
            continue
        alloc = status.get("allocatable") or {}
        usable.append((node["metadata"]["name"], quantity(alloc.get("cpu", 0)), quantity(alloc.get("memory", 0))))
    cpu = sum(n[1] for n in usable)
    mem = sum(n[2] for n in usable)
    biggest = max([n[2] for n in usable] or [0])
    report = dict(linux_ready_nodes=len(usable), allocatable_cpu=round(cpu, 3),
                  allocatable_memory_gib=round(mem / 2 ** 30, 2), largest_node_memory_gib=round(biggest / 2 ** 30, 2),
                  required_cpu=round(need["cpu"], 3), required_memory_gib=round(need["memory"] / 2 ** 30, 2))
    errors = []
    if not usable:
        errors.append("no Ready, schedulable Linux node found through the Kubernetes API")
    else:
        if cpu < need["cpu"]:
            errors.append("Linux nodes have %.2f allocatable CPU cores; the Istio control plane requests %.2f. "
                          "Fix: scale the node pool out or use bigger VM sizes" % (cpu, need["cpu"]))
        if mem < need["memory"]:
            errors.append("Linux nodes have %.2f GiB allocatable memory; the Istio control plane requests %.2f GiB. "
                          "Fix: scale the node pool out or use bigger VM sizes" % (mem / 2 ** 30, need["memory"] / 2 ** 30))
        if biggest < need["largest_pod_memory"]:
            pod_gib, biggest_gib = need["largest_pod_memory"] / 2 ** 30, biggest / 2 ** 30
            errors.append("no Linux node has %.1f GiB allocatable memory for one istiod pod (largest: %.2f GiB). "
                          "Fix: use a VM size with more memory" % (pod_gib, biggest_gib))
    return report, errors
