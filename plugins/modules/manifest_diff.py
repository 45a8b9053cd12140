#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: manifest_diff
short_description: Compare two Kubernetes manifests as structured objects
version_added: 0.1.0
description:
  - Compares two manifests (files, YAML text, object lists, or two IstioOperator configurations rendered with
    C(istioctl manifest generate)) object by object. This restores the "generate twice, then diff" step of the
    runbook now that C(istioctl manifest diff) no longer exists.
  - Objects are matched by API group, kind, namespace and name, so document order and API versions do not matter.
    Lists Kubernetes merges by key (containers, env, volumes, ports, any list whose items carry a unique C(name))
    are compared by key.
  - Secret values never reach the result or the diff; they are masked (C(********)), and a value that differs as
    C(******** (changed)), so the diff still names the keys that change.
  - Read only; use the result in C(failed_when) or C(when).
author:
  - aksmesh developers (@aksmesh)
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: full
    description: Shows the unified diff of the two manifests (Secret values masked).
options:
  before:
    description: The first manifest as YAML text or a list of objects.
    type: raw
  after:
    description: The second manifest as YAML text or a list of objects.
    type: raw
  before_path:
    description: A file holding the first manifest.
    type: path
  after_path:
    description: A file holding the second manifest.
    type: path
  before_operator:
    description: An IstioOperator (dictionary, or a file path) to render with C(istioctl manifest generate) as the
      first manifest.
    type: raw
  after_operator:
    description: An IstioOperator (dictionary, or a file path) to render as the second manifest.
    type: raw
  istioctl_path:
    description: The istioctl binary for O(before_operator) and O(after_operator). Defaults to the one on C(PATH).
    type: path
  ignore:
    description:
      - Paths to leave out of the comparison, dot-separated, with keys that contain dots in double quotes and C(*)
        for any key, for example C(metadata.labels."helm.sh/chart") or C(spec.template.spec.containers.*.image).
        Items of keyed lists are addressed as C(name=<name>).
    type: list
    elements: str
    default: []
  select:
    description: Compare only objects whose kind, namespace and name match these glob patterns.
    type: dict
    suboptions:
      kind:
        description: Kind pattern.
        type: str
      namespace:
        description: Namespace pattern (cluster-scoped objects have an empty namespace).
        type: str
      name:
        description: Name pattern.
        type: str
  context_lines:
    description: Lines of context in the unified diff.
    type: int
    default: 3
"""

EXAMPLES = r"""
- name: What would switching to the new operator change?
  aksmesh.istio.manifest_diff:
    before_operator: "{{ lookup('file', 'iop-current.yaml') | from_yaml }}"
    after_operator: "{{ lookup('file', 'iop-next.yaml') | from_yaml }}"
    ignore:
      - metadata.labels."helm.sh/chart"
      - metadata.labels."app.kubernetes.io/version"
  register: plan

- name: Stop when the rendered manifests drift from the reviewed ones
  aksmesh.istio.manifest_diff:
    before_path: reviewed/istio.yaml
    after_path: "{{ render_dir }}/istio.yaml"
    select:
      kind: Deployment
  register: drift
  failed_when: drift.differs
"""

RETURN = r"""
differs:
  description: Whether anything was added, removed or changed.
  returned: always
  type: bool
added:
  description: Objects only in the second manifest, as C(Kind.group namespace/name).
  returned: always
  type: list
  elements: str
removed:
  description: Objects only in the first manifest.
  returned: always
  type: list
  elements: str
changed_objects:
  description: Objects in both that differ, each with C(object), C(kind), C(namespace), C(name) and C(changes), a
    list of C({path, before, after}) (null stands for absent).
  returned: always
  type: list
  elements: dict
counts:
  description: Numbers of added, removed, changed and unchanged objects.
  returned: always
  type: dict
unified_diff:
  description: A unified diff of the normalized objects.
  returned: always
  type: str
"""

import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.aksmesh.istio.plugins.module_utils import _cli as cli
from ansible_collections.aksmesh.istio.plugins.module_utils._files import text as text_file
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import istioctl
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import manifest_diff as md
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.redact import redact_pair, secret_values


def side(module, which, workdir):
    p = module.params
    if p[which] is not None:
        return md.load(p[which], which)
    if p[which + "_path"]:
        try:
            return md.load(text_file.read(p[which + "_path"], which + "_path"), p[which + "_path"])
        except text_file.UnreadableFile as exc:
            module.fail_json(msg=str(exc))
    operator = p[which + "_operator"]
    binary = istioctl.find(module, p["istioctl_path"])
    path = istioctl.write_operator(operator, workdir)
    try:
        _rc, out, _err = cli.run(module, [binary, "manifest", "generate", "-f", path])
    except cli.CommandError as exc:
        module.fail_json(msg="rendering %s_operator: %s" % (which, exc), rc=exc.rc, stderr=exc.stderr)
    return md.load(out, "istioctl manifest generate (%s)" % which)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            before=dict(type="raw"), after=dict(type="raw"), before_path=dict(type="path"),
            after_path=dict(type="path"), before_operator=dict(type="raw"), after_operator=dict(type="raw"),
            istioctl_path=dict(type="path"), ignore=dict(type="list", elements="str", default=[]),
            select=dict(type="dict", options=dict(kind=dict(type="str"), namespace=dict(type="str"),
                                                  name=dict(type="str"))),
            context_lines=dict(type="int", default=3)),
        required_one_of=[("before", "before_path", "before_operator"), ("after", "after_path", "after_operator")],
        mutually_exclusive=[("before", "before_path", "before_operator"), ("after", "after_path", "after_operator")],
        supports_check_mode=True)
    workdir = tempfile.mkdtemp(prefix="aksmesh-diff-")
    try:
        before = side(module, "before", workdir)
        after = side(module, "after", workdir)
        # Secret values never reach the output: masked in both manifests (a changed one as changed), and no-log
        module.no_log_values.update(secret_values(list(before.values()) + list(after.values())))
        for key in set(before) | set(after):
            if key[1] == "Secret":
                pair = redact_pair(before.get(key), after.get(key))
                for side_map, obj in ((before, pair[0]), (after, pair[1])):
                    if obj is not None:
                        side_map[key] = obj
        result = md.diff(before, after, module.params["ignore"], module.params["select"],
                         module.params["context_lines"])
    except md.DiffError as exc:
        module.fail_json(msg=str(exc))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out = md.to_json(result)
    if module._diff:
        out["diff"] = {"prepared": result["unified_diff"]}
    module.exit_json(changed=False, **out)


if __name__ == "__main__":
    main()
