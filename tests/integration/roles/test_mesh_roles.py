"""The mesh roles converge against the real API server: idempotent, check-mode safe, validated, quiet about secrets."""

import base64
import hashlib
import pathlib
import urllib.parse

import pytest
import yaml

from tests.support import shared_data
from tests.support.ansible_runner import role_play, run_playbook

NAMESPACES = ("istio-system", "istio-ingress", "istio-egress", "shop")
SECRETS = {"mesh_secrets_grafana_username": "grafana-admin", "mesh_secrets_grafana_passphrase": "g-s3cr3t-pass",
           "mesh_secrets_kiali_username": "kiali-admin", "mesh_secrets_kiali_passphrase": "k-s3cr3t-pass"}


# the Services of Istio's addon manifests (samples/addons) and their ports, which the stand-ins reproduce
ADDON_SERVICES = {"prometheus": {"prometheus": {"http": 9090}},
                  "grafana": {"grafana": {"service": 3000}},
                  "kiali": {"kiali": {"http": 20001, "http-metrics": 9090}},
                  "jaeger": {"tracing": {"http-query": 80, "grpc-query": 16685},
                             "jaeger-collector": {"grpc-otel": 4317, "http-otel": 4318}}}


def addons_dir(tmp_path):
    real = shared_data.upstream("samples", "addons")
    if real:
        return str(real)
    # without shared/: minimal stand-ins with the objects the role rewires, a Deployment per addon, and the Services
    # (names and ports) of the upstream files
    out = tmp_path / "addons"
    out.mkdir(exist_ok=True)

    def deployment(name, env=()):
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
                    "metadata": {"labels": {"app": name}}, "spec": {"containers": [
                        {"name": name, "image": name, "env": list(env)}]}}}}
    grafana = deployment("grafana", [{"name": "GF_AUTH_ANONYMOUS_ENABLED", "value": "true"}])
    # as upstream ships it: istio-system everywhere, tracing off, no Grafana credentials
    config = {"auth": {"strategy": "anonymous"}, "deployment": {"namespace": "istio-system"},
              "external_services": {"istio": {"root_namespace": "istio-system"}, "prometheus": {"enabled": True},
                                    "tracing": {"enabled": False}}}
    kiali = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kiali"},
             "data": {"config.yaml": yaml.safe_dump(config)}}
    for name, docs in (("grafana", [grafana]), ("kiali", [kiali, deployment("kiali")]),
                       ("prometheus", [deployment("prometheus")]), ("jaeger", [deployment("jaeger")])):
        services = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": service}, "spec": {
            "ports": [{"name": port_name, "port": port} for port_name, port in ports.items()],
            "selector": {"app": name}}} for service, ports in ADDON_SERVICES[name].items()]
        (out / f"{name}.yaml").write_text(yaml.safe_dump_all(docs + services))
    return str(out)


@pytest.fixture
def mesh_cluster(kube_api, tmp_path):
    for ns in NAMESPACES:
        kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    path = tmp_path / "kubeconfig"
    kube_api.kubeconfig(path)
    return kube_api, str(path)


def play(kubeconfig, roles, **inventory):
    return role_play(kubeconfig, roles, name="mesh", **inventory)


