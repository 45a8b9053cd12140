# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stage registry: every stage of the collection, in the order site.yml runs them, in one table.

This file is private to the aksmesh.istio collection: its contents may change at any time.

A stage's ``name`` is its one spelling: the ``aksmesh.io/stage`` label of its objects (what prune and cleanup select
on), its render folder (``<number>-<name>``, numbered in the order a cluster must apply them: namespaces and CRDs
first) and its key in ``settings_mesh.stages``. The rest is what the playbooks, the settings and the
``aksmesh.istio.stage`` action need to know about it: the roles that run it, the install methods it belongs to, its
site.yml tags, the kinds it prunes, the cleanup.yml part that removes it (``aksmesh_cleanup_<part>``) and the
``aksmesh_<switch>`` that turns it off.

Nothing else names a stage: the settings publish this table (``settings_mesh.stages``, with whether each stage runs
for the host and why not), the ``aksmesh.istio.stage`` action (``plugins/action/stage.py``) finds the stage of the
role its task is in here, stamps its label on the objects the builders leave unstamped, prunes its kinds and renders
to its folder. ``tests/unit/plugins/plugin_utils/test_stages.py`` keeps stage literals out of the builders and the
roles. Adding a stage: a row here, its role, its builder.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MANAGED_BY, MANAGER, STAGE

# Kinds a stage prunes: (apiVersion, kind)
GATEWAY = ("networking.istio.io/v1", "Gateway")
VIRTUAL_SERVICE = ("networking.istio.io/v1", "VirtualService")
DESTINATION_RULE = ("networking.istio.io/v1", "DestinationRule")
SERVICE_ENTRY = ("networking.istio.io/v1", "ServiceEntry")
# the Gateway API ingress's kinds (aksmesh_ingress_api gateway_api): the gateways stage prunes them with Istio's
# (a switch of API prunes the other API's objects); optional, since a cluster may have no Gateway API CRDs
GATEWAY_API_KINDS = (("gateway.networking.k8s.io/v1", "Gateway"), ("gateway.networking.k8s.io/v1", "HTTPRoute"),
                     ("gateway.networking.k8s.io/v1beta1", "ReferenceGrant"))
WAYPOINT_KIND = GATEWAY_API_KINDS[0]
OPTIONAL_KINDS = frozenset(GATEWAY_API_KINDS)

# needs: what a stage needs beyond its switch, checked by the settings (plugins/plugin_utils/_settings.py):
#   azure       a cluster target with Azure names (aksmesh_resource_group, aksmesh_cluster_name)
#   cluster     a cluster target (render mode does without)
#   istioctl_used  istioctl is run: on a cluster target (install, manual injection, the live analysis) whatever the
#               method; in render mode for the istioctl method only (the control plane istioctl manifest generate
#               makes, which must be the Istio version asked for)
#   kubeconfig_fetched  no aksmesh_kubeconfig: the kubeconfig comes from Azure
#   static_ip_ingress  the ingress takes a static IP: the install method's own gateway (not the add-on's, which
#               AKS addresses), or the Gateway API ingress's Gateway
Stage = namedtuple("Stage", [
    "name",      # label, render folder suffix, key in settings_mesh.stages
    "number",    # render folder number (apply order); None: the stage renders nothing
    "roles",     # the roles that run it (aksmesh.istio.stage finds a role's stage here)
    "methods",   # the install methods it runs for; () for all
    "method_note",  # why it does not run for the other methods (the run's summary); "" says nothing
    "tags",      # site.yml tags
    "prune",     # kinds it prunes within its label: ((apiVersion, kind), ...)
    "cleanup",   # the cleanup.yml part that removes it (aksmesh_cleanup_<part>), or None
    "switch",    # the aksmesh_<switch> boolean that turns it off, or None
    "needs",     # conditions (above) it needs to run
    "entry",     # the role site.yml and cleanup.yml include for it (main, absent, preflight): its first role, or the
                 # install method dispatcher for the control plane
    "preflight",  # None, or the stages whose tags also run its role's preflight entry point, before any stage runs
    "cleanup_default",  # whether cleanup.yml removes it when aksmesh_cleanup_<part> is not set
])


def _stage(name, number=None, roles=(), methods=(), method_note="", tags=(), prune=(), cleanup=None, switch=None,
           needs=(), entry=None, preflight=None, cleanup_default=True):
    return Stage(name, number, tuple(roles), tuple(methods), method_note, tuple(tags), tuple(prune), cleanup, switch,
                 tuple(needs), entry or roles[0], None if preflight is None else tuple(preflight), cleanup_default)


