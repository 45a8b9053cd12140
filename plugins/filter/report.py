# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift_summary filter: a cluster's drift report (the settings_report fact) -> its counts and its one line."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError


def _where(entry):
    namespace = entry.get("namespace")
    return "%s %s%s" % (entry.get("kind"), (namespace + "/") if namespace else "", entry.get("name"))


def drift_summary(found, report=""):
    """{clean, drifted_fields, drifted_objects, managers, missing, extra, report, line} of a run's findings."""
    if found is None:
        found = {}
    if not isinstance(found, Mapping):
        raise AnsibleFilterError("drift_summary: expected the settings_report fact (a mapping), got %s"
                                 % type(found).__name__)
    drift = [e for e in found.get("drift") or [] if isinstance(e, Mapping)]
    objects = []
    for entry in drift:
        where = _where(entry)
        if where not in objects:
            objects.append(where)
    managers = sorted(set(m for e in drift for m in e.get("managers") or []))
    missing = [_where(e) for e in found.get("missing") or [] if isinstance(e, Mapping)]
    extra = [_where(e) for e in found.get("extra") or [] if isinstance(e, Mapping)]
    clean = not (drift or missing or extra)
    if clean:
        line = "no drift"
    else:
        parts = []
        if drift:
            parts.append("%d drifted field(s) in %s%s" % (
                len(drift), ", ".join(objects), (" (changed by %s)" % ", ".join(managers)) if managers else ""))
        if missing:
            parts.append("%d missing: %s" % (len(missing), ", ".join(missing)))
        if extra:
            parts.append("%d extra: %s" % (len(extra), ", ".join(extra)))
        line = "; ".join(parts)
    return {"clean": clean, "drifted_fields": len(drift), "drifted_objects": objects, "managers": managers,
            "missing": missing, "extra": extra, "report": report, "line": line}


class FilterModule(object):
    def filters(self):
        return {"drift_summary": drift_summary}
