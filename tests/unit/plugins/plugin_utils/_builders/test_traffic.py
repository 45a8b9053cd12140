"""mesh_traffic's route shapes (issue 24): per-route policy and headers, a matched group split by weights, ordered
routes, a DestinationRule alone; and each refusal, named as the user wrote it (``mesh_traffic_services[0]...``)."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.filter.mesh import STAGES

TRAFFIC = dict((stage.name, stage) for stage in STAGES)["traffic_manifests"]
SUBSETS = {"name": "web", "namespace": "shop", "subsets": ["v1", "v2"]}


def objects(*services):
    """{kind: spec} of the one service, through the filter the role uses."""
    return dict((o["kind"], o["spec"]) for o in TRAFFIC(list(services)))


def http(**svc):
    return objects(dict(SUBSETS, **svc))["VirtualService"]["http"]


def to(*subsets, **weights):
    if weights:
        return [{"destination": {"host": "web", "subset": s}, "weight": w} for s, w in sorted(weights.items())]
    return [{"destination": dict({"host": "web"}, **({"subset": subsets[0]} if subsets else {}))}]


def test_a_header_match_split_by_weights_then_everyone_else_on_the_first_subset():
    matched, default = http(canary={"header": {"name": "x-beta", "exact": "yes"}, "weights": {"v1": 50, "v2": 50}})
    assert matched == {"match": [{"headers": {"x-beta": {"exact": "yes"}}}], "route": to(v1=50, v2=50)}
    assert default == {"route": to("v1")}
    cookie, default = http(canary={"cookie": {"name": "beta", "value": "1"}, "weights": {"v1": 30, "v2": 70}},
                           default_subset="v2")
    assert cookie["route"] == to(v1=30, v2=70) and "cookie" in cookie["match"][0]["headers"]
    assert default == {"route": to("v2")}


def test_headers_per_route_and_at_the_service():
    everywhere = {"request": {"set": {"x-team": "shop"}, "remove": ["x-debug"]}, "response": {"add": {"x-by": 1}}}
    matched, default = http(headers=everywhere, canary={
        "header": {"name": "end-user", "exact": "jason"}, "subset": "v2",
        "headers": {"response": {"set": {"x-canary": "yes"}}}})
    assert matched["headers"] == {"response": {"set": {"x-canary": "yes"}}}  # the route's own replaces the service's
    assert default["headers"] == {"request": {"set": {"x-team": "shop"}, "remove": ["x-debug"]},
                                  "response": {"add": {"x-by": "1"}}}
    (only,) = objects({"name": "web", "namespace": "shop", "headers": everywhere})["VirtualService"]["http"]
    assert only["route"] == to() and only["headers"]["request"]["remove"] == ["x-debug"]


def test_ordered_routes_each_with_its_own_match_destination_and_policy():
    first, second, last = http(subsets=["v1", "v2"], retries={"attempts": 2}, routes=[
        {"match": {"header": {"name": "end-user", "exact": "jason"}}, "subset": "v2",
         "fault": {"abort": {"http_status": 418}}},
        {"match": {"uri": {"prefix": "/api/"}, "cookie": {"name": "beta", "value": "1"}}, "weights": {"v1": 80,
                                                                                                      "v2": 20},
         "timeout": "3s", "headers": {"request": {"set": {"x-route": "beta"}}}},
        {"subset": "v1", "retries": {"attempts": 5}}])
    assert first["match"] == [{"headers": {"end-user": {"exact": "jason"}}}] and first["route"] == to("v2")
    assert first["fault"]["abort"]["httpStatus"] == 418 and first["retries"] == {"attempts": 2}
    assert second["match"][0]["uri"] == {"prefix": "/api/"} and "cookie" in second["match"][0]["headers"]
    assert second["route"] == to(v1=80, v2=20) and second["timeout"] == "3s" and "fault" not in second
    assert last == {"route": to("v1"), "retries": {"attempts": 5}}  # no match: takes the rest, no default added
    # the last route matches: the default route (first subset, the service's policy) follows
    routes = http(routes=[{"match": {"header": {"name": "x", "regex": "a.*"}}, "subset": "v2"}], timeout="9s")
    assert routes[1:] == [{"route": to("v1"), "timeout": "9s"}]
    assert "fault" not in routes[1]


def test_subsets_alone_make_a_destination_rule_and_no_virtual_service():
    assert list(objects(dict(SUBSETS, tls_mode="ISTIO_MUTUAL"))) == ["DestinationRule"]
    assert list(objects(SUBSETS)) == ["DestinationRule"]
    # routing asked: a VirtualService; default_subset pins, route policies alone send to the whole Service
    assert http(default_subset="v2") == [{"route": to("v2")}]
    assert http(retries={"attempts": 3}) == [{"route": to(), "retries": {"attempts": 3}}]
    assert http(canary={"weights": {"v1": 100}}) == [{"route": to(v1=100)}]


@pytest.mark.parametrize("svc, message", [
    ({"canary": {"weights": {"v1": 50, "v2": 20}}},
     r"mesh_traffic_services\[0\].canary.weights \(service shop/web\): .* add up to 70; they must add up to 100"),
    ({"canary": {"header": {"name": "x", "exact": "1"}, "weights": {"v1": 50, "v2": 60}}},
     r"mesh_traffic_services\[0\].canary.weights \(service shop/web\): .* must add up to 100"),
    ({"canary": {"weights": {"v1": "half", "v2": 50}}},
     r"mesh_traffic_services\[0\].canary.weights \(service shop/web\): v1: 'half' is not a percentage"),
    ({"canary": {"weights": {"v1": 90, "v3": 10}}},
     r"mesh_traffic_services\[0\].canary.weights \(service shop/web\): subset v3 is not in subsets"),
    ({"canary": {"header": {"name": "x", "exact": "1"}, "subset": "v2", "weights": {"v1": 100}}},
     r"mesh_traffic_services\[0\].canary.weights \(service shop/web\): give subset .* or weights .*, not both"),
    ({"canary": {"header": {"name": "x", "exact": "1"}}},
     r"mesh_traffic_services\[0\].canary \(service shop/web\): the matched requests need a subset or weights"),
    ({"canary": {"weights": {"v1": 100}, "fault": {"abort": {"http_status": 500}}}},
     r"mesh_traffic_services\[0\].canary.fault \(service shop/web\): needs a header or cookie match"),
    ({"canary": {"weights": {"v1": 100}, "headers": {"request": {"set": {"a": "b"}}}}},
     r"mesh_traffic_services\[0\].canary.headers \(service shop/web\): needs a header or cookie match"),
    ({"canary": {"subset": "v2"}}, r"mesh_traffic_services\[0\].canary.subset \(service shop/web\): needs a header"),
    ({"canary": {"header": {"name": "x", "exact": "1", "prefix": "1"}, "subset": "v2"}},
     r"mesh_traffic_services\[0\].canary.header \(service shop/web\): give one of exact, prefix or regex"),
    ({"canary": {"header": {"exact": "1"}, "subset": "v2"}},
     r"mesh_traffic_services\[0\].canary.header \(service shop/web\): missing name"),
    ({"canary": {"cookie": {"value": "1"}, "subset": "v2"}},
     r"mesh_traffic_services\[0\].canary.cookie \(service shop/web\): missing name"),
    ({"canary": {"header": {"name": "Cookie", "regex": "a"}, "cookie": {"name": "b"}, "subset": "v2"}},
     r"mesh_traffic_services\[0\].canary.cookie \(service shop/web\): header matches the Cookie header already"),
    ({"canary": {"headr": {"name": "x"}}}, r"mesh_traffic_services\[0\].canary.headr: unknown key; did you mean "
                                           r"header\?"),
    ({"canary": {"weights": {"v1": 100}}, "routes": [{"subset": "v1"}]},
     r"mesh_traffic_services\[0\].routes \(service shop/web\): give canary or routes, not both"),
    ({"routes": {"subset": "v1"}}, r"mesh_traffic_services\[0\].routes: expected a list, got dict"),
    ({"routes": [{"subset": "v1"}, {"match": {"uri": {"prefix": "/a"}}, "subset": "v2"}]},
     r"mesh_traffic_services\[0\].routes\[0\] \(service shop/web\): has no match and takes every request"),
    ({"routes": [{"match": {}, "subset": "v2"}]},
     r"mesh_traffic_services\[0\].routes\[0\].match \(service shop/web\): give header, cookie or uri"),
    ({"routes": [{"match": {"path": "/a"}, "subset": "v2"}]},
     r"mesh_traffic_services\[0\].routes\[0\].match.path: unknown key; use cookie, header, uri"),
    ({"routes": [{"match": {"uri": {"prefix": "/a"}}, "weights": {"v1": 60, "v2": 60}}]},
     r"mesh_traffic_services\[0\].routes\[0\].weights \(service shop/web\): .* add up to 120"),
    ({"routes": [{"match": {"uri": {"prefix": "/a"}}, "subset": "v9"}]},
     r"mesh_traffic_services\[0\].routes\[0\].subset \(service shop/web\): subset v9 is not in subsets"),
    ({"routes": [{"match": {"uri": {"name": "x", "exact": "/"}}, "subset": "v1"}]},
     r"mesh_traffic_services\[0\].routes\[0\].match.uri.name: unknown key; use exact, prefix, regex"),
    ({"routes": [{"subset": "v1", "fault": {"abort": {"percentage": 5}}}]},
     r"mesh_traffic_services\[0\].routes\[0\].fault.abort.http_status: is missing \(the status, such as 503\)"),
    ({"routes": [{"subset": "v1", "fault": {}}]}, None),  # empty: not given
    ({"routes": [{"subset": "v1", "fault": {"delay": {"percentage": 5}}}]},
     r"mesh_traffic_services\[0\].routes\[0\].fault.delay.fixed: is missing \(the delay, such as 5s\)"),
    ({"routes": [{"subset": "v1", "mirror": {"subset": "v7"}}]},
     r"mesh_traffic_services\[0\].routes\[0\].mirror.subset \(service shop/web\): subset v7 is not in subsets"),
    ({"headers": {"request": {"replace": {"a": "b"}}}},
     r"mesh_traffic_services\[0\].headers.request.replace: unknown key; use add, remove, set"),
    ({"headers": {"requests": {"set": {"a": "b"}}}},
     r"mesh_traffic_services\[0\].headers.requests: unknown key; did you mean request\?"),
    ({"headers": {"request": {"set": ["a"]}}},
     r"mesh_traffic_services\[0\].headers.request.set: expected a mapping, got list \['a'\]"),
    ({"headers": {"response": {"remove": "x-a"}}},
     r"mesh_traffic_services\[0\].headers.response.remove: expected a list, got str 'x-a'"),
    ({"headers": {"response": {}}},
     r"mesh_traffic_services\[0\].headers \(service shop/web\): give request or response"),
    ({"default_subset": "v5"},
     r"mesh_traffic_services\[0\].default_subset \(service shop/web\): subset v5 is not in subsets"),
    ({"retry": {"attempts": 3}},
     r"mesh_traffic_services\[0\].retry: unknown key; did you mean retries\?"),
    ({"subsets": [], "name": "web"}, r"mesh_traffic_services\[0\] \(service shop/web\): sets nothing to apply"),
])
def test_refusals_name_the_place(svc, message):
    if message is None:
        assert objects(dict(SUBSETS, **svc))
        return
    with pytest.raises(AnsibleFilterError, match="^" + message):
        objects(dict(SUBSETS, **svc))


def test_the_index_is_the_entry_at_fault():
    with pytest.raises(AnsibleFilterError, match=r"^mesh_traffic_services\[1\].name: is missing"):
        objects(SUBSETS, {"namespace": "shop"})
    with pytest.raises(AnsibleFilterError, match=r"^mesh_traffic_services\[2\].canary.weights \(service shop/b\)"):
        objects(SUBSETS, dict(SUBSETS, name="a"), dict(SUBSETS, name="b", canary={"weights": {"v1": 1}}))
