# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server-side apply ownership, read from ``managedFields``: is an applied configuration already in place?

An apply is a no-op when the live object records exactly the desired configuration's
fields as owned by our field manager (operation Apply) and each of those fields holds
the desired value. The field set comes from the FieldsV1 tree itself: where the tree
keys a list by ``k:{...}`` we key the desired list items by the same fields, so no
schema knowledge is needed on the client.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

DOT = (".", "")
UNOWNED_META = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                "managedFields", "deletionTimestamp", "selfLink")
# key fields the API server defaults before it records ownership (a port without protocol is TCP)
KEY_DEFAULTS = {"protocol": "TCP"}


def _canon(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def apply_entry(obj, manager):
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply" and not entry.get("subresource"):
            return entry
    return None


def tree_paths(tree, prefix=()):
    """FieldsV1 tree -> set of leaf paths of (kind, value) steps."""
    out = set()
    for name, sub in (tree or {}).items():
        if name == ".":
            out.add(prefix + (DOT,))
            continue
        kind, _sep, raw = name.partition(":")
        step = (kind, raw if kind == "f" else _canon(json.loads(raw)))
        if sub:
            out |= tree_paths(sub, prefix + (step,))
        else:
            out.add(prefix + (step,))
    return out


def desired_paths(obj, tree, prefix=(), top=True):
    """The field set the server would record for ``obj``, guided by the FieldsV1 ``tree`` we own."""
    out = set()
    if not isinstance(obj, dict):
        out.add(prefix)
        return out
    if not obj and prefix:
        out.add(prefix)
    for name, value in obj.items():
        if top and name in ("apiVersion", "kind", "status"):
            continue
        if prefix == (("f", "metadata"),) and name in UNOWNED_META:
            continue
        step = prefix + (("f", name),)
        sub = (tree or {}).get("f:" + name) or {}
        if isinstance(value, dict):
            out |= desired_paths(value, sub, step, False)
        elif isinstance(value, list) and value and sub:
            out |= _list_paths(value, sub, step)
        else:
            out.add(step)
    return out


def _list_paths(items, sub, step):
    keyed = dict((_canon(json.loads(k[2:])), v) for k, v in sub.items() if k.startswith("k:"))
    if keyed and all(isinstance(i, dict) for i in items):
        fields = sorted(json.loads(next(iter(keyed))).keys())
        out = set()
        for item in items:
            ident = dict((f, item.get(f, KEY_DEFAULTS.get(f))) for f in fields)
            key = _canon(dict((k, v) for k, v in ident.items() if v is not None))
            ipath = step + (("k", key),)
            out.add(ipath + (DOT,))
            out |= desired_paths(item, keyed.get(key) or {}, ipath, False)
        return out
    if any(k.startswith("v:") for k in sub):
        return set(step + (("v", _canon(i)),) for i in items)
    return set([step])


def value_at(obj, path):
    cur = obj
    for kind, raw in path:
        if kind == ".":
            return True, cur
        if kind == "f":
            if not isinstance(cur, dict) or raw not in cur:
                return False, None
            cur = cur[raw]
        elif kind == "k":
            want = json.loads(raw)
            if not isinstance(cur, list):
                return False, None
            cur = next((i for i in cur if isinstance(i, dict) and all(
                i.get(k, KEY_DEFAULTS.get(k)) == v for k, v in want.items())), None)
            if cur is None:
                return False, None
        elif kind == "v":
            want = json.loads(raw)
            if not isinstance(cur, list) or want not in cur:
                return False, None
            cur = want
        else:
            return False, None
    return True, cur


def unchanged(desired, live, manager):
    """True when applying ``desired`` as ``manager`` would change nothing on ``live``."""
    if live is None:
        return False
    entry = apply_entry(live, manager)
    tree = (entry or {}).get("fieldsV1") or {}
    want = desired_paths(desired, tree)
    if entry is None:
        # nothing but identity to apply (servers keep no entry for an empty field set)
        return not want
    if want != tree_paths(tree):
        return False
    for path in want:
        if path[-1] == DOT:
            continue
        found_d, value_d = value_at(desired, path)
        found_l, value_l = value_at(live, path)
        if not found_l or _canon(value_d) != _canon(value_l):
            return False
    return True


def prune_like(live, desired):
    """``live`` cut down to the shape of ``desired`` (for readable before/after diffs)."""
    if isinstance(desired, dict) and isinstance(live, dict):
        return dict((k, prune_like(live[k], v)) for k, v in desired.items() if k in live)
    return live
