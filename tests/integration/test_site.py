"""site.yml end to end: render mode (the embedded default), and cluster mode through Azure for each install method."""

import base64
import json
import subprocess

import pytest
import yaml
from kubernetes import client, config

from tests.support import aks_crds
from tests.support.ansible_runner import REPO, run_playbook
from tests.support.cluster import ISTIO_VERSION

SITE = REPO / "site.yml"


def inventory(tmp_path, hosts, group_vars=None):
    inv = tmp_path / "inventory"
    inv.mkdir(exist_ok=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts, "vars": group_vars or {}}}))
    return inv


MESH = {
    # istioctl from PATH (the pinned build): the analyze stage needs it on every install method, and a render is the
    # version of the istioctl that generates it
    "aksmesh_istioctl_download": False,
    "aksmesh_istio_version": ISTIO_VERSION,
    "mesh_gateways_gateways": [{"name": "shop-gw", "hosts": ["shop.example.com"]}],
    "mesh_gateways_virtual_services": [{"name": "productpage", "namespace": "shop", "hosts": ["shop.example.com"],
                                        "gateways": ["shop-gw"], "http": [{"route": [{"destination": {
                                            "host": "productpage", "port": {"number": 9080}}}]}]}],
    "mesh_egress_hosts": [{"host": "api.stripe.com"}],
    "mesh_egress_namespaces": ["shop"],
    "mesh_traffic_services": [{"name": "reviews", "namespace": "shop", "subsets": ["v1", "v2"],
                               "canary": {"weights": {"v1": 80, "v2": 20}}}],
    "mesh_injection_namespaces": [{"name": "shop"}],
    "aksmesh_grafana_passphrase": "graf-Pass-123", "aksmesh_kiali_passphrase": "kiali-Pass-456",
    "aksmesh_addons": False,
}


# a workload of a namespace where automatic injection is off: injected by hand (mesh_injection_manual)
LEGACY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "legacy"},
          "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {
              "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}


def injected_containers(obj):
    spec = obj["spec"]["template"]["spec"]
    return [c["name"] for c in spec.get("initContainers", []) + spec["containers"]]


KEY_VAULT_SECRETS = {"name": "mesh-kv", "tenant_id": "11111111-2222-3333-4444-555555555555",
                     "client_id": "66666666-7777-8888-9999-000000000000"}
PASSPHRASES = ("graf-Pass-123", "kiali-Pass-456")


def assert_no_secret_value_in(folder, run):
    """No passphrase, plain or base64, in any rendered file or in what the run printed."""
    values = [v for p in PASSPHRASES for v in (p, base64.b64encode(p.encode()).decode())]
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not [v for v in values if v in text], path
    assert not [v for v in values if v in run.stdout + run.stderr]


def assert_policies_select_gateway_pods(api, expected):
    """Each gateway namespace's allow rule selects exactly the gateway pods the real istioctl or chart created
    (with default-deny, a rule that selects nothing cuts the gateway off)."""
    net, core = client.NetworkingV1Api(api), client.CoreV1Api(api)
    for ns, labels in expected.items():
        allow = [p for p in net.list_namespaced_network_policy(ns).items if p.metadata.name != "default-deny"]
        assert [p.spec.pod_selector.match_labels for p in allow] == [labels], ns
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        pods = core.list_namespaced_pod(ns, label_selector=selector).items
        assert pods and len(pods) == len(core.list_namespaced_pod(ns).items), (ns, selector)
        allowed = {port.port for rule in allow[0].spec.ingress for port in rule.ports}
        assert allowed >= {15021, 15020, 15090}, allowed
        serving = {port.target_port for s in core.list_namespaced_service(ns).items for port in s.spec.ports
                   if port.name in ("http2", "https")}
        assert serving and serving <= allowed, (serving, allowed)


def deploy_shop(kubeconfig):
    """The application the MESH routes go to, as the application team deploys it: istioctl analyze reports
    routes to hosts that do not exist (IST0101) and subsets that select no pod (IST0173) as errors."""
    api = config.new_client_from_config(str(kubeconfig))
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    for name, versions in (("productpage", ["v1"]), ("reviews", ["v1", "v2"])):
        core.create_namespaced_service("shop", {"metadata": {"name": name, "labels": {"app": name}}, "spec": {
            "selector": {"app": name}, "ports": [{"name": "http", "port": 9080}]}})
        for version in versions:
            labels = {"app": name, "version": version}
            apps.create_namespaced_deployment("shop", {"metadata": {"name": f"{name}-{version}"}, "spec": {
                "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                    "containers": [{"name": name, "image": f"docker.io/istio/examples-bookinfo-{name}-{version}",
                                    "ports": [{"containerPort": 9080}]}]}}}})


CLUSTER_ONLY = ("aksmesh_kubeconfig", "aksmesh_resource_group", "aksmesh_cluster_name", "aks_credentials_dest")


def assert_a_gitops_resync_conflicts_with_nothing(kube_api, tmp_path, host_vars, group_vars, skip=()):
    """The render of the same inventory, applied as a GitOps tool applies it (server-side, field manager
    argocd-controller, no force) to the cluster the collection installed from that inventory: no folder conflicts.
    Left out, as docs/gitops.md tells the tool to: the webhooks of Istio's webhook configurations (istioctl's
    revision tags and istiod change them at run time; with RespectIgnoreDifferences Argo CD applies the live ones)
    and the placeholder Secrets (replaced before a commit)."""
    out, synced = tmp_path / "gitops" / "render", tmp_path / "gitops" / "sync"
    out.parent.mkdir(parents=True, exist_ok=True)
    host = dict((k, v) for k, v in host_vars.items() if k not in CLUSTER_ONLY)
    inv = inventory(out.parent, {"aks": dict(host, aksmesh_render_dir=str(out))},
                    dict(group_vars, aksmesh_target="render"))
    render = run_playbook(SITE, out.parent, inventory=inv)
    assert render.rc == 0, render.stdout[-3000:]
    for path in sorted(out.rglob("*.yaml")):
        obj = yaml.safe_load(path.read_text())
        if path.relative_to(out).parts[0] in skip or obj["kind"] == "Secret":
            continue
        if obj["kind"].endswith("WebhookConfiguration"):
            obj.pop("webhooks", None)  # istioctl's and istiod's on a cluster (docs/gitops.md): the tool ignores them
        target = synced / path.relative_to(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(obj))
    folders = sorted(synced.iterdir())
    assert folders
    for folder in folders:
        dry = kube_api.kubectl("apply", "--server-side", "--dry-run=server", "--field-manager", "argocd-controller",
                               "-R", "-f", str(folder), check=False, timeout=300)
        assert dry.returncode == 0, "%s:\n%s" % (folder.name, dry.stderr)


