# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory's gateways and VirtualServices (the mesh_gateways role's variables) as the Kubernetes Gateway API
describes them: one ``Gateway`` (``gatewayClassName: istio``, which istiod deploys as one Deployment and one
LoadBalancer Service, the one the static IP goes to), each inventory gateway a group of its listeners (as each Istio
Gateway is a group of servers on the one ingress workload), an ``HTTPRoute`` per VirtualService attached to its
gateways' listeners, and the ``ReferenceGrant`` a route to a Service of another namespace needs.

This file is private to the aksmesh.istio collection: its contents may change at any time.

What the Gateway API's standard channel cannot express is refused naming the field, never dropped: a subset
(the Gateway API routes to Services, so give each version a Service), retries (``HTTPRouteRetry`` is experimental),
faults, CORS, TLS and TCP routes, routes for the mesh (``gateways: [mesh]``), Istio's own ``servers``, and the
gateway TLS modes other than SIMPLE. Each translated field is one the issue's routes use: matches on the path,
headers, query parameters and method, weighted backends, timeouts, rewrites, header changes, mirrors and redirects.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.ingress import static_ip_service
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import (
    MeshConfigError, name_of, obj, require, unique_names)
from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders.gateways import destination_rule, https_credential
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _gateway_customizations as customizations

GATEWAY_API = "gateway.networking.k8s.io/v1"
REFERENCE_GRANT = "gateway.networking.k8s.io/v1beta1"
CLASS = "istio"
# the ConfigMap of a Gateway's service options (Istio's gateway customization through parametersRef)
OPTIONS = "%s-options"
# the istio matches' string forms, as HTTPRoute match types
STRING_MATCH = {"exact": "Exact", "prefix": "PathPrefix", "regex": "RegularExpression"}
VALUE_MATCH = {"exact": "Exact", "regex": "RegularExpression"}
# why a VirtualService field has no translation (the field, under http[i], and the reason)
UNTRANSLATED = {
    "retries": "the Gateway API's standard channel has no retries (HTTPRouteRetry is experimental); keep this route "
               "on Istio's API (aksmesh_ingress_api: istio)",
    "fault": "the Gateway API has no fault injection; inject faults with a mesh route (the traffic stage's services)",
    "corsPolicy": "the standard channel has no CORS filter",
    "delegate": "the Gateway API has no delegation",
    "directResponse": "the standard channel has no direct response",
    "match[].port": "a listener's port selects the routes instead",
    "route[].destination.subset": "the Gateway API routes to Services, not subsets: give each version a Service "
                                  "of its own and route to it",
}
HTTP_KEYS = ("name", "match", "route", "timeout", "rewrite", "headers", "mirror", "mirrorPercentage", "redirect")
MATCH_KEYS = ("uri", "headers", "queryParams", "method", "name")


def _refuse(where, field, reason, option="virtual_services"):
    raise MeshConfigError(option, "%s: %s cannot be expressed with the Kubernetes Gateway API: %s"
                          % (where, field, reason))


def listeners(gw, where):
    """The listeners of a gateway shorthand: HTTP on 80 and HTTPS on 443 per host (a listener has one hostname),
    named after the gateway (``<gateway>-http``, ``<gateway>-https``, ``-<index>`` with several hosts)."""
    for field, reason in (("servers", "Istio's own servers format; use hosts, http and https"),
                          ("selector", "the Gateway API deploys the gateway's own workload; drop the selector")):
        if gw.get(field):
            _refuse(where, field, reason, option="gateways")
    hosts = gw.get("hosts") or []
    if not hosts:
        raise MeshConfigError("gateways", "%s: set hosts" % where)
    https = gw.get("https")
    out = []
    for index, host in enumerate(hosts):
        suffix = "" if len(hosts) == 1 else "-%d" % index
        hostname = {} if host == "*" else {"hostname": host}
        if gw.get("http", True):
            out.append(dict({"name": "%s-http%s" % (gw["name"], suffix), "port": 80, "protocol": "HTTP"}, **hostname))
        if https is not None:
            mode = https.get("mode", "SIMPLE")
            if mode != "SIMPLE":
                raise MeshConfigError("gateways", "%s: https.mode %s cannot be expressed with the Kubernetes Gateway "
                                                  "API's standard listeners (only SIMPLE, TLS terminated with "
                                                  "credential_name)" % (where, mode))
            out.append(dict({"name": "%s-https%s" % (gw["name"], suffix), "port": 443, "protocol": "HTTPS",
                             "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret",
                                                                              "name": https_credential(gw)}]}},
                            **hostname))
    return out


