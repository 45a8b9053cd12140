# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stage filters: one per stage, ``input | aksmesh.istio.<filter>(option=value, ...)`` -> Kubernetes objects.

Each filter's input and keyword arguments are its builder's options (plugins/plugin_utils/_builders), checked against
the argument spec of the role named here (plugins/plugin_utils/_stage_filter.py); see each filter's documentation.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import injection
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import namespaces, references
from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders import (
    addons, authz, certs, egress, gateway_api, gateways, helm_releases, istio_operator, mtls, network_policies, sample,
    secrets, traffic)
from ansible_collections.aksmesh.istio.plugins.plugin_utils._stage_filter import StageFilter
from ansible_collections.aksmesh.istio.plugins.plugin_utils._stages import CONTROL_PLANE

NAMES = {"type": "list", "elements": "str", "required": True}


def mesh_namespaces(names, control_plane):
    """The mesh's own namespaces carry the control plane stage's label whichever stage creates them (the secrets
    stage makes the addons namespace before the install); others (control_plane false) the applying stage's."""
    return namespaces(names, CONTROL_PLANE if control_plane else None)


# filter name, builder, the option the filter's input fills, the role whose argument spec holds the options
STAGES = [
    StageFilter("secrets_manifests", secrets.credential_secrets, "namespace", "mesh_secrets"),
    StageFilter("mtls_manifests", mtls.peer_authentications, "mode", "mesh_mtls"),
    StageFilter("gateway_manifests", gateways.gateway_manifests, "gateways", "mesh_gateways"),
    StageFilter("gateway_routes", gateways.gateway_route_hosts, "gateways", "mesh_gateways"),
    StageFilter("gateway_api_manifests", gateway_api.ingress_manifests, "gateways", "mesh_gateways"),
    StageFilter("certs_manifests", certs.certs_manifests, "gateways", "mesh_certs"),
    StageFilter("egress_manifests", egress.egress_manifests, "hosts", "mesh_egress"),
    StageFilter("traffic_manifests", traffic.traffic_manifests, "services", "mesh_traffic"),
    StageFilter("authz_manifests", authz.authorization_policies, "policies", "mesh_authz"),
    StageFilter("network_policy_manifests", network_policies.network_policies, "mode", "mesh_network_policies"),
    StageFilter("addon_manifests", addons.addon_manifests, "manifests", "mesh_addons",
                spec={"manifests": {"type": "dict", "required": True}}),
    StageFilter("addon_dashboards", addons.dashboards, "enabled", "mesh_addons"),
    StageFilter("sample_manifests", sample.sample_manifests, "manifests", "mesh_sample",
                spec={"manifests": {"type": "dict", "required": True}}),
    StageFilter("istio_operator", istio_operator.build, "namespace", "istio_install"),
    StageFilter("aks_addon_mesh_config", istio_operator.addon_shared_config, "mesh", "aks_mesh_addon"),
    StageFilter("helm_releases", helm_releases.releases, "namespace", "istio_helm"),
    StageFilter("injection_namespaces", injection.labelled_namespaces, "namespaces", "mesh_injection"),
    StageFilter("injection_waypoints", injection.waypoints, "namespaces", "mesh_injection"),
    # helpers no role owns: their options are specified here
    StageFilter("mesh_namespaces", mesh_namespaces, "names", spec={
        "names": NAMES, "control_plane": {"type": "bool", "default": True}}),
    StageFilter("object_references", references, "names", spec={
        "names": NAMES, "api_version": {"type": "str", "required": True}, "kind": {"type": "str", "required": True}}),
    StageFilter("istiod_release", helm_releases.istiod_release, "revision", spec={
        "revision": {"type": "str", "required": True}}),
]


class FilterModule(object):
    def filters(self):
        return dict((stage.name, stage.__call__) for stage in STAGES)
