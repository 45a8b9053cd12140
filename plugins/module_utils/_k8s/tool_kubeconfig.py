# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Handing a command-line tool (istioctl, helm) exactly the connection the module's API client uses.

A kubeconfig file given as it is (no option overriding it) goes to the tool as that file: the tool reads it
itself, runs its exec plugin (kubelogin) and refreshes its tokens. Any other connection (host and api_key, the
K8S_AUTH_* variables, a kubeconfig dictionary, in-cluster configuration, a kubeconfig with options overriding it)
becomes a private kubeconfig written from the resolved Configuration: mode 0600 in a private directory, removed
when the tool has run. An option the tool cannot be given fails: the tool never falls back to another cluster.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import contextlib
import json
import os
import shutil
import tempfile

from ansible.module_utils.six.moves.urllib.parse import quote, urlsplit, urlunsplit


class ToolConnectionError(Exception):
    """The connection has an option the tool cannot be given."""


def _data(path):
    with open(path, "rb") as fh:
        return base64.b64encode(fh.read()).decode("ascii")


def bearer_token(configuration):
    """The token the API client sends (after its refresh hook ran), without the "Bearer " prefix; None without."""
    value = configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
    if not value:
        return None
    return value[len("Bearer "):] if value.startswith("Bearer ") else value


def proxy_url(proxy, proxy_headers):
    """The proxy URL a tool can use: proxy_basic_auth ("user:password") becomes the URL's user information (Go
    sends it as Proxy-Authorization); the other proxy headers cannot be handed to a tool. Without a proxy, proxy
    headers go nowhere, for the module's client as for the tool."""
    if not proxy:
        return None
    headers = dict((k, v) for k, v in (proxy_headers or {}).items() if v)
    unsupported = sorted(set(headers) - set(["proxy_basic_auth"]))
    if unsupported:
        raise ToolConnectionError("proxy_headers.%s cannot be handed to the command-line tool (it sends no custom "
                                  "proxy headers); use proxy_basic_auth, or leave it out" % unsupported[0])
    if not headers:
        return proxy
    user, _sep, password = headers["proxy_basic_auth"].partition(":")
    parts = urlsplit(proxy)
    netloc = "%s:%s@%s" % (quote(user, safe=""), quote(password, safe=""), parts.netloc.rpartition("@")[2])
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def kubeconfig_from(configuration, impersonate_user=None, impersonate_groups=None, proxy_headers=None,
                    use_proxy_url=True):
    """A self-contained kubeconfig (one cluster, user and context) for the Configuration: server, CA (as data),
    TLS verification, tls-server-name, proxy-url, token, client certificate and key (as data), impersonation."""
    cluster = {"server": configuration.host}
    if configuration.verify_ssl is False:
        cluster["insecure-skip-tls-verify"] = True  # client-go refuses a CA together with this
    elif configuration.ssl_ca_cert:
        cluster["certificate-authority-data"] = _data(configuration.ssl_ca_cert)
    if getattr(configuration, "tls_server_name", None):
        cluster["tls-server-name"] = configuration.tls_server_name
    if configuration.proxy and use_proxy_url:
        cluster["proxy-url"] = proxy_url(configuration.proxy, proxy_headers)
    user = {}
    token = bearer_token(configuration)
    if token:
        user["token"] = token
    if configuration.cert_file:
        user["client-certificate-data"] = _data(configuration.cert_file)
    if configuration.key_file:
        user["client-key-data"] = _data(configuration.key_file)
    if impersonate_user:
        user["as"] = impersonate_user
    if impersonate_groups:
        user["as-groups"] = list(impersonate_groups)
    return {"apiVersion": "v1", "kind": "Config", "current-context": "aksmesh",
            "clusters": [{"name": "aksmesh", "cluster": cluster}],
            "users": [{"name": "aksmesh", "user": user}],
            "contexts": [{"name": "aksmesh", "context": {"cluster": "aksmesh", "user": "aksmesh"}}]}


def as_given(connection):
    """Whether the tool can read the kubeconfig file(s) itself: the connection is a file kubeconfig (the option or
    the default one) that no option overrides."""
    return connection.source == "file" and bool(connection.files) and not connection.overridden


ISTIOCTL = dict(context="--context", user="--as", group="--as-group")
HELM = dict(context="--kube-context", user="--kube-as-user", group="--kube-as-group")


def impersonation_args(params, flags):
    """The tool's impersonation flags: istioctl replaces a kubeconfig's ``as``/``as-groups`` with its own --as and
    --as-group (empty when not given), so the kubeconfig alone would not impersonate."""
    out = []
    if params.get("impersonate_user"):
        out += [flags["user"], params["impersonate_user"]]
    for group in params.get("impersonate_groups") or []:
        out += [flags["group"], group]
    return out


@contextlib.contextmanager
def tool_connection(connection, flags=None):
    """(arguments, environment) that hand a tool ``connection`` (a _k8s.connection.Connection), for the
    duration of the ``with`` block; a synthesized kubeconfig is removed afterwards. ``flags``: the tool's flag
    names (ISTIOCTL, the default, or HELM). Raises ToolConnectionError."""
    flags = flags or ISTIOCTL
    if as_given(connection):
        context = [flags["context"], connection.context] if connection.context else []
        if len(connection.files) == 1:
            yield ["--kubeconfig", connection.files[0]] + context, {}
        else:  # the tools merge the files of KUBECONFIG (told the context the module's client chose)
            yield context, {"KUBECONFIG": os.pathsep.join(connection.files)}
        return
    params, cfg = connection.params, connection.configuration
    environ = {}
    use_proxy_url = True
    if params.get("no_proxy") and cfg.proxy:
        # a kubeconfig's proxy-url has no exceptions: the proxy environment variables have (NO_PROXY)
        use_proxy_url = False
        url = proxy_url(cfg.proxy, params.get("proxy_headers"))
        environ = {"HTTPS_PROXY": url, "HTTP_PROXY": url, "NO_PROXY": params["no_proxy"],
                   "https_proxy": url, "http_proxy": url, "no_proxy": params["no_proxy"]}
    config = kubeconfig_from(cfg, params.get("impersonate_user"), params.get("impersonate_groups"),
                             params.get("proxy_headers"), use_proxy_url)
    workdir = tempfile.mkdtemp(prefix="aksmesh-kube-")  # mode 0700
    try:
        path = os.path.join(workdir, "kubeconfig")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(config, fh)  # JSON is YAML
        yield ["--kubeconfig", path] + impersonation_args(params, flags), environ
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def tool_secrets(connection):
    """Values a synthesized kubeconfig or the proxy environment may carry that must stay out of any output."""
    out = set()
    token = bearer_token(connection.configuration)
    if token:
        out.add(token)
    auth = (connection.params.get("proxy_headers") or {}).get("proxy_basic_auth")
    if auth:
        out.add(auth)
        out.add(auth.partition(":")[2])
    return set(value for value in out if value)


def check(connection):
    """Raise ToolConnectionError now, before anything changes, when the tool cannot be given ``connection``."""
    if as_given(connection):
        return
    proxy_url(connection.configuration.proxy, connection.params.get("proxy_headers"))


def require(module, connection, tool):
    """Fail ``module`` when ``tool`` cannot be given ``connection``; keep the values a synthesized kubeconfig
    carries out of the module's output."""
    try:
        check(connection)
    except ToolConnectionError as exc:
        module.fail_json(msg="%s cannot be given this connection: %s" % (tool, exc))
    module.no_log_values.update(tool_secrets(connection))
