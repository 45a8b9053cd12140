"""The three merge semantics of the Kubernetes API: JSON merge patch (RFC 7386),
strategic merge patch (with kubectl's directives), and server-side apply's merge."""

from __future__ import annotations

import copy
import json

from .fieldsets import item_key


def json_merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target, patch, list_keys, path=()):
    """Strategic merge patch: maps merge, lists with a merge key merge by it, other lists replace.

    Understands the directives kubectl's client-side apply sends: ``$patch``
    (replace/delete/merge), ``$retainKeys``, ``$setElementOrder/<field>`` and
    ``$deleteFromPrimitiveList/<field>``.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
            continue
        if isinstance(value, dict) and value.get("$patch") == "delete":
            result.pop(key, None)
            continue
        if isinstance(value, list):
            keys = list_keys.for_field(path, key)
            result[key] = _merge_list(result.get(key), value, keys, list_keys, path + (key,))
        elif isinstance(value, dict):
            result[key] = strategic_merge_patch(result.get(key), value, list_keys, path + (key,))
        else:
            result[key] = value
    if retain is not None:
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(current, patch_list, keys, list_keys, path):
    if not keys and keys is not None:
        # atomic list; a lone {"$patch": "replace"} item means "replace with the rest"
        return [copy.deepcopy(v) for v in patch_list if not (isinstance(v, dict) and "$patch" in v)]
    current = list(current or [])
    if keys is None:  # set of scalars
        for value in patch_list:
            if value not in current:
                current.append(value)
        return current
    for item in patch_list:
        if not isinstance(item, dict):
            continue
        if item.get("$patch") == "replace":
            return [copy.deepcopy(v) for v in patch_list if v is not item]
        ident = item_key(item, keys)
        idx = next((i for i, cur in enumerate(current)
                    if isinstance(cur, dict) and item_key(cur, keys) == ident), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del current[idx]
            continue
        if idx is None:
            current.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            current[idx] = strategic_merge_patch(current[idx], item, list_keys, path)
    return current


def apply_merge(live, config, list_keys, path=()):
    """Server-side apply's merge of an applied configuration into a live object."""
    if not isinstance(config, dict) or not isinstance(live, dict):
        return copy.deepcopy(config)
    result = copy.deepcopy(live)
    for key, value in config.items():
        if isinstance(value, dict):
            result[key] = apply_merge(result.get(key), value, list_keys, path + (key,))
        elif isinstance(value, list):
            keys = list_keys.for_field(path, key)
            if keys is False or not isinstance(result.get(key), list):
                result[key] = copy.deepcopy(value)
            elif keys is None:
                merged = list(result[key])
                merged += [v for v in value if v not in merged]
                result[key] = merged
            else:
                merged = list(result[key])
                for item in value:
                    ident = item_key(item, keys)
                    idx = next((i for i, cur in enumerate(merged)
                                if isinstance(cur, dict) and item_key(cur, keys) == ident), None)
                    if idx is None:
                        merged.append(copy.deepcopy(item))
                    else:
                        merged[idx] = apply_merge(merged[idx], item, list_keys, path + (key,))
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    return result


def canonical(obj):
    return json.dumps(obj, sort_keys=True)