def test_two_hosts_that_share_a_render_folder_fail_by_name_before_anything_is_written(tmp_path):
    """Two hosts rendering into one folder would leave one folder matching neither cluster: every host of the run
    fails in the settings, naming both hosts, the variable and the fix, and no stage writes a file."""
    out = tmp_path / "out"
    inv = inventory(tmp_path, {"aks-weu": {"aksmesh_render_dir": str(out)},
                               "aks-neu": {"aksmesh_render_dir": str(out) + "/", "aksmesh_install_method": "helm"},
                               "aks-sea": {"aksmesh_render_dir": str(tmp_path / "sea")}},
                    dict(MESH, aksmesh_target="render"))
    run = run_playbook(SITE, tmp_path, inventory=inv)
    assert run.rc != 0
    (failed,) = [r for r in run.results if r["status"] == "failed"]
    msg = failed["result"]["msg"]
    first, second = sorted(["aks-weu", "aks-neu"])  # the inventory's order (yaml.safe_dump sorts the hosts)
    assert msg.startswith("hosts %s and %s share a path: %s's render folder (aksmesh_render_dir) and %s's render "
                          "folder (aksmesh_render_dir) are the same folder, %s" % (first, second, first, second, out)), msg
    assert "remove aksmesh_render_dir for the default rendered/<inventory host>" in msg and "aks-sea" not in msg
    # every host stopped there (aks-sea too, whose folder is its own): no stage ran, nothing was written
    assert not [r for r in run.results if "Stage " in r["task"] and r["status"] != "skipped"]
    assert not out.exists() and not (tmp_path / "sea").exists()


