# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes permissions of each stage: what the identity of a run needs, per stage and install method.

This file is private to the aksmesh.istio collection: its contents may change at any time.

One table (``RULES``) gives each stage of the stage registry (``_stages.py``) that talks to the cluster the RBAC rules
of what it reads and writes, per install method where the method changes them. The rest is derived from it:

- the ClusterRoles users bind (``cluster_roles``: one per stage, ``aksmesh-istio:<stage>``, and one per method where
  the method changes the rules, ``aksmesh-istio:<stage>:<method>``; ``aksmesh-istio:verify``, read only, for
  verify.yml), which ``playbooks/rbac.yml`` writes and docs/rbac.md lists;
- what the access stage checks before the first change (``needed``, published by the settings as
  ``settings_mesh.permissions`` for the stages that run for the host), each need naming its stage and the
  ClusterRole that grants it.

Three stages install other software's RBAC (the control plane, cert-manager, the addons): Kubernetes lets an
identity create a ClusterRole only with permissions it holds itself, or with the ``escalate`` verb, and bind one only
with ``bind``. Those stages' roles carry both verbs: whoever may run them may grant any permission, as whoever
installs Istio may (docs/rbac.md says so).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.aksmesh.istio.plugins.plugin_utils import _stages as stages

Rule = namedtuple("Rule", ["group", "resources", "verbs"])

READ = ("get", "list", "watch")
# server-side apply creates and patches; istioctl and helm also update
APPLY = READ + ("create", "patch", "update")
# and deletes: prune, cleanup.yml
OWN = APPLY + ("delete",)
RBAC_GRANT = ("escalate", "bind")

CORE, APPS, RBAC = "", "apps", "rbac.authorization.k8s.io"
ISTIO_GROUPS = ("networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io")
ROLE_PREFIX = "aksmesh-istio:"
VERIFY_ROLE = ROLE_PREFIX + "verify"


def _rbac_objects(verbs=OWN):
    """Installing other software's RBAC: its ClusterRoles and bindings, with escalate and bind (docstring above)."""
    return [Rule(RBAC, ("clusterroles", "clusterrolebindings", "roles", "rolebindings"), verbs + RBAC_GRANT)]


