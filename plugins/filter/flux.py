# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flux_helm_release filter: a Helm release description -> a Flux HelmRelease object (render mode)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import labels


def flux_helm_release(release, version, source_namespace, source_name="istio"):
    """{name, chart, namespace, values, depends_on} -> helm.toolkit.fluxcd.io/v2 HelmRelease of a chart of the
    HelmRepository ``source_namespace``/``source_name`` (``dependsOn`` keeps Flux to the install order: base, then
    istiod, then the gateways)."""
    out = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": release["name"], "namespace": release["namespace"],
                     "labels": labels()},
        "spec": {"interval": "10m", "releaseName": release["name"], "targetNamespace": release["namespace"],
                 "install": {"createNamespace": True},
                 "chart": {"spec": {"chart": release["chart"], "version": version,
                                    "sourceRef": {"kind": "HelmRepository", "name": source_name,
                                                  "namespace": source_namespace}}},
                 "values": dict(release.get("values") or {})},
    }
    if release.get("depends_on"):
        out["spec"]["dependsOn"] = [{"name": d["name"], "namespace": d["namespace"]} for d in release["depends_on"]]
    return out


class FilterModule(object):
    def filters(self):
        return {"flux_helm_release": flux_helm_release}
