import os

import pytest
import yaml

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import connection as kc
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC

KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "one",
    "clusters": [{"name": "c1", "cluster": {"server": "https://one.example:6443", "insecure-skip-tls-verify": True}},
                 {"name": "c2", "cluster": {"server": "https://two.example:6443"}}],
    "contexts": [{"name": "one", "context": {"cluster": "c1", "user": "u"}},
                 {"name": "two", "context": {"cluster": "c2", "user": "u"}}],
    "users": [{"name": "u", "user": {"token": "t0k"}}],
}


def params(**kw):
    base = {k: None for k in K8S_AUTH_ARG_SPEC}
    base.update(kw)
    return base


def test_kubeconfig_dict_and_context():
    cfg = kc.build_configuration(params(kubeconfig=KUBECONFIG))
    assert cfg.host == "https://one.example:6443" and cfg.api_key["BearerToken"] == "Bearer t0k"
    assert cfg.verify_ssl is False
    assert kc.build_configuration(params(kubeconfig=KUBECONFIG, context="two")).host == "https://two.example:6443"


def test_explicit_options_override_kubeconfig(tmp_path):
    cfg = kc.build_configuration(params(kubeconfig=KUBECONFIG, host="https://three:443", api_key="other",
                                        ca_cert="/ca.pem", client_cert="/c.pem", client_key="/k.pem",
                                        validate_certs=True))
    assert (cfg.host, cfg.api_key["BearerToken"], cfg.ssl_ca_cert, cfg.cert_file, cfg.key_file, cfg.verify_ssl) \
        == ("https://three:443", "Bearer other", "/ca.pem", "/c.pem", "/k.pem", True)


def test_host_alone_needs_no_kubeconfig(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    cfg = kc.build_configuration(params(host="https://h:6443", api_key="x"))
    assert cfg.host == "https://h:6443"


def test_missing_files_and_contexts_are_reported(monkeypatch, tmp_path):
    with pytest.raises(kc.K8sConnectionError, match="does not exist"):
        kc.build_configuration(params(kubeconfig=str(tmp_path / "nope")))
    with pytest.raises(kc.K8sConnectionError, match="invalid kubeconfig"):
        kc.build_configuration(params(kubeconfig=KUBECONFIG, context="three"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(kc.K8sConnectionError, match="no Kubernetes connection"):
        kc.build_configuration(params())


def test_env_fallbacks_match_kubernetes_core():
    names = {k: v.get("fallback", (None, [None]))[1][0] for k, v in K8S_AUTH_ARG_SPEC.items()}
    assert names["kubeconfig"] == "K8S_AUTH_KUBECONFIG" and names["api_key"] == "K8S_AUTH_API_KEY"
    assert names["validate_certs"] == "K8S_AUTH_VERIFY_SSL" and names["ca_cert"] == "K8S_AUTH_SSL_CA_CERT"
    assert K8S_AUTH_ARG_SPEC["api_key"]["no_log"] is True


SPARE_USER = {"name": "spare", "user": {
    "client-certificate-data": "Y2VydA==", "client-key-data": "a2V5LWRhdGE=", "username": "bob", "password": "pw-1",
    "auth-provider": {"name": "oidc", "config": {"client-id": "kubectl", "client-secret": "oidc-secret",
                                                 "id-token": "id-tok", "refresh-token": "refresh-tok"}},
    "exec": {"command": "kubelogin", "args": ["get-token", "--client-id", "app", "--client-secret", "exec-secret",
                                              "--password=exec-pw", "--token-cache-dir", "/tmp/cache"],
             "env": [{"name": "AAD_SERVICE_PRINCIPAL_CLIENT_SECRET", "value": "env-secret"}]}}}


def test_kubeconfig_secrets_are_every_credential_and_nothing_else():
    config = dict(KUBECONFIG, users=KUBECONFIG["users"] + [SPARE_USER, {"name": "empty"}, "junk"])
    assert kc.kubeconfig_secrets(config) == {
        "t0k", "Y2VydA==", "a2V5LWRhdGE=", "pw-1", "oidc-secret", "id-tok", "refresh-tok", "exec-secret", "exec-pw",
        "env-secret"}
    assert kc.kubeconfig_secrets("/home/me/.kube/config") == set() and kc.kubeconfig_secrets(None) == set()


def test_protect_adds_the_credentials_to_the_module_no_log_values():
    class Module:
        no_log_values = {"other"}
    module = Module()
    kc.protect(module, KUBECONFIG)
    assert module.no_log_values == {"other", "t0k"}


def write(path, config):
    path.write_text(yaml.safe_dump(config))
    return str(path)


SPLIT_CLUSTER = {"apiVersion": "v1", "kind": "Config", "current-context": "one",
                 "clusters": KUBECONFIG["clusters"], "contexts": KUBECONFIG["contexts"]}
SPLIT_USER = {"apiVersion": "v1", "kind": "Config", "users": [{"name": "u", "user": {"token": "from-second"}}],
              "current-context": "two"}


def test_several_kubeconfig_files_are_merged_as_kubectl_merges_them(monkeypatch, tmp_path):
    first, second = write(tmp_path / "a", SPLIT_CLUSTER), write(tmp_path / "b", SPLIT_USER)
    cfg = kc.build_configuration(params(kubeconfig=first + os.pathsep + second))
    # kubernetes.config's merge: the entries of every file (the first of a name wins), the last current-context
    assert (cfg.host, cfg.api_key["BearerToken"]) == ("https://two.example:6443", "Bearer from-second")
    assert kc.merged_current_context([first, second]) == "two"
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(tmp_path / "absent"), second, first]))
    cfg = kc.build_configuration(params())  # KUBECONFIG: missing files skipped, every other file read
    assert (cfg.host, cfg.api_key["BearerToken"]) == ("https://one.example:6443", "Bearer from-second")
    assert kc.resolved_source(params()) == ("file", [second, first])
    with pytest.raises(kc.K8sConnectionError, match="kubeconfig %s does not exist" % (tmp_path / "nope")):
        kc.build_configuration(params(kubeconfig=first + os.pathsep + str(tmp_path / "nope")))


