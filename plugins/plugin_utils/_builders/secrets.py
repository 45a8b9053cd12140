# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grafana and Kiali credential Secrets (``username``/``passphrase``; Kiali's also ``signing-key``), three ways:

- from the vaulted variables, base64 done here;
- with placeholders (render mode: the render folder never holds a secret value): ``stringData`` whose values say
  what to set, annotated so that Flux creates the Secret only when it is absent and never overwrites the real one;
- from an Azure Key Vault: a Secrets Store CSI ``SecretProviderClass`` per Secret that syncs the Key Vault secrets
  into a Secret of the same name (``secretObjects``) once a pod mounts it (the addons role mounts it).

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import re
from collections.abc import Mapping

from ansible_collections.aksmesh.istio.plugins.module_utils._azure.istio_addon import KEY_VAULT_NAME, KEY_VAULT_OBJECT
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError, obj

SPC_API = "secrets-store.csi.x-k8s.io/v1"
PLACEHOLDER = "<set-me: %s>"
PLACEHOLDER_ANNOTATIONS = {
    "aksmesh.io/values": "placeholder",
    # Flux applies the object only when it does not exist: it never overwrites the Secret you created
    "kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent",
}
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")
# app -> the Secret's keys, in order; the Key Vault secret each one is read from, by default
KEYS = {"grafana": ("username", "passphrase"), "kiali": ("username", "passphrase", "signing-key")}
KEY_VAULT_OBJECTS = {
    "grafana_username": "grafana-username", "grafana_passphrase": "grafana-passphrase",
    "kiali_username": "kiali-username", "kiali_passphrase": "kiali-passphrase",
    "kiali_signing_key": "kiali-signing-key",
}
# values that are no user name or passphrase (a vaulted value is a string, or ansible's vault object, neither of these)
NOT_TEXT = (bool, float, Mapping, list, tuple, set)
KEY_VAULT_KEYS = ("name", "tenant_id", "client_id", "identity", "cloud_name", "objects")
IDENTITIES = ("managed", "workload")


def b64(value):
    return base64.b64encode(str(value).encode("utf-8")).decode("ascii")


def signing_key(passphrase):
    """Kiali's session-signing key (AES-256: 32 characters), derived from its passphrase so reruns agree."""
    return hashlib.sha256(("aksmesh-kiali-signing:" + passphrase).encode("utf-8")).hexdigest()[:32]


def key_vault_settings(key_vault):
    """``key_vault`` checked, with the defaults filled in; MeshConfigError naming the key at fault."""
    unknown = sorted(set(key_vault) - set(KEY_VAULT_KEYS))
    if unknown:
        raise MeshConfigError("key_vault", "unknown key(s) %s; the keys are %s" % (
            ", ".join(unknown), ", ".join(KEY_VAULT_KEYS)))
    out = dict({"identity": "managed", "cloud_name": ""}, **key_vault)
    if not KEY_VAULT_NAME.match(str(out.get("name") or "")):
        raise MeshConfigError("key_vault", "name %r is not a Key Vault name (3 to 24 letters, digits and '-', starting "
                                           "with a letter): name the vault that holds the credentials"
                              % (out.get("name"),))
    for key, what in (("tenant_id", "the Microsoft Entra tenant of the vault"),
                      ("client_id", "the client ID of the identity that reads the vault (the AKS Key Vault "
                                    "secrets provider's managed identity, or a workload identity)")):
        if not GUID.match(str(out.get(key) or "")):
            raise MeshConfigError("key_vault", "%s %r is not a GUID: give %s" % (key, out.get(key), what))
    if out["identity"] not in IDENTITIES:
        raise MeshConfigError("key_vault", "identity %r: use managed (the add-on's managed identity) or workload "
                                           "(Microsoft Entra Workload ID)" % (out["identity"],))
    objects = out.get("objects") or {}
    unknown = sorted(set(objects) - set(KEY_VAULT_OBJECTS))
    if unknown:
        raise MeshConfigError("key_vault", "objects: unknown key(s) %s; the keys are %s" % (
            ", ".join(unknown), ", ".join(sorted(KEY_VAULT_OBJECTS))))
    out["objects"] = dict(KEY_VAULT_OBJECTS, **objects)
    for key, name in sorted(out["objects"].items()):
        if not KEY_VAULT_OBJECT.match(str(name or "")):
            raise MeshConfigError("key_vault", "objects.%s %r is not a Key Vault secret name (letters, digits and "
                                               "'-', at most 127)" % (key, name))
    return out