def all_roles(tmp_path):
    return [
        {"role": "aksmesh.istio.mesh_secrets", "vars": dict(SECRETS)},
        {"role": "aksmesh.istio.mesh_mtls", "vars": {"mesh_mtls_exceptions": [{"namespace": "shop"}]}},
        {"role": "aksmesh.istio.mesh_injection", "vars": {"mesh_injection_namespaces": [
            {"name": "shop"}, {"name": "payments", "revision": "1-30-0"}]}},
        {"role": "aksmesh.istio.mesh_addons", "vars": {"mesh_addons_source_dir": addons_dir(tmp_path)}},
        {"role": "aksmesh.istio.mesh_gateways", "vars": {
            "mesh_gateways_read_ingress": False,
            "mesh_gateways_gateways": [{"name": "shop-gw", "hosts": ["shop.example.com"],
                                        "https": {"credential_name": "shop-tls"}}],
            "mesh_gateways_virtual_services": [{"name": "shop", "namespace": "shop", "hosts": ["shop.example.com"],
                                                "gateways": ["shop-gw"],
                                                "http": [{"route": [{"destination": {"host": "web"}}]}]}],
            "mesh_gateways_destination_rules": [{"name": "web", "namespace": "shop", "host": "web"}]}},
        {"role": "aksmesh.istio.mesh_egress", "vars": {"mesh_egress_namespaces": ["shop"],
                                                       "mesh_egress_hosts": [{"host": "api.example.com"}]}},
        {"role": "aksmesh.istio.mesh_traffic", "vars": {"mesh_traffic_services": [
            {"name": "reviews", "namespace": "shop", "subsets": ["v1", "v2"],
             "canary": {"weights": {"v1": 90, "v2": 10}}, "retries": {"attempts": 3, "per_try_timeout": "2s"},
             "load_balancer": {"consistent_hash": {"header": "x-user"}},
             "circuit_breaker": {"max_connections": 100, "consecutive_5xx_errors": 5}}]}},
        {"role": "aksmesh.istio.mesh_network_policies"},
    ]


def get(kube_api, group, plural, ns, name):
    api_version, kind = kube_api.by_plural(group, plural)
    return kube_api.get(api_version, kind, ns, name)


def test_all_roles_converge_then_change_nothing(mesh_cluster, tmp_path):
    kube_api, kc = mesh_cluster
    first = run_playbook(play(kc, all_roles(tmp_path)), tmp_path)
    assert first.rc == 0, first.stdout[-3000:]
    assert len(first.changed) == 8
    second = run_playbook(play(kc, all_roles(tmp_path)), tmp_path)
    assert second.rc == 0 and second.changed == [], [c["task"] for c in second.changed]

    sec = get(kube_api, "", "secrets", "istio-system", "grafana")
    assert base64.b64decode(sec["data"]["passphrase"]).decode() == "g-s3cr3t-pass"
    for ns in ("istio-system", "istio-ingress", "istio-egress"):
        assert get(kube_api, "security.istio.io", "peerauthentications", ns, "default")["spec"] == {
            "mtls": {"mode": "STRICT"}}
    assert get(kube_api, "security.istio.io", "peerauthentications", "shop", "default")["spec"]["mtls"][
        "mode"] == "PERMISSIVE"
    assert get(kube_api, "networking.istio.io", "gateways", "istio-ingress", "shop-gw")
    vs = get(kube_api, "networking.istio.io", "virtualservices", "shop", "shop")["spec"]
    assert vs["gateways"] == ["istio-ingress/shop-gw"] and vs["exportTo"] == [".", "istio-ingress"]
    # the ingress gateway routes to web: it must see web's DestinationRule
    assert get(kube_api, "networking.istio.io", "destinationrules", "shop", "web")["spec"]["exportTo"] == [
        ".", "istio-ingress"]
    for ns in ("shop", "istio-egress"):
        se = get(kube_api, "networking.istio.io", "serviceentries", ns, "api-example-com")
        assert se["spec"]["exportTo"] == ["."]
    assert get(kube_api, "networking.istio.io", "gateways", "istio-egress", "egress-api-example-com")
    labels = get(kube_api, "", "namespaces", None, "payments")["metadata"]["labels"]
    assert labels["istio.io/rev"] == "1-30-0" and "istio-injection" not in labels
    env = get(kube_api, "apps", "deployments", "istio-system", "grafana")["spec"]["template"]["spec"]["containers"][0][
        "env"]
    assert {"name": "GF_SECURITY_ADMIN_PASSWORD", "valueFrom": {"secretKeyRef": {
        "name": "grafana", "key": "passphrase"}}} in env
    kiali = get(kube_api, "", "configmaps", "istio-system", "kiali")
    assert yaml.safe_load(kiali["data"]["config.yaml"])["auth"]["strategy"] == "token"
    # Kiali signs its login tokens with the key from the vaulted credentials, never upstream's CHANGEME key
    assert len(base64.b64decode(get(kube_api, "", "secrets", "istio-system", "kiali")["data"]["signing-key"])) == 32
    volumes = get(kube_api, "apps", "deployments", "istio-system", "kiali")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "aksmesh-signing-key", "secret": {"secretName": "kiali", "defaultMode": 420, "items": [
        {"key": "signing-key", "path": "value.txt"}]}} in volumes
    # tracing to Jaeger's collector at 1 %, access logs: the mesh-wide Telemetry in the root namespace
    tel = get(kube_api, "telemetry.istio.io", "telemetries", "istio-system", "mesh-default")["spec"]
    assert tel["tracing"] == [{"providers": [{"name": "otel-tracing"}], "randomSamplingPercentage": 1}]
    # every addon Deployment is available (the role waits for the rollout)
    for name in ("grafana", "kiali", "prometheus", "jaeger"):
        dep = get(kube_api, "apps", "deployments", "istio-system", name)
        assert dep["status"].get("availableReplicas") == dep["spec"]["replicas"], name
    dr = get(kube_api, "networking.istio.io", "destinationrules", "shop", "reviews")["spec"]
    assert dr["trafficPolicy"]["loadBalancer"] == {"consistentHash": {"httpHeaderName": "x-user"}}
    assert get(kube_api, "networking.k8s.io", "networkpolicies", "istio-ingress", "default-deny")
    dashboards = second.task("Show how to open the dashboards")[0]
    assert "kubectl -n istio-system port-forward svc/grafana 3000:3000" in str(dashboards["result"]["msg"])
    assert "kubectl -n istio-system create token kiali" in str(dashboards["result"]["msg"])


