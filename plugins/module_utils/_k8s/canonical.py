# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Objects written as the API server stores them, where a server-side apply compares values.

This file is private to the aksmesh.istio collection: its contents may change at any time.

A server-side apply by one field manager conflicts with another's on every field whose applied value differs from
the stored one. Three normalisations of the API server make a value that means the same differ: it writes quantities
in their canonical form (``2000m`` is stored as ``2``, ``1024Mi`` as ``1Gi``), it defaults ``apiVersion: v1`` into
an object field selector (``fieldRef``), which it treats as one atomic value, and it leaves an environment
variable's empty ``value`` out. An object written in the stored form
applies without such conflicts, whoever applied it before (``istioctl install``, a GitOps tool, the collection).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.ownership import quantity as amount_of

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_SUFFIX = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
# the quantity grammar the API server takes (ownership.quantity, which values it, is laxer); the suffix tells the form
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?\Z")
_NANO = 10 ** 9


def quantity(value):
    """The canonical form of a Kubernetes quantity, as the API server stores it (apimachinery's
    ``Quantity.String``): the largest binary suffix that keeps a whole number for a binary quantity of at least
    1Ki, else the decimal suffix (or exponent) of a multiple of three that keeps the number whole, at most nano
    precision (rounded up). A value that is no quantity is returned as it is: the API server will say why."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return value
    found = _QUANTITY.match(str(value))
    if not found:
        return value
    suffix = found.group(2) or ""
    # (E alone is exa, a decimal suffix; e3 or E3 an exponent)
    style = "binary" if suffix in _BINARY else "exponent" if suffix[:1] in ("e", "E") and suffix[1:] else "decimal"
    amount = amount_of(value)  # exact (a Fraction)
    nanos = -(-amount * _NANO // 1)  # rounded up
    if nanos == 0:
        return "0"
    if style == "binary":
        if abs(amount) < 1024 or nanos % _NANO:
            style = "decimal"  # as the API server: no binary suffix below 1Ki or for a fraction of a byte
        else:
            whole, exponent = int(amount), 0
            while exponent < 60 and whole % 1024 == 0:
                whole, exponent = whole // 1024, exponent + 10
            return "%d%s" % (whole, dict((bits, name) for name, bits in _BINARY.items()).get(exponent, ""))
    mantissa, exponent = int(nanos), -9
    while mantissa % 1000 == 0 and exponent < 18:
        mantissa, exponent = mantissa // 1000, exponent + 3
    if style == "exponent":
        return "%de%d" % (mantissa, exponent) if exponent else "%d" % mantissa
    return "%d%s" % (mantissa, _SUFFIX[exponent])


def _walk(node):
    if isinstance(node, list):
        for item in node:
            _walk(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "fieldRef" and isinstance(value, dict) and "apiVersion" not in value:
            value["apiVersion"] = "v1"
        if key == "env" and isinstance(value, list):
            for var in value:
                if isinstance(var, dict) and var.get("value") == "":
                    del var["value"]  # stored without it (an empty value is left out), so applied without it
        if key == "resources" and isinstance(value, dict):
            for part in ("limits", "requests"):
                if isinstance(value.get(part), dict):
                    value[part] = dict((name, quantity(amount)) for name, amount in value[part].items())
        _walk(value)


# the kinds whose spec holds a pod (template): only there are the fields above what they seem (a CRD's schema may
# have properties of the same names)
POD_KINDS = ("Pod", "PodTemplate", "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "ReplicationController",
             "Job", "CronJob")


def as_stored(objs):
    """Copies of ``objs`` with, in the pods of the kinds that hold one, container resources in canonical
    quantities, ``apiVersion: v1`` in every field selector that lacks one and no empty environment variable values
    (see the module documentation); other objects as they are."""
    out = copy.deepcopy(list(objs))
    for obj in out:
        if isinstance(obj, dict) and obj.get("kind") in POD_KINDS:
            _walk(obj.get("spec"))
    return out
