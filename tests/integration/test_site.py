
"""site.yml end to end: render mode (the embedded default), and the inventories and checks the other site test files
share (test_site_azure.py: cluster mode through Azure and the AKS add-on; test_site_helm.py: the Helm method, upgrades
and no-op runs; apart, so that pytest-xdist's --dist loadfile spreads them over the workers)."""

import base64
import json

import yaml
from kubernetes import client, config

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


def tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_job_slices_of_one_inventory_run_at_once_and_write_what_one_run_writes(tmp_path):
    """Issue 27: AWX spreads a fleet over execution nodes by job slicing, each slice a job of its own over part of
    the inventory, at the same time. Two slices of a two-cluster inventory (one host each: AWX's slice count may
    equal the host count) run at once, from one checkout, and each host's render folder is what a run of the whole
    inventory writes: no state shared across hosts."""
    import concurrent.futures
    hosts = {f"aks-{i}": {"aksmesh_ingress_ip": f"51.124.1.{i}", "mesh_egress_hosts": [{"host": f"api{i}.stripe.com"}]}
             for i in range(2)}

    def run(name, members):
        folder = tmp_path / name
        folder.mkdir()
        inv = inventory(folder, {h: dict(v, aksmesh_render_dir=str(tmp_path / name / "out" / h))
                                 for h, v in hosts.items() if h in members}, dict(MESH, aksmesh_target="render"))
        return run_playbook(SITE, folder, inventory=inv)
    whole = run("whole", list(hosts))
    assert whole.rc == 0, whole.stdout[-3000:]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        slices = list(pool.map(lambda args: run(*args), [("slice-0", ["aks-0"]), ("slice-1", ["aks-1"])]))
    for one in slices:
        assert one.rc == 0, one.stdout[-3000:]
    for i, host in enumerate(hosts):
        written = tree(tmp_path / f"slice-{i % 2}" / "out" / host)
        assert written == tree(tmp_path / "whole" / "out" / host) and written, host
        assert [f for f, text in written.items() if f.startswith("60-egress/") and f"api{i}.stripe.com".encode() in text]


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


def apply_render_folders(kube_api, folders, files, after=None):
    """`kubectl apply --server-side -R -f` of each render folder in turn, as a GitOps tool would: each succeeds, one
    "serverside-applied" line per object of ``files``; ``after(folder)`` runs after each folder."""
    lines = 0
    for folder in folders:
        applied = kube_api.kubectl("apply", "--server-side", "--field-manager", "gitops", "-R", "-f", str(folder),
                                   check=False, timeout=300)
        assert applied.returncode == 0, (folder.name, applied.stderr[-3000:])
        lines += len(applied.stdout.splitlines())
        if after is not None:
            after(folder)
    assert lines == len(files)


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
    apply_render_folders(kube_api, folders, files)
    for kind, ns, name in (("Deployment", "istio-system", "istiod"), ("Namespace", None, "shop"),
                           ("Secret", "istio-system", "grafana")):
        assert kube_api.get("apps/v1" if kind == "Deployment" else "v1", kind, ns, name), (kind, name)
    assert kube_api.get("security.istio.io/v1", "PeerAuthentication", "istio-system", "default")
    placeholder = kube_api.get("v1", "Secret", "istio-system", "grafana")["data"]["passphrase"]
    assert base64.b64decode(placeholder).decode() == "<set-me: the Grafana passphrase>"
    # a second apply changes nothing
    assert_a_second_apply_changes_nothing(kube_api, out, files, tmp_path / "again")


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
