"""Every bad input gets a named error before anything changes (issue: hardening).

Each row: a module, its arguments, and the text its error must hold. Each runs against the real API server (or the
ARM emulator for the aks_* modules) and must fail without a traceback and without one write (dry runs aside).
Grow the table with every new option.
"""

import pytest
import yaml

from tests.support.ansible_runner import run_module

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "default"}, "data": {"a": "b"}}
IOP = {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": {"profile": "minimal"}}


def cm(**meta):
    return dict(CM, metadata=dict(CM["metadata"], **meta))


WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}}


K8S = [
    # names that would change the URL they are put in, or that the API server refuses
    ("injection", {"namespaces": [{"name": "kube-system/configmaps/victim"}]},
     "namespaces[0].name 'kube-system/configmaps/victim' is not a DNS-1123 label"),
    ("injection", {"namespaces": [{"name": ".."}]}, "namespaces[0].name '..' is not a DNS-1123 label"),
    ("injection", {"namespaces": [{"name": ""}]}, "namespaces[0].name '' is empty"),
    ("injection", {"namespaces": [{"name": "a" * 64}]}, "a DNS-1123 label has at most 63"),
    ("injection", {"namespaces": [{"name": "Shop"}]}, "namespaces[0].name 'Shop' is not a DNS-1123 label"),
    ("injection", {"namespaces": [{"name": "shop", "revision": "1-30; touch /tmp/x"}]},
     "namespaces[0].revision '1-30; touch /tmp/x' is not a DNS-1123 label"),
    ("injection", {"namespaces": [{"name": "shop"}], "revision": "../x"}, "revision '../x' is not a DNS-1123 label"),
    ("injection", {"namespaces": [{"name": "shop"}, {"name": "shop"}]}, "lists a namespace twice"),
    ("injection", {"namespaces": [{"name": "shop", "state": "gone"}]}, "value of state must be one of"),
    ("injection", {"namespaces": [{"revision": "1-30-0"}]}, "missing required arguments: name"),
    ("ingress_info", {"namespace": "kube-system/services/x"},
     "namespace 'kube-system/services/x' is not a DNS-1123 label"),
    ("ingress_info", {"service": "../../secrets/x"}, "service '../../secrets/x' is not a DNS-1035 label"),
    ("ingress_info", {"service": "9gateway"}, "service '9gateway' is not a DNS-1035 label"),
    ("ingress_info", {"install_method": "kubectl"}, "value of install_method must be one of"),
    ("access_review", {"rules": [], "namespace": "a/b"}, "namespace 'a/b' is not a DNS-1123 label"),
    ("access_review", {"rules": [{"api_group": "", "resources": [], "verbs": ["get"]}]},
     "rules[0].resources: is empty or holds an empty name"),
    ("access_review", {"rules": [{"api_group": "", "resources": ["pods"], "verbs": ["get", ""]}]},
     "rules[0].verbs: is empty or holds an empty name"),
    ("access_review", {"rules": [{"api_group": "", "resources": ["pods"], "verbs": ["get"], "verb": "list"}]},
     "Unsupported parameters"),
    ("access_review", {}, "missing required arguments: rules"),
    ("gateway_api_crds", {}, "missing required arguments: module_zip"),
    ("gateway_api_crds", {"module_zip": "/nonexistent/v1.6.0.zip", "version": "1.6"},
     "version: '1.6' is not a module version (v<major>.<minor>.<patch>"),
    ("gateway_api_crds", {"module_zip": "/nonexistent/v1.6.0.zip"},
     "the Gateway API module zip /nonexistent/v1.6.0.zip cannot be read"),
    ("gateway_api_crds", {"module_zip": "/nonexistent/v1.6.0.zip", "state": "gone"}, "value of state must be one of"),
    ("gateway_api_crds", {"module_zip": "/nonexistent/v1.6.0.zip", "inpsect": False}, "Unsupported parameters"),
    ("cluster_info", {"istio_namespace": ["a/b"]}, "istio_namespace[0] 'a/b' is not a DNS-1123 label"),
    ("cluster_info", {"workload_namespaces": ["%2e%2e"]}, "workload_namespaces[0] '%2e%2e'"),
    ("mesh_lint", {"root_namespace": "istio-system/configmaps"}, "root_namespace 'istio-system/configmaps'"),
    ("mesh_lint", {"fail_level": "Fatal"}, "value of fail_level must be one of"),
    ("mesh_lint", {"src": ["/nonexistent/mesh.yaml"], "partial": True}, "does not exist"),
    # istio_install: options checked before istioctl runs
    ("istio_install", {"operator": 7}, "operator is a int"),
    ("istio_install", {"operator": {"kind": "IstioOperator"}}, "it lacks apiVersion, spec"),
    ("istio_install", {"operator": dict(IOP, kind="Deployment")}, "its kind is 'Deployment'"),
    ("istio_install", {"operator": dict(IOP, spec="minimal")}, "its spec is not a mapping"),
    ("istio_install", {"operator": IOP, "revision": "1-30; touch /tmp/pwn"},
     "revision '1-30; touch /tmp/pwn' is not a DNS-1123 label"),
    ("istio_install", {"operator": IOP, "revision": "Canary"}, "revision 'Canary' is not a DNS-1123 label"),
    ("istio_install", {"operator": "/nonexistent/iop.yaml"}, "is not a file"),
    ("istio_install", {}, "state is present but all of the following are missing: operator"),
    ("istio_install", {"operator": IOP, "state": "gone"}, "value of state must be one of"),
    # helm_release: nothing helm could read as a flag
    ("helm_release", {"name": "--dry-run", "chart": "istiod", "namespace": "istio-system"},
     "name '--dry-run' is not a release name"),
    ("helm_release", {"name": "istiod", "chart": "--set=x", "namespace": "istio-system"}, "chart '--set=x'"),
    ("helm_release", {"name": "istiod", "chart": "istiod", "namespace": "a/b"}, "namespace 'a/b'"),
    ("helm_release", {"name": "istiod", "chart": "istiod", "namespace": "istio-system", "repo": "file:///srv/charts"},
     "repo 'file:///srv/charts' is not a chart repository URL helm can read"),
    ("helm_release", {"name": "x" * 54, "chart": "istiod", "namespace": "istio-system"}, "is not a release name"),
    ("helm_release", {"name": "Istiod", "chart": "istiod", "namespace": "istio-system"}, "is not a release name"),
    ("helm_release", {"name": "istiod", "namespace": "istio-system"}, "missing: chart"),
    # apply: the whole batch is checked before the first write
    ("apply", {"definitions": [CM, cm(name="a/b")]}, "metadata.name 'a/b' is not a DNS-1123 subdomain"),
    ("apply", {"definitions": [CM, cm(namespace="kube-system/secrets")]},
     "metadata.namespace 'kube-system/secrets' is not a DNS-1123 label"),
    ("apply", {"definitions": [CM, cm(name="..")]}, "metadata.name '..'"),
    ("apply", {"definitions": [CM, dict(CM)]}, "is given twice in one batch"),
    ("apply", {"definitions": [CM, {"apiVersion": "v1", "metadata": {"name": "x"}}]}, "lacks kind"),
    # fields of the wrong type: named with the document, the path and the type expected, not a traceback
    ("apply", {"definitions": [CM, dict(CM, metadata=["cm"])]}, "document 2 (ConfigMap): metadata is a list, expected"),
    ("apply", {"definitions": [CM, dict(CM, metadata="cm")]}, "metadata is a string, expected a mapping"),
    ("apply", {"definitions": [CM, cm(name=5)]}, "metadata.name is a number, expected a string"),
    ("apply", {"definitions": [CM, dict(CM, apiVersion=1)]}, "apiVersion is a number, expected a string"),
    ("apply", {"definitions": [CM, dict(CM, kind=["ConfigMap"])]}, "kind is a list, expected a string"),
    ("apply", {"definitions": [CM, dict(CM, kind={"a": "b"})]}, "kind is a mapping, expected a string"),
    ("apply", {"definitions": [CM, cm(labels={"port": 8080})]}, "metadata.labels.port is a number"),
    # timeouts out of range, before any request
    ("apply", {"definitions": [CM], "wait": True, "wait_timeout": -5}, "wait_timeout -5: give the seconds to wait"),
    ("apply", {"definitions": [CM], "request_timeout": 0}, "request_timeout 0: give the seconds to wait, at least 1"),
    ("ingress_info", {"wait_timeout": -1}, "wait_timeout -1: give the seconds to wait, 0 or more"),
    # a few hundred bytes of nested YAML aliases that would expand to 10**8 values
    ("apply", {"definitions": "\n".join(["a: &a [x, x, x, x, x, x, x, x, x, x]"] + [
        "%s: &%s [%s]" % (n, n, ", ".join(["*" + prev] * 10)) for prev, n in zip("abcdefg", "bcdefgh")])},
     "expands to more than 100000 values through its YAML aliases"),
    ("mesh_lint", {"definitions": [dict(CM, metadata=["cm"])], "partial": True},
     "definitions: document 1 (ConfigMap): metadata is a list, expected a mapping. Nothing was linted"),
    ("mesh_lint", {"definitions": [CM], "gateway_workloads": [{"selector": "istio=ingress"}]},
     "gateway_workloads[0]: expected {selector: the workload's labels (a mapping), namespace: its namespace}"),
    ("apply", {"definitions": [CM, "just text"]}, "definitions document 2 is not a mapping"),
    ("apply", {"definitions": [CM, ["a", "list"]]}, "is not a mapping"),
    ("apply", {"definitions": [CM, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "Bad_NS"}}]},
     "metadata.name 'Bad_NS' is not a DNS-1123 label"),
    ("apply", {"definitions": [CM, {"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "9svc", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}}]},
     "metadata.name '9svc' is not a DNS-1035 label"),
    ("apply", {"src": "/nonexistent/objects.yaml"}, "does not exist"),
    ("apply", {"definitions": [CM], "state": "gone"}, "value of state must be one of"),
    ("apply", {"definitions": "{{ not yaml: [", "namespace": "default"}, "is not valid YAML"),
    ("apply", {"definitions": [CM], "prune": {"kinds": [{"apiVersion": "v1", "kind": "ConfgMap"}],
                                              "label_selector": "app=x"}},
     "prune.kinds: the API server does not serve v1 ConfgMap"),
    ("apply", {"definitions": [CM], "prune": {"kinds": [{"kind": "ConfigMap"}], "label_selector": "app=x"}},
     "prune.kinds entries need apiVersion and kind"),
    ("apply", {"definitions": [CM], "prune": {"kinds": [{"apiVersion": "v1", "kind": "ConfigMap"}],
                                              "label_selector": "app=x", "namespaces": ["default/configmaps"]}},
     "prune.namespaces[0] 'default/configmaps' is not a DNS-1123 label"),
    ("apply", {"definitions": [dict(CM, metadata={"name": "cm"})], "namespace": "kube-system/secrets"},
     "namespace 'kube-system/secrets' is not a DNS-1123 label"),
    # issue 23: a stage applies all of it or nothing - every kind resolved, every object dry-run, before the first
    # write (a ConfigMap was patched, a Namespace created, then the later object failed)
    ("apply", {"definitions": [cm(name="bad-inputs-first", labels={"run": "1"}), WIDGET]},
     "nothing was applied): Widget default/w: the API server does not serve example.com/v1 Widget"),
    ("apply", {"definitions": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bad-inputs-ns"}},
                               dict(WIDGET, metadata={"name": "w", "namespace": "bad-inputs-ns"})]},
     "does not serve example.com/v1 Widget"),
    ("apply", {"definitions": [cm(name="bad-inputs-first"), {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "no-selector", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}}]},
     "nothing was applied): Deployment default/no-selector: "),
    # issue 23: prune deletes only what the stage owns; a YAML key given twice is named
    ("apply", {"definitions": [CM], "prune": {"kinds": [{"apiVersion": "v1", "kind": "Secret"}],
                                              "label_selector": ""}}, "prune.label_selector is empty"),
    ("apply", {"definitions": [cm(labels={"app.kubernetes.io/managed-by": "aksmesh", "aksmesh.io/stage": "x"})],
               "prune": {"kinds": [{"apiVersion": "v1", "kind": "Secret"}],
                         "label_selector": "app.kubernetes.io/managed-by=aksmesh"}},
     "is broader than the batch's ownership labels: it lacks aksmesh.io/stage=x"),
    ("apply", {"definitions": [CM], "prune": {"kinds": [{"apiVersion": "v1", "kind": "Secret"}],
                                              "label_selector": "a=b,c in (d)"}}, "the requirement 'c in (d)'"),
    ("apply", {"definitions": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dup, namespace: default}\n"
                              "data:\n  mode: STRICT\n  mode: DISABLE\n"},
     "definitions document 1 has the key 'mode' twice (lines 5 and 6)"),
    ("injection", {"namespaces": [{"name": "default"}, {"name": "bad-inputs-missing"}], "create": False},
     "namespaces: bad-inputs-missing does not exist; nothing was labelled"),
    ("injection", {"namespaces": [{"name": "kube-system"}]}, "namespaces[0].name kube-system: a namespace of the "
                                                             "cluster itself gets no sidecar injection"),
    ("istio_install", {"operator": IOP, "set": ["values.global.hub"]}, "set[0] 'values.global.hub' is not path=value"),
]


