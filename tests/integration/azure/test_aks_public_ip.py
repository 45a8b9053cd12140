"""aksmesh.istio.aks_public_ip against the loopback ARM through the real SDK (LROs, role checks, faults)."""

import pytest

from tests.support.ansible_runner import run_module
from tests.support.armapi import NETWORK_CONTRIBUTOR, SUBSCRIPTION

NODE_RG = "MC_rg_aks_westeurope"


@pytest.fixture
def cluster(arm):
    return arm.add_cluster("rg", "aks")


def ip(azure_env, check_mode=False, diff=False, **args):
    base = {"name": "pip-ingress", "cluster_resource_group": "rg", "cluster_name": "aks"}
    return run_module("aks_public_ip", dict(base, **args), env=azure_env, check_mode=check_mode, diff=diff)


def writes(arm):
    return [r for r in arm.requests() if r.method in ("PUT", "DELETE", "PATCH")]


def test_created_in_the_node_resource_group_then_unchanged(arm, azure_env, cluster):
    arm.lro_polls = 3  # an operation that takes several polls
    check = ip(azure_env, check_mode=True, dns_label="shop-ingress")
    assert check["changed"] is True and check["changes"] == ["(absent)"] and arm.public_ips() == []
    first = ip(azure_env, diff=True, dns_label="shop-ingress", tags={"owner": "platform"})
    assert not first.failed, first.result
    assert first["changed"] is True and first["resource_group"] == NODE_RG
    got = first["public_ip"]
    assert got["sku"] == "Standard" and got["allocation"] == "Static" and got["version"] == "IPv4"
    assert got["fqdn"] == "shop-ingress.westeurope.cloudapp.azure.com" and got["provisioning_state"] == "Succeeded"
    assert first["ip_address"] == got["ip_address"] and first["progress"][-1] == "Succeeded"
    assert len(first["progress"]) >= 2  # InProgress, then Succeeded
    assert first["service_annotations"] == {
        "service.beta.kubernetes.io/azure-load-balancer-resource-group": NODE_RG}
    assert first["join_permission"]["checked"] is False  # the node resource group needs no grant
    assert first["diff"]["before"] == {} and first["diff"]["after"]["sku"]["name"] == "Standard"
    count = len(writes(arm))
    again = ip(azure_env, dns_label="shop-ingress", tags={"owner": "platform"})
    assert again["changed"] is False and again["ip_address"] == first["ip_address"]
    assert len(writes(arm)) == count  # no PUT when equal
    # someone else's tag is kept, ours updated; purge_tags removes theirs
    arm.resources[got["id"].lower()]["tags"]["cost-center"] = "42"
    assert ip(azure_env, dns_label="shop-ingress", tags={"owner": "platform"})["changed"] is False
    purged = ip(azure_env, dns_label="shop-ingress", tags={"owner": "platform"}, purge_tags=True)
    assert purged["changed"] is True and purged["public_ip"]["tags"] == {"owner": "platform"}


def test_immutable_changes_and_bad_input_fail_before_writing(arm, azure_env, cluster):
    assert not ip(azure_env, zones=["1", "2"]).failed
    count = len(writes(arm))
    res = ip(azure_env, zones=["1", "2", "3"])
    assert res.failed and "zones cannot change" in res["msg"]
    bad = ip(azure_env, dns_label="Bad_Label")
    assert bad.failed and "dns_label" in bad["msg"]
    assert ip(azure_env, zones=["4"]).failed
    lonely = run_module("aks_public_ip", {"name": "x"}, env=azure_env)
    assert lonely.failed and "resource_group and location" in lonely["msg"]
    assert len(writes(arm)) == count


