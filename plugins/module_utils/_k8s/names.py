# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Object names, validated as the API server validates them, before they become URL path segments.

This file is private to the aksmesh.istio collection: its contents may change at any time.

A name that reaches a URL unchecked can address another object (``kube-system/configmaps/victim`` as a namespace
name patches a ConfigMap), so every module that builds an API path from a user's name checks it here first and
quotes the segment.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.six.moves.urllib.parse import quote

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?\Z")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
# the namespaces Kubernetes makes and needs itself: the collection never takes one as its own (cleanup would delete it)
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

# kinds whose names the API server holds to a stricter rule than a DNS-1123 subdomain
LABEL_KINDS = {"Namespace": ("DNS-1123 label", DNS1123_LABEL, 63),
               "Service": ("DNS-1035 label", DNS1035_LABEL, 63)}
# kinds whose names only have to be a valid URL path segment (RBAC allows 'system:aggregate-to-edit', IPAddress
# holds IPv6 addresses, ClusterTrustBundle 'signer:…' names; CertificateSigningRequest checks no rule at all)
PATH_SEGMENT_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "CertificateSigningRequest",
                      "IPAddress", "ClusterTrustBundle")
RULES = {
    "DNS-1123 label": "lower-case letters, digits and '-', starting and ending with a letter or digit",
    "DNS-1035 label": "lower-case letters, digits and '-', starting with a letter and ending with a letter or digit",
    "DNS-1123 subdomain": "lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
}


class InvalidName(ValueError):
    """A name the API server would refuse, or that would change the URL it is put in."""


def problem(kind, name, group=""):
    """Why ``name`` cannot name an object of ``kind`` (of API ``group``; "" is the core group), or None. Known
    kinds get their own rule; any other kind the DNS-1123 subdomain rule most kinds have (which also keeps ``/``,
    ``%``, ``.`` and ``..`` out of a path). A custom resource that shares a core kind's name (a Knative Service)
    is not held to the core kind's rule."""
    if not isinstance(name, str) or not name:
        return "is empty" if not name else "is not a string"
    if kind in PATH_SEGMENT_KINDS:
        if name in (".", "..") or "/" in name or "%" in name:
            return "is not a path segment name (not '.' or '..', no '/' or '%')"
        return None
    rule, pattern, limit = (LABEL_KINDS.get(kind) if not group else None) or (
        "DNS-1123 subdomain", DNS1123_SUBDOMAIN, 253)
    if len(name) > limit:
        return "is %d characters long; a %s has at most %d" % (len(name), rule, limit)
    if not pattern.match(name):
        return "is not a %s (%s)" % (rule, RULES[rule])
    return None


def check(kind, name, what=None, group=""):
    """``name`` when it can name a ``kind``; else InvalidName naming the object and the rule."""
    why = problem(kind, name, group)
    if why:
        raise InvalidName("%s %r %s" % (what or kind + " name", name, why))
    return name


def segment(kind, name, what=None, group=""):
    """``name``, checked and quoted for one URL path segment."""
    return quote(check(kind, name, what, group), safe=":")  # ":" is a path character (RFC 3986 pchar)


def require(module, checks):
    """Fail ``module`` before anything runs when a name in ``checks`` ((kind, name, option) each; None names are
    skipped) cannot name its object, naming every such option and the rule."""
    found = []
    for kind, name, option in checks:
        if name is None:
            continue
        why = problem(kind, name)
        if why:
            found.append("%s %r %s" % (option, name, why))
    if found:
        module.fail_json(msg="; ".join(found) + ": give the name as Kubernetes shows it (kubectl get), nothing changed")
