#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ingress_info
short_description: Report the Istio ingress gateway's external address and ports
version_added: 0.1.0
description:
  - Reads the ingress gateway Service and returns its load balancer address and the C(http2) and C(https) ports,
    as C(kubectl get svc ... -o jsonpath) would, for the Service each install method creates.
  - Optionally waits until the cloud load balancer has assigned the address.
  - Read only. In check mode, a Service that is missing because an earlier task of the run would create its
    namespace (O(planned)) is reported as RV(planned=true) with no address, not as an error.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.action
  - aksmesh.istio.attributes.read_only
  - aksmesh.istio.k8s_auth
  - aksmesh.istio.planned
options:
  install_method:
    description:
      - Which Service to read, the default-layout ingress gateway Service of the install method as the topology
        table (C(plugins/module_utils/_istio/topology.py)) places it; C(aks_addon) the add-on's external gateway,
        C(aks_addon_internal) its internal one.
    type: str
    choices: [istioctl, helm, aks_addon, aks_addon_internal]
    default: istioctl
  service:
    description: Service name, overriding the install method's.
    type: str
  namespace:
    description: Namespace of the Service, overriding the install method's.
    type: str
  wait_timeout:
    description: Seconds to wait for a load balancer address. C(0) does not wait.
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Where is the ingress?
  aksmesh.istio.ingress_info:
    install_method: aks_addon
    wait_timeout: 300
  register: ingress

- name: Show it
  ansible.builtin.debug:
    msg: "http://{{ ingress.address }}:{{ ingress.http2_port }}"
"""

RETURN = r"""
address:
  description: The load balancer IP, or its hostname; null while pending.
  returned: always
  type: str
  sample: 51.124.10.20
ip:
  description: Load balancer IP.
  returned: always
  type: str
hostname:
  description: Load balancer hostname.
  returned: always
  type: str
requested_ip:
  description:
    - The static IP the Service asks for (annotation C(service.beta.kubernetes.io/azure-load-balancer-ipv4), else
      the deprecated C(spec.loadBalancerIP)), if any.
  returned: always
  type: str
requested_pip_name:
  description: The public IP resource the Service asks for (annotation C(service.beta.kubernetes.io/azure-pip-name)).
  returned: always
  type: str
http2_port:
  description: Port named C(http2).
  returned: always
  type: int
  sample: 80
https_port:
  description: Port named C(https).
  returned: always
  type: int
  sample: 443
ports:
  description: All ports by name.
  returned: always
  type: dict
node_ports:
  description: Node ports by port name.
  returned: always
  type: dict
urls:
  description: URLs for the http2 and https ports.
  returned: always
  type: list
  elements: str
service:
  description: Service name read.
  returned: always
  type: str
namespace:
  description: Namespace read.
  returned: always
  type: str
type:
  description: Service type.
  returned: always
  type: str
annotations:
  description: Service annotations (for example the Azure load balancer resource group).
  returned: always
  type: dict
planned:
  description: Check mode. The Service does not exist yet; its namespace would be created by an earlier task.
  returned: always
  type: bool
"""

import time

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.ingress import SERVICES, ingress_facts
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names as k8s_names
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule, connect
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.planned import PLANNED_ARG_SPEC, Planned
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import RestClient


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


def main():
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(install_method=dict(type="str", choices=sorted(SERVICES), default="istioctl"),
                service=dict(type="str"), namespace=dict(type="str"), wait_timeout=dict(type="int", default=0),
                **PLANNED_ARG_SPEC)
    module = KubeModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    name, namespace = SERVICES[p["install_method"]]
    name, namespace = p["service"] or name, p["namespace"] or namespace
    k8s_names.require(module, [("Service", name, "service"), ("Namespace", namespace, "namespace")])
    rest = RestClient(connect(module), timeout=p["request_timeout"])
    errors.run(module, lambda: wait_for_address(module, rest, name, namespace),
               what="reading Service %s/%s failed" % (namespace, name))


if __name__ == "__main__":
    main()
