"""Label and field selectors as the Kubernetes API parses them."""

from __future__ import annotations

import re

_SET_RE = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*(?:(=|==|!=)\s*([^,]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$")


def _split_terms(text):
    """Split on commas that are not inside parentheses."""
    terms, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        terms.append(cur)
    return terms


def parse_label_selector(text):
    """Return a predicate over a labels dict; raise ValueError on bad syntax."""
    if not text:
        return lambda labels: True
    checks = []
    for term in _split_terms(text):
        m = _SET_RE.match(term)
        if not m:
            raise ValueError(f"unable to parse requirement: {term!r}")
        neg, key, op, val, setop, setvals = m.groups()
        if setop:
            values = {v.strip() for v in setvals.split(",") if v.strip()}
            if setop == "in":
                checks.append(lambda lb, k=key, vs=values: lb.get(k) in vs)
            else:
                checks.append(lambda lb, k=key, vs=values: lb.get(k) not in vs)
        elif op in ("=", "=="):
            checks.append(lambda lb, k=key, v=val.strip(): lb.get(k) == v)
        elif op == "!=":
            checks.append(lambda lb, k=key, v=val.strip(): lb.get(k) != v)
        elif neg:
            checks.append(lambda lb, k=key: k not in lb)
        else:
            checks.append(lambda lb, k=key: k in lb)
    return lambda labels: all(check(labels or {}) for check in checks)


_FIELDS = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace")}


def parse_field_selector(text):
    """metadata.name / metadata.namespace with =, == and != (what clients use on every kind)."""
    if not text:
        return lambda obj: True
    checks = []
    for term in _split_terms(text):
        m = re.match(r"^\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not m or m.group(1) not in _FIELDS:
            raise ValueError(f'"{term}" is not a known field selector: only "metadata.name", "metadata.namespace"')
        field, op, value = m.groups()
        sect, key = _FIELDS[field]
        if op == "!=":
            checks.append(lambda o, s=sect, k=key, v=value: (o.get(s) or {}).get(k) != v)
        else:
            checks.append(lambda o, s=sect, k=key, v=value: (o.get(s) or {}).get(k) == v)
    return lambda obj: all(check(obj) for check in checks)