@pytest.mark.parametrize("module, args, needle", K8S, ids=["%s-%d" % (row[0], i) for i, row in enumerate(K8S)])
def test_bad_input_is_named_before_anything_changes(kube_api, kubeconfig, module, args, needle):
    kube_api.clear_log()
    res = run_module(module, dict({"kubeconfig": kubeconfig}, **args))
    assert res.failed, res.result
    assert needle in res["msg"], res["msg"]
    assert "Traceback" not in res.stderr and "exception" not in res.result, res.stderr[-2000:]
    assert kube_api.writes() == []


def test_unreadable_or_malformed_kubeconfigs_are_named(kube_api, tmp_path):
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("apiVersion: v1\nclusters: [\n")
    wrong_shape = tmp_path / "list.yaml"
    wrong_shape.write_text("- just\n- a list\n")
    cases = [(str(tmp_path), "cannot be read"), (str(malformed), "is not a valid kubeconfig"),
             (str(wrong_shape), "kubeconfig"), (str(tmp_path / "nope"), "does not exist")]
    kube_api.clear_log()
    for path, needle in cases:
        for module in ("cluster_info", "injection", "apply"):
            args = {"kubeconfig": path, "namespaces": [{"name": "shop"}]} if module == "injection" else \
                {"kubeconfig": path, "definitions": [CM]} if module == "apply" else {"kubeconfig": path}
            res = run_module(module, args)
            assert res.failed and needle in res["msg"], (module, path, res.result)
            assert "Traceback" not in res.stderr, res.stderr[-2000:]
    assert kube_api.requests() == []


