"""mesh_authz on the real API server (the Istio CRDs; istiod's validating webhook when istiod runs): converges, a
second run changes nothing, check mode writes nothing, bad variables change nothing, prune, absent and cleanup.yml
remove what it made, render mode writes the policies; the lint findings AKM0011/AKM0012, from files and live."""

import pytest
import yaml

# the fixture this file builds on
from tests.integration.roles.test_mesh_roles import mesh_cluster  # noqa: F401 pylint: disable=unused-import
from tests.support.ansible_runner import REPO, role_play, run_module, run_playbook
from tests.unit.plugins.module_utils._istio.test_mesh_lint_authz import FINDINGS, FIXTURE

AP = ("security.istio.io/v1", "AuthorizationPolicy")
INGRESS_SA = "cluster.local/ns/istio-ingress/sa/istio-ingressgateway-service-account"
GATEWAYS = {
    "mesh_gateways_read_ingress": False,
    "mesh_gateways_gateways": [{"name": "shop-gw", "hosts": ["shop.example.com"]}],
    "mesh_gateways_virtual_services": [{"name": "shop", "namespace": "shop", "hosts": ["shop.example.com"],
                                        "gateways": ["shop-gw"],
                                        "http": [{"route": [{"destination": {"host": "web", "port": {
                                            "number": 9080}}}]}]}],
}
AUTHZ = {
    "mesh_authz_default_deny_namespaces": ["shop", {"namespace": "payments", "dry_run": True}],
    "mesh_authz_policies": [
        {"name": "api-from-web", "namespace": "shop", "selector": {"app": "api"},
         "rules": [{"from": {"principals": ["shop/web"]},
                    "to": {"methods": ["GET"], "paths": ["/api/*"], "ports": [8080]}}]},
        {"name": "charge-from-shop", "namespace": "payments",
         "rules": [{"from": {"namespaces": ["shop"]}, "to": {"methods": ["POST"], "paths": ["/charge"]}}]},
        {"name": "no-admin-from-outside", "namespace": "shop", "action": "DENY", "dry_run": True,
         "rules": [{"from": {"not_namespaces": ["shop"]}, "to": {"paths": ["/admin*"]}}]},
    ],
}
NAMES = ["payments/charge-from-shop", "payments/default-deny", "shop/allow-ingress-gateway", "shop/api-from-web",
         "shop/default-deny", "shop/no-admin-from-outside"]


@pytest.fixture
def authz_cluster(mesh_cluster):  # pylint: disable=redefined-outer-name
    """The mesh roles' cluster (the Istio and gateway namespaces, shop), and payments."""
    mesh_cluster[0].create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}})
    return mesh_cluster


def roles(authz=None, gateways=None):
    """The gateways stage, then mesh_authz with its routes, as site.yml hands them over."""
    return [{"role": "aksmesh.istio.mesh_gateways", "vars": dict(GATEWAYS, **(gateways or {}))},
            {"role": "aksmesh.istio.mesh_authz", "vars": dict(
                {"mesh_authz_gateway_routes": "{{ mesh_gateways_routes }}"}, **(AUTHZ if authz is None else authz))}]


def policies(kube_api):
    return dict(("%s/%s" % (p["metadata"]["namespace"], p["metadata"]["name"]), p) for p in kube_api.get(*AP)
                if p["metadata"]["labels"].get("aksmesh.io/stage") == "authz")


def dry(policy):
    return (policy["metadata"].get("annotations") or {}).get("istio.io/dry-run") == "true"