STAGES = (
    # every selection of stages needs the cluster's kubeconfig: tagged always too
    _stage("credentials", roles=["aks_credentials"], tags=["credentials", "always"],
           needs=["azure", "kubeconfig_fetched"]),
    # may the run's identity do what the stages that run for the host need (plugins/plugin_utils/_permissions.py)?
    # Asked right after the credentials, before any stage changes Azure or the cluster; tagged always like them
    _stage("access", roles=["cluster_access"], tags=["access", "always"], switch="access_check", needs=["cluster"]),
    _stage("preflight", roles=["aks_preflight"], tags=["preflight"], switch="preflight", needs=["azure"]),
    _stage("static_ip", roles=["aks_static_ip"], tags=["static_ip"], cleanup="static_ip", switch="static_ip",
           needs=["azure", "static_ip_ingress"],
           cleanup_default=False),  # an IP outlives the cluster unless cleanup is asked to remove it
    # istioctl installs (istioctl method), injects by hand and analyzes the live mesh (every method): it runs with
    # every stage that changes the mesh (tags below); present, it costs one version check
    _stage("istioctl", roles=["istioctl"], tags=["istioctl"], switch="istioctl_download", needs=["istioctl_used"]),
    # every stage that builds objects has a pre-flight (preflight=[] at least): its role's variables checked against
    # its argument spec and its objects built, nothing applied, before the first stage changes Azure, the cluster or
    # the render folder
    _stage("secrets", 20, roles=["mesh_secrets"], tags=["secrets"], cleanup="secrets", switch="secrets",
           preflight=[]),
    # the Kubernetes Gateway API's standard-channel CRDs when asked for (aksmesh_gateway_api_crds), before the control
    # plane; its pre-flight reads the cluster's CRDs (experimental ones fail the run) before any stage changes
    # anything. Never pruned (a CRD takes every object of its kind with it); cleanup removes the collection's own only
    # when asked (aksmesh_cleanup_gateway_api)
    _stage("gateway-api", 5, roles=["gateway_api"], methods=["istioctl", "helm"],
           method_note="the AKS add-on uses AKS's managed Gateway API CRDs", tags=["install", "gateway_api"],
           cleanup="gateway_api", switch="gateway_api_crds", preflight=[], cleanup_default=False),
    # the control plane: istioctl's objects or the add-on's mesh config; the mesh's own namespaces carry its label
    # whichever stage creates them (CONTROL_PLANE)
    # (site.yml and cleanup.yml reach the method's role through the dispatcher, istio_control_plane)
    _stage("istio", 10, roles=["istio_install", "aks_mesh_addon"], methods=["istioctl", "aks_addon"],
           tags=["install"], prune=[("v1", "ConfigMap")], cleanup="control_plane", entry="istio_control_plane",
           preflight=[]),  # the method role's checks (the render's istioctl version) before any stage
    # the control plane as Helm releases (Flux HelmReleases in render mode)
    _stage("istio-helm", 10, roles=["istio_helm"], methods=["helm"], tags=["install"], cleanup="control_plane",
           entry="istio_control_plane", preflight=[]),
    # the waypoints of the ambient namespaces (Gateway API Gateways of class istio-waypoint) with the labels
    _stage("injection", 30, roles=["mesh_injection"], tags=["injection"], cleanup="injection", preflight=[],
           prune=[WAYPOINT_KIND]),
    _stage("mtls", 40, roles=["mesh_mtls"], tags=["mesh", "mtls"],
           prune=[("security.istio.io/v1", "PeerAuthentication")], cleanup="mesh_config", preflight=[]),
    # cert-manager's chart when asked for (cert_manager_install): a folder of its own before the certs stage's, whose
    # Certificates need its CRDs (one kubectl apply of a folder cannot hold a CRD and its objects); --tags certs
    # installs it too
    _stage("cert-manager", 42, roles=["cert_manager"], tags=["mesh", "certs", "cert_manager"], cleanup="cert_manager",
           preflight=[]),
    # its pre-flight (the gateways' TLS Secrets exist) runs before any stage, with the gateways stage too
    _stage("certs", 45, roles=["mesh_certs"], tags=["mesh", "certs"], cleanup="mesh_config", preflight=["gateways"],
           prune=[("cert-manager.io/v1", "Certificate"), ("cert-manager.io/v1", "Issuer"),
                  ("cert-manager.io/v1", "ClusterIssuer")]),
    # with the Gateway API ingress, the ConfigMap of its Service's options (the source ranges) too
    _stage("gateways", 50, roles=["mesh_gateways"], tags=["mesh", "gateways"], cleanup="mesh_config",
           prune=[GATEWAY, VIRTUAL_SERVICE, DESTINATION_RULE] + list(GATEWAY_API_KINDS) + [("v1", "ConfigMap")],
           preflight=[]),
    _stage("egress", 60, roles=["mesh_egress"], tags=["mesh", "egress"], cleanup="mesh_config",
           prune=[SERVICE_ENTRY, GATEWAY, VIRTUAL_SERVICE, DESTINATION_RULE], preflight=[]),
    _stage("traffic", 70, roles=["mesh_traffic"], tags=["mesh", "traffic"], cleanup="mesh_config",
           prune=[VIRTUAL_SERVICE, DESTINATION_RULE], preflight=[]),
    _stage("authz", 75, roles=["mesh_authz"], tags=["mesh", "authz"], cleanup="mesh_config",
           prune=[("security.istio.io/v1", "AuthorizationPolicy")], preflight=[]),
    _stage("network-policies", 80, roles=["mesh_network_policies"], tags=["mesh", "network_policies"],
           cleanup="mesh_config", prune=[("networking.k8s.io/v1", "NetworkPolicy")], preflight=[]),
    _stage("addons", 90, roles=["mesh_addons"], tags=["addons"], cleanup="addons", switch="addons",
           preflight=[]),
    _stage("sample", 95, roles=["mesh_sample"], tags=["sample"], cleanup="sample", switch="sample",
           prune=[GATEWAY, VIRTUAL_SERVICE, DESTINATION_RULE], preflight=[]),
    # after the last stage: istioctl analyze and mesh_lint of the live mesh (cluster), mesh_lint of the folder (render);
    # it runs with every stage that changes the mesh (tags below)
    _stage("analyze", roles=["mesh_analyze"], tags=["analyze"], switch="analyze"),
)


