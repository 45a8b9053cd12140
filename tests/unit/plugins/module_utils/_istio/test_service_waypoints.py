"""Unit tests for _istio.service_waypoints: the Services of an ambient namespace labelled for a waypoint of their own
(the injection module's namespaces[].service_waypoints), the label taken back from the Services the collection
labelled, pending Services, drift and races, over a scripted API server; and the waypoints' Gateways (the
injection_waypoints filter). The real istiod deploys them in tests/integration/test_ambient.py."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import injection
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import service_waypoints as sw
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError

LIST = "/api/v1/namespaces/shop/services"
LABEL = "istio.io/use-waypoint"
REVIEWS = [{"name": "reviews-waypoint", "services": ["reviews"]}]


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, check_mode=False, mode="ambient", force=False):
        self.params = {"dataplane_mode": mode, "force_conflicts": force}
        self.check_mode = check_mode

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


def svc(name, waypoint=None, manager=None, version="5"):
    meta = {"name": name, "namespace": "shop", "labels": {LABEL: waypoint} if waypoint else {},
            "resourceVersion": version}
    if manager:
        meta["managedFields"] = [{"manager": manager, "operation": "Update", "apiVersion": "v1",
                                  "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {
                                      "f:" + LABEL: {}}}}}]
    return {"metadata": meta}


class Api:
    def __init__(self, services, writes=()):
        self.services, self.writes, self.sent = list(services), list(writes), []

    def request(self, method, path, query=None, body=None, content_type="application/json", ok_missing=False):
        self.sent.append((method, path, body))
        if method == "GET":
            if path == LIST:
                return {"items": self.services}
            return next((s for s in self.services if path.endswith("/" + s["metadata"]["name"])), None)
        answer = self.writes.pop(0) if self.writes else None
        if answer is not None:
            raise answer
        return {}


def entries(service_waypoints=None, state="present"):
    return [{"name": "shop", "state": state,
             "service_waypoints": REVIEWS if service_waypoints is None else service_waypoints}]


def patches(api):
    return [(path.rsplit("/", 1)[-1], body["metadata"]["labels"][LABEL]) for method, path, body in api.sent
            if method == "PATCH"]


def test_a_listed_service_is_labelled_and_a_missing_one_is_pending():
    api = Api([svc("reviews"), svc("ratings")])
    out = sw.label(FakeModule(), api, entries([{"name": "reviews-waypoint", "services": ["reviews", "details"]}]),
                   "aksmesh")
    assert out == [{"waypoint": "reviews-waypoint", "action": "labelled", "namespace": "shop", "name": "reviews"},
                   {"namespace": "shop", "name": "details", "waypoint": "reviews-waypoint", "action": "pending"}]
    assert patches(api) == [("reviews", "reviews-waypoint")]
    # the patch carries the resourceVersion it was computed from
    assert api.sent[1][2]["metadata"]["resourceVersion"] == "5"


def test_a_service_labelled_as_wanted_is_unchanged_and_check_mode_writes_nothing():
    api = Api([svc("reviews", "reviews-waypoint", "aksmesh")])
    assert [s["action"] for s in sw.label(FakeModule(), api, entries(), "aksmesh")] == ["unchanged"]
    api = Api([svc("reviews")])
    assert [s["action"] for s in sw.label(FakeModule(check_mode=True), api, entries(), "aksmesh")] == ["labelled"]
    assert patches(api) == []


def test_the_label_is_taken_back_only_from_the_services_the_collection_labelled():
    api = Api([svc("reviews", "reviews-waypoint", "aksmesh"), svc("ratings", "their-waypoint", "kubectl-label")])
    out = sw.label(FakeModule(), api, entries([]), "aksmesh")
    assert out == [{"waypoint": None, "action": "unlabelled", "namespace": "shop", "name": "reviews"}]
    assert patches(api) == [("reviews", None)]
    # an absent namespace entry takes back every label of the collection's there
    api = Api([svc("reviews", "reviews-waypoint", "aksmesh")])
    assert [s["action"] for s in sw.label(FakeModule(), api, entries(state="absent"), "aksmesh")] == ["unlabelled"]


def test_sidecar_mode_reads_no_service():
    api = Api([svc("reviews", "reviews-waypoint", "aksmesh")])
    assert sw.label(FakeModule(mode="sidecar"), api, entries(), "aksmesh") == [] and api.sent == []


def test_a_label_another_manager_changed_is_drift():
    live = svc("reviews", "their-waypoint", "kubectl-label")
    with pytest.raises(Failed) as failed:
        sw.label(FakeModule(), Api([live]), entries(), "aksmesh")
    msg = failed.value.args[0]["msg"]
    assert msg.startswith("Service shop/reviews: its waypoint label was changed by another field manager: "
                          '.metadata.labels.istio.io/use-waypoint: live "their-waypoint" (set by kubectl-label'), msg
    (drifted,) = sw.label(FakeModule(check_mode=True), Api([live]), entries(), "aksmesh")
    assert drifted["action"] == "drifted" and drifted["drift"][0]["desired"] == "reviews-waypoint"
    api = Api([live])
    assert [s["action"] for s in sw.label(FakeModule(force=True), api, entries(), "aksmesh")] == ["labelled"]
    assert patches(api) == [("reviews", "reviews-waypoint")]


def test_a_service_changed_meanwhile_is_read_again():
    api = Api([svc("reviews")], writes=[K8sApiError(409, "Conflict", "the object has been modified")])
    assert [s["action"] for s in sw.label(FakeModule(), api, entries(), "aksmesh")] == ["labelled"]
    assert [m for m, _p, _b in api.sent] == ["GET", "PATCH", "GET", "PATCH"]


@pytest.mark.parametrize("given, path, why", [
    ([{"name": "waypoint", "services": ["reviews"]}], "[0].service_waypoints[0].name",
     "waypoint is the namespace waypoint's name (waypoint: true); name this one after its Services, for example "
     "reviews-waypoint"),
    ([{"name": "Reviews", "services": ["reviews"]}], "[0].service_waypoints[0].name", "'Reviews' is not"),
    (REVIEWS + REVIEWS, "[0].service_waypoints[1].name", "reviews-waypoint is listed twice"),
    ([{"name": "a", "services": ["reviews"]}, {"name": "b", "services": ["reviews"]}], "[0].service_waypoints[1].services",
     "reviews goes through a already; a Service has one waypoint"),
    ([{"name": "a", "services": []}], "[0].service_waypoints[0].services", "is empty"),
])
def test_service_waypoints_that_cannot_be_are_refused_by_name(given, path, why):
    ((where, message),) = sw.problems(entries(given), "ambient")[:1]
    assert where == path and message.startswith(why), message
    with pytest.raises(MeshConfigError) as refused:
        injection.waypoints(entries(given), "", "ambient")
    assert refused.value.path == path


def test_sidecar_mode_refuses_service_waypoints():
    assert sw.problems(entries(), "sidecar") == [(
        "[0].service_waypoints", "waypoints are for the ambient data plane (aksmesh_dataplane_mode: ambient); a sidecar "
                                 "proxies L7 itself: remove service_waypoints")]


def test_each_service_waypoint_is_a_gateway_of_its_own_beside_the_namespaces():
    gateways = injection.waypoints([{"name": "shop", "waypoint": True, "service_waypoints": REVIEWS}], "1-31",
                                   "ambient")
    assert [(g["metadata"]["namespace"], g["metadata"]["name"], g["spec"]["gatewayClassName"]) for g in gateways] == [
        ("shop", "waypoint", "istio-waypoint"), ("shop", "reviews-waypoint", "istio-waypoint")]
    assert gateways[1]["metadata"]["labels"]["istio.io/waypoint-for"] == "service"
    assert gateways[1]["metadata"]["labels"]["istio.io/rev"] == "1-31"
    assert gateways[1]["spec"]["listeners"] == [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]