def test_converges_then_changes_nothing_and_check_mode_writes_nothing(authz_cluster, tmp_path):
    kube_api, kc = authz_cluster
    kube_api.clear_log()
    checked = run_playbook(role_play(kc, roles()), tmp_path, check=True, diff=True)
    assert checked.rc == 0, checked.stdout[-3000:]
    assert checked.task("Apply the AuthorizationPolicies")[0]["result"]["counts"] == {"created": 6}
    assert kube_api.writes() == [] and policies(kube_api) == {}

    first = run_playbook(role_play(kc, roles()), tmp_path)
    assert first.rc == 0, first.stdout[-3000:]
    assert first.task("Apply the AuthorizationPolicies")[0]["result"]["counts"] == {"created": 6}
    live = policies(kube_api)
    assert sorted(live) == NAMES
    assert live["shop/default-deny"]["spec"] == {} and not dry(live["shop/default-deny"])
    assert live["shop/allow-ingress-gateway"]["spec"] == {
        "action": "ALLOW", "rules": [{"from": [{"source": {"principals": [INGRESS_SA]}}]}]}
    assert live["shop/api-from-web"]["spec"]["rules"] == [{
        "from": [{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}],
        "to": [{"operation": {"methods": ["GET"], "paths": ["/api/*"], "ports": ["8080"]}}]}]
    assert [k for k in NAMES if dry(live[k])] == ["payments/default-deny", "shop/no-admin-from-outside"]

    kube_api.clear_log()
    second = run_playbook(role_play(kc, roles()), tmp_path)
    assert second.rc == 0 and second.changed == [], [c["task"] for c in second.changed]
    assert kube_api.writes() == []

    # enforce payments' default deny, drop a policy: the annotation goes, the policy is pruned
    changed = dict(AUTHZ, mesh_authz_default_deny_namespaces=["shop", "payments"],
                   mesh_authz_policies=AUTHZ["mesh_authz_policies"][:2])
    third = run_playbook(role_play(kc, roles(changed)), tmp_path)
    assert third.rc == 0, third.stdout[-3000:]
    assert third.task("Apply the AuthorizationPolicies")[0]["result"]["counts"] == {
        "configured": 1, "unchanged": 4, "pruned": 1}
    live = policies(kube_api)
    assert "shop/no-admin-from-outside" not in live and not dry(live["payments/default-deny"])

    gone = run_playbook(role_play(kc, [{"role": "aksmesh.istio.mesh_authz", "vars": dict(
        changed, mesh_authz_state="absent",
        mesh_authz_gateway_routes={"web.shop.svc.cluster.local": ["istio-ingress"]})}]), tmp_path)
    assert gone.rc == 0 and policies(kube_api) == {}, gone.stdout[-3000:]


def test_check_mode_with_a_namespace_the_injection_stage_would_create(
        mesh_cluster, tmp_path):  # pylint: disable=redefined-outer-name
    """payments does not exist yet: the injection stage's dry run plans it, so the policies' dry run passes."""
    kube_api, kc = mesh_cluster
    kube_api.clear_log()
    injection = {"role": "aksmesh.istio.mesh_injection", "vars": {"mesh_injection_namespaces": [{"name": "payments"}]}}
    run = run_playbook(role_play(kc, [injection] + roles()), tmp_path, check=True)
    assert run.rc == 0, run.stdout[-3000:]
    assert run.task("Apply the AuthorizationPolicies")[0]["result"]["counts"] == {"created": 6}
    assert kube_api.writes() == [] and policies(kube_api) == {}


def test_nothing_asked_applies_nothing(authz_cluster, tmp_path):
    kube_api, kc = authz_cluster
    run = run_playbook(role_play(kc, roles({})), tmp_path)
    assert run.rc == 0 and not run.task("Apply the AuthorizationPolicies")[0]["result"].get("changed")
    assert policies(kube_api) == {}


@pytest.mark.parametrize("authz,needle", [
    ({"mesh_authz_default_deny_namespaces": ["istio-system"]},
     "mesh_authz_default_deny_namespaces: istio-system is the Istio root namespace"),
    ({"mesh_authz_policies": [{"name": "open", "namespace": "shop"}]},
     "mesh_authz_policies: policy shop/open: give at least one rule"),
    ({"mesh_authz_policies": [{"name": "p", "namespace": "shop", "rules": [{"from": {"principals": ["web"]}}]}]},
     "mesh_authz_policies: policy shop/p: principal 'web': give <namespace>/<service account>"),
    ({"mesh_authz_dry_run": "sometimes"}, "mesh_authz_dry_run"),
])
def test_bad_variables_name_the_variable_and_change_nothing(authz_cluster, tmp_path, authz, needle):
    kube_api, kc = authz_cluster
    kube_api.clear_log()
    run = run_playbook(role_play(kc, [{"role": "aksmesh.istio.mesh_authz", "vars": dict(AUTHZ, **authz)}]),
                       tmp_path)
    assert run.rc != 0 and needle in run.stdout + run.stderr, run.stdout[-2000:]
    assert kube_api.writes() == [] and policies(kube_api) == {}


def test_render_mode_writes_the_policies(tmp_path):
    out = tmp_path / "rendered"
    play = [{"name": "render", "hosts": "localhost", "gather_facts": False,
             "vars": {"aksmesh_target": "render", "aksmesh_render_dir": str(out), "aksmesh_install_method": "helm"},
             "roles": [{"role": "aksmesh.istio.settings"}] + roles()}]
    run = run_playbook(play, tmp_path)
    assert run.rc == 0, run.stdout[-3000:]
    files = sorted(p.name for p in (out / "75-authz").iterdir())
    assert len(files) == 6 and "authorizationpolicy-shop-default-deny.yaml" in files, files
    ingress = yaml.safe_load((out / "75-authz" / "authorizationpolicy-shop-allow-ingress-gateway.yaml").read_text())
    # the Helm gateway chart runs the ingress gateway as its release's service account
    assert ingress["spec"]["rules"][0]["from"][0]["source"]["principals"] == [
        "cluster.local/ns/istio-ingress/sa/istio-ingress"]


