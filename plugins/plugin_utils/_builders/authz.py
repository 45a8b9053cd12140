# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Access control between services: Istio AuthorizationPolicies from variables.

This file is private to the aksmesh.istio collection: its contents may change at any time.

- A default-deny namespace gets the AuthorizationPolicy ``default-deny`` with an empty spec: ALLOW with no rule,
  so every request to its workloads is refused unless another ALLOW policy matches (Istio's "allow-nothing").
- Each policy entry becomes one AuthorizationPolicy: a selector, an action (ALLOW or DENY) and rules, each rule
  ``{from, to, when}`` with sources by principal (``<namespace>/<service account>`` is short for
  ``<trust domain>/ns/<namespace>/sa/<service account>``) or namespace, and operations by method, path, port, host.
- In a default-deny namespace the ingress gateway may reach the services the gateways' VirtualServices route to:
  ``allow-ingress-gateway`` lets the gateway workloads' service accounts (their mTLS principals, from the install
  method's topology) in, for the whole namespace or, with a workload label, per routed service.
- Dry run: the annotation ``istio.io/dry-run: "true"`` (per policy, per default-deny namespace, or for all) makes
  istiod log what the policy would decide without enforcing it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import (
    MeshConfigError, name_of, obj, require)

API_VERSION = "security.istio.io/v1"
KIND = "AuthorizationPolicy"
GROUP = "security.istio.io"
DRY_RUN = "istio.io/dry-run"
DEFAULT_DENY = "default-deny"
INGRESS = "allow-ingress-gateway"
ACTIONS = ("ALLOW", "DENY")
SOURCE_KEYS = {"principals": "principals", "namespaces": "namespaces", "not_principals": "notPrincipals",
               "not_namespaces": "notNamespaces", "ip_blocks": "ipBlocks"}
OPERATION_KEYS = {"methods": "methods", "paths": "paths", "ports": "ports", "hosts": "hosts",
                  "not_methods": "notMethods", "not_paths": "notPaths", "not_ports": "notPorts"}
POLICY_KEYS = ("name", "namespace", "selector", "target_refs", "action", "rules", "dry_run")
# what an ambient policy attaches to (targetRefs): its namespace's waypoint, or Services that use it
TARGET_KINDS = {"Gateway": "gateway.networking.k8s.io", "Service": ""}
SHORT_PRINCIPAL = re.compile(r"^(?:ns/)?([^/*]+)/(?:sa/)?([^/*]+)$")
FULL_PRINCIPAL = re.compile(r"^[^/]+/ns/([^/]+)/sa/[^/]+$")
SERVICE_HOST = re.compile(r"^([^.]+)\.([^.]+)\.svc\.cluster\.local$")


def principal(value, trust_domain, where):
    """``ns/sa`` (or ``ns/<ns>/sa/<sa>``) -> ``<trust domain>/ns/<ns>/sa/<sa>``; a full principal or a glob as is."""
    if not isinstance(value, str) or not value:
        raise MeshConfigError("policies", "%s: principal %r is not a string" % (where, value))
    if "*" in value or FULL_PRINCIPAL.match(value):
        return value
    short = SHORT_PRINCIPAL.match(value)
    if not short:
        raise MeshConfigError("policies", "%s: principal %r: give <namespace>/<service account>, "
                                          "<trust domain>/ns/<namespace>/sa/<service account> or a glob" % (
                                              where, value))
    return "%s/ns/%s/sa/%s" % (trust_domain, short.group(1), short.group(2))


def _strings(values, field, where):
    if not isinstance(values, list) or not values:
        raise MeshConfigError("policies", "%s: %s must be a non-empty list" % (where, field))
    return [str(v) for v in values]


def _clause(given, keys, kind, where, convert):
    """One source or operation of a rule: the shorthand keys to Istio's field names."""
    if not isinstance(given, dict) or not given:
        raise MeshConfigError("policies", "%s: each %s entry is a mapping of %s" % (where, kind, ", ".join(keys)))
    unknown = sorted(set(given) - set(keys))
    if unknown:
        raise MeshConfigError("policies", "%s: %s key(s) %s: use %s" % (
            where, kind, ", ".join(unknown), ", ".join(keys)))
    return dict((keys[k], convert(k, _strings(given[k], "%s.%s" % (kind, k), where))) for k in keys if k in given)


def _rule(rule, trust_domain, where):
    if not isinstance(rule, dict):
        raise MeshConfigError("policies", "%s: a rule is a mapping of from, to and when, got %r" % (where, rule))
    unknown = sorted(set(rule) - {"from", "to", "when"})
    if unknown:
        raise MeshConfigError("policies", "%s: rule key(s) %s: use from, to and when" % (where, ", ".join(unknown)))

    def source(key, values):
        if key in ("principals", "not_principals"):
            return [principal(v, trust_domain, where) for v in values]
        return values

    def operation(key, values):
        if key in ("methods", "not_methods"):
            return [v.upper() for v in values]
        for value in values if key in ("ports", "not_ports") else []:
            if not value.isdigit() or not 0 < int(value) < 65536:
                raise MeshConfigError("policies", "%s: port %r is not a port number (1-65535)" % (where, value))
        for value in values if key in ("paths", "not_paths") else []:
            if not (value.startswith("/") or value.startswith("*")):
                raise MeshConfigError("policies", "%s: path %r must start with / (or * for a suffix match)" % (
                    where, value))
        return values

    out = {}
    for key, kind, keys, convert in (("from", "source", SOURCE_KEYS, source),
                                     ("to", "operation", OPERATION_KEYS, operation)):
        if rule.get(key) is None:
            continue
        items = rule[key] if isinstance(rule[key], list) else [rule[key]]
        out[key] = [{kind: _clause(item, keys, key, where, convert)} for item in items]
    if rule.get("when") is not None:
        if not isinstance(rule["when"], list):
            raise MeshConfigError("policies", "%s: when is a list of Istio conditions ({key, values})" % where)
        out["when"] = rule["when"]
    return out


def _policy(name, namespace, spec, dry_run):
    out = obj(API_VERSION, KIND, name, namespace, spec)
    if dry_run:
        out["metadata"]["annotations"] = {DRY_RUN: "true"}
    return out


def user_policy(entry, trust_domain, dry_run):
    require(entry, ["name", "namespace"], "policies", "policy %s" % entry.get("name"))
    where = "policy %s/%s" % (entry["namespace"], entry["name"])
    name_of("policies", where, "Namespace", entry["namespace"])
    name_of("policies", where, KIND, entry["name"], GROUP)
    unknown = sorted(set(entry) - set(POLICY_KEYS))
    if unknown:
        raise MeshConfigError("policies", "%s: unknown key(s) %s: use %s" % (
            where, ", ".join(unknown), ", ".join(POLICY_KEYS)))
    action = str(entry.get("action") or "ALLOW").upper()
    if action not in ACTIONS:
        raise MeshConfigError("policies", "%s: action %s: use ALLOW or DENY" % (where, entry.get("action")))
    rules = entry.get("rules")
    if not isinstance(rules, list) or not rules:
        raise MeshConfigError("policies", "%s: give at least one rule: %s" % (where, (
            "an ALLOW policy without rules allows nothing (list the namespace in O(default_deny_namespaces) for "
            "that)" if action == "ALLOW" else "a DENY policy without rules denies nothing")))
    spec = {}
    selector = entry.get("selector")
    if selector:
        if not isinstance(selector, dict):
            raise MeshConfigError("policies", "%s: selector is a mapping of pod labels" % where)
        spec["selector"] = {"matchLabels": dict((str(k), str(v)) for k, v in selector.items())}
    if entry.get("target_refs"):
        if selector:
            raise MeshConfigError("policies", "%s: selector and target_refs: a policy selects pods or attaches to "
                                              "targets (a waypoint, Services), not both" % where)
        spec["targetRefs"] = [_target_ref(ref, where) for ref in entry["target_refs"]]
    spec["action"] = action
    spec["rules"] = [_rule(rule, trust_domain, where) for rule in rules]
    return _policy(entry["name"], entry["namespace"], spec, dry_run or bool(entry.get("dry_run")))


def _target_ref(ref, where):
    """One targetRef {kind, name} (the group follows from the kind): an ambient namespace's waypoint (Gateway) or a
    Service that uses one."""
    if not isinstance(ref, dict) or ref.get("kind") not in TARGET_KINDS or not ref.get("name"):
        raise MeshConfigError("policies", "%s: target_refs entry %r: give kind (%s) and name" % (
            where, ref, " or ".join(sorted(TARGET_KINDS))))
    return {"group": TARGET_KINDS[ref["kind"]], "kind": ref["kind"], "name": str(ref["name"])}


def _deny_entries(given, root_namespace, gateway_namespaces):
    """{namespace: dry run} from the default-deny list (names, or {namespace, dry_run})."""
    out = {}
    for index, item in enumerate(given or []):
        entry = item if isinstance(item, dict) else {"namespace": item}
        require(entry, ["namespace"], "default_deny_namespaces", "entry %d" % index)
        ns = name_of("default_deny_namespaces", "entry %d" % index, "Namespace", entry["namespace"])
        unknown = sorted(set(entry) - {"namespace", "dry_run"})
        if unknown:
            raise MeshConfigError("default_deny_namespaces", "entry %d: unknown key(s) %s: use namespace and dry_run"
                                  % (index, ", ".join(unknown)))
        if ns == root_namespace:
            raise MeshConfigError("default_deny_namespaces", "%s is the Istio root namespace: a policy there is "
                                                             "mesh-wide and would refuse every request, the ingress "
                                                             "gateway's too; list the application namespaces instead"
                                  % ns)
        if ns in gateway_namespaces:
            raise MeshConfigError("default_deny_namespaces", "%s runs a gateway: a default deny there refuses the "
                                                             "gateway's own clients; list the application namespaces "
                                                             "the gateway routes to instead" % ns)
        out[ns] = bool(entry.get("dry_run"))
    return out


def ingress_policies(denied, gateway_routes, gateway_workloads, trust_domain, workload_label, dry_run):
    """``allow-ingress-gateway`` (or ``allow-ingress-<service>`` with a workload label) in each default-deny
    namespace a gateway's VirtualServices route to, letting that gateway's service accounts in."""
    ingress = [w for w in gateway_workloads or [] if (w.get("role") or "ingress") == "ingress"]
    wanted = {}  # namespace -> {service: set of gateway namespaces}
    for host, gateway_namespaces in sorted((gateway_routes or {}).items()):
        match = SERVICE_HOST.match(host)
        if not match or match.group(2) not in denied:
            continue  # outside the mesh, or a namespace that allows everything anyway
        wanted.setdefault(match.group(2), {}).setdefault(match.group(1), set()).update(gateway_namespaces or [])
    out = []
    for ns, services in sorted(wanted.items()):
        groups = sorted(services.items()) if workload_label else [(None, set().union(*services.values()))]
        for svc, gateway_namespaces in groups:
            principals = sorted(set("%s/ns/%s/sa/%s" % (trust_domain, w["namespace"], w["service_account"])
                                    for w in ingress if w.get("namespace") in gateway_namespaces
                                    and w.get("service_account")))
            known = set(w.get("namespace") for w in ingress if w.get("service_account"))
            # a gateway namespace without a known workload (a Gateway of your own): allow the namespace
            others = sorted(n for n in gateway_namespaces if n not in known)
            sources = ([{"source": {"principals": principals}}] if principals else []) + (
                [{"source": {"namespaces": others}}] if others else [])
            if not sources:
                continue
            spec = {}
            if svc:
                spec["selector"] = {"matchLabels": {workload_label: svc}}
            spec.update(action="ALLOW", rules=[{"from": sources}])
            out.append(_policy("allow-ingress-%s" % svc if svc else INGRESS, ns, spec, dry_run or denied[ns]))
    return out


def authorization_policies(policies, default_deny_namespaces, allow_ingress, ingress_workload_label, gateway_routes,
                           gateway_workloads, root_namespace, trust_domain, dry_run):
    """The AuthorizationPolicies: default deny per namespace, the ingress gateway's way in, then ``policies``."""
    if not trust_domain or "/" in trust_domain:
        raise MeshConfigError("trust_domain", "%r is not a trust domain (cluster.local unless the mesh sets "
                                              "meshConfig.trustDomain)" % trust_domain)
    gateway_namespaces = set(w.get("namespace") for w in gateway_workloads or [])
    denied = _deny_entries(default_deny_namespaces, root_namespace, gateway_namespaces)
    out = [_policy(DEFAULT_DENY, ns, {}, dry_run or denied[ns]) for ns in sorted(denied)]
    if allow_ingress:
        out += ingress_policies(denied, gateway_routes, gateway_workloads, trust_domain, ingress_workload_label,
                                dry_run)
    out += [user_policy(entry, trust_domain, dry_run) for entry in policies or []]
    seen = {}
    for policy in out:
        key = (policy["metadata"]["namespace"], policy["metadata"]["name"])
        if key in seen:
            raise MeshConfigError("policies", "two policies are named %s/%s%s: give each its own name" % (
                key[0], key[1], "" if key[1] not in (DEFAULT_DENY, INGRESS) and not key[1].startswith(
                    "allow-ingress-") else " (a name the role gives its own policies)"))
        seen[key] = policy
    return out
