# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Traffic patterns as data: retries, mirroring, weighted and header/cookie canaries, load balancing,
circuit breaking and fault injection, rendered as one VirtualService + one DestinationRule per service.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import (
    MeshConfigError, destination_rule_export, obj, require)

SIMPLE_LB = ("ROUND_ROBIN", "RANDOM", "LEAST_REQUEST", "PASSTHROUGH")
OPTION = "services"  # every error here is about an entry of the services option


def _dest(host, subset, port):
    dest = {"host": host}
    if subset:
        dest["subset"] = subset
    if port:
        dest["port"] = {"number": int(port)}
    return dest


def _match(canary, where):
    if canary.get("header"):
        header = canary["header"]
        require(header, ["name"], OPTION, where + " canary.header")
        cond = dict((k, header[k]) for k in ("exact", "prefix", "regex") if header.get(k) is not None)
        if not cond:
            raise MeshConfigError(OPTION, "%s: canary.header needs exact, prefix or regex" % where)
        return [{"headers": {header["name"]: cond}}]
    cookie = canary["cookie"]
    require(cookie, ["name"], OPTION, where + " canary.cookie")
    value = cookie.get("value")
    # a Cookie header separates cookies with "; " (RFC 6265 5.4): the space is optional in the match, or every
    # cookie after the first is missed (a browser with another cookie never reaches the canary)
    regex = cookie.get("regex") or "^(.*?; ?)?(%s=%s)(;.*)?$" % (
        re.escape(str(cookie["name"])), re.escape(str(value)) if value is not None else ".*")
    return [{"headers": {"cookie": {"regex": regex}}}]


def load_balancer(spec, where):
    if spec in (None, ""):
        return None
    if isinstance(spec, str):
        if spec.upper() not in SIMPLE_LB:
            raise MeshConfigError(OPTION, "%s: load_balancer %s; use %s or consistent_hash" % (where, spec, ", ".join(
                SIMPLE_LB)))
        return {"simple": spec.upper()}
    ch = (spec or {}).get("consistent_hash")
    if not ch:
        raise MeshConfigError(OPTION, "%s: load_balancer must be a name or {consistent_hash: {...}}" % where)
    if ch.get("header"):
        return {"consistentHash": {"httpHeaderName": ch["header"]}}
    if ch.get("cookie"):
        cookie = ch["cookie"] if isinstance(ch["cookie"], dict) else {"name": ch["cookie"]}
        return {"consistentHash": {"httpCookie": {"name": cookie["name"], "ttl": cookie.get("ttl", "0s")}}}
    if ch.get("source_ip"):
        return {"consistentHash": {"useSourceIp": True}}
    raise MeshConfigError(OPTION, "%s: consistent_hash needs header, cookie or source_ip" % where)


def circuit_breaker(cb):
    if not cb:
        return {}
    pool = {}
    tcp = dict((k2, cb[k1]) for k1, k2 in (("max_connections", "maxConnections"),
                                           ("connect_timeout", "connectTimeout")) if cb.get(k1) is not None)
    http = dict((k2, cb[k1]) for k1, k2 in (("http1_max_pending_requests", "http1MaxPendingRequests"),
                                            ("http2_max_requests", "http2MaxRequests"),
                                            ("max_requests_per_connection", "maxRequestsPerConnection"),
                                            ("max_retries", "maxRetries")) if cb.get(k1) is not None)
    if tcp:
        pool["tcp"] = tcp
    if http:
        pool["http"] = http
    outlier = dict((k2, cb[k1]) for k1, k2 in (("consecutive_5xx_errors", "consecutive5xxErrors"),
                                               ("consecutive_gateway_errors", "consecutiveGatewayErrors"),
                                               ("interval", "interval"), ("base_ejection_time", "baseEjectionTime"),
                                               ("max_ejection_percent", "maxEjectionPercent"))
                   if cb.get(k1) is not None)
    out = {}
    if pool:
        out["connectionPool"] = pool
    if outlier:
        out["outlierDetection"] = outlier
    return out


def _fault(fault, where):
    out = {}
    if fault.get("delay"):
        d = fault["delay"]
        require(d, ["fixed"], OPTION, where + " fault.delay")
        out["delay"] = {"fixedDelay": d["fixed"], "percentage": {"value": float(d.get("percentage", 100))}}
    if fault.get("abort"):
        a = fault["abort"]
        require(a, ["http_status"], OPTION, where + " fault.abort")
        out["abort"] = {"httpStatus": int(a["http_status"]), "percentage": {"value": float(a.get("percentage", 100))}}
    return out