def kubernetes_gateway(name, gateways, namespace, route_namespaces, annotations):
    """The one ``Gateway`` ``name`` in ``namespace`` with the listeners of every gateway shorthand: they admit routes
    from ``route_namespaces`` only, and ``annotations`` go on the Service istiod deploys for it (the static IP's).
    Two listeners for one port and host would be one listener twice (the Gateway API calls them conflicted): refused,
    naming both gateways."""
    allowed = {"namespaces": {"from": "Selector", "selector": {"matchExpressions": [{
        "key": "kubernetes.io/metadata.name", "operator": "In", "values": sorted(set(route_namespaces))}]}}}
    out, seen = [], {}
    for gw in gateways:
        for item in listeners(gw, "gateway %s" % gw["name"]):
            key = (item["port"], item.get("hostname", "*"))
            if key in seen:
                raise MeshConfigError("gateways", "gateway %s: host %s on port %d is gateway %s's too: the one ingress "
                                                  "Gateway has one listener per port and host; give each host to one "
                                                  "gateway" % (gw["name"], key[1], key[0], seen[key]))
            seen[key] = gw["name"]
            out.append(dict(item, allowedRoutes=allowed))
    spec = {"gatewayClassName": CLASS, "listeners": out}
    if annotations:
        spec["infrastructure"] = {"annotations": dict(annotations)}
    return obj(GATEWAY_API, "Gateway", name, namespace, spec)


def _string_match(value, where, field, types):
    kinds = [key for key in value if key in types]
    if len(kinds) != 1 or len(value) != 1:
        _refuse(where, field, "give exactly one of %s" % ", ".join(sorted(types)))
    return {"type": types[kinds[0]], "value": value[kinds[0]]}


def match(item, where):
    out = {}
    for key in item:
        if key not in MATCH_KEYS:
            _refuse(where, "match[].%s" % key, UNTRANSLATED.get("match[].%s" % key, "no Gateway API match has it"))
    if item.get("uri") is not None:
        out["path"] = _string_match(item["uri"], where, "match[].uri", STRING_MATCH)
    for field in ("headers", "queryParams"):
        if item.get(field):
            out[field] = [dict({"name": name}, **_string_match(value, where, "match[].%s.%s" % (field, name),
                                                               VALUE_MATCH))
                          for name, value in sorted(item[field].items())]
    if item.get("method") is not None:
        out["method"] = _string_match(item["method"], where, "match[].method", {"exact": "Exact"})["value"]
    return out


def service_of(host, namespace, where, field):
    """(service name, namespace) of a destination host: ``svc``, ``svc.ns`` or ``svc.ns.svc.cluster.local``."""
    parts = host.split(".")
    if len(parts) == 1:
        return parts[0], namespace
    if len(parts) == 2 or (len(parts) == 5 and parts[2:] == ["svc", "cluster", "local"]):
        return parts[0], parts[1]
    _refuse(where, field, "%r is not a Service of the cluster (svc, svc.namespace or svc.namespace.svc.cluster.local)"
            " - an HTTPRoute routes to Services" % host)
    return None


def backend(destination, namespace, where, field):
    if destination.get("subset"):
        _refuse(where, field + ".destination.subset", UNTRANSLATED["route[].destination.subset"])
    name, ns = service_of(destination.get("host") or "", namespace, where, field + ".destination.host")
    port = (destination.get("port") or {}).get("number")
    if not port:
        _refuse(where, field + ".destination.port", "a backendRef needs the Service's port number")
    out = {"name": name, "port": port}
    if ns != namespace:
        out["namespace"] = ns
    return out


