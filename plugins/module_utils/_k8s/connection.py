# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API client the Kubernetes connection options (``options``, as kubernetes.core names them) build.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.aksmesh.istio.plugins.module_utils import _timeouts as timeouts
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import redact
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.redact import MaskingModule

K8S_IMP_ERR = None
try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException
    from urllib3 import HTTPHeaderDict, make_headers  # the kubernetes client's own dependency
    from yaml import YAMLError  # the kubernetes client's own dependency, which parses kubeconfig files

    HAS_K8S = True
except ImportError:
    HAS_K8S = False
    K8S_IMP_ERR = traceback.format_exc()


# the options that change what a kubeconfig says (a kubeconfig file handed to a tool as it is would lose them)
OVERRIDING_OPTIONS = ("host", "api_key", "ca_cert", "client_cert", "client_key", "validate_certs", "proxy",
                      "no_proxy", "proxy_headers", "impersonate_user", "impersonate_groups")


# credentials of a kubeconfig user (users[].user): its own keys, and what an auth-provider's config or an exec
# plugin's flags carry (access-token, refresh-token, client-secret, --client-secret=..., --password ...)
USER_CREDENTIALS = ("token", "password", "client-key-data", "client-certificate-data")
CREDENTIAL_NAME = re.compile(r"(token|secret|password|passphrase)$", re.IGNORECASE)


def kubeconfig_secrets(config):
    """Every credential value in a kubeconfig given as a mapping (none for a path), to keep out of any output:
    users' token, password, client key and certificate data, auth-provider tokens and secrets, the values of an
    exec plugin's environment and of its secret-looking flags."""
    out = set()
    if not isinstance(config, dict):
        return out

    def add(value):
        if value not in (None, "") and not isinstance(value, (bool, dict, list)):
            out.add(str(value))

    for entry in config.get("users") or []:
        user = entry.get("user") if isinstance(entry, dict) else None
        if not isinstance(user, dict):
            continue
        for key in USER_CREDENTIALS:
            add(user.get(key))
        provider = user.get("auth-provider") if isinstance(user.get("auth-provider"), dict) else {}
        for key, value in (provider.get("config") or {}).items():
            if CREDENTIAL_NAME.search(str(key)):
                add(value)
        plugin = user.get("exec") if isinstance(user.get("exec"), dict) else {}
        for env in plugin.get("env") or []:
            if isinstance(env, dict):
                add(env.get("value"))
        args = [str(arg) for arg in plugin.get("args") or []]
        for i, arg in enumerate(args):
            flag, equals, value = arg.partition("=")
            if flag.startswith("-") and CREDENTIAL_NAME.search(flag):
                add(value if equals else (args[i + 1] if i + 1 < len(args) else None))
    return out


def protect(module, config):
    """Make the credentials of ``config`` (a kubeconfig mapping) no-log values of ``module``: Ansible masks them
    in the module's result, its errors, its invocation (shown at -vvv) and its own log entry."""
    module.no_log_values.update(kubeconfig_secrets(config))


def raw_secrets(params):
    """The no-log values of a Kubernetes module's raw arguments (KubeModule, and the controller's run of a module):
    the Secret values of its definitions and the credentials of a kubeconfig mapping."""
    return redact.raw_secrets(params) | set(kubeconfig_secrets(params.get("kubeconfig")))


class KubeModule(MaskingModule):
    """An AnsibleModule that takes the Kubernetes connection options (K8S_AUTH_ARG_SPEC) (and masks the Secret
    values of a ``definitions`` argument, see MaskingModule).

    A kubeconfig given as a mapping (the output of aks_credentials, or a file read with from_yaml) carries
    credentials in an option that cannot be no_log as a whole (a path is no secret, and its context and server
    names belong in messages). Its credentials become no-log values as soon as the parameters are read, before
    argument validation can fail and before the invocation is logged, so nothing the module prints holds them."""

    # the no-log values of the raw arguments (MaskingModule reads them before validation), and the check once they
    # are validated: the timeouts given are in range (wait_timeout, request_timeout, ...), before any request; the
    # controller's run of a module program takes both from here (plugins/plugin_utils/_in_process.py)
    raw_secrets = staticmethod(raw_secrets)
    after_validation = staticmethod(timeouts.refuse_out_of_range)

    def __init__(self, *args, **kwargs):
        super(KubeModule, self).__init__(*args, **kwargs)
        self.after_validation(self)


