# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An AKS managed cluster: reading it, the report modules return, its identity, and its kubeconfig.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import (
    AzureOperationError, describe, rest, retried)

AKS_NAME_ARG_SPEC = dict(
    resource_group=dict(type="str", required=True),
    name=dict(type="str", required=True, aliases=["cluster_name"]),
)


def aks_argument_spec(kube=False, **options):
    """Cluster name options + Azure auth (+ Kubernetes connection) + the module's own options."""
    from ansible_collections.aksmesh.istio.plugins.module_utils._azure.connection import AZURE_AUTH_ARG_SPEC
    spec = dict(AKS_NAME_ARG_SPEC)
    spec.update(AZURE_AUTH_ARG_SPEC)
    if kube:
        from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC
        spec.update(K8S_AUTH_ARG_SPEC)
    spec.update(options)
    return spec


def cluster_label(resource_group, name):
    return "AKS cluster %s in resource group %s" % (name, resource_group)


def get_cluster(client, resource_group, name):
    """The managed cluster model; AzureOperationError (with the fix) when it cannot be read."""
    try:
        return client.managed_clusters.get(resource_group, name)
    except Exception as exc:
        err = describe(exc, cluster_label(resource_group, name))
        if err.status == 404:
            err = AzureOperationError("%s was not found (%s). Fix: check resource_group, name and subscription_id"
                                      % (cluster_label(resource_group, name), err.code), 404, err.code)
        raise err


def report(cluster):
    """What pre-flight and the other modules report about a cluster (plain, snake_case keys)."""
    mc = rest(cluster)
    props = mc.get("properties") or {}
    network = props.get("networkProfile") or {}
    mesh = props.get("serviceMeshProfile") or {}
    identity = mc.get("identity") or {}
    return dict(
        id=mc.get("id"), name=mc.get("name"), location=mc.get("location"),
        provisioning_state=props.get("provisioningState"),
        power_state=(props.get("powerState") or {}).get("code"),
        kubernetes_version=props.get("currentKubernetesVersion") or props.get("kubernetesVersion"),
        node_resource_group=props.get("nodeResourceGroup"),
        network_plugin=network.get("networkPlugin"), network_plugin_mode=network.get("networkPluginMode"),
        network_dataplane=network.get("networkDataplane"), network_policy=network.get("networkPolicy"),
        load_balancer_sku=network.get("loadBalancerSku"), outbound_type=network.get("outboundType"),
        identity_type=identity.get("type") or ("ServicePrincipal" if props.get("servicePrincipalProfile") else None),
        fqdn=props.get("fqdn"), service_mesh_mode=mesh.get("mode", "Disabled"),
        service_mesh_revisions=(mesh.get("istio") or {}).get("revisions") or [],
    )


# network plugins whose CNI configuration on the node is a conflist the Istio CNI plugin appends itself to
# (Azure CNI, Azure CNI Overlay and kubenet, which AKS runs as the bridge CNI plugin)
CHAINING_PLUGINS = ("azure", "kubenet")
CNI_FIX = ("Fix: set aksmesh_cni: false (istio-init containers instead), use a cluster whose %s, or, when you have "
           "made sure it does, set cni_chaining_confirmed: true (role: aks_preflight_cni_chaining_confirmed)")


def cni_chaining(cluster, label, confirmed=False):
    """([errors], [warnings]) about installing the Istio CNI plugin, which chains itself to the cluster's CNI
    configuration, on ``cluster`` (a :func:`report`). ``confirmed`` turns the errors into warnings: the user
    checked what the profile cannot show (a bring-your-own CNI, or Cilium with ``cni.exclusive: false``)."""
    plugin = (cluster.get("network_plugin") or "").lower()
    dataplane = (cluster.get("network_dataplane") or "").lower()
    problems, warnings = [], []
    if dataplane == "cilium":
        problems.append(
            "%s runs Azure CNI powered by Cilium (networkProfile.networkDataplane: cilium); Cilium is the exclusive "
            "CNI by default and removes other plugins' configuration from the nodes, so the Istio CNI plugin "
            "cannot chain to it unless Cilium runs with cni.exclusive: false, which AKS manages. %s" % (
                label, CNI_FIX % "networkDataplane is azure (Azure CNI or Azure CNI Overlay)"))
    elif plugin == "none":
        problems.append(
            "%s brings its own CNI (networkProfile.networkPlugin: none); the Istio CNI plugin chains only to a CNI "
            "whose node configuration is a conflist it may append to and that leaves other plugins' configuration "
            "in place. %s" % (label, CNI_FIX % "networkPlugin is azure or kubenet, or your CNI's documentation "
                                               "says it supports chained plugins"))
    elif not plugin:
        warnings.append("%s reports no networkProfile.networkPlugin: Istio CNI chaining was not checked" % label)
    elif plugin not in CHAINING_PLUGINS:
        warnings.append("%s uses network plugin %s, which pre-flight does not know: check that the Istio CNI "
                        "plugin can chain to it" % (label, plugin))
    if confirmed:
        return [], warnings + ["%s; going on because cni_chaining_confirmed is true" % p.split(". Fix:")[0]
                               for p in problems]
    return problems, warnings


def agent_pools(cluster):
    """The cluster's agent pool profiles (REST shape)."""
    return (rest(cluster).get("properties") or {}).get("agentPoolProfiles") or []


def principal_id(cluster):
    """The object ID of the cluster's control-plane identity (system- or user-assigned), or None."""
    identity = rest(cluster).get("identity") or {}
    if identity.get("principalId"):
        return identity["principalId"]
    for uai in (identity.get("userAssignedIdentities") or {}).values():
        if (uai or {}).get("principalId"):
            return uai["principalId"]
    return None


def kubeconfig_text(client, resource_group, name, admin=False, server_fqdn=None, fmt=None, warn=None):
    """The cluster's user (or admin) kubeconfig, as YAML text, from listClusterUser/AdminCredential: a read, tried
    again after a dropped connection, throttling or a 5xx answer (``retried``; ``warn`` hears of each retry)."""
    label = cluster_label(resource_group, name)

    def fetch():
        if admin:
            return client.managed_clusters.list_cluster_admin_credentials(resource_group, name,
                                                                          server_fqdn=server_fqdn)
        kwargs = {"server_fqdn": server_fqdn}
        if fmt:
            kwargs["format"] = fmt
        return client.managed_clusters.list_cluster_user_credentials(resource_group, name, **kwargs)

    try:
        creds = retried(fetch, "%s credentials of %s" % ("admin" if admin else "user", label), warn=warn)
    except AzureOperationError as err:
        if admin and err.status == 400:
            raise AzureOperationError(str(err) + ". Fix: the cluster disables local accounts; use admin: false "
                                      "(Entra ID user credentials)", 400, err.code)
        raise
    value = creds.kubeconfigs[0].value
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else value
