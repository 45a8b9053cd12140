# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Structured comparison of two Kubernetes manifests (the seed's compare script, restored).

This file is private to the aksmesh.istio collection: its contents may change at any time.

Objects are matched by identity (API group, kind, namespace, name), so document order
and API version do not matter. Lists that Kubernetes merges by key (containers, env,
volumes, ports, ... any list of mappings whose items all carry a unique ``name``) are
compared as mappings, so reordering them is not a change. Paths can be ignored and
objects selected by kind/namespace/name globs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import fnmatch
import json

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import manifests

try:
    import yaml

    _DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
except ImportError:  # reported by the module
    yaml = None

# lists merged by another key than "name"
KEYED_LISTS = {"volumeMounts": ("mountPath",), "ports": ("name", "containerPort", "port"),
               "tolerations": None, "args": None, "command": None}


class DiffError(ValueError):
    """Bad input: a document that is not an object, an unparsable ignore path."""


def load(text_or_docs, origin):
    """{identity: object} of YAML text or a list of documents; ``List`` documents are flattened."""
    try:
        pairs = manifests.expand(text_or_docs if isinstance(text_or_docs, list) else [text_or_docs], origin)
    except manifests.ManifestError as exc:
        raise DiffError(str(exc))
    out = {}
    for doc, _where in pairs:
        if doc is None:
            continue
        if not isinstance(doc, dict) or "kind" not in doc:
            raise DiffError("%s holds a document that is not a Kubernetes object" % origin)
        out[identity(doc)] = doc
    return out


def identity(doc):
    meta = doc.get("metadata") or {}
    group = (doc.get("apiVersion") or "").rpartition("/")[0]
    return (group, doc.get("kind"), meta.get("namespace") or "", meta.get("name") or "")


def label(ident):
    group, kind, namespace, name = ident
    kind = "%s.%s" % (kind, group) if group else kind
    return "%s %s%s" % (kind, namespace + "/" if namespace else "", name)


def parse_path(text):
    """``metadata.labels."helm.sh/chart"`` -> ('metadata', 'labels', 'helm.sh/chart'); ``*`` matches any key."""
    parts, cur, quoted, i = [], "", False, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    if quoted:
        raise DiffError("ignore path %s has an unclosed quote" % text)
    parts.append(cur)
    if any(p == "" for p in parts):
        raise DiffError("ignore path %s has an empty part" % text)
    return tuple(parts)


def _key_of(item, field):
    keys = KEYED_LISTS.get(field, ("name",))
    if keys is None:
        return None
    for key in keys:
        if key in item:
            return "%s=%s" % (key, item[key])
    return None


def normalize(value, field=None):
    """Keyed lists become mappings (``name=x`` keys); everything else stays as it is."""
    if isinstance(value, dict):
        return dict((k, normalize(v, k)) for k, v in value.items())
    if isinstance(value, list):
        if value and all(isinstance(i, dict) for i in value):
            keys = [_key_of(i, field) for i in value]
            if None not in keys and len(set(keys)) == len(keys):
                return dict((k, normalize(i, field)) for k, i in zip(keys, value))
        return [normalize(i) for i in value]
    return value


def _drop(value, path):
    """Remove an ignored path (with ``*`` wildcards) from a normalized object in place."""
    if not path or not isinstance(value, dict):
        return
    head, rest = path[0], path[1:]
    keys = list(value) if head == "*" else [head] if head in value else []
    for key in keys:
        if rest:
            _drop(value[key], rest)
        else:
            del value[key]


def changes(a, b, path=()):
    """[(path, before, after)] for every differing leaf; ``None`` stands for absent."""
    if a == b:
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            out += changes(a.get(key), b.get(key), path + (key,))
        return out
    return [(path, a, b)]


def format_path(path):
    return ".".join('"%s"' % p if "." in str(p) else str(p) for p in path)


def selected(ident, select):
    if not select:
        return True
    _group, kind, namespace, name = ident
    return all(fnmatch.fnmatchcase(value or "", pattern) for value, pattern in (
        (kind, select.get("kind") or "*"), (namespace, select.get("namespace") or "*"),
        (name, select.get("name") or "*")))


def diff(before, after, ignore=(), select=None, context=3, unified=True):
    """Compare two ``{identity: object}`` maps. Returns a dict of added/removed/changed and a text diff."""
    paths = [parse_path(p) for p in ignore]
    keys_a = set(k for k in before if selected(k, select))
    keys_b = set(k for k in after if selected(k, select))
    added = sorted(keys_b - keys_a)
    removed = sorted(keys_a - keys_b)
    changed, text = [], []
    for key in sorted(keys_a & keys_b):
        if before[key] == after[key]:
            continue
        na, nb = normalize(before[key]), normalize(after[key])
        for path in paths:
            _drop(na, path)
            _drop(nb, path)
        found = changes(na, nb)
        if not found:
            continue
        changed.append({"object": label(key), "kind": key[1], "namespace": key[2] or None, "name": key[3],
                        "changes": [{"path": format_path(p), "before": x, "after": y} for p, x, y in found]})
        if unified:
            text += _unified(label(key), na, nb, context)
    if unified:
        for key in removed:
            text += _unified(label(key), normalize(before[key]), None, context)
        for key in added:
            text += _unified(label(key), None, normalize(after[key]), context)
    return {"added": [label(k) for k in added], "removed": [label(k) for k in removed], "changed_objects": changed,
            "differs": bool(added or removed or changed),
            "counts": {"added": len(added), "removed": len(removed), "changed": len(changed),
                       "unchanged": len(keys_a & keys_b) - len(changed)},
            "unified_diff": "".join(text)}


def _unified(name, a, b, context):
    def dump(v):
        return yaml.dump(v, Dumper=_DUMPER, default_flow_style=False, sort_keys=True).splitlines(True) if v else []
    return list(difflib.unified_diff(dump(a), dump(b), fromfile="a/" + name, tofile="b/" + name, n=context))


def to_json(result):
    return json.loads(json.dumps(result, default=str))