def _header_filters(headers, where):
    out = []
    for side, kind, key in (("request", "RequestHeaderModifier", "requestHeaderModifier"),
                            ("response", "ResponseHeaderModifier", "responseHeaderModifier")):
        change = (headers or {}).get(side)
        if not change:
            continue
        spec = {}
        for field in ("set", "add"):
            if change.get(field):
                spec[field] = [{"name": n, "value": v} for n, v in sorted(change[field].items())]
        if change.get("remove"):
            spec["remove"] = list(change["remove"])
        out.append({"type": kind, key: spec})
    for field in (headers or {}):
        if field not in ("request", "response"):
            _refuse(where, "headers.%s" % field, "give request or response header changes")
    return out


def filters(rule, namespace, where, matches):
    out = _header_filters(rule.get("headers"), where)
    rewrite = rule.get("rewrite")
    if rewrite:
        unknown = [key for key in rewrite if key not in ("uri", "authority")]
        if unknown:
            _refuse(where, "rewrite.%s" % unknown[0], "no URLRewrite field has it")
        spec = {}
        if rewrite.get("authority"):
            spec["hostname"] = rewrite["authority"]
        if rewrite.get("uri") is not None:
            prefixes = [m for m in matches if (m.get("path") or {}).get("type") == "PathPrefix"]
            spec["path"] = ({"type": "ReplacePrefixMatch", "replacePrefixMatch": rewrite["uri"]} if prefixes
                            else {"type": "ReplaceFullPath", "replaceFullPath": rewrite["uri"]})
        out.append({"type": "URLRewrite", "urlRewrite": spec})
    if rule.get("mirror"):
        mirror = {"backendRef": backend({"host": rule["mirror"].get("host"), "port": rule["mirror"].get("port")},
                                        namespace, where, "mirror")}
        if rule.get("mirrorPercentage") is not None:
            mirror["percent"] = int(round(float(rule["mirrorPercentage"].get("value", 100))))
        out.append({"type": "RequestMirror", "requestMirror": mirror})
    if rule.get("redirect"):
        redirect = rule["redirect"]
        spec = {}
        for field, key in (("scheme", "scheme"), ("authority", "hostname"), ("port", "port"),
                           ("redirectCode", "statusCode")):
            if redirect.get(field) is not None:
                spec[key] = redirect[field]
        if redirect.get("uri") is not None:
            spec["path"] = {"type": "ReplaceFullPath", "replaceFullPath": redirect["uri"]}
        out.append({"type": "RequestRedirect", "requestRedirect": spec})
    return out


def http_rule(rule, namespace, where):
    """One HTTPRoute rule of one VirtualService ``http`` entry."""
    for key in rule:
        if key not in HTTP_KEYS:
            _refuse(where, key, UNTRANSLATED.get(key, "no HTTPRoute rule field has it"))
    matches = [match(item, where) for item in rule.get("match") or []]
    out = {}
    if matches:
        out["matches"] = matches
    route = rule.get("route") or []
    if route and rule.get("redirect"):
        _refuse(where, "redirect", "a rule either redirects or routes, not both")
    if route:
        refs = []
        for index, dest in enumerate(route):
            ref = backend(dest.get("destination") or {}, namespace, where, "route[%d]" % index)
            if dest.get("weight") is not None:
                ref["weight"] = dest["weight"]
            refs.append(ref)
        out["backendRefs"] = refs
    found = filters(rule, namespace, where, matches)
    if found:
        out["filters"] = found
    if rule.get("timeout"):
        out["timeouts"] = {"request": rule["timeout"]}
    return out


def http_route(vs, parents):
    """The ``HTTPRoute`` of one VirtualService attached to the listeners ``parents`` (parentRefs)."""
    require(vs, ["name", "namespace", "hosts"], "virtual_services", "virtual service %s" % vs.get("name"))
    ns = name_of("virtual_services", "virtual service %s" % vs["name"], "Namespace", vs["namespace"])
    name_of("virtual_services", "virtual service %s" % vs["name"], "HTTPRoute", vs["name"],
            group="gateway.networking.k8s.io")
    where = "%s/%s" % (ns, vs["name"])
    for field in ("tls", "tcp"):
        if vs.get(field):
            _refuse(where, field, "this collection translates HTTP routes only (TLSRoute and TCPRoute are not "
                                  "translated); keep it on Istio's API (aksmesh_ingress_api: istio)")
    if not vs.get("http"):
        raise MeshConfigError("virtual_services", "%s: give http routes" % where)
    if "*" in vs["hosts"]:
        _refuse(where, "hosts '*'", "an HTTPRoute's hostnames are names or *.domain wildcards")
    spec = {"parentRefs": parents,
            "hostnames": list(vs["hosts"]),
            "rules": [http_rule(rule, ns, "%s http[%d]" % (where, index)) for index, rule in enumerate(vs["http"])]}
    return obj(GATEWAY_API, "HTTPRoute", vs["name"], ns, spec)