def test_http_to_the_api_servers_tls_port_is_named_at_once(kube_api, tmp_path):
    """A kubeconfig whose server says http:// where the API server speaks TLS: the server drops the plain request.
    It was retried for 16 s, then reported as "Connection reset by peer"."""
    for direct in (True, False):  # the API server itself (Go answers 400), the harness's TLS proxy (a reset)
        config = kube_api.kubeconfig(direct=direct)
        cluster = config["clusters"][0]["cluster"]
        cluster["server"] = cluster["server"].replace("https://", "http://")
        path = tmp_path / "kubeconfig"
        path.write_text(yaml.safe_dump(config))
        res = run_module("cluster_info", {"kubeconfig": str(path)})
        assert res.failed and "write https:// in the kubeconfig's server (or host)" in res["msg"], res.result
        assert "Traceback" not in res.stderr


AZURE = [
    ("aks_credentials", {"resource_group": "", "name": "aks", "return_content": True}, "resource_group '' is empty"),
    ("aks_credentials", {"resource_group": "rg", "name": "", "return_content": True}, "name '' is empty"),
    ("aks_credentials", {"resource_group": "rg", "name": "aks"}, "give dest (a file to write) or return_content"),
    ("aks_mesh_addon", {"resource_group": "rg", "name": "aks/../other"},
     "name 'aks/../other' is not a valid AKS cluster name"),
    ("aks_mesh_addon", {"resource_group": "rg.", "name": "aks"}, "resource_group 'rg.' is not a valid resource group"),
    ("aks_preflight", {"resource_group": "r" * 91, "name": "aks"}, "a resource group name has at most 90"),
    ("aks_preflight", {"resource_group": "rg", "name": "aks", "istio_version": "latest"},
     "istio_version 'latest' is not a version"),
    ("aks_preflight", {"resource_group": "rg", "name": "aks", "min_memory_gib": 0}, "min_memory_gib must be positive"),
    ("aks_public_ip", {"name": "pip/x", "resource_group": "rg"}, "name 'pip/x' is not a valid public IP name"),
    ("aks_public_ip", {"name": "pip", "resource_group": "rg", "timeout": 0}, "timeout 0: give the seconds to wait, at"),
    ("aks_public_ip", {"name": "pip", "cluster_name": "", "cluster_resource_group": "rg"},
     "cluster_name '' is empty"),
    # issue 23: refused before anything is sent to Azure
    ("aks_mesh_addon", {"resource_group": "rg", "name": "aks", "timeout": 0},
     "timeout 0: give the seconds to wait, at least 1 (default 1800); nothing was changed"),
    ("aks_mesh_addon", {"resource_group": "rg", "name": "aks", "revisions": []}, "revisions is empty"),
    ("aks_preflight", {"resource_group": "rg", "name": "aks", "min_memory_gib": "nan"},
     "min_memory_gib must be positive (and a finite number), got nan"),
    ("aks_credentials", {"resource_group": "rg", "name": "aks", "dest": "/nonexistent/kc", "mode": 600},
     "mode 600 is a decimal YAML integer (octal 0o1130), not the mode 0600: quote it"),
    ("aks_credentials", {"resource_group": "rg", "name": "aks", "dest": "/nonexistent/kc", "mode": "0666"},
     "mode 0666 lets other users read or change the cluster credentials"),
]