def test_render_mode_for_a_fleet_is_idempotent_and_check_safe(tmp_path):
    out = tmp_path / "out"
    inv = inventory(tmp_path, {"aks-weu": {"aksmesh_render_dir": str(out / "aks-weu"), "mesh_injection_manual": [LEGACY]},
                               "aks-neu": {"aksmesh_render_dir": str(out / "aks-neu"),
                                           "aksmesh_install_method": "helm", "aksmesh_render_helm_as": "flux"},
                               "aks-sea": {"aksmesh_render_dir": str(out / "aks-sea"),
                                           "aksmesh_install_method": "aks_addon", "aksmesh_revision": "asm-1-28",
                                           "mesh_secrets_key_vault": KEY_VAULT_SECRETS,
                                           "aks_mesh_addon_egress_gateways": [{
                                               "name": "egress1", "gateway_configuration_name": "egress1",
                                               "gateway_nodepool_name": "gwpool"}]}},
                    dict(MESH, aksmesh_target="render"))
    check = run_playbook(SITE, tmp_path, inventory=inv, check=True)
    assert check.rc == 0, check.stdout[-3000:]
    assert not out.exists()  # check mode writes nothing
    first = run_playbook(SITE, tmp_path, inventory=inv)
    assert first.rc == 0, first.stdout[-3000:]
    weu = {p.relative_to(out / "aks-weu").as_posix() for p in (out / "aks-weu").rglob("*.yaml")}
    # the control plane as istioctl would install it, no IstioOperator (no cluster stores one)
    assert not [f for f in weu if "istiooperator" in f]
    assert "10-istio/deployment-istio-system-istiod.yaml" in weu and "10-istio/00-namespace--cluster-istio-system.yaml" in weu
    assert "40-mtls/peerauthentication-istio-system-default.yaml" in weu
    assert "50-gateways/gateway-istio-ingress-shop-gw.yaml" in weu
    assert "20-secrets/secret-istio-system-grafana.yaml" in weu and "30-injection/00-namespace--cluster-shop.yaml" in weu
    # injected by hand with the template of the control plane rendered beside it; its namespace not labelled
    legacy = yaml.safe_load((out / "aks-weu/30-injection/deployment-legacy-web.yaml").read_text())
    assert "istio-proxy" in injected_containers(legacy)
    legacy_ns = yaml.safe_load((out / "aks-weu/30-injection/00-namespace--cluster-legacy.yaml").read_text())
    assert not {"istio-injection", "istio.io/rev"} & set(legacy_ns["metadata"]["labels"])
    neu = {p.relative_to(out / "aks-neu").as_posix() for p in (out / "aks-neu").rglob("*.yaml")}
    assert "10-istio-helm/helmrelease-istio-system-istiod.yaml" in neu
    istiod = yaml.safe_load((out / "aks-neu/10-istio-helm/helmrelease-istio-system-istiod.yaml").read_text())
    assert istiod["spec"]["dependsOn"] == [{"name": "istio-base", "namespace": "istio-system"}]
    ingress = yaml.safe_load((out / "aks-neu/10-istio-helm/helmrelease-istio-ingress-istio-ingress.yaml").read_text())
    assert ingress["spec"]["dependsOn"] == [{"name": "istiod", "namespace": "istio-system"}]
    assert "50-gateways/gateway-istio-ingress-shop-gw.yaml" in neu  # helm's gateway also runs in istio-ingress
    gw = yaml.safe_load((out / "aks-neu/50-gateways/gateway-istio-ingress-shop-gw.yaml").read_text())
    assert gw["spec"]["selector"] == {"istio": "ingress"}
    sea = {p.relative_to(out / "aks-sea").as_posix() for p in (out / "aks-sea").rglob("*.yaml")}
    assert "10-istio/configmap-aks-istio-system-istio-shared-configmap-asm-1-28.yaml" in sea
    # the add-on egress gateway's StaticGatewayConfiguration, rendered with the mesh config (one call per folder)
    assert "10-istio/staticgatewayconfiguration-aks-istio-egress-egress1.yaml" in sea, sorted(sea)
    # egress goes through that add-on gateway, named and selected as AKS lays it out, with no mesh_egress_gateway_*
    egress_gw = yaml.safe_load((out / "aks-sea/60-egress/gateway-aks-istio-egress-egress-api-stripe-com.yaml")
                               .read_text())
    assert egress_gw["spec"]["selector"] == {"istio": "egress1"}
    egress_vs = yaml.safe_load((out / "aks-sea/60-egress/virtualservice-shop-egress-api-stripe-com.yaml").read_text())
    to_gateway = egress_vs["spec"]["tls"][0]["route"][0]["destination"]
    assert to_gateway["host"] == "egress1.aks-istio-egress.svc.cluster.local"
    assert egress_vs["spec"]["gateways"] == ["mesh"]  # the gateway's leg is one VirtualService, beside its Gateway
    gateway_leg = yaml.safe_load((out / "aks-sea/60-egress/virtualservice-aks-istio-egress-egress-api-stripe-com.yaml")
                                 .read_text())
    assert gateway_leg["spec"]["gateways"] == ["aks-istio-egress/egress-api-stripe-com"]
    assert gateway_leg["spec"]["tls"][0]["route"][0]["destination"]["host"] == "api.stripe.com"
    assert "40-mtls/peerauthentication-aks-istio-system-default.yaml" in sea
    shop = yaml.safe_load((out / "aks-sea/30-injection/00-namespace--cluster-shop.yaml").read_text())
    assert shop["metadata"]["labels"]["istio.io/rev"] == "asm-1-28"
    secret = out / "aks-weu/20-secrets/secret-istio-system-grafana.yaml"
    assert secret.stat().st_mode & 0o777 == 0o600
    # the render folder holds no secret value: placeholders that say what to set, or Key Vault references
    grafana = yaml.safe_load(secret.read_text())
    assert grafana["stringData"] == {"username": "admin", "passphrase": "<set-me: the Grafana passphrase>"}
    assert grafana["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/ssa"] == "IfNotPresent"
    assert_no_secret_value_in(out, first)
    assert sorted(p.name for p in (out / "aks-sea/20-secrets").iterdir()) == [
        "00-namespace--cluster-istio-system.yaml", "secretproviderclass-istio-system-grafana.yaml",
        "secretproviderclass-istio-system-kiali.yaml"]
    spc = yaml.safe_load((out / "aks-sea/20-secrets/secretproviderclass-istio-system-grafana.yaml").read_text())
    assert spc["spec"]["parameters"]["keyvaultName"] == "mesh-kv" and spc["spec"]["secretObjects"][0][
        "secretName"] == "grafana"
    summaries = {r["host"]: r["result"]["msg"] for r in first.task("Summary")}
    assert any(line.startswith("secrets: no secret value is rendered; the grafana and kiali Secrets in 20-secrets "
                               "hold placeholders") for line in summaries["aks-weu"])
    assert any("sync the credential Secrets from Key Vault mesh-kv" in line for line in summaries["aks-sea"])
    assert any("for Flux only: the control plane is Flux HelmReleases" in line for line in summaries["aks-neu"])
    second = run_playbook(SITE, tmp_path, inventory=inv)
    assert second.rc == 0 and second.changed == [], [r["task"] for r in second.changed]
    summary = second.task("Summary")[0]["result"]["msg"]
    assert any("rendered to:" in line for line in summary) and any("mesh lint" in line for line in summary)


def test_the_summary_names_each_finding_and_why_a_stage_was_skipped(tmp_path):
    # a workload of the user's without a version label: AKM0001 (what Istio ships is not checked)
    inv = inventory(tmp_path, {"aks": {"aksmesh_render_dir": str(tmp_path / "out"), "mesh_injection_manual": [LEGACY]}},
                    MESH)
    run = run_playbook(SITE, tmp_path, inventory=inv)
    assert run.rc == 0, run.stdout[-3000:]
    summary = run.task("Summary")[0]["result"]["msg"]
    assert "skipped addons: aksmesh_addons is false" in summary
    lint = run.task("Lint the mesh configuration (the render folder, or the live mesh)")[0]["result"]
    for m in lint["messages"]:  # each finding on a line of its own: level, code, object, message
        assert "mesh lint %s %s %s: %s" % (m["level"], m["code"], m["origin"], m["message"]) in summary
    counts = dict((level, "%d %s%s" % (n, level.lower(), "" if n == 1 or level == "Info" else "s"))
                  for level, n in lint["counts"].items())
    assert lint["messages"] and "mesh lint: %(Error)s, %(Warning)s, %(Info)s" % counts in summary, summary