def _service_refs(route):
    """The Service references of an HTTPRoute: its rules' backends and mirrors."""
    for rule in route["spec"].get("rules") or []:
        yield from rule.get("backendRefs") or []
        for item in rule.get("filters") or []:
            if "requestMirror" in item:
                yield item["requestMirror"]["backendRef"]


def reference_grants(routes):
    """A ``ReferenceGrant`` in each namespace whose Services a route of another namespace uses (one per pair of
    namespaces), letting exactly those HTTPRoutes' namespace refer to its Services."""
    pairs = set()
    for route in routes:
        src = route["metadata"]["namespace"]
        pairs.update((ref["namespace"], src) for ref in _service_refs(route) if ref.get("namespace", src) != src)
    return [obj(REFERENCE_GRANT, "ReferenceGrant", "from-%s" % src, dst, {
        "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": src}],
        "to": [{"group": "", "kind": "Service"}]}) for dst, src in sorted(pairs)]


def _sections(gw, name, namespace, protocols):
    """parentRefs to the listeners of gateway shorthand ``gw`` on the one Gateway ``name``, of ``protocols``."""
    return [{"name": name, "namespace": namespace, "sectionName": item["name"]}
            for item in listeners(gw, "gateway %s" % gw["name"]) if item["protocol"] in protocols]


def _redirects(gw):
    """Whether the gateway's HTTP listeners answer 301 to HTTPS (https and https_redirect, the default, as Istio's
    ``httpsRedirect``): its routes then attach to its HTTPS listeners only."""
    return gw.get("https") is not None and gw.get("https_redirect", True) and gw.get("http", True)


def gateway_api_manifests(gateways, virtual_services, namespace, name, annotations=None):
    """The ingress Gateway ``name`` (in the ingress namespace ``namespace``), its HTTPRoutes and ReferenceGrants,
    from the mesh_gateways role's gateways and VirtualServices; a VirtualService bound to no gateway of the list is
    refused (the mesh's routes stay on Istio's API)."""
    unique_names("gateways", gateways or [])
    by_name = {}
    for index, gw in enumerate(gateways or []):
        require(gw, ["name"], "gateways", "entry %d" % index)
        name_of("gateways", "entry %d" % index, "Gateway", gw["name"], group="gateway.networking.k8s.io")
        if gw.get("namespace") and gw["namespace"] != namespace:
            raise MeshConfigError("gateways", "gateway %s: namespace %s: a Gateway API gateway goes to the ingress "
                                              "namespace %s; drop namespace" % (gw["name"], gw["namespace"], namespace))
        by_name[gw["name"]] = gw
    routes = []
    for vs in virtual_services or []:
        parents = []
        for ref in vs.get("gateways") or []:
            gw_ns, _sep, gw_name = ref.rpartition("/")
            if ref == "mesh" or gw_name not in by_name or gw_ns not in ("", namespace):
                _refuse("%s/%s" % (vs.get("namespace"), vs.get("name")), "gateways %r" % ref,
                        "an HTTPRoute attaches to a gateway of O(gateways) (in %s); mesh routes stay on Istio's API "
                        "(the traffic stage's services)" % namespace)
            gw = by_name[gw_name]
            parents += _sections(gw, name, namespace, ("HTTPS",) if _redirects(gw) else ("HTTP", "HTTPS"))
        if not parents:
            _refuse("%s/%s" % (vs.get("namespace"), vs.get("name")), "gateways", "bind it to a gateway of "
                    "O(gateways)")
        routes.append(http_route(vs, parents))
    redirects = [redirect_route(gw, name, namespace) for gw in gateways or [] if _redirects(gw)]
    route_namespaces = [route["metadata"]["namespace"] for route in redirects + routes]
    out = [kubernetes_gateway(name, gateways, namespace, route_namespaces or [namespace], annotations)] \
        if gateways else []
    return out + redirects + routes + reference_grants(routes)


