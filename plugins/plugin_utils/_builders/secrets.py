# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grafana and Kiali credential Secrets (``username``/``passphrase``), base64 done here.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError, obj


def b64(value):
    return base64.b64encode(str(value).encode("utf-8")).decode("ascii")


def credential_secrets(config):
    """config: {namespace, credentials: {name: {username, passphrase}}} -> Secret objects."""
    out = []
    removing = config.get("state") == "absent"
    for name, cred in sorted((config.get("credentials") or {}).items()):
        cred = cred or {}
        namespace = config.get("namespace") or "istio-system"
        if removing:  # identity is enough to delete
            out.append(obj("v1", "Secret", cred.get("secret_name") or name, namespace, "secrets"))
            continue
        for key in ("username", "passphrase"):
            if not cred.get(key):
                raise MeshConfigError("credentials for %s: %s is empty; set mesh_secrets_%s_%s from a vaulted "
                                      "variable" % (name, key, name, key))
        data = {"username": b64(cred["username"]), "passphrase": b64(cred["passphrase"])}
        if name == "kiali":  # Kiali's session-signing key (AES-256: 32 characters), derived so reruns agree
            data["signing-key"] = b64(hashlib.sha256(("aksmesh-kiali-signing:" + cred["passphrase"]).encode(
                "utf-8")).hexdigest()[:32])
        out.append(obj("v1", "Secret", cred.get("secret_name") or name, namespace, "secrets", type="Opaque",
                       data=data, extra_labels={"app": name}))
    return out