def test_check_mode_on_a_fresh_cluster_writes_nothing(mesh_cluster, tmp_path):
    kube_api, kc = mesh_cluster
    kube_api.clear_log()
    run = run_playbook(play(kc, all_roles(tmp_path)), tmp_path, check=True)
    assert run.rc == 0, run.stdout[-3000:]
    assert kube_api.requests() and kube_api.writes() == []


def test_secrets_stay_out_of_output_and_rotation_touches_one_secret(mesh_cluster, tmp_path):
    kube_api, kc = mesh_cluster
    roles = [{"role": "aksmesh.istio.mesh_secrets", "vars": dict(SECRETS)}]
    first = run_playbook(play(kc, roles), tmp_path, verbosity=3, diff=True)
    assert first.rc == 0
    for value in ("g-s3cr3t-pass", "k-s3cr3t-pass", base64.b64encode(b"g-s3cr3t-pass").decode()):
        assert value not in first.stdout and value not in first.stderr
    kiali_rv = get(kube_api, "", "secrets", "istio-system", "kiali")["metadata"]["resourceVersion"]
    rotated = dict(SECRETS, mesh_secrets_grafana_passphrase="new-g-pass")
    second = run_playbook(play(kc, [{"role": "aksmesh.istio.mesh_secrets", "vars": rotated}]), tmp_path)
    assert second.rc == 0 and len(second.changed) == 1
    assert get(kube_api, "", "secrets", "istio-system", "kiali")["metadata"]["resourceVersion"] == kiali_rv
    grafana = get(kube_api, "", "secrets", "istio-system", "grafana")
    assert base64.b64decode(grafana["data"]["passphrase"]).decode() == "new-g-pass"


