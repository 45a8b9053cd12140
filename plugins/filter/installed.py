# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The istioctl_as_installed filter: ``istioctl manifest generate`` objects as ``istioctl install`` leaves them on a
cluster, so that a GitOps re-sync of the render conflicts with nothing it installed (docs/gitops.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.istioctl import chart_component, label_as_installed
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.canonical import as_stored
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.manifests import ManifestError, load_text


def istioctl_as_installed(objs, operator, version, revision=""):
    if isinstance(objs, str):  # istioctl's output as it wrote it: parsed once, with the C loader when there is one
        try:
            # a plain str (join makes one): the C loader takes no subclass of str, which Ansible's unsafe and tagged
            # text is, and their encode() and str() keep the subclass
            objs = load_text("".join([objs]), origin="istioctl manifest generate's output")
        except ManifestError as exc:
            raise AnsibleFilterError("istioctl_as_installed: %s" % exc)
    if not isinstance(objs, list) or not all(isinstance(o, dict) for o in objs):
        raise AnsibleFilterError("istioctl_as_installed: expected the list of objects istioctl manifest generate "
                                 "wrote")
    if not isinstance(operator, dict) or not isinstance(version, str) or not version:
        raise AnsibleFilterError("istioctl_as_installed: give the IstioOperator (a mapping) and istioctl's version")
    plain = json.loads(json.dumps(objs))  # plain types: Ansible hands over tagged subclasses
    return label_as_installed(as_stored(plain), operator, version, revision or None, chart_component)


class FilterModule(object):
    def filters(self):
        return {"istioctl_as_installed": istioctl_as_installed}
