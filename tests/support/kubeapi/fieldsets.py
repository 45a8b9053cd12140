"""Field sets and ownership for server-side apply, in the FieldsV1 wire format.

A path is a tuple of steps. A step is a field name (str), or a tuple
``("k", key_json)`` for an item of an associative list, or ``("v", value_json)``
for an item of a list of scalars treated as a set. A trailing ``"."`` step marks
ownership of a list item itself (FieldsV1's ``".": {}``).

Leaves are scalars, atomic lists and empty maps, as in structured-merge-diff.
"""

from __future__ import annotations

import json

DOT = "."
# fields that are never owned: identity and server-maintained metadata
UNOWNED_META = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                "managedFields", "deletionTimestamp", "selfLink"}


class ListKeys:
    """Tells how each list merges: by key fields, as a set of scalars, or atomically."""

    def __init__(self, type_keys, meta_keys):
        self._type = dict(type_keys)
        self._meta = dict(meta_keys)

    def for_field(self, path, name):
        """A tuple of key fields, None for a scalar set, False for an atomic list."""
        table = self._meta if path[:1] == ("metadata",) else self._type
        return table.get(name, False)


# key fields the API server defaults before it merges (so "no protocol" means TCP)
KEY_DEFAULTS = {"protocol": "TCP"}


def item_key(item, keys):
    ident = {k: item.get(k, KEY_DEFAULTS.get(k)) for k in keys}
    return json.dumps({k: v for k, v in ident.items() if v is not None}, sort_keys=True, separators=(",", ":"))


def field_paths(obj, list_keys, prefix=()):
    """Every owned leaf path in ``obj`` (a dict)."""
    out = set()
    _walk(obj, list_keys, prefix, out)
    return out


def _walk(value, list_keys, path, out):
    if isinstance(value, dict):
        if not value and path:
            out.add(path)
        for name, sub in value.items():
            if path == () and name in ("apiVersion", "kind", "status"):
                continue
            if path == ("metadata",) and name in UNOWNED_META:
                continue
            step_path = path + (name,)
            if isinstance(sub, list):
                keys = list_keys.for_field(path, name)
                if keys is False or not sub:
                    out.add(step_path)
                elif keys is None:
                    for item in sub:
                        out.add(step_path + (("v", json.dumps(item, sort_keys=True)),))
                else:
                    for item in sub:
                        if not isinstance(item, dict):
                            out.add(step_path)
                            break
                        ipath = step_path + (("k", item_key(item, keys)),)
                        out.add(ipath + (DOT,))
                        for iname, isub in item.items():
                            _walk_field(isub, list_keys, ipath, iname, out)
            else:
                _walk(sub, list_keys, step_path, out) if isinstance(sub, dict) else out.add(step_path)
    else:
        out.add(path)


def _walk_field(sub, list_keys, ipath, iname, out):
    if isinstance(sub, dict):
        _walk(sub, list_keys, ipath + (iname,), out)
    elif isinstance(sub, list):
        # nested lists inside list items: reuse the dict walker on a one-field map
        _walk({iname: sub}, list_keys, ipath, out)
    else:
        out.add(ipath + (iname,))


def _find_item(lst, step):
    kind, raw = step
    if kind == "v":
        target = json.loads(raw)
        for idx, item in enumerate(lst):
            if item == target:
                return idx
        return None
    want = json.loads(raw)
    for idx, item in enumerate(lst):
        if isinstance(item, dict) and all(item.get(k, KEY_DEFAULTS.get(k)) == v for k, v in want.items()):
            return idx
    return None


def get_at(obj, path):
    """(True, value) when ``path`` exists in ``obj``, else (False, None)."""
    cur = obj
    for step in path:
        if step == DOT:
            return True, cur
        if isinstance(step, tuple):
            if not isinstance(cur, list):
                return False, None
            idx = _find_item(cur, step)
            if idx is None:
                return False, None
            cur = cur[idx]
        else:
            if not isinstance(cur, dict) or step not in cur:
                return False, None
            cur = cur[step]
    return True, cur


def delete_at(obj, path):
    """Remove the leaf at ``path``; prune maps and lists the removal leaves empty."""
    if not path:
        return
    parents = []
    cur = obj
    for step in path[:-1]:
        if isinstance(step, tuple):
            if not isinstance(cur, list):
                return
            idx = _find_item(cur, step)
            if idx is None:
                return
            parents.append((cur, idx))
            cur = cur[idx]
        else:
            if not isinstance(cur, dict) or step not in cur:
                return
            parents.append((cur, step))
            cur = cur[step]
    last = path[-1]
    if last == DOT:
        # the list item itself: remove it from its list
        if parents:
            container, idx = parents.pop()
            if isinstance(container, list):
                del container[idx]
                cur = container
    elif isinstance(last, tuple):
        if isinstance(cur, list):
            idx = _find_item(cur, last)
            if idx is not None:
                del cur[idx]
    elif isinstance(cur, dict):
        cur.pop(last, None)
    # prune empty containers upwards, but never the top-level sections
    while parents and isinstance(cur, (dict, list)) and not cur:
        container, key = parents.pop()
        if not parents and key in ("metadata", "spec"):
            break
        del container[key]
        cur = container


def to_fieldsv1(paths):
    root = {}
    for path in sorted(paths, key=lambda p: [json.dumps(s) for s in p]):
        node = root
        for step in path:
            if step == DOT:
                name = "."
            elif isinstance(step, tuple):
                name = f"{step[0]}:{step[1]}"
            else:
                name = "f:" + step
            node = node.setdefault(name, {})
    return root


def from_fieldsv1(fields, prefix=()):
    out = set()
    for name, sub in (fields or {}).items():
        if name == ".":
            out.add(prefix + (DOT,))
            continue
        kind, _sep, raw = name.partition(":")
        step = raw if kind == "f" else (kind, raw)
        path = prefix + (step,)
        if sub:
            out |= from_fieldsv1(sub, path)
        else:
            out.add(path)
    return out


def path_to_string(path):
    """A readable field path like .spec.containers[name="app"].image, as conflict messages show."""
    parts = []
    for step in path:
        if step == DOT:
            continue
        if isinstance(step, tuple):
            kind, raw = step
            if kind == "k":
                inner = ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(raw).items())
                parts.append(f"[{inner}]")
            else:
                parts.append(f"[={raw}]")
        else:
            parts.append("." + step)
    return "".join(parts)


def is_under(path, prefix):
    return path[:len(prefix)] == prefix