def redirect_route(gw, name, namespace):
    """The route of a redirecting gateway's HTTP listeners: 301 to HTTPS, as Istio's ``httpsRedirect`` answers."""
    return obj(GATEWAY_API, "HTTPRoute", "%s-https-redirect" % gw["name"], namespace, {
        "parentRefs": _sections(gw, name, namespace, ("HTTP",)),
        "rules": [{"filters": [{"type": "RequestRedirect",
                                "requestRedirect": {"scheme": "https", "statusCode": 301}}]}]})


def backend_hosts(routes):
    """The Service FQDNs of every backend (and mirror) of ``routes`` (HTTPRoutes), sorted."""
    return sorted(set("%s.%s.svc.cluster.local" % (ref["name"], ref.get("namespace", route["metadata"]["namespace"]))
                      for route in routes for ref in _service_refs(route)))


def gateway_options(gateway, namespace, overlays):
    """The ConfigMap of Istio's gateway customization (``spec.infrastructure.parametersRef``) for ``gateway``: per
    resource istiod deploys for it (``deployment``, ``service``, ...), the overlay istiod merges in, as YAML (the
    fields a Gateway's infrastructure cannot carry, such as the Service's ``loadBalancerSourceRanges``)."""
    return obj("v1", "ConfigMap", OPTIONS % gateway, namespace, None, data=dict(
        (key, yaml.safe_dump(overlay, default_flow_style=False, sort_keys=True))
        for key, overlay in sorted(overlays.items())))


def ingress_manifests(gateways, virtual_services, destination_rules, ingress_namespace, ingress_gateway, ingress_ip,
                      ingress_ip_resource_group, ingress_pip_name, ingress_revision, ingress_source_ranges=None,
                      ingress_customizations=None):
    """The gateways stage's objects with the Gateway API ingress: the Gateway ``ingress_gateway`` with the static IP's
    AKS annotations (the static IP stage's public IP resource by name, else the address) and, with a control-plane
    revision, its ``istio.io/rev`` label (the istiod of that revision deploys it: with two revisions running, as
    during a canary upgrade, the other would take it otherwise), its HTTPRoutes and ReferenceGrants, then the
    DestinationRules, exported to the ingress namespace when a route uses their host. With source ranges or
    customizations (``aksmesh_ingress_gateway_customizations``, checked by the settings), the Gateway names the
    ConfigMap (``gateway_options``) that overlays them on the resources istiod deploys for it."""
    spec, annotations = static_ip_service({"ip": ingress_ip, "ip_resource_group": ingress_ip_resource_group,
                                           "pip_name": ingress_pip_name, "source_ranges": ingress_source_ranges})
    objects = gateway_api_manifests(gateways, virtual_services, ingress_namespace, ingress_gateway, annotations)
    found = customizations.problem(ingress_customizations, False) if ingress_customizations else None
    if found:  # the settings check site.yml's (the AKS add-on's against its allow list); this, the role's own
        raise MeshConfigError("ingress_customizations", found[1], path=found[0])
    overlays = customizations.with_source_ranges(ingress_customizations, spec.get("loadBalancerSourceRanges"))
    options = [gateway_options(ingress_gateway, ingress_namespace, overlays)] if overlays else []
    for item in objects:
        if item["kind"] != "Gateway":
            continue
        if ingress_revision and ingress_revision != "default":
            item["metadata"].setdefault("labels", {})["istio.io/rev"] = ingress_revision
        if options:
            item["spec"].setdefault("infrastructure", {})["parametersRef"] = {
                "group": "", "kind": "ConfigMap", "name": options[0]["metadata"]["name"]}
    routes = dict((host, [ingress_namespace]) for host in backend_hosts(
        [o for o in objects if o["kind"] == "HTTPRoute"]))
    return options + objects + [destination_rule(dr, routes) for dr in destination_rules or []]
