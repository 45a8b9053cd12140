"""The action groups of meta/runtime.yml: group/aksmesh.istio.k8s reaches the collection's Kubernetes modules and,
as it extends kubernetes.core.k8s, kubernetes.core's; manifest_diff is in no Kubernetes group."""

import pathlib
import sys

import yaml

from tests.support.ansible_runner import REPO, run_playbook


def kubernetes_core():
    for entry in sys.path:
        if (pathlib.Path(entry) / "ansible_collections" / "kubernetes" / "core" / "meta" / "runtime.yml").is_file():
            return True
    return False


def test_the_groups_hold_the_modules_that_take_their_options():
    groups = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["action_groups"]
    k8s = [m for m in groups["k8s"] if isinstance(m, str)]
    assert {"metadata": {"extend_group": ["kubernetes.core.k8s"]}} in groups["k8s"]
    assert "manifest_diff" not in k8s and "render" not in k8s and "helm_release" in k8s
    assert sorted(groups["azure"]) == ["aks_credentials", "aks_mesh_addon", "aks_preflight", "aks_public_ip"]
    for name in k8s:  # every module of the group takes the connection options
        doc = (REPO / "plugins" / "modules" / f"{name}.py").read_text()
        assert "aksmesh.istio.k8s_auth" in doc, name


def test_every_module_that_takes_the_connection_options_is_in_the_group_and_in_the_readme():
    """A module documented with the Kubernetes connection options is a member of group/aksmesh.istio.k8s (or
    module_defaults miss it), and the README's module table lists every module."""
    groups = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["action_groups"]
    modules = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
    takes_k8s = [m for m in modules
                 if "aksmesh.istio.k8s_auth" in (REPO / "plugins" / "modules" / f"{m}.py").read_text()]
    assert [m for m in takes_k8s if m not in groups["k8s"]] == []
    readme = (REPO / "README.md").read_text()
    assert [m for m in modules if f"| `aksmesh.istio.{m}` |" not in readme] == []


def test_one_module_defaults_entry_reaches_our_modules_and_kubernetes_core(kube_api, kubeconfig, tmp_path):
    assert kubernetes_core(), "kubernetes.core ships in the ansible package that requirements/dev.txt pins"
    play = [{"name": "groups", "hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/aksmesh.istio.k8s": {"kubeconfig": kubeconfig, "context": "aksmesh-test"}},
             "tasks": [
                 {"name": "ours", "aksmesh.istio.cluster_info": {}},
                 {"name": "kubernetes.core's", "kubernetes.core.k8s_info": {"kind": "Namespace", "name": "default"}},
             ]}]
    # no other way to the cluster: no K8S_AUTH_*, no KUBECONFIG, no ~/.kube/config
    run = run_playbook(play, tmp_path, env={"K8S_AUTH_KUBECONFIG": None, "KUBECONFIG": str(tmp_path / "absent"),
                                            "HOME": str(tmp_path)})
    assert run.rc == 0, run.stdout[-3000:]
    assert run.task("ours")[0]["result"]["kubernetes_version"]
    assert [r["metadata"]["name"] for r in run.task("kubernetes.core's")[0]["result"]["resources"]] == ["default"]
