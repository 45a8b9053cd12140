# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""istioctl analyze: its command line, its output, and which findings concern the mesh the collection manages.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

LEVELS = ("Info", "Warning", "Error")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\S+\t")  # istioctl's log lines: "<RFC 3339 time>\t<level>\t..."
# the namespaces of the mesh: those the collection created (its ownership label) and those enrolled in injection
OWNED_NAMESPACES = "app.kubernetes.io/managed-by=aksmesh"
ENROLLED_NAMESPACES = ("istio-injection", "istio.io/rev")


# a route to a host no Service answers yet: the mesh's routes usually come before the applications they route to
ABSENT_HOST = ("IST0101", "Referenced host not found")


class OutputError(ValueError):
    """istioctl printed something this module cannot read."""


def rank(level):
    return LEVELS.index(level) if level in LEVELS else 0


def uses_kube(p):
    return p["use_kube"] if p["use_kube"] is not None else not p["src"]


def scans_all(p):
    """-A: asked for, implied by no namespace, or needed to report on several namespaces (``-n`` takes one)."""
    if p["all_namespaces"] is not None:
        return p["all_namespaces"] or bool(p["namespaces"] or p["mesh_namespaces"])
    return not p["namespace"]


def build_command(binary, p, kube_args=()):
    """istioctl analyze's command line; ``kube_args`` hand it the cluster (see _k8s.tool_kubeconfig)."""
    use_kube = uses_kube(p)
    # istioctl prints only what reaches --output-threshold: ask for down to fail_level too, filter ourselves
    printed = LEVELS[min(rank(p["fail_level"]), rank(p["output_threshold"]))]
    cmd = [binary, "analyze", "-o", "json", "--use-kube=%s" % ("true" if use_kube else "false"),
           "--failure-threshold", p["fail_level"], "--output-threshold", printed, "--timeout", p["timeout"]]
    if scans_all(p):
        cmd.append("-A")
    elif p["namespace"]:
        cmd += ["-n", p["namespace"]]
    if p["istio_namespace"]:
        cmd += ["--istioNamespace", p["istio_namespace"]]
    if p["revision"]:
        cmd += ["--revision", p["revision"]]
    for rule in p["suppress"]:
        cmd += ["-S", rule]
    if use_kube:
        cmd += list(kube_args)
    return cmd + list(p["src"])


def parse(out):
    """(messages, files istioctl could not parse) from its ``-o json`` stdout; OutputError when it is not JSON."""
    # istioctl logs to stdout before the JSON array (e.g. "<time> warn file error processing F: ... - skipping")
    logged = [line for line in out.splitlines() if LOG_LINE.match(line)]
    body = "\n".join(line for line in out.splitlines() if line not in logged)
    try:
        messages = json.loads(body) if body.strip() else []
    except ValueError:
        raise OutputError("istioctl analyze -o json printed something that is not JSON")
    unparsed = [line.split("error processing ", 1)[1] for line in logged if "error processing " in line]
    return messages, unparsed


def origin_namespace(message):
    """The namespace of a message's object: ``Kind ns/name``, a Namespace's own name, or None (cluster-scoped)."""
    kind, _sep, name = (message.get("origin") or "").partition(" ")
    if "/" in name:
        return name.split("/", 1)[0]
    return name if kind == "Namespace" else None


def mesh_namespaces(namespaces):
    """The names of the mesh's namespaces among listed Namespace objects (owned by the collection, or enrolled)."""
    key, _sep, value = OWNED_NAMESPACES.partition("=")
    out = set()
    for ns in namespaces:
        labels = (ns.get("metadata") or {}).get("labels") or {}
        if labels.get(key) == value or any(label in labels for label in ENROLLED_NAMESPACES):
            out.add(ns["metadata"]["name"])
    return out


def concerning(messages, namespaces):
    """The messages about objects in ``namespaces`` (None: all) or about cluster-scoped objects."""
    if namespaces is None:
        return list(messages)
    return [m for m in messages if origin_namespace(m) in namespaces or origin_namespace(m) is None]


def absent_host(message):
    return message.get("code") == ABSENT_HOST[0] and (message.get("message") or "").startswith(ABSENT_HOST[1])


def findings(messages, p):
    """(reported messages, failing messages, counts per level) by the module's thresholds; with absent_hosts=report
    a route to a host that is not deployed yet is reported and fails nothing."""
    failing = [m for m in messages if rank(m.get("level", "Info")) >= rank(p["fail_level"])
               and not (p.get("absent_hosts") == "report" and absent_host(m))]
    reported = [m for m in messages if rank(m.get("level", "Info")) >= rank(p["output_threshold"])]
    counts = {"Error": 0, "Warning": 0, "Info": 0}
    for msg in reported:
        counts[msg.get("level", "Info")] = counts.get(msg.get("level", "Info"), 0) + 1
    return reported, failing, counts


def failure_message(failing, fail_level):
    return "istioctl analyze found %d message(s) at or above %s: %s" % (
        len(failing), fail_level,
        "; ".join("%s %s (%s)" % (m.get("code"), m.get("message"), m.get("origin", "")) for m in failing[:5]))
