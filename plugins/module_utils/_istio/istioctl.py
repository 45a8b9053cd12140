# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""istioctl: its binary, IstioOperator files, the labels its install adds, and its exit-code contract.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import tempfile

from ansible_collections.aksmesh.istio.plugins.module_utils._cli import find_tool

ANALYZE_FOUND = 79  # istioctl analyze: messages at or above --failure-threshold


def find(module, path=None):
    """The istioctl binary: an explicit path, or PATH; fails the module with the fix when absent."""
    return find_tool(module, "istioctl", path, "install it with the aksmesh.istio.istioctl role")


def write_operator(operator, directory):
    """An IstioOperator (dict) written as a private file for ``-f``; a path is passed through."""
    if isinstance(operator, str):
        return operator
    fd, path = tempfile.mkstemp(prefix="iop-", suffix=".yaml", dir=directory)
    with os.fdopen(fd, "w") as fh:
        json.dump(operator, fh)  # JSON is YAML
    return path


def owner_labels(operator, version, revision=None, component=None):
    """The labels ``istioctl install`` adds to every object it applies, which ``manifest generate`` output
    lacks (istio's getOwnerLabels): compare generated objects with the cluster only after adding them."""
    meta = (operator or {}).get("metadata") or {}
    values = ((operator or {}).get("spec") or {}).get("values") or {}
    labels = {"operator.istio.io/managed": "Reconcile", "operator.istio.io/version": version or "",
              "istio.io/rev": revision or values.get("revision") or "default"}
    if meta.get("name"):
        labels["install.operator.istio.io/owning-resource"] = meta["name"]
    if meta.get("namespace"):
        labels["install.operator.istio.io/owning-resource-namespace"] = meta["namespace"]
    if component:
        labels["operator.istio.io/component"] = component
    return labels


def label_as_installed(objs, operator, version, revision=None, installed_component=None):
    """``manifest generate`` objects with the labels ``istioctl install`` gives them (see owner_labels).

    Install labels each object with the component it rendered it for; generate output shows that label only
    where the chart sets it. ``installed_component(obj)`` names it for the rest (from the live object);
    otherwise it is Base (CRDs and the base chart's objects)."""
    for obj in objs:
        meta = obj.setdefault("metadata", {})
        labels = meta.get("labels") or {}
        component = labels.get("operator.istio.io/component") or (
            installed_component(obj) if installed_component else None) or "Base"
        labels.update(owner_labels(operator, version, revision, component))
        meta["labels"] = labels
    return objs


# the component istioctl install labels the objects of each of its charts with (istio's pkg/install component
# names): what an object of ``manifest generate`` output was rendered for, when its chart does not label it itself
CHART_COMPONENTS = {"base": "Base", "istiod": "Pilot", "istiod-remote": "Pilot", "istio-ingress": "IngressGateways",
                    "istio-egress": "EgressGateways", "istio-cni": "Cni", "cni": "Cni", "ztunnel": "Ztunnel"}


def chart_component(obj):
    """The install component of a generated object from its ``helm.sh/chart`` label (``istiod-1.0.0``: Pilot), or
    None when it carries none."""
    chart = (((obj.get("metadata") or {}).get("labels")) or {}).get("helm.sh/chart") or ""
    return CHART_COMPONENTS.get(chart.rsplit("-", 1)[0]) if "-" in chart else None


WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def webhook_identity(obj):
    """What of an Istio webhook configuration istioctl decides: its revision and where each webhook calls.
    The rest is Istio's runtime state: istiod writes caBundle and turns failurePolicy to Fail once it serves,
    and a revision tag (``istioctl tag``, which install runs for the default revision) deactivates the
    revision's own injector selectors. Comparing more would make every install look undone."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    hooks = sorted((w.get("name"), json.dumps((w.get("clientConfig") or {}).get("service") and dict(
        (k, v) for k, v in w["clientConfig"]["service"].items() if k != "port"), sort_keys=True))
        for w in obj.get("webhooks") or [])
    return labels.get("istio.io/rev"), hooks


def default_tag_objects(operator, revision, namespace, default_tag_exists):
    """(apiVersion, kind, namespace, name) of what ``istioctl install`` adds after the manifest for the revision tag
    ``default`` (operator/pkg/webhook: WebhooksToDeploy): the tag's injector, the default validator and the tag's
    Service, when istioctl manages webhooks and either no default tag exists yet or this is the default revision.
    ``istioctl manifest generate`` does not print them, so check mode names them from here."""
    values = ((operator or {}).get("spec") or {}).get("values") or {}
    if ((values.get("global") or {}).get("operatorManageWebhooks")) or (default_tag_exists and revision):
        return []
    return [("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", None, "istio-revision-tag-default"),
            ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", None, "istiod-default-validator"),
            ("v1", "Service", namespace, "istiod-revision-tag-default")]


# What the Kubernetes client prints for API errors that a second try can get past (overload, restarts, timeouts)
TRANSIENT_ERRORS = (
    "Internal error occurred", "an error on the server", "has prevented the request from succeeding",
    "the server is currently unable to handle the request", "Too Many Requests",
    "the server has received too many requests", "etcdserver: request timed out", "etcdserver: leader changed",
    "TLS handshake timeout", "connection refused", "connection reset", "i/o timeout", "broken pipe",
    "http2: server sent GOAWAY", "http2: client connection lost", "use of closed network connection",
    "context deadline exceeded", "unexpected EOF", "ServiceUnavailable",
)
# a connection the server (or a proxy, a load balancer) closed without an answer: Go's net/http reports it as the
# request and a bare EOF (Get "https://...": EOF, Patch "...": EOF)
DROPPED = re.compile(r'[":]\s*EOF(?:\s|$)', re.MULTILINE)


# ... unless istioctl waited for the components to become ready and they did not (image pulls, crashes, quota):
# running it again would only wait as long again
NOT_READY = ("resources not ready after", "failed to wait for resource")


def transient(output):
    """The transient API error in istioctl's output (the first one named), or None."""
    if any(needle in (output or "") for needle in NOT_READY):
        return None
    for needle in TRANSIENT_ERRORS:
        if needle in (output or ""):
            return needle
    if DROPPED.search(output or ""):
        return "EOF (the connection was closed without an answer)"
    return None
