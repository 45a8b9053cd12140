#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: aks_public_ip
short_description: Ensure the static public IP of the Istio ingress gateway
version_added: 0.1.0
description:
  - Ensures a Standard SKU, Static, IPv4 public IP address for the ingress gateway, with an optional DNS label,
    zones and tags, so that Istio's gateway Service uses a known address instead of a dynamic one.
  - Idempotent; sends no write when Azure already holds what is asked. Tags already on the IP are kept unless
    O(purge_tags=true).
  - The resource group defaults to the cluster's node resource group, the location to the cluster's. When the
    IP lives in another group, the cluster's identity needs C(Microsoft.Network/publicIPAddresses/join/action)
    there (Network Contributor has it). The module checks that B(before) it changes anything, fails with a clear
    message when it is missing, and creates the Network Contributor assignment when O(grant_join_permission=true).
  - Returns the address, its resource group and the Service annotations for the install role
    (C(loadBalancerIP) and C(service.beta.kubernetes.io/azure-load-balancer-resource-group)).
  - O(state=absent) deletes the IP, and refuses while a load balancer still uses it.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.azure_auth
attributes:
  check_mode:
    support: full
    description: Reports what would be created, changed, deleted or granted; writes nothing.
  diff_mode:
    support: full
    description: Shows the IP's managed fields before and after.
options:
  name:
    description: Name of the public IP resource.
    type: str
    required: true
  resource_group:
    description: Resource group of the IP. Default, the cluster's node resource group (needs O(cluster_name)).
    type: str
  location:
    description: Azure region. Default, the cluster's region (needs O(cluster_name)).
    type: str
  cluster_resource_group:
    description: Resource group of the AKS cluster the IP is for.
    type: str
  cluster_name:
    description: Name of the AKS cluster the IP is for; gives the defaults and the identity for the permission check.
    type: str
  dns_label:
    description: DNS label; the IP then resolves as C(<label>.<region>.cloudapp.azure.com).
    type: str
  zones:
    description: Availability zones (C(1), C(2), C(3)). Cannot change once the IP exists.
    type: list
    elements: str
  tags:
    description: Tags to set.
    type: dict
    default: {}
  purge_tags:
    description: Remove tags not listed in O(tags).
    type: bool
    default: false
  idle_timeout:
    description: TCP idle timeout in minutes (4 to 30).
    type: int
    default: 4
  check_join_permission:
    description: Check that the cluster identity may join the IP when it lives outside the node resource group.
    type: bool
    default: true
  grant_join_permission:
    description: Assign Network Contributor on the IP's resource group to the cluster identity when it lacks
      the join permission.
    type: bool
    default: false
  state:
    description: Whether the IP should exist.
    type: str
    choices: [present, absent]
    default: present
  timeout:
    description: Seconds to wait for the create, update or delete operation.
    type: int
    default: 600
requirements:
  - azure-mgmt-network >= 17.0.0
  - azure-mgmt-containerservice >= 27.0.0 (with O(cluster_name))
  - azure-mgmt-authorization >= 3.0.0 (for the permission check)
seealso:
  - module: aksmesh.istio.aks_preflight
  - module: aksmesh.istio.istio_install
"""

EXAMPLES = r"""
- name: Static IP in the node resource group, with a DNS name
  aksmesh.istio.aks_public_ip:
    name: pip-istio-ingress
    cluster_resource_group: rg-shop
    cluster_name: aks-shop
    dns_label: shop-ingress
  register: ingress_ip

- name: Static IP in a shared network group; grant the cluster the right to use it
  aksmesh.istio.aks_public_ip:
    name: pip-istio-ingress
    resource_group: rg-network
    cluster_resource_group: rg-shop
    cluster_name: aks-shop
    zones: ["1", "2", "3"]
    tags: {owner: platform}
    grant_join_permission: true

- name: Remove it (cleanup)
  aksmesh.istio.aks_public_ip:
    name: pip-istio-ingress
    resource_group: rg-network
    state: absent
"""

RETURN = r"""
public_ip:
  description: The IP as Azure holds it (null when absent).
  returned: always
  type: dict
  sample:
    id: /subscriptions/.../resourceGroups/rg-network/providers/Microsoft.Network/publicIPAddresses/pip-istio-ingress
    name: pip-istio-ingress
    ip_address: 51.124.20.10
    resource_group: rg-network
    location: westeurope
    sku: Standard
    allocation: Static
    version: IPv4
    fqdn: shop-ingress.westeurope.cloudapp.azure.com
    dns_label: shop-ingress
    zones: ["1", "2", "3"]
    tags: {owner: platform}
    attached_to: null
    provisioning_state: Succeeded
