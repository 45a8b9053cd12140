# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Traffic patterns as data: retries, mirroring, weighted and header/cookie canaries, ordered routes with their own
policy, header manipulation, load balancing, circuit breaking and fault injection, rendered per service as one
VirtualService (when the service asks for routing) and one DestinationRule (when it has subsets or a policy).

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import (
    MeshConfigError, destination_rule_export, obj)

SIMPLE_LB = ("ROUND_ROBIN", "RANDOM", "LEAST_REQUEST", "PASSTHROUGH")
OPTION = "services"  # every error here is about an entry of the services option
# what a route carries besides its match and destinations: at the service, every route of it; in a canary with a
# header or cookie match, or in an entry of routes, that route only (Istio's "fault for user jason" task)
ROUTE_POLICY = ("retries", "timeout", "mirror", "fault", "headers")
# the keys of an entry of services, of its canary, of an entry of its routes and of a route's match
SERVICE_KEYS = ("name", "namespace", "host", "port", "subsets", "default_subset", "canary", "routes", "load_balancer",
                "circuit_breaker", "tls_mode", "export_to") + ROUTE_POLICY
CANARY_KEYS = ("header", "cookie", "subset", "weights") + ROUTE_POLICY
ROUTE_KEYS = ("match", "subset", "weights") + ROUTE_POLICY
MATCH_KEYS = ("header", "cookie", "uri")
STRING_MATCH = ("exact", "prefix", "regex")
# what asks for a VirtualService: without any of these a service is its DestinationRule alone (subsets given for
# tls_mode or load balancing do not pin its traffic to one version)
ROUTING = ("canary", "routes", "default_subset") + ROUTE_POLICY
HEADER_SIDES = ("request", "response")
HEADER_OPERATIONS = ("set", "add", "remove")


class _At(object):
    """Where in ``services`` a value is: ``at("canary", "weights")`` -> ``[0].canary.weights (service shop/web)``,
    which the stage filter prints after the role variable's name."""

    def __init__(self, index, service=None, path=""):
        self.index = index
        self.service = service
        self.path = path

    def child(self, *parts):
        return _At(self.index, self.service, self.path + "".join(
            "[%d]" % p if isinstance(p, int) else "." + p for p in parts))

    def __call__(self, *parts):
        at = self.child(*parts)
        out = "[%d]%s" % (at.index, at.path)
        return out + (" (service %s)" % at.service if at.service else "")

    def fail(self, message, *parts):
        raise MeshConfigError(OPTION, "%s: %s" % (self(*parts), message))


def _mapping(value, at, keys, what):
    """``value`` is a mapping of ``keys`` only."""
    if not isinstance(value, dict):
        at.fail("%s is a mapping of %s, got %r" % (what, ", ".join(keys), value))
    unknown = sorted(str(k) for k in value if k not in keys)
    if unknown:
        at.fail("unknown key(s) %s: use %s" % (", ".join(unknown), ", ".join(keys)))
    return value


def _dest(host, subset, port):
    dest = {"host": host}
    if subset:
        dest["subset"] = subset
    if port:
        dest["port"] = {"number": int(port)}
    return dest


def _string_match(spec, at, what):
    _mapping(spec, at, ("name",) + STRING_MATCH if what != "uri" else STRING_MATCH, what)
    cond = dict((k, spec[k]) for k in STRING_MATCH if spec.get(k) is not None)
    if len(cond) != 1:
        at.fail("give one of exact, prefix or regex")
    return cond


def _cookie_regex(cookie, at):
    _mapping(cookie, at, ("name", "value", "regex"), "cookie")
    if cookie.get("regex"):
        return cookie["regex"]
    if cookie.get("name") in (None, ""):
        at.fail("missing name (the cookie's name; value, or regex for the whole Cookie header)")
    value = cookie.get("value")
    # a Cookie header separates cookies with "; " (RFC 6265 5.4): the space is optional in the match, or every
    # cookie after the first is missed (a browser with another cookie never reaches the canary)
    return "^(.*?; ?)?(%s=%s)(;.*)?$" % (
        re.escape(str(cookie["name"])), re.escape(str(value)) if value is not None else ".*")


def _match(spec, at):
    """One Istio HTTPMatchRequest from ``{header, cookie, uri}`` (all given must hold)."""
    out = {}
    headers = {}
    if spec.get("header") is not None:
        header = spec["header"]
        cond = _string_match(header, at.child("header"), "header")
        if header.get("name") in (None, ""):
            at.fail("missing name (the request header to match)", "header")
        headers[header["name"]] = cond
    if spec.get("cookie") is not None:
        if "cookie" in [str(h).lower() for h in headers]:
            at.fail("header matches the Cookie header already: give header or cookie", "cookie")
        headers["cookie"] = {"regex": _cookie_regex(spec["cookie"], at.child("cookie"))}
    if headers:
        out["headers"] = headers
    if spec.get("uri") is not None:
        out["uri"] = _string_match(spec["uri"], at.child("uri"), "uri")
    return [out]


