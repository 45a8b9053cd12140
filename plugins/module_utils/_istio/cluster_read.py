# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster_info module's program: what the cluster holds of Istio (version, CRDs, revisions, injection,
revision tags, workloads), read with plain GETs.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import inventory as inv
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors, names
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import connect
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import RestClient, list_items


def argument_spec():
    """The cluster_info module's options (plugins/modules/cluster_info.py documents them)."""
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(istio_namespace=dict(type="list", elements="str", default=[]),
                workload_namespaces=dict(type="list", elements="str", default=[]))
    return spec


def read(module, rest):
    """What the cluster holds, read with plain GETs (no model round trip)."""
    namespaces = module.params["istio_namespace"]
    version = rest.request("GET", "/version")
    crds = list_items(rest, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    if namespaces:
        deployments = []
        for ns in namespaces:
            deployments += list_items(rest, "/apis/apps/v1/namespaces/%s/deployments" % names.segment("Namespace", ns),
                                      labelSelector="app=istiod")
    else:
        deployments = list_items(rest, "/apis/apps/v1/deployments", labelSelector="app=istiod")
    return dict(
        changed=False,
        kubernetes_version=inv.server_version(version),
        istio_crds=inv.istio_crds(crds),
        istio_revisions=inv.istio_revisions(deployments),
        injection_namespaces=inv.injection_namespaces(list_items(rest, "/api/v1/namespaces")),
        revision_tags=inv.revision_tags(list_items(
            rest, "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", labelSelector=inv.TAG_LABEL)),
        workloads=inv.workloads(_workloads(rest, module.params["workload_namespaces"])),
    )


def _workloads(rest, namespaces):
    items = []
    for ns in namespaces:
        for plural, kind in (("deployments", "Deployment"), ("statefulsets", "StatefulSet"),
                             ("daemonsets", "DaemonSet")):
            items += [dict(item, kind=kind) for item in list_items(rest, "/apis/apps/v1/namespaces/%s/%s" % (
                names.segment("Namespace", ns), plural))]
    return items


def run(module):
    """The cluster_info module: its checks, then its work on the module's connection."""
    options = ("istio_namespace", "workload_namespaces")
    names.require(module, [("Namespace", ns, "%s[%d]" % (option, i)) for option in options
                           for i, ns in enumerate(module.params[option])])
    rest = RestClient(connect(module), timeout=module.params["request_timeout"])
    errors.run(module, lambda: read(module, rest))
