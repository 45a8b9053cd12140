# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server-side apply ownership, read from ``managedFields``: is an applied configuration already in place?

This file is private to the aksmesh.istio collection: its contents may change at any time.

An apply is a no-op when the live object records exactly the desired configuration's
fields as owned by our field manager (operation Apply) and each of those fields holds
the desired value. The field set comes from the FieldsV1 tree itself: where the tree
keys a list by ``k:{...}`` we key the desired list items by the same fields, so no
schema knowledge is needed on the client.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import re
from fractions import Fraction

from ansible.module_utils.common.text.converters import to_bytes

DOT = (".", "")
UNOWNED_META = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                "managedFields", "deletionTimestamp", "selfLink")
# key fields the API server defaults before it records ownership (a port without protocol is TCP)
KEY_DEFAULTS = {"protocol": "TCP"}


def _numbers(value):
    """JSON numbers as the API server keeps them: 100.0 and 100 are the same number."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return dict((k, _numbers(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def _canon(value):
    return json.dumps(_numbers(value), sort_keys=True, separators=(",", ":"))


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


def desired_paths(obj, tree, prefix=(), top=True, nulls=None):
    """The field set the server would record for ``obj``, guided by the FieldsV1 ``tree`` we own. Fields set to
    null go into ``nulls`` instead: the server records some (an atomic list) and not others (a struct)."""
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
        if value is None:
            if nulls is not None:
                nulls.add(prefix + (("f", name),))
            continue
        step = prefix + (("f", name),)
        sub = (tree or {}).get("f:" + name) or {}
        if isinstance(value, dict) and value and "f:" + name in (tree or {}) and not sub:
            out.add(step)  # an atomic map (a Service selector, a roleRef): the server owns it as one field
        elif isinstance(value, dict):
            out |= desired_paths(value, sub, step, False, nulls)
        elif isinstance(value, list) and value and sub:
            out |= _list_paths(value, sub, step, nulls)
        else:
            out.add(step)
    return out


def _list_paths(items, sub, step, nulls=None):
    keyed = dict((_canon(json.loads(k[2:])), v) for k, v in sub.items() if k.startswith("k:"))
    if keyed and all(isinstance(i, dict) for i in items):
        fields = sorted(json.loads(next(iter(keyed))).keys())
        out = set()
        for item in items:
            ident = dict((f, item.get(f, KEY_DEFAULTS.get(f))) for f in fields)
            key = _canon(dict((k, v) for k, v in ident.items() if v is not None))
            ipath = step + (("k", key),)
            out.add(ipath + (DOT,))
            out |= desired_paths(item, keyed.get(key) or {}, ipath, False, nulls)
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


SAME, DIFFERS, MAYBE = "same", "differs", "maybe"
# fields holding Kubernetes quantities, which the API server stores canonically (2048Mi becomes 2Gi)
QUANTITY_PARENTS = ("requests", "limits", "capacity", "allocatable", "hard", "overhead")
QUANTITY_FIELDS = ("storage", "sizeLimit")
_SUFFIX = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
           "n": Fraction(1, 10 ** 9), "u": Fraction(1, 10 ** 6), "m": Fraction(1, 1000), "": 1, "k": 10 ** 3,
           "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)(?:[eE]([+-]?[0-9]+))?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")


def quantity(value):
    """A Kubernetes quantity ('2Gi', '2048Mi', '500m', 1.5) as an exact Fraction, or None."""
    match = _QUANTITY.match(str(value).strip()) if isinstance(value, (str, int, float)) else None
    if not match or isinstance(value, bool):
        return None
    try:
        number = Fraction(match.group(1))
    except (ValueError, ZeroDivisionError):
        return None
    exponent = int(match.group(2) or 0)
    return number * Fraction(10) ** exponent * _SUFFIX[match.group(3) or ""]


def _holds_quantity(path):
    names = [raw for kind, raw in path if kind == "f"]
    return bool(names) and (names[-1] in QUANTITY_FIELDS or (len(names) > 1 and names[-2] in QUANTITY_PARENTS))


def _subset(small, big):
    """True when ``big`` is ``small`` plus keys (server defaults inside an owned field)."""
    if isinstance(small, dict) and isinstance(big, dict):
        return all(k in big and _subset(v, big[k]) for k, v in small.items())
    if isinstance(small, list) and isinstance(big, list):
        return len(small) == len(big) and all(_subset(a, b) for a, b in zip(small, big))
    return _canon(small) == _canon(big)


def compare(desired, live, manager):
    """SAME when applying ``desired`` as ``manager`` would change nothing on ``live``; MAYBE when the only
    differences are keys the live object has in addition inside fields we own (the API server defaults
    fields inside atomic structs, e.g. a fieldRef's apiVersion; only the server can say whether an apply
    would change them: ask it with a dry run); else DIFFERS."""
    if live is None:
        return DIFFERS
    entry = apply_entry(live, manager)
    tree = (entry or {}).get("fieldsV1") or {}
    nulls = set()
    want = desired_paths(desired, tree, nulls=nulls)
    if entry is None:
        # nothing but identity to apply (servers keep no entry for an empty field set)
        return DIFFERS if want else SAME
    owned = set(p for p in tree_paths(tree) if p not in nulls)
    if want - owned:
        return DIFFERS
    for path in owned - want:
        # owned, no longer desired: a change only if the live object holds something there (an applied null
        # or empty value is owned but not stored; applying without it changes nothing but managedFields)
        found, value = value_at(live, path[:-1] if path[-1] == DOT else path)
        if found and not (value is None or value in ({}, [], "")):
            return DIFFERS
    verdict = SAME
    for path in want:
        if path[-1] == DOT:
            continue
        found_d, value_d = value_at(desired, path)
        found_l, value_l = value_at(live, path)
        if not found_l and (value_d is None or value_d in ({}, [], "") or value_d is False or
                            (value_d == 0 and not isinstance(value_d, bool))):
            # a zero value of an omitempty field (annotations: {}, subPath: "", readOnly: false): the server
            # records that we own the field but stores nothing
            continue
        if not found_l:
            return DIFFERS
        if _holds_quantity(path) and quantity(value_d) is not None and quantity(value_d) == quantity(value_l):
            continue
        if _canon(value_d) != _canon(value_l):
            if not _subset(value_d, value_l):
                return DIFFERS
            verdict = MAYBE
    return verdict


def unchanged(desired, live, manager):
    """True when applying ``desired`` as ``manager`` certainly changes nothing on ``live``."""
    return compare(desired, live, manager) == SAME


def prune_like(live, desired):
    """``live`` cut down to the shape of ``desired`` (for readable before/after diffs)."""
    if isinstance(desired, dict) and isinstance(live, dict):
        return dict((k, prune_like(live[k], v)) for k, v in desired.items() if k in live)
    return live


def _merged_tree(live):
    """Every manager's FieldsV1 trees merged: how the live object's lists are keyed, whoever owns them."""
    def merge(into, tree):
        for name, sub in (tree or {}).items():
            merge(into.setdefault(name, {}), sub)
        return into
    out = {}
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if not entry.get("subresource"):
            merge(out, entry.get("fieldsV1"))
    return out


def path_text(path):
    """A field path as the API server names it in conflicts: .spec.http, .spec.ports[port=80,protocol="TCP"]."""
    out = ""
    for kind, raw in path:
        if kind == "f":
            out += "." + raw
        elif kind == "k":
            out += "[%s]" % ",".join("%s=%s" % (k, json.dumps(v)) for k, v in sorted(json.loads(raw).items()))
        elif kind == "v":
            out += "[=%s]" % raw
    return out or "."


def managers_of(live, path):
    """The field managers (name, operation) whose recorded fields hold ``path`` (or an atomic field around it; a
    manager that owns only a list item's or a map's existence, its ".", does not hold its fields)."""
    out = []
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("subresource"):
            continue
        owned = tree_paths(entry.get("fieldsV1"))
        if path + (DOT,) in owned or any(path[:i] in owned for i in range(1, len(path) + 1)):
            out.append("%s (%s)" % (entry.get("manager"), entry.get("operation")))
    return out


def _same_value(path, value_d, found_l, value_l):
    if not found_l:
        # a zero value of an omitempty field is recorded but not stored (see compare)
        return value_d is None or value_d in ({}, [], "") or value_d is False or (
            value_d == 0 and not isinstance(value_d, bool))
    if _holds_quantity(path) and quantity(value_d) is not None and quantity(value_d) == quantity(value_l):
        return True
    # keys the server added inside a field (its defaults) are no drift
    return _canon(value_d) == _canon(value_l) or _subset(value_d, value_l)


def _as_stored(obj):
    """A Secret's stringData as the API server stores it (base64 in data): stringData is never read back."""
    if obj.get("kind") != "Secret" or not obj.get("stringData"):
        return obj
    data = dict(obj.get("data") or {})
    for key, value in obj["stringData"].items():
        data[key] = base64.b64encode(to_bytes(value)).decode("ascii")
    out = dict(obj, data=data)
    out.pop("stringData")
    return out


