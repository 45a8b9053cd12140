# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes Gateway API's CRDs: which bundle the collection installs, and what a cluster already has.

This file is private to the aksmesh.istio collection: its contents may change at any time.

The bundle is the standard channel (``config/crd/standard``) of the ``sigs.k8s.io/gateway-api`` module at the version
the tested Istio requires, read out of the module's zip as a Go module proxy serves it and checked against the hash
the Go checksum database and Istio's go.sum hold for it (``H1``): the pinned value does not come from the server.
Experimental-channel CRDs are refused, as AKS's managed Gateway API refuses them.

What a cluster already has decides what the gateway-api stage does (``plan``):

- no Gateway API CRD: it installs the bundle (its CRDs and the ValidatingAdmissionPolicy the folder holds);
- CRDs the collection installed (its managed-by label): it applies the bundle again (an upgrade when the pinned
  version changed);
- CRDs another installer made (AKS's managed Gateway API, a GitOps tool, kubectl): it leaves them, and says which
  bundle and which field manager; an older bundle than the pinned one is said too;
- any experimental-channel CRD: it fails, naming them, before any stage changes anything.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._files import gomod
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import manifests
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MANAGED_BY, MANAGER, labels

MODULE = "sigs.k8s.io/gateway-api"
# the version the pinned Istio's go.mod requires (tools/tools.lock.json's gateway-api entry; a unit test keeps the two
# equal) and its hash in the Go checksum database (go.sum: "sigs.k8s.io/gateway-api v1.6.0 h1:...")
VERSION = "v1.6.0"
H1 = "h1:735YBRj5NXFrOGX0GoSjwzUIzbz8kiEOfADsqHFmHgE="
FOLDER = "config/crd/standard"
PROXY = "https://proxy.golang.org"
GROUP = "gateway.networking.k8s.io"
CHANNEL = GROUP + "/channel"
BUNDLE = GROUP + "/bundle-version"
CRD = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")
# the kinds the standard channel's folder holds, with the API path of their collection: the gateway-api stage's
# RBAC rules (plugins/plugin_utils/_permissions.py) grant these, so a bundle with another kind is refused
KINDS = {
    CRD: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"):
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"):
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
}


class GatewayApiError(Exception):
    """The bundle cannot be read, or the cluster's Gateway API CRDs cannot be used; the message says why and the fix."""


def module_zip_url(proxy, version=VERSION):
    """Where a Go module proxy serves the module's zip."""
    return "%s/%s/@v/%s.zip" % (proxy.rstrip("/"), MODULE, version)


def bundle(zip_path, version=VERSION):
    """The objects of the standard channel (CRDs first, then the rest, each file in name order) from the module zip
    at ``zip_path`` (already checked against its hash), with the collection's labels besides upstream's (the stage
    label left for the stage to fill in)."""
    try:
        files = gomod.folder_files(zip_path, MODULE, version, FOLDER, ".yaml")
    except gomod.ModuleZipError as exc:
        raise GatewayApiError("the Gateway API module zip %s cannot be read: %s" % (zip_path, exc))
    objects = []
    for name in sorted(files):
        try:
            objects.extend(manifests.load_text(files[name], origin="%s of the Gateway API module" % name))
        except manifests.ManifestError as exc:
            raise GatewayApiError(str(exc))
    unknown = sorted(set("%s %s" % (obj.get("apiVersion"), obj.get("kind")) for obj in objects
                         if (obj.get("apiVersion"), obj.get("kind")) not in KINDS))
    if unknown:
        raise GatewayApiError("the Gateway API %s bundle holds %s, which the collection does not know (its RBAC "
                              "roles and cleanup cover %s): use the version the collection pins, %s" % (
                                  version, ", ".join(unknown), ", ".join(kind for _v, kind in KINDS), VERSION))
    for obj in objects:
        meta = obj.setdefault("metadata", {})
        meta["labels"] = dict(meta.get("labels") or {}, **labels())
    return sorted(objects, key=lambda obj: (obj.get("kind") != CRD[1],))


def path_of(obj):
    """The API path of one bundle object."""
    return "%s/%s" % (KINDS[(obj["apiVersion"], obj["kind"])], obj["metadata"]["name"])


def ours(obj):
    """Whether a cluster object carries the collection's managed-by label."""
    return ((obj.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY) == MANAGER


def _manager(crd):
    """The field manager that wrote the CRD's spec last (its managedFields), or the first one it names."""
    fields = (crd.get("metadata") or {}).get("managedFields") or []
    owners = [entry.get("manager") for entry in fields if "f:spec" in (entry.get("fieldsV1") or {})]
    return (owners or [entry.get("manager") for entry in fields] or ["unknown"])[-1] or "unknown"


def _version_key(text):
    try:
        return tuple(int(part) for part in text.lstrip("v").split("-")[0].split("."))
    except (AttributeError, ValueError):
        return ()


def plan(existing, version=VERSION):
    """What the stage does with the cluster's Gateway API CRDs ``existing`` (their objects): a dict with ``action``
    (``install``, ``upgrade``, ``keep``), ``found`` ([{name, channel, bundle_version, manager, ours}]), ``message``
    (one line for the run's output) and ``warnings``; raises GatewayApiError for experimental-channel CRDs."""
    found = []
    for crd in sorted(existing, key=lambda c: c["metadata"]["name"]):
        meta = crd["metadata"]
        annotations = meta.get("annotations") or {}
        found.append({"name": meta["name"], "channel": annotations.get(CHANNEL, ""),
                      "bundle_version": annotations.get(BUNDLE, ""), "manager": _manager(crd),
                      "ours": ours(crd)})
    going = sorted(crd["metadata"]["name"] for crd in existing if crd["metadata"].get("deletionTimestamp"))
    if going:
        raise GatewayApiError("the cluster's Gateway API CRDs %s are being deleted (their objects go first). Nothing was "
                              "changed. Fix: run again once they are gone" % ", ".join(going))
    experimental = [item["name"] for item in found if item["channel"] == "experimental"]
    if experimental:
        raise GatewayApiError(
            "the cluster has experimental-channel Gateway API CRDs (%s): the collection installs and uses the standard "
            "channel only, as AKS's managed Gateway API does, and Istio's support of the experimental kinds may change "
            "in any release. Nothing was changed. Fix: replace them with the standard channel (remove the "
            "experimental CRDs; their objects go with them), or set aksmesh_gateway_api_crds: false and manage the "
            "CRDs yourself" % ", ".join(experimental))
    if not found:
        return dict(action="install", found=found, warnings=[],
                    message="installs the Gateway API %s CRDs (standard channel)" % version)
    if all(item["ours"] for item in found):
        versions = sorted(set(item["bundle_version"] for item in found))
        return dict(action="upgrade" if versions != [version] else "install", found=found, warnings=[],
                    message="keeps its Gateway API CRDs at %s (standard channel)%s" % (
                        version, "; they were %s" % ", ".join(versions) if versions != [version] else ""))
    theirs = [item for item in found if not item["ours"]]
    if len(theirs) < len(found):
        raise GatewayApiError(
            "the cluster's Gateway API CRDs are partly the collection's (%s) and partly another installer's (%s, "
            "written by %s): one installer must own them all. Nothing was changed. Fix: remove one installer's "
            "CRDs, or set aksmesh_gateway_api_crds: false" % (
                ", ".join(item["name"] for item in found if item["ours"]),
                ", ".join(item["name"] for item in theirs), ", ".join(sorted(set(i["manager"] for i in theirs)))))
    managers = sorted(set(item["manager"] for item in theirs))
    versions = sorted(set(item["bundle_version"] or "(no bundle-version annotation)" for item in theirs))
    message = ("leaves the cluster's Gateway API CRDs (%s, written by %s) as they are" % (
        ", ".join(versions), ", ".join(managers)))
    warnings = []
    older = [v for v in versions if _version_key(v) and _version_key(v) < _version_key(version)]
    if older:
        warnings.append("the cluster's Gateway API CRDs are bundle %s, older than the %s this Istio is tested with: "
                        "a Gateway API field the older CRDs lack is dropped by the API server. Upgrade them where they "
                        "are managed (AKS's managed Gateway API follows the cluster's Kubernetes version)"
                        % (", ".join(older), version))
    return dict(action="keep", found=found, warnings=warnings, message=message)