def test_addon_downloads_are_verified_cached_and_a_failure_leaves_nothing_behind(mesh_cluster, tmp_path):
    """The addon manifests are downloaded (here from a file:// mirror: the tests stay offline) into the download
    cache and verified by sha256: a release without pinned checksums stops before any download, naming the variable
    that gives them; a file that does not match names the file and the fix, applies nothing and leaves no partial
    file; a second run reads the cache and reports no change."""
    kube_api, kc = mesh_cluster
    source = pathlib.Path(addons_dir(tmp_path))
    addons = ("prometheus", "grafana", "kiali", "jaeger")
    sums = {name: "sha256:" + hashlib.sha256((source / f"{name}.yaml").read_bytes()).hexdigest() for name in addons}
    tmp, cache = tmp_path / "tmp", tmp_path / "cache"
    tmp.mkdir()

    def run(**variables):
        variables = dict({"mesh_addons_base_url": source.as_uri(), "mesh_addons_istio_version": "1.99.0",
                          "mesh_addons_wait": False}, **variables)
        return run_playbook(play(kc, [{"role": "aksmesh.istio.mesh_addons", "vars": variables}]), tmp_path,
                            env={"TMPDIR": str(tmp), "AKSMESH_DOWNLOAD_CACHE": str(cache)})

    def cached():
        """The files in the cache: sha256/<hex>/<name> only (no partial download)."""
        return sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file())

    kube_api.clear_log()
    unknown = run()
    assert unknown.rc != 0
    assert ("mesh_addons_checksums: no sha256 for the prometheus, grafana, kiali, jaeger manifest(s) of Istio "
            "1.99.0 (the collection pins Istio 1.28.0 to ") in unknown.stdout
    assert "mesh_addons_verify_checksums" in unknown.stdout
    assert not unknown.task("Download the upstream addon manifests for this Istio version (once, cached by their "
                            "sha256) and read them")
    assert not cache.exists()
    bad = run(mesh_addons_checksums=dict(sums, grafana="sha256:" + "0" * 64))
    assert bad.rc != 0
    assert (f"mesh_addons: grafana.yaml of Istio 1.99.0 from {source.as_uri()}: sha256 checksum mismatch: "
            f"expected {'0' * 64}, the file has {sums['grafana'][7:]}") in bad.stdout
    assert "Fix: a checksum mismatch means the file is not the one Istio released" in bad.stdout
    # the three that verified are cached; grafana is not, and no partial download is left; nothing was applied
    assert cached() == sorted(f"sha256/{sums[name][7:]}/{name}.yaml" for name in addons if name != "grafana")
    assert list(tmp.iterdir()) == [] and kube_api.writes() == []
    gone = run(mesh_addons_checksums=sums, mesh_addons_base_url=(tmp_path / "no-mirror").as_uri())
    assert gone.rc != 0 and "Fix: check mesh_addons_base_url (a mirror for air-gapped sites)" in gone.stdout
    assert "mesh_addons: grafana.yaml of Istio 1.99.0" in gone.stdout  # the others came from the cache
    assert list(tmp.iterdir()) == [] and kube_api.writes() == []
    good = run(mesh_addons_checksums=sums)
    assert good.rc == 0, good.stdout[-3000:]
    assert get(kube_api, "apps", "deployments", "istio-system", "grafana")
    assert cached() == sorted(f"sha256/{sums[name][7:]}/{name}.yaml" for name in addons)
    # a no-op run: the manifests come from the cache (the mirror is gone), nothing changes
    again = run(mesh_addons_checksums=sums, mesh_addons_base_url=(tmp_path / "no-mirror").as_uri())
    assert again.rc == 0 and again.changed == [], [r["task"] for r in again.changed]
    assert list(tmp.iterdir()) == []


@pytest.mark.parametrize("role,variables,needle", [
    ("mesh_mtls", {"mesh_mtls_mode": "LOOSE"}, "mesh_mtls_mode"),
    ("mesh_traffic", {"mesh_traffic_services": "reviews"}, "mesh_traffic_services"),
    ("mesh_addons", {"mesh_addons_enabled": ["loki"]}, "mesh_addons_enabled"),
    ("mesh_network_policies", {"mesh_network_policies_mode": "open"}, "mesh_network_policies_mode"),
])
def test_bad_variables_fail_validation_naming_the_variable(mesh_cluster, tmp_path, role, variables, needle):
    kube_api, kc = mesh_cluster
    kube_api.clear_log()
    run = run_playbook(play(kc, [{"role": f"aksmesh.istio.{role}", "vars": variables}]), tmp_path)
    assert run.rc != 0 and needle in run.stdout + run.stderr
    assert kube_api.writes() == []


