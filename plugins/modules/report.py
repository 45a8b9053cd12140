#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# The documentation of the aksmesh.istio.report action plugin (plugins/action/report.py), which runs on the
# controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: report
short_description: Write a run's report file on the controller
version_added: 0.3.0
description:
  - Writes O(content) to O(dest) on the controller (where C(ansible-playbook) runs, the execution environment under
    AWX), whatever the task's connection, as P(ansible.builtin.fetch#module) writes its C(dest).
  - The file is replaced at once (a temporary file in the same folder, then a rename), with mode C(0600); missing
    folders on the way are created with mode C(0700). An existing folder keeps its mode.
  - A report is output, not a change - the task never reports C(changed), and writes the file in check mode too.
  - The end of C(site.yml) writes each cluster's drift report with it (the P(aksmesh.istio.mesh_analyze#role) role's
    C(report) entry point), without a module process.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.controller
attributes:
  check_mode:
    support: full
    description: Writes the report in check mode too - it is the run's output, not a change to the cluster.
  diff_mode:
    support: none
    description: A report is output; it is not diffed.
options:
  dest:
    description:
      - The report file, on the controller.
      - A folder fails the task, naming it.
    type: path
    required: true
  content:
    description: The file's text, for instance C({{ report | to_nice_json }}).
    type: str
    required: true
seealso:
  - module: ansible.builtin.copy
"""

EXAMPLES = r"""
- name: Write the report of this cluster
  aksmesh.istio.report:
    dest: "reports/{{ inventory_hostname }}.json"
    content: "{{ mesh_analyze_report | to_nice_json }}\n"
"""

RETURN = r"""
dest:
  description: The report file written.
  returned: always
  type: str
  sample: reports/aks-prod-1.json
rewritten:
  description: Whether the file's content differs from what the file held before (a new file counts).
  returned: always
  type: bool
"""
