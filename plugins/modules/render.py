#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: render
short_description: Write manifests as one file per object, grouped by stage (render mode, GitOps)
version_added: 0.1.0
description:
  - Writes every object to C(<dest>/<stage>/<kind>-<namespace>-<name>.yaml) instead of applying it, so a run can
    be reviewed, linted, or committed for Flux or Argo CD to apply.
  - Idempotent; a file is rewritten only when its content differs. Files this module wrote earlier for the same
    stage and no longer wanted are removed (O(prune)); other files in the folder are never touched.
  - Secret files are written with mode C(0600) and their values never appear in the output or the diff.
author:
  - aksmesh developers (@aksmesh)
attributes:
  check_mode:
    support: full
    description: Reports which files would be written or removed.
  diff_mode:
    support: full
    description: Shows each file before and after (Secret files as their paths only).
options:
  definitions:
    description: Objects, a list of objects, or multi-document YAML text.
    type: raw
    required: true
  dest:
    description: Output folder; the stage becomes a sub-folder.
    type: path
    required: true
  stage:
    description:
      - Stage name, the sub-folder (for example C(mtls), C(gateways)).
      - A plain folder name - lower-case letters, digits, dots and hyphens, starting with a letter or digit; a
        path (C(..), C(a/b)) is refused, so nothing is written outside O(dest).
    type: str
    required: true
  prune:
    description: Remove files rendered earlier for this stage that are no longer wanted.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Render the gateway objects for review
  aksmesh.istio.render:
    definitions: "{{ lookup('ansible.builtin.file', 'gateways.yaml') }}"
    dest: "{{ playbook_dir }}/rendered/demo-aks"
    stage: gateways
"""

RETURN = r"""
files:
  description: Every file of the stage with its action.
  returned: always
  type: list
  elements: dict
  sample: [{path: rendered/demo-aks/mtls/peerauthentication-istio-system-default.yaml, action: created}]
counts:
  description: Number of files per action (created, updated, unchanged, removed).
  returned: always
  type: dict
  sample: {created: 3, updated: 0, unchanged: 9, removed: 1}
folder:
  description: The stage folder.
  returned: always
  type: str
"""

import os

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.aksmesh.istio.plugins.module_utils._files import render
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.manifests import ManifestError, expand, normalize
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.redact import MaskingModule, secret_values


def main():
    module = MaskingModule(argument_spec=dict(definitions=dict(type="raw", required=True),
                                              dest=dict(type="path", required=True),
                                              stage=dict(type="str", required=True),
                                              prune=dict(type="bool", default=True)),
                           supports_check_mode=True)
    p = module.params
    if not render.HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    problem = render.stage_problem(p["stage"])
    if problem:
        module.fail_json(msg=problem)
    try:
        objs = normalize(expand([p["definitions"]]))
    except ManifestError as exc:
        module.fail_json(msg=str(exc))
    module.no_log_values.update(secret_values(objs))
    folder = os.path.join(p["dest"], p["stage"])
    try:
        write, remove, same = render.plan(objs, folder, p["stage"], p["prune"])
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
            render.execute(write, remove)
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot write the rendered manifests to %s: %s" % (folder, exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