@pytest.mark.parametrize("module, args, needle", AZURE, ids=["%s-%d" % (row[0], i) for i, row in enumerate(AZURE)])
def test_bad_azure_input_is_named_before_any_request(arm, azure_env, module, args, needle):
    arm.add_cluster("rg", "aks")
    res = run_module(module, args, env=azure_env)
    assert res.failed and needle in res["msg"], res.result
    assert "Traceback" not in res.stderr, res.stderr[-2000:]
    assert arm.requests() == []


def test_awxs_username_and_password_credential_is_refused_by_name_before_any_request(arm, azure_env):
    """AWX's Azure Resource Manager credential with a username and password injects AZURE_AD_USER and AZURE_PASSWORD
    (azure.azcollection's names): refused by name, the password never shown; no request reaches Azure or Entra."""
    arm.add_cluster("rg", "aks")
    env = dict(azure_env, AZURE_AD_USER="ops@contoso.com", AZURE_PASSWORD="awx-Pass-1")
    for module in ("aks_preflight", "aks_credentials"):
        res = run_module(module, {"resource_group": "rg", "name": "aks", "return_content": True}
                         if module == "aks_credentials" else {"resource_group": "rg", "name": "aks"}, env=env)
        assert res.failed and "ad_user and password (AZURE_AD_USER, AZURE_PASSWORD" in res["msg"], res.result
        assert "awx-Pass-1" not in res.stdout + res.stderr
    assert arm.requests() == []


