"""The cert-manager builder (Issuers, one Certificate per Gateway TLS Secret) and its pre-flight, called as the
certs_manifests filter calls it."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.filter.mesh import STAGES
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import topology

FILTER = dict((stage.name, stage) for stage in STAGES)["certs_manifests"]
HELM = {"workloads": list(topology("helm")["gateways"].values()), "ingress_selector": {"istio": "ingress"}}
HTTP01 = {"name": "letsencrypt", "type": "acme_http01", "email": "ops@example.com"}
AZURE_DNS = {"name": "azure-dns", "type": "acme_azure_dns", "email": "ops@example.com", "client_id": "1111-2222",
             "subscription_id": "sub-1", "resource_group": "rg-dns", "hosted_zone": "example.com"}
CA = {"name": "private-ca", "type": "ca", "ca_secret": "root-ca"}
SHOP = {"name": "shop-gw", "hosts": ["shop.example.com", "www.example.com"], "https": {"credential_name": "shop-tls"}}


def build(gateways, **options):
    given = FILTER.defaults()
    given.update(HELM)
    given.update(options, gateways=gateways)
    return FILTER.build(**given)


def kinds(objs):
    return [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs]


def test_http01_cluster_issuer_and_one_certificate_per_secret_in_the_gateway_namespace():
    objs = build([SHOP], issuers=[HTTP01], issuer="letsencrypt")
    assert kinds(objs) == [("ClusterIssuer", None, "letsencrypt"), ("Certificate", "istio-ingress", "shop-tls")]
    issuer, cert = objs
    assert issuer["apiVersion"] == cert["apiVersion"] == "cert-manager.io/v1"
    assert issuer["spec"] == {"acme": {
        "server": "https://acme-v02.api.letsencrypt.org/directory", "email": "ops@example.com",
        "privateKeySecretRef": {"name": "letsencrypt-account-key"},
        "solvers": [{"http01": {"ingress": {"class": "istio"}}}]}}
    assert cert["spec"] == {"secretName": "shop-tls", "dnsNames": ["shop.example.com", "www.example.com"],
                            "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"}}
    assert cert["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "aksmesh", "aksmesh.io/stage": None}


def test_azure_dns_with_workload_identity():
    [issuer] = build([], issuers=[dict(AZURE_DNS, environment="AzureChinaCloud")])
    assert issuer["spec"]["acme"]["solvers"] == [{"dns01": {"azureDNS": {
        "subscriptionID": "sub-1", "resourceGroupName": "rg-dns", "hostedZoneName": "example.com",
        "environment": "AzureChinaCloud", "managedIdentity": {"clientID": "1111-2222"}}}}]


def test_issuer_kind_goes_to_each_gateway_namespace_that_uses_it():
    internal = dict(SHOP, name="internal-gw", selector={"istio": "ingress"}, https={"credential_name": "int-tls"})
    objs = build([SHOP, internal], issuers=[dict(CA, kind="Issuer")], issuer="private-ca",
                 certificate_spec={"duration": "2160h", "secretName": "ignored"})
    assert kinds(objs) == [("Issuer", "istio-ingress", "private-ca"), ("Certificate", "istio-ingress", "int-tls"),
                           ("Certificate", "istio-ingress", "shop-tls")]
    assert objs[0]["spec"] == {"ca": {"secretName": "root-ca"}}
    assert objs[1]["spec"]["duration"] == "2160h" and objs[1]["spec"]["secretName"] == "int-tls"
    assert objs[1]["spec"]["issuerRef"]["kind"] == "Issuer"


def test_servers_share_a_secret_one_certificate_with_every_host_and_namespace_prefixes_dropped():
    gw = {"name": "multi", "servers": [
        {"port": {"number": 443, "name": "a", "protocol": "HTTPS"}, "hosts": ["shop/a.example.com"],
         "tls": {"mode": "SIMPLE", "credentialName": "both"}},
        {"port": {"number": 8443, "name": "b", "protocol": "HTTPS"}, "hosts": ["./b.example.com", "a.example.com"],
         "tls": {"mode": "MUTUAL", "credentialName": "both"}},
        {"port": {"number": 9443, "name": "c", "protocol": "TLS"}, "hosts": ["c.example.com"],
         "tls": {"mode": "PASSTHROUGH"}},
        {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}
    objs = build([gw], issuers=[CA], issuer="private-ca")
    assert kinds(objs)[1:] == [("Certificate", "istio-ingress", "both")]
    assert objs[1]["spec"]["dnsNames"] == ["a.example.com", "b.example.com"]


def test_existing_secrets_get_no_certificate():
    other = dict(SHOP, name="other-gw", https={"credential_name": "mine"})
    objs = build([SHOP, other], issuers=[HTTP01], issuer="letsencrypt", existing_secrets=["istio-ingress/mine"])
    assert kinds(objs) == [("ClusterIssuer", None, "letsencrypt"), ("Certificate", "istio-ingress", "shop-tls")]
    assert build([SHOP], existing_secrets=["shop-tls"]) == []


def test_no_tls_no_issuers_nothing():
    assert build([{"name": "plain", "hosts": ["a.example.com"]}]) == []
    assert build([]) == []


@pytest.mark.parametrize("gateways, options, message", [
    ([SHOP], {}, "mesh_certs_existing_secrets: no Certificate of this run makes the Gateway TLS Secret(s) "
                 "istio-ingress/shop-tls (gateway shop-gw)"),
    ([SHOP], {"existing_secrets": ["elsewhere/shop-tls"]}, "istio-ingress/shop-tls (gateway shop-gw)"),
    ([SHOP], {"issuers": [HTTP01], "issuer": "nope"}, "mesh_certs_issuer: 'nope' is not in mesh_certs_issuers"),
    ([dict(SHOP, hosts=["*.example.com"])], {"issuers": [HTTP01], "issuer": "letsencrypt"},
     "cannot prove wildcard hosts (*.example.com)"),
    ([dict(SHOP, hosts=["*"])], {"issuers": [HTTP01], "issuer": "letsencrypt"}, "matches every host"),
    ([], {"issuers": [{"name": "x", "type": "acme"}]}, "mesh_certs_issuers: issuer x: type 'acme'"),
    ([], {"issuers": [dict(HTTP01, kind="Role")]}, "kind 'Role'"),
    ([], {"issuers": [{"name": "x", "type": "acme_azure_dns", "email": "e"}]},
     "missing client_id, subscription_id, resource_group, hosted_zone"),
    ([], {"issuers": [dict(CA, namespace="pki")]}, "a ClusterIssuer has no namespace"),
    ([], {"issuers": [dict(CA, kind="Issuer")]}, "no Certificate of this run uses it"),
    ([SHOP], {"issuers": [dict(CA, kind="Issuer", namespace="pki")], "issuer": "private-ca"},
     "an Issuer serves its own namespace only"),
    ([], {"issuers": [HTTP01, HTTP01]}, "lists letsencrypt twice"),
    ([], {"issuers": [dict(AZURE_DNS, environment="Mars")]}, "environment 'Mars'"),
    ([], {"existing_secrets": ["a/b/c"]}, "give a Secret name or <namespace>/<name>"),
    ([dict(SHOP, https={"credential_name": "Bad_Name"})], {}, "mesh_certs_gateways: gateway shop-gw: name 'Bad_Name'"),
])
def test_bad_input_is_a_named_error(gateways, options, message):
    with pytest.raises(AnsibleFilterError) as err:
        FILTER(gateways, **dict(HELM, **options))
    assert message in str(err.value)


def test_the_builder_raises_in_its_own_option_names():
    with pytest.raises(MeshConfigError) as err:
        build([SHOP])
    assert err.value.option == "existing_secrets" and "O(issuer)" in err.value.message


@pytest.mark.parametrize("method", ["istioctl", "helm", "aks_addon"])
def test_certificates_go_where_the_gateways_are_placed(method):
    """The certs stage and the gateways stage each place the Gateways again (place_gateways: pure, about 10 us for
    a gateway), from their own role variables; for the same gateways they agree."""
    from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders import gateways
    topo = topology(method, revision="asm-1-28" if method == "aks_addon" else "")
    workloads = list(topo["gateways"].values())
    selector = topo["gateways"]["ingress"]["selector"]
    gws = [SHOP, {"name": "api-gw", "hosts": ["api.example.com"], "https": {"credential_name": "api-tls"},
                  "selector": workloads[-1]["selector"]}]
    certificates = [o for o in build(gws, issuers=[HTTP01], issuer="letsencrypt", workloads=workloads,
                                     ingress_selector=selector) if o["kind"] == "Certificate"]
    placed = {g["metadata"]["name"]: g["metadata"]["namespace"]
              for g in gateways.gateway_manifests(gws, [], [], workloads, selector)}
    assert {c["metadata"]["name"]: c["metadata"]["namespace"] for c in certificates} == {
        "shop-tls": placed["shop-gw"], "api-tls": placed["api-gw"]}
    assert gateways.place_gateways(gws, workloads, selector)[1] == placed
