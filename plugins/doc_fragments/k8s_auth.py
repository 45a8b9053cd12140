# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig itself as a dictionary (for example the output of
        M(aksmesh.istio.aks_credentials)).
      - Given as a dictionary, its credentials (user tokens, passwords, client keys and certificates,
        auth-provider tokens and secrets, an exec plugin's environment values and secret flags) never appear in
        the module's result, errors, C(-vvv) output or log.
      - When neither O(kubeconfig) nor O(host) is given, the module uses in-cluster configuration inside a pod,
        else C(KUBECONFIG) or C(~/.kube/config).
      - Can be set with the E(K8S_AUTH_KUBECONFIG) environment variable.
    type: raw
  context:
    description:
      - The kubeconfig context to use. Defaults to the kubeconfig's current context.
      - Can be set with the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  host:
    description:
      - URL of the Kubernetes API server. Overrides the kubeconfig's server.
      - Can be set with the E(K8S_AUTH_HOST) environment variable.
    type: str
  api_key:
    description:
      - Bearer token for the API server.
      - Can be set with the E(K8S_AUTH_API_KEY) environment variable.
    type: str
  ca_cert:
    description:
      - Path to a CA certificate file to verify the API server with.
      - Can be set with the E(K8S_AUTH_SSL_CA_CERT) environment variable.
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Path to a client certificate for TLS client authentication.
      - Can be set with the E(K8S_AUTH_CERT_FILE) environment variable.
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the key of O(client_cert).
      - Can be set with the E(K8S_AUTH_KEY_FILE) environment variable.
    type: path
    aliases: [key_file]
  validate_certs:
    description:
      - Whether to verify the API server's certificate. Defaults to the kubeconfig's setting (verify).
      - Can be set with the E(K8S_AUTH_VERIFY_SSL) environment variable.
    type: bool
    aliases: [verify_ssl]
  request_timeout:
    description:
      - Seconds to wait for each API request.
    type: int
    default: 30
requirements:
  - kubernetes >= 37.0.0 (the official Kubernetes Python client)
"""
