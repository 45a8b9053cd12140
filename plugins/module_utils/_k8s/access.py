# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The access_review module's program: may the run's identity do what its stages need? Asked before any stage
changes anything, so a missing permission fails the run before its first write instead of in the middle of it.

This file is private to the aksmesh.istio collection: its contents may change at any time.

One SelfSubjectRulesReview reads the identity's rules (RBAC's, which is what the test cluster and an AKS cluster
with Kubernetes RBAC have); what they do not cover, and everything when the review is incomplete (a webhook
authorizer such as Azure RBAC for Kubernetes), is asked one SelfSubjectAccessReview each. Neither creates anything.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors, names
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import connect
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError, RestClient

READ_VERBS = ("get", "list", "watch")
REVIEWS = "/apis/authorization.k8s.io/v1/"
PARALLEL = 8


def argument_spec():
    """The access_review module's options (plugins/modules/access_review.py documents them)."""
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(
        rules=dict(type="list", elements="dict", required=True, options=dict(
            api_group=dict(type="str", required=True),
            resources=dict(type="list", elements="str", required=True),
            verbs=dict(type="list", elements="str", required=True),
            stage=dict(type="str", default=""),
            cluster_role=dict(type="str", default=""),
        )),
        namespace=dict(type="str", default="default"),
        read_only=dict(type="bool"),
    )
    return spec


def needs(rules, read_only):
    """[(verb, group, resource, [(stage, cluster_role)])] in the rules' order, each once."""
    out, index = [], {}
    for rule in rules:
        for resource in rule["resources"]:
            for verb in rule["verbs"]:
                if read_only and verb not in READ_VERBS:
                    continue
                key = (verb, rule["api_group"], resource)
                if key not in index:
                    index[key] = len(out)
                    out.append((verb, rule["api_group"], resource, []))
                who = (rule["stage"], rule["cluster_role"])
                if who not in out[index[key]][3]:
                    out[index[key]][3].append(who)
    return out


def _matches(allowed, wanted):
    return "*" in allowed or wanted in allowed


def covered(need, resource_rules):
    """Whether ``need`` (verb, group, resource) is granted by one of the rules a SelfSubjectRulesReview returned (a
    rule limited to resource names grants no LIST or create of the kind: it does not count)."""
    verb, group, resource = need[:3]
    for rule in resource_rules:
        if rule.get("resourceNames"):
            continue
        if (_matches(rule.get("verbs") or [], verb) and _matches(rule.get("apiGroups") or [], group)
                and _matches(rule.get("resources") or [], resource)):
            return True
    return False


def _access_review(rest, need):
    verb, group, resource = need[:3]
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "group": group, "resource": resource}}}
    answer = rest.request("POST", REVIEWS + "selfsubjectaccessreviews", body=body)
    return bool(((answer or {}).get("status") or {}).get("allowed"))


def review(rest, wanted, namespace):
    """(denied needs, how they were asked: ``rules review`` and/or the number of access reviews)."""
    how = []
    try:
        answer = rest.request("POST", REVIEWS + "selfsubjectrulesreviews", body={
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
            "spec": {"namespace": namespace}}) or {}
        status = answer.get("status") or {}
        resource_rules, complete = status.get("resourceRules") or [], not status.get("incomplete")
        how.append("rules review")
    except K8sApiError as exc:
        if exc.status not in (403, 404):
            raise
        resource_rules, complete = [], False
    rest_of = [need for need in wanted if not covered(need, resource_rules)]
    if complete or not rest_of:
        return rest_of, how
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(rest_of))) as pool:
        allowed = list(pool.map(lambda need: _access_review(rest, need), rest_of))
    how.append("%d access reviews" % len(rest_of))
    return [need for need, ok in zip(rest_of, allowed) if not ok], how


def describe(denied, most=6):
    """The denied needs, grouped by the ClusterRole that grants them: ``aksmesh-istio:mtls (stage mtls): create,
    patch peerauthentications.security.istio.io``; at most ``most`` kinds per role, then how many more."""
    groups = {}
    for verb, group, resource, who in denied:
        key = tuple(sorted(set(who)))
        kinds = groups.setdefault(key, {})
        kinds.setdefault(resource + ("." + group if group else ""), []).append(verb)
    parts = []
    for who, kinds in groups.items():
        roles = ", ".join(sorted(set(role for _stage, role in who if role))) or "a role that grants it"
        stages = ", ".join(sorted(set(stage for stage, _role in who if stage)))
        shown = ["%s %s" % ("/".join(verbs), kind) for kind, verbs in list(kinds.items())[:most]]
        if len(kinds) > most:
            shown.append("%d more kind%s" % (len(kinds) - most, "" if len(kinds) - most == 1 else "s"))
        parts.append("%s%s: %s" % (roles, " (stage %s)" % stages if stages else "", ", ".join(shown)))
    return "; ".join(parts)


def run(module):
    """The access_review module: its checks, then the reviews on the module's connection."""
    params = module.params
    names.require(module, [("Namespace", params["namespace"], "namespace")])
    for i, rule in enumerate(params["rules"]):
        for field in ("resources", "verbs"):
            if not rule[field] or not all(rule[field]):
                module.fail_json(msg="rules[%d].%s: is empty or holds an empty name: list the %s the rule needs"
                                 % (i, field, field))
    read_only = module.check_mode if params["read_only"] is None else params["read_only"]
    wanted = needs(params["rules"], read_only)
    rest = RestClient(connect(module), timeout=params["request_timeout"])

    def work():
        denied, how = review(rest, wanted, params["namespace"])
        result = dict(changed=False, checked=len(wanted), read_only=read_only, asked=how,
                      denied=[{"verb": d[0], "api_group": d[1], "resource": d[2],
                               "stages": sorted(set(s for s, r in d[3] if s)),
                               "cluster_roles": sorted(set(r for s, r in d[3] if r))} for d in denied])
        if denied:
            roles = sorted(set(r for d in denied for s, r in d[3] if r))
            result["msg"] = (
                "the identity of this run lacks %d permission%s of the stages that run - %s. Nothing was changed. "
                "Fix: bind the ClusterRole%s %s to it (ansible-playbook aksmesh.istio.rbac writes them; docs/rbac.md), "
                "or turn those stages off" % (len(denied), "" if len(denied) == 1 else "s", describe(denied),
                                              "s" if len(roles) > 1 else "", ", ".join(roles) or "that grants them"))
            module.fail_json(**result)
        return result
    errors.run(module, work, what="reviewing the run's permissions failed")