# the control plane, as istioctl installs it and helm installs Istio's charts: every kind of their manifests, the
# pods read for the readiness waits, and the revision tags (webhook configurations)
CONTROL_PLANE = [
    Rule(CORE, ("namespaces", "configmaps", "services", "serviceaccounts", "secrets"), OWN),
    Rule(CORE, ("pods", "endpoints", "events"), READ),
    Rule(APPS, ("deployments", "daemonsets"), OWN),
    Rule(APPS, ("replicasets",), READ),
    Rule("autoscaling", ("horizontalpodautoscalers",), OWN),
    Rule("policy", ("poddisruptionbudgets",), OWN),
    Rule("admissionregistration.k8s.io", ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"), OWN),
    Rule("apiextensions.k8s.io", ("customresourcedefinitions",), OWN),
    Rule("networking.istio.io", ("envoyfilters",), OWN),
] + _rbac_objects()

# what istioctl analyze and the mesh lint read of the live mesh (analyze stage), and the report's reads
ANALYSIS = [
    Rule(CORE, ("namespaces", "pods", "services", "endpoints", "configmaps", "secrets", "serviceaccounts", "nodes"),
         READ),
    Rule(APPS, ("deployments", "statefulsets", "daemonsets", "replicasets"), READ),
    Rule("discovery.k8s.io", ("endpointslices",), READ),
    Rule("admissionregistration.k8s.io", ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"), READ),
    Rule("apiextensions.k8s.io", ("customresourcedefinitions",), READ),
    Rule("gateway.networking.k8s.io", ("*",), READ),
] + [Rule(group, ("*",), READ) for group in ISTIO_GROUPS]

ISTIO_ROUTING = ("gateways", "virtualservices", "destinationrules")

# {stage: {method or None (every method): [Rule]}}; a stage that is not here needs nothing of the cluster
RULES = {
    "secrets": {None: [Rule(CORE, ("namespaces",), APPLY), Rule(CORE, ("secrets",), OWN)]},
    "istio": {
        "istioctl": CONTROL_PLANE,
        # the add-on's mesh ConfigMap (shared mesh config) in the add-on's namespace, the StaticGatewayConfiguration
        # of each add-on egress gateway (AKS's Static Egress Gateway), the namespace of the Gateway API ingress
        "aks_addon": [Rule(CORE, ("namespaces",), APPLY), Rule(CORE, ("configmaps",), OWN),
                      Rule(APPS, ("deployments",), READ),
                      Rule("egressgateway.kubernetes.azure.com", ("staticgatewayconfigurations",), OWN)],
    },
    # the Gateway API's CRDs and the ValidatingAdmissionPolicy of their standard channel (module_utils/_istio/
    # gateway_api.py KINDS); delete: cleanup removes the collection's own when asked
    "gateway-api": {None: [Rule("apiextensions.k8s.io", ("customresourcedefinitions",), OWN),
                           Rule("admissionregistration.k8s.io",
                                ("validatingadmissionpolicies", "validatingadmissionpolicybindings"), OWN)]},
    # Helm keeps each release in a Secret of its namespace (CONTROL_PLANE has them)
    "istio-helm": {None: CONTROL_PLANE},
    # the injection labels, and manual injection (kube_inject): the workloads it writes
    "injection": {None: [Rule(CORE, ("namespaces",), APPLY), Rule(CORE, ("configmaps",), READ),
                         Rule(APPS, ("deployments", "statefulsets", "daemonsets"), APPLY),
                         # the ambient namespaces' waypoints
                         Rule("gateway.networking.k8s.io", ("gateways",), OWN)]},
    "mtls": {None: [Rule("security.istio.io", ("peerauthentications",), OWN)]},
    # cert-manager's chart: its CRDs, webhooks, RBAC and controllers
    "cert-manager": {None: [
        Rule(CORE, ("namespaces", "configmaps", "services", "serviceaccounts", "secrets"), OWN),
        Rule(CORE, ("pods",), READ),
        Rule(APPS, ("deployments",), OWN),
        Rule("admissionregistration.k8s.io", ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"),
             OWN),
        Rule("apiextensions.k8s.io", ("customresourcedefinitions",), OWN),
    ] + _rbac_objects()},
    # the gateways' TLS certificates (the Secrets cert-manager writes are read: the pre-flight finds them)
    "certs": {None: [Rule("cert-manager.io", ("certificates", "issuers", "clusterissuers"), OWN),
                     Rule(CORE, ("secrets",), READ)]},
    "gateways": {None: [Rule("networking.istio.io", ISTIO_ROUTING, OWN), Rule(CORE, ("services",), READ),
                        # the Gateway API ingress (aksmesh_ingress_api gateway_api; pruned after a switch of API),
                        # and the ConfigMap of its Service's options (the source ranges)
                        Rule("gateway.networking.k8s.io", ("gateways", "httproutes", "referencegrants"), OWN),
                        Rule(CORE, ("configmaps",), OWN)]},
    "egress": {None: [Rule("networking.istio.io", ("serviceentries",) + ISTIO_ROUTING, OWN),
                      Rule(CORE, ("namespaces",), READ)]},
    "traffic": {None: [Rule("networking.istio.io", ("virtualservices", "destinationrules"), OWN)]},
    "authz": {None: [Rule("security.istio.io", ("authorizationpolicies",), OWN)]},
    "network-policies": {None: [Rule("networking.k8s.io", ("networkpolicies",), OWN), Rule(CORE, ("pods",), READ)]},
    # Prometheus, Grafana, Kiali, Jaeger (with their ClusterRoles) and the mesh-wide Telemetry; the rollout wait
    "addons": {None: [
        Rule(CORE, ("namespaces", "configmaps", "services", "serviceaccounts", "secrets"), OWN),
        Rule(CORE, ("pods",), READ),
        Rule(APPS, ("deployments",), OWN),
        Rule(APPS, ("replicasets",), READ),
        Rule("telemetry.istio.io", ("telemetries",), OWN),
    ] + _rbac_objects()},
    # Bookinfo and its gateway, routes and subsets; the ingress check reads the gateway's Service
    "sample": {None: [
        Rule(CORE, ("namespaces",), APPLY),
        Rule(CORE, ("services", "serviceaccounts"), OWN),
        Rule(CORE, ("pods",), READ),
        Rule(APPS, ("deployments",), OWN),
        Rule("networking.istio.io", ISTIO_ROUTING, OWN),
    ]},
    "analyze": {None: ANALYSIS},
}


def role_name(stage, method=None):
    """The ClusterRole of ``stage`` (for ``method`` where the method changes its rules)."""
    return ROLE_PREFIX + stage + (":" + method if method and method in RULES.get(stage, {}) else "")


def rules(stage, method):
    """The rules of ``stage`` under install method ``method`` ([] when it needs nothing of the cluster)."""
    table = RULES.get(stage, {})
    return list(table.get(method, table.get(None, [])))


def needed(stage_names, method):
    """What a run of ``stage_names`` (in run order) with ``method`` needs, as the access_review module takes it:
    one entry per rule, naming its stage and the ClusterRole that grants it."""
    out = []
    for name in stage_names:
        for rule in rules(name, method):
            out.append({"api_group": rule.group, "resources": list(rule.resources), "verbs": list(rule.verbs),
                        "stage": name, "cluster_role": role_name(name, method)})
    return out


def _cluster_role(name, rule_list, description):
    merged = []  # rules of one group and verbs joined (a shorter role to read)
    for rule in rule_list:
        for i, (group, resources, verbs) in enumerate(merged):
            if group == rule.group and verbs == list(rule.verbs):
                merged[i] = (group, resources + [r for r in rule.resources if r not in resources], verbs)
                break
        else:
            merged.append((rule.group, list(rule.resources), list(rule.verbs)))
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "aksmesh.istio"},
                         "annotations": {"aksmesh.io/description": description}},
            "rules": [{"apiGroups": [g], "resources": r, "verbs": v} for g, r, v in merged]}


