# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh_manifests filter: role variables -> Kubernetes objects, via the builders in plugin_utils/_builders."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders import (
    addons, egress, gateways, helm_releases, istio_operator, mtls, network_policies, secrets, traffic)
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import injection
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError, namespaces, references

try:
    import yaml
except ImportError:
    yaml = None


def _addons(config):
    docs = {}
    for addon, text in (config.get("manifests") or {}).items():
        docs[addon] = [d for d in yaml.safe_load_all(text) if d] if isinstance(text, str) else text
    return addons.addon_manifests(docs, config)


def _dashboards(config):
    return addons.dashboards(config.get("addons") or [], config.get("namespace") or "istio-system")


BUILDERS = {
    "secrets": secrets.credential_secrets,
    "mtls": mtls.peer_authentications,
    "gateways": gateways.gateway_manifests,
    "gateway_routes": gateways.gateway_route_hosts,
    "egress": egress.egress_manifests,
    "traffic": traffic.traffic_manifests,
    "network_policies": network_policies.network_policies,
    "addons": _addons,
    "dashboards": _dashboards,
    "istio_operator": istio_operator.build,
    "addon_mesh_config": istio_operator.addon_shared_config,
    "helm_releases": helm_releases.releases,
    "namespaces": namespaces,
    "references": references,
    "injection": injection.labelled_namespaces,
}


def mesh_manifests(config, stage):
    if stage not in BUILDERS:
        raise AnsibleFilterError("mesh_manifests: unknown stage %r; use one of %s" % (stage, ", ".join(sorted(
            BUILDERS))))
    if not isinstance(config, dict):
        raise AnsibleFilterError("mesh_manifests(%s): expected a dictionary of settings, got %s" % (
            stage, type(config).__name__))
    try:
        # plain types: Ansible hands over tagged str/dict subclasses that YAML dumpers refuse
        return BUILDERS[stage](json.loads(json.dumps(config)))
    except MeshConfigError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"mesh_manifests": mesh_manifests}
