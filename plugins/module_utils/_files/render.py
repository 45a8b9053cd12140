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
from ansible.module_utils.basic import missing_required_lib
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.canonical import as_stored
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.manifests import ManifestError, expand, normalize
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.redact import secret_values

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


def argument_spec():
    """The render module's options (plugins/modules/render.py documents them)."""
    return dict(definitions=dict(type="raw", required=True), dest=dict(type="path", required=True),
                stage=dict(type="str", required=True), prune=dict(type="bool", default=True))


def run(module):
    """The render module: the stage's files planned, written unless in check mode, and the module's result."""
    p = module.params
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    problem = stage_problem(p["stage"])
    if problem:
        module.fail_json(msg=problem)
    try:
        objs = normalize(expand([p["definitions"]]))
    except ManifestError as exc:
        module.fail_json(msg=str(exc))
    module.no_log_values.update(secret_values(objs))
    folder = os.path.join(p["dest"], p["stage"])
    try:
        write, remove, same = plan(objs, folder, p["stage"], p["prune"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    files = [dict(path=path, action="updated" if write[path][2] is not None else "created") for path in sorted(write)]
    files += [dict(path=path, action="removed") for path in remove]
    files += [dict(path=path, action="unchanged") for path in sorted(same)]
    actions = ("created", "updated", "unchanged", "removed")
    counts = dict((a, len([f for f in files if f["action"] == a])) for a in actions)
    result = dict(changed=bool(write or remove), files=files, counts=counts, folder=folder)
    if module._diff and result["changed"]:
        diffs = []
        for path, (text, mode, current) in sorted(write.items()):
            hidden = mode == 0o600
            diffs.append(dict(before_header=path, after_header=path,
                              before="(secret)\n" if hidden and current else (current or ""),
                              after="(secret)\n" if hidden else text))
        diffs += [dict(before_header=path, after_header=path, before="(file)\n", after="") for path in remove]
        result["diff"] = diffs
    if not module.check_mode and result["changed"]:
        try:
            execute(write, remove)
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot write the rendered manifests to %s: %s" % (folder, exc))
    module.exit_json(**result)
