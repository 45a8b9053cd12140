"""The harness's own merge and ownership rules, checked directly."""

import pytest

from tests.support.kubeapi import fieldsets as fs
from tests.support.kubeapi.merge import apply_merge, json_merge_patch, strategic_merge_patch
from tests.support.kubeapi.registry import META_MERGE_KEYS, POD_MERGE_KEYS
from tests.support.kubeapi.selectors import parse_field_selector, parse_label_selector

KEYS = fs.ListKeys(POD_MERGE_KEYS, META_MERGE_KEYS)


def test_label_selector_grammar():
    match = parse_label_selector("app=web,tier!=db,env in (prod, stage),!legacy,team")
    assert match({"app": "web", "env": "prod", "team": "x"})
    assert not match({"app": "web", "env": "dev", "team": "x"})
    assert not match({"app": "web", "env": "prod", "team": "x", "legacy": "1"})
    with pytest.raises(ValueError):
        parse_label_selector("app in prod")


def test_field_selector_only_knows_name_and_namespace():
    assert parse_field_selector("metadata.name=a")({"metadata": {"name": "a"}})
    with pytest.raises(ValueError):
        parse_field_selector("spec.nodeName=x")


def test_json_merge_patch_removes_nulls():
    assert json_merge_patch({"a": 1, "b": {"c": 2}}, {"a": None, "b": {"d": 3}}) == {"b": {"c": 2, "d": 3}}


def test_strategic_merge_patch_directives():
    live = {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}}
    patch = {"spec": {"$setElementOrder/containers": [{"name": "a"}],
                      "containers": [{"name": "b", "$patch": "delete"}, {"name": "a", "image": "2"}]}}
    assert strategic_merge_patch(live, patch, KEYS) == {"spec": {"containers": [{"name": "a", "image": "2"}]}}


def test_field_paths_and_fieldsv1_round_trip():
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1"}},
           "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}]}]}}
    paths = fs.field_paths(obj, KEYS)
    assert ("metadata", "labels", "a") in paths and ("metadata", "name") not in paths
    item = ("spec", "containers", ("k", '{"name":"c"}'))
    assert item + (fs.DOT,) in paths and item + ("image",) in paths
    assert fs.from_fieldsv1(fs.to_fieldsv1(paths)) == paths
    assert fs.path_to_string(item + ("image",)) == '.spec.containers[name="c"].image'


def test_ports_without_protocol_match_defaulted_ports():
    live = {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}
    cfg = {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}}
    assert apply_merge(live, cfg, KEYS) == live


def test_delete_at_prunes_empty_parents():
    obj = {"metadata": {"labels": {"a": "1"}}, "spec": {"x": {"y": 1}}}
    fs.delete_at(obj, ("spec", "x", "y"))
    fs.delete_at(obj, ("metadata", "labels", "a"))
    assert obj == {"metadata": {}, "spec": {}}
