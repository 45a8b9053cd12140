# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every object the collection builds carries: labels that let cleanup and prune find it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "aksmesh"
STAGE = "aksmesh.io/stage"


class MeshConfigError(ValueError):
    """A role variable describes something that cannot work; the message names it and the fix."""


def labels(stage, extra=None):
    out = {MANAGED_BY: MANAGER, STAGE: stage}
    out.update(extra or {})
    return out


def obj(api_version, kind, name, namespace, stage, spec=None, extra_labels=None, **top):
    out = {"apiVersion": api_version, "kind": kind,
           "metadata": {"name": name, "labels": labels(stage, extra_labels)}}
    if namespace:
        out["metadata"]["namespace"] = namespace
    if spec is not None:
        out["spec"] = spec
    out.update(top)
    return out


def selector_for(stage):
    return "%s=%s,%s=%s" % (MANAGED_BY, MANAGER, STAGE, stage)


def require(item, keys, where):
    missing = [k for k in keys if item.get(k) in (None, "", [])]
    if missing:
        raise MeshConfigError("%s: missing %s" % (where, ", ".join(missing)))


def namespaces(config):
    """Namespace objects for ``config["names"]`` (duplicates and empty names dropped), labelled for ``stage``."""
    out, seen = [], set()
    for name in config.get("names") or []:
        if name and name not in seen:
            seen.add(name)
            out.append(obj("v1", "Namespace", name, None, config.get("stage") or "namespaces"))
    return out


def references(config):
    """Bare objects (apiVersion, kind, name) for ``config["names"]``: what ``apply`` needs to delete them."""
    require(config, ["api_version", "kind"], "references")
    return [{"apiVersion": config["api_version"], "kind": config["kind"], "metadata": {"name": name}}
            for name in config.get("names") or [] if name]
