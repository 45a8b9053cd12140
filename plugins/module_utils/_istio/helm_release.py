# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The helm_release module's work: read the release, recover one an interrupted helm command left pending, and
install, upgrade or uninstall it only when it differs; render a chart; say what a check-mode run would do.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.aksmesh.istio.plugins.module_utils import _cli as cli
from ansible_collections.aksmesh.istio.plugins.module_utils._files import joblock
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import helm
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors, manifests, names, planned
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.apply import ApplyEngine
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import tool_kubeconfig
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import resolve
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import RestClient
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC

POLL = 5.0  # seconds between reads of a pending release that a helm command elsewhere may still be finishing
HISTORY_MAX = 256


class Helm(object):
    """The helm CLI on the module's connection, in the release's namespace; a failure fails the module."""

    def __init__(self, module, binary, conn):
        self.module, self.binary, self.conn = module, binary, conn
        self.name, self.namespace = module.params["name"], module.params["namespace"]

    def __call__(self, argv, data=None):
        try:
            with tool_kubeconfig.tool_connection(self.conn, tool_kubeconfig.HELM) as (kube, environ):
                return cli.run(self.module, [self.binary] + kube + ["-n", self.namespace] + argv, data=data,
                               environ=environ)
        except cli.CommandError as exc:
            self.module.fail_json(msg="helm %s for release %s in %s failed (exit %s): %s" % (
                argv[0], self.name, self.namespace, exc.rc, exc.detail), rc=exc.rc, stdout=exc.stdout,
                stderr=exc.stderr)

    def release(self):
        """The release (see helm.release_status), whatever its status; None when there is none."""
        return helm.release_status(self(helm.list_argv(self.name))[1], self.name)

    def values(self):
        return json.loads(self(["get", "values", "-o", "json", "--", self.name])[1] or "null")

    def history(self):
        return self(["history", "-o", "json", "--max", str(HISTORY_MAX), "--", self.name])[1]


# AnsibleModule's checks besides the argument spec
CHECKS = dict(required_if=[("state", "present", ["chart"]), ("state", "rendered", ["chart"])])


def argument_spec():
    """The helm_release module's options (plugins/modules/helm_release.py documents them)."""
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(
        name=dict(type="str", required=True), chart=dict(type="str"),
        repo=dict(type="str", default="https://istio-release.storage.googleapis.com/charts"),
        version=dict(type="str"), namespace=dict(type="str", required=True), values=dict(type="dict", default={}),
        create_namespace=dict(type="bool", default=True), wait=dict(type="bool", default=True),
        timeout=dict(type="str", default="5m0s"),
        state=dict(type="str", default="present", choices=["present", "absent", "rendered"]),
        helm_path=dict(type="path"), compare_only=dict(type="bool", default=False), kube_version=dict(type="str"),
        pending=dict(type="str", default="recover", choices=["recover", "fail"]))
    return spec


def run(module):
    """The helm_release module: check its arguments, then render, or converge the release."""
    p = module.params
    problems = helm.argument_problems(p["name"], p["chart"] if p["state"] != "absent" else None, p["namespace"],
                                      p["repo"])
    problems += [why for why in [cli.duration_problem("timeout", p["timeout"]),
                                 helm.kube_version_problem(p["kube_version"])] if why]
    if problems:
        module.fail_json(msg="; ".join(problems) + "; nothing changed")
    binary = cli.find_tool(module, "helm", p["helm_path"], "install helm 3 (https://helm.sh/docs/intro/install/)")
    if p["state"] == "rendered":
        module.exit_json(changed=False, changes=[], release=None, objects=rendered_objects(module, binary))
    conn = resolve(module)  # one connection: helm's and the API client's (check mode)
    tool_kubeconfig.require(module, conn, "helm")
    tool = Helm(module, binary, conn)
    if module.check_mode or (p["compare_only"] and p["state"] == "present"):
        module.exit_json(**converge(module, tool, conn))  # reads only: no lock
    # one run at a time per cluster and release on this controller: a re-run after a killed one waits for the
    # earlier job (still running detached) to end, rather than race it
    what = "helm %s of release %s in %s" % ("uninstall" if p["state"] == "absent" else "upgrade --install",
                                            p["name"], p["namespace"])
    lock = joblock.JobLock("helm|%s|%s|%s" % (conn.configuration.host, p["namespace"], p["name"]), what)
    try:
        lock.acquire(cli.duration_seconds(p["timeout"]))
    except joblock.Busy as exc:
        module.fail_json(msg="an earlier run still works on release %s in %s: %s, for longer than timeout %s. "
                             "Nothing changed. Wait for it to end (or stop that process), then run again"
                             % (p["name"], p["namespace"], joblock.describe(exc.holder), p["timeout"]))
    with lock:
        result = converge(module, tool, conn)
    if lock.earlier is not None:
        result["earlier_run"] = dict(lock.earlier, waited=int(lock.waited))
    module.exit_json(**result)


