"""site.yml and cleanup.yml end to end through Azure (the ARM emulator): the istioctl method from Azure names, the AKS
add-on, its canary, cleanup, and what fails before Azure or the cluster changes (a file of its own, so that
pytest-xdist's --dist loadfile spreads the site tests over the workers)."""

import yaml
from kubernetes import client, config

from tests.integration.test_site import (LEGACY, MESH, SITE, assert_a_gitops_resync_conflicts_with_nothing,
                                         assert_policies_select_gateway_pods, deploy_shop, injected_containers,
                                         inventory)
from tests.support import aks_crds
from tests.support.ansible_runner import REPO, run_playbook
from tests.support.cluster import ISTIO_VERSION


def test_cluster_mode_from_azure_names_to_a_mesh_then_unchanged(arm, aks, azure_env, kube_api, tmp_path):
    kubeconfig = tmp_path / "kube" / "aks.yaml"
    hosts = {"aks": {"aksmesh_resource_group": "rg", "aksmesh_cluster_name": "aks",
                     "aks_credentials_dest": str(kubeconfig), "aks_static_ip_dns_label": "shop",
                     "mesh_injection_manual": [LEGACY]}}
    group_vars = dict(MESH, aksmesh_target="cluster", aksmesh_istioctl_download=False)
    inv = inventory(tmp_path, hosts, group_vars)
    first = run_playbook(SITE, tmp_path, inventory=inv, env=azure_env, extra_vars={"aksmesh_poll_interval": 1})
    assert first.rc == 0, first.stdout[-4000:]
    # the long wait says what it waits for and prints a progress line per poll (a poll a second here)
    install = first.output_of("Install or update Istio")
    assert "waiting for istiod and the gateways to be ready; timeout: 300s]" in install, install
    assert "ASYNC POLL on aks: jid=" in install and "ASYNC OK on aks" in install, install
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
    (ip,) = arm.public_ips()
    address = ip["properties"]["ipAddress"]
    api = config.new_client_from_config(str(kubeconfig))
    svc = client.CoreV1Api(api).read_namespaced_service("istio-ingressgateway", "istio-ingress")
    # AKS finds the IP by its resource name (azure-pip-name) in the named group; no deprecated loadBalancerIP
    assert svc.metadata.annotations["service.beta.kubernetes.io/azure-pip-name"] == ip["name"]
    assert svc.metadata.annotations["service.beta.kubernetes.io/azure-load-balancer-resource-group"] == \
        "MC_rg_aks_westeurope"
    assert svc.spec.load_balancer_ip is None
    kube_api.wait_for(lambda: (client.CoreV1Api(api).read_namespaced_service(
        "istio-ingressgateway", "istio-ingress").status.load_balancer.ingress or [None])[0], "the ingress IP")
    assert client.CoreV1Api(api).read_namespaced_service(
        "istio-ingressgateway", "istio-ingress").status.load_balancer.ingress[0].ip == address
    assert_policies_select_gateway_pods(api, {"istio-ingress": {"istio": "ingressgateway"},
                                              "istio-egress": {"istio": "egressgateway"}})
    pa = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "security.istio.io", "v1", "istio-system", "peerauthentications", "default")
    assert pa["spec"]["mtls"]["mode"] == "STRICT"
    ns = client.CoreV1Api(api).read_namespace("shop")
    assert ns.metadata.labels["istio-injection"] == "enabled"
    # injected by hand with the template the real istioctl installed, in a namespace without injection labels
    legacy = client.AppsV1Api(api).read_namespaced_deployment("web", "legacy")
    assert "istio-proxy" in injected_containers(api.sanitize_for_serialization(legacy))
    assert "istio-injection" not in client.CoreV1Api(api).read_namespace("legacy").metadata.labels
    summary = first.task("Summary")[0]["result"]["msg"]
    assert any(f"static ingress IP: {address}" in line for line in summary)
    assert any(line.startswith(f"istio: {ISTIO_VERSION}") for line in summary)  # what the pinned istioctl put
    assert "graf-Pass-123" not in first.stdout and "app-secret" not in first.stdout
    deploy_shop(kubeconfig)
    second = run_playbook(SITE, tmp_path, inventory=inv, env=azure_env)
    assert second.rc == 0, second.stdout[-4000:]
    assert second.changed == [], [r["task"] for r in second.changed]
    # every run ends with the real istioctl analyze and the mesh lint of the live mesh, in the mesh's namespaces
    analysis = second.task("Analyze the live mesh with istioctl")[0]["result"]
    assert {"shop", "istio-system", "istio-ingress", "istio-egress"} <= set(analysis["namespaces"]), analysis
    assert "legacy" in analysis["namespaces"]  # not enrolled, but the collection created it (injection by hand)
    summary = second.task("Summary")[0]["result"]["msg"]
    assert any(line.startswith("istioctl analyze: ") for line in summary), summary
    assert any(line.startswith("mesh lint: ") for line in summary), summary
    # the render of this inventory re-synced by a GitOps tool: istioctl install's labels and the API server's
    # normalised values are in the render, so nothing conflicts with what istioctl install applied
    assert_a_gitops_resync_conflicts_with_nothing(kube_api, tmp_path, hosts["aks"], group_vars)
    # two VirtualServices for host reviews (two mesh_traffic entries for one host, a mirror and a canary): the run fails
    # at the analysis, naming the finding and both objects; --tags traffic runs the analysis too
    twice = MESH["mesh_traffic_services"] + [{"name": "reviews-mirror", "host": "reviews", "namespace": "shop",
                                              "subsets": ["v1", "v2"], "mirror": {"subset": "v2", "percentage": 20}}]
    clash = run_playbook(SITE, tmp_path, inventory=inv, env=azure_env, tags="traffic",
                         extra_vars={"mesh_traffic_services": twice})
    assert clash.rc != 0, clash.stdout[-3000:]
    failed = clash.task("Analyze the live mesh with istioctl")
    assert failed, [line for line in clash.stdout.splitlines() if "ERROR" in line or "fatal" in line]
    failed = failed[0]["result"]
    assert "IST0109" in failed.get("msg", ""), failed
    assert "VirtualService shop/reviews" in failed["msg"], failed["msg"]


