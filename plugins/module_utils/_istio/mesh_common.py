# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every object the collection builds carries: labels that let cleanup and prune find it.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names as k8s_names

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "aksmesh"
STAGE = "aksmesh.io/stage"


OPTION_REF = re.compile(r"O\(([a-z][a-z0-9_]*)\)")


class MeshConfigError(ValueError):
    """A setting describes something that cannot work.

    ``option`` is the name of the builder's option at fault (the builder's own name, as its keyword argument),
    ``message`` what is wrong and the fix; ``O(name)`` in the message refers to another option. ``path`` is where
    in the option's value the fault is (``[1].ports[0].tls_origination``), printed right after the option's name; a
    message may also start with its place (``[0].canary.weights: ...``), which continues the option's name too.
    ``render`` prints the option names through ``name``: the stage filters give the role variable each option
    comes from.
    """

    def __init__(self, option, message, path=""):
        super(MeshConfigError, self).__init__(option, message)
        self.option = option
        self.message = message
        self.path = path

    def render(self, name=None):
        name = name or (lambda option: option)
        message = OPTION_REF.sub(lambda m: name(m.group(1)), self.message)
        # a message that starts with a place in the option ("[0].canary.weights: ...") continues its name
        return "%s%s%s%s" % (name(self.option), self.path, "" if message.startswith("[") else ": ", message)

    def __str__(self):
        return self.render()


def labels(extra=None, stage=None):
    """The collection's labels, then ``extra``. The stage label's value is left empty (None) for the stage that
    applies the object to fill in (``stamp``): a builder does not know which stage it serves."""
    out = {MANAGED_BY: MANAGER, STAGE: stage}
    out.update(extra or {})
    return out


def obj(api_version, kind, name, namespace, spec=None, extra_labels=None, **top):
    """An object with the collection's labels, its stage label left to the stage that applies it (``stamp``)."""
    out = {"apiVersion": api_version, "kind": kind,
           "metadata": {"name": name, "labels": labels(extra_labels)}}
    if namespace:
        out["metadata"]["namespace"] = namespace
    if spec is not None:
        out["spec"] = spec
    out.update(top)
    return out


def stamp(objects, stage):
    """``objects`` with ``stage`` as the value of every stage label a builder left empty (copies of those objects;
    the label keeps its place, so rendered files do not change); a stage label that has a value stays as it is."""
    out = []
    for item in objects or []:
        meta = item.get("metadata") if isinstance(item, dict) else None
        found = (meta or {}).get("labels") if isinstance(meta, dict) else None
        if isinstance(found, dict) and STAGE in found and found[STAGE] is None:
            item = dict(item, metadata=dict(meta, labels=dict(found)))
            item["metadata"]["labels"][STAGE] = stage
        out.append(item)
    return out


def require(item, keys, option, where):
    """``item`` (an entry of the list option ``option``, described by ``where``) has every key in ``keys``."""
    missing = [k for k in keys if item.get(k) in (None, "", [])]
    if missing:
        raise MeshConfigError(option, "%s: missing %s" % (where, ", ".join(missing)))


def name_of(option, where, kind, value, group="networking.istio.io"):
    """``value`` when it can name a ``kind`` (the API server's rule); else MeshConfigError naming the option."""
    why = k8s_names.problem(kind, value, "" if kind == "Namespace" else group)
    if why:
        raise MeshConfigError(option, "%s: %s %r %s" % (where, "namespace" if kind == "Namespace" else "name", value,
                                                        why))
    return value


def unique_names(option, items, key=lambda item: item.get("name")):
    """MeshConfigError naming the option when two entries share a name."""
    seen = [key(item) for item in items]
    twice = sorted(set(str(n) for n in seen if seen.count(n) > 1))
    if twice:
        raise MeshConfigError(option, "lists %s twice: give each entry its own name" % ", ".join(twice))


def namespaces(names, stage=None):
    """Namespace objects for ``names`` (duplicates and empty names dropped), labelled for ``stage`` (None: for the
    stage that applies them, see ``stamp``)."""
    out, seen = [], set()
    for name in names or []:
        if name and name not in seen:
            seen.add(name)
            meta = {"name": name, "labels": labels(stage=stage)}
            out.append({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
    return out


def references(names, api_version, kind):
    """Bare objects (apiVersion, kind, name) for ``names``: what ``apply`` needs to delete them."""
    return [{"apiVersion": api_version, "kind": kind, "metadata": {"name": name}} for name in names or [] if name]


def service_fqdn(host, namespace):
    """Short service names resolve in the referring object's namespace, as Istio resolves them."""
    if "*" in host or host.count(".") >= 2 or ("." in host and not host.endswith(".svc")):
        return host if "." in host or "*" in host else "%s.%s.svc.cluster.local" % (host, namespace)
    return "%s.%s.svc.cluster.local" % (host.split(".")[0], host.split(".")[1] if "." in host else namespace)


def route_destinations(vs):
    """(host FQDN, subset, gateway namespaces) of every route and mirror destination of a VirtualService object.

    The gateway namespaces are those of the other-namespace gateways the rule applies to: the rule's
    ``match[].gateways`` when it names any (``mesh`` is the sidecars), else the VirtualService's ``gateways``.
    """
    ns = (vs.get("metadata") or {}).get("namespace") or "default"
    spec = vs.get("spec") or {}
    for kind in ("http", "tls", "tcp"):
        for rule in spec.get(kind) or []:
            refs = [g for m in rule.get("match") or [] for g in m.get("gateways") or []] or spec.get("gateways") or []
            gw_ns = sorted(set(r.split("/", 1)[0] for r in refs if "/" in r and r.split("/", 1)[0] != ns))
            dests = [r.get("destination") or {} for r in rule.get("route") or []]
            if rule.get("mirror"):
                dests.append(rule["mirror"])
            for dest in dests:
                if dest.get("host"):
                    yield service_fqdn(dest["host"], ns), dest.get("subset"), gw_ns


def gateway_routes(virtual_services):
    """{host FQDN: [namespaces of the gateways whose bound VirtualServices route to it]} (other namespaces only)."""
    out = {}
    for vs in virtual_services:
        for host, _subset, gw_ns in route_destinations(vs):
            if gw_ns:
                out.setdefault(host, set()).update(gw_ns)
    return dict((host, sorted(nss)) for host, nss in out.items())


def destination_rule_export(option, where, host, namespace, given, routes):
    """exportTo of a DestinationRule: its own namespace and the gateway namespaces that route to its host (a
    gateway that cannot see the subsets answers ``cluster_not_found``); a given exportTo must include them.
    ``option`` and ``where`` name the entry it comes from, for the error."""
    needed = [ns for ns in (routes or {}).get(service_fqdn(host, namespace), []) if ns != namespace]
    if given is None:
        return ["."] + needed
    missing = [ns for ns in needed if ns not in given and "*" not in given]
    if missing:
        raise MeshConfigError(option, "%s: export_to %s hides its subsets from the gateway namespace(s) %s that route "
                                      "to %s; add them or leave export_to unset"
                              % (where, given, ", ".join(missing), host))
    return given