def converge(module, tool, conn):
    """The result of reading the release and, unless in check mode or comparing only, changing it."""
    p = module.params
    current = tool.release()
    result = dict(changed=False, changes=[], release=current)
    if p["state"] == "absent":
        if current is not None:  # helm uninstall takes a release in any status, a pending one too
            result.update(changed=True, changes=["installed"], release=None)
            if not module.check_mode:
                result["stdout"] = tool(["uninstall", "--", p["name"]])[1]
        return result
    act = not module.check_mode and not p["compare_only"]
    current, plan = pending(module, tool, current, act)
    if plan is not None:
        result.update(pending=plan, release=current)
        if plan["done"] and plan["action"] in ("rollback", "uninstall"):
            result["changed"] = True
        elif not act and plan["action"] == "uninstall":
            current = None  # as it would be: the never-deployed release is uninstalled, then installed
    current_values = tool.values() if current is not None else None
    changes = helm.changes(current, current_values, p["chart"], p["version"], p["values"])
    result.update(changes=changes, differs=bool(changes) or result["changed"])
    if changes and p["compare_only"] and not module.check_mode:
        return result  # compared, nothing changed: the next task installs
    if not changes:
        return result
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
            rendered = tool(argv, data=json.dumps(p["values"]))[1]
            return dict(result, **what_it_would_do(module, conn, rendered))
        # exits with would_do()'s result (a Kubernetes error fails the module)
        return errors.run(module, would_do, what="comparing chart %s with the cluster failed" % p["chart"])
    argv = ["upgrade", "--install", "--repo", p["repo"], "-f", "-"]
    if p["version"]:
        argv += ["--version", p["version"]]
    if p["create_namespace"]:
        argv.append("--create-namespace")
    if p["wait"]:
        argv += ["--wait", "--timeout", p["timeout"]]
    argv += ["--", p["name"], p["chart"]]  # positionals after "--": never read as flags
    result["stdout"] = tool(argv, data=json.dumps(p["values"]))[1]
    result["release"] = tool.release()
    return result


def pending(module, tool, current, act, sleep=time.sleep, clock=time.time):
    """(release, plan) for a release an interrupted helm command left pending; (release, None) for any other.

    Younger than the timeout, a helm command elsewhere may still be finishing it: a run that acts (``act``) reads
    it again every POLL seconds until it settles or is older. Then, with pending=recover, a release deployed
    before is rolled back to its last deployed revision and one never deployed is uninstalled, as helm's own
    --atomic would have done; with pending=fail the run stops, naming both ways out. Without ``act`` (check mode,
    compare_only) the plan says what a run would do."""
    p = module.params
    timeout = cli.duration_seconds(p["timeout"])
    plan = helm.pending_plan(current, clock(), timeout, p["pending"])
    if plan is None:
        return current, None
    started = clock()
    while act and plan["wait"] > 0:
        sleep(min(POLL, plan["wait"]))
        current = tool.release()
        later = helm.pending_plan(current, clock(), timeout, p["pending"])
        if later is None:  # the other helm command finished it
            plan.update(action="waited", wait=0, waited=int(clock() - started), done=True)
            return current, plan
        plan = dict(later, waited=int(clock() - started))
    plan["rollback_to"] = helm.rollback_target(tool.history(), plan["revision"])
    if p["pending"] == "fail":
        if act:
            module.fail_json(msg=helm.pending_message(p["name"], p["namespace"], plan), pending=plan, release=current)
        return current, plan
    plan["action"] = "rollback" if plan["rollback_to"] else "uninstall"
    if not act:
        return current, plan
    if plan["rollback_to"]:
        argv = ["rollback"] + (["--wait", "--timeout", p["timeout"]] if p["wait"] else [])
        tool(argv + ["--", p["name"], str(plan["rollback_to"])])
        done = "rolled it back to revision %s, the last deployed" % plan["rollback_to"]
    else:
        tool(["uninstall", "--", p["name"]])
        done = "uninstalled it (it was never deployed)"
    plan["done"] = True
    module.warn("release %s in %s was %s (revision %s) since %s, longer than timeout %s: an earlier helm command was "
                "interrupted or lost its answer; %s" % (p["name"], p["namespace"], plan["status"], plan["revision"],
                                                        plan["updated"], p["timeout"], done))
    return tool.release(), plan


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
