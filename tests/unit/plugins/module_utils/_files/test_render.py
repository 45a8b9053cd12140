"""Unit tests for _files.render: objects to files, what changes, what is pruned."""

import os

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._files import render


def obj(kind, name, namespace=None):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "v1", "kind": kind, "metadata": meta}


def test_file_names_are_safe_and_name_the_scope():
    assert render.file_name(obj("ConfigMap", "A_b", "shop")) == "configmap-shop-a-b.yaml"
    assert render.file_name(obj("Namespace", "shop")) == "00-namespace--cluster-shop.yaml"  # sorts first in its folder


def test_plan_writes_new_keeps_same_and_prunes_only_this_stage(tmp_path):
    folder = str(tmp_path)
    objs = [obj("ConfigMap", "a", "shop"), obj("Secret", "s", "shop")]
    write, remove, same = render.plan(objs, folder, "mesh")
    assert sorted(os.path.basename(p) for p in write) == ["configmap-shop-a.yaml", "secret-shop-s.yaml"]
    assert sorted(mode for _text, mode, _current in write.values()) == [0o600, 0o644]
    assert remove == [] and same == []
    render.execute(write, remove)
    (tmp_path / "other.yaml").write_text(render.MARKER % "other")
    write, remove, same = render.plan(objs[:1], folder, "mesh")
    assert write == {} and len(same) == 1 and remove == [os.path.join(folder, "secret-shop-s.yaml")]


def test_two_objects_in_one_file_are_refused(tmp_path):
    with pytest.raises(ValueError, match="two objects render to"):
        render.plan([obj("ConfigMap", "a", "shop"), obj("ConfigMap", "A", "shop")], str(tmp_path), "mesh")


@pytest.mark.parametrize("stage", ["..", ".", "../etc", "a/b", "", "-x", ".hidden", "mtls/..", "ü"])
def test_a_stage_that_is_not_a_plain_name_is_refused(stage):
    """stage: '..' wrote the files outside dest."""
    assert "is not a plain folder name" in render.stage_problem(stage)


@pytest.mark.parametrize("stage", ["mtls", "20-mtls", "v1.2", "Gateways"])
def test_plain_stage_names_are_taken(stage):
    assert render.stage_problem(stage) is None
