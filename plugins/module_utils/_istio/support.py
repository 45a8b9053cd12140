# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Kubernetes versions each Istio line supports (a maintained table) and the check against it.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Istio minor line -> (minimum Kubernetes minor, newest tested Kubernetes minor), from istio.io's
# "Supported releases" table and istioctl's own minimum-version check. Update with each Istio line.
SUPPORT = {
    (1, 24): ((1, 28), (1, 31)),
    (1, 25): ((1, 29), (1, 32)),
    (1, 26): ((1, 29), (1, 33)),
    (1, 27): ((1, 29), (1, 33)),
    (1, 28): ((1, 30), (1, 34)),
    (1, 29): ((1, 31), (1, 35)),
    (1, 30): ((1, 32), (1, 35)),
    # 1.31: minimum from istioctl's own check (MinK8SVersion 32); tested up to the Kubernetes 1.35 our
    # test control plane runs
    (1, 31): ((1, 32), (1, 35)),
}


def minor_of(version):
    """(major, minor) of '1.30.0', 'v1.32.4', '1.32', 'asm-1-26'; None when it names no version."""
    match = re.search(r"(\d+)[.-](\d+)", str(version or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def _fmt(pair):
    return "%d.%d" % pair


def supported_range(istio_version):
    """(minimum, newest tested) Kubernetes minor of an Istio line, or (None, None) when not in the table."""
    return SUPPORT.get(minor_of(istio_version), (None, None))


def check_kubernetes(istio_version, kubernetes_version):
    """(errors, warnings) for running ``istio_version`` on ``kubernetes_version``."""
    line, kube = minor_of(istio_version), minor_of(kubernetes_version)
    if line is None:
        return ["istio_version %r is not a version such as 1.30.0" % (istio_version,)], []
    if kube is None:
        return ["cannot read the cluster's Kubernetes version %r" % (kubernetes_version,)], []
    if line not in SUPPORT:
        known = ", ".join(_fmt(k) for k in sorted(SUPPORT))
        return [], ["Istio %s is not in the support table (%s); the Kubernetes version was not checked"
                    % (_fmt(line), known)]
    low, high = supported_range(istio_version)
    if kube < low:
        return ["Kubernetes %s is older than Istio %s supports (%s to %s): upgrade the cluster "
                "(az aks upgrade --kubernetes-version %s or newer) or choose an older Istio line"
                % (_fmt(kube), _fmt(line), _fmt(low), _fmt(high), _fmt(low))], []
    if kube > high:
        return [], ["Kubernetes %s is newer than Istio %s was tested with (up to %s); it usually works, "
                    "but consider a newer Istio line" % (_fmt(kube), _fmt(line), _fmt(high))]
    return [], []