def test_a_render_dir_on_a_cluster_target_fails_before_anything_changes(arm, aks, azure_env, kube_api, tmp_path):
    """One switch for render mode: a host that targets a cluster and carries a render folder is refused by the
    settings role, before Azure or the cluster is touched (it used to run the Azure stages, then render)."""
    inv = inventory(tmp_path, {"aks": {"aksmesh_resource_group": "rg", "aksmesh_cluster_name": "aks",
                                       "aksmesh_render_dir": str(tmp_path / "out")}},
                    dict(MESH, aksmesh_target="cluster"))
    kube_api.clear_log()
    run = run_playbook(SITE, tmp_path, inventory=inv, env=azure_env)
    assert run.rc != 0 and "aksmesh_render_dir: is set but aksmesh_target is cluster" in run.stdout
    assert kube_api.requests() == [] and arm.requests() == [] and not (tmp_path / "out").exists()


def test_a_missing_passphrase_fails_before_azure_or_the_cluster_changes(arm, aks, azure_env, kube_api, tmp_path):
    """Issue 26: a missing Grafana passphrase failed at the secrets stage, after the static public IP was created in
    Azure, naming mesh_secrets_grafana_passphrase. The secrets pre-flight fails first, naming the variable the user
    sets (aksmesh_grafana_passphrase), with no public IP in Azure and nothing written to the cluster."""
    hosts = {"aks": {"aksmesh_resource_group": "rg", "aksmesh_cluster_name": "aks",
                     "aks_credentials_dest": str(tmp_path / "kube" / "aks.yaml"), "aks_static_ip_dns_label": "shop"}}
    group_vars = dict(MESH, aksmesh_target="cluster")
    del group_vars["aksmesh_grafana_passphrase"]
    kube_api.clear_log()
    run = run_playbook(SITE, tmp_path, inventory=inventory(tmp_path, hosts, group_vars), env=azure_env)
    failed = [r for r in run.results if r["status"] == "failed"]
    assert run.rc != 0 and len(failed) == 1, run.stdout[-3000:]
    msg = failed[0]["result"]["msg"]
    assert msg.startswith("aksmesh_grafana_passphrase: is not set") and "Nothing was changed" in msg, msg
    assert "mesh_secrets_grafana_passphrase" not in msg and "aksmesh_kiali_passphrase" not in msg, msg
    assert arm.public_ips() == [] and arm.requests() == [], arm.requests()
    assert kube_api.writes() == [], [(w.method, w.path) for w in kube_api.writes()]


