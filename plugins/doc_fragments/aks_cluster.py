# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  resource_group:
    description: Resource group of the AKS cluster.
    type: str
    required: true
  name:
    description: Name of the AKS managed cluster.
    type: str
    required: true
    aliases: [cluster_name]
requirements:
  - azure-mgmt-containerservice >= 27.0.0
"""