def others(managers, manager):
    """``managers`` (named as ``managers_of`` names them: "name (operation)") without ``manager``'s own entries."""
    return [m for m in managers if not m.startswith(manager + " (")]


def pending(entry, manager):
    """True when a ``drift`` entry's live value is held by ``manager`` alone: the definition changed since its last
    apply (a pending change of the inventory), nobody else changed the field - no drift."""
    return bool(entry.get("managers")) and not others(entry["managers"], manager)


def drift(desired, live, manager):
    """The fields of ``desired`` whose live value differs: [{path, desired, live, managers}], ``managers`` being the
    field managers that hold the field now, ``manager`` too ("aksmesh (Apply)": the definition changed since its last
    apply, see ``pending``); [] when nobody does (it was removed). Empty when ``live`` is None (nothing drifted: the
    object is missing) or holds every desired value."""
    if live is None:
        return []
    desired = _as_stored(desired)
    out = []
    for path in sorted(desired_paths(desired, _merged_tree(live)), key=path_text):
        if path and path[-1] == DOT:
            continue
        found_d, value_d = value_at(desired, path)
        found_l, value_l = value_at(live, path)
        if not found_d or _same_value(path, value_d, found_l, value_l):
            continue
        out.append({"path": path_text(path), "desired": value_d, "live": value_l if found_l else None,
                    "managers": managers_of(live, path)})
    return out


SHOWN = 300  # characters of a drifted value in a message


def _shown(value):
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= SHOWN else text[:SHOWN] + "..."


def drift_text(drifted, manager):
    """'.spec.http: live [...] (set by kubectl-patch (Update)), desired [...]' for each field of ``drifted`` (``drift``
    entries) another field manager holds, or nobody ('removed'); ``manager`` is not named, and the fields it holds
    alone (pending changes, not drift) are left out."""
    return "; ".join("%s: live %s (%s), desired %s" % (
        d["path"], _shown(d["live"]),
        ("set by " + ", ".join(others(d["managers"], manager))) if d["managers"] else "removed",
        _shown(d["desired"])) for d in drifted if not pending(d, manager))
