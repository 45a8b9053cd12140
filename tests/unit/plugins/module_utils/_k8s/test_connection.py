import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import connection as kc

KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "one",
    "clusters": [{"name": "c1", "cluster": {"server": "https://one.example:6443", "insecure-skip-tls-verify": True}},
                 {"name": "c2", "cluster": {"server": "https://two.example:6443"}}],
    "contexts": [{"name": "one", "context": {"cluster": "c1", "user": "u"}},
                 {"name": "two", "context": {"cluster": "c2", "user": "u"}}],
    "users": [{"name": "u", "user": {"token": "t0k"}}],
}


def params(**kw):
    base = {k: None for k in kc.K8S_AUTH_ARG_SPEC}
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
    names = {k: v.get("fallback", (None, [None]))[1][0] for k, v in kc.K8S_AUTH_ARG_SPEC.items()}
    assert names["kubeconfig"] == "K8S_AUTH_KUBECONFIG" and names["api_key"] == "K8S_AUTH_API_KEY"
    assert names["validate_certs"] == "K8S_AUTH_VERIFY_SSL" and names["ca_cert"] == "K8S_AUTH_SSL_CA_CERT"
    assert kc.K8S_AUTH_ARG_SPEC["api_key"]["no_log"] is True


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
