# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mesh-wide mutual TLS: PeerAuthentication in the root namespace, the gateway namespaces, and exceptions.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError, obj

MODES = ("STRICT", "PERMISSIVE", "DISABLE")


def peer_authentications(mode, root_namespace, istio_namespace, gateway_namespaces, exceptions):
    """PeerAuthentication ``default`` with ``mode`` in the root namespace (mesh-wide) and in each gateway namespace,
    then one per ``exceptions`` entry {namespace, mode (default PERMISSIVE)}."""
    if not istio_namespace:
        raise MeshConfigError("istio_namespace", "is empty: name the namespace Istio is installed in")
    if root_namespace != istio_namespace:
        raise MeshConfigError("root_namespace", "%s must be the Istio install namespace (O(istio_namespace) %s): a "
                                                "PeerAuthentication is mesh-wide only in the root namespace"
                              % (root_namespace, istio_namespace))
    root = root_namespace

    def pa(namespace, pa_mode, name="default"):
        return obj("security.istio.io/v1", "PeerAuthentication", name, namespace,
                   {"mtls": {"mode": pa_mode}})
    out = [pa(root, mode)]
    for ns in gateway_namespaces or []:
        if ns != root:
            out.append(pa(ns, mode))
    seen = set(o["metadata"]["namespace"] for o in out)
    for exc in exceptions or []:
        ns, exc_mode = exc.get("namespace"), exc.get("mode", "PERMISSIVE")
        if not ns or exc_mode not in MODES:
            raise MeshConfigError("exceptions", "entry %s needs a namespace and a mode in %s" % (exc, MODES))
        if ns == root:
            raise MeshConfigError("exceptions", "entry %s names the root namespace %s: that would change the "
                                                "mesh-wide policy; set O(mode) instead" % (exc, root))
        if ns in seen:
            out = [o for o in out if o["metadata"]["namespace"] != ns]
        out.append(pa(ns, exc_mode))
        seen.add(ns)
    return out
