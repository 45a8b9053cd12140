"""A fleet as AWX runs it (issue 26 section 6): inventory/fleet.azure_kql.yml lists the AKS clusters that Azure
Resource Graph finds, through azure.azcollection's azure_kql inventory plugin, each with the settings that name it.
The loopback ARM answers Resource Graph (POST /providers/Microsoft.ResourceGraph/resources) and Entra under their
public names, through its tunnel (HTTPS_PROXY): the Resource Graph client's endpoint is fixed to
management.azure.com."""

import json
import os
import site
import subprocess

import pytest
import yaml

from tests.support.ansible_runner import REPO, TOOLS_BIN, base_env
from tests.support.armapi import SUBSCRIPTION, TENANT

FLEET = REPO / "inventory" / "fleet.azure_kql.yml"


def seed(arm):
    arm.add_cluster("rg-weu", "shop-weu", tags={"aksmesh": "managed", "aksmesh_ring": "canary"})
    arm.add_cluster("rg-neu", "shop-neu", location="northeurope", kubernetes_version="1.33.2",
                    tags={"aksmesh": "managed"})
    arm.add_cluster("rg-data", "data", tags={"team": "data"})  # not managed by the mesh: not listed


def fleet_env(arm):
    """What an AWX "Microsoft Azure Resource Manager" credential injects, and the way to the loopback ARM."""
    return {"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION, "AZURE_CLIENT_ID": "app-id", "AZURE_SECRET": "app-secret",
            "AZURE_TENANT": TENANT, "REQUESTS_CA_BUNDLE": arm.ca_path, "HTTPS_PROXY": arm.tunnel.url,
            "NO_PROXY": ""}


def test_resource_graph_answers_the_fleet_query_as_the_sdk_reads_it(arm, monkeypatch):
    graph = pytest.importorskip("azure.mgmt.resourcegraph", reason="azure-mgmt-resourcegraph (azure.azcollection's "
                                                                   "requirements) is not installed")
    from azure.identity import ClientSecretCredential
    seed(arm)
    for key, value in fleet_env(arm).items():
        monkeypatch.setenv(key, value)
    credential = ClientSecretCredential(TENANT, "app-id", "app-secret")
    try:
        client = graph.ResourceGraphClient(credential)
    except TypeError:  # 8.1.0b4 and later take a subscription id; azure.azcollection pins 8.1.0b3
        client = graph.ResourceGraphClient(credential, SUBSCRIPTION)
    query = yaml.safe_load(FLEET.read_text())["graph_query"]
    result = client.resources(graph.models.QueryRequest(
        query=query, options=graph.models.QueryRequestOptions(result_format="objectArray")))
    assert result.data == [
        {"inventory_hostname": "shop-neu", "resource_group": "rg-neu", "location": "northeurope",
         "subscription_id": SUBSCRIPTION, "kubernetes_version": "1.33.2", "provisioning_state": "Succeeded",
         "tags": {"aksmesh": "managed"}},
        {"inventory_hostname": "shop-weu", "resource_group": "rg-weu", "location": "westeurope",
         "subscription_id": SUBSCRIPTION, "kubernetes_version": "1.32.4", "provisioning_state": "Succeeded",
         "tags": {"aksmesh": "managed", "aksmesh_ring": "canary"}}]
    # the SDK went to the public names, the token first
    assert arm.tunnel.hosts[0] == "login.microsoftonline.com:443" and "management.azure.com:443" in arm.tunnel.hosts
    assert arm.requests("POST", r"^/providers/Microsoft\.ResourceGraph/resources$")[0].status == 200


def test_a_query_the_loopback_graph_does_not_take_is_refused(arm, monkeypatch):
    graph = pytest.importorskip("azure.mgmt.resourcegraph")
    from azure.core.exceptions import HttpResponseError
    from azure.identity import ClientSecretCredential
    for key, value in fleet_env(arm).items():
        monkeypatch.setenv(key, value)
    credential = ClientSecretCredential(TENANT, "app-id", "app-secret")
    try:
        client = graph.ResourceGraphClient(credential)
    except TypeError:
        client = graph.ResourceGraphClient(credential, SUBSCRIPTION)
    with pytest.raises(HttpResponseError, match="InvalidQuery|BadRequest"):
        client.resources(graph.models.QueryRequest(query="Resources | summarize count() by location"))


# azure.azcollection's requirements (its requirements.txt, as an execution environment carries them: azure-cli-core, msgraph, pandas,
# azure-mgmt-resourcegraph 8.1.0b3, ...) with the pinned ansible-core, in a venv make tools caches beside the tools
AZCOLLECTION_PYTHON = TOOLS_BIN / "azcollection-python"
# the collection itself, where the ansible package put it (the dev venv; the minimum venv has ansible-core alone)
AZCOLLECTION_HOME = [p for p in site.getsitepackages() if os.path.isdir(os.path.join(p, "ansible_collections/azure"))]


@pytest.mark.skipif(not AZCOLLECTION_PYTHON.exists(), reason="the venv of azure.azcollection's Python requirements "
                    "is not built: run make tools (its azcollection entry)")
@pytest.mark.skipif(not AZCOLLECTION_HOME, reason="azure.azcollection is not installed beside this Python (the ansible "
                    "package brings it: the dev venv)")
def test_the_fleet_inventory_lists_each_managed_cluster_with_its_azure_names(arm, tmp_path):
    """ansible-inventory with azure.azcollection's azure_kql plugin, in the venv of the collection's requirements
    (the collection itself from the dev venv, where the ansible package put it)."""
    seed(arm)
    env = base_env(fleet_env(arm))
    env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([env["ANSIBLE_COLLECTIONS_PATH"], *AZCOLLECTION_HOME])
    proc = subprocess.run([str(AZCOLLECTION_PYTHON), "-m", "ansible.cli.inventory", "-i", str(FLEET), "--list"],
                          env=env, capture_output=True, text=True, timeout=300, cwd=str(tmp_path), check=False)
    assert proc.returncode == 0 and "Failed to parse" not in proc.stderr, proc.stderr[-3000:]
    # ansible-core marks the values the inventory plugin templated (compose:) as unsafe in its JSON
    listed = json.loads(proc.stdout, object_hook=lambda obj: obj.get("__ansible_unsafe", obj)
                        if list(obj) == ["__ansible_unsafe"] else obj)
    hosts = listed["_meta"]["hostvars"]
    assert sorted(hosts) == ["shop-neu", "shop-weu"]
    for name, group in (("shop-weu", "rg-weu"), ("shop-neu", "rg-neu")):
        assert hosts[name]["aksmesh_target"] == "cluster"
        assert hosts[name]["aksmesh_resource_group"] == group and hosts[name]["aksmesh_cluster_name"] == name
    assert listed["ring_canary"]["hosts"] == ["shop-weu"] and listed["ring_none"]["hosts"] == ["shop-neu"]
    assert sorted(listed["location_westeurope"]["hosts"]) == ["shop-weu"]