def _weights(weights, at, known):
    if not isinstance(weights, dict) or not weights:
        at.fail("give a mapping of subset to percentage, such as {v1: 90, v2: 10}")
    out = []
    for subset, weight in sorted(weights.items()):
        try:
            weight = int(weight)
        except (TypeError, ValueError):
            weight = -1
        if weight < 0 or weight > 100:
            at.fail("%s: %r is not a percentage (0-100)" % (subset, weights[subset]))
        out.append((known(subset, at), weight))
    if sum(w for _s, w in out) != 100:
        at.fail("%s add up to %d; they must add up to 100" % (weights, sum(w for _s, w in out)))
    return out


def _destinations(spec, at, host, port, known, default_subset):
    """The route's destinations: its subset, its weighted subsets, or (neither) the service's default."""
    if spec.get("weights") and spec.get("subset"):
        at.fail("give subset (one version) or weights (a split), not both", "weights")
    if spec.get("weights"):
        return [dict(destination=_dest(host, subset, port), weight=weight)
                for subset, weight in _weights(spec["weights"], at.child("weights"), known)]
    subset = known(spec["subset"], at.child("subset")) if spec.get("subset") else default_subset
    return [{"destination": _dest(host, subset, port)}]


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


def _fault(fault, at):
    _mapping(fault, at, ("delay", "abort"), "fault")
    out = {}
    if fault.get("delay"):
        d = _mapping(fault["delay"], at.child("delay"), ("fixed", "percentage"), "delay")
        if not d.get("fixed"):
            at.fail("missing fixed (the delay, such as 5s)", "delay")
        out["delay"] = {"fixedDelay": d["fixed"], "percentage": {"value": float(d.get("percentage", 100))}}
    if fault.get("abort"):
        a = _mapping(fault["abort"], at.child("abort"), ("http_status", "percentage"), "abort")
        if not a.get("http_status"):
            at.fail("missing http_status (the status to answer, such as 503)", "abort")
        out["abort"] = {"httpStatus": int(a["http_status"]), "percentage": {"value": float(a.get("percentage", 100))}}
    if not out:
        at.fail("give delay, abort or both")
    return out


def _headers(spec, at):
    """Istio's Headers: ``{request, response}``, each ``{set, add, remove}``."""
    _mapping(spec, at, HEADER_SIDES, "headers")
    out = {}
    for side in HEADER_SIDES:
        if not spec.get(side):
            continue
        ops = _mapping(spec[side], at.child(side), HEADER_OPERATIONS, side)
        done = {}
        for op in ("set", "add"):
            if ops.get(op):
                if not isinstance(ops[op], dict):
                    at.fail("a mapping of header name to value", side, op)
                done[op] = dict((str(k), str(v)) for k, v in ops[op].items())
        if ops.get("remove"):
            if not isinstance(ops["remove"], list) or not all(isinstance(h, str) for h in ops["remove"]):
                at.fail("a list of header names", side, "remove")
            done["remove"] = list(ops["remove"])
        if done:
            out[side] = done
    if not out:
        at.fail("give request or response, each with set, add or remove")
    return out


def _route_policy(spec, host, known, at):
    out = {}
    if spec.get("retries"):
        r = _mapping(spec["retries"], at.child("retries"), ("attempts", "per_try_timeout", "retry_on"), "retries")
        out["retries"] = dict((k2, r[k1]) for k1, k2 in (("attempts", "attempts"), ("per_try_timeout", "perTryTimeout"),
                                                         ("retry_on", "retryOn")) if r.get(k1) is not None)
    if spec.get("timeout"):
        out["timeout"] = spec["timeout"]
    if spec.get("mirror"):
        m = _mapping(spec["mirror"], at.child("mirror"), ("host", "subset", "port", "percentage"), "mirror")
        out["mirror"] = _dest(m.get("host") or host, known(m.get("subset"), at.child("mirror", "subset")),
                              m.get("port"))
        out["mirrorPercentage"] = {"value": float(m.get("percentage", 100))}
    if spec.get("fault"):
        out["fault"] = _fault(spec["fault"], at.child("fault"))
    if spec.get("headers"):
        out["headers"] = _headers(spec["headers"], at.child("headers"))
    return out


