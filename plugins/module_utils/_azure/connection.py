# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure connection options, the azure-identity credential they select, and management clients.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible_collections.aksmesh.istio.plugins.module_utils._azure import names as azure_names

AZURE_IMP_ERR = None
try:
    from azure.identity import (AzureCliCredential, ClientSecretCredential, DefaultAzureCredential,
                                ManagedIdentityCredential)

    HAS_AZURE_IDENTITY = True
except ImportError:
    HAS_AZURE_IDENTITY = False
    AZURE_IMP_ERR = traceback.format_exc()

# name -> (Resource Manager endpoint, Microsoft Entra authority host)
CLOUDS = {
    "AzureCloud": ("https://management.azure.com", "https://login.microsoftonline.com"),
    "AzureChinaCloud": ("https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
    "AzureUSGovernment": ("https://management.usgovcloudapi.net", "https://login.microsoftonline.us"),
}

# pip package -> (import path, management client class)
SDK = {
    "azure-mgmt-containerservice": ("azure.mgmt.containerservice", "ContainerServiceClient"),
    "azure-mgmt-compute": ("azure.mgmt.compute", "ComputeManagementClient"),
    "azure-mgmt-network": ("azure.mgmt.network", "NetworkManagementClient"),
    "azure-mgmt-authorization": ("azure.mgmt.authorization", "AuthorizationManagementClient"),
}

# azure.azcollection's auth_source values: auto (this collection's choice below), the service principal of the
# environment, the Azure CLI's login, a managed identity; credential_file (~/.azure/credentials) is refused by name
AUTH_SOURCES = ("auto", "env", "cli", "msi", "credential_file")

AZURE_AUTH_ARG_SPEC = dict(
    subscription_id=dict(type="str", fallback=(env_fallback, ["AZURE_SUBSCRIPTION_ID"])),
    client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
    secret=dict(type="str", no_log=True, aliases=["client_secret"],
                fallback=(env_fallback, ["AZURE_SECRET", "AZURE_CLIENT_SECRET"])),
    tenant=dict(type="str", aliases=["tenant_id"], fallback=(env_fallback, ["AZURE_TENANT", "AZURE_TENANT_ID"])),
    cloud_environment=dict(type="str", default="AzureCloud", choices=sorted(CLOUDS),
                           fallback=(env_fallback, ["AZURE_CLOUD_ENVIRONMENT"])),
    resource_manager_endpoint=dict(type="str", fallback=(env_fallback, ["AZURE_RESOURCE_MANAGER_ENDPOINT"])),
    authority_host=dict(type="str", fallback=(env_fallback, ["AZURE_AUTHORITY_HOST"])),
    poll_interval=dict(type="float", default=5.0, fallback=(env_fallback, ["AKSMESH_AZURE_POLL_INTERVAL"])),
    # azure.azcollection's names, so that one module_defaults block (or AWX's injected environment) serves both
    auth_source=dict(type="str", default="auto", choices=list(AUTH_SOURCES),
                     fallback=(env_fallback, ["ANSIBLE_AZURE_AUTH_SOURCE"])),
    ad_user=dict(type="str", fallback=(env_fallback, ["AZURE_AD_USER"])),
    password=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_PASSWORD"])),
)


class AzureConnectionError(Exception):
    """The Azure options are incomplete or inconsistent."""


def credential_choice(params, environ):
    """(kind, client_id, tenant) of the credential the options select.

    A secret makes a service principal, which needs client_id and tenant too. Without a secret, client_id names
    a user-assigned managed identity or, with a tenant and the federated token file that the AKS workload
    identity webhook injects (AZURE_FEDERATED_TOKEN_FILE), a workload identity; both go through
    DefaultAzureCredential, as does nothing at all (environment, managed identity, Azure CLI login).
    """
    client_id, secret, tenant = (params.get(k) for k in ("client_id", "secret", "tenant"))
    source = params.get("auth_source") or "auto"
    if params.get("ad_user") or params.get("password"):
        raise AzureConnectionError(
            "ad_user and password (AZURE_AD_USER, AZURE_PASSWORD: AWX's Azure Resource Manager credential with a "
            "username and password) sign a user in with a password alone, which Microsoft Entra ID refuses for "
            "accounts under multifactor authentication, mandatory for Azure sign-ins: this collection does not use "
            "them. Fix: give the credential a service principal (client ID, secret, tenant), or run with a managed "
            "or workload identity")
    if source == "credential_file":
        raise AzureConnectionError(
            "auth_source credential_file (~/.azure/credentials) is not read by this collection: give client_id, "
            "secret and tenant (or AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT), or auth_source cli, msi or auto")
    if source == "cli":
        return "cli", None, tenant
    if source == "msi":
        return "managed_identity", client_id, None
    if source == "env" and not (secret and client_id and tenant):
        raise AzureConnectionError(
            "auth_source env takes the service principal of the environment: set AZURE_CLIENT_ID, AZURE_SECRET "
            "and AZURE_TENANT (missing: %s)" % ", ".join(
                name for name, value in (("AZURE_CLIENT_ID", client_id), ("AZURE_SECRET", secret),
                                         ("AZURE_TENANT", tenant)) if not value))
    if secret:
        missing = [name for name, value in (("client_id", client_id), ("tenant", tenant)) if not value]
        if missing:
            raise AzureConnectionError(
                "a secret authenticates a service principal, which needs client_id and tenant too: set %s "
                "(or AZURE_CLIENT_ID / AZURE_TENANT); without a secret, client_id selects a managed or workload "
                "identity" % " and ".join(missing))
        return "service_principal", client_id, tenant
    if client_id and tenant and environ.get("AZURE_FEDERATED_TOKEN_FILE"):
        return "workload_identity", client_id, tenant
    if client_id:
        return "managed_identity", client_id, tenant
    return "default_chain", None, tenant


class AzureConnection(object):
    """Endpoints, subscription and credential chosen from module parameters."""

    def __init__(self, params):
        cloud = params.get("cloud_environment") or "AzureCloud"
        arm, authority = CLOUDS[cloud]
        self.resource_manager = (params.get("resource_manager_endpoint") or arm).rstrip("/")
        self.authority = (params.get("authority_host") or authority).rstrip("/")
        self.custom_authority = self.authority not in [hosts[1] for hosts in CLOUDS.values()]
        self.subscription_id = params.get("subscription_id")
        if not self.subscription_id:
            raise AzureConnectionError("subscription_id is required: set it or AZURE_SUBSCRIPTION_ID")
        self.scope = (arm if self.resource_manager == arm else self.resource_manager) + "/.default"
        self.kind, self._client_id, self._tenant = credential_choice(params, os.environ)
        self._params = params
        self._credential = None

    @property
    def credential_kind(self):
        """service_principal, workload_identity, managed_identity, cli or default_chain (see credential_choice)."""
        return self.kind

    @property
    def credential(self):
        if self._credential is None:
            kwargs = {"authority": self.authority}
            if self.custom_authority:
                kwargs["disable_instance_discovery"] = True
            if self.kind == "service_principal":
                self._credential = ClientSecretCredential(self._tenant, self._client_id, self._params["secret"],
                                                          **kwargs)
            elif self.kind == "cli":  # auth_source cli: the login of `az login` on the controller
                self._credential = AzureCliCredential(tenant_id=self._tenant)
            elif self.kind == "managed_identity" and self._params.get("auth_source") == "msi":
                self._credential = ManagedIdentityCredential(client_id=self._client_id)
            else:
                if self._client_id:
                    # a user-assigned managed identity, or the workload identity the AKS webhook injects
                    kwargs.update(managed_identity_client_id=self._client_id,
                                  workload_identity_client_id=self._client_id)
                if self._tenant:
                    kwargs["workload_identity_tenant_id"] = self._tenant
                self._credential = DefaultAzureCredential(exclude_interactive_browser_credential=True, **kwargs)
        return self._credential

    def sdk_client(self, package, **kwargs):
        """The management client of an SDK package named as pip names it (see SDK)."""
        path, class_name = SDK[package]
        return self.client(getattr(importlib.import_module(path), class_name), **kwargs)

    def client(self, client_class, **kwargs):
        """A management client (ContainerServiceClient, NetworkManagementClient, ...) for this connection."""
        return client_class(self.credential, self.subscription_id, base_url=self.resource_manager,
                            credential_scopes=[self.scope], **kwargs)


def require_azure(module, *packages):
    """Fail with missing_required_lib for azure-identity or any SDK package (pip names, see SDK)."""
    if not HAS_AZURE_IDENTITY:
        module.fail_json(msg=missing_required_lib("azure-identity"), exception=AZURE_IMP_ERR)
    for package in packages:
        try:
            importlib.import_module(SDK[package][0])
        except ImportError:
            module.fail_json(msg=missing_required_lib(package), exception=traceback.format_exc())


def connect(module, *packages):
    """The AzureConnection for a module's parameters, after checking the SDK packages it needs are there and the
    Azure names it was given (nothing is sent to Azure when one is empty or malformed)."""
    found = azure_names.problems(module.params, module.argument_spec)
    if found:
        module.fail_json(msg="%s: give the names as the Azure portal shows them; nothing was sent to Azure"
                         % "; ".join(found))
    require_azure(module, *packages)
    try:
        return AzureConnection(module.params)
    except AzureConnectionError as exc:
        module.fail_json(msg=str(exc))