def require_kubeconfig_file(module, name, tool):
    """Fail the module ``name`` when its kubeconfig is a mapping: ``tool`` (istioctl, helm) reads the file itself."""
    if isinstance(module.params.get("kubeconfig"), dict):
        module.fail_json(msg="%s needs kubeconfig as a file path (%s reads the file); write it with "
                             "aksmesh.istio.aks_credentials or ansible.builtin.copy (mode 0600) first" % (name, tool))


class K8sConnectionError(Exception):
    """The connection options do not lead to a cluster."""


def require_k8s(module):
    if not HAS_K8S:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=K8S_IMP_ERR)


def _in_cluster():
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.exists(
        "/var/run/secrets/kubernetes.io/serviceaccount/token")


def kubeconfig_paths(value):
    """The files of a kubeconfig path option or of KUBECONFIG: several, separated by os.pathsep (as kubectl and
    kubernetes.core read them), each with ~ expanded."""
    return [os.path.expanduser(part) for part in str(value).split(os.pathsep) if part]


def default_kubeconfig():
    """What kubectl reads when no kubeconfig is given: KUBECONFIG (its files that exist), else ~/.kube/config."""
    env = os.environ.get("KUBECONFIG")
    if env:
        return [path for path in kubeconfig_paths(env) if os.path.exists(path)], env
    path = os.path.expanduser("~/.kube/config")
    return ([path] if os.path.exists(path) else []), path


def merged_current_context(paths):
    """The current context of several kubeconfig files as kubernetes.config merges them (the last file's that names
    one; kubectl would take the first file's): a tool given the files must be told this context."""
    return k8s_config.kube_config.KubeConfigMerger(os.pathsep.join(paths)).config.value.get("current-context")


def resolved_source(params):
    """Where the connection comes from: ("dict", None), ("file", [paths]) for the kubeconfig option or the default
    kubeconfig, ("in-cluster", None) or ("options", None) (host given, no kubeconfig)."""
    kubeconfig = params.get("kubeconfig")
    if isinstance(kubeconfig, dict):
        return "dict", None
    if kubeconfig:
        return "file", kubeconfig_paths(kubeconfig)
    if params.get("host"):
        return "options", None
    if _in_cluster():
        return "in-cluster", None
    return "file", default_kubeconfig()[0]


def _override(cfg, params):
    """The connection options over what the kubeconfig says."""
    if params.get("host"):
        cfg.host = params["host"]
    if params.get("api_key"):
        # replaces any kubeconfig token: the client reads "BearerToken" before its "authorization" alias
        cfg.api_key = {"BearerToken": "Bearer %s" % params["api_key"]}
    if params.get("ca_cert"):
        cfg.ssl_ca_cert = params["ca_cert"]
    if params.get("client_cert"):
        cfg.cert_file = params["client_cert"]
    if params.get("client_key"):
        cfg.key_file = params["client_key"]
    if params.get("validate_certs") is not None:
        cfg.verify_ssl = params["validate_certs"]
    if params.get("proxy"):
        cfg.proxy = params["proxy"]
    if params.get("no_proxy"):
        cfg.no_proxy = params["no_proxy"]
    headers = dict((k, v) for k, v in (params.get("proxy_headers") or {}).items() if v)
    if headers:
        cfg.proxy_headers = make_headers(**headers)


