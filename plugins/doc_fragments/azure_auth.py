# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  subscription_id:
    description:
      - Azure subscription ID.
      - Can be set with the E(AZURE_SUBSCRIPTION_ID) environment variable.
    type: str
  client_id:
    description:
      - Application (client) ID. With O(secret) (and O(tenant)), the module authenticates as that service
        principal.
      - Without O(secret), the client ID of a user-assigned managed identity, or of the workload identity that the
        AKS workload identity webhook injects (E(AZURE_CLIENT_ID), E(AZURE_TENANT_ID) and
        E(AZURE_FEDERATED_TOKEN_FILE), as in AWX container groups on AKS); the module then uses azure-identity's
        C(DefaultAzureCredential) chain with this client ID.
      - Without O(client_id) and O(secret), the module uses C(DefaultAzureCredential) as it is (environment
        variables, workload identity, system-assigned managed identity, Azure CLI login).
      - Can be set with the E(AZURE_CLIENT_ID) environment variable.
    type: str
  secret:
    description:
      - Client secret of the service principal. Never logged.
      - A secret makes the credential a service principal, which needs O(client_id) and O(tenant) too.
      - Can be set with the E(AZURE_SECRET) (azure.azcollection's name) or E(AZURE_CLIENT_SECRET)
        (azure-identity's name) environment variable.
    type: str
    aliases: [client_secret]
  tenant:
    description:
      - Microsoft Entra tenant ID of the service principal or the workload identity.
      - Can be set with the E(AZURE_TENANT) or E(AZURE_TENANT_ID) environment variable.
    type: str
    aliases: [tenant_id]
  cloud_environment:
    description:
      - The Azure cloud, which selects the Resource Manager endpoint and the Entra authority.
      - Can be set with the E(AZURE_CLOUD_ENVIRONMENT) environment variable.
    type: str
    default: AzureCloud
    choices: [AzureChinaCloud, AzureCloud, AzureUSGovernment]
  resource_manager_endpoint:
    description:
      - Override of the Resource Manager endpoint URL, for Azure Stack or private endpoints.
      - Can be set with the E(AZURE_RESOURCE_MANAGER_ENDPOINT) environment variable.
    type: str
  authority_host:
    description:
      - Override of the Microsoft Entra authority host URL. Instance discovery is turned off for hosts
        that are not one of the public clouds' authorities.
      - Can be set with the E(AZURE_AUTHORITY_HOST) environment variable (azure-identity's own name).
    type: str
  poll_interval:
    description:
      - Seconds between polls of a long-running Azure operation when Azure does not say (C(Retry-After)).
      - Can be set with the E(AKSMESH_AZURE_POLL_INTERVAL) environment variable.
    type: float
    default: 5
  auth_source:
    description:
      - Where the credential comes from, as azure.azcollection names it. V(auto) chooses from O(secret) and
        O(client_id) as described there; V(env) the service principal of the environment (E(AZURE_CLIENT_ID),
        E(AZURE_SECRET), E(AZURE_TENANT), each required); V(cli) the Azure CLI's login on the controller
        (C(az login)); V(msi) a managed identity (O(client_id) for a user-assigned one).
      - V(credential_file) (C(~/.azure/credentials)) is refused by name; give the options or the environment
        instead.
      - Can be set with the E(ANSIBLE_AZURE_AUTH_SOURCE) environment variable.
    type: str
    default: auto
    choices: [auto, env, cli, msi, credential_file]
  ad_user:
    description:
      - azure.azcollection's user name for a password sign-in (AWX's Azure Resource Manager credential with a
        username and password injects E(AZURE_AD_USER) and E(AZURE_PASSWORD)).
      - Refused by name, before any request, because Microsoft Entra ID refuses a password sign-in alone for
        accounts under multifactor authentication. Give the credential a service principal, or use a managed or
        workload identity.
    type: str
  password:
    description:
      - The password of O(ad_user); refused with it. Never logged.
    type: str
requirements:
  - azure-identity >= 1.13.0
"""
