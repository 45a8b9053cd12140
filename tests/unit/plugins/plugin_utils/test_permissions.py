"""The permissions table (plugins/plugin_utils/_permissions.py): every stage it names is a stage of the registry,
every kind a stage prunes is one it may own, only the installers may grant RBAC, the verify role only reads, and
docs/rbac.md is the table. Whether the roles are enough is tests/integration/test_rbac.py's: a real run with them."""

import importlib.util
import pathlib

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.filter.rbac import cluster_roles
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _methods, _permissions as perms
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _stages as stages

REPO = pathlib.Path(__file__).resolve().parents[4]


def plural(kind):
    low = kind.lower()
    return low[:-1] + "ies" if low.endswith("y") and low[-2] not in "aeiou" else low + "s"


def test_the_table_names_stages_and_methods_of_the_registry():
    assert set(perms.RULES) <= set(stages.BY_NAME)
    for table in perms.RULES.values():
        assert set(table) - {None} <= set(_methods.BY_NAME)
    # every stage that applies objects needs something of the cluster
    assert set(stages.applying_names()) <= set(perms.RULES)


@pytest.mark.parametrize("method", sorted(_methods.BY_NAME))
def test_every_kind_a_stage_prunes_is_one_it_owns(method):
    for stage in stages.STAGES:
        if stage.methods and method not in stage.methods:
            continue
        for api_version, kind in stage.prune:
            group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
            owned = [r for r in perms.rules(stage.name, method)
                     if r.group == group and plural(kind) in r.resources and set(perms.OWN) <= set(r.verbs)]
            assert owned, (stage.name, method, kind)


def test_only_the_installers_may_grant_rbac_and_verify_only_reads():
    granting = set()
    for name, table in perms.RULES.items():
        for rule_list in table.values():
            if any(set(perms.RBAC_GRANT) & set(r.verbs) for r in rule_list):
                granting.add(name)
    assert granting == {"istio", "istio-helm", "cert-manager", "addons"}
    verify = perms.cluster_roles("istioctl")[-1]
    assert verify["metadata"]["name"] == "aksmesh-istio:verify"
    assert {v for rule in verify["rules"] for v in rule["verbs"]} == set(perms.READ)


def test_needed_names_the_stage_and_the_role_of_each_rule():
    needs = perms.needed(["secrets", "istio", "mtls", "preflight"], "aks_addon")
    assert {n["stage"] for n in needs} == {"secrets", "istio", "mtls"}  # the pre-flight reads Azure only
    assert {n["cluster_role"] for n in needs if n["stage"] == "istio"} == {"aksmesh-istio:istio:aks_addon"}
    assert {n["cluster_role"] for n in needs if n["stage"] == "mtls"} == {"aksmesh-istio:mtls"}
    istioctl = perms.needed(["istio"], "istioctl")
    assert any("escalate" in n["verbs"] for n in istioctl)
    assert not any("escalate" in n["verbs"] for n in needs)  # the add-on's control plane is AKS's


def settings(method="istioctl", running=("secrets", "istio", "mtls", "cert-manager")):
    return {"control_plane": {"name": method},
            "stages": {s.name: {"enabled": s.name in running} for s in stages.STAGES}}


def test_the_filter_binds_the_roles_of_the_stages_that_run():
    out = cluster_roles(settings(), subjects=[{"kind": "Group", "name": "runners"}],
                        verify_subjects=[{"kind": "ServiceAccount", "name": "drift", "namespace": "awx"}],
                        skip_stages=["cert-manager"])
    assert out["kind"] == "List"
    bindings = {i["metadata"]["name"]: i for i in out["items"] if i["kind"] == "ClusterRoleBinding"}
    assert set(bindings) == {"aksmesh-istio:secrets", "aksmesh-istio:istio:istioctl", "aksmesh-istio:mtls",
                             "aksmesh-istio:verify"}
    assert bindings["aksmesh-istio:mtls"]["subjects"] == [
        {"kind": "Group", "name": "runners", "apiGroup": "rbac.authorization.k8s.io"}]
    assert bindings["aksmesh-istio:verify"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "drift", "namespace": "awx"}]
    roles = [i["metadata"]["name"] for i in out["items"] if i["kind"] == "ClusterRole"]
    assert "aksmesh-istio:cert-manager" in roles and "aksmesh-istio:istio:aks_addon" not in roles
    assert "aksmesh-istio:istio-helm" not in roles  # the Helm method's stage


@pytest.mark.parametrize("subject, error", [
    ({"kind": "user", "name": "x"}, r"aksmesh_rbac_subjects\[0\]: expected a mapping with kind"),
    ({"kind": "User"}, "expected a mapping with kind"),
    ({"kind": "User", "name": "x", "nmespace": "y"}, "unknown key nmespace"),
    ({"kind": "ServiceAccount", "name": "x"}, "a ServiceAccount subject needs its namespace"),
    ({"kind": "User", "name": "x", "namespace": "y"}, "a User or Group has none"),
    ("runner", "expected a mapping"),
])
def test_a_bad_subject_is_refused_by_name(subject, error):
    with pytest.raises(AnsibleFilterError, match=error):
        cluster_roles(settings(), subjects=[subject])


def test_docs_rbac_md_is_the_table():
    spec = importlib.util.spec_from_file_location("rbac_doc", REPO / "tools" / "rbac_doc.py")
    doc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(doc)
    assert (REPO / "docs" / "rbac.md").read_text() == doc.table(), "docs/rbac.md is stale: run make docs"


def test_a_run_checks_the_permissions_of_the_stages_its_tags_select():
    from ansible_collections.aksmesh.istio.plugins.filter.rbac import run_permissions
    needs = perms.needed(["secrets", "istio", "mtls", "traffic", "analyze"], "istioctl")

    def chosen(*args, **kwargs):
        return sorted({n["stage"] for n in run_permissions(needs, *args, **kwargs)})
    assert chosen(["all"], []) == ["analyze", "istio", "mtls", "secrets", "traffic"]
    assert chosen(["traffic"], []) == ["analyze", "traffic"]  # the analysis runs with every stage that changes
    assert chosen(["mesh"], ["traffic"]) == ["mtls"]  # the analysis carries the traffic tag too: skipped
    assert chosen(["all"], ["addons", "mtls"]) == ["istio", "secrets", "traffic"]
    assert chosen(["all"], [], ["istio"]) == ["analyze", "mtls", "secrets", "traffic"]
    assert chosen(["always"], []) == []  # no stage of these is tagged always (the credentials and access stages are)
    assert stages.selected(stages.get("access"), ["traffic"], []) and not stages.selected(
        stages.get("access"), ["all"], ["always"])
    with pytest.raises(AnsibleFilterError, match="run_permissions"):
        run_permissions([{"stage": "nope"}], ["all"], [])
