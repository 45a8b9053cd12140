# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep Secret values out of module results and diffs.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import manifests

MASK = "********"
# A Secret key that holds a user name (the basic-auth Secret type's username, the collection's Grafana and Kiali
# Secrets' username, admin-user, ...): a user name is no secret. Masking it made Ansible hide every occurrence of
# a common word such as admin in the module's output ("User aud-********" in an RBAC error).
PUBLIC_KEY = re.compile(r"(^|[-_.])(user|username|user-name|user_name)\Z", re.IGNORECASE)


def public_key(key):
    """Whether the Secret key ``key`` holds a value that is no secret (a user name): shown, never masked."""
    return bool(PUBLIC_KEY.search(str(key)))


def redact(obj):
    """A copy of ``obj`` with every Secret's data/stringData values masked (keys, and user names, stay visible)."""
    if not isinstance(obj, dict) or obj.get("kind") != "Secret":
        return obj
    out = copy.deepcopy(obj)
    for field in ("data", "stringData"):
        if isinstance(out.get(field), dict):
            out[field] = dict((k, v if public_key(k) else MASK) for k, v in out[field].items())
    annotations = (out.get("metadata") or {}).get("annotations") or {}
    if "kubectl.kubernetes.io/last-applied-configuration" in annotations:
        annotations["kubectl.kubernetes.io/last-applied-configuration"] = MASK
    return out


CHANGED = MASK + " (changed)"


def redact_pair(before, after):
    """Copies of two Secrets (either may be None) with their values masked; a value that differs between them is
    masked as changed on the after side, so a diff still shows which keys change, never what they hold."""
    def values(obj):
        out = {}
        for field in ("data", "stringData"):
            if isinstance((obj or {}).get(field), dict):
                out.update(((field, k), v) for k, v in obj[field].items())
        return out
    old, new = values(before), values(after)
    masked_after = redact(after) if after is not None else None
    if masked_after is not None:
        for (field, key), value in new.items():
            if (field, key) in old and old[(field, key)] != value and not public_key(key):
                masked_after[field][key] = CHANGED
    return (redact(before) if before is not None else None), masked_after


def secret_values(objs):
    """Every Secret value in ``objs`` (as given, and base64-decoded), to add to a module's no_log values; user
    names (``public_key``) are none."""
    values = set()
    for obj in objs:
        if not isinstance(obj, dict) or obj.get("kind") != "Secret":
            continue
        for field in ("data", "stringData"):
            given = obj.get(field)
            for key, value in given.items() if isinstance(given, dict) else []:
                if value and not public_key(key):
                    values.add(str(value))
                    if field == "data":
                        try:
                            values.add(base64.b64decode(value).decode("utf-8"))
                        except (ValueError, UnicodeDecodeError):
                            pass
    return values


def definition_secrets(definitions):
    """Every Secret value in a module's ``definitions`` argument as given (objects, lists, ``v1/List``, YAML text),
    before it is validated: documents that are not objects are skipped, text that is not YAML gives none."""
    if definitions is None:
        return set()
    try:
        pairs = manifests.expand([definitions])
    except manifests.ManifestError:
        return set()
    return secret_values([obj for obj, _where in pairs])


def raw_secrets(params):
    """The Secret values of a module's raw ``definitions`` argument (or its alias ``definition``), to be no-log
    values before the arguments are validated (MaskingModule, and the controller's run of a module)."""
    values = set()
    for name in ("definitions", "definition"):  # apply's option and its alias (kubernetes.core's name)
        values.update(definition_secrets(params.get(name)))
    return values


class MaskingModule(AnsibleModule):
    """An AnsibleModule whose ``definitions`` argument (or its alias ``definition``) may hold Secrets: their values are no-log values as soon as
    the arguments are read, before argument validation or anything else can fail. Ansible then masks them in the
    result, every error, the invocation shown at -vvv and the module's log, and the task needs no ``no_log``
    (which would hide its errors too)."""

    raw_secrets = staticmethod(raw_secrets)  # KubeModule adds a kubeconfig mapping's credentials

    def _load_params(self):
        super(MaskingModule, self)._load_params()
        self.no_log_values.update(self.raw_secrets(self.params))