def _with_mesh_tags(rows):
    """The analysis, and the istioctl it needs, run whenever a stage that changes the mesh runs (``--tags traffic``
    analyzes too; ``--tags preflight`` does not): their tags add those stages' tags, in run order."""
    mesh = []
    for row in rows:
        if row.number is not None:
            mesh.extend(tag for tag in row.tags if tag not in mesh)
    return tuple(row._replace(tags=row.tags + tuple(t for t in mesh if t not in row.tags))
                 if row.name in ("istioctl", "analyze") else row for row in rows)


STAGES = _with_mesh_tags(STAGES)
BY_NAME = dict((stage.name, stage) for stage in STAGES)
BY_ROLE = dict((role, stage) for stage in STAGES for role in stage.roles)
# the stage whose label the mesh's own namespaces (Istio, gateways, addons) carry, whichever stage creates them
CONTROL_PLANE = "istio"


class StageError(ValueError):
    """A name that is no stage of the registry."""


def get(name):
    """The stage called ``name``; StageError naming it and the stages there are."""
    try:
        return BY_NAME[name]
    except (KeyError, TypeError):
        raise StageError("%r is not a stage of aksmesh.istio: the stages are %s" % (name, ", ".join(BY_NAME)))


def applying_names():
    """The names of the stages that apply objects (those with a render folder), in the registry's order."""
    return [stage.name for stage in STAGES if stage.number is not None]


def applying(name):
    """The stage called ``name`` when it applies objects; StageError naming the stages that do."""
    stage = BY_NAME.get(name) if isinstance(name, str) else None
    if stage is None or stage.number is None:
        raise StageError("%r is not a stage of aksmesh.istio that applies objects: the stages that do are %s"
                         % (name, ", ".join(applying_names())))
    return stage


def of_role(role):
    """The stage ``role`` runs (a short or fully qualified role name), or None."""
    return BY_ROLE.get(str(role or "").rsplit(".", 1)[-1])


def folder(stage):
    """The render folder of ``stage`` (``10-istio``), or "" when it renders nothing."""
    return "%02d-%s" % (stage.number, stage.name) if stage.number is not None else ""


def prune_kinds(stage):
    """The kinds ``stage`` prunes, as ``aksmesh.istio.apply``'s ``prune.kinds`` takes them."""
    out = []
    for api_version, kind in stage.prune:
        out.append({"apiVersion": api_version, "kind": kind})
        if (api_version, kind) in OPTIONAL_KINDS:
            out[-1]["optional"] = True
    return out


def prune_selector(stage):
    """The label selector of the objects ``stage`` applied (``aksmesh.istio.apply``'s ``prune.label_selector``):
    the collection's and the stage's label."""
    return "%s=%s,%s=%s" % (MANAGED_BY, MANAGER, STAGE, stage.name)


