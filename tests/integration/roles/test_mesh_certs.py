"""The mesh_certs role on the real API server with the real cert-manager CRDs (and, separately, the real chart that
the cert_manager role, the stage before it, installs or renders).

The Issuer, ClusterIssuer and Certificate tests install the pinned cert-manager's CRDs only (``cert_manager_crds``):
the real schemas validate every object. The chart test installs the pinned chart with the real helm; its webhook
pods never run on kwok's fake nodes, so its ValidatingWebhookConfiguration (failurePolicy Fail) would refuse
cert-manager objects: that test applies none, and kube_api removes the chart's cluster-scoped objects after it.
"""

import pytest
import yaml

from tests.integration.test_site import apply_render_folders
from tests.support.ansible_runner import REPO, role_play, run_playbook
from tests.support.cluster import ISTIO_VERSION

API = "cert-manager.io/v1"
SITE = REPO / "site.yml"
INSTALL_TASK = "Install or upgrade cert-manager (its chart, CRDs included)"  # ", waiting for ..." ignored
HTTP01 = {"name": "letsencrypt", "type": "acme_http01", "email": "ops@example.com",
          "server": "https://acme-staging-v02.api.letsencrypt.org/directory"}
AZURE_DNS = {"name": "azure-dns", "type": "acme_azure_dns", "email": "ops@example.com",
             "client_id": "00000000-0000-0000-0000-000000000001", "subscription_id": "sub-1",
             "resource_group": "rg-dns", "hosted_zone": "example.com"}
CA = {"name": "private-ca", "type": "ca", "kind": "Issuer", "ca_secret": "root-ca"}
GATEWAYS = [
    {"name": "shop-gw", "hosts": ["shop.example.com", "www.example.com"], "https": {"credential_name": "shop-tls"}},
    {"name": "api-gw", "hosts": ["api.example.com"], "https": {"credential_name": "api-tls", "mode": "MUTUAL"}},
    {"name": "own-gw", "hosts": ["own.example.com"], "https": {"credential_name": "own-tls"}},
]
CERTS = {"mesh_certs_issuers": [HTTP01, AZURE_DNS, CA], "mesh_certs_issuer": "private-ca",
         "mesh_certs_gateways": GATEWAYS, "mesh_certs_existing_secrets": ["own-tls"],
         "mesh_certs_certificate_spec": {"duration": "2160h", "privateKey": {"algorithm": "ECDSA", "size": 256}}}


def certs_play(kubeconfig, **role_vars):
    return role_play(kubeconfig, [{"role": "aksmesh.istio.mesh_certs", "vars": role_vars}], name="certs")


def cert_manager_play(kubeconfig, certs=None, play_vars=None, **role_vars):
    """cert-manager's stage (the cert_manager role), then the certs stage when ``certs`` (its role's variables);
    ``play_vars`` as an inventory sets them."""
    roles = [{"role": "aksmesh.istio.cert_manager", "vars": role_vars}]
    if certs is not None:
        roles.append({"role": "aksmesh.istio.mesh_certs", "vars": certs})
    return role_play(kubeconfig, roles, name="cert-manager", **(play_vars or {}))


@pytest.fixture
def ingress_ns(kube_api):
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-ingress"}})


def names(kube_api, kind, namespace=None):
    return sorted(o["metadata"]["name"] for o in kube_api.get(API, kind, namespace))


