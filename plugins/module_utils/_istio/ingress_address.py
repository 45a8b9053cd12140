# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ingress_info module's program: the ingress gateway Service read (waited for) until it has its address.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.ingress import SERVICES, ingress_facts
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names as k8s_names
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import connect
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.planned import PLANNED_ARG_SPEC, Planned
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import RestClient


def argument_spec():
    """The ingress_info module's options (plugins/modules/ingress_info.py documents them)."""
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(install_method=dict(type="str", choices=sorted(SERVICES), default="istioctl"),
                service=dict(type="str"), namespace=dict(type="str"), wait_timeout=dict(type="int", default=0),
                **PLANNED_ARG_SPEC)
    return spec


def wait_for_address(module, rest, name, namespace):
    """The gateway Service's facts, once it has an address or wait_timeout has passed."""
    p = module.params
    deadline = time.time() + p["wait_timeout"]
    while True:
        svc = rest.request("GET", "/api/v1/namespaces/%s/services/%s" % (
            k8s_names.segment("Namespace", namespace), k8s_names.segment("Service", name)), ok_missing=True)
        if svc is None and module.check_mode and Planned.from_params(p).has_namespace(namespace):
            missing = {"metadata": {"name": name, "namespace": namespace}}  # its namespace comes with the install
            return dict(changed=False, planned=True, **ingress_facts(missing))
        if svc is None:
            module.fail_json(msg="Service %s/%s not found: is the ingress gateway installed with install_method=%s? "
                                 "Set service/namespace if it has another name" % (namespace, name,
                                                                                   p["install_method"]))
        facts = ingress_facts(svc)
        if facts["address"] or time.time() >= deadline:
            break
        time.sleep(2)
    if p["wait_timeout"] and not facts["address"]:
        module.fail_json(msg="Service %s/%s has no load balancer address after %ss; check its events (a static IP "
                             "in another resource group needs the azure-load-balancer-resource-group annotation "
                             "and Network Contributor for the cluster identity)" % (namespace, name,
                                                                                    p["wait_timeout"]), **facts)
    return dict(changed=False, planned=False, **facts)


def run(module):
    """The ingress_info module: the gateway Service's address facts, or a failure naming what to check."""
    p = module.params
    name, namespace = SERVICES[p["install_method"]]
    name, namespace = p["service"] or name, p["namespace"] or namespace
    k8s_names.require(module, [("Service", name, "service"), ("Namespace", namespace, "namespace")])
    rest = RestClient(connect(module), timeout=p["request_timeout"])
    errors.run(module, lambda: wait_for_address(module, rest, name, namespace),
               what="reading Service %s/%s failed" % (namespace, name))