def test_other_group_without_join_permission_fails_first_then_grants(arm, azure_env, cluster):
    arm.add_group("rg-network")
    res = ip(azure_env, resource_group="rg-network")
    principal = cluster["identity"]["principalId"]
    assert res.failed and principal in res["msg"] and "Network Contributor" in res["msg"]
    assert "grant_join_permission" in res["msg"] and "rg-network" in res["msg"]
    assert arm.public_ips() == []  # nothing changed before the check
    check = ip(azure_env, check_mode=True, resource_group="rg-network", grant_join_permission=True)
    assert check["changed"] and check["join_permission"]["granted"] and writes(arm) == []
    granted = ip(azure_env, resource_group="rg-network", grant_join_permission=True)
    assert not granted.failed, granted.result
    assert granted["join_permission"]["granted"] is True and granted["resource_group"] == "rg-network"
    assignments = [r for k, r in arm.resources.items() if "/roleassignments/" in k]
    assert [a["properties"]["principalId"] for a in assignments] == [principal]
    assert assignments[0]["properties"]["roleDefinitionId"].endswith(NETWORK_CONTRIBUTOR)
    again = ip(azure_env, resource_group="rg-network")
    assert again["changed"] is False and again["join_permission"]["roles"] == ["Network Contributor"]


def test_an_existing_assignment_of_contributor_satisfies_the_check(arm, azure_env, cluster):
    from tests.support.armapi import CONTRIBUTOR
    arm.add_group("rg-network")
    arm.add_role_assignment(f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-network",
                            cluster["identity"]["principalId"], CONTRIBUTOR)
    res = ip(azure_env, resource_group="rg-network")
    assert not res.failed and res["join_permission"]["roles"] == ["Contributor"]


def test_conflict_throttling_and_missing_cluster(arm, azure_env, cluster):
    arm.faults.add(r"/publicIPAddresses/pip-ingress$", 409, method="PUT",
                   body={"error": {"code": "AnotherOperationInProgress", "message": "Another operation on this "
                                   "or dependent resource is in progress."}})
    res = ip(azure_env)
    assert res.failed and "409" in res["msg"] and "AnotherOperationInProgress" in res["msg"]
    assert "wait and re-run" in res["msg"]
    arm.faults.add(r"/publicIPAddresses/pip-ingress$", 429, method="GET", headers={"Retry-After": "1"},
                   body={"error": {"code": "TooManyRequests", "message": "throttled"}})
    ok = ip(azure_env)
    assert not ok.failed, ok.result
    assert [e.status for e in arm.requests("GET", r"/publicIPAddresses/pip-ingress$")][:2] == [404, 429] or \
        429 in [e.status for e in arm.requests("GET", r"/publicIPAddresses/pip-ingress$")]
    missing = ip(azure_env, cluster_name="nope")
    assert missing.failed and "AKS cluster nope in resource group rg was not found" in missing["msg"]


def test_absent_deletes_then_reports_nothing_and_refuses_when_attached(arm, azure_env, cluster):
    first = ip(azure_env)
    assert ip(azure_env, state="absent", check_mode=True)["changed"] is True and len(arm.public_ips()) == 1
    arm.resources[first["public_ip"]["id"].lower()]["properties"]["ipConfiguration"] = {
        "id": "/subscriptions/x/resourceGroups/MC/providers/Microsoft.Network/loadBalancers/kubernetes/"
              "frontendIPConfigurations/abc"}
    busy = ip(azure_env, state="absent")
    assert busy.failed and "still used by" in busy["msg"] and "loadBalancers/kubernetes" in busy["msg"]
    del arm.resources[first["public_ip"]["id"].lower()]["properties"]["ipConfiguration"]
    gone = ip(azure_env, state="absent")
    assert gone["changed"] is True and arm.public_ips() == [] and gone["public_ip"] is None
    assert ip(azure_env, state="absent")["changed"] is False


def test_secret_never_printed_at_high_verbosity(arm, azure_env, cluster, tmp_path):
    from tests.support.ansible_runner import run_playbook
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "IP", "aksmesh.istio.aks_public_ip": {"name": "pip-ingress", "cluster_resource_group": "rg",
                                                       "cluster_name": "aks", "secret": "app-secret"}}]}]
    run = run_playbook(play, tmp_path, verbosity=4, env=azure_env)
    assert run.rc == 0, run.stdout[-3000:]
    assert "app-secret" not in run.stdout.replace("AZURE_SECRET", "")