def test_rule_violations_fail_with_the_fix(mesh_cluster, tmp_path):
    kube_api, kc = mesh_cluster
    wrong = {"mesh_gateways_gateways": [{"name": "gw", "namespace": "shop", "hosts": ["a.example.com"]}]}
    run = run_playbook(play(kc, [{"role": "aksmesh.istio.mesh_gateways", "vars": wrong}]), tmp_path)
    assert run.rc != 0 and "namespace shop is not where its workload runs (istio-ingress)" in run.stdout
    root = {"mesh_mtls_root_namespace": "istio-config"}
    run = run_playbook(play(kc, [{"role": "aksmesh.istio.mesh_mtls", "vars": root}]), tmp_path)
    assert run.rc != 0 and "must be the Istio install namespace" in run.stdout


def test_removed_items_are_pruned_and_state_absent_removes(mesh_cluster, tmp_path):
    kube_api, kc = mesh_cluster
    # a: subsets and routing (a VirtualService and a DestinationRule); b: retries only (a VirtualService)
    two = [{"name": "a", "namespace": "shop", "subsets": ["v1"], "default_subset": "v1"},
           {"name": "b", "namespace": "shop", "retries": {"attempts": 2}}]
    run_playbook(play(kc, [{"role": "aksmesh.istio.mesh_traffic", "vars": {"mesh_traffic_services": two}}]), tmp_path)
    assert get(kube_api, "networking.istio.io", "virtualservices", "shop", "b")
    one = run_playbook(play(kc, [{"role": "aksmesh.istio.mesh_traffic",
                                  "vars": {"mesh_traffic_services": two[:1]}}]), tmp_path)
    assert one.rc == 0 and not get(kube_api, "networking.istio.io", "virtualservices", "shop", "b")
    assert get(kube_api, "networking.istio.io", "virtualservices", "shop", "a")
    # a without routing intent: its VirtualService is pruned, its DestinationRule stays
    subsets_only = [{"name": "a", "namespace": "shop", "subsets": ["v1"]}]
    dr_only = run_playbook(play(kc, [{"role": "aksmesh.istio.mesh_traffic",
                                      "vars": {"mesh_traffic_services": subsets_only}}]), tmp_path)
    assert dr_only.rc == 0 and not get(kube_api, "networking.istio.io", "virtualservices", "shop", "a")
    assert get(kube_api, "networking.istio.io", "destinationrules", "shop", "a")
    gone = run_playbook(play(kc, [{"role": "aksmesh.istio.mesh_traffic", "vars": {
        "mesh_traffic_services": subsets_only, "mesh_traffic_state": "absent"}}]), tmp_path)
    assert gone.rc == 0 and not get(kube_api, "networking.istio.io", "destinationrules", "shop", "a")


