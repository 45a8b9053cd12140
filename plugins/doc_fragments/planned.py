# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The check-mode hand-over between tasks (module_utils/_k8s/planned.py, plugin_utils/_action_module.py).
    DOCUMENTATION = r"""
options:
  planned:
    description:
      - Check mode only (ignored otherwise). What the earlier tasks of this check-mode run would have created. A dry
        run persists nothing, so on a fresh cluster the API server does not know those namespaces and kinds yet;
        objects that go into a planned namespace, or are of a planned kind, are reported as C(created) ("would
        create") instead of failing with C(namespaces "..." not found).
      - Default in check mode, the run's plan, which the action plugins of M(aksmesh.istio.apply),
        M(aksmesh.istio.istio_install), M(aksmesh.istio.helm_release), M(aksmesh.istio.injection) and
        M(aksmesh.istio.aks_mesh_addon) keep in the host fact C(settings_planned) (the settings role starts it empty);
        give this option only to replace it.
      - The module returns this mapping with what it would create itself added, and the action plugin adds it to
        the run's plan for the next tasks.
    type: dict
    suboptions:
      namespaces:
        description: Namespaces that would exist.
        type: list
        elements: str
        default: []
      kinds:
        description: Custom resource kinds that would be served, as C(<group>/<Kind>), or C(<group>/*) for every
          kind of a group.
        type: list
        elements: str
        default: []
"""
