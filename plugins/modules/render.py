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
extends_documentation_fragment:
  - aksmesh.istio.attributes.in_process
  - aksmesh.istio.attributes.in_process_action
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

from ansible_collections.aksmesh.istio.plugins.module_utils._files import render
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.redact import MaskingModule


def main():
    module = MaskingModule(argument_spec=render.argument_spec(), supports_check_mode=True)
    render.run(module)


if __name__ == "__main__":
    main()
