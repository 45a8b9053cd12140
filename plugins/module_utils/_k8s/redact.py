# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep Secret values out of module results and diffs.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy

MASK = "********"


def redact(obj):
    """A copy of ``obj`` with every Secret's data/stringData values masked (keys stay visible)."""
    if not isinstance(obj, dict) or obj.get("kind") != "Secret":
        return obj
    out = copy.deepcopy(obj)
    for field in ("data", "stringData"):
        if isinstance(out.get(field), dict):
            out[field] = dict((k, MASK) for k in out[field])
    annotations = (out.get("metadata") or {}).get("annotations") or {}
    if "kubectl.kubernetes.io/last-applied-configuration" in annotations:
        annotations["kubectl.kubernetes.io/last-applied-configuration"] = MASK
    return out


def secret_values(objs):
    """Every Secret value in ``objs`` (as given, and base64-decoded), to add to a module's no_log values."""
    values = set()
    for obj in objs:
        if obj.get("kind") != "Secret":
            continue
        for field in ("data", "stringData"):
            for value in (obj.get(field) or {}).values():
                if value:
                    values.add(str(value))
                    if field == "data":
                        try:
                            values.add(base64.b64decode(value).decode("utf-8"))
                        except (ValueError, UnicodeDecodeError):
                            pass
    return values