KEY_VAULT = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/mesh-ca"


def test_aks_addon_install_method(arm, aks, azure_env, kube_api, tmp_path):
    # the cluster has what a plug-in CA and an add-on egress gateway need: the Key Vault secrets provider, the Static
    # Egress Gateway feature with a Gateway pool, and (AKS installs it with that feature) the StaticGatewayConfiguration CRD
    props = aks["properties"]
    props["addonProfiles"] = {"azureKeyvaultSecretsProvider": {"enabled": True}}
    props["networkProfile"]["staticEgressGatewayProfile"] = {"enabled": True}
    props["agentPoolProfiles"].append(dict(props["agentPoolProfiles"][0], name="gwpool", mode="Gateway"))
    admin = config.new_client_from_config_dict(kube_api.kubeconfig())
    client.ApiextensionsV1Api(admin).create_custom_resource_definition(aks_crds.STATIC_GATEWAY_CONFIGURATION)
    host = {
        "aksmesh_resource_group": "rg", "aksmesh_cluster_name": "aks", "aks_credentials_dest": str(tmp_path / "kc"),
        "aksmesh_install_method": "aks_addon", "aksmesh_revision": "asm-1-28", "mesh_gateways_read_ingress": False,
        "aks_mesh_addon_certificate_authority": {
            "key_vault_id": KEY_VAULT, "root_cert_object_name": "root-cert", "cert_chain_object_name": "cert-chain",
            "cert_object_name": "ca-cert", "key_object_name": "ca-key"},
        # egress goes through the add-on's gateway (mesh_egress derives its namespace, Service and pod labels)
        "aks_mesh_addon_egress_gateways": [{"name": "egress1", "gateway_configuration_name": "egress1",
                                            "gateway_nodepool_name": "gwpool"}]}
    # the kubeconfig AKS hands out is the runner's, which holds exactly the ClusterRoles rbac.yml writes for the
    # add-on method (issue 23 §6)
    from tests.integration.test_rbac import runner_bound_to_the_published_roles
    cid = arm.cluster_id("rg", "aks").lower()
    arm.kubeconfigs[cid] = (kube_api.kubeconfig(user="aksmesh-runner"), arm.kubeconfigs[cid][1])
    kube_api.kubeconfig(tmp_path / "admin.kubeconfig")
    inv = runner_bound_to_the_published_roles(kube_api, str(tmp_path / "admin.kubeconfig"), tmp_path,
                                              lambda _runner: inventory(tmp_path, {"aks": host},
                                                                        dict(MESH, aksmesh_target="cluster")))
    core = client.CoreV1Api(admin)
    for ns in ("aks-istio-system", "aks-istio-ingress", "aks-istio-egress"):  # what the add-on creates in the cluster
        core.create_namespace({"metadata": {"name": ns}})
    # and its egress gateway's workload and Service (the analysis after the last stage looks for them)
    labels = {"istio": "egress1"}
    client.AppsV1Api(admin).create_namespaced_deployment("aks-istio-egress", {
        "metadata": {"name": "egress1"}, "spec": {"selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels}, "spec": {"containers": [{"name": "istio-proxy", "image": "proxyv2"}]}}}})
    core.create_namespaced_service("aks-istio-egress", {"metadata": {"name": "egress1"}, "spec": {
        "selector": labels, "ports": [{"name": "tls", "port": 443}]}})
    first = run_playbook(SITE, tmp_path, inventory=inv, env=azure_env)
    assert first.rc == 0, first.stdout[-4000:]
    assert "ASYNC OK on aks" in first.output_of("Manage the AKS Istio add-on"), first.stdout[-4000:]
    profile = arm.resources[arm.cluster_id("rg", "aks").lower()]["properties"]["serviceMeshProfile"]
    assert profile["istio"]["revisions"] == ["asm-1-28"] and arm.public_ips() == []
    assert profile["istio"]["certificateAuthority"]["plugin"]["keyVaultId"] == KEY_VAULT
    assert profile["istio"]["components"]["egressGateways"] == [{
        "enabled": True, "name": "egress1", "namespace": "aks-istio-egress", "gatewayConfigurationName": "egress1"}]
    api = config.new_client_from_config(str(tmp_path / "kc"))
    custom = client.CustomObjectsApi(api)
    sgc = custom.get_namespaced_custom_object("egressgateway.kubernetes.azure.com", "v1alpha1", "aks-istio-egress",
                                              "staticgatewayconfigurations", "egress1")
    assert sgc["spec"] == {"gatewayNodepoolName": "gwpool"}
    egress_gw = custom.get_namespaced_custom_object("networking.istio.io", "v1", "aks-istio-egress", "gateways",
                                                    "egress-api-stripe-com")
    assert egress_gw["spec"]["selector"] == {"istio": "egress1"}
    pa = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "security.istio.io", "v1", "aks-istio-system", "peerauthentications", "default")
    assert pa["spec"]["mtls"]["mode"] == "STRICT"
    gw = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "networking.istio.io", "v1", "aks-istio-ingress", "gateways", "shop-gw")
    assert gw["spec"]["selector"] == {"istio": "aks-istio-ingressgateway-external"}
    # the add-on's mesh config, the documented way: istio-shared-configmap-<revision> in aks-istio-system
    shared = client.CoreV1Api(api).read_namespaced_config_map("istio-shared-configmap-asm-1-28", "aks-istio-system")
    mesh = yaml.safe_load(shared.data["mesh"])
    assert mesh["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"} and mesh["accessLogFile"] == "/dev/stdout"
    # and the tracing provider of the other methods: the addons' Telemetry turns it on, Jaeger gets the spans
    assert mesh["extensionProviders"] == [{"name": "otel-tracing", "opentelemetry": {
        "service": "jaeger-collector.istio-system.svc.cluster.local", "port": 4317}}]
    # the add-on injects only istio.io/rev=<its revision>; istio-injection=enabled would be skipped
    labels = client.CoreV1Api(api).read_namespace("shop").metadata.labels
    assert labels["istio.io/rev"] == "asm-1-28" and "istio-injection" not in labels
    allow = client.NetworkingV1Api(api).read_namespaced_network_policy("allow-ingress-gateway", "aks-istio-ingress")
    assert allow.spec.pod_selector.match_labels == {"istio": "aks-istio-ingressgateway-external"}
    second = run_playbook(SITE, tmp_path, inventory=inv, env=azure_env)
    assert second.rc == 0 and second.changed == [], [r["task"] for r in second.changed]
    # the add-on is analyzed with its Istio namespace and revision
    analysis = second.task("Analyze the live mesh with istioctl")[0]["result"]
    assert not analysis.get("failed"), analysis
    assert analysis["command"][analysis["command"].index("--istioNamespace") + 1] == "aks-istio-system"
    assert analysis["command"][analysis["command"].index("--revision") + 1] == "asm-1-28"
    assert "shop" in analysis["namespaces"], analysis
    # a GitOps re-sync of the render (the add-on's mesh config and StaticGatewayConfiguration included)
    assert_a_gitops_resync_conflicts_with_nothing(kube_api, tmp_path, host, MESH)


def test_aks_addon_canary_moves_namespaces_to_the_new_revision(arm, azure_env, kube_api, tmp_path):
    # ARM's Kubernetes 1.34 runs asm-1-27 and offers the upgrade to asm-1-28
    arm.add_cluster("rg", "aks", kubeconfig=kube_api.kubeconfig(), kubernetes_version="1.34.2")
    core = client.CoreV1Api(config.new_client_from_config_dict(kube_api.kubeconfig()))
    for ns in ("aks-istio-system", "aks-istio-ingress"):
        core.create_namespace({"metadata": {"name": ns}})
    addon = {"aksmesh_resource_group": "rg", "aksmesh_cluster_name": "aks", "aksmesh_install_method": "aks_addon",
             "aks_credentials_dest": str(tmp_path / "kc"), "mesh_gateways_read_ingress": False,
             "mesh_egress_hosts": []}
    inv = inventory(tmp_path, {"aks": addon}, dict(MESH, aksmesh_target="cluster"))

    def state():
        profile = arm.resources[arm.cluster_id("rg", "aks").lower()]["properties"]["serviceMeshProfile"]
        maps = sorted(m.metadata.name for m in core.list_namespaced_config_map("aks-istio-system").items
                      if m.metadata.name.startswith("istio-shared-configmap-"))
        return sorted(profile["istio"]["revisions"]), core.read_namespace("shop").metadata.labels["istio.io/rev"], maps

    def site(**extra):
        run = run_playbook(SITE, tmp_path, inventory=inv, env=azure_env, extra_vars=extra)
        assert run.rc == 0, [(r["task"], r["result"].get("msg")) for r in run.results if r["status"] == "failed"]
        return run
    site(aksmesh_revision="asm-1-27")
    assert state() == (["asm-1-27"], "asm-1-27", ["istio-shared-configmap-asm-1-27"])
    # the canary: both control planes, the namespaces (and a mesh config per revision) on the new one
    site(aksmesh_revision="asm-1-28", aks_mesh_addon_revisions=["asm-1-27", "asm-1-28"])
    assert state() == (["asm-1-27", "asm-1-28"], "asm-1-28",
                       ["istio-shared-configmap-asm-1-27", "istio-shared-configmap-asm-1-28"])
    # complete it: the old revision and its mesh config go; a second run changes nothing
    site(aksmesh_revision="asm-1-28")
    assert state() == (["asm-1-28"], "asm-1-28", ["istio-shared-configmap-asm-1-28"])
    again = site(aksmesh_revision="asm-1-28")
    assert again.changed == [], [r["task"] for r in again.changed]


def test_cleanup_removes_everything_then_has_nothing_to_do(arm, aks, azure_env, kube_api, tmp_path):
    kubeconfig = tmp_path / "kc"
    inv = inventory(tmp_path, {"aks": {"aksmesh_resource_group": "rg", "aksmesh_cluster_name": "aks",
                                       "aks_credentials_dest": str(kubeconfig), "aksmesh_kubeconfig": str(kubeconfig),
                                       "aksmesh_cleanup_static_ip": True, "mesh_injection_manual": [LEGACY]}},
                    dict(MESH, aksmesh_target="cluster", aksmesh_istioctl_download=False))
    from tests.support.ansible_runner import run_module
    assert not run_module("aks_credentials", {"resource_group": "rg", "name": "aks", "dest": str(kubeconfig)},
                          env=azure_env).failed
    assert run_playbook(SITE, tmp_path, inventory=inv, env=azure_env).rc == 0
    assert len(arm.public_ips()) == 1
    first = run_playbook(REPO / "cleanup.yml", tmp_path, inventory=inv, env=azure_env)
    assert first.rc == 0, first.stdout[-4000:]
    api = config.new_client_from_config(str(kubeconfig))
    names = {n.metadata.name for n in client.CoreV1Api(api).list_namespace().items}
    assert not {"istio-system", "istio-ingress", "istio-egress"} & names
    crds = {c.metadata.name for c in client.ApiextensionsV1Api(api).list_custom_resource_definition().items}
    assert not [c for c in crds if c.endswith(".istio.io")]
    assert "istio-injection" not in (client.CoreV1Api(api).read_namespace("shop").metadata.labels or {})
    assert not client.AppsV1Api(api).list_namespaced_deployment("legacy").items  # the hand-injected workload
    assert arm.public_ips() == []
    second = run_playbook(REPO / "cleanup.yml", tmp_path, inventory=inv, env=azure_env)
    assert second.rc == 0 and second.changed == [], [r["task"] for r in second.changed]
