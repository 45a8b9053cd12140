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


# what helm sets on every object of a release it installs (pkg/action: setMetadataVisitor), so that a later
# `helm upgrade` takes the objects as its own; hooks get none (helm runs and deletes them: they are not rendered)
MANAGED_BY = ("app.kubernetes.io/managed-by", "Helm")
RELEASE_NAME = "meta.helm.sh/release-name"
RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"
# the cluster-scoped kinds charts hold: helm puts every other object without a namespace into the release's
CLUSTER_SCOPED = frozenset((
    "Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "APIService", "PriorityClass", "StorageClass",
    "PersistentVolume", "IngressClass", "RuntimeClass", "CSIDriver", "ClusterIssuer", "GatewayClass",
))


def template_argv(repo, name, chart, version=None, kube_version=None, hooks=True):
    """``helm template`` of ``chart`` (values on standard input), CRDs included: the check mode's comparison
    renders with the hooks, render mode without them (``helm install`` runs a hook and deletes it)."""
    argv = ["template", "--include-crds", "--repo", repo, "-f", "-"]
    if not hooks:
        argv.append("--no-hooks")
    if kube_version:
        argv += ["--kube-version", kube_version]
    if version:
        argv += ["--version", version]
    return argv + ["--", name, chart]  # positionals after "--": never read as flags


def as_installed(objs, name, namespace):
    """Copies of the objects ``helm template`` printed as ``helm install`` of release ``name`` in ``namespace``
    leaves them: in the release's namespace when they name none (and are namespaced), with helm's ownership label and
    annotations, so a later ``helm upgrade`` of the same release adopts them and a GitOps re-sync meets the values
    helm wrote."""
    out = []
    for obj in objs:
        obj = json.loads(json.dumps(obj))
        meta = obj.setdefault("metadata", {})
        if obj.get("kind") not in CLUSTER_SCOPED and not meta.get("namespace"):
            meta["namespace"] = namespace
        meta["labels"] = dict(meta.get("labels") or {}, **{MANAGED_BY[0]: MANAGED_BY[1]})
        meta["annotations"] = dict(meta.get("annotations") or {}, **{RELEASE_NAME: name, RELEASE_NAMESPACE: namespace})
        out.append(obj)
    return out


KUBE_VERSION = re.compile(r"^v?[0-9]+\.[0-9]+(\.[0-9]+)?([-+][0-9A-Za-z.-]+)?\Z")


def kube_version_problem(version):
    """Why helm would refuse ``version`` as ``--kube-version`` (None when it takes it, or it is not given)."""
    if version is None or KUBE_VERSION.match(version):
        return None
    return "kube_version %r is not a Kubernetes version such as 1.34.0" % (version,)