def test_issuers_and_certificates_are_accepted_by_the_real_crds(cert_manager_crds, ingress_ns, kube_api, kubeconfig,
                                                                tmp_path):
    kube_api.clear_log()
    check = run_playbook(certs_play(kubeconfig, **CERTS), tmp_path, check=True, diff=True)
    assert check.rc == 0, check.stdout[-3000:]
    assert [r["result"]["counts"] for r in check.task("Apply the Issuers and Certificates")] == [{"created": 5}]
    assert kube_api.writes() == [], [(w.method, w.path) for w in kube_api.writes()]

    first = run_playbook(certs_play(kubeconfig, **CERTS), tmp_path)
    assert first.rc == 0, first.stdout[-3000:]
    assert first.task("Apply the Issuers and Certificates")[0]["result"]["counts"] == {"created": 5}
    assert names(kube_api, "ClusterIssuer") == ["azure-dns", "letsencrypt"]
    assert names(kube_api, "Issuer", "istio-ingress") == ["private-ca"]
    # one Certificate per Gateway TLS Secret in the gateway's namespace; none for the Secret the user provides
    assert names(kube_api, "Certificate", "istio-ingress") == ["api-tls", "shop-tls"]
    shop = kube_api.get(API, "Certificate", "istio-ingress", "shop-tls")
    assert shop["spec"] == {"secretName": "shop-tls", "dnsNames": ["shop.example.com", "www.example.com"],
                            "duration": "2160h", "privateKey": {"algorithm": "ECDSA", "size": 256},
                            "issuerRef": {"name": "private-ca", "kind": "Issuer", "group": "cert-manager.io"}}
    assert shop["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "aksmesh", "aksmesh.io/stage": "certs"}
    dns = kube_api.get(API, "ClusterIssuer", None, "azure-dns")["spec"]["acme"]["solvers"][0]["dns01"]["azureDNS"]
    assert dns["managedIdentity"] == {"clientID": "00000000-0000-0000-0000-000000000001"}
    http = kube_api.get(API, "ClusterIssuer", None, "letsencrypt")["spec"]["acme"]
    assert http["solvers"] == [{"http01": {"ingress": {"class": "istio"}}}]

    second = run_playbook(certs_play(kubeconfig, **CERTS), tmp_path)
    assert second.rc == 0 and second.changed == [], [c["task"] for c in second.changed]
    status = second.task("Keep each Certificate's Ready condition and expiry for the summary")[0]["result"]
    assert sorted(c["metadata"]["name"] for c in status["ansible_facts"]["mesh_certs_status"]) == [
        "api-tls", "shop-tls"]

    # a Gateway that no longer needs a certificate: its Certificate is pruned
    fewer = {**CERTS, "mesh_certs_gateways": GATEWAYS[:1]}
    third = run_playbook(certs_play(kubeconfig, **fewer), tmp_path)
    assert third.rc == 0, third.stdout[-3000:]
    assert names(kube_api, "Certificate", "istio-ingress") == ["shop-tls"]

    gone = run_playbook(certs_play(kubeconfig, mesh_certs_state="absent", **fewer), tmp_path)
    assert gone.rc == 0, gone.stdout[-3000:]
    assert names(kube_api, "Certificate", "istio-ingress") == [] and names(kube_api, "ClusterIssuer") == []
    again = run_playbook(certs_play(kubeconfig, mesh_certs_state="absent", **fewer), tmp_path)
    assert again.rc == 0 and again.changed == [], [c["task"] for c in again.changed]


def test_the_real_crds_refuse_what_their_schema_refuses(cert_manager_crds, ingress_ns, kubeconfig, tmp_path):
    bad = {**CERTS, "mesh_certs_certificate_spec": {"privateKey": {"algorithm": "DSA"}}}
    run = run_playbook(certs_play(kubeconfig, **bad), tmp_path)
    assert run.rc != 0
    msg = str(run.task("Apply the Issuers and Certificates")[0]["result"])
    assert "spec.privateKey.algorithm" in msg and "DSA" in msg, msg[-2000:]


def test_preflight_a_tls_secret_nothing_makes_fails_before_anything_changes(cert_manager_crds, ingress_ns, kube_api,
                                                                            kubeconfig, tmp_path):
    unmade = {**CERTS, "mesh_certs_issuer": "", "mesh_certs_existing_secrets": ["own-tls", "istio-ingress/api-tls"]}
    kube_api.clear_log()
    run = run_playbook(certs_play(kubeconfig, **unmade), tmp_path)
    assert run.rc != 0
    failed = [r for r in run.results if r["status"] == "failed"]
    assert [r["task"].split(" : ")[-1] for r in failed] == ["Check that every Gateway TLS Secret will exist"]
    assert ("mesh_certs_existing_secrets: no Certificate of this run makes the Gateway TLS Secret(s) "
            "istio-ingress/shop-tls (gateway shop-gw)") in failed[0]["result"]["msg"]
    assert "set mesh_certs_issuer" in failed[0]["result"]["msg"]
    assert kube_api.writes() == [], [(w.method, w.path) for w in kube_api.writes()]
    assert names(kube_api, "ClusterIssuer") == [] and names(kube_api, "Certificate", "istio-ingress") == []


def test_render_mode_writes_the_objects(tmp_path):
    out = tmp_path / "rendered"
    play = role_play("unused-kubeconfig", [{"role": "aksmesh.istio.mesh_certs", "vars": CERTS}], name="certs",
                     aksmesh_target="render", aksmesh_render_dir=str(out), aksmesh_kubeconfig=None)
    run = run_playbook(play, tmp_path)
    assert run.rc == 0, run.stdout[-3000:]
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml"))
    assert files and all(f.startswith("45-certs/") for f in files), files
    text = "\n".join(p.read_text() for p in out.rglob("*.yaml"))
    for needle in ("kind: ClusterIssuer", "kind: Issuer", "kind: Certificate", "secretName: shop-tls"):
        assert needle in text
    assert len(files) == 5


def test_the_pinned_chart_installs_with_the_real_helm(cert_manager_chart_repo, kube_api, kubeconfig, tmp_path):
    """No Issuer or Certificate here: the chart's webhook (failurePolicy Fail) has no running pod on kwok."""
    install = {"cert_manager_install": True, "cert_manager_chart_repo": cert_manager_chart_repo}
    # check mode on a cluster without cert-manager: the chart's CRDs are planned, so the certs stage after it
    # reports its Issuers and Certificates as would-create, and nothing is written. The install asked for with the
    # mesh_certs_* names of an inventory from when mesh_certs installed cert-manager (deprecated, still read)
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-ingress"}})
    kube_api.clear_log()
    old_names = {"mesh_certs_install": True, "mesh_certs_chart_repo": cert_manager_chart_repo}
    check = run_playbook(cert_manager_play(kubeconfig, certs=CERTS, play_vars=old_names), tmp_path, check=True,
                         diff=True, timeout=900)
    assert check.rc == 0, check.stdout[-3000:]
    assert check.task(INSTALL_TASK)[0]["result"]["changed"]
    assert check.task("Apply the Issuers and Certificates")[0]["result"]["counts"] == {"created": 5}
    assert kube_api.writes() == [], [(w.method, w.path) for w in kube_api.writes()]

    first = run_playbook(cert_manager_play(kubeconfig, **install), tmp_path, timeout=900)
    assert first.rc == 0, first.stdout[-3000:]
    [release] = first.task(INSTALL_TASK)
    assert release["result"]["changed"]
    assert release["result"]["release"]["status"] == "deployed"
    crds = {c["metadata"]["name"] for c in kube_api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition")}
    assert {"certificates.cert-manager.io", "issuers.cert-manager.io", "clusterissuers.cert-manager.io",
            "certificaterequests.cert-manager.io", "orders.acme.cert-manager.io",
            "challenges.acme.cert-manager.io"} <= crds
    deployments = sorted(d["metadata"]["name"] for d in kube_api.get("apps/v1", "Deployment", "cert-manager"))
    assert deployments == ["cert-manager", "cert-manager-cainjector", "cert-manager-webhook"]

    second = run_playbook(cert_manager_play(kubeconfig, **install), tmp_path, timeout=900)
    assert second.rc == 0 and second.changed == [], [c["task"] for c in second.changed]

    gone = run_playbook(cert_manager_play(kubeconfig, cert_manager_state="absent", **install), tmp_path, timeout=900)
    assert gone.rc == 0, gone.stdout[-3000:]
    assert kube_api.get("apps/v1", "Deployment", "cert-manager", "cert-manager") is None
    assert kube_api.get("v1", "Namespace", None, "cert-manager") is None  # the install made it: cleanup removes it


SITE_MESH = {
    # istioctl from PATH (the pinned build), and the Istio version it renders (a render is that istioctl's version)
    "aksmesh_istioctl_download": False,
    "aksmesh_istio_version": ISTIO_VERSION,
    "mesh_gateways_gateways": [{"name": "shop-gw", "hosts": ["shop.example.com"], "https_redirect": False,
                                "https": {"credential_name": "shop-example-com-tls"}}],
    "mesh_gateways_virtual_services": [{"name": "productpage", "namespace": "shop", "hosts": ["shop.example.com"],
                                        "gateways": ["shop-gw"], "http": [{"route": [{"destination": {
                                            "host": "productpage", "port": {"number": 9080}}}]}]}],
    "mesh_injection_namespaces": [{"name": "shop"}],
    "aksmesh_grafana_passphrase": "graf-Pass-123", "aksmesh_kiali_passphrase": "kiali-Pass-456",
    "aksmesh_addons": False,
}


def site_inventory(tmp_path, host_vars, group_vars):
    inv = tmp_path / "inventory"
    inv.mkdir(exist_ok=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {"aks": host_vars}, "vars": group_vars}}))
    return inv