def provider_class(app, secret_name, namespace, vault):
    """The SecretProviderClass ``secret_name`` that mounts ``app``'s Key Vault secrets and syncs them into the
    Secret ``secret_name``."""
    names = [(key, vault["objects"]["%s_%s" % (app, key.replace("-", "_"))]) for key in KEYS[app]]
    parameters = {"usePodIdentity": "false", "keyvaultName": vault["name"], "tenantId": vault["tenant_id"],
                  "objects": "array:\n" + "".join("  - |\n    objectName: %s\n    objectType: secret\n" % name
                                                  for _key, name in names)}
    if vault["identity"] == "managed":
        parameters.update(useVMManagedIdentity="true", userAssignedIdentityID=vault["client_id"])
    else:
        parameters["clientID"] = vault["client_id"]
    if vault["cloud_name"]:
        parameters["cloudName"] = vault["cloud_name"]
    spec = {"provider": "azure", "parameters": parameters, "secretObjects": [{
        "secretName": secret_name, "type": "Opaque", "labels": {"app": app},
        "data": [{"objectName": name, "key": key} for key, name in names]}]}
    return obj(SPC_API, "SecretProviderClass", secret_name, namespace, spec, extra_labels={"app": app})


def placeholder_secret(app, secret_name, namespace, username):
    """``app``'s Secret with its user name and, for every secret value, a placeholder that says what to set."""
    what = {"passphrase": "the %s passphrase" % app.capitalize(),
            "signing-key": "32 random characters, Kiali's login-token signing key"}
    string_data = {"username": username or PLACEHOLDER % ("the %s user name" % app.capitalize())}
    string_data.update((key, PLACEHOLDER % what[key]) for key in KEYS[app][1:])
    secret = obj("v1", "Secret", secret_name, namespace, type="Opaque", stringData=string_data,
                 extra_labels={"app": app})
    secret["metadata"]["annotations"] = dict(PLACEHOLDER_ANNOTATIONS)
    return secret


def credential_secrets(namespace, state, grafana_secret_name, grafana_username, grafana_passphrase,
                       kiali_secret_name, kiali_username, kiali_passphrase, placeholders, key_vault):
    """The Grafana and Kiali Secrets in ``namespace`` (or, with ``key_vault``, the SecretProviderClasses that make
    them); with ``state=absent`` only their identity (enough to delete)."""
    if not namespace:
        raise MeshConfigError("namespace", "is empty: name the namespace of the addons")
    vault = key_vault_settings(key_vault) if key_vault else None
    credentials = {"grafana": (grafana_secret_name, grafana_username, grafana_passphrase),
                   "kiali": (kiali_secret_name, kiali_username, kiali_passphrase)}
    out = []
    for app, (secret_name, username, passphrase) in sorted(credentials.items()):
        if not secret_name:
            raise MeshConfigError("%s_secret_name" % app, "is empty: name the %s credential Secret" % app)
        if state == "absent":
            if vault:
                out.append(obj(SPC_API, "SecretProviderClass", secret_name, namespace))
            out.append(obj("v1", "Secret", secret_name, namespace))
        elif vault:
            out.append(provider_class(app, secret_name, namespace, vault))
        elif placeholders:
            out.append(placeholder_secret(app, secret_name, namespace, username))
        else:
            for key, value in (("username", username), ("passphrase", passphrase)):
                if isinstance(value, NOT_TEXT):
                    # str() of it went into the Secret: a passphrase ['a'] became the text "['a']"
                    raise MeshConfigError("%s_%s" % (app, key), "is a %s, not a string: give the %s as one string "
                                                                "(quote it in YAML), from a vaulted variable"
                                          % (type(value).__name__, "user name" if key == "username" else key))
                if not value:
                    raise MeshConfigError("%s_%s" % (app, key), "is empty: set it from a vaulted variable (the %s "
                                                                "credential Secret needs a user name and a "
                                                                "passphrase), or name a Key Vault in O(key_vault)"
                                          % app)
            data = {"username": b64(username), "passphrase": b64(passphrase)}
            if app == "kiali":
                data["signing-key"] = b64(signing_key(passphrase))
            out.append(obj("v1", "Secret", secret_name, namespace, type="Opaque", data=data,
                           extra_labels={"app": app}))
    return out