def verify_rules():
    """Read only: the read verbs of every stage's rules, every method (verify.yml compares and analyzes)."""
    out = []
    for table in RULES.values():
        for rule_list in table.values():
            for rule in rule_list:
                out.append(Rule(rule.group, rule.resources, READ))
    return out


def cluster_roles(method):
    """The ClusterRoles of every stage that talks to the cluster under ``method``, and the verify role."""
    out = []
    for stage in stages.STAGES:
        if stage.methods and method not in stage.methods:
            continue
        rule_list = rules(stage.name, method)
        if rule_list:
            out.append(_cluster_role(role_name(stage.name, method), rule_list,
                                     "what the %s stage of aksmesh.istio needs (%s method)" % (stage.name, method)))
    out.append(_cluster_role(VERIFY_ROLE, verify_rules(),
                             "read only: verify.yml (check mode) and the drift report of every stage"))
    return out


SUBJECT_KINDS = ("User", "Group", "ServiceAccount")


class SubjectError(ValueError):
    """An RBAC subject the bindings cannot name."""


def _subjects(subjects, variable):
    out = []
    for i, subject in enumerate(subjects or []):
        where = "%s[%d]" % (variable, i)
        if not isinstance(subject, dict) or subject.get("kind") not in SUBJECT_KINDS or not subject.get("name"):
            raise SubjectError("%s: expected a mapping with kind (%s) and name, got %r"
                               % (where, ", ".join(SUBJECT_KINDS), subject))
        unknown = sorted(set(subject) - set(("kind", "name", "namespace")))
        if unknown:
            raise SubjectError("%s: unknown key %s: a subject has kind, name and (a ServiceAccount) namespace"
                               % (where, ", ".join(unknown)))
        if (subject["kind"] == "ServiceAccount") != bool(subject.get("namespace")):
            raise SubjectError("%s: a ServiceAccount subject needs its namespace, a User or Group has none" % where)
        entry = {"kind": subject["kind"], "name": subject["name"]}
        if subject["kind"] == "ServiceAccount":
            entry["namespace"] = subject["namespace"]
        else:
            entry["apiGroup"] = "rbac.authorization.k8s.io"
        out.append(entry)
    return out


def _binding(role, subjects):
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": role, "labels": {"app.kubernetes.io/managed-by": "aksmesh.istio"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": subjects}


def rbac_list(method, stage_names, subjects=None, verify_subjects=None):
    """A ``v1`` List (``kubectl apply -f`` takes it): the ClusterRoles of ``method`` and the verify role, and
    ClusterRoleBindings of the roles of ``stage_names`` to ``subjects`` and of the verify role to
    ``verify_subjects`` (each omitted when empty)."""
    items = cluster_roles(method)
    run_subjects = _subjects(subjects, "aksmesh_rbac_subjects")
    check_subjects = _subjects(verify_subjects, "aksmesh_rbac_verify_subjects")
    if run_subjects:
        items += [_binding(role_name(name, method), run_subjects) for name in stage_names if rules(name, method)]
    if check_subjects:
        items.append(_binding(VERIFY_ROLE, check_subjects))
    return {"apiVersion": "v1", "kind": "List", "items": items}
