#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: istioctl_analyze
short_description: Run istioctl analyze on the live cluster or on files and return its findings
version_added: 0.1.0
description:
  - Runs C(istioctl analyze -o json) against the live cluster or offline against files (C(--use-kube=false)),
    and returns the parsed messages and their counts per level.
  - The module fails listing the messages at or above O(fail_level). It decides that from the messages
    themselves, because istioctl exits with code 79 for such findings only with its log output, and with 0 for
    C(-o json). Any other non-zero exit code is a failure of the tool itself and is reported with its output.
  - Read only.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.read_only
  - aksmesh.istio.k8s_auth
options:
  src:
    description: Files or directories to analyze. With O(use_kube=false) only these are analyzed; otherwise they are
      analyzed together with the cluster's configuration.
    type: list
    elements: path
    default: []
  use_kube:
    description: Include the live cluster. Defaults to true unless O(src) is given.
    type: bool
  recursive:
    description:
      - Read directories in O(src) recursively. istioctl always does (its C(-R) flag is removed, and giving it
        makes istioctl analyze nothing), so the module never passes C(-R).
      - C(false) is refused; list the files in O(src) instead.
    type: bool
    default: true
  namespace:
    description: Namespace to analyze (C(-n)).
    type: str
  all_namespaces:
    description:
      - Analyze every namespace (C(-A)).
      - Defaults to true unless O(namespace) is given.
    type: bool
  suppress:
    description: Messages to suppress, as C(CODE=Kind name.namespace) (istioctl's C(-S) syntax; C(*) matches all).
    type: list
    elements: str
    default: []
  fail_level:
    description: The failure threshold (C(--failure-threshold)); messages at or above it fail the module.
    type: str
    choices: [Info, Warning, Error]
    default: Error
  output_threshold:
    description: The lowest level to report (C(--output-threshold)).
    type: str
    choices: [Info, Warning, Error]
    default: Info
  timeout:
    description: istioctl's analysis timeout (C(--timeout)).
    type: str
    default: 30s
  istioctl_path:
    description: The istioctl binary. Defaults to the one on C(PATH).
    type: path
notes:
  - The Kubernetes connection is used only when the cluster is analyzed (O(use_kube)).
"""

EXAMPLES = r"""
- name: Analyze the mesh, failing only on errors
  aksmesh.istio.istioctl_analyze:
    kubeconfig: "{{ aksmesh_kubeconfig }}"
    suppress:
      - "IST0102=Namespace *"
  register: analysis

- name: Analyze rendered files offline, failing on warnings too
  aksmesh.istio.istioctl_analyze:
    src: [out/demo-aks/]
    use_kube: false
    fail_level: Warning
"""

RETURN = r"""
messages:
  description: istioctl's messages (C(code), C(level), C(message), C(origin), C(reference), C(documentationUrl)).
  returned: always
  type: list
  elements: dict
counts:
  description: Messages per level.
  returned: always
  type: dict
  sample: {"Error": 0, "Warning": 2, "Info": 1}
command:
  description: The command that ran.
  returned: always
  type: list
  elements: str
rc:
  description: istioctl's exit code (0 with C(-o json), whatever it found).
  returned: always
  type: int
"""

import json
import re

from ansible_collections.aksmesh.istio.plugins.module_utils import _cli as cli
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import istioctl
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import tool_kubeconfig
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule, resolve
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC


LEVELS = ("Info", "Warning", "Error")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\S+\t")  # istioctl's log lines: "<RFC 3339 time>\t<level>\t..."


def rank(level):
    return LEVELS.index(level) if level in LEVELS else 0


def uses_kube(p):
    return p["use_kube"] if p["use_kube"] is not None else not p["src"]


def build_command(binary, p, kube_args=()):
    """istioctl analyze's command line; ``kube_args`` hand it the cluster (see _k8s.tool_kubeconfig)."""
    use_kube = uses_kube(p)
    # istioctl prints only what reaches --output-threshold: ask for down to fail_level too, filter ourselves
    printed = LEVELS[min(rank(p["fail_level"]), rank(p["output_threshold"]))]
    cmd = [binary, "analyze", "-o", "json", "--use-kube=%s" % ("true" if use_kube else "false"),
           "--failure-threshold", p["fail_level"], "--output-threshold", printed, "--timeout", p["timeout"]]
    all_namespaces = p["all_namespaces"] if p["all_namespaces"] is not None else not p["namespace"]
    if all_namespaces:
        cmd.append("-A")
    elif p["namespace"]:
        cmd += ["-n", p["namespace"]]
    for rule in p["suppress"]:
        cmd += ["-S", rule]
    if use_kube:
        cmd += list(kube_args)
    return cmd + list(p["src"])


def analyze(module, binary, conn):
    """(rc, stdout, stderr, command) of istioctl analyze, on ``conn`` (None: offline)."""
    if conn is None:
        cmd = build_command(binary, module.params)
        return cli.run(module, cmd, ok_codes=(0, istioctl.ANALYZE_FOUND)) + (cmd,)
    with tool_kubeconfig.tool_connection(conn) as (args, environ):
        cmd = build_command(binary, module.params, args)
        return cli.run(module, cmd, ok_codes=(0, istioctl.ANALYZE_FOUND), environ=environ) + (cmd,)


def main():
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(
        src=dict(type="list", elements="path", default=[]), use_kube=dict(type="bool"),
        recursive=dict(type="bool", default=True), namespace=dict(type="str"),
        all_namespaces=dict(type="bool"), suppress=dict(type="list", elements="str", default=[]),
        fail_level=dict(type="str", choices=["Info", "Warning", "Error"], default="Error"),
        output_threshold=dict(type="str", choices=["Info", "Warning", "Error"], default="Info"),
        timeout=dict(type="str", default="30s"), istioctl_path=dict(type="path"))
    module = KubeModule(argument_spec=spec, supports_check_mode=True)
    if not module.params["recursive"]:
        module.fail_json(msg="recursive=false: istioctl analyze always reads directories recursively; list the "
                             "files to analyze in src instead")
    binary = istioctl.find(module, module.params["istioctl_path"])
    conn = None
    if uses_kube(module.params):
        conn = resolve(module)  # the connection the module's options name, handed to istioctl as it is
        tool_kubeconfig.require(module, conn, "istioctl")
    try:
        rc, out, err, cmd = analyze(module, binary, conn)
    except cli.CommandError as exc:
        cmd = exc.command
        module.fail_json(msg="istioctl analyze failed (exit code %s, not a finding): %s" % (
            exc.rc, (exc.stderr or exc.stdout).strip()), rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr, command=cmd)
    # istioctl logs to stdout before the JSON array (e.g. "<time> warn file error processing F: ... - skipping")
    logged = [line for line in out.splitlines() if LOG_LINE.match(line)]
    body = "\n".join(line for line in out.splitlines() if line not in logged)
    try:
        messages = json.loads(body) if body.strip() else []
    except ValueError:
        module.fail_json(msg="istioctl analyze -o json printed something that is not JSON", rc=rc, stdout=out,
                         stderr=err, command=cmd)
    unparsed = [line.split("error processing ", 1)[1] for line in logged if "error processing " in line]
    if unparsed:  # istioctl skips files it cannot read and says so only in its log
        module.fail_json(msg="istioctl analyze could not parse: %s" % "; ".join(unparsed), rc=rc, stdout=out,
                         stderr=err, command=cmd, messages=messages)
    p = module.params
    failing = [m for m in messages if rank(m.get("level", "Info")) >= rank(p["fail_level"])]
    messages = [m for m in messages if rank(m.get("level", "Info")) >= rank(p["output_threshold"])]
    counts = {"Error": 0, "Warning": 0, "Info": 0}
    for msg in messages:
        counts[msg.get("level", "Info")] = counts.get(msg.get("level", "Info"), 0) + 1
    result = dict(changed=False, messages=messages, counts=counts, command=cmd, rc=rc)
    if failing or rc == istioctl.ANALYZE_FOUND:
        module.fail_json(msg="istioctl analyze found %d message(s) at or above %s: %s" % (
            len(failing), p["fail_level"],
            "; ".join("%s %s (%s)" % (m.get("code"), m.get("message"), m.get("origin", "")) for m in failing[:5])),
            **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
