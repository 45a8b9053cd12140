# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a cluster holds of Istio: its Kubernetes version, CRDs, control-plane revisions, injection-labelled namespaces.

This file is private to the aksmesh.istio collection: its contents may change at any time.

Pure functions over plain dicts (as the API returns them), so they are tested
without a cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

ISTIO_GROUP_SUFFIX = "istio.io"
# The CRDs our roles create objects of; all must be present for "installed".
REQUIRED_CRDS = (
    "destinationrules.networking.istio.io",
    "gateways.networking.istio.io",
    "serviceentries.networking.istio.io",
    "sidecars.networking.istio.io",
    "virtualservices.networking.istio.io",
    "authorizationpolicies.security.istio.io",
    "peerauthentications.security.istio.io",
)
INJECTION_LABEL = "istio-injection"
REVISION_LABEL = "istio.io/rev"


def server_version(info):
    """{git_version, major, minor} from the API server's /version answer; the minor as digits only (``28+`` is 28)."""
    minor = "".join(ch for ch in str(info.get("minor") or "") if ch.isdigit())
    return {"git_version": info.get("gitVersion"), "major": int(info["major"]), "minor": int(minor or 0)}


def istio_crds(crds):
    """{installed, names, missing} from a list of CustomResourceDefinition dicts."""
    names = sorted(c["metadata"]["name"] for c in crds
                   if (c.get("spec") or {}).get("group", "").endswith(ISTIO_GROUP_SUFFIX))
    missing = [n for n in REQUIRED_CRDS if n not in names]
    return {"installed": not missing, "names": names, "missing": missing}


def image_version(image):
    """The tag of an image reference ('docker.io/istio/pilot:1.30.0' -> '1.30.0'), digest-aware."""
    if not image:
        return None
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def istio_revisions(deployments):
    """One entry per istiod Deployment: revision, namespace, name, version, image, readiness."""
    out = []
    for dep in deployments:
        meta = dep.get("metadata") or {}
        labels = meta.get("labels") or {}
        containers = (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
        image = next((c.get("image") for c in containers if c.get("name") == "discovery"),
                     containers[0].get("image") if containers else None)
        status = dep.get("status") or {}
        wanted = (dep.get("spec") or {}).get("replicas", 1)
        out.append({
            "revision": labels.get(REVISION_LABEL) or "default",
            "namespace": meta.get("namespace"),
            "deployment": meta.get("name"),
            "version": labels.get("operator.istio.io/version") or image_version(image),
            "image": image,
            "ready": status.get("readyReplicas", 0) >= wanted and wanted > 0,
        })
    return sorted(out, key=lambda r: (r["revision"], r["namespace"] or ""))


def injection_namespaces(namespaces):
    """Namespaces with sidecar injection: mode 'enabled'/'disabled' (istio-injection) or 'revision'."""
    out = []
    for ns in namespaces:
        meta = ns.get("metadata") or {}
        labels = meta.get("labels") or {}
        if INJECTION_LABEL in labels:
            out.append({"name": meta["name"], "label": INJECTION_LABEL, "value": labels[INJECTION_LABEL],
                        "mode": "enabled" if labels[INJECTION_LABEL] == "enabled" else "disabled",
                        "conflict": REVISION_LABEL in labels})
        elif REVISION_LABEL in labels:
            out.append({"name": meta["name"], "label": REVISION_LABEL, "value": labels[REVISION_LABEL],
                        "mode": "revision", "conflict": False})
    return sorted(out, key=lambda n: n["name"])


TAG_LABEL = "istio.io/tag"


def revision_tags(webhooks):
    """Revision tags from the MutatingWebhookConfigurations labelled ``istio.io/tag``: {tag, revision, webhook,
    release} (``release``: the Helm release that owns it, from the chart's ``release`` label; empty when istioctl
    or kubectl made it)."""
    out = []
    for mwc in webhooks:
        meta = mwc.get("metadata") or {}
        labels = meta.get("labels") or {}
        if TAG_LABEL not in labels:
            continue
        annotations = meta.get("annotations") or {}
        out.append({"tag": labels[TAG_LABEL], "revision": labels.get(REVISION_LABEL) or "default",
                    "webhook": meta.get("name"), "release": annotations.get("meta.helm.sh/release-name") or ""})
    return sorted(out, key=lambda t: t["tag"])


RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
RESTARTED_FOR = "aksmesh.io/restarted-for-revision"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def workloads(items):
    """The pod controllers a revision upgrade restarts: {kind, namespace, name, restarted_at, restarted_for}, where
    ``restarted_for`` is the revision the collection last restarted it for (pod-template annotation)."""
    out = []
    for item in items:
        meta = item.get("metadata") or {}
        template = ((item.get("spec") or {}).get("template") or {}).get("metadata") or {}
        notes = template.get("annotations") or {}
        out.append({"kind": item.get("kind"), "namespace": meta.get("namespace"), "name": meta.get("name"),
                    "restarted_at": notes.get(RESTARTED_AT), "restarted_for": notes.get(RESTARTED_FOR)})
    return sorted(out, key=lambda w: (w["namespace"] or "", w["kind"] or "", w["name"] or ""))


def restart_patches(items, revision, at):
    """Apply patches that restart each workload not yet restarted for ``revision``, as ``kubectl rollout restart``
    does (the pod-template ``restartedAt`` annotation, here ``at``), and record the revision beside it so a
    second run for the same revision restarts nothing."""
    out = []
    for w in items:
        if w.get("restarted_for") == revision or w.get("kind") not in WORKLOAD_KINDS:
            continue
        out.append({"apiVersion": "apps/v1", "kind": w["kind"],
                    "metadata": {"name": w["name"], "namespace": w["namespace"]},
                    "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at, RESTARTED_FOR: revision}}}}})
    return out
