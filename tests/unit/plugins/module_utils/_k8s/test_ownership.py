from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import ownership as own

LIVE = {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", "other": "x"}, "managedFields": [
        {"manager": "aksmesh", "operation": "Apply", "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:ports": {'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:name": {}, "f:port": {}}},
                       "f:selector": {"f:app": {}}}}},
        {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:metadata": {"f:labels": {"f:other": {}}}}}]},
    "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}],
             "selector": {"app": "web"}, "clusterIP": "10.0.0.1"},
}
DESIRED = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop",
                                                               "labels": {"app": "web"}},
           "spec": {"ports": [{"name": "http", "port": 80}], "selector": {"app": "web"}}}


def test_unchanged_when_owned_fields_match_with_defaulted_key():
    assert own.unchanged(DESIRED, LIVE, "aksmesh")


def test_changed_value_new_field_dropped_field_or_other_manager():
    changed = dict(DESIRED, spec={"ports": [{"name": "http", "port": 80}], "selector": {"app": "api"}})
    assert not own.unchanged(changed, LIVE, "aksmesh")
    added = dict(DESIRED, spec=dict(DESIRED["spec"], type="LoadBalancer"))
    assert not own.unchanged(added, LIVE, "aksmesh")
    dropped = dict(DESIRED, metadata={"name": "web", "namespace": "shop"})
    assert not own.unchanged(dropped, LIVE, "aksmesh")  # the server would remove our label
    assert not own.unchanged(DESIRED, LIVE, "someone-else")
    assert not own.unchanged(DESIRED, None, "aksmesh")


def test_identity_only_object_is_unchanged_without_entry():
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}
    assert own.unchanged(ns, dict(ns, metadata={"name": "a", "uid": "1"}), "aksmesh")


def test_prune_like_cuts_live_to_the_definition():
    assert own.prune_like(LIVE, DESIRED)["spec"] == {"ports": LIVE["spec"]["ports"], "selector": {"app": "web"}}
    assert "managedFields" not in own.prune_like(LIVE, DESIRED)["metadata"]


def test_what_a_real_api_server_records_is_in_place():
    """Shapes seen on kube-apiserver 1.35: atomic maps owned as one field, nulls not recorded, zero values of
    omitempty fields owned but not stored."""
    desired = {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "d", "namespace": "n", "annotations": {}},
               "spec": {"selector": {"matchLabels": {"app": "d"}},
                        "strategy": {"rollingUpdate": None, "type": "Recreate"},
                        "template": {"spec": {"containers": [{"name": "c", "volumeMounts": [
                            {"mountPath": "/data", "name": "v", "subPath": "", "readOnly": False}]}]}}}}
    owned = {"f:metadata": {"f:annotations": {}},
             "f:spec": {"f:selector": {}, "f:strategy": {"f:type": {}}, "f:template": {"f:spec": {"f:containers": {
                 'k:{"name":"c"}': {".": {}, "f:name": {}, "f:volumeMounts": {'k:{"mountPath":"/data"}': {
                     ".": {}, "f:mountPath": {}, "f:name": {}, "f:subPath": {}, "f:readOnly": {}}}}}}}}}
    mounts = [{"mountPath": "/data", "name": "v"}]
    live = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "n", "managedFields": [
                {"manager": "aksmesh", "operation": "Apply", "fieldsV1": owned}]},
            "spec": {"selector": {"matchLabels": {"app": "d"}}, "strategy": {"type": "Recreate"},
                     "template": {"spec": {"containers": [{"name": "c", "volumeMounts": mounts}]}}}}
    assert own.unchanged(desired, live, "aksmesh")
    live["spec"]["selector"]["matchLabels"]["app"] = "other"
    assert not own.unchanged(desired, live, "aksmesh")