def build_configuration(params):
    """A kubernetes.client.Configuration from module parameters.

    Order, as kubernetes.core: an explicit kubeconfig (path, several paths separated by ":", or dict); else, when
    no host is given, in-cluster config inside a pod or the default kubeconfig (KUBECONFIG, its files merged as
    kubernetes.config merges them, or ~/.kube/config). host/api_key/ca_cert/client_cert/client_key/validate_certs/proxy
    options then override. Impersonation is not part of a Configuration: see api_client.
    """
    cfg = k8s_config.kube_config.Configuration()
    kubeconfig = params.get("kubeconfig")
    context = params.get("context")
    persist = bool(params.get("persist_config"))
    try:
        if isinstance(kubeconfig, dict):
            if persist:
                raise K8sConnectionError("persist_config=true needs kubeconfig as a file path (a dictionary has no "
                                         "file to write refreshed tokens to)")
            k8s_config.load_kube_config_from_dict(kubeconfig, context=context, client_configuration=cfg,
                                                  persist_config=False)
        elif kubeconfig:
            paths = kubeconfig_paths(kubeconfig)
            for path in paths:
                if not os.path.exists(path):
                    raise K8sConnectionError("kubeconfig %s does not exist: set kubeconfig (or K8S_AUTH_KUBECONFIG) "
                                             "to a readable file" % path)
            k8s_config.load_kube_config(config_file=os.pathsep.join(paths), context=context,
                                        client_configuration=cfg, persist_config=persist)
        elif not params.get("host"):
            if _in_cluster():
                k8s_config.load_incluster_config(client_configuration=cfg)
            else:
                paths, looked = default_kubeconfig()
                if not paths:
                    raise K8sConnectionError(
                        "no Kubernetes connection: set kubeconfig, or host and api_key, or run inside a pod "
                        "(looked for %s)" % looked)
                k8s_config.load_kube_config(config_file=os.pathsep.join(paths), context=context,
                                            client_configuration=cfg, persist_config=persist)
    except ConfigException as exc:
        raise K8sConnectionError("invalid kubeconfig: %s" % exc)
    except (IOError, OSError) as exc:  # a directory, no permission
        raise K8sConnectionError("kubeconfig %s cannot be read (%s): give a readable kubeconfig file" % (
            kubeconfig, exc.strerror or exc))
    except (YAMLError, ValueError, TypeError, AttributeError, KeyError) as exc:
        raise K8sConnectionError("kubeconfig %s is not a valid kubeconfig (%s: %s): give the file kubectl uses, "
                                 "or aksmesh.istio.aks_credentials' output" % (
                                     "(mapping)" if isinstance(kubeconfig, dict) else kubeconfig,
                                     type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""))
    if params.get("api_key"):
        cfg.refresh_api_key_hook = None  # a kubeconfig's token refresh would put its own token back
    _override(cfg, params)
    hook = cfg.refresh_api_key_hook
    if hook is not None:
        # the kubeconfig loader's token refresh (exec plugin, auth-provider) copies the kubeconfig's host, CA,
        # client certificate and TLS settings back onto the Configuration: the options must win after it too
        def refresh(configuration):
            hook(configuration)
            _override(configuration, params)
        cfg.refresh_api_key_hook = refresh
    return cfg


class ImpersonatingApiClient(k8s_client.ApiClient if HAS_K8S else object):
    """An ApiClient that sends the impersonation headers with every request: Impersonate-User, and one
    Impersonate-Group header per group (the API server reads repeated headers, not a comma-separated list)."""

    def __init__(self, configuration, user=None, groups=None):
        super(ImpersonatingApiClient, self).__init__(configuration)
        self.impersonate_user, self.impersonate_groups = user, list(groups or [])

    def call_api(self, method, url, header_params=None, *args, **kwargs):
        if self.impersonate_user or self.impersonate_groups:
            headers = HTTPHeaderDict(header_params or {})
            if self.impersonate_user:
                headers["Impersonate-User"] = self.impersonate_user
            for group in self.impersonate_groups:
                headers.add("Impersonate-Group", group)
            header_params = headers
        return super(ImpersonatingApiClient, self).call_api(method, url, header_params, *args, **kwargs)


def api_client(params, configuration=None):
    """An ApiClient for the options (of ``configuration`` when it was built already); raises K8sConnectionError
    with an actionable message."""
    if params.get("impersonate_groups") and not params.get("impersonate_user"):
        raise K8sConnectionError("impersonate_groups needs impersonate_user (the API server impersonates groups "
                                 "only together with a user)")
    return ImpersonatingApiClient(configuration or build_configuration(params), params.get("impersonate_user"),
                                  params.get("impersonate_groups"))


def _built_or_failed(module, build):
    """``build(module.params)``, failing the module cleanly (the library missing, or no usable connection)."""
    require_k8s(module)
    try:
        return build(module.params)
    except K8sConnectionError as exc:
        module.fail_json(msg=str(exc))


def connect(module):
    """ApiClient for an AnsibleModule, failing the module cleanly when it cannot."""
    return _built_or_failed(module, api_client)


class Connection(object):
    """The connection of a module's options, resolved once: the Configuration its API client uses, and the same
    connection for the command-line tools (see _k8s.tool_kubeconfig)."""

    def __init__(self, params):
        self.params = params
        self.source, self.files = resolved_source(params)
        self.configuration = build_configuration(params)
        self.client = api_client(params, self.configuration)
        # the context the client used, for a tool reading the same files (several files: kubectl and
        # kubernetes.config disagree on whose current-context wins)
        self.context = params.get("context") or (
            merged_current_context(self.files) if self.source == "file" and len(self.files) > 1 else None)

    @property
    def overridden(self):
        """The options that change what the kubeconfig says."""
        def given(value):
            return any(given(v) for v in value.values()) if isinstance(value, dict) else value not in (None, "", [])
        return [name for name in OVERRIDING_OPTIONS if given(self.params.get(name))]


def resolve(module):
    """The Connection of an AnsibleModule's options, failing the module cleanly when there is none."""
    return _built_or_failed(module, Connection)
