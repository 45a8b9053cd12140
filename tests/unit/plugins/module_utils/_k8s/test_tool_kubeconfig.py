"""Unit tests for _k8s.tool_kubeconfig: a tool (istioctl, helm) gets exactly the module's connection."""

import base64
import copy
import os
import stat

import pytest
import yaml

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import connection as kc
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import tool_kubeconfig as tk

from tests.unit.plugins.module_utils._k8s.test_connection import KUBECONFIG as VERIFYING, params

# the kubeconfig of the connection tests, its first cluster verifying TLS as the second does
KUBECONFIG = copy.deepcopy(VERIFYING)
del KUBECONFIG["clusters"][0]["cluster"]["insecure-skip-tls-verify"]


def write(path, content):
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return str(path)


def handed(connection, flags=None):
    """(args, environ, the kubeconfig the tool would read, its mode, its folder's mode); the file must be gone
    after the block."""
    with tk.tool_connection(connection, flags) as (args, environ):
        path = args[args.index("--kubeconfig") + 1] if "--kubeconfig" in args else None
        seen = None
        if path:
            with open(path) as fh:
                seen = (yaml.safe_load(fh), stat.S_IMODE(os.stat(path).st_mode),
                        stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode))
    if seen and os.path.basename(os.path.dirname(path)).startswith("aksmesh-kube-"):
        assert not os.path.exists(os.path.dirname(path))
    return args, environ, seen


def test_host_and_api_key_become_a_private_kubeconfig_removed_afterwards(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", write(tmp_path / "other", dict(KUBECONFIG, clusters=[
        {"name": "c1", "cluster": {"server": "https://elsewhere:6443"}}])))
    ca = write(tmp_path / "ca.pem", "CA PEM\n")
    conn = kc.Connection(params(host="https://real:6443", api_key="secret-token", ca_cert=ca))
    args, environ, (config, mode, folder_mode) = handed(conn)
    assert args[0] == "--kubeconfig" and len(args) == 2 and environ == {}
    assert (mode, folder_mode) == (0o600, 0o700)
    (cluster,) = config["clusters"]
    assert cluster["cluster"] == {"server": "https://real:6443",
                                  "certificate-authority-data": base64.b64encode(b"CA PEM\n").decode()}
    assert config["users"][0]["user"] == {"token": "secret-token"}  # the "Bearer " prefix is the client's
    # the tool reads what the module's client reads
    again = kc.build_configuration(params(kubeconfig=config))
    assert (again.host, again.api_key["BearerToken"]) == ("https://real:6443", "Bearer secret-token")
    assert tk.tool_secrets(conn) == {"secret-token"}


def test_everything_the_configuration_says_reaches_the_kubeconfig(tmp_path):
    cert, key = write(tmp_path / "c.pem", "CERT"), write(tmp_path / "k.pem", "KEY")
    conn = kc.Connection(params(kubeconfig=KUBECONFIG, context="two", client_cert=cert, client_key=key,
                                proxy="http://proxy.corp:3128", proxy_headers={"proxy_basic_auth": "me:p@ss"},
                                impersonate_user="alice", impersonate_groups=["dev", "ops"]))
    conn.configuration.tls_server_name = "api.internal"
    args, environ, (config, _m, _f) = handed(conn)
    assert environ == {}
    # istioctl ignores a kubeconfig's as/as-groups (its own --as flags win): the flags say it too
    assert args[2:] == ["--as", "alice", "--as-group", "dev", "--as-group", "ops"]
    helm_flags = ["--kube-as-user", "alice", "--kube-as-group", "dev", "--kube-as-group", "ops"]
    assert handed(conn, tk.HELM)[0][2:] == helm_flags
    assert config["clusters"][0]["cluster"] == {"server": "https://two.example:6443",
                                                "tls-server-name": "api.internal",
                                                "proxy-url": "http://me:p%40ss@proxy.corp:3128"}
    assert config["users"][0]["user"] == {"token": "t0k", "client-certificate-data": base64.b64encode(b"CERT").decode(),
                                          "client-key-data": base64.b64encode(b"KEY").decode(),
                                          "as": "alice", "as-groups": ["dev", "ops"]}
    assert "me:p@ss" in tk.tool_secrets(conn) and "p@ss" in tk.tool_secrets(conn)


