# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helm releases through the helm CLI: what is deployed, and whether an upgrade is needed.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names

CHART = re.compile(r"^(.+?)-(v?[0-9]+\.[0-9]+\.[0-9]+(?:[-+][0-9A-Za-z.+-]*)?)$")


def release_status(listing, name):
    """(chart name, chart version, revision, status) of ``name`` in ``helm list -o json`` output, or None."""
    for rel in json.loads(listing or "[]") or []:
        if rel.get("name") == name:
            chart = rel.get("chart") or ""
            # "<name>-<SemVer>": the version may hold dashes itself (gateway-1.31.0-dev, base-1.30.0-rc.1)
            match = CHART.match(chart)
            base, version = (match.group(1), match.group(2)) if match else (chart, "")
            return dict(chart=base, version=version, revision=int(rel.get("revision") or 0),
                        status=rel.get("status"), app_version=rel.get("app_version"))
    return None


def normalized(values):
    return json.loads(json.dumps(values or {}, sort_keys=True))


def changes(current, current_values, chart, version, values):
    """Why an upgrade is needed (empty list when the release is as wanted)."""
    if current is None:
        return ["not installed"]
    out = []
    if current["status"] != "deployed":
        out.append("status %s" % current["status"])
    if current["chart"] != chart:
        out.append("chart %s, wanted %s" % (current["chart"], chart))
    if version and current["version"] != version:
        out.append("chart version %s, wanted %s" % (current["version"], version))
    if normalized(current_values) != normalized(values):
        out.append("values differ")
    return out


def argument_problems(name, chart, namespace):
    """What helm would misread or refuse among the release name, chart and namespace (a list, empty when fine):
    a leading ``-`` makes helm parse a positional argument as a flag."""
    out = []
    # helm's own rule for release names (pkg/chartutil ValidateReleaseName): a DNS-1123 subdomain of at most 53
    if not names.DNS1123_SUBDOMAIN.match(name or "") or len(name) > 53:
        out.append("name %r is not a release name helm accepts (at most 53 lower-case letters, digits, '-' and "
                   "'.', starting and ending with a letter or digit)" % name)
    if chart is not None and (not chart or chart.startswith("-") or any(c.isspace() for c in chart)):
        out.append("chart %r is not a chart reference (a chart name in the repository, a path or an oci:// URL)"
                   % chart)
    if names.problem("Namespace", namespace):
        out.append("namespace %r is not a namespace name (a DNS-1123 label)" % namespace)
    return out
