# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The aks_mesh_addon module's run: the cluster's serviceMeshProfile and the revisions on offer read, the wanted
revisions and profile decided (``istio_addon``), the change checked against what the cluster and the SDK allow,
and the managed cluster updated.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.aksmesh.istio.plugins.module_utils._azure import istio_addon, models
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.aks_cluster import cluster_label, get_cluster, report
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.aks_kube import cluster_items
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.connection import connect
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import describe, rest, run_lro
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.ingress import SERVICES
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import planned

SETTLED = ("Succeeded", "Failed")  # provisioning states no operation is running in


def gateway_services(profile):
    """Namespace, Service and mode of each enabled ingress gateway of a serviceMeshProfile."""
    out = []
    for gw in ((profile.get("istio") or {}).get("components") or {}).get("ingressGateways") or []:
        if gw.get("enabled"):
            key = "aks_addon" if gw.get("mode") == "External" else "aks_addon_internal"
            service, namespace = SERVICES[key]
            out.append(dict(namespace=namespace, service=service, mode=gw.get("mode")))
    return out


def mesh_profile(body):
    """The serviceMeshProfile of a managed cluster (REST shape); ``Disabled`` when it has none."""
    return (body.get("properties") or {}).get("serviceMeshProfile") or {"mode": "Disabled"}


def check_params(module):
    """Fail, before anything is sent to Azure, on options that cannot mean what they say: an empty revisions list
    (it enabled the newest revision). A timeout under 1 second (the PUT was sent, then the run reported it still
    InProgress after 0s) is refused before this, with every module's integer timeouts (module_utils/_timeouts.py)."""
    p = module.params
    if p["revisions"] is not None and p["state"] == "present" and not p["report_only"]:
        if not p["revisions"]:
            module.fail_json(msg="revisions is empty: list the add-on revisions that should run (such as "
                                 "[asm-1-26]), leave revisions unset for the current one (the newest when the "
                                 "add-on is off), or set state: absent to disable the add-on; nothing was sent to "
                                 "Azure")
        blank = [i for i, r in enumerate(p["revisions"]) if not (r or "").strip()]
        if blank:
            module.fail_json(msg="revisions[%d] is empty: give a revision such as asm-1-26; nothing was sent to "
                                 "Azure" % blank[0])