def test_no_verification_leaves_the_ca_out_and_no_proxy_goes_to_the_environment(tmp_path):
    ca = write(tmp_path / "ca.pem", "CA")
    conn = kc.Connection(params(host="https://h:6443", api_key="x", ca_cert=ca, validate_certs=False,
                                proxy="http://proxy:3128", no_proxy="10.0.0.0/8,.corp"))
    _args, environ, (config, _m, _f) = handed(conn)
    assert config["clusters"][0]["cluster"] == {"server": "https://h:6443", "insecure-skip-tls-verify": True}
    assert environ["HTTPS_PROXY"] == environ["https_proxy"] == "http://proxy:3128"
    assert environ["NO_PROXY"] == environ["no_proxy"] == "10.0.0.0/8,.corp"


def test_options_a_tool_cannot_be_given_fail_before_anything_runs():
    for bad, message in (({"proxy": "http://p:1", "proxy_headers": {"user_agent": "x"}}, "proxy_headers.user_agent"),
                         ({"proxy": "http://p:1", "proxy_headers": {"basic_auth": "a:b"}}, "proxy_headers.basic_auth")):
        conn = kc.Connection(params(host="https://h:6443", api_key="x", **bad))
        with pytest.raises(tk.ToolConnectionError, match=message):
            tk.check(conn)
    # without a proxy, no_proxy and proxy headers go nowhere, for the module's client as for the tool
    idle = kc.Connection(params(host="https://h:6443", api_key="x", no_proxy=".corp",
                                proxy_headers={"user_agent": "x"}))
    tk.check(idle)
    _args, environ, (config, _m, _f) = handed(idle)
    assert environ == {} and "proxy-url" not in config["clusters"][0]["cluster"]


def test_a_kubeconfig_file_nothing_overrides_is_handed_as_it_is(tmp_path):
    # an exec plugin (kubelogin) stays the tool's to run: the file goes as it is, not a token the module got
    script = tmp_path / "plugin"
    script.write_text('#!/bin/sh\necho \'{"apiVersion": "client.authentication.k8s.io/v1", "kind": '
                      '"ExecCredential", "status": {"token": "from-plugin"}}\'\n')
    script.chmod(0o755)
    exec_config = dict(KUBECONFIG, users=[{"name": "u", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": str(script), "interactiveMode": "Never"}}}])
    path = write(tmp_path / "kubeconfig", exec_config)
    conn = kc.Connection(params(kubeconfig=path, context="two"))
    assert conn.configuration.api_key["BearerToken"] == "Bearer from-plugin"
    assert handed(conn, tk.HELM)[:2] == (["--kubeconfig", path, "--kube-context", "two"], {})
    assert handed(kc.Connection(params(kubeconfig=path)))[:2] == (["--kubeconfig", path], {})
    # an option overriding the file: the tool gets the resolved connection instead
    args, _env, (config, _m, _f) = handed(kc.Connection(params(kubeconfig=path, host="https://three:6443")))
    assert args[1] != path and config["clusters"][0]["cluster"]["server"] == "https://three:6443"
    assert config["users"][0]["user"]["token"] == "from-plugin"


def test_the_default_kubeconfig_and_several_files_are_handed_with_the_context_the_client_used(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    first = write(tmp_path / "a", KUBECONFIG)
    second = write(tmp_path / "b", {"apiVersion": "v1", "kind": "Config", "current-context": "two"})
    monkeypatch.setenv("KUBECONFIG", first)
    assert handed(kc.Connection(params()))[:2] == (["--kubeconfig", first], {})
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([first, str(tmp_path / "absent"), second]))
    conn = kc.Connection(params())
    assert conn.configuration.host == "https://two.example:6443"
    assert handed(conn)[:2] == (["--context", "two"], {"KUBECONFIG": os.pathsep.join([first, second])})


def test_a_kubeconfig_dictionary_is_written_from_the_resolved_connection():
    args, _env, (config, mode, _f) = handed(kc.Connection(params(kubeconfig=KUBECONFIG, context="two")))
    assert mode == 0o600 and "--context" not in args
    assert config["clusters"][0]["cluster"]["server"] == "https://two.example:6443"
    assert config["users"][0]["user"] == {"token": "t0k"}
