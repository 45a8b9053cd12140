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
      - Analyze every namespace (C(-A)) and report every finding.
      - Defaults to true unless O(namespace), O(namespaces) or O(mesh_namespaces) is given.
    type: bool
  namespaces:
    description:
      - Report only the findings about objects in these namespaces (and about cluster-scoped objects).
      - istioctl's C(-n) takes one namespace, so the module analyzes every namespace (C(-A)) once and keeps these
        namespaces' findings; an analysis needs the other namespaces' objects anyway (a VirtualService's gateway,
        a DestinationRule's host).
      - Ignored with O(all_namespaces=true).
    type: list
    elements: str
    default: []
  mesh_namespaces:
    description:
      - Report the findings in the namespaces of the mesh too (added to O(namespaces)), read from the cluster
        - the namespaces labelled C(app.kubernetes.io/managed-by=aksmesh) (those the collection created) and
        those enrolled in sidecar injection (labelled C(istio-injection) or C(istio.io/rev)).
      - Needs the cluster (O(use_kube)). Ignored with O(all_namespaces=true).
    type: bool
    default: false
  absent_hosts:
    description:
      - What a route to a host that no Service answers yet (C(IST0101 Referenced host not found)) does.
      - C(fail) - like any finding at or above O(fail_level).
      - C(report) - it is returned in RV(messages) and fails nothing, for a mesh whose routes are applied before
        the applications they route to.
    type: str
    choices: [fail, report]
    default: fail
  istio_namespace:
    description:
      - The Istio namespace (C(--istioNamespace)), where istioctl reads the mesh config and finds istiod;
        default istioctl's (C(istio-system)). The AKS add-on's is C(aks-istio-system).
    type: str
  revision:
    description: The control-plane revision to analyze for (C(--revision)), for example the AKS add-on's
      C(asm-1-28); default istioctl's (C(default)).
    type: str
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

- name: Analyze the namespaces of the mesh on the AKS add-on (its Istio namespace and revision)
  aksmesh.istio.istioctl_analyze:
    mesh_namespaces: true
    istio_namespace: aks-istio-system
    revision: asm-1-28
    fail_level: Warning

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
namespaces:
  description: The namespaces whose findings were kept (O(namespaces), O(mesh_namespaces)); null when every
    namespace's were.
  returned: always
  type: list
  elements: str
  sample: [istio-egress, istio-ingress, istio-system, shop]
rc:
  description: istioctl's exit code (0 with C(-o json), whatever it found).
  returned: always
  type: int
"""

from ansible_collections.aksmesh.istio.plugins.module_utils import _cli as cli
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import analyze as analysis
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import istioctl
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors, rest, tool_kubeconfig
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule, resolve
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC

LEVELS = list(analysis.LEVELS)


def analyze(module, binary, conn):
    """(rc, stdout, stderr, command) of istioctl analyze, on ``conn`` (None: offline)."""
    if conn is None:
        cmd = analysis.build_command(binary, module.params)
        return cli.run(module, cmd, ok_codes=(0, istioctl.ANALYZE_FOUND)) + (cmd,)
    with tool_kubeconfig.tool_connection(conn) as (args, environ):
        cmd = analysis.build_command(binary, module.params, args)
        return cli.run(module, cmd, ok_codes=(0, istioctl.ANALYZE_FOUND), environ=environ) + (cmd,)


def reported_namespaces(module, conn):
    """The namespaces whose findings count (None: every namespace), by the namespaces and mesh_namespaces options."""
    p = module.params
    if p["all_namespaces"] or not (p["namespaces"] or p["mesh_namespaces"]):
        return None
    out = set(p["namespaces"])
    if p["mesh_namespaces"]:
        client = rest.RestClient(conn.client, timeout=p["request_timeout"])
        try:
            out |= analysis.mesh_namespaces(rest.list_items(client, "/api/v1/namespaces"))
        except rest.K8sApiError as exc:
            module.fail_json(msg=errors.describe(exc, "cannot list the namespaces to find the mesh's (mesh_namespaces)"))
    return out


def main():
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(
        src=dict(type="list", elements="path", default=[]), use_kube=dict(type="bool"),
        recursive=dict(type="bool", default=True), namespace=dict(type="str"),
        all_namespaces=dict(type="bool"), namespaces=dict(type="list", elements="str", default=[]),
        mesh_namespaces=dict(type="bool", default=False), istio_namespace=dict(type="str"),
        absent_hosts=dict(type="str", choices=["fail", "report"], default="fail"),
        revision=dict(type="str"), suppress=dict(type="list", elements="str", default=[]),
        fail_level=dict(type="str", choices=LEVELS, default="Error"),
        output_threshold=dict(type="str", choices=LEVELS, default="Info"),
        timeout=dict(type="str", default="30s"), istioctl_path=dict(type="path"))
    module = KubeModule(argument_spec=spec, supports_check_mode=True,
                        mutually_exclusive=[("namespace", "namespaces"), ("namespace", "mesh_namespaces")])
    p = module.params
    if not p["recursive"]:
        module.fail_json(msg="recursive=false: istioctl analyze always reads directories recursively; list the "
                             "files to analyze in src instead")
    if p["mesh_namespaces"] and not analysis.uses_kube(p):
        module.fail_json(msg="mesh_namespaces=true finds the mesh's namespaces on the cluster: set use_kube=true, "
                             "or list the namespaces in namespaces")
    binary = istioctl.find(module, p["istioctl_path"])
    conn = None
    if analysis.uses_kube(p):
        conn = resolve(module)  # the connection the module's options name, handed to istioctl as it is
        tool_kubeconfig.require(module, conn, "istioctl")
    namespaces = reported_namespaces(module, conn)
    try:
        rc, out, err, cmd = analyze(module, binary, conn)
    except cli.CommandError as exc:
        module.fail_json(msg="istioctl analyze failed (exit code %s, not a finding): %s" % (
            exc.rc, (exc.stderr or exc.stdout).strip()), rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr,
            command=exc.command)
    try:
        messages, unparsed = analysis.parse(out)
    except analysis.OutputError as exc:
        module.fail_json(msg=str(exc), rc=rc, stdout=out, stderr=err, command=cmd)
    if unparsed:  # istioctl skips files it cannot read and says so only in its log
        module.fail_json(msg="istioctl analyze could not parse: %s" % "; ".join(unparsed), rc=rc, stdout=out,
                         stderr=err, command=cmd, messages=messages)
    reported, failing, counts = analysis.findings(analysis.concerning(messages, namespaces), p)
    result = dict(changed=False, messages=reported, counts=counts, command=cmd, rc=rc,
                  namespaces=sorted(namespaces) if namespaces is not None else None)
    # istioctl's 79 counts every namespace it saw: with a namespace filter, only the findings left decide
    if failing or (rc == istioctl.ANALYZE_FOUND and namespaces is None):
        module.fail_json(msg=analysis.failure_message(failing, p["fail_level"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