def test_a_misspelt_variable_fails_before_anything_is_rendered_or_only_warns(tmp_path):
    """A typo used to be ignored (aksmesh_instal_method: helm rendered the istioctl method and exited 0): the settings
    role fails naming it and the closest known name, before any folder is written; aksmesh_unknown_variables: warn
    goes on without it, saying so, and the summary repeats it."""
    out = tmp_path / "out"
    inv = inventory(tmp_path, {"aks": {"aksmesh_render_dir": str(out), "aksmesh_instal_method": "helm"}}, MESH)
    told = "aksmesh_instal_method (did you mean aksmesh_install_method?): unknown variable - rename or remove it"
    run = run_playbook(SITE, tmp_path, inventory=inv)
    assert run.rc != 0 and told in run.stdout and not out.exists(), run.stdout[-3000:]
    # what the user sees first is the variable, the problem and the fix: the failed task's message alone, not behind
    # ansible-core's wrappers of a filter that raised (Task failed: Finalization of task args for
    # 'ansible.builtin.set_fact' failed: ... The filter plugin 'aksmesh.istio.settings' failed: ...)
    (failed,) = run.task("Stop on a wrong aksmesh_* variable")
    assert failed["result"]["msg"].startswith(told), failed
    shown = run.output_of("Stop on a wrong aksmesh_* variable").splitlines()
    first = [line for line in shown if line.startswith(("fatal:", "[ERROR]:"))][0]
    assert first.split("FAILED! => ", 1)[-1].startswith(('{"changed": false, "msg": "' + told, "[ERROR]: Task failed: "
                                                         "Action failed: " + told)), shown
    assert "Finalization of task args" not in run.stdout + run.stderr and "filter plugin" not in run.stdout
    # a wrong role variable, too: one line naming it and the closest choice, not the whole argument spec of the role's
    # entry point that ansible-core's check prints with its failed result (argument_spec_data)
    bad = run_playbook(SITE, tmp_path, inventory=inv, extra_vars={"aksmesh_unknown_variables": "warn",
                                                                  "mesh_mtls_mode": "STRIKT"})
    (failed,) = bad.task("Stop on a wrong role variable")
    assert failed["result"]["msg"] == "mesh_mtls_mode: 'STRIKT' is not one of STRICT, PERMISSIVE, DISABLE; did you " \
        "mean STRICT?", bad.stdout[-3000:]
    assert bad.rc != 0 and "argument_spec_data" not in bad.stdout and not out.exists()
    warned = run_playbook(SITE, tmp_path, inventory=inv, extra_vars={"aksmesh_unknown_variables": "warn"})
    assert warned.rc == 0, warned.stdout[-3000:]
    assert (out / "10-istio").is_dir() and not (out / "10-istio-helm").exists()  # the variable was ignored
    warning = warned.task("Unknown aksmesh_* variables, ignored (aksmesh_unknown_variables is warn)")[0]["result"]
    assert warning["msg"].startswith(told)
    summary = warned.task("Summary")[0]["result"]["msg"]
    assert "ignored (aksmesh_unknown_variables: warn): " + warning["msg"] in summary


def test_a_render_is_the_istio_version_asked_for(tmp_path):
    """Render mode used the istioctl on PATH unchecked (a 1.31 development build rendered under aksmesh_istio_version
    1.30.0): an istioctl of another version is refused by name before any stage writes anything, and the summary of
    a render says which version and images it holds."""
    out = tmp_path / "out"
    inv = inventory(tmp_path, {"aks": {"aksmesh_render_dir": str(out)}}, dict(MESH, aksmesh_istio_version="1.30.0"))
    run = run_playbook(SITE, tmp_path, inventory=inv)
    told = ("aksmesh_istio_version is 1.30.0, but the istioctl on PATH is istioctl %s, which would render Istio %s's "
            "control plane under that name" % (ISTIO_VERSION, ISTIO_VERSION))
    assert run.rc != 0 and told in run.stdout and not out.exists(), run.stdout[-3000:]
    inv = inventory(tmp_path, {"aks": {"aksmesh_render_dir": str(out)}}, MESH)
    run = run_playbook(SITE, tmp_path, inventory=inv)
    assert run.rc == 0, run.stdout[-3000:]
    docs = [doc for path in (out / "10-istio").glob("*.yaml") for doc in yaml.safe_load_all(path.read_text()) if doc]
    images = sorted({c["image"] for doc in docs if doc["kind"] in ("Deployment", "DaemonSet")
                     for c in doc["spec"]["template"]["spec"]["containers"]})
    assert images and all(i.endswith(":" + ISTIO_VERSION) for i in images)
    summary = run.task("Summary")[0]["result"]["msg"]
    assert "istio: %s rendered by istioctl on PATH (images: %s)" % (ISTIO_VERSION, ", ".join(images)) in summary


def test_a_passphrase_that_is_no_string_is_named_never_shown(tmp_path):
    inv = inventory(tmp_path, {"aks": {"aksmesh_render_dir": str(tmp_path / "out")}},
                    dict(MESH, aksmesh_kiali_passphrase=80412345))
    run = run_playbook(SITE, tmp_path, inventory=inv)
    assert run.rc != 0 and "aksmesh_kiali_passphrase: is not a string" in run.stdout, run.stdout[-3000:]
    assert "80412345" not in run.stdout + run.stderr + json.dumps(run.results) and not (tmp_path / "out").exists()


def test_cluster_mode_from_azure_names_to_a_mesh_then_unchanged(arm, aks, azure_env, kube_api, tmp_path):
    kubeconfig = tmp_path / "kube" / "aks.yaml"
    hosts = {"aks": {"aksmesh_resource_group": "rg", "aksmesh_cluster_name": "aks",
                     "aks_credentials_dest": str(kubeconfig), "aks_static_ip_dns_label": "shop",
                     "mesh_injection_manual": [LEGACY]}}
    group_vars = dict(MESH, aksmesh_target="cluster", aksmesh_istioctl_download=False)
    inv = inventory(tmp_path, hosts, group_vars)
    first = run_playbook(SITE, tmp_path, inventory=inv, env=azure_env)
    assert first.rc == 0, first.stdout[-4000:]
    # the long wait says what it waits for and prints a progress line per poll (aksmesh_poll_interval: 1 here)
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


