# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes manifests: loading from data, YAML text and files, validating, and ordering.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.aksmesh.istio.plugins.module_utils._files import text as text_file
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names

try:
    import yaml

    _LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    HAS_YAML = True
except ImportError:
    HAS_YAML = False

# Namespaces and CRDs first, then what others depend on (Helm's install order); custom resources last.
APPLY_ORDER = (
    "Namespace", "CustomResourceDefinition", "NetworkPolicy", "ResourceQuota", "LimitRange",
    "PodDisruptionBudget", "ServiceAccount", "Secret", "ConfigMap", "StorageClass", "PersistentVolume",
    "PersistentVolumeClaim", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service",
    "DaemonSet", "Pod", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob",
    "IngressClass", "Ingress", "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
)
_RANK = dict((kind, idx) for idx, kind in enumerate(APPLY_ORDER))


class ManifestError(Exception):
    """A definition cannot be applied as given."""


class DuplicateKey(Exception):
    """A YAML mapping names a key twice: YAML loaders keep the last value and drop the other silently."""

    def __init__(self, key, first, again):
        super(DuplicateKey, self).__init__(key)
        self.key, self.first, self.again = key, first, again


if HAS_YAML:
    class _UniqueKeyLoader(_LOADER):
        """The safe loader, refusing a mapping that names a key twice (merge keys, ``<<``, may override)."""

        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen = {}
                for key_node, _value in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        first = seen.setdefault(key, key_node)
                    except TypeError:
                        continue  # an unhashable key: the constructor names it
                    if first is not key_node:
                        raise DuplicateKey(key, first.start_mark.line + 1, key_node.start_mark.line + 1)
            return super(_UniqueKeyLoader, self).construct_mapping(node, deep)


# A YAML text's documents may hold at most this many values per byte of text once its aliases are followed (and at
# least MIN_VALUES): a few hundred bytes of nested aliases expand to 10**8 values, which the copies and the JSON of
# an apply would then try to hold in memory ("billion laughs"). Plain YAML has fewer values than bytes.
VALUES_PER_BYTE = 10
MIN_VALUES = 100000


def _values_within(doc, budget):
    """Whether ``doc`` holds at most ``budget`` values with every alias followed (counting stops at the budget)."""
    stack, count = [doc], 0
    while stack:
        value = stack.pop()
        count += 1
        if count > budget:
            return False
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return True


def load_text(text, origin="definitions"):
    """The documents of a YAML text; ManifestError naming ``origin`` on invalid YAML, on a key given twice in one
    mapping (naming the document and the key), or on aliases that expand the text beyond VALUES_PER_BYTE values per
    byte."""
    docs = []
    budget = max(MIN_VALUES, VALUES_PER_BYTE * len(text or ""))
    try:
        for doc in yaml.load_all(text, Loader=_UniqueKeyLoader):
            if not _values_within(doc, budget):
                raise ManifestError("%s document %d expands to more than %d values through its YAML aliases (&anchor "
                                    "and *alias), %d per byte of its text: write the values out, or split it"
                                    % (origin, len(docs) + 1, budget, VALUES_PER_BYTE))
            docs.append(doc)
    except DuplicateKey as exc:
        raise ManifestError("%s document %d has the key %r twice (lines %d and %d); YAML would keep only the last "
                            "value: remove one" % (origin, len(docs) + 1, exc.key, exc.first, exc.again))
    except yaml.YAMLError as exc:
        raise ManifestError("%s is not valid YAML: %s" % (origin, exc))
    return [doc for doc in docs if doc is not None]


def load_paths(paths):
    """Documents from files and directories (recursively, *.yaml/*.yml/*.json, in name order)."""
    docs = []
    for path in paths:
        path = os.path.expanduser(path)
        if os.path.isdir(path):
            files = []
            for root, dirs, names in os.walk(path):
                dirs.sort()
                files += [os.path.join(root, n) for n in sorted(names) if n.endswith((".yaml", ".yml", ".json"))]
        elif os.path.isfile(path):
            files = [path]
        else:
            raise ManifestError("src %s does not exist" % path)
        for name in files:
            try:
                docs += [(doc, name) for doc in load_text(text_file.read(name, "src"), name)]
            except text_file.UnreadableFile as exc:
                raise ManifestError(str(exc))
    return docs


def expand(items, origin="definitions", parse_text=True):
    """Flatten ``v1/List`` documents and YAML strings into (object, origin) pairs."""
    out = []
    for item in items:
        obj, where = item if isinstance(item, tuple) else (item, origin)
        if isinstance(obj, str) and parse_text:
            out += expand(load_text(obj, where), where, parse_text=False)
        elif isinstance(obj, list):
            out += expand(obj, where)
        elif (isinstance(obj, dict) and isinstance(obj.get("kind"), str) and obj["kind"].endswith("List")
              and isinstance(obj.get("items"), list)):
            out += expand(obj["items"], where)
        else:
            out.append((obj, where))
    return out


