import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import manifests as m


def test_expand_yaml_text_lists_and_order(tmp_path):
    text = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
---
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: cm}}
  - {apiVersion: v1, kind: Namespace, metadata: {name: ns}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: x.example.com}
"""
    objs = m.normalize(m.expand([text]))
    assert [o["kind"] for o in m.ordered(objs)] == ["Namespace", "CustomResourceDefinition", "ConfigMap",
                                                    "VirtualService"]
    assert [o["kind"] for o in m.ordered(objs, reverse=True)][0] == "VirtualService"
    assert [o["kind"] for o in m.ordered(objs, by_kind=False)][0] == "VirtualService"


def test_files_and_directories_recursively(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (tmp_path / "sub" / "b.yml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n")
    (tmp_path / "notes.txt").write_text("ignored")
    names = [o["metadata"]["name"] for o in m.normalize(m.expand(m.load_paths([str(tmp_path)])))]
    assert names == ["a", "b"]
    with pytest.raises(m.ManifestError, match="does not exist"):
        m.load_paths([str(tmp_path / "missing")])


def test_every_invalid_document_is_named_and_server_fields_dropped():
    with pytest.raises(m.ManifestError) as err:
        m.normalize(m.expand([[{"kind": "ConfigMap", "metadata": {"name": "a"}}, "just text",
                               {"apiVersion": "v1", "kind": "Secret", "metadata": {}}]]))
    assert "lacks apiVersion" in str(err.value) and "not a mapping" in str(err.value)
    assert "lacks metadata.name" in str(err.value)
    (obj,) = m.normalize(m.expand([{"apiVersion": "v1", "kind": "ConfigMap", "status": {},
                                    "metadata": {"name": "a", "resourceVersion": "9", "uid": "u"}}]))
    assert obj == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
    with pytest.raises(m.ManifestError, match="not valid YAML"):
        m.expand(["a: [b"])


@pytest.mark.parametrize("text,needle", [
    ("kind: ConfigMap\nmetadata: {name: a}\ndata:\n  mode: STRICT\n  mode: DISABLE\n",
     "definitions document 1 has the key 'mode' twice (lines 4 and 5); YAML would keep only the last value"),
    ("kind: ConfigMap\n---\nkind: Secret\nkind: ConfigMap\n", "definitions document 2 has the key 'kind' twice"),
    ("a: 1\n---\n---\nb: 1\nb: 2\n", "document 3 has the key 'b' twice"),
])
def test_a_key_given_twice_is_refused_naming_the_document_and_the_key(text, needle):
    """Duplicate keys in YAML definitions silently took the last value."""
    with pytest.raises(m.ManifestError) as err:
        m.expand([text])
    assert needle in str(err.value)


def test_merge_keys_may_override_and_files_name_themselves(tmp_path):
    assert m.load_text("base: &b {x: 1, y: 2}\nover:\n  <<: *b\n  x: 3\n")[0]["over"] == {"x": 3, "y": 2}
    path = tmp_path / "cm.yaml"
    path.write_text("kind: ConfigMap\nkind: Secret\n")
    with pytest.raises(m.ManifestError) as err:
        m.load_paths([str(path)])
    assert str(err.value).startswith("%s document 1 has the key 'kind' twice" % path)


@pytest.mark.parametrize("doc, needle", [
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": ["cm"]}, "metadata is a list, expected a mapping"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": "cm"}, "metadata is a string, expected a mapping"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": 5}}, "metadata.name is a number, expected a string"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": ["a"]}},
     "metadata.namespace is a list, expected a string"),
    ({"apiVersion": 1, "kind": "ConfigMap", "metadata": {"name": "cm"}}, "apiVersion is a number, expected a string"),
    ({"apiVersion": "v1", "kind": ["ConfigMap"], "metadata": {"name": "cm"}}, "(?): kind is a list, expected a string"),
    ({"apiVersion": "v1", "kind": {"List": 1}, "metadata": {"name": "cm"}}, "kind is a mapping, expected a string"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "labels": ["a"]}},
     "metadata.labels is a list, expected a mapping of strings"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "annotations": {"port": 8080}}},
     "metadata.annotations.port is a number, expected a string (quote it in YAML)"),
])
def test_a_field_of_the_wrong_type_is_named_with_its_path_not_a_traceback(doc, needle):
    with pytest.raises(m.ManifestError) as err:
        m.normalize(m.expand([doc], origin="src/app.yaml"))
    assert "src/app.yaml document 1" in str(err.value) and needle in str(err.value), str(err.value)


def test_nested_aliases_that_expand_a_small_text_are_refused_before_any_copy():
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"] + [
        "%s: &%s [%s]" % (name, name, ", ".join(["*" + prev] * 10)) for prev, name in zip("abcdefg", "bcdefgh")]
    bomb = "\n".join(levels) + "\n"  # about 300 bytes, 10**8 values
    with pytest.raises(m.ManifestError, match=r"definitions document 1 expands to more than 100000 values through its "
                                              r"YAML aliases"):
        m.load_text(bomb)
    # an alias or two, as people write them, stays fine
    docs = m.load_text("base: &b {app: web}\nfirst: *b\nsecond: *b\n")
    assert docs == [{"base": {"app": "web"}, "first": {"app": "web"}, "second": {"app": "web"}}]