def test_helm_install_method(kube_api, kubeconfig, istio_chart_repo, tmp_path):
    kube_api.remove_istio_crds()  # on the Helm path they come from the base chart, which must own them
    host = {"aksmesh_kubeconfig": kubeconfig, "aksmesh_install_method": "helm", "aksmesh_ingress_ip": "51.124.1.2",
            "aksmesh_ingress_ip_resource_group": "rg-network", "aksmesh_istio_version": ISTIO_VERSION,
            "istio_helm_repo": istio_chart_repo}
    inv = inventory(tmp_path, {"aks": host}, dict(MESH, aksmesh_target="cluster"))
    first = run_playbook(SITE, tmp_path, inventory=inv)
    assert first.rc == 0, first.stdout[-4000:]
    charts = first.output_of("Install or upgrade the charts")
    assert "waiting for each release's workloads to be ready; timeout: 5m0s]" in charts, charts
    assert charts.count("ASYNC OK on aks") == 4 and "ASYNC POLL on aks: jid=" in charts, charts
    api = config.new_client_from_config(kubeconfig)
    svc = client.CoreV1Api(api).read_namespaced_service("istio-ingress", "istio-ingress")
    assert svc.metadata.annotations["service.beta.kubernetes.io/azure-load-balancer-ipv4"] == "51.124.1.2"
    assert svc.spec.load_balancer_ip is None
    assert_policies_select_gateway_pods(api, {"istio-ingress": {"istio": "ingress"},
                                              "istio-egress": {"istio": "egressgateway"}})
    # Helm path parity with istioctl: Linux nodes, two replicas at least, PodDisruptionBudgets
    istiod = client.AppsV1Api(api).read_namespaced_deployment("istiod", "istio-system")
    assert istiod.spec.template.spec.node_selector == {"kubernetes.io/os": "linux"}
    hpas = client.AutoscalingV2Api(api).list_horizontal_pod_autoscaler_for_all_namespaces().items
    assert {(h.metadata.namespace, h.spec.min_replicas) for h in hpas} >= {
        ("istio-system", 2), ("istio-ingress", 2), ("istio-egress", 2)}
    pdbs = client.PolicyV1Api(api).list_pod_disruption_budget_for_all_namespaces().items
    assert {p.metadata.namespace for p in pdbs} >= {"istio-system", "istio-ingress", "istio-egress"}
    mesh = yaml.safe_load(client.CoreV1Api(api).read_namespaced_config_map("istio", "istio-system").data["mesh"])
    assert mesh["enablePrometheusMerge"] is True and mesh["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    assert {"name": "otel-tracing", "opentelemetry": {"service": "jaeger-collector.istio-system.svc.cluster.local",
                                                      "port": 4317}} in mesh["extensionProviders"]
    assert svc.metadata.annotations["service.beta.kubernetes.io/azure-load-balancer-resource-group"] == "rg-network"
    secrets = client.CoreV1Api(api).list_namespaced_secret("istio-system", label_selector="owner=helm").items
    assert sorted(s.metadata.labels["name"] for s in secrets) == ["istio-base", "istiod"]
    gw = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "networking.istio.io", "v1", "istio-ingress", "gateways", "shop-gw")
    assert gw["spec"]["selector"] == {"istio": "ingress"}
    deploy_shop(kubeconfig)
    second = run_playbook(SITE, tmp_path, inventory=inv)
    assert second.rc == 0 and second.changed == [], [r["task"] for r in second.changed]
    # the Helm method is analyzed after the last stage like the others
    analysis = second.task("Analyze the live mesh with istioctl")[0]["result"]
    assert not analysis.get("failed") and {"shop", "istio-system"} <= set(analysis["namespaces"]), analysis
    # a GitOps re-sync of the render (aksmesh_render_helm_as: manifests, the default): the charts' objects as helm
    # install left them, every folder, 10-istio-helm included, conflicts with nothing helm or the collection applied
    assert_a_gitops_resync_conflicts_with_nothing(kube_api, tmp_path, host, MESH)
    # a revision the cluster does not run would be a second istiod release: refused before any chart changes
    kube_api.clear_log()
    other = run_playbook(SITE, tmp_path, inventory=inv, extra_vars={"aksmesh_revision": "1-31-0"})
    assert other.rc != 0 and "the cluster runs Istio revision(s) default" in other.stdout
    assert not [w for w in kube_api.writes() if "/secrets" in w.path and "istio-system" in w.path
                and w.method == "POST"]


def test_helm_canary_upgrade_moves_tags_namespaces_and_gateways(kube_api, kubeconfig, istio_chart_repo, tmp_path):
    """Istio's Helm canary: an istiod release per revision, the gateways upgraded in place (chart value revision),
    the default tag moved through the istiod chart's revisionTags value, the old release removed."""
    kube_api.remove_istio_crds()
    inv = inventory(tmp_path, {"aks": {"aksmesh_kubeconfig": kubeconfig, "aksmesh_install_method": "helm",
                                       "aksmesh_revision": "1-31-0", "aksmesh_istio_version": ISTIO_VERSION,
                                       "istio_helm_repo": istio_chart_repo}},
                    dict(MESH, aksmesh_target="cluster"))
    first = run_playbook(SITE, tmp_path, inventory=inv)
    assert first.rc == 0, [(r["task"], r["result"].get("msg")) for r in first.results if r["status"] == "failed"]
    api = config.new_client_from_config(kubeconfig)
    core, admission = client.CoreV1Api(api), client.AdmissionregistrationV1Api(api)

    def tags():
        return {w.metadata.labels["istio.io/tag"]: w.metadata.labels["istio.io/rev"] for w in
                admission.list_mutating_webhook_configuration(label_selector="istio.io/tag").items}

    def releases():
        return sorted(s.metadata.labels["name"] for s in core.list_namespaced_secret(
            "istio-system", label_selector="owner=helm,status=deployed").items)
    assert tags() == {"default": "1-31-0"} and releases() == ["istio-base", "istiod-1-31-0"]
    assert core.read_namespace("shop").metadata.labels["istio.io/rev"] == "1-31-0"
    svc_before = core.read_namespaced_service("istio-ingress", "istio-ingress")
    up = dict(aksmesh_upgrade_to_revision="1-31-1", aksmesh_upgrade_remove_old=True)
    run = run_playbook(REPO / "upgrade.yml", tmp_path, inventory=inv, extra_vars=up)
    assert run.rc == 0, [(r["task"], r["result"].get("msg")) for r in run.results if r["status"] == "failed"]
    assert releases() == ["istio-base", "istiod-1-31-1"] and tags() == {"default": "1-31-1"}
    assert core.read_namespace("shop").metadata.labels["istio.io/rev"] == "1-31-1"
    svc = core.read_namespaced_service("istio-ingress", "istio-ingress")
    assert svc.metadata.uid == svc_before.metadata.uid  # upgraded in place, not re-created
    gateway = client.AppsV1Api(api).read_namespaced_deployment("istio-ingress", "istio-ingress")
    assert gateway.spec.template.metadata.labels["istio.io/rev"] == "1-31-1"
    again = run_playbook(REPO / "upgrade.yml", tmp_path, inventory=inv,
                         extra_vars=dict(up, aksmesh_upgrade_from_revision="1-31-0"))
    assert again.rc == 0 and again.changed == [], [r["task"] for r in again.changed]
    # a tag another revision's release holds is refused before any chart changes
    kube_api.clear_log()
    stolen = run_playbook(SITE, tmp_path, inventory=inv, extra_vars={
        "aksmesh_revision": "1-31-2", "istio_helm_allow_new_revision": True})
    assert stolen.rc != 0 and "revision tag(s) default belong to revision(s) 1-31-1" in stolen.stdout
    assert not [w for w in kube_api.writes() if "/secrets" in w.path and w.method == "POST"]
    deploy_shop(kubeconfig)
    recorded = run_playbook(SITE, tmp_path, inventory=inv, extra_vars={"aksmesh_revision": "1-31-1"})
    assert recorded.rc == 0 and recorded.changed == [], [r["task"] for r in recorded.changed]