def test_egress_routes_converge_to_one_virtual_service_per_host_on_the_egress_gateway(mesh_cluster, tmp_path):
    """Two client namespaces, and a cluster with the layout of earlier releases: a VirtualService per client
    namespace with both of Istio's legs, each bound to the egress gateway (IST0109). The role splits them: the
    sidecar's leg stays in each client namespace (same name, the gateway's leg gone), the gateway's leg is one
    VirtualService in the egress gateway's namespace; a host taken out has both legs pruned."""
    kube_api, kc = mesh_cluster
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}})
    host, name, gw_ref = "api.example.com", "egress-api-example-com", "istio-egress/egress-api-example-com"
    gw_host = "istio-egressgateway.istio-egress.svc.cluster.local"
    to_gateway = {"destination": {"host": gw_host, "subset": "api-example-com", "port": {"number": 443}}}
    mesh_leg = {"match": [{"gateways": ["mesh"], "port": 443, "sniHosts": [host]}], "route": [to_gateway]}
    gateway_leg = {"match": [{"gateways": [gw_ref], "port": 443, "sniHosts": [host]}],
                   "route": [{"destination": {"host": host, "port": {"number": 443}}, "weight": 100}]}
    for ns in ("shop", "payments"):  # as the stage applied them before (its field manager and labels)
        kube_api.apply({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {
            "name": name, "namespace": ns,
            "labels": {"app.kubernetes.io/managed-by": "aksmesh", "aksmesh.io/stage": "egress"}},
            "spec": {"hosts": [host], "gateways": ["mesh", gw_ref], "exportTo": [".", "istio-egress"],
                     "tls": [mesh_leg, gateway_leg]}}, manager="aksmesh")

    def egress(*namespaces, hosts=({"host": host},)):
        return run_playbook(play(kc, [{"role": "aksmesh.istio.mesh_egress", "vars": {
            "mesh_egress_namespaces": list(namespaces), "mesh_egress_hosts": list(hosts)}}]), tmp_path)

    def routes():
        found = {}
        for ns in ("shop", "payments", "istio-egress"):
            vs = get(kube_api, "networking.istio.io", "virtualservices", ns, name)
            if vs:
                found[ns] = vs["spec"]
        return found

    first = egress("shop", "payments")
    assert first.rc == 0, first.stdout[-3000:]
    sidecar = {"hosts": [host], "gateways": ["mesh"], "exportTo": ["."], "tls": [mesh_leg]}
    assert routes() == {"shop": sidecar, "payments": sidecar, "istio-egress": {
        "hosts": [host], "gateways": [gw_ref], "exportTo": ["."], "tls": [gateway_leg]}}
    for ns in ("shop", "payments"):  # the sidecar's leg sees the subset it routes to
        assert get(kube_api, "networking.istio.io", "destinationrules", ns, "egressgateway-api-example-com")[
            "spec"] == {"host": gw_host, "exportTo": ["."], "subsets": [{"name": "api-example-com"}]}
    again = egress("shop", "payments")
    assert again.rc == 0 and again.changed == [], [c["task"] for c in again.changed]
    # another host instead: both legs of the first are pruned, the gateway's with the client namespaces'
    other = egress("shop", "payments", hosts=[{"host": "other.example.com"}])
    assert other.rc == 0, other.stdout[-3000:]
    assert routes() == {}
    assert sorted(ns for ns in ("shop", "payments", "istio-egress")
                  if get(kube_api, "networking.istio.io", "virtualservices", ns, "egress-other-example-com")) == [
        "istio-egress", "payments", "shop"]


def service_port(kube_api, url):
    """The port of the Service a Kiali URL names (http://<service>.<namespace>:<port>/...), or None."""
    parts = urllib.parse.urlsplit(url)
    service, namespace = parts.hostname.split(".", 1)
    ports = get(kube_api, "", "services", namespace, service)["spec"]["ports"]
    return namespace, next((p["port"] for p in ports if p["port"] == parts.port), None)


