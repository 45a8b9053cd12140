# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure SDK models built from REST-shaped dicts, the same way for every supported azure-mgmt-* version.

Two generations of models are in the supported ranges: msrest-based models (azure-mgmt-containerservice up to
the 3x releases, azure-mgmt-authorization), whose constructors take keyword arguments only and flatten
``properties``, and the mapping-based models of the TypeSpec generation, whose constructor takes the REST
mapping. ``build`` goes through the deserializer of the first and the mapping constructor of the second, so the
collection writes REST shapes (camelCase, nested ``properties``) only. An msrest model silently leaves out what
its API version does not know; ``dropped`` tells what that was.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import rest


def build(model_class, body):
    """A ``model_class`` instance holding ``body``, a dict in the REST API's shape."""
    if hasattr(model_class, "from_dict"):  # msrest Model: deserialize reads REST keys (and flattened properties)
        return model_class.deserialize(body)
    return model_class(body)


def dropped(model, body):
    """The paths (``properties.a.b[0].c``) of the values in ``body`` that ``model`` does not carry, e.g. fields
    newer than the API version of the installed SDK; empty when it carries them all."""
    return _missing(body, rest(model), "")


def _missing(want, have, path):
    if want is None:
        return []
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return [path] if want else []
        found = []
        for key in sorted(want):
            found.extend(_missing(want[key], have.get(key), "%s.%s" % (path, key) if path else key))
        return found
    if isinstance(want, list):
        if not isinstance(have, list):
            return [path] if want else []
        found = []
        for index, item in enumerate(want):
            found.extend(_missing(item, have[index] if index < len(have) else None, "%s[%d]" % (path, index)))
        return found
    return [path] if have is None else []


def sdk_version(package):
    """The installed version of an azure-mgmt-* package (pip name), or "unknown"."""
    try:
        from importlib import import_module
        return import_module(package.replace("-", ".") + "._version").VERSION
    except (ImportError, AttributeError):
        return "unknown"


def unsupported(package, what, paths, needed):
    """The message for fields the installed SDK cannot send: names the package, its version, the fields and the
    version that can."""
    return ("the installed %s %s cannot send %s (%s): Azure would not get them. Fix: install %s >= %s"
            % (package, sdk_version(package), what, ", ".join(paths), package, needed))