def assert_a_second_apply_changes_nothing(kube_api, out, files, again):
    """``kubectl diff --server-side`` of the render's ``files`` (under ``out``), copied to ``again``, finds nothing.
    istiod takes over its webhook configurations once it runs (failurePolicy, caBundle), which is why GitOps tools are
    told to ignore those fields (docs/gitops.md); they are left out of this check."""
    for path in files:
        if "webhookconfiguration-" not in path.name:
            target = again / path.relative_to(out)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text())
    diff = kube_api.kubectl("diff", "--server-side", "--field-manager", "gitops", "-R", "-f", str(again),
                            check=False, timeout=300)
    assert diff.returncode == 0, diff.stdout[-3000:] + diff.stderr[-2000:]


def test_the_render_folder_applies_to_an_empty_cluster_as_it_is(kube_api, tmp_path):
    """GitOps output that a cluster can apply: on a cluster without Istio (no CRDs), `kubectl apply --server-side
    -R -f` of each numbered stage folder, in order, succeeds for every object, and afterwards `kubectl diff
    --server-side` of the whole tree finds nothing. (kubectl maps every object of one invocation before it applies
    the first, so CRDs and their objects cannot share one invocation; Flux and Argo CD order CRDs first.)"""
    out = tmp_path / "out" / "aks"
    inv = inventory(tmp_path, {"aks": {"aksmesh_render_dir": str(out)}}, dict(MESH, aksmesh_target="render"))
    run = run_playbook(SITE, tmp_path, inventory=inv)
    assert run.rc == 0, run.stdout[-3000:]
    assert_no_secret_value_in(out, run)
    kube_api.remove_istio_crds()
    files = sorted(out.rglob("*.yaml"))
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert [f.name[:3] for f in folders] == sorted(f.name[:3] for f in folders) and folders[0].name == "10-istio"
    lines = 0
    for folder in folders:
        applied = kube_api.kubectl("apply", "--server-side", "--field-manager", "gitops", "-R", "-f", str(folder),
                                   check=False, timeout=300)
        assert applied.returncode == 0, (folder.name, applied.stderr[-3000:])
        lines += len(applied.stdout.splitlines())
    assert lines == len(files)  # one "serverside-applied" line per object
    for kind, ns, name in (("Deployment", "istio-system", "istiod"), ("Namespace", None, "shop"),
                           ("Secret", "istio-system", "grafana")):
        assert kube_api.get("apps/v1" if kind == "Deployment" else "v1", kind, ns, name), (kind, name)
    assert kube_api.get("security.istio.io/v1", "PeerAuthentication", "istio-system", "default")
    placeholder = kube_api.get("v1", "Secret", "istio-system", "grafana")["data"]["passphrase"]
    assert base64.b64decode(placeholder).decode() == "<set-me: the Grafana passphrase>"
    # a second apply changes nothing
    assert_a_second_apply_changes_nothing(kube_api, out, files, tmp_path / "again")


def test_the_helm_method_renders_manifests_that_plain_kubectl_applies(kube_api, istio_chart_repo, tmp_path):
    """The Helm method's render as manifests (the default of aksmesh_render_helm_as): the charts' objects, no Flux
    kind, which `kubectl apply --server-side -R -f` of each folder in turn applies to a cluster without Istio (the
    base chart's CRDs first: they sort first in the first folder), as helm install leaves them (helm's ownership
    label and annotations); a second apply changes nothing."""
    out = tmp_path / "out" / "aks"
    host = {"aksmesh_render_dir": str(out), "aksmesh_install_method": "helm", "aksmesh_istio_version": ISTIO_VERSION,
            "istio_helm_repo": istio_chart_repo}
    inv = inventory(tmp_path, {"aks": host}, dict(MESH, aksmesh_target="render"))
    run = run_playbook(SITE, tmp_path, inventory=inv)
    assert run.rc == 0, run.stdout[-3000:]
    summary = run.task("Summary")[0]["result"]["msg"]
    assert any("for any GitOps tool (Argo CD, Flux) or kubectl apply" in line for line in summary), summary
    files = sorted(out.rglob("*.yaml"))
    objs = dict((path, yaml.safe_load(path.read_text())) for path in files)
    assert not [p for p, o in objs.items() if "fluxcd.io" in o["apiVersion"]]
    helm_folder = sorted(p for p in out.iterdir() if p.is_dir())[0]
    assert helm_folder.name == "10-istio-helm"
    charts = sorted(p.name for p in helm_folder.iterdir())
    assert charts[0].startswith("00-namespace-"), charts
    assert "01-customresourcedefinition--cluster-gateways.networking.istio.io.yaml" in charts, charts
    istiod = objs[helm_folder / "deployment-istio-system-istiod.yaml"]
    assert istiod["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert istiod["metadata"]["annotations"] == {"meta.helm.sh/release-name": "istiod",
                                                 "meta.helm.sh/release-namespace": "istio-system"}
    assert "helm.sh/hook" not in json.dumps(list(objs.values()))
    kube_api.remove_istio_crds()
    lines = 0
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        applied = kube_api.kubectl("apply", "--server-side", "--field-manager", "gitops", "-R", "-f", str(folder),
                                   check=False, timeout=300)
        assert applied.returncode == 0, (folder.name, applied.stderr[-3000:])
        lines += len(applied.stdout.splitlines())
    assert lines == len(files)  # one "serverside-applied" line per object
    assert kube_api.get("apps/v1", "Deployment", "istio-system", "istiod")
    assert kube_api.get("apps/v1", "Deployment", "istio-ingress", "istio-ingress")
    assert kube_api.get("security.istio.io/v1", "PeerAuthentication", "istio-system", "default")
    assert kube_api.get("networking.istio.io/v1", "Gateway", "istio-ingress", "shop-gw")
    assert_a_second_apply_changes_nothing(kube_api, out, files, tmp_path / "again")


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


