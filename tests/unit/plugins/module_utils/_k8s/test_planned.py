"""Unit tests for _k8s.planned: what a check-mode run hands from one task to the next."""

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import planned

CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "peerauthentications.security.istio.io"},
       "spec": {"group": "security.istio.io", "names": {"kind": "PeerAuthentication"}}}


def test_from_params_reads_the_option_and_tolerates_its_absence():
    plan = planned.Planned.from_params({"planned": {"namespaces": ["shop"], "kinds": ["a.io/*"]}})
    assert plan.has_namespace("shop") and not plan.has_namespace("other")
    assert plan.has_kind("a.io/v1", "Anything") and not plan.has_kind("b.io/v1", "Anything")
    assert planned.Planned.from_params({"planned": None}).result() == {"namespaces": [], "kinds": []}


def test_missing_namespaces_and_crds_are_planned_existing_ones_are_not():
    plan = planned.Planned()
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}
    plan.add_missing([(namespace, None), (CRD, None),
                      ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "live"}}, {"kind": "Namespace"}),
                      ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, None)])
    assert plan.result() == {"namespaces": ["istio-system"], "kinds": ["security.istio.io/PeerAuthentication"]}
    assert plan.has_kind("security.istio.io/v1", "PeerAuthentication")
    assert plan.has_kind("security.istio.io/v1beta1", "PeerAuthentication")  # any version of the group
    assert not plan.has_kind("security.istio.io/v1", "AuthorizationPolicy")


def test_groups_plan_every_kind_of_the_group():
    plan = planned.Planned()
    plan.add_groups(planned.ISTIO_GROUPS)
    assert plan.has_kind("networking.istio.io/v1", "Gateway") and plan.has_kind("telemetry.istio.io/v1", "Telemetry")
    assert not plan.has_kind("v1", "Service")


def test_changes_name_each_object_and_what_would_happen_to_it():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}
    assert planned.changes([(CRD, None), (cm, {"kind": "ConfigMap"})]) == [
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "namespace": None,
         "name": "peerauthentications.security.istio.io", "action": "create"},
        {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "n", "name": "c", "action": "configure"}]