def test_site_preflight_fails_before_azure_or_the_cluster_is_touched(arm, aks, azure_env, kube_api, tmp_path):
    inv = site_inventory(tmp_path, {"aksmesh_resource_group": "rg", "aksmesh_cluster_name": "aks"},
                         dict(SITE_MESH, aksmesh_target="cluster"))
    kube_api.clear_log()
    run = run_playbook(SITE, tmp_path, inventory=inv, env=azure_env)
    assert run.rc != 0
    assert ("mesh_certs_existing_secrets: no Certificate of this run makes the Gateway TLS Secret(s) "
            "istio-ingress/shop-example-com-tls (gateway shop-gw)") in run.stdout
    assert kube_api.requests() == [] and arm.requests() == []


def test_site_render_mode_writes_the_certificates_that_the_real_crds_accept(cert_manager_crds, kube_api, tmp_path):
    out = tmp_path / "out" / "aks"
    inv = site_inventory(tmp_path, {"aksmesh_render_dir": str(out)}, dict(
        SITE_MESH, aksmesh_target="render", mesh_certs_issuers=[HTTP01], mesh_certs_issuer="letsencrypt"))
    run = run_playbook(SITE, tmp_path, inventory=inv)
    assert run.rc == 0, run.stdout[-3000:]
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders.index("45-certs") == folders.index("50-gateways") - 1
    assert sorted(p.name for p in (out / "45-certs").rglob("*.yaml")) == [
        "certificate-istio-ingress-shop-example-com-tls.yaml", "clusterissuer--cluster-letsencrypt.yaml"]
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-ingress"}})
    applied = kube_api.kubectl("apply", "--server-side", "--field-manager", "gitops", "-R", "-f",
                               str(out / "45-certs"), check=False)
    assert applied.returncode == 0, applied.stderr[-3000:]
    cert = kube_api.get(API, "Certificate", "istio-ingress", "shop-example-com-tls")
    assert cert["spec"]["dnsNames"] == ["shop.example.com"]