def test_files_that_are_not_utf8_or_unreadable_are_named(kube_api, kubeconfig, tmp_path):
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9, namespace: default}\n"
                      .encode("latin-1"))
    folder = tmp_path / "objects"
    folder.mkdir()
    (folder / "a.yaml").write_bytes(latin.read_bytes())
    rendered = tmp_path / "out" / "mtls"
    rendered.mkdir(parents=True)
    (rendered / "stray.yaml").write_bytes(b"\xff\xfe binary, not ours")
    kube_api.clear_log()
    cases = [
        ("apply", {"kubeconfig": kubeconfig, "src": str(latin)}, "src %s is not UTF-8 text (byte" % latin),
        ("apply", {"kubeconfig": kubeconfig, "src": str(folder)}, "a.yaml is not UTF-8 text"),
        ("mesh_lint", {"kubeconfig": kubeconfig, "src": [str(latin)], "partial": True}, "is not UTF-8 text"),
        ("manifest_diff", {"before_path": str(latin), "after": []}, "before_path %s is not UTF-8 text" % latin),
        ("manifest_diff", {"before_path": str(tmp_path), "after": []}, "cannot be read (Is a directory)"),
        ("render", {"dest": str(tmp_path / "out"), "stage": "mtls", "definitions": [CM]},
         "render folder file %s is not UTF-8 text" % (rendered / "stray.yaml")),
    ]
    for module, args, needle in cases:
        res = run_module(module, args)
        assert res.failed and needle in res["msg"], (module, res.result)
        assert "Traceback" not in res.stderr, res.stderr[-2000:]
    assert kube_api.writes() == [] and sorted(p.name for p in rendered.iterdir()) == ["stray.yaml"]


