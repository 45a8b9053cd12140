"""aksmesh.istio.aks_credentials: kubeconfig from ARM, private file, idempotent, secrets never printed."""

import os
import stat

import yaml

from tests.support.ansible_runner import run_module, run_playbook

KUBECONFIG = {"apiVersion": "v1", "kind": "Config", "current-context": "aks",
              "clusters": [{"name": "aks", "cluster": {
                  "server": "https://aks-dns.hcp.westeurope.azmk8s.io:443", "certificate-authority-data": "Q0E="}}],
              "contexts": [{"name": "aks", "context": {"cluster": "aks", "user": "clusterUser_rg_aks"}}],
              "users": [{"name": "clusterUser_rg_aks", "user": {"token": "s3cr3t-user-token-0123456789"}}]}
ADMIN = dict(KUBECONFIG, users=[{"name": "clusterUser_rg_aks", "user": {"token": "admin-token-9876543210"}}])


def creds(azure_env, check_mode=False, diff=False, **args):
    return run_module("aks_credentials", dict({"resource_group": "rg", "name": "aks"}, **args), env=azure_env,
                      check_mode=check_mode, diff=diff)


def test_written_private_then_unchanged(arm, azure_env, tmp_path):
    arm.add_cluster("rg", "aks", kubeconfig=KUBECONFIG, admin_kubeconfig=ADMIN)
    dest = tmp_path / "kube" / "aks"
    check = creds(azure_env, check_mode=True, dest=str(dest))
    assert check["changed"] is True and not dest.exists()
    first = creds(azure_env, diff=True, dest=str(dest))
    assert not first.failed, first.result
    assert first["changed"] is True and first["server"] == "https://aks-dns.hcp.westeurope.azmk8s.io:443"
    assert first["context"] == "aks" and "token" not in first["diff"]["after"]
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600 and stat.S_IMODE(os.stat(dest.parent).st_mode) == 0o700
    assert yaml.safe_load(dest.read_text())["users"][0]["user"]["token"] == KUBECONFIG["users"][0]["user"]["token"]
    assert "s3cr3t-user-token" not in first.stdout
    assert creds(azure_env, dest=str(dest))["changed"] is False
    os.chmod(dest, 0o644)
    fixed = creds(azure_env, dest=str(dest))
    assert fixed["changed"] is True and stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert list(dest.parent.iterdir()) == [dest]  # no temp files left behind


def test_admin_credentials_and_return_content(arm, azure_env, tmp_path):
    arm.add_cluster("rg", "aks", kubeconfig=KUBECONFIG, admin_kubeconfig=ADMIN)
    res = creds(azure_env, admin=True, return_content=True)
    assert res["kubeconfig"]["users"][0]["user"]["token"] == "admin-token-9876543210"
    arm.add_cluster("rg", "aad", kubeconfig=KUBECONFIG, disable_local_accounts=True)
    denied = run_module("aks_credentials", {"resource_group": "rg", "name": "aad", "admin": True,
                                            "dest": str(tmp_path / "x")}, env=azure_env)
    assert denied.failed and "disables local accounts" in denied["msg"] and "admin: false" in denied["msg"]
    assert not (tmp_path / "x").exists()


def test_errors(arm, azure_env, tmp_path):
    missing = creds(azure_env, dest=str(tmp_path / "k"))
    assert missing.failed and "was not found" in missing["msg"]
    neither = creds(azure_env)
    assert neither.failed and "dest" in neither["msg"]


def test_tokens_and_client_secret_absent_at_vvvv(arm, azure_env, tmp_path):
    arm.add_cluster("rg", "aks", kubeconfig=KUBECONFIG)
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Credentials", "aksmesh.istio.aks_credentials": {
            "resource_group": "rg", "name": "aks", "dest": str(tmp_path / "kc"), "secret": "app-secret"}}]}]
    run = run_playbook(play, tmp_path, verbosity=4, env=azure_env)
    assert run.rc == 0, run.stdout[-3000:]
    out = run.stdout + run.stderr
    assert "s3cr3t-user-token" not in out and "app-secret" not in out.replace("AZURE_SECRET", "")


