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


def credential_secrets(namespace, state, grafana_secret_name, grafana_username, grafana_passphrase,
                       kiali_secret_name, kiali_username, kiali_passphrase):
    """The Grafana and Kiali Secrets in ``namespace``; with ``state=absent`` only their identity (enough to delete)."""
    if not namespace:
        raise MeshConfigError("namespace", "is empty: name the namespace of the addons")
    credentials = {"grafana": (grafana_secret_name, grafana_username, grafana_passphrase),
                   "kiali": (kiali_secret_name, kiali_username, kiali_passphrase)}
    out = []
    for app, (secret_name, username, passphrase) in sorted(credentials.items()):
        if not secret_name:
            raise MeshConfigError("%s_secret_name" % app, "is empty: name the %s credential Secret" % app)
        if state == "absent":
            out.append(obj("v1", "Secret", secret_name, namespace, "secrets"))
            continue
        for key, value in (("username", username), ("passphrase", passphrase)):
            if not value:
                raise MeshConfigError("%s_%s" % (app, key), "is empty: set it from a vaulted variable (the %s "
                                                            "credential Secret needs a user name and a passphrase)"
                                      % app)
        data = {"username": b64(username), "passphrase": b64(passphrase)}
        if app == "kiali":  # Kiali's session-signing key (AES-256: 32 characters), derived so reruns agree
            data["signing-key"] = b64(hashlib.sha256(("aksmesh-kiali-signing:" + passphrase).encode(
                "utf-8")).hexdigest()[:32])
        out.append(obj("v1", "Secret", secret_name, namespace, "secrets", type="Opaque", data=data,
                       extra_labels={"app": app}))
    return out
