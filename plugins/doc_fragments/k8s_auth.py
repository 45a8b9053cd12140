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
      - Several files can be given separated by C(:) (C(;) on Windows), as in E(KUBECONFIG); they are merged as
        the Kubernetes Python client (and kubernetes.core) merges them. The entries of all files are read (of
        entries with the same name, the first file's), and the current context is the last file's that names one.
      - Given as a dictionary, its credentials (user tokens, passwords, client keys and certificates,
        auth-provider tokens and secrets, an exec plugin's environment values and secret flags) never appear in
        the module's result, errors, C(-vvv) output or log.
      - When neither O(kubeconfig) nor O(host) is given, the module uses in-cluster configuration inside a pod,
        else E(KUBECONFIG) (all its files, merged; files that do not exist are skipped, as C(kubectl) does) or
        C(~/.kube/config).
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
  proxy:
    description:
      - URL of an HTTP proxy to reach the API server through.
      - Can be set with the E(K8S_AUTH_PROXY) environment variable.
    type: str
  no_proxy:
    description:
      - Comma-separated hosts, domains, IP addresses or CIDRs to reach without O(proxy).
      - Can be set with the E(K8S_AUTH_NO_PROXY) environment variable.
    type: str
  proxy_headers:
    description:
      - Headers to send to O(proxy).
    type: dict
    suboptions:
      proxy_basic_auth:
        description:
          - C(user:password) for the proxy's basic authentication (a C(Proxy-Authorization) header).
          - Can be set with the E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH) environment variable.
        type: str
      basic_auth:
        description:
          - C(user:password) for an C(Authorization) header to the proxy.
          - Can be set with the E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH) environment variable.
        type: str
      user_agent:
        description:
          - The C(User-Agent) header to the proxy.
          - Can be set with the E(K8S_AUTH_PROXY_HEADERS_USER_AGENT) environment variable.
        type: str
  impersonate_user:
    description:
      - The user to act as (the C(Impersonate-User) header, C(kubectl --as)).
      - Can be set with the E(K8S_AUTH_IMPERSONATE_USER) environment variable.
    type: str
  impersonate_groups:
    description:
      - The groups to act as (one C(Impersonate-Group) header each, C(kubectl --as-group)); needs
        O(impersonate_user).
      - Can be set with the E(K8S_AUTH_IMPERSONATE_GROUPS) environment variable (comma-separated).
    type: list
    elements: str
  persist_config:
    description:
      - Whether tokens the client refreshes (an C(auth-provider) such as C(oidc)) are written back to the
        O(kubeconfig) file, as kubernetes.core does, so later tasks need not refresh them again.
      - Needs a kubeconfig file; V(true) with a kubeconfig dictionary fails (there is no file to write to).
      - The command-line tools of M(aksmesh.istio.istio_install), M(aksmesh.istio.helm_release) and
        M(aksmesh.istio.istioctl_analyze), given a kubeconfig file as it is, refresh and write back tokens
        themselves, whatever this option says.
      - Can be set with the E(K8S_AUTH_PERSIST_CONFIG) environment variable.
    type: bool
  request_timeout:
    description:
      - Seconds to wait for each API request.
    type: int
    default: 30
requirements:
  - kubernetes >= 37.0.0 (the official Kubernetes Python client)
"""

    # modules that run a command-line tool (istioctl, helm) against the cluster
    TOOL = r"""
options: {}
notes:
  - The connection options are resolved once, and the command-line tool (C(istioctl), C(helm)) gets exactly the
    connection the module reads the cluster with, never its own default (C(~/.kube/config)).
  - A kubeconfig file (O(kubeconfig), or the default one) that no option overrides is handed to the tool as it is
    (C(--kubeconfig), or E(KUBECONFIG) for several files, and the O(context)), so the tool runs its exec plugin
    (C(kubelogin)) and refreshes its tokens itself.
  - Any other connection (O(host) and O(api_key), the E(K8S_AUTH_*) variables as AWX's C(OpenShift or Kubernetes
    API Bearer Token) credential sets them, a kubeconfig dictionary, in-cluster configuration, or a kubeconfig
    with options overriding it) becomes a private kubeconfig written from the resolved connection (server, CA,
    token, client certificate and key, TLS verification, proxy, impersonation as C(as)/C(as-groups)), mode 0600
    in a private temporary folder, removed when the tool has run.
  - O(impersonate_user) and O(impersonate_groups) also go to the tool as its own flags (C(istioctl --as
    --as-group), C(helm --kube-as-user --kube-as-group)); istioctl ignores a kubeconfig's C(as) otherwise.
  - With O(no_proxy), the tool gets the proxy as E(HTTPS_PROXY) and E(NO_PROXY) instead (a kubeconfig's
    C(proxy-url) has no exceptions). O(proxy_headers) other than C(proxy_basic_auth) cannot be handed to a tool, so
    the module fails before anything changes.
"""