def test_cleanup_removes_the_policies_including_the_ingress_gateways(authz_cluster, tmp_path):
    """cleanup.yml derives the gateways' routes as site.yml does, so the ingress gateway's policy goes too."""
    kube_api, kc = authz_cluster
    assert run_playbook(role_play(kc, roles()), tmp_path).rc == 0
    assert "shop/allow-ingress-gateway" in policies(kube_api)
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": None}, "vars": dict(
        GATEWAYS, aksmesh_target="cluster", aksmesh_kubeconfig=kc, ansible_connection="local", **AUTHZ)}}))
    first = run_playbook(REPO / "cleanup.yml", tmp_path, inventory=inv, tags="mesh")
    assert first.rc == 0, first.stdout[-3000:]
    assert policies(kube_api) == {}, first.stdout[-3000:]
    second = run_playbook(REPO / "cleanup.yml", tmp_path, inventory=inv, tags="mesh")
    assert second.rc == 0 and second.changed == [], [c["task"] for c in second.changed]


def test_lint_findings_on_a_fixture_from_files_and_live(kube_api, kubeconfig, tmp_path):
    (tmp_path / "authz.yaml").write_text(FIXTURE)
    files = run_module("mesh_lint", {"src": [str(tmp_path / "authz.yaml")], "partial": True, "fail_level": "never"})
    assert [(m["code"], m["origin"], m["reference"]) for m in files["messages"]] == FINDINGS, files["messages"]
    strict = run_module("mesh_lint", {"src": [str(tmp_path / "authz.yaml")], "partial": True,
                                      "fail_level": "Warning"})
    assert strict.failed and "AKM0011" in strict.result["msg"]
    for doc in yaml.safe_load_all(FIXTURE):  # namespaces first: the fixture lists them so
        kube_api.apply(doc)
    live = run_module("mesh_lint", {"kubeconfig": kubeconfig, "fail_level": "never"})
    assert not live.failed, live.result
    assert [(m["code"], m["origin"], m["reference"]) for m in live["messages"]
            if m["code"] in ("AKM0011", "AKM0012")] == FINDINGS


def test_site_with_istiod_applies_policies_its_webhook_accepts_for_the_real_gateway_account(
        kube_api, kubeconfig, tmp_path):
    """site.yml on the istioctl method: the real istiod validates every AuthorizationPolicy (its webhook refuses
    what the CRD schema lets through), and the ingress gateway's principal is the service account the real
    istioctl gave the gateway pods."""
    from tests.integration.test_site import MESH, SITE, inventory
    inv = inventory(tmp_path, {"aks": {"aksmesh_kubeconfig": kubeconfig}}, dict(
        MESH, aksmesh_target="cluster", aksmesh_istioctl_download=False, mesh_authz_default_deny_namespaces=["shop"],
        mesh_authz_policies=[{"name": "reviews-from-productpage", "namespace": "shop", "selector": {"app": "reviews"},
                              "rules": [{"from": {"principals": ["shop/bookinfo-productpage"]},
                                         "to": {"methods": ["GET"], "ports": [9080]}}]}]))
    first = run_playbook(SITE, tmp_path, inventory=inv)
    assert first.rc == 0, first.stdout[-4000:]
    live = policies(kube_api)
    assert sorted(live) == ["shop/allow-ingress-gateway", "shop/default-deny", "shop/reviews-from-productpage"]
    [principal] = live["shop/allow-ingress-gateway"]["spec"]["rules"][0]["from"][0]["source"]["principals"]
    _td, _ns, namespace, _sa, account = principal.split("/")
    pods = [p for p in kube_api.get("v1", "Pod", namespace) if p["metadata"]["labels"].get("istio") == "ingressgateway"]
    assert pods and {p["spec"]["serviceAccountName"] for p in pods} == {account}, principal

    # istiod's validating webhook is live: a port name passes the CRD schema, istiod refuses it
    bad = {"apiVersion": AP[0], "kind": AP[1], "metadata": {"name": "bad-port", "namespace": "shop"},
           "spec": {"rules": [{"to": [{"operation": {"ports": ["http"]}}]}]}}
    status, out = kube_api.api("POST", kube_api.path(*AP, "shop"), bad)
    assert status == 400 and "denied the request" in out["message"], (status, out)

    second = run_playbook(SITE, tmp_path, inventory=inv, tags="authz")
    assert second.rc == 0 and second.changed == [], [c["task"] for c in second.changed]
