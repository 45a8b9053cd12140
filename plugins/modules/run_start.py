#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The documentation of the aksmesh.istio.run_start action plugin (plugins/action/run_start.py), which runs on the
# controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: run_start
short_description: Start a run of the collection's playbooks on a host with its run state empty
version_added: 0.3.0
description:
  - Sets the host's run state facts empty, as P(ansible.builtin.set_fact#module) with C(cacheable=true) would -
    C(settings_planned) (what a check-mode run would have created so far), C(settings_report) (the drift each stage
    finds) and C(settings_changed) (the stages that changed something), which the collection's action plugins add
    to. Cacheable, so that a fact cache never hands an earlier run's state to this one.
  - The P(aksmesh.istio.settings#role) role runs it first. C(ansible-playbook) loads this action in its own process
    before it forks the task's worker, and with it the collection's programs, the kubernetes client and the
    collection's filter plugins, once - every later task's worker finds them loaded instead of compiling them again.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.controller
attributes:
  check_mode:
    support: full
    description: Sets the facts in check mode too, as P(ansible.builtin.set_fact#module) does.
  diff_mode:
    support: none
    description: Sets facts only.
options: {}
seealso:
  - module: ansible.builtin.set_fact
"""

EXAMPLES = r"""
- name: Start the check-mode plan and the drift report of the run empty
  aksmesh.istio.run_start:
"""

RETURN = r"""
ansible_facts:
  description: The run state facts, empty.
  returned: always
  type: dict
  sample: {"settings_planned": {}, "settings_report": {}, "settings_changed": []}
"""