def test_check_mode_fetches_into_a_private_temporary_copy_that_remove_deletes(arm, azure_env, tmp_path):
    arm.add_cluster("rg", "aks", kubeconfig=KUBECONFIG, admin_kubeconfig=ADMIN)
    dest = tmp_path / "kube" / "aks"
    check = creds(azure_env, check_mode=True, dest=str(dest))
    assert check["changed"] is True and check["temporary"] is True and not dest.exists()
    temp = check["path"]
    assert stat.S_IMODE(os.stat(temp).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(temp)).st_mode) == 0o700
    assert yaml.safe_load(open(temp))["users"][0]["user"]["token"] == KUBECONFIG["users"][0]["user"]["token"]
    assert "s3cr3t-user-token" not in check.stdout
    arm.clear_log()
    removed = creds(azure_env, check_mode=True, remove=temp)
    assert removed["removed"] is True and removed["changed"] is False
    assert not os.path.exists(os.path.dirname(temp)) and arm.requests() == []  # nothing asked of Azure
    assert creds(azure_env, remove=temp)["removed"] is False  # idempotent
    # a file that is the module's own (dest unchanged) is used as it is, no copy
    creds(azure_env, dest=str(dest))
    same = creds(azure_env, check_mode=True, dest=str(dest))
    assert same["changed"] is False and same["temporary"] is False and same["path"] == str(dest)


def test_remove_refuses_files_it_did_not_make(azure_env, tmp_path):
    victim = tmp_path / "kubeconfig"
    victim.write_text("keep me")
    refused = creds(azure_env, remove=str(victim))
    assert refused.failed and "is not a temporary kubeconfig of this module" in refused["msg"]
    assert victim.read_text() == "keep me"


def test_remove_leaves_a_folder_named_like_its_own_that_holds_user_files(azure_env, tmp_path):
    """remove deleted any folder named aksmesh-check-*, user files included."""
    folder = tmp_path / "aksmesh-check-abcd1234"
    folder.mkdir(mode=0o700)
    (folder / "kubeconfig").write_text("mine")
    (folder / "notes.txt").write_text("keep me")
    refused = creds(azure_env, remove=str(folder / "kubeconfig"))
    assert refused.failed and "holds other files (notes.txt)" in refused["msg"], refused.result
    assert sorted(p.name for p in folder.iterdir()) == ["kubeconfig", "notes.txt"]


def test_a_dropped_credential_request_is_sent_again(arm, azure_env, tmp_path):
    """ARM closes the connection of the first listClusterUserCredential without an answer (a POST: the SDK's own
    retry policy does not repeat it); the module asks again and writes the kubeconfig, with a warning."""
    arm.add_cluster("rg", "aks", kubeconfig=KUBECONFIG)
    arm.faults.add(r"/listClusterUserCredential$", "drop", method="POST")
    dest = tmp_path / "kc"
    res = creds(azure_env, dest=str(dest))
    assert not res.failed, res.result
    assert res["changed"] is True and dest.exists()
    assert [e.status for e in arm.requests("POST", r"/listClusterUserCredential$")] == [0, 200]
    # warnings are the module's own strings (ansible-core before 2.19) or event summaries (2.19)
    assert any("the connection failed or was dropped" in str(w) for w in res.result.get("warnings", [])), res.result


def test_an_entra_service_error_is_named_as_one_not_as_a_bad_credential(arm, azure_env, tmp_path):
    """Microsoft Entra ID answers the token request with 500 (every time: azure-identity retries it): the failure
    says Entra failed and to re-run, not "check the credential"."""
    arm.add_cluster("rg", "aks", kubeconfig=KUBECONFIG)
    arm.faults.add(r"/oauth2/v2\.0/token$", 500, method="POST", count=20,
                   body={"error": "temporarily_unavailable", "error_description": "AADSTS90033: A transient error"})
    res = creds(azure_env, dest=str(tmp_path / "kc"))
    assert res.failed, res.result
    assert "Microsoft Entra ID answered the token request with HTTP 500, a service error: the credential was not " \
           "refused. Fix: re-run later" in res["msg"], res["msg"]
    assert "check the credential" not in res["msg"], res["msg"]
    assert not (tmp_path / "kc").exists()
