"""Issue 23 §6, least privilege: a run whose identity holds exactly the ClusterRoles rbac.yml writes converges; one
without a stage's role fails in the access stage, before its first write, naming the permission, the stage and the
role; verify.yml runs with the read-only verify role, which cannot change the cluster."""

import yaml
from kubernetes import client, config

from tests.integration.test_site import SITE
from tests.integration.test_site_helm import assert_wrote_nothing, site_with_addons
from tests.support.ansible_runner import REPO, run_playbook

RBAC = REPO / "playbooks" / "rbac.yml"
VERIFY = REPO / "playbooks" / "verify.yml"
RUNNER = {"kind": "User", "name": "aksmesh-runner"}
READER = {"kind": "User", "name": "aksmesh-reader"}


def failed(run):
    return [(r["task"], r["result"].get("msg")) for r in run.results if r["status"] == "failed"]


def write_rbac(tmp_path, inv):
    """rbac.yml's List for the inventory's host, the runner bound to its stages' roles, the reader to verify's."""
    dest = tmp_path / "rbac" / "aks.yaml"
    run = run_playbook(RBAC, tmp_path, inventory=inv, extra_vars={
        "aksmesh_rbac_dest": str(dest), "aksmesh_rbac_subjects": [RUNNER], "aksmesh_rbac_verify_subjects": [READER]})
    assert run.rc == 0, failed(run)
    return yaml.safe_load(dest.read_text())["items"]


def create(rbac_api, obj):
    if obj["kind"] == "ClusterRole":
        rbac_api.create_cluster_role(obj)
    else:
        rbac_api.create_cluster_role_binding(obj)


def runner_bound_to_the_published_roles(kube_api, admin_kubeconfig, tmp_path, inventory_for):
    """The inventory ``inventory_for(kubeconfig)`` builds for the runner, whose identity holds exactly the roles
    rbac.yml writes for it (applied with the admin): the other site tests run their method this way."""
    runner = str(tmp_path / "runner.kubeconfig")
    kube_api.kubeconfig(runner, user="aksmesh-runner")
    inv = inventory_for(runner)
    rbac_api = client.RbacAuthorizationV1Api(config.new_client_from_config(admin_kubeconfig))
    for obj in write_rbac(tmp_path, inv):
        create(rbac_api, obj)
    return inv


def test_the_published_roles_are_exactly_enough_and_verify_only_reads(kube_api, kubeconfig, tmp_path):
    admin = config.new_client_from_config(kubeconfig)
    rbac_api = client.RbacAuthorizationV1Api(admin)
    runner = str(tmp_path / "runner.kubeconfig")
    kube_api.kubeconfig(runner, user="aksmesh-runner")
    reader = str(tmp_path / "reader.kubeconfig")
    kube_api.kubeconfig(reader, user="aksmesh-reader")
    inv = site_with_addons(runner, tmp_path)
    items = write_rbac(tmp_path, inv)
    bound = {i["metadata"]["name"] for i in items if i["kind"] == "ClusterRoleBinding"}
    assert {"aksmesh-istio:istio:istioctl", "aksmesh-istio:mtls", "aksmesh-istio:addons",
            "aksmesh-istio:verify"} <= bound, bound
    assert "aksmesh-istio:istio:aks_addon" not in bound  # another method's role: never bound for this host
    # every role but the mTLS stage's: the run fails in the access stage, before anything is written
    for obj in items:
        if not (obj["kind"] == "ClusterRoleBinding" and obj["metadata"]["name"] == "aksmesh-istio:mtls"):
            create(rbac_api, obj)
    kube_api.clear_log()
    short = run_playbook(SITE, tmp_path, inventory=inv)
    assert short.rc != 0
    [(task, msg)] = failed(short)
    assert task.endswith("The run's identity may do what the stages need (nothing changes before this holds)"), task
    assert ("lacks 4 permissions of the stages that run - aksmesh-istio:mtls (stage mtls): "
            "create/patch/update/delete peerauthentications.security.istio.io. Nothing") in msg, msg
    assert "Nothing was changed" in msg and "istio:istioctl" not in msg, msg
    assert_wrote_nothing(kube_api)
    assert not client.CoreV1Api(admin).list_namespace(label_selector="app.kubernetes.io/managed-by=aksmesh.istio").items
    # with the mTLS stage's role too: the run converges, as the identity holds exactly the published roles
    create(rbac_api, next(i for i in items if i["kind"] == "ClusterRoleBinding"
                          and i["metadata"]["name"] == "aksmesh-istio:mtls"))
    full = run_playbook(SITE, tmp_path, inventory=inv)
    assert full.rc == 0, failed(full)
    assert kube_api.get("security.istio.io/v1", "PeerAuthentication", "istio-system", "default")
    assert kube_api.get("apps/v1", "Deployment", "istio-system", "istiod")
    # verify.yml with the read-only role: it reads and analyzes, writes nothing, and finds no drift
    (tmp_path / "verify").mkdir()
    reading = site_with_addons(reader, tmp_path / "verify")
    kube_api.clear_log()
    verify = run_playbook(VERIFY, tmp_path / "verify", inventory=reading, check=True, diff=True)
    assert verify.rc == 0, failed(verify)
    assert_wrote_nothing(kube_api)
    access = verify.task("The run's identity may do what the stages need (nothing changes before this holds)")[0]
    assert access["result"]["read_only"] and access["result"]["denied"] == [], access["result"]
    # the verify role cannot change the cluster: site.yml with it stops in the access stage
    kube_api.clear_log()
    change = run_playbook(SITE, tmp_path / "verify", inventory=reading)
    assert change.rc != 0
    [(task, msg)] = failed(change)
    assert "create/patch/update namespaces" in msg and "(stage addons, injection, istio, secrets)" in msg, msg
    denied = change.task("The run's identity may do what the stages need (nothing changes before this holds)")[0]
    assert "Nothing was changed" in msg and {d["verb"] for d in denied["result"]["denied"]} == {
        "create", "patch", "update", "delete", "escalate", "bind"}, msg  # it may read all the run reads
    assert_wrote_nothing(kube_api)