def _canary_routes(canary, at, host, port, known, common, default_subset):
    """A canary: weights alone (one weighted route for everyone), or a header/cookie match sending the matched
    requests to a subset or a weighted split, with its own route policy, then the default route."""
    _mapping(canary, at, CANARY_KEYS, "canary")
    matched = canary.get("header") is not None or canary.get("cookie") is not None
    if not matched:
        attached = sorted(k for k in ROUTE_POLICY if canary.get(k))
        if attached:
            at.fail("needs a header or cookie match (a weighted canary is one route: give it at the service "
                    "instead)", attached[0])
        if canary.get("subset"):
            at.fail("needs a header or cookie match (or give weights for everyone, or default_subset at the "
                    "service)", "subset")
        if not canary.get("weights"):
            at.fail("give weights, or a header or cookie match with a subset or weights")
        return [dict(common, route=_destinations(canary, at, host, port, known, None))]
    if not canary.get("subset") and not canary.get("weights"):
        at.fail("the matched requests need a subset or weights")
    route = dict(common, **_route_policy(canary, host, known, at))
    route.update(match=_match(canary, at), route=_destinations(canary, at, host, port, known, None))
    return [route, dict(common, route=_destinations({}, at, host, port, known, default_subset))]


def _explicit_routes(routes, at, host, port, known, common, default_subset):
    """``routes``, in order (the first that matches wins); the default route after them unless the last matches
    every request."""
    if not isinstance(routes, list) or not routes:
        at.fail("give a list of routes, each {match, subset or weights, retries, timeout, mirror, fault, headers}")
    out = []
    for i, spec in enumerate(routes):
        here = at.child(i)
        _mapping(spec, here, ROUTE_KEYS, "a route")
        if i and not routes[i - 1].get("match"):
            at.fail("has no match and takes every request: the routes after it are never reached; give it a match "
                    "or move it last", i - 1)
        route = dict(common, **_route_policy(spec, host, known, here))
        if spec.get("match") is not None:
            match = _mapping(spec["match"], here.child("match"), MATCH_KEYS, "match")
            if not any(match.get(k) is not None for k in MATCH_KEYS):
                here.fail("give header, cookie or uri (or leave match out to take every request)", "match")
            route["match"] = _match(match, here.child("match"))
        route["route"] = _destinations(spec, here, host, port, known, default_subset)
        out.append(route)
    if routes[-1].get("match"):
        out.append(dict(common, route=_destinations({}, at, host, port, known, default_subset)))
    return out


def service_manifests(svc, gateway_routes=None, index=0):
    """The VirtualService (when the entry asks for routing, ``ROUTING``) and the DestinationRule (when it has
    subsets or a traffic policy) of one entry of ``services``, the ``index``-th."""
    at = _At(index)
    for key in ("name", "namespace"):
        if not isinstance(svc, dict) or svc.get(key) in (None, ""):
            at.fail("missing %s" % key)
    at = _At(index, "%s/%s" % (svc["namespace"], svc["name"]))
    _mapping(svc, at, SERVICE_KEYS, "each service")
    where = at()
    host = svc.get("host") or svc["name"]
    port = svc.get("port")
    subsets = svc.get("subsets") or []

    def known(subset, here):
        if subset and subset not in subsets:
            here.fail("subset %s is not in subsets %s: add it there" % (subset, subsets))
        return subset

    if svc.get("canary") and svc.get("routes"):
        at.fail("give canary or routes, not both (a canary is a route: add it to routes)", "routes")
    # the default route goes to default_subset; else, when versions are routed (a canary or routes), the first
    # subset; else (route policies only) the whole Service: giving subsets never pins the traffic by itself
    versioned = svc.get("canary") or svc.get("routes")
    default_subset = known(svc.get("default_subset") or (subsets[0] if subsets and versioned else None),
                           at.child("default_subset"))
    out = []
    if any(svc.get(k) for k in ROUTING):
        common = _route_policy(svc, host, known, at)
        if svc.get("canary"):
            routes = _canary_routes(svc["canary"], at.child("canary"), host, port, known, common, default_subset)
        elif svc.get("routes"):
            routes = _explicit_routes(svc["routes"], at.child("routes"), host, port, known, common, default_subset)
        else:
            routes = [dict(common, route=_destinations({}, at, host, port, known, default_subset))]
        out.append(obj("networking.istio.io/v1", "VirtualService", svc["name"], svc["namespace"],
                       {"hosts": [host], "exportTo": ["."], "http": routes}))
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
    if subsets or policy:
        out.append(obj("networking.istio.io/v1", "DestinationRule", svc["name"], svc["namespace"],
                       dr_spec))
    if not out:
        at.fail("sets nothing to apply: give routing (%s) for a VirtualService, or subsets or a traffic policy "
                "(load_balancer, circuit_breaker, tls_mode) for a DestinationRule" % ", ".join(ROUTING))
    return out


def traffic_manifests(services, gateway_routes):
    """A VirtualService (when the service asks for routing) and a DestinationRule (when needed) per entry of
    ``services``; ``gateway_routes`` (host FQDN to the gateway namespaces routing to it) widens the
    DestinationRules' exportTo."""
    out = []
    for index, svc in enumerate(services or []):
        out += service_manifests(svc, gateway_routes, index)
    return out
