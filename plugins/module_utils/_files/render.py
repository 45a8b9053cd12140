# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render mode: one YAML file per object, grouped by stage, for review and GitOps (Flux/Argo apply it), the pods'
values written as the API server stores them.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.aksmesh.istio.plugins.module_utils._files import atomic as atomic_file
from ansible_collections.aksmesh.istio.plugins.module_utils._files import text as text_file
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.canonical import as_stored

try:
    import yaml
    HAS_YAML = True
except ImportError:  # PyYAML comes with ansible-core; the module reports it if missing
    HAS_YAML = False

# files we wrote carry this first line; pruning never touches anything else
MARKER = "# rendered by aksmesh.istio; stage: %s\n"
SAFE = re.compile(r"[^a-z0-9.-]+")
# a stage's folder: one plain name inside dest (never '.', '..', nor a path)
STAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*\Z")


def stage_problem(stage):
    """Why ``stage`` cannot name a folder of its own inside the render folder, or None."""
    if not STAGE_NAME.match((stage or "").lower()):
        return ("stage %r is not a plain folder name: give lower-case letters, digits, dots and hyphens, starting "
                "with a letter or digit (one folder, no path), so the files stay inside dest" % (stage,))
    return None


# kinds other objects of a folder depend on sort first, so `kubectl apply -R -f` works in one pass
FIRST = {"Namespace": "00", "CustomResourceDefinition": "01"}


def file_name(obj):
    meta = obj.get("metadata") or {}
    parts = [obj.get("kind", "object"), meta.get("namespace") or "_cluster", meta.get("name", "unnamed")]
    name = SAFE.sub("-", "-".join(parts).lower()).strip("-") + ".yaml"
    first = FIRST.get(obj.get("kind"))
    return "%s-%s" % (first, name) if first else name


def render_text(obj, stage):
    return MARKER % stage + yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)


def plan(objects, folder, stage, prune=True):
    """{path: (text, mode)} to write, [paths] to remove, [paths] unchanged."""
    wanted = {}
    # as the API server stores them: a GitOps tool's re-apply then compares equal values (see _k8s/canonical.py)
    for obj in as_stored(objects):
        secret = obj.get("kind") == "Secret"
        path = os.path.join(folder, file_name(obj))
        if path in wanted:
            name = (obj.get("metadata") or {}).get("name")
            raise ValueError("two objects render to %s: %s %s" % (path, obj.get("kind"), name))
        wanted[path] = (render_text(obj, stage), 0o600 if secret else 0o644)
    write, same = {}, []
    for path, (text, mode) in wanted.items():
        try:
            current = text_file.read(path)
            current_mode = os.stat(path).st_mode & 0o777
        except (text_file.UnreadableFile, IOError, OSError):  # absent (or not ours to keep): written anew
            current, current_mode = None, None
        if current == text and current_mode == mode:
            same.append(path)
        else:
            write[path] = (text, mode, current)
    remove = []
    if prune and os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if path in wanted or not name.endswith(".yaml"):
                continue
            # a file we cannot read is not ours to remove; say which one (UnreadableFile)
            if text_file.read(path, "render folder file", first_line=True) == MARKER % stage:
                remove.append(path)
    return write, remove, same


def execute(write, remove):
    for path, (text, mode, _current) in write.items():
        atomic_file.write(path, text, mode, folder_mode=0o755)
    for path in remove:
        os.unlink(path)
