# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The install method table: per control-plane install method, the role that owns its lifecycle.

This file is private to the aksmesh.istio collection: its contents may change at any time.

The ``istio_control_plane`` role dispatches ``install`` (its ``main``), ``upgrade`` and ``absent`` to the method's
role through this table (published per host as ``settings_mesh.control_plane``; all of it as
``settings_mesh.methods``); each method role owns its ``main``, ``upgrade`` and ``absent`` entry points. Where each
method puts its namespaces and gateways is the topology table's (``module_utils/_istio/topology.py``, whose
``METHODS`` names the same methods in the same order, as
``tests/unit/plugins/plugin_utils/test_methods.py`` checks). Nothing else compares the install method with a
method's name: the playbooks and roles read what they need from here
(``tests/unit/plugins/plugin_utils/test_stages.py``). Adding a method: a row here (and in the topology table), its
role with ``main``, ``upgrade`` and ``absent``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

Method = namedtuple("Method", [
    "name",              # aksmesh_install_method
    "role",              # the role that installs (main), upgrades (upgrade) and removes (absent) the control plane
    "revision_upgrade",  # upgrade.yml takes it to a new revision (istio_upgrade); else the role's upgrade says how
    "owns_crds",         # cleanup.yml deletes the Istio CRDs and the Istio and gateway namespaces after it
    "renders_injector",  # render mode writes the injection template ConfigMaps (manual injection reads them)
    # its role compares with the cluster before its job in the background changes anything, so a run that changed
    # nothing is known (roles/mesh_analyze then may leave out istioctl analyze); the add-on's job always runs
    "compares_first",
    # its Gateway API CRDs are AKS's managed ones (az aks update --enable-gateway-api): the gateway-api stage does not
    # run for it, and its Gateway API ingress needs them (aks_preflight checks the cluster for them)
    "managed_gateway_api",
    # what its istiod takes of a Gateway's customization ConfigMap (aksmesh_ingress_gateway_customizations) is AKS's
    # resource customization allow list (plugin_utils/_gateway_customizations.py), not all Istio overlays
    "gateway_allow_list",
    # its own ingress gateway (aksmesh_ingress_api istio) takes the static IP stage's address; the add-on's get theirs
    # from AKS, and only its Gateway API ingress takes one
    "gateway_static_ip",
])

METHODS = (
    Method("istioctl", "istio_install", revision_upgrade=True, owns_crds=True, renders_injector=True,
           compares_first=True, managed_gateway_api=False, gateway_allow_list=False,
           gateway_static_ip=True),
    Method("helm", "istio_helm", revision_upgrade=True, owns_crds=True, renders_injector=False, compares_first=True,
           managed_gateway_api=False, gateway_allow_list=False, gateway_static_ip=True),
    # AKS manages the add-on's CRDs and namespaces; it upgrades through aks_mesh_addon_revisions
    Method("aks_addon", "aks_mesh_addon", revision_upgrade=False, owns_crds=False, renders_injector=False,
           compares_first=False, managed_gateway_api=True, gateway_allow_list=True,
           gateway_static_ip=False),
)
BY_NAME = dict((method.name, method) for method in METHODS)


def published(method):
    """``method``'s row as the settings publish it (``settings_mesh.control_plane``)."""
    return dict(BY_NAME[method]._asdict())


def table():
    """Every method's row, by name (``settings_mesh.methods``)."""
    return dict((method.name, published(method.name)) for method in METHODS)