def test_site_render_writes_cert_manager_before_the_certificates_and_kubectl_applies_them_in_order(
        cert_manager_chart_repo, kube_api, tmp_path):
    """With the install asked for, render mode writes cert-manager's chart (helm template, CRDs included, as helm
    install leaves them) to its own folder before 45-certs, and `kubectl apply --server-side -R -f` of each folder
    in turn takes a cluster without cert-manager to the Certificates: a plain apply of one folder cannot hold the
    CRDs and the objects of their kinds."""
    out = tmp_path / "out" / "aks"
    inv = site_inventory(tmp_path, {"aksmesh_render_dir": str(out)}, dict(
        SITE_MESH, aksmesh_target="render", mesh_certs_issuers=[HTTP01],
        mesh_certs_issuer="letsencrypt", cert_manager_install=True, cert_manager_chart_repo=cert_manager_chart_repo))
    run = run_playbook(SITE, tmp_path, inventory=inv, timeout=900)
    assert run.rc == 0, run.stdout[-3000:]
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    names_ = [p.name for p in folders]
    assert names_.index("42-cert-manager") == names_.index("45-certs") - 1, names_
    chart = sorted(p.name for p in (out / "42-cert-manager").iterdir())
    assert chart[0] == "00-namespace--cluster-cert-manager.yaml", chart
    assert "01-customresourcedefinition--cluster-certificates.cert-manager.io.yaml" in chart, chart
    objs = dict((p.name, yaml.safe_load(p.read_text())) for p in (out / "42-cert-manager").iterdir())
    controller = objs["deployment-cert-manager-cert-manager.yaml"]
    assert controller["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert controller["metadata"]["annotations"] == {"meta.helm.sh/release-name": "cert-manager",
                                                     "meta.helm.sh/release-namespace": "cert-manager"}
    assert objs["00-namespace--cluster-cert-manager.yaml"]["metadata"]["labels"]["aksmesh.io/stage"] == "cert-manager"
    assert not [o for o in objs.values() if "fluxcd.io" in o["apiVersion"] or "helm.sh/hook" in str(o)]
    # no lint finding on cert-manager's own workloads (they are not the user's)
    [lint] = run.task("Lint the mesh configuration (the render folder, or the live mesh)")
    messages = lint["result"]["messages"]
    assert not [m for m in messages if "cert-manager" in m.get("origin", "")], messages

    kube_api.remove_istio_crds()
    crds = [o["metadata"]["name"] for o in objs.values() if o["kind"] == "CustomResourceDefinition"]
    # an earlier test's cert-manager CRDs are deleted without waiting: let them be gone first
    kube_api.wait_for(lambda: not any(kube_api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, n)
                                      for n in crds), "an earlier test's cert-manager CRDs to be deleted")
    files = sorted(out.rglob("*.yaml"))

    def after(folder):
        if folder.name == "42-cert-manager":
            assert sorted(d["metadata"]["name"] for d in kube_api.get("apps/v1", "Deployment", "cert-manager")) == [
                "cert-manager", "cert-manager-cainjector", "cert-manager-webhook"]
            # kwok runs no webhook server (nor the cainjector that gives it its CA): its webhook configurations
            # (failurePolicy Fail) would refuse every cert-manager object, as they do until cert-manager's pods are
            # ready on a real cluster (docs/gitops.md). Stand in for a ready webhook by removing them.
            for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
                kube_api.delete("admissionregistration.k8s.io/v1", kind, None, "cert-manager-webhook")
    apply_render_folders(kube_api, folders, files, after)
    cert = kube_api.get(API, "Certificate", "istio-ingress", "shop-example-com-tls")
    assert cert["spec"]["dnsNames"] == ["shop.example.com"]
    assert kube_api.get(API, "ClusterIssuer", None, "letsencrypt")


