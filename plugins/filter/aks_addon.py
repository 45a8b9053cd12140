# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The aks_addon_egress filter: the AKS add-on's egress gateways of a role -> module entries and their
StaticGatewayConfiguration objects. Its name says which "addon" it serves: the managed AKS Istio add-on, not the
Prometheus/Grafana/Kiali/Jaeger addons of the mesh_addons role (addon_manifests, addon_dashboards)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.istio_addon import addon_egress as _addon_egress


def aks_addon_egress(gateways):
    if not isinstance(gateways, list) or not all(isinstance(g, dict) and g.get("name") for g in gateways):
        raise AnsibleFilterError("aks_addon_egress: expected a list of egress gateways, each a mapping with a name "
                                 "(aks_mesh_addon_egress_gateways)")
    return _addon_egress(gateways)


class FilterModule(object):
    def filters(self):
        return {"aks_addon_egress": aks_addon_egress}