class AddonModule(object):
    """One run of the aks_mesh_addon module on its managed cluster."""

    def __init__(self, module):
        check_params(module)
        self.module = module
        self.p = module.params
        self.label = cluster_label(self.p["resource_group"], self.p["name"])
        self.conn = connect(module, "azure-mgmt-containerservice")
        self.cs = self.conn.sdk_client("azure-mgmt-containerservice")

    def offers(self, cluster):
        """(the revisions offered for the cluster's region and Kubernetes version, the upgrades of the current)."""
        try:
            profiles = [rest(x) for x in self.cs.managed_clusters.list_mesh_revision_profiles(cluster["location"])]
            available = istio_addon.available_revisions(profiles, cluster["kubernetes_version"])
            upgrades = []
            if cluster["service_mesh_revisions"]:
                profile = rest(self.cs.managed_clusters.get_mesh_upgrade_profile(
                    self.p["resource_group"], self.p["name"], "istio"))
                upgrades = list((profile.get("properties") or {}).get("upgrades") or [])
            return available, upgrades
        except Exception as exc:
            raise describe(exc, "mesh revisions of %s" % self.label)

    def self_managed(self):
        """The self-managed istiod Deployments in the cluster."""
        deployments = cluster_items(self.module, self.cs, "/apis/apps/v1/deployments",
                                    "cannot look for a self-managed Istio in %s" % self.label,
                                    "give a Kubernetes connection, or set check_self_managed: false",
                                    labelSelector="app=istiod")
        return istio_addon.self_managed(deployments)

    def fail(self, msg, **result):
        self.module.fail_json(msg="%s: %s" % (self.label, msg), **result)

    def run(self):
        """The module's result: the report, or the change made (planned in check mode)."""
        mc = get_cluster(self.cs, self.p["resource_group"], self.p["name"])
        cluster, body = report(mc), rest(mc)
        current_profile = mesh_profile(body)
        current = istio_addon.current_revisions(current_profile)
        available, upgrades = self.offers(cluster)
        result = dict(changed=False, action="report", revisions_before=current, revisions=current,
                      available_revisions=available, available_upgrades=upgrades,
                      service_mesh_profile=current_profile, ingress_gateway_services=gateway_services(current_profile))
        if self.p["report_only"]:
            return result
        wanted = self.wanted(cluster, current, available)
        if self.p["gateway_api"] and self.p["state"] == "present":
            # checked on every run, before any write: the Gateway API ingress needs them whatever the add-on does
            problems = istio_addon.gateway_api_problems(body, wanted)
            if problems:
                self.fail("; ".join(problems), **result)
        action, ca, egress = self.decide(current, wanted, available, upgrades, result)
        gateways = dict((k, self.p[k]) for k, _mode in istio_addon.GATEWAY_MODES)
        desired = istio_addon.desired_profile(current_profile, wanted, gateways, ca=ca, egress=egress)
        if istio_addon.comparable(desired) == istio_addon.comparable(current_profile):
            result["action"] = "unchanged"
            return result
        if action == "unchanged":
            action = "configure"
        update = self.update_or_fail(body, desired, result)
        self.check_cluster(body, cluster, ca, egress, action, result)
        result.update(changed=True, action=action, revisions=wanted, service_mesh_profile=desired,
                      ingress_gateway_services=gateway_services(desired))
        if self.module._diff:
            result["diff"] = dict(before=current_profile, after=desired)
        if self.module.check_mode:
            result["planned"] = check_plan(current, current_profile, desired)
            return result
        return self.apply(update, action, desired, result)

    def wanted(self, cluster, current, available):
        """The revisions that should run: none for absent, the given ones, else the current or newest offered."""
        if self.p["state"] == "absent":
            return []
        if self.p["revisions"] is not None:
            return self.p["revisions"]
        wanted = current or available[-1:]
        if not wanted:
            self.module.fail_json(msg="no add-on revision is available for %s (Kubernetes %s in %s)"
                                      % (self.label, cluster["kubernetes_version"], cluster["location"]))
        return wanted

    def decide(self, current, wanted, available, upgrades, result):
        """(the revision change, the plug-in CA and the egress gateways wanted); fails on a change the add-on
        does not allow or a bad CA or gateway."""
        action, error = istio_addon.plan(current, wanted, available, upgrades)
        ca = egress = None
        if not error and self.p["certificate_authority"] and wanted:
            ca, error = istio_addon.plugin_ca(self.p["certificate_authority"])
        if not error and self.p["egress_gateways"] is not None and wanted:
            egress, error = istio_addon.egress_gateways(self.p["egress_gateways"])
        if error:
            self.fail(error, **result)
        return action, ca, egress

    def update_or_fail(self, body, desired, result):
        """The ManagedCluster to PUT; fails when the installed SDK's model cannot carry the desired profile."""
        update, lost = self.update_model(body, desired)
        if lost:
            self.fail(models.unsupported("azure-mgmt-containerservice", "these service mesh profile fields", lost,
                                         istio_addon.EGRESS_SDK_MINIMUM), **result)
        return update

    def check_cluster(self, body, cluster, ca, egress, action, result):
        """Fail before any write on a missing prerequisite, a running operation, or (enabling) a self-managed
        Istio in the cluster."""
        missing = istio_addon.prerequisites(body, ca, egress)
        if missing:
            self.fail("; ".join(missing), **result)
        if cluster["provisioning_state"] not in SETTLED:
            self.module.fail_json(msg="%s is %s; wait for the running operation to finish and re-run"
                                      % (self.label, cluster["provisioning_state"]), **result)
        found = self.self_managed() if action == "enable" and self.p["check_self_managed"] else None
        if found:
            self.module.fail_json(
                msg="%s runs a self-managed Istio control plane (%s); the AKS add-on cannot run next to it. "
                    "Fix: uninstall it first (cleanup.yml, or istioctl uninstall --purge), or keep "
                    "install_method istioctl/helm" % (self.label, ", ".join(found)), **result)

    def apply(self, update, action, desired, result):
        """PUT the managed cluster and wait; the result with the profile the cluster reports afterwards."""
        p = self.p
        what = "updating the service mesh profile of %s (%s)" % (self.label, action)
        model, result["progress"] = run_lro(
            lambda: self.cs.managed_clusters.begin_create_or_update(p["resource_group"], p["name"], update,
                                                                    polling_interval=p["poll_interval"]),
            p["timeout"], what)
        after = ((rest(model) or {}).get("properties") or {}).get("serviceMeshProfile") or desired
        result.update(service_mesh_profile=after, revisions=istio_addon.current_revisions(after),
                      ingress_gateway_services=gateway_services(after))
        return result

    @staticmethod
    def update_model(body, desired):
        """(the ManagedCluster to PUT: the cluster as read with the desired mesh profile, the paths of the
        profile that the installed SDK's model cannot carry)."""
        from azure.mgmt.containerservice.models import ManagedCluster
        wanted = copy.deepcopy(body)
        wanted.setdefault("properties", {})["serviceMeshProfile"] = desired
        update = models.build(ManagedCluster, wanted)
        return update, models.dropped(update, {"properties": {"serviceMeshProfile": desired}})


def check_plan(current, current_profile, desired):
    """Check mode, for the next tasks of the run: the namespaces the add-on would bring and, when it is off, the
    Istio kinds."""
    plan = planned.Planned(istio_addon.planned_namespaces(current_profile, desired))
    if not current:
        plan.add_groups(planned.ISTIO_GROUPS)
    return plan.result()