def preflight_tags(stage):
    """The tags of ``stage``'s pre-flight (its role's ``preflight`` entry point, which site.yml runs before any stage):
    its own tags and those of the stages it checks for; [] when it has none."""
    if stage.preflight is None:
        return []
    out = list(stage.tags)
    for name in stage.preflight:
        out.extend(tag for tag in get(name).tags if tag not in out)
    return out


def cleanup_parts():
    """The cleanup.yml parts of the stages (``aksmesh_cleanup_<part>``), in the registry's order, each once."""
    out = []
    for stage in STAGES:
        if stage.cleanup and stage.cleanup not in out:
            out.append(stage.cleanup)
    return out


def cleanup_tags(stage):
    """The tags that select ``stage`` in cleanup.yml: its site.yml tags and its cleanup part (``control_plane``)."""
    return list(stage.tags) + ([stage.cleanup] if stage.cleanup and stage.cleanup not in stage.tags else [])


def selected(stage, run_tags, skip_tags):
    """Whether ``--tags``/``--skip-tags`` (``ansible_run_tags``, ``ansible_skip_tags``) select ``stage``'s main entry
    point, as Ansible selects the tasks its include applies the stage's tags to: ``all`` (the default), ``tagged`` or
    one of its tags selects it, and ``always`` among them selects it whatever the tags, unless one of its tags (or
    ``always`` for an always-tagged stage) is skipped."""
    run, skip = set(run_tags or ["all"]), set(skip_tags or [])
    tags = set(stage.tags)
    if tags & skip:
        return False
    return bool(run & set(("all", "tagged")) or tags & run or "always" in tags)


def published(stage):
    """What the playbooks need of ``stage`` for a host (settings_mesh.stages, with the host's enabled and skipped):
    playbooks/tasks/stage.yml includes ``role``, and cleanup.yml removes it when ``aksmesh_cleanup_<cleanup>``
    (default ``cleanup_default``). The tags the stage runs under come with the loop (``loop``), the same for every
    host."""
    return {"name": stage.name, "role": stage.entry, "folder": folder(stage), "prune_kinds": prune_kinds(stage),
            "cleanup": stage.cleanup or "", "cleanup_default": stage.cleanup_default}


# the entry points of a stage's role the playbooks include: site.yml main (every stage, in order) and preflight
# (before any stage), cleanup.yml absent (the stages with a cleanup part, in reverse order)
ENTRY_POINTS = {
    "main": (lambda stage: True, lambda stage: list(stage.tags), False),
    "preflight": (lambda stage: stage.preflight is not None, preflight_tags, False),
    "absent": (lambda stage: bool(stage.cleanup), cleanup_tags, True),
}


def checked_by_preflight(stage):
    """Whether site.yml's pre-flight has checked ``stage``'s role variables against its ``main`` entry point's
    argument spec whenever the ``main`` entry runs: the pre-flight includes the same role (no dispatcher between)
    under exactly the stage's tags, and the role's ``preflight`` spec has the options of its ``main`` spec
    (tests/unit/plugins/plugin_utils/test_stages.py holds every such role to that). Its ``main`` include then skips
    the second check of the same variables (``rolespec_validate``)."""
    return stage.preflight == () and stage.entry == stage.roles[0]


def loop(entry, hosts_stages=None):
    """What a playbook loops over to include ``entry`` of each stage's role: ``[{name, tags, validate}]`` in the
    order they run (``validate``: whether the include checks the role's argument spec, see checked_by_preflight).
    The same list for every host: Ansible runs an include once for the hosts that share it, in the order it first
    met it, so a fleet whose hosts run different stages keeps the order (each host skips what it does not run).
    ``hosts_stages``, the ``settings_mesh.stages`` of every host of the play, leaves out the stages none of them runs
    (a skipped include costs a forked worker per host)."""
    if entry not in ENTRY_POINTS:
        raise StageError("%r is not an entry point the playbooks include: use one of %s"
                         % (entry, ", ".join(ENTRY_POINTS)))
    wanted, tags, reverse = ENTRY_POINTS[entry]
    running = None
    if hosts_stages is not None:
        try:
            running = set(name for table in hosts_stages for name, row in table.items() if row["enabled"])
        except (AttributeError, KeyError, TypeError):
            raise StageError("expected the settings_mesh.stages of each host of the play, got %r" % (hosts_stages,))
    rows = [{"name": stage.name, "tags": tags(stage),
             "validate": not (entry == "main" and checked_by_preflight(stage))} for stage in STAGES
            if wanted(stage) and (running is None or stage.name in running)]
    return rows[::-1] if reverse else rows
