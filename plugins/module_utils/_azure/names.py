# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure resource names, checked as Azure Resource Manager checks them before they become URL path segments.

This file is private to the aksmesh.istio collection: its contents may change at any time.

An empty or malformed name would otherwise reach ARM as a request such as
``.../managedClusters//listClusterUserCredential``; checking first gives an error that names the option.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# (rule text, pattern, longest) per kind of name, as the Azure naming rules give them
RULES = {
    "resource group": ("letters, digits, '_', '-', '.', '(' and ')', not ending with '.'",
                       re.compile(r"^[-\w.()]*[-\w()]\Z", re.UNICODE), 90),
    "AKS cluster": ("letters, digits, '_' and '-', starting and ending with a letter or digit",
                    re.compile(r"^[a-zA-Z0-9]([-\w]*[a-zA-Z0-9])?\Z"), 63),
    "public IP": ("letters, digits, '_', '.' and '-', starting with a letter or digit and ending with a letter, "
                  "digit or '_'", re.compile(r"^[a-zA-Z0-9]([-\w.]*\w)?\Z"), 80),
}
RESOURCE_GROUP_OPTIONS = ("resource_group", "cluster_resource_group")


def problem(kind, value):
    """Why ``value`` cannot name an Azure resource of ``kind``, or None."""
    text, pattern, limit = RULES[kind]
    if not value:
        return "is empty"
    if len(value) > limit:
        return "is %d characters long; a %s name has at most %d" % (len(value), kind, limit)
    if not pattern.match(value):
        return "is not a valid %s name (%s)" % (kind, text)
    return None


def checks(params, spec):
    """(kind, value, option) for the Azure names among a module's parameters: resource groups, the AKS cluster
    (``name`` when ``cluster_name`` is its alias, else ``cluster_name``) and otherwise ``name`` as a public IP."""
    out = [("resource group", params[o], o) for o in RESOURCE_GROUP_OPTIONS if params.get(o) is not None]
    name_is_cluster = "cluster_name" in ((spec.get("name") or {}).get("aliases") or [])
    if params.get("name") is not None:
        out.append(("AKS cluster" if name_is_cluster else "public IP", params["name"], "name"))
    if not name_is_cluster and params.get("cluster_name") is not None:
        out.append(("AKS cluster", params["cluster_name"], "cluster_name"))
    return out


def problems(params, spec):
    return ["%s %r %s" % (option, value, why) for kind, value, option in checks(params, spec)
            for why in [problem(kind, value)] if why]