def test_a_role_variable_is_checked_before_any_stage_writes_the_render(tmp_path):
    """Issue 23: a stage's variables were checked when it ran (bad canary weights: the Namespace, PeerAuthentication,
    Gateway and egress files were written, then 'weights must add up to 100'). Every stage's pre-flight runs before
    the first stage: the run fails naming mesh_traffic_services, and no render folder is written at all."""
    out = tmp_path / "out"
    bad = [{"name": "reviews", "namespace": "shop", "subsets": ["v1", "v2"],
            "canary": {"weights": {"v1": 80, "v2": 30}}}]
    inv = inventory(tmp_path, {"aks": {"aksmesh_render_dir": str(out)}}, dict(MESH, mesh_traffic_services=bad))
    run = run_playbook(SITE, tmp_path, inventory=inv)
    assert run.rc != 0 and "mesh_traffic_services[0].canary.weights" in run.stdout, run.stdout[-3000:]
    assert "they must add up to 100" in run.stdout and not out.exists(), run.stdout[-3000:]
    failed = [r["task"].split(" : ", 1)[-1] for r in run.results if r["status"] == "failed"]
    assert failed == ["Build the traffic VirtualServices and DestinationRules, applying nothing"], failed


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
    inv = inventory(tmp_path, {"aks": host}, dict(MESH, aksmesh_target="cluster"))
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


def test_upgrade_by_revision_moves_namespaces_and_removes_the_old_one(kube_api, kubeconfig, tmp_path, kubectl_env):
    inv = inventory(tmp_path, {"aks": {"aksmesh_kubeconfig": kubeconfig}},
                    dict(MESH, aksmesh_target="cluster", aksmesh_istioctl_download=False))
    assert run_playbook(SITE, tmp_path, inventory=inv).rc == 0
    api = config.new_client_from_config(kubeconfig)
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("shop", {
        "metadata": {"name": "productpage"}, "spec": {"selector": {"matchLabels": {"app": "productpage"}}, "template": {
            "metadata": {"labels": {"app": "productpage"}},
            "spec": {"containers": [{"name": "app", "image": "docker.io/istio/examples-bookinfo-productpage-v1"}]}}}})

    def ingress():
        svc = client.CoreV1Api(api).read_namespaced_service("istio-ingressgateway", "istio-ingress")
        return svc if svc.status.load_balancer.ingress else None
    ingress_before = kube_api.wait_for(ingress, "the ingress IP")
    up = dict(aksmesh_upgrade_to_revision="1-30-1", aksmesh_upgrade_version="1.30.1", aksmesh_upgrade_restart=True,
              aksmesh_upgrade_remove_old=True)
    run = run_playbook(REPO / "upgrade.yml", tmp_path, inventory=inv, extra_vars=up,
                       env={"KUBECACHEDIR": kubectl_env["KUBECACHEDIR"]})
    assert run.rc == 0, run.stdout[-4000:]
    labels = client.CoreV1Api(api).read_namespace("shop").metadata.labels
    assert labels.get("istio.io/rev") == "1-30-1" and "istio-injection" not in labels
    kube_api.wait_for(lambda: [d.metadata.labels["istio.io/rev"] for d in apps.list_deployment_for_all_namespaces(
        label_selector="app=istiod").items] == ["1-30-1"], "only the new istiod to be left")
    # the gateways were upgraded in place, so removing the old revision kept them, static IP included
    svc = client.CoreV1Api(api).read_namespaced_service("istio-ingressgateway", "istio-ingress")
    assert svc.metadata.uid == ingress_before.metadata.uid and svc.metadata.labels["istio.io/rev"] == "1-30-1"
    assert svc.status.load_balancer.ingress[0].ip == ingress_before.status.load_balancer.ingress[0].ip
    tags = subprocess.run(["istioctl", "tag", "list", "-o", "json", "--kubeconfig", kubeconfig], capture_output=True,
                          text=True, check=True).stdout
    assert [t["revision"] for t in json.loads(tags) if t["tag"] == "default"] == ["1-30-1"]
    restarted = apps.read_namespaced_deployment("productpage", "shop").spec.template.metadata.annotations
    assert "kubectl.kubernetes.io/restartedAt" in (restarted or {})
    assert restarted["aksmesh.io/restarted-for-revision"] == "1-30-1"
    bad = run_playbook(REPO / "upgrade.yml", tmp_path, inventory=inv, extra_vars={"aksmesh_upgrade_to_revision": ""})
    assert bad.rc != 0 and "set aksmesh_upgrade_to_revision" in bad.stdout
    # a second upgrade run to the same revision changes nothing (restarts included: once per revision)
    again = run_playbook(REPO / "upgrade.yml", tmp_path, inventory=inv,
                         extra_vars=dict(up, aksmesh_upgrade_from_revision="default"))
    assert again.rc == 0, [(r["task"], r["result"].get("msg")) for r in again.results if r["status"] == "failed"]
    assert again.changed == [], [r["task"] for r in again.changed]
    # site.yml with the inventory from before the upgrade would install a default revision next to 1-30-1: refused
    kube_api.clear_log()
    stale = run_playbook(SITE, tmp_path, inventory=inv)
    assert stale.rc != 0 and "the cluster runs Istio revision(s) 1-30-1" in stale.stdout
    assert "set aksmesh_revision" in stale.stdout
    assert not [w for w in kube_api.writes() if "istio-system" in w.path and "deployments" in w.path]
    # with the revision recorded, site.yml agrees with the cluster and changes nothing
    deploy_shop(kubeconfig)  # the routes' hosts (istioctl analyze reports routes to missing hosts)
    recorded = run_playbook(SITE, tmp_path, inventory=inv,
                            extra_vars={"aksmesh_revision": "1-30-1", "istio_install_tag": "1.30.1"})
    assert recorded.rc == 0, [(r["task"], r["result"].get("msg")) for r in recorded.results if r["status"] == "failed"]
    assert recorded.changed == [], [r["task"] for r in recorded.changed]