def normalize(pairs, invalid=None):
    """Validated deep copies without server-owned fields.

    Raises ManifestError naming every invalid document (all are checked before anything changes). With a list
    as ``invalid``, objects whose name the API server would refuse, or given twice, go there as (object, message)
    instead (to apply the rest, as ``continue_on_error`` asks).
    """
    objs, errors, seen = [], [], {}
    for idx, (obj, where) in enumerate(pairs):
        label = "%s document %d" % (where, idx + 1)
        if not isinstance(obj, dict):
            errors.append("%s is not a mapping" % label)
            continue
        wrong = header_error(label, obj)
        if wrong:
            errors.append(wrong)
            continue
        missing = [k for k in ("apiVersion", "kind") if not obj.get(k)]
        name = (obj.get("metadata") or {}).get("name")
        if not name:
            missing.append("metadata.name")
        if missing:
            errors.append("%s (%s %s) lacks %s" % (label, obj.get("kind", "?"), name or "", ", ".join(missing)))
            continue
        namespace = obj["metadata"].get("namespace") or None  # "" is the default namespace, as for kubectl
        group = obj["apiVersion"].rpartition("/")[0]
        bad = names.problem(obj["kind"], name, group) or ""
        if bad:
            bad = "metadata.name %r %s" % (name, bad)
        elif namespace is not None and names.problem("Namespace", namespace):
            bad = "metadata.namespace %r %s" % (namespace, names.problem("Namespace", namespace))
        where = "%s %s" % (obj["kind"], "/".join(k for k in (namespace, name) if k))
        if bad:
            _refuse(errors, invalid, obj, "%s (%s): %s" % (label, where, bad), "%s: %s (%s)" % (where, bad, label))
            continue
        api = obj["apiVersion"]
        key = (api.split("/")[0] if "/" in api else "", obj["kind"], namespace, name)  # any version: one object
        if key in seen:
            twice = "is given twice in one batch (%s and %s): keep one" % (seen[key], label)
            _refuse(errors, invalid, obj, "%s (%s) %s" % (label, where, twice), "%s: %s" % (where, twice))
            continue
        seen[key] = label
        obj = drop_nulls(obj)
        meta = obj["metadata"]
        for field in ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation", "selfLink"):
            meta.pop(field, None)
        obj.pop("status", None)
        objs.append(obj)
    if errors:
        raise ManifestError("invalid definitions: " + "; ".join(errors))
    return objs


def _type(value):
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), "a %s" % type(value).__name__)


def header_problems(obj):
    """What is of the wrong type among the fields every object has, each with its path and the type expected:
    apiVersion, kind, metadata (a mapping), metadata.name and metadata.namespace (strings), metadata.labels and
    metadata.annotations (mappings of strings to strings)."""
    wrong = []
    for path in ("apiVersion", "kind"):
        if obj.get(path) is not None and not isinstance(obj[path], str):
            wrong.append("%s is %s, expected a string" % (path, _type(obj[path])))
    meta = obj.get("metadata")
    if meta is None:
        return wrong  # normalize names the missing metadata.name
    if not isinstance(meta, dict):
        return wrong + ["metadata is %s, expected a mapping" % _type(meta)]
    for field in ("name", "namespace", "generateName"):
        if meta.get(field) is not None and not isinstance(meta[field], str):
            wrong.append("metadata.%s is %s, expected a string" % (field, _type(meta[field])))
    for field in ("labels", "annotations"):
        values = meta.get(field)
        if values is None:
            continue
        if not isinstance(values, dict):
            wrong.append("metadata.%s is %s, expected a mapping of strings" % (field, _type(values)))
            continue
        for key, value in values.items():
            if not isinstance(key, str) or not isinstance(value, (str, type(None))):
                wrong.append("metadata.%s.%s is %s, expected a string (quote it in YAML)"
                             % (field, key, _type(value) if isinstance(key, str) else "keyed by " + _type(key)))
    return wrong


def header_error(label, obj):
    """None, or ``label`` (the document) with its kind and every header_problems of ``obj``, in one message."""
    wrong = header_problems(obj)
    if not wrong:
        return None
    return "%s (%s): %s" % (label, obj["kind"] if isinstance(obj.get("kind"), str) else "?", "; ".join(wrong))


def _refuse(errors, invalid, obj, in_batch, alone):
    if invalid is None:
        errors.append(in_batch)
    else:
        invalid.append((obj, alone))


def drop_nulls(value):
    """A copy without null values: the API server drops them when it decodes an object, so they never match."""
    if isinstance(value, dict):
        return dict((k, drop_nulls(v)) for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return [drop_nulls(v) for v in value if v is not None]
    return value


def rank(obj):
    """Position of an object's kind in the apply order (custom resources share the last place)."""
    return _RANK.get(obj["kind"], len(APPLY_ORDER))


def ordered(objs, reverse=False, by_kind=True):
    """Objects in apply order (by kind, stable), or deletion order with ``reverse``."""
    def key(pair):
        idx, obj = pair
        return (rank(obj) if by_kind else 0, idx)
    out = [obj for _idx, obj in sorted(enumerate(objs), key=key)]
    return list(reversed(out)) if reverse else out


def identity(obj):
    meta = obj.get("metadata") or {}
    return (obj.get("apiVersion"), obj.get("kind"), meta.get("namespace"), meta.get("name"))
