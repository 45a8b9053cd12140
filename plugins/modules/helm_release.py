#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: helm_release
short_description: Install, upgrade or uninstall a Helm chart release, only when something differs
version_added: 0.1.0
description:
  - Runs the C(helm) CLI for the Istio charts (C(base), C(istiod), C(gateway)). Reads the release with
    C(helm list -o json) and C(helm get values -o json) and runs C(helm upgrade --install) only when the chart,
    its version or the values differ, so a second run reports C(changed=false).
  - Values go to helm on standard input (C(-f -)); no values file is written.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.action
  - aksmesh.istio.k8s_auth
  - aksmesh.istio.k8s_auth.tool
attributes:
  check_mode:
    support: full
    description: >-
      Reads the release and reports what would change; when it would, renders the chart with C(helm template) and
      compares the objects with the cluster (RV(manifest_changes)), and returns the namespaces and CRDs the
      release would create as RV(planned) for the next tasks of the check-mode run.
  diff_mode:
    support: full
    description: Shows the release's values and chart version before and after.
options:
  name:
    description: Release name.
    type: str
    required: true
  chart:
    description: Chart name in the repository (C(base), C(istiod), C(gateway)).
    type: str
  repo:
    description: Chart repository URL.
    type: str
    default: https://istio-release.storage.googleapis.com/charts
  version:
    description: Chart version.
    type: str
  namespace:
    description: Release namespace.
    type: str
    required: true
  values:
    description: Chart values.
    type: dict
    default: {}
  create_namespace:
    description: Create the namespace if missing.
    type: bool
    default: true
  wait:
    description: Wait until the release's resources are ready.
    type: bool
    default: true
  timeout:
    description:
      - Helm's wait timeout, a Go duration such as C(300s) or C(5m0s); anything else fails before anything runs.
    type: str
    default: 5m0s
  state:
    description:
      - Whether the release should exist.
      - C(rendered) changes nothing and needs no cluster - the chart's objects as C(helm install) would leave
        them (RV(objects)), for render mode; C(changed) is always false.
    type: str
    choices: [present, absent, rendered]
    default: present
  kube_version:
    description:
      - With O(state=rendered), the Kubernetes version the chart renders for (its C(.Capabilities.KubeVersion) and
        C(kubeVersion) constraint; cert-manager's chart refuses helm's own default, v1.20.0). In check mode the
        cluster's own version is used.
    type: str
  helm_path:
    description: The helm binary; default, helm on PATH.
    type: path
  compare_only:
    description:
      - With O(state=present), compare the release with the one asked for (RV(differs), RV(changes)) and change
        nothing (C(changed) false; in check mode, as always, C(changed) says whether it would change).
      - Quick and synchronous - the P(aksmesh.istio.istio_helm#role) role compares every release first and starts
        C(helm upgrade --install), with its wait in the background, only for those that differ, so a converged
        cluster costs no wait.
    type: bool
    default: false
requirements:
  - helm 3 on the controller
seealso:
  - module: aksmesh.istio.istio_install
"""

EXAMPLES = r"""
- name: The istiod chart's objects as helm install leaves them (no cluster)
  aksmesh.istio.helm_release:
    name: istiod
    chart: istiod
    version: 1.30.0
    namespace: istio-system
    kube_version: 1.34.0
    state: rendered
  register: istiod_objects

- name: istiod from the Istio charts
  aksmesh.istio.helm_release:
    name: istiod
    chart: istiod
    version: 1.30.0
    namespace: istio-system
    values:
      meshConfig:
        outboundTrafficPolicy: {mode: REGISTRY_ONLY}
"""

RETURN = r"""
differs:
  description: Whether the release differs from the one asked for (it was, or would be, installed or upgraded).
  returned: when O(state=present)
  type: bool
  sample: false
changes:
  description: Why the release was (or would be) installed, upgraded or removed.
  returned: always
  type: list
  elements: str
  sample: [chart version 1.29.2, wanted 1.30.0]
release:
  description: The release after the run (chart, version, revision, status), null when absent.
  returned: always
  type: dict
manifest_changes:
  description:
    - Check mode. The chart's objects (C(helm template), CRDs included) that differ from the cluster, each with
      C(apiVersion), C(kind), C(namespace), C(name) and C(action) (C(create) or C(configure)), as
      RV(aksmesh.istio.istio_install#module:manifest_changes).
  returned: in check mode, when the release would be installed or upgraded
  type: list
  elements: dict
planned:
  description:
    - Check mode. The namespace and CRD kinds the release would create (C(namespaces), C(kinds)); the action
      plugin adds them to the run's plan, the host fact C(settings_planned), which the next tasks of the
      check-mode run read (O(aksmesh.istio.apply#module:planned)).
  returned: in check mode, when the release would be installed or upgraded
  type: dict
objects:
  description:
    - O(state=rendered). The objects C(helm template --include-crds --no-hooks) prints, as C(helm install) leaves
      them - in the release's namespace when they name none, with the label C(app.kubernetes.io/managed-by=Helm)
      and the annotations C(meta.helm.sh/release-name) and C(meta.helm.sh/release-namespace), so a later
      C(helm upgrade) of the release adopts them. Hooks are left out (C(helm install) runs and deletes them).
  returned: when O(state=rendered)
  type: list
  elements: dict
stdout:
  description: helm's output when it ran.
  returned: when helm changed something
  type: str
"""

import json

from ansible_collections.aksmesh.istio.plugins.module_utils import _cli as cli
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import helm
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors, manifests, names, planned
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.apply import ApplyEngine
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import tool_kubeconfig
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule, resolve
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import RestClient


def what_it_would_do(module, conn, rendered):
    """Check mode: the rendered chart compared with the cluster (manifest_changes), and the namespace and CRDs the
    release would create (planned)."""
    p = module.params
    try:
        objs = manifests.normalize(manifests.expand([rendered]))
    except manifests.ManifestError as exc:
        module.fail_json(msg="helm template printed an unusable manifest for chart %s: %s" % (p["chart"], exc))
    rest = RestClient(conn.client, timeout=p["request_timeout"])
    engine = ApplyEngine(rest, field_manager="helm", default_namespace=p["namespace"])
    differ = [(obj, live) for obj, live, same in engine.compare(objs) if not same]
    plan = planned.Planned()
    if p["create_namespace"] and rest.request("GET", "/api/v1/namespaces/%s" % names.segment(
            "Namespace", p["namespace"]), ok_missing=True) is None:
        differ.insert(0, ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": p["namespace"]}}, None))
    plan.add_missing(differ)
    return dict(manifest_changes=planned.changes(differ), planned=plan.result())


def rendered_objects(module, binary):
    """state=rendered: the chart's objects (no hooks) as helm install leaves them; no cluster is asked anything."""
    p = module.params
    argv = [binary, "-n", p["namespace"]] + helm.template_argv(p["repo"], p["name"], p["chart"], p["version"],
                                                               p["kube_version"], hooks=False)
    try:
        _rc, out, _err = cli.run(module, argv, data=json.dumps(p["values"]))
    except cli.CommandError as exc:
        module.fail_json(msg="helm template of chart %s (release %s in %s) failed (exit %s): %s" % (
            p["chart"], p["name"], p["namespace"], exc.rc, exc.detail), rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)
    try:
        objs = manifests.normalize(manifests.expand([out]))
    except manifests.ManifestError as exc:
        module.fail_json(msg="helm template printed an unusable manifest for chart %s: %s" % (p["chart"], exc))
    return helm.as_installed(objs, p["name"], p["namespace"])


def main():
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(
        name=dict(type="str", required=True), chart=dict(type="str"),
        repo=dict(type="str", default="https://istio-release.storage.googleapis.com/charts"),
        version=dict(type="str"), namespace=dict(type="str", required=True), values=dict(type="dict", default={}),
        create_namespace=dict(type="bool", default=True), wait=dict(type="bool", default=True),
        timeout=dict(type="str", default="5m0s"),
        state=dict(type="str", default="present", choices=["present", "absent", "rendered"]),
        helm_path=dict(type="path"), compare_only=dict(type="bool", default=False), kube_version=dict(type="str"))
    module = KubeModule(argument_spec=spec, supports_check_mode=True,
                        required_if=[("state", "present", ["chart"]), ("state", "rendered", ["chart"])])
    p = module.params
    problems = helm.argument_problems(p["name"], p["chart"] if p["state"] != "absent" else None, p["namespace"])
    problems += [why for why in [cli.duration_problem("timeout", p["timeout"]),
                                 helm.kube_version_problem(p["kube_version"])] if why]
    if problems:
        module.fail_json(msg="; ".join(problems) + "; nothing changed")
    binary = cli.find_tool(module, "helm", p["helm_path"], "install helm 3 (https://helm.sh/docs/intro/install/)")
    if p["state"] == "rendered":
        module.exit_json(changed=False, changes=[], release=None, objects=rendered_objects(module, binary))
    conn = resolve(module)  # one connection: helm's and the API client's (check mode)
    tool_kubeconfig.require(module, conn, "helm")

    def run(argv, data=None):
        try:
            with tool_kubeconfig.tool_connection(conn, tool_kubeconfig.HELM) as (kube, environ):
                return cli.run(module, [binary] + kube + ["-n", p["namespace"]] + argv, data=data, environ=environ)
        except cli.CommandError as exc:
            module.fail_json(msg="helm %s for release %s in %s failed (exit %s): %s" % (
                argv[0], p["name"], p["namespace"], exc.rc, exc.detail), rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)

    _rc, listing, _err = run(["list", "-o", "json", "--filter", "^%s$" % p["name"]])
    current = helm.release_status(listing, p["name"])
    current_values = None
    if current is not None:
        _rc, out, _err = run(["get", "values", "-o", "json", "--", p["name"]])
        current_values = json.loads(out or "null")
    result = dict(changed=False, changes=[], release=current)
    if p["state"] == "absent":
        if current is not None:
            result.update(changed=True, changes=["installed"], release=None)
            if not module.check_mode:
                result["stdout"] = run(["uninstall", "--", p["name"]])[1]
        module.exit_json(**result)
    changes = helm.changes(current, current_values, p["chart"], p["version"], p["values"])
    result.update(changes=changes, differs=bool(changes))
    if changes and p["compare_only"] and not module.check_mode:
        module.exit_json(**result)  # compared, nothing changed: the next task installs
    if changes:
        result["changed"] = True
        if module._diff:
            result["diff"] = dict(before={"version": (current or {}).get("version"), "values": current_values or {}},
                                  after={"version": p["version"], "values": p["values"]})
        if module.check_mode:
            def would_do():
                # the cluster's Kubernetes version: without it helm template assumes v1.20.0, and a chart's
                # kubeVersion constraint (cert-manager's ">= 1.22.0-0") refuses to render
                server = RestClient(conn.client, timeout=p["request_timeout"]).request("GET", "/version") or {}
                argv = helm.template_argv(p["repo"], p["name"], p["chart"], p["version"], server.get("gitVersion"))
                rendered = run(argv, data=json.dumps(p["values"]))[1]
                return dict(result, **what_it_would_do(module, conn, rendered))
            errors.run(module, would_do, what="comparing chart %s with the cluster failed" % p["chart"])
        else:
            argv = ["upgrade", "--install", "--repo", p["repo"], "-f", "-"]
            if p["version"]:
                argv += ["--version", p["version"]]
            if p["create_namespace"]:
                argv.append("--create-namespace")
            if p["wait"]:
                argv += ["--wait", "--timeout", p["timeout"]]
            argv += ["--", p["name"], p["chart"]]  # positionals after "--": never read as flags
            result["stdout"] = run(argv, data=json.dumps(p["values"]))[1]
            _rc, listing, _err = run(["list", "-o", "json", "--filter", "^%s$" % p["name"]])
            result["release"] = helm.release_status(listing, p["name"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
