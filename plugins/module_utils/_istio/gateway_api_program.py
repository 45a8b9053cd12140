# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway_api_crds module's program: the Gateway API bundle read out of its module zip, and what to do with
it on the cluster (module_utils/_istio/gateway_api.py). It reads only.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import gateway_api
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import connect
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import RestClient

VERSION = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?\Z")


def argument_spec():
    """The gateway_api_crds module's options (plugins/modules/gateway_api_crds.py documents them)."""
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(module_zip=dict(type="path", required=True),
                version=dict(type="str", default=gateway_api.VERSION),
                inspect=dict(type="bool", default=True),
                state=dict(type="str", choices=["present", "absent"], default="present"))
    return spec


def existing(rest):
    """The cluster's CRDs of the Gateway API group."""
    listed = rest.request("GET", gateway_api.KINDS[gateway_api.CRD]) or {}
    return [crd for crd in listed.get("items", []) if (crd.get("spec") or {}).get("group") == gateway_api.GROUP]


def installed(rest, objects, crds):
    """The bundle's objects the cluster has with the collection's label (what cleanup removes), as references."""
    ours_crds = set(crd["metadata"]["name"] for crd in crds if gateway_api.ours(crd))
    out = []
    for obj in objects:
        if obj["kind"] == gateway_api.CRD[1]:
            mine = obj["metadata"]["name"] in ours_crds
        else:
            mine = gateway_api.ours(rest.request("GET", gateway_api.path_of(obj), ok_missing=True) or {})
        if mine:
            out.append({"apiVersion": obj["apiVersion"], "kind": obj["kind"],
                        "metadata": {"name": obj["metadata"]["name"]}})
    return out


def run(module):
    """The gateway_api_crds module: the bundle, and with ``inspect`` the plan for the cluster's CRDs."""
    params = module.params
    if not VERSION.match(params["version"]):
        module.fail_json(msg="version: %r is not a module version (v<major>.<minor>.<patch>, for example %s)"
                         % (params["version"], gateway_api.VERSION))

    def work():
        try:
            objects = gateway_api.bundle(params["module_zip"], params["version"])
            if not params["inspect"]:
                return dict(changed=False, action="render", definitions=objects, found=[], warnings=[],
                            version=params["version"],
                            message="renders the Gateway API %s CRDs (standard channel)" % params["version"])
            rest = RestClient(connect(module), timeout=params["request_timeout"])
            crds = existing(rest)
            if params["state"] == "absent":
                mine = installed(rest, objects, crds)
                return dict(changed=False, action="remove", definitions=mine, found=[], warnings=[],
                            version=params["version"], message="removes its %d Gateway API objects" % len(mine))
            decided = gateway_api.plan(crds, params["version"])
        except gateway_api.GatewayApiError as exc:
            module.fail_json(msg=str(exc))
        for warning in decided["warnings"]:
            module.warn(warning)
        return dict(changed=False, version=params["version"],
                    definitions=objects if decided["action"] in ("install", "upgrade") else [], **decided)
    errors.run(module, work, what="reading the Gateway API CRDs failed")