@pytest.mark.parametrize("method,inventory,addons_ns,root_ns", [
    ("istioctl", {"aksmesh_istio_namespace": "mesh-system"}, "mesh-system", "mesh-system"),
    ("aks_addon", {"aksmesh_revision": "asm-1-28", "aksmesh_resource_group": "rg", "aksmesh_cluster_name": "aks",
                   "aksmesh_preflight": False}, "istio-system", "aks-istio-system"),
])
def test_kiali_resolves_prometheus_jaeger_and_grafana(mesh_cluster, tmp_path, method, inventory, addons_ns, root_ns):
    """Kiali's ConfigMap names Services that exist, with their ports, in the namespaces of the install method; it
    logs in to Grafana (anonymous access off) with the Grafana Secret it mounts, and no passphrase is in the
    ConfigMap, the render folder or the output."""
    kube_api, kc = mesh_cluster
    if method == "aks_addon":  # what the add-on creates: its root namespace, where the mesh-wide Telemetry goes
        kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": root_ns}})
    roles = [{"role": "aksmesh.istio.mesh_secrets", "vars": dict(SECRETS)},
             {"role": "aksmesh.istio.mesh_addons", "vars": {"mesh_addons_source_dir": addons_dir(tmp_path),
                                                            "mesh_addons_wait": False}}]
    run = run_playbook(play(kc, roles, aksmesh_install_method=method, **inventory), tmp_path)
    assert run.rc == 0, run.stdout[-3000:]
    text = get(kube_api, "", "configmaps", addons_ns, "kiali")["data"]["config.yaml"]
    config = yaml.safe_load(text)
    assert config["deployment"]["namespace"] == addons_ns
    services = config["external_services"]
    assert services["istio"]["root_namespace"] == root_ns
    assert services["tracing"]["enabled"] and services["grafana"]["enabled"]
    for url, port in ((services["prometheus"]["url"], 9090), (services["grafana"]["internal_url"], 3000),
                      (services["tracing"]["internal_url"], 16685)):
        assert service_port(kube_api, url) == (addons_ns, port), url
    # Grafana's credentials: the ConfigMap names the Secret (secret:<name>:<key>), Kiali's pod mounts it
    auth = services["grafana"]["auth"]
    assert (auth["type"], auth["username"], auth["password"]) == (
        "basic", "secret:grafana:username", "secret:grafana:passphrase")
    secret = get(kube_api, "", "secrets", addons_ns, "grafana")["data"]
    assert base64.b64decode(secret["passphrase"]).decode() == SECRETS["mesh_secrets_grafana_passphrase"]
    pod = get(kube_api, "apps", "deployments", addons_ns, "kiali")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounted = {m["mountPath"]: volumes[m["name"]].get("secret") for m in pod["containers"][0]["volumeMounts"]}
    for key, path in (("passphrase", "grafana-password"), ("username", "grafana-username")):
        assert mounted[f"/kiali-override-secrets/{path}"]["secretName"] == "grafana"
        assert mounted[f"/kiali-override-secrets/{path}"]["items"] == [{"key": key, "path": "value.txt"}]
        assert key in secret
    # Jaeger gets the spans: the mesh-wide Telemetry in the method's root namespace
    tel = get(kube_api, "telemetry.istio.io", "telemetries", root_ns, "mesh-default")["spec"]
    assert tel["tracing"][0]["providers"] == [{"name": "otel-tracing"}]
    assert service_port(kube_api, "http://jaeger-collector.%s:4317" % addons_ns) == (addons_ns, 4317)
    # no passphrase in the ConfigMap, the output or the render folder
    passphrase = SECRETS["mesh_secrets_grafana_passphrase"]
    assert passphrase not in text and passphrase not in run.stdout
    render_dir = tmp_path / "rendered"
    rendered = run_playbook(play(kc, roles, aksmesh_install_method=method, aksmesh_target="render",
                                 aksmesh_render_dir=str(render_dir), **inventory), tmp_path)
    assert rendered.rc == 0, rendered.stdout[-3000:]
    files = {p.name: p.read_text() for p in render_dir.rglob("*.yaml")}
    assert "configmap-%s-kiali.yaml" % addons_ns in files
    assert not [name for name, body in files.items() if passphrase in body]


@pytest.mark.parametrize("method,name,namespace", [
    ("istioctl", "istio-ingressgateway", "istio-ingress"),
    ("helm", "istio-ingress", "istio-ingress"),
    ("aks_addon", "aks-istio-ingressgateway-external", "aks-istio-ingress"),
])
def test_ingress_facts_per_install_method(mesh_cluster, tmp_path, method, name, namespace):
    """The install method comes from the settings role: ingress_info reads the Service the method names."""
    kube_api, kc = mesh_cluster
    if namespace not in NAMESPACES:
        kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    kube_api.create({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace}, "spec": {
            "type": "LoadBalancer", "loadBalancerIP": "51.124.7.7", "selector": {"istio": "ingressgateway"},
            "ports": [{"name": "status-port", "port": 15021}, {"name": "http2", "port": 80, "targetPort": 8080},
                      {"name": "https", "port": 443, "targetPort": 8443}]}})
    roles = [{"role": "aksmesh.istio.mesh_gateways"}]
    addon = {"aksmesh_revision": "asm-1-28", "aksmesh_resource_group": "rg", "aksmesh_cluster_name": "aks",
             "aksmesh_preflight": False} if method == "aks_addon" else {}
    run = run_playbook(play(kc, roles, aksmesh_install_method=method, **addon), tmp_path)
    assert run.rc == 0, run.stdout[-2000:]
    facts = run.task("Read the ingress gateway's address and ports")[0]["result"]
    assert (facts["address"], facts["http2_port"], facts["https_port"]) == ("51.124.7.7", 80, 443)