def test_the_summary_shows_ready_and_expiry_from_the_cluster(cert_manager_crds, ingress_ns, kube_api, kubeconfig,
                                                             tmp_path):
    """kwok runs no container, so no cert-manager controller sets the Certificates' status here: the test writes
    it through the status subresource, as the controller does, between two runs."""
    play = certs_play(kubeconfig, **CERTS)
    play[0]["post_tasks"] = [{"name": "Summary", "ansible.builtin.debug": {
        "msg": "{{ lookup('ansible.builtin.template', playbook_dir ~ '/summary.j2') | from_yaml }}"}}]
    (tmp_path / "summary.j2").write_text((REPO / "playbooks" / "templates" / "summary.j2").read_text())
    first = run_playbook(play, tmp_path)
    assert first.rc == 0, first.stdout[-3000:]
    assert "certificate istio-ingress/shop-tls: Ready unknown" in first.task("Summary")[0]["result"]["msg"]
    path = kube_api.path(API, "Certificate", "istio-ingress", "shop-tls") + "/status"
    cert = kube_api.get(API, "Certificate", "istio-ingress", "shop-tls")
    ready = {"type": "Ready", "status": "True", "reason": "Ready", "lastTransitionTime": "2026-11-24T08:00:00Z",
             "message": "Certificate is up to date and has not expired"}
    cert["status"] = {"notAfter": "2027-02-22T08:00:00Z", "conditions": [ready]}
    kube_api.ok("PUT", path, cert)
    second = run_playbook(play, tmp_path)
    assert second.rc == 0 and second.changed == [], [c["task"] for c in second.changed]
    summary = second.task("Summary")[0]["result"]["msg"]
    assert "certificate istio-ingress/shop-tls: Ready True (Ready), expires 2027-02-22T08:00:00Z" in summary
    assert "certificate istio-ingress/api-tls: Ready unknown" in summary