def test_persist_config_reaches_the_loader_and_needs_a_file(monkeypatch, tmp_path):
    seen = []
    real = kc.k8s_config.load_kube_config

    def spy(**kwargs):
        seen.append(kwargs["persist_config"])
        return real(**kwargs)
    monkeypatch.setattr(kc.k8s_config, "load_kube_config", spy)
    path = write(tmp_path / "k", KUBECONFIG)
    kc.build_configuration(params(kubeconfig=path, persist_config=True))
    kc.build_configuration(params(kubeconfig=path))
    assert seen == [True, False]
    with pytest.raises(kc.K8sConnectionError, match="persist_config=true needs kubeconfig as a file path"):
        kc.build_configuration(params(kubeconfig=KUBECONFIG, persist_config=True))


def test_proxy_options_reach_the_configuration():
    cfg = kc.build_configuration(params(kubeconfig=KUBECONFIG, proxy="http://proxy:3128", no_proxy="10.0.0.0/8,.corp",
                                        proxy_headers={"proxy_basic_auth": "me:pw", "basic_auth": None,
                                                       "user_agent": "aksmesh"}))
    assert (cfg.proxy, cfg.no_proxy) == ("http://proxy:3128", "10.0.0.0/8,.corp")
    assert cfg.proxy_headers == {"proxy-authorization": "Basic bWU6cHc=", "user-agent": "aksmesh"}


def test_impersonation_sends_one_header_per_group(monkeypatch):
    client = kc.api_client(params(kubeconfig=KUBECONFIG, impersonate_user="alice", impersonate_groups=["a", "b"]))
    sent = []
    monkeypatch.setattr(client.rest_client, "request", lambda method, url, headers=None, **kw: sent.append(headers))
    client.call_api("GET", "https://one.example:6443/api", header_params={"Accept": "application/json"})
    (headers,) = sent
    assert headers["Impersonate-User"] == "alice" and headers.getlist("Impersonate-Group") == ["a", "b"]
    assert headers["Accept"] == "application/json"
    plain = kc.api_client(params(kubeconfig=KUBECONFIG))
    monkeypatch.setattr(plain.rest_client, "request", lambda method, url, headers=None, **kw: sent.append(headers))
    plain.call_api("GET", "https://one.example:6443/api", header_params={"Accept": "application/json"})
    assert sent[-1] == {"Accept": "application/json"}
    with pytest.raises(kc.K8sConnectionError, match="impersonate_groups needs impersonate_user"):
        kc.api_client(params(kubeconfig=KUBECONFIG, impersonate_groups=["a"]))


def test_new_options_have_the_kubernetes_core_environment_variables():
    names = {k: v.get("fallback", (None, [None]))[1][0] for k, v in K8S_AUTH_ARG_SPEC.items()}
    assert (names["proxy"], names["no_proxy"], names["persist_config"]) == (
        "K8S_AUTH_PROXY", "K8S_AUTH_NO_PROXY", "K8S_AUTH_PERSIST_CONFIG")
    assert (names["impersonate_user"], names["impersonate_groups"]) == (
        "K8S_AUTH_IMPERSONATE_USER", "K8S_AUTH_IMPERSONATE_GROUPS")
    assert K8S_AUTH_ARG_SPEC["proxy_headers"]["options"]["proxy_basic_auth"]["no_log"] is True


def test_options_still_win_after_the_kubeconfig_token_refresh(tmp_path):
    # the loader's refresh hook copies the kubeconfig's host, CA and client certificate back on every request
    cfg = kc.build_configuration(params(kubeconfig=KUBECONFIG, host="https://three:443", ca_cert="/ca.pem",
                                        client_cert="/c.pem", validate_certs=True))
    assert cfg.refresh_api_key_hook is not None
    assert cfg.get_api_key_with_prefix("BearerToken", alias="authorization") == "Bearer t0k"
    assert (cfg.host, cfg.ssl_ca_cert, cfg.cert_file, cfg.verify_ssl) == ("https://three:443", "/ca.pem", "/c.pem",
                                                                          True)
    assert kc.build_configuration(params(kubeconfig=KUBECONFIG, api_key="mine")).get_api_key_with_prefix(
        "BearerToken", alias="authorization") == "Bearer mine"
