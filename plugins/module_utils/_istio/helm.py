# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helm releases through the helm CLI: what is deployed, and whether an upgrade is needed.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import re

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names

CHART = re.compile(r"^(.+?)-(v?[0-9]+\.[0-9]+\.[0-9]+(?:[-+][0-9A-Za-z.+-]*)?)$")


# the statuses of a release record while a helm command works on it; a command killed meanwhile (an AWX cancel, a
# controller crash) or whose last write was lost leaves it so, and helm refuses every later install, upgrade or
# rollback with "another operation (install/upgrade/rollback) is in progress"
PENDING = ("pending-install", "pending-upgrade", "pending-rollback")
# helm list --time-format (a Go layout): RFC 3339, the release record's time with its offset
TIME_FORMAT = "2006-01-02T15:04:05Z07:00"
_TIME = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.\d+)?\s*(Z|UTC|[+-]\d\d:?\d\d)")


def list_argv(name):
    """``helm list`` of release ``name`` whatever its status (-a: pending and uninstalling too), its time in
    RFC 3339."""
    return ["list", "-a", "-o", "json", "--time-format", TIME_FORMAT, "--filter", "^%s$" % name]


def epoch(text):
    """Seconds since the epoch of a time helm printed (RFC 3339, or Go's default format), or None."""
    match = _TIME.match(str(text or "").strip())
    if not match:
        return None
    seconds = calendar.timegm(tuple(int(match.group(i)) for i in range(1, 7)) + (0, 0, 0))
    zone = match.group(7)
    if zone not in ("Z", "UTC"):
        sign = -1 if zone[0] == "-" else 1
        zone = zone[1:].replace(":", "")
        seconds -= sign * (int(zone[:2]) * 3600 + int(zone[2:]) * 60)
    return float(seconds)


def release_status(listing, name):
    """(chart name, chart version, revision, status, updated) of ``name`` in ``helm list -o json`` output, or None
    (also for a release uninstalled with its history kept)."""
    for rel in json.loads(listing or "[]") or []:
        if rel.get("name") == name and rel.get("status") != "uninstalled":
            chart = rel.get("chart") or ""
            # "<name>-<SemVer>": the version may hold dashes itself (gateway-1.31.0-dev, base-1.30.0-rc.1)
            match = CHART.match(chart)
            base, version = (match.group(1), match.group(2)) if match else (chart, "")
            return dict(chart=base, version=version, revision=int(rel.get("revision") or 0),
                        status=rel.get("status"), app_version=rel.get("app_version"), updated=rel.get("updated"))
    return None


def rollback_target(history, pending_revision):
    """The revision to roll a pending release back to: the last one deployed (helm keeps it ``deployed`` until
    an upgrade or rollback after it ends), else the last one superseded (deployed once); None when the release
    was never deployed. ``history`` is ``helm history -o json`` output."""
    revisions = [r for r in json.loads(history or "[]") or [] if int(r.get("revision") or 0) < pending_revision]
    for status in ("deployed", "superseded"):
        found = [int(r["revision"]) for r in revisions if r.get("status") == status]
        if found:
            return max(found)
    return None


def pending_plan(current, now, timeout, mode):
    """What to do about a release an interrupted helm command left pending (None when ``current`` is not): its
    status, revision, updated time and age, ``wait`` (seconds left before it is older than ``timeout``: until then
    a helm command elsewhere may still be working on it) and ``action``: ``fail`` (mode ``fail``) or ``recover``."""
    if not current or current.get("status") not in PENDING:
        return None
    since = epoch(current.get("updated"))
    age = max(0.0, now - since) if since is not None else None
    # a time helm did not print as expected: no way to tell an abandoned record from a live one, so no waiting
    wait = max(0.0, timeout - age) if age is not None else 0.0
    return dict(status=current["status"], revision=current["revision"], updated=current.get("updated"),
                age=int(age) if age is not None else None, wait=int(round(wait)), action=mode,
                rollback_to=None, done=False)


def pending_message(name, namespace, plan):
    """Why a pending release stops the run, with the ways out (pending: fail)."""
    fix = ("helm rollback %s %s -n %s" % (name, plan["rollback_to"], namespace) if plan.get("rollback_to")
           else "helm uninstall %s -n %s (it was never deployed)" % (name, namespace))
    return ("release %s in %s is %s (revision %s, since %s): an earlier helm command was interrupted or lost its "
            "answer, and helm refuses any other until the release is recovered. Nothing changed. Set pending: "
            "recover (role variables istio_helm_pending, cert_manager_helm_pending) to have the run recover it, or "
            "run %s, then run again" % (name, namespace, plan["status"], plan["revision"], plan["updated"], fix))


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


def argument_problems(name, chart, namespace, repo=None):
    """What helm would misread or refuse among the release name, chart, namespace and chart repository (a list,
    empty when fine): a leading ``-`` makes helm parse a positional argument as a flag; helm's ``--repo`` reads an
    index over HTTP(S) only."""
    out = []
    if repo is not None and chart is not None and not repo.lower().startswith(("https://", "http://")):
        out.append("repo %r is not a chart repository URL helm can read: helm fetches a repository's index.yaml over "
                   "https:// or http:// only (file:// gives \"could not find protocol handler\"); serve the folder "
                   "over HTTP (helm repo index, then any web server) or name an https:// repository" % repo)
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