def site_with_addons(method, kubeconfig, tmp_path, chart_repo=None):
    """The inventory of one cluster with every default stage on, the addons included (from a local copy of Istio's
    samples/addons: no download), the sample off; the Helm method from the loopback chart repository."""
    from tests.integration.roles.test_mesh_roles import addons_dir
    host = {"aksmesh_kubeconfig": kubeconfig, "aksmesh_install_method": method,
            "mesh_addons_source_dir": addons_dir(tmp_path)}
    if method == "helm":
        host.update(aksmesh_istio_version=ISTIO_VERSION, istio_helm_repo=chart_repo)
    return inventory(tmp_path, {"aks": host}, dict(MESH, aksmesh_target="cluster", aksmesh_addons=True,
                                                   aksmesh_sample=False))


def recap_changed(run):
    """changed=<n> of each host's PLAY RECAP line, as the user reads it."""
    lines = run.stdout.split("PLAY RECAP", 1)[-1].splitlines()
    return {line.split()[0]: int(line.split("changed=", 1)[1].split()[0]) for line in lines if "changed=" in line}


def report_analysis(tmp_path):
    return json.loads((tmp_path / "reports" / "aks.json").read_text())["analysis"]


def assert_analyzed_unless_the_last_analysis_was_clean(run, last):
    """A run that changed nothing leaves out istioctl analyze exactly when the last analysis (the report of the
    run before) found nothing that fails a run (aksmesh_lint_fail_level: Error); the summary says so. The mesh lint
    runs on every run."""
    analyzed = run.task("Analyze the live mesh with istioctl")[0]
    summary = run.task("Summary")[0]["result"]["msg"]
    said = [line for line in summary if line.startswith("istioctl analyze: not run - no stage changed anything")]
    if last["istioctl"].get("Error", 1) == 0:
        assert analyzed["status"] == "skipped" and said, summary
    else:
        assert analyzed["status"] == "ok" and not said, summary
    assert run.task("Lint the mesh configuration (the render folder, or the live mesh)")[0]["status"] == "ok"


@pytest.mark.parametrize("method", ["istioctl", "helm"])
def test_a_second_run_with_the_addons_on_changes_nothing(method, request, kube_api, kubeconfig, tmp_path):
    """Issue 27: a no-op site.yml run, every default stage on (the addons included), reports changed=0 in its recap
    for each install method that installs from the controller; nothing is written to the cluster."""
    chart_repo = None
    if method == "helm":
        chart_repo = request.getfixturevalue("istio_chart_repo")
        kube_api.remove_istio_crds()  # on the Helm path they come from the base chart, which must own them
    inv = site_with_addons(method, kubeconfig, tmp_path, chart_repo)
    first = run_playbook(SITE, tmp_path, inventory=inv)
    assert first.rc == 0, [(r["task"], r["result"].get("msg")) for r in first.results if r["status"] == "failed"]
    assert first.task("Apply the addons")[0]["result"]["changed"]
    # the routes' hosts, injected by the real istiod (istioctl analyze reports routes to missing hosts)
    deploy_shop(kubeconfig)
    kube_api.clear_log()
    last = report_analysis(tmp_path)
    second = run_playbook(SITE, tmp_path, inventory=inv)
    assert second.rc == 0, [(r["task"], r["result"].get("msg")) for r in second.results if r["status"] == "failed"]
    assert second.changed == [], [r["task"] for r in second.changed]
    assert recap_changed(second) == {"aks": 0}, second.stdout[-2000:]
    assert not [w for w in kube_api.writes() if not w.path.endswith(("/selfsubjectaccessreviews",
                                                                     "/selfsubjectrulesreviews"))], kube_api.writes()
    # istioctl analyze: left out of a no-op run after an analysis that found nothing failing (the first one saw
    # routes to hosts not deployed yet, reported as errors that fail nothing), its counts kept in the report
    assert_analyzed_unless_the_last_analysis_was_clean(second, last)
    last = report_analysis(tmp_path)
    third = run_playbook(SITE, tmp_path, inventory=inv)
    assert third.rc == 0 and third.changed == [], [r["task"] for r in third.changed]
    assert_analyzed_unless_the_last_analysis_was_clean(third, last)
    assert report_analysis(tmp_path) == last and last["istioctl_args"]["fail_level"] == "Error"
    # aksmesh_analyze_always: istioctl analyze on every run
    always = run_playbook(SITE, tmp_path, inventory=inv, extra_vars={"aksmesh_analyze_always": True})
    assert always.rc == 0 and always.changed == [], [r["task"] for r in always.changed]
    assert always.task("Analyze the live mesh with istioctl")[0]["status"] == "ok"