def test_drift_names_the_field_the_values_and_who_holds_it_now():
    import copy
    live = copy.deepcopy(LIVE)
    live["spec"]["selector"] = {"app": "api"}
    live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"].pop("f:selector")
    live["metadata"]["managedFields"].append({"manager": "kubectl-patch", "operation": "Update", "fieldsV1": {
        "f:spec": {"f:selector": {"f:app": {}}}}})
    assert own.drift(DESIRED, live, "aksmesh") == [{
        "path": ".spec.selector.app", "desired": "web", "live": "api", "managers": ["kubectl-patch (Update)"]}]
    # a keyed list item's field, removed by someone: no manager holds it (the server dropped ours; owning the
    # item's existence, its ".", is no hold on its fields)
    gone = copy.deepcopy(LIVE)
    del gone["spec"]["ports"][0]["name"]
    del gone["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:ports"]['k:{"port":80,"protocol":"TCP"}'][
        "f:name"]
    (found,) = own.drift(DESIRED, gone, "aksmesh")
    assert found["path"] == '.spec.ports[port=80,protocol="TCP"].name' and found["live"] is None
    assert found["managers"] == [] and not own.pending(found, "aksmesh")
    # nothing drifted: in place (server defaults and extra fields are no drift), or missing altogether
    assert own.drift(DESIRED, LIVE, "aksmesh") == [] and own.drift(DESIRED, None, "aksmesh") == []


def test_a_field_the_collection_alone_holds_is_a_pending_change_not_drift():
    """The inventory changed a field the collection applied earlier: its own manager holds the live value."""
    import copy
    changed = copy.deepcopy(DESIRED)
    changed["spec"]["selector"] = {"app": "api"}
    (found,) = own.drift(changed, LIVE, "aksmesh")
    assert found == {"path": ".spec.selector.app", "desired": "api", "live": "web", "managers": ["aksmesh (Apply)"]}
    assert own.pending(found, "aksmesh") and not own.pending(found, "other")
    assert own.drift_text([found], "aksmesh") == ""  # no drift to tell of
    # held by another manager as well (both applied "web"): the other one is named, the collection is not
    shared = copy.deepcopy(LIVE)
    shared["metadata"]["managedFields"].append({"manager": "gitops", "operation": "Apply", "fieldsV1": {
        "f:spec": {"f:selector": {"f:app": {}}}}})
    (found,) = own.drift(changed, shared, "aksmesh")
    assert found["managers"] == ["aksmesh (Apply)", "gitops (Apply)"] and not own.pending(found, "aksmesh")
    assert own.drift_text([found], "aksmesh") == '.spec.selector.app: live "web" (set by gitops (Apply)), desired "api"'
    assert own.others(found["managers"], "aksmesh") == ["gitops (Apply)"]
    assert own.others(["aksmesh-restart (Apply)"], "aksmesh") == ["aksmesh-restart (Apply)"]


def test_drift_text_tells_each_drifted_field_in_json_and_cuts_long_values():
    drifted = [{"path": ".data.k", "desired": "v", "live": None, "managers": []},
               {"path": ".spec.http", "desired": ["x" * 400], "live": [{"a": 1}],
                "managers": ["kubectl-patch (Update)"]},
               {"path": ".spec.hosts", "desired": ["a"], "live": ["b"], "managers": ["aksmesh (Apply)"]}]
    text = own.drift_text(drifted, "aksmesh")
    first, second = text.split("; ")
    assert first == '.data.k: live null (removed), desired "v"'
    assert second.startswith('.spec.http: live [{"a": 1}] (set by kubectl-patch (Update)), desired ["xxx')
    assert second.endswith("...") and len(second) < 400 and ".spec.hosts" not in text


def test_a_field_path_reads_as_the_api_server_writes_it():
    assert own.path_text((("f", "spec"), ("f", "http"))) == ".spec.http"
    assert own.path_text((("f", "spec"), ("f", "ports"), ("k", '{"port":80,"protocol":"TCP"}'), ("f", "name"))) == \
        '.spec.ports[port=80,protocol="TCP"].name'
    assert own.path_text((("f", "spec"), ("f", "hosts"), ("v", '"a"'))) == '.spec.hosts[="a"]'