ip_address:
  description: The address (empty when absent, or unknown in check mode before creation).
  returned: always
  type: str
  sample: 51.124.20.10
resource_group:
  description: Resource group of the IP.
  returned: always
  type: str
service_annotations:
  description: Annotations the ingress gateway Service needs to take this IP.
  returned: when O(state=present)
  type: dict
  sample: {"service.beta.kubernetes.io/azure-load-balancer-resource-group": rg-network}
join_permission:
  description: The permission check's outcome.
  returned: when O(state=present) and O(cluster_name) is set
  type: dict
  sample: {checked: true, principal_id: 7c1e..., roles: [Network Contributor], granted: false}
changes:
  description: Fields that differ from what is asked (C((absent)) when the IP does not exist).
  returned: always
  type: list
  elements: str
progress:
  description: Statuses of the long-running operation as polled.
  returned: when an operation ran
  type: list
  elements: str
"""


from ansible.module_utils.basic import AnsibleModule
from ansible_collections.aksmesh.istio.plugins.module_utils import _timeouts as timeouts
from ansible_collections.aksmesh.istio.plugins.module_utils._azure import models
from ansible_collections.aksmesh.istio.plugins.module_utils._azure import public_ip as pip
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.aks_cluster import get_cluster, principal_id, report
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.connection import AZURE_AUTH_ARG_SPEC, connect
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import (
    describe, rest, run_lro, run_module)
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.roles import assign, group_scope, join_roles

ANNOTATION_RG = "service.beta.kubernetes.io/azure-load-balancer-resource-group"


def argument_spec():
    spec = dict(AZURE_AUTH_ARG_SPEC)
    spec.update(
        name=dict(type="str", required=True),
        resource_group=dict(type="str"),
        location=dict(type="str"),
        cluster_resource_group=dict(type="str"),
        cluster_name=dict(type="str"),
        dns_label=dict(type="str"),
        zones=dict(type="list", elements="str"),
        tags=dict(type="dict", default={}),
        purge_tags=dict(type="bool", default=False),
        idle_timeout=dict(type="int", default=4),
        check_join_permission=dict(type="bool", default=True),
        grant_join_permission=dict(type="bool", default=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        timeout=dict(type="int", default=600),
    )
    return spec


class PublicIpModule(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        packages = ["azure-mgmt-network"]
        if self.p["cluster_name"]:
            packages += ["azure-mgmt-containerservice", "azure-mgmt-authorization"]
        self.conn = connect(module, *packages)
        self.result = dict(changed=False, changes=[], public_ip=None, ip_address="")

    def network(self):
        return self.conn.sdk_client("azure-mgmt-network")

    def cluster_facts(self):
        mc = get_cluster(self.conn.sdk_client("azure-mgmt-containerservice"), self.p["cluster_resource_group"],
                         self.p["cluster_name"])
        return report(mc), principal_id(mc)

    def read_ip(self, net, group):
        try:
            return rest(net.public_ip_addresses.get(group, self.p["name"]))
        except Exception as exc:
            err = describe(exc, "public IP %s in resource group %s" % (self.p["name"], group))
            if err.status == 404 and err.code in ("ResourceNotFound", "NotFound"):
                return None
            raise err

    def run(self):
        p = self.p
        errors = pip.validate(p)
        if p["cluster_name"] and not p["cluster_resource_group"]:
            errors.append("cluster_name needs cluster_resource_group")
        if p["state"] == "present" and not p["cluster_name"] and not (p["resource_group"] and p["location"]):
            errors.append("give resource_group and location, or cluster_resource_group and cluster_name to "
                          "default them to the cluster's node resource group and region")
        if p["state"] == "absent" and not (p["resource_group"] or p["cluster_name"]):
            errors.append("give resource_group (or the cluster) of the IP to delete")
        if errors:
            self.module.fail_json(msg="; ".join(errors))
        cluster, principal = (None, None)
        if p["cluster_name"]:
            cluster, principal = self.cluster_facts()
        group = p["resource_group"] or cluster["node_resource_group"]
        self.result["resource_group"] = group
        net = self.network()
        have_ip = self.read_ip(net, group)
        if p["state"] == "absent":
            return self.absent(net, group, have_ip)
        location = p["location"] or cluster["location"]
        want = pip.desired(p, location)
        have = pip.current_shape(have_ip)
        changes, immutable = pip.differences(want, have, p["purge_tags"])
        if immutable:
            self.module.fail_json(msg="public IP %s in %s: %s" % (p["name"], group, "; ".join(immutable)),
                                  public_ip=pip.ip_result(have_ip))
        if cluster is not None:
            self.join_permission(cluster, principal, group)
        self.result["changes"] = changes
        ip = have_ip
        if changes:
            self.result["changed"] = True
            if not self.module.check_mode:
                body = self.ip_model(pip.merged_body(want, have, p["purge_tags"]), group)
                what = "%s public IP %s in %s" % ("creating" if have is None else "updating", p["name"], group)
                model, self.result["progress"] = run_lro(
                    lambda: net.public_ip_addresses.begin_create_or_update(group, p["name"], body,
                                                                           polling_interval=p["poll_interval"]),
                    p["timeout"], what)
                ip = rest(model) if model is not None else self.read_ip(net, group)
            if self.module._diff:
                self.result["diff"] = dict(before=have or {}, after=pip.merged_body(want, have, p["purge_tags"]))
        self.result["public_ip"] = pip.ip_result(ip)
        self.result["ip_address"] = (self.result["public_ip"] or {}).get("ip_address") or ""
        self.result["service_annotations"] = {ANNOTATION_RG: group}
        return self.result

    def ip_model(self, body, group):
        """The PublicIPAddress model of a PUT body (REST shape), built as every supported SDK version accepts."""
        from azure.mgmt.network.models import PublicIPAddress
        model = models.build(PublicIPAddress, body)
        lost = models.dropped(model, body)
        if lost:
            self.module.fail_json(msg="public IP %s in %s: %s" % (self.p["name"], group, models.unsupported(
                "azure-mgmt-network", "these fields", lost, pip.NETWORK_SDK_MINIMUM)))
        return model

    def join_permission(self, cluster, principal, group):
        node_group = cluster["node_resource_group"]
        out = dict(checked=False, principal_id=principal, roles=[], granted=False)
        self.result["join_permission"] = out
        if group.lower() == (node_group or "").lower() or not self.p["check_join_permission"]:
            return
        if principal is None:
            self.module.warn("the cluster uses a service principal; its role on resource group %s was not checked: "
                             "make sure it holds Network Contributor there" % group)
            return
        auth = self.conn.sdk_client("azure-mgmt-authorization")
        scope = group_scope(self.conn.subscription_id, group)
        out["checked"] = True
        out["roles"] = join_roles(auth, scope, principal)
        if out["roles"]:
            return
        if not self.p["grant_join_permission"]:
            self.module.fail_json(
                msg="the identity of AKS cluster %s (principal %s) has no role with %s on resource group %s, so the "
                    "load balancer could not use an IP there. Fix: set grant_join_permission: true, or assign "
                    "Network Contributor on %s to principal %s, or put the IP in the node resource group %s"
                    % (cluster["name"], principal, pip.JOIN_ACTION, group, scope, principal, node_group),
                    join_permission=out)
        self.result["changed"] = True
        out["granted"] = True
        if not self.module.check_mode:
            assign(auth, scope, principal, pip.NETWORK_CONTRIBUTOR, self.conn.subscription_id)

    def absent(self, net, group, have_ip):
        if have_ip is None:
            return self.result
        self.result["public_ip"] = pip.ip_result(have_ip)
        attached = self.result["public_ip"]["attached_to"]
        if attached:
            self.module.fail_json(msg="public IP %s in %s is still used by %s; remove the ingress gateway Service "
                                      "(cleanup the control plane first), then re-run"
                                      % (self.p["name"], group, attached))
        self.result.update(changed=True, changes=["(present)"])
        if self.module._diff:
            self.result["diff"] = dict(before=pip.current_shape(have_ip), after={})
        if not self.module.check_mode:
            what = "deleting public IP %s in %s" % (self.p["name"], group)
            _model, self.result["progress"] = run_lro(
                lambda: net.public_ip_addresses.begin_delete(group, self.p["name"],
                                                             polling_interval=self.p["poll_interval"]),
                self.p["timeout"], what)
            self.result["public_ip"] = None
        return self.result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    timeouts.refuse_out_of_range(module)
    run_module(module, lambda: PublicIpModule(module).run())


if __name__ == "__main__":
    main()
