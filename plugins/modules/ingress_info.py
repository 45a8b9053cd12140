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
  - aksmesh.istio.attributes.in_process
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

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import ingress_address
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule


def main():
    module = KubeModule(argument_spec=ingress_address.argument_spec(), supports_check_mode=True)
    ingress_address.run(module)


if __name__ == "__main__":
    main()