def test_a_missing_passphrase_is_named_by_the_role(kube_api, kubeconfig, tmp_path):
    from tests.support.ansible_runner import role_play, run_playbook
    kube_api.clear_log()
    play = role_play(kubeconfig, [{"role": "aksmesh.istio.mesh_secrets",
                                   "vars": {"mesh_secrets_grafana_passphrase": "", "mesh_secrets_kiali_passphrase": "x",
                                            "mesh_secrets_grafana_username": "admin",
                                            "mesh_secrets_kiali_username": "admin"}}])
    run = run_playbook(play, tmp_path)
    failed = [r["result"].get("msg") for r in run.results if r["status"] == "failed"]
    assert run.rc != 0 and failed, run.stdout[-2000:]
    assert "mesh_secrets_grafana_passphrase" in str(failed) and "CapturedExceptionMarker" not in run.stdout, failed
    assert kube_api.writes() == []


def test_names_the_api_server_allows_still_apply(kube_api, kubeconfig):
    """The checks follow the API server's rules per kind, not one rule for all: RBAC names may hold ':'."""
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "aksmesh:mesh-reader"}, "rules": []}
    first = run_module("apply", {"kubeconfig": kubeconfig, "definitions": [role, cm(name="istio-ca-root-cert.v1")]})
    assert not first.failed and first["counts"] == {"created": 2}, first.result
    again = run_module("apply", {"kubeconfig": kubeconfig, "definitions": [role, cm(name="istio-ca-root-cert.v1")]})
    assert again["changed"] is False


def test_render_writes_nothing_outside_dest(tmp_path):
    """stage: '..' wrote the stage's files next to dest instead of inside it."""
    dest = tmp_path / "out"
    for stage in ("..", "../elsewhere", "a/b"):
        res = run_module("render", {"dest": str(dest), "stage": stage, "definitions": [CM]})
        assert res.failed and "is not a plain folder name" in res["msg"], res.result
        assert "Traceback" not in res.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == []
