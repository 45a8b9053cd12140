# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Services of an ambient namespace that go through a waypoint of their own (``namespaces[].service_waypoints``
of the injection module): each labelled ``istio.io/use-waypoint=<waypoint>``, and the label taken back from a Service
the collection labelled that no entry names any more. Only that label is changed (JSON merge patch carrying the
resourceVersion it was computed from); a Service that does not exist yet is reported ``pending`` and labelled by a
later run; a label another field manager set is drift, as for the namespaces' labels.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.injection import USE_WAYPOINT, WAYPOINT, label_drift
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names as k8s_names
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import ownership
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError

CONFLICT_RETRIES = 3
LABEL_PATH = (("f", "metadata"), ("f", "labels"), ("f", USE_WAYPOINT))


def problems(namespaces, mode):
    """[(path, why)] of the entries' Service waypoints that cannot be (``path`` within ``namespaces``, such as
    ``[0].service_waypoints[1].name``): outside the ambient data plane, a name that is not a DNS-1123 label or is the
    namespace waypoint's own (``waypoint``), a waypoint listed twice, or a Service given to two waypoints."""
    out = []
    for i, entry in enumerate(namespaces or []):
        given = entry.get("service_waypoints") or []
        if not given or entry.get("state", "present") == "absent":
            continue
        where = "[%d].service_waypoints" % i
        if mode != "ambient":
            out.append((where, "waypoints are for the ambient data plane (aksmesh_dataplane_mode: ambient); a sidecar "
                               "proxies L7 itself: remove service_waypoints"))
            continue
        seen, owner = set(), {}
        for j, waypoint in enumerate(given):
            name, services = waypoint.get("name") or "", waypoint.get("services") or []
            # a Gateway's name and the value of the Services' label: a DNS-1123 label (a Namespace's rule)
            problem = k8s_names.problem("Namespace", name)
            if problem:
                out.append(("%s[%d].name" % (where, j), "%r %s" % (name, problem)))
            elif name == WAYPOINT:
                out.append(("%s[%d].name" % (where, j), "%s is the namespace waypoint's name (waypoint: true); name "
                                                        "this one after its Services, for example %s-waypoint"
                            % (WAYPOINT, (services or ["svc"])[0])))
            elif name in seen:
                out.append(("%s[%d].name" % (where, j), "%s is listed twice" % name))
            seen.add(name)
            if not services:
                out.append(("%s[%d].services" % (where, j), "is empty: name the Services that go through %s" % name))
            for service in services:
                problem = k8s_names.problem("Service", service)
                if problem:
                    out.append(("%s[%d].services" % (where, j), "%r %s" % (service, problem)))
                elif service in owner:
                    out.append(("%s[%d].services" % (where, j), "%s goes through %s already; a Service has one "
                                                                "waypoint" % (service, owner[service])))
                owner.setdefault(service, name)
    return out


def desired(entry, mode):
    """{service: waypoint} of one namespace entry (none outside the ambient data plane or for an absent entry)."""
    if mode != "ambient" or entry.get("state", "present") == "absent":
        return {}
    return dict((service, waypoint["name"]) for waypoint in entry.get("service_waypoints") or []
                for service in waypoint["services"])


def label(module, rest, entries, manager):
    """[{namespace, name, waypoint, action}] for the Services of ``entries``' namespaces: labelled for their
    waypoint, unlabelled when the collection labelled them and no entry names them, ``pending`` when they do not
    exist yet, ``drifted`` in check mode when another field manager changed the label. Fails (naming the Service,
    its label's values and the manager) on such drift in a real run without force_conflicts. Ambient mode only (one
    list of Services per namespace)."""
    mode = module.params["dataplane_mode"]
    out = []
    if mode != "ambient":
        return out  # the label does nothing without ztunnel: a sidecar mesh reads no Service's
    for entry in entries:
        want = desired(entry, mode)
        base = "/api/v1/namespaces/%s/services" % k8s_names.segment("Namespace", entry["name"])
        listed = (rest.request("GET", base, ok_missing=True) or {}).get("items") or []
        present = set()
        for live in listed:
            name = live["metadata"]["name"]
            present.add(name)
            current = ((live["metadata"].get("labels")) or {}).get(USE_WAYPOINT)
            if name not in want and (current is None or not _ours(live, manager)):
                continue  # not ours to take back
            result = _label_one(module, rest, "%s/%s" % (base, k8s_names.segment("Service", name)), live,
                                want.get(name), manager)
            out.append(dict(result, namespace=entry["name"], name=name))
        out.extend({"namespace": entry["name"], "name": name, "waypoint": waypoint, "action": "pending"}
                   for name, waypoint in sorted(want.items()) if name not in present)
    return out


def _ours(live, manager):
    """Whether ``manager`` holds the Service's waypoint label (among the managers that hold it)."""
    holders = ownership.managers_of(live, LABEL_PATH)
    return len(ownership.others(holders, manager)) < len(holders)


def _label_one(module, rest, path, live, waypoint, manager):
    for _attempt in range(CONFLICT_RETRIES):
        meta = live.get("metadata") or {}
        current = (meta.get("labels") or {}).get(USE_WAYPOINT)
        if current == waypoint:
            return {"waypoint": waypoint, "action": "unchanged"}
        drift = label_drift(live, {USE_WAYPOINT: waypoint}, manager)
        if drift and not module.params["force_conflicts"]:
            if module.check_mode:
                return {"waypoint": current, "action": "drifted", "drift": drift}
            module.fail_json(msg="Service %s/%s: its waypoint label was changed by another field manager: %s. Nothing "
                                 "of it was changed. Set force_conflicts=true (aksmesh_reconcile: force) to set it "
                                 "back, or change service_waypoints to what it should be" % (
                                     meta.get("namespace"), meta.get("name"), ownership.drift_text(drift, manager)))
        action = "labelled" if waypoint else "unlabelled"
        if module.check_mode:
            return {"waypoint": waypoint, "action": action}
        patch = {"metadata": {"labels": {USE_WAYPOINT: waypoint}, "resourceVersion": meta.get("resourceVersion")}}
        try:
            rest.request("PATCH", path, {"fieldManager": manager}, patch, "application/merge-patch+json")
            return {"waypoint": waypoint, "action": action}
        except K8sApiError as exc:
            if exc.status != 409:
                raise
        live = rest.request("GET", path, ok_missing=True)  # changed since it was read: read it again
        if live is None:
            return {"waypoint": waypoint, "action": "pending"}
    module.fail_json(msg="Service %s kept changing while it was labelled (%d conflicts): re-run" % (
        path.rsplit("/", 1)[-1], CONFLICT_RETRIES))
    return None