# what a route carries besides its match and destinations: at the service, every route of it; in a header or
# cookie canary, its matched route only (Istio's "fault for user jason" task)
ROUTE_POLICY = ("retries", "timeout", "mirror", "fault")


def _route_policy(spec, host, known, where):
    out = {}
    if spec.get("retries"):
        r = spec["retries"]
        out["retries"] = dict((k2, r[k1]) for k1, k2 in (("attempts", "attempts"), ("per_try_timeout", "perTryTimeout"),
                                                         ("retry_on", "retryOn")) if r.get(k1) is not None)
    if spec.get("timeout"):
        out["timeout"] = spec["timeout"]
    if spec.get("mirror"):
        m = spec["mirror"]
        out["mirror"] = _dest(m.get("host") or host, known(m.get("subset")), m.get("port"))
        out["mirrorPercentage"] = {"value": float(m.get("percentage", 100))}
    if spec.get("fault"):
        out["fault"] = _fault(spec["fault"], where)
    return out


def service_manifests(svc, gateway_routes=None):
    require(svc, ["name", "namespace"], OPTION, "service %s" % svc.get("name"))
    where = "service %s/%s" % (svc["namespace"], svc["name"])
    host = svc.get("host") or svc["name"]
    port = svc.get("port")
    subsets = svc.get("subsets") or []
    canary = svc.get("canary") or {}

    def known(subset):
        if subset and subset not in subsets:
            raise MeshConfigError(OPTION, "%s: subset %s is not in subsets %s" % (where, subset, subsets))
        return subset

    default_subset = known(svc.get("default_subset") or (subsets[0] if subsets else None))
    common = _route_policy(svc, host, known, where)
    routes = []
    if canary.get("weights"):
        attached = sorted(k for k in ROUTE_POLICY if canary.get(k))
        if attached:
            raise MeshConfigError(OPTION, "%s: canary.%s needs a header or cookie match (a weighted canary is one "
                                          "route: give it at the service instead)" % (where, attached[0]))
        weights = canary["weights"]
        if sum(int(w) for w in weights.values()) != 100:
            raise MeshConfigError(OPTION, "%s: canary weights %s must add up to 100" % (where, weights))
        route = dict(common, route=[dict(destination=_dest(host, known(s), port), weight=int(w))
                                    for s, w in sorted(weights.items())])
        routes.append(route)
    else:
        if canary:
            require(canary, ["subset"], OPTION, where + " canary")
            matched = dict(common, **_route_policy(canary, host, known, where + " canary"))
            routes.append(dict(matched, match=_match(canary, where),
                               route=[{"destination": _dest(host, known(canary["subset"]), port)}]))
        routes.append(dict(common, route=[{"destination": _dest(host, default_subset, port)}]))
    vs = obj("networking.istio.io/v1", "VirtualService", svc["name"], svc["namespace"],
             {"hosts": [host], "exportTo": ["."], "http": routes})
    policy = {}
    lb = load_balancer(svc.get("load_balancer"), where)
    if lb:
        policy["loadBalancer"] = lb
    policy.update(circuit_breaker(svc.get("circuit_breaker")))
    if svc.get("tls_mode"):
        policy["tls"] = {"mode": svc["tls_mode"]}
    dr_spec = {"host": host, "exportTo": destination_rule_export(OPTION, where, host, svc["namespace"],
                                                                 svc.get("export_to"), gateway_routes)}
    if subsets:
        dr_spec["subsets"] = [{"name": s, "labels": {"version": s}} for s in subsets]
    if policy:
        dr_spec["trafficPolicy"] = policy
    out = [vs]
    if subsets or policy:
        out.append(obj("networking.istio.io/v1", "DestinationRule", svc["name"], svc["namespace"],
                       dr_spec))
    return out


def traffic_manifests(services, gateway_routes):
    """A VirtualService (and a DestinationRule when needed) per entry of ``services``; ``gateway_routes`` (host
    FQDN to the gateway namespaces routing to it) widens the DestinationRules' exportTo."""
    out = []
    for svc in services or []:
        out += service_manifests(svc, gateway_routes)
    return out
