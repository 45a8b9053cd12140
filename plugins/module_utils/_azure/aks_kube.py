# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Kubernetes client for an AKS cluster: the given connection options, else its user credentials from ARM.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._azure.aks_cluster import kubeconfig_text
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import AzureOperationError
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import api_client, kubeconfig_secrets
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError, RestClient, list_items

CONNECTION_KEYS = ("kubeconfig", "context", "host")


def has_connection(params):
    return any(params.get(key) for key in CONNECTION_KEYS)


def rest_client(params, cs_client, resource_group, name, no_log_values=None):
    """RestClient from the kube options when any is set, else from the cluster user kubeconfig (in memory; its
    credentials go into ``no_log_values``, the module's)."""
    if has_connection(params):
        return RestClient(api_client(params), timeout=params.get("request_timeout") or 30)
    import yaml
    config = yaml.safe_load(kubeconfig_text(cs_client, resource_group, name))
    if no_log_values is not None:
        no_log_values.update(kubeconfig_secrets(config))
    return RestClient(api_client(dict(params, kubeconfig=config)), timeout=params.get("request_timeout") or 30)


def cluster_items(module, cs_client, path, what, fix, **query):
    """The items of a LIST request in the module's AKS cluster (``rest_client``); when the cluster cannot be read,
    fails the module with ``what``, the cause and the ``fix``."""
    p = module.params
    try:
        return list_items(rest_client(p, cs_client, p["resource_group"], p["name"], module.no_log_values), path,
                          **query)
    except (K8sApiError, AzureOperationError) as exc:
        module.fail_json(msg="%s: %s. Fix: %s" % (what, exc, fix))
    except Exception as exc:  # no kubeconfig, TLS, refused: anything on the way to the API server
        module.fail_json(msg="%s: cannot reach the Kubernetes API: %s. Fix: %s" % (what, exc, fix))
