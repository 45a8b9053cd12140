#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: istio_install
short_description: Install, update or remove Istio with istioctl, idempotently and with check and diff modes
version_added: 0.1.0
description:
  - Renders the IstioOperator with C(istioctl manifest generate) and compares every object with the live cluster
    (the fields the C(istio-operator) field manager owns, as the apply engine does; no writes). When all objects
    are already in place, nothing runs and the task reports C(changed=false); otherwise it runs
    C(istioctl install -y -f <operator>).
  - In check mode it reports what would change and never runs C(istioctl install); with C(--diff) it shows a
    manifest diff (live against rendered) of the objects that differ.
  - O(state=absent) runs C(istioctl uninstall -y) for the revision, or with C(--purge); nothing runs when no Istio
    control plane is found.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.k8s_auth
  - aksmesh.istio.k8s_auth.tool
attributes:
  check_mode:
    support: full
    description: Renders and compares only; C(istioctl install) and C(uninstall) are not run.
  diff_mode:
    support: full
    description: A manifest diff of the objects that would change.
options:
  operator:
    description: The IstioOperator, as a dictionary or a path to a file. Required for O(state=present).
    type: raw
  revision:
    description: Istio revision (C(--revision)), for canary control planes.
    type: str
  set:
    description: Extra C(--set key=value) values.
    type: list
    elements: str
    default: []
  readiness_timeout:
    description:
      - How long istioctl waits for the control plane to become ready (C(--readiness-timeout)), a Go duration such
        as C(300s) or C(5m0s); anything else fails before anything runs.
    type: str
    default: 300s
  verify:
    description: Verify the installation afterwards (C(--verify)).
    type: bool
    default: false
  state:
    description: C(present) installs or updates, C(absent) uninstalls.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description: With O(state=absent), remove every Istio control plane and shared resources (C(--purge)).
    type: bool
    default: false
  istioctl_path:
    description: The istioctl binary. Defaults to the one on C(PATH).
    type: path
  field_manager:
    description: The field manager istioctl applies with, whose fields are compared.
    type: str
    default: istio-operator
"""

EXAMPLES = r"""
- name: Install or update Istio from the production operator
  aksmesh.istio.istio_install:
    kubeconfig: "{{ aksmesh_kubeconfig }}"
    operator: >-
      {{ 'istio-system' | aksmesh.istio.istio_operator(revision='', ingress_namespace='istio-ingress', ingress_ip='',
                                                       ingress_ip_resource_group='', egress_namespace='istio-egress',
                                                       tracing={}) }}
    readiness_timeout: 600s

- name: Remove a canary revision
  aksmesh.istio.istio_install:
    revision: 1-30-0
    state: absent
"""

RETURN = r"""
planned:
  description:
    - Check mode. The namespaces and CRD kinds the install would create; give it to the next tasks of the
      check-mode run as their O(aksmesh.istio.apply#module:planned).
  returned: in check mode, when the install would change the cluster
  type: dict
  contains:
    namespaces:
      description: Namespaces that would exist.
      type: list
      elements: str
    kinds:
      description: Custom resource kinds that would be served (C(<group>/<Kind>) or C(<group>/*)).
      type: list
      elements: str
version:
  description: istioctl's client version.
  returned: always
  type: str
  sample: 1.30.0
revision:
  description: The revision installed or removed (C(default) when none).
  returned: always
  type: str
components:
  description: Istio components with objects that differed (from their C(operator.istio.io/component) label).
  returned: always
  type: list
  elements: str
  sample: [Pilot, IngressGateways]
objects:
  description: Numbers of rendered objects that are in place, differ or are missing.
  returned: always
  type: dict
  sample: {"in_place": 20, "differ": 1, "missing": 2}
manifest_changes:
  description: The rendered objects that differ from the cluster, each with what the install does to it.
  returned: when O(state=present)
  type: list
  elements: dict
  contains:
    apiVersion:
      description: API version.
      type: str
    kind:
      description: Kind.
      type: str
    namespace:
      description: Namespace (null for cluster-scoped objects).
      type: str
    name:
      description: Name.
      type: str
    action:
      description: C(create) (missing) or C(configure) (differs).
      type: str
      choices: [create, configure]
namespaces_created:
  description: Namespaces the rendered components go into that did not exist and were created before
    C(istioctl install) (which creates only its install namespace), e.g. the gateways' own namespaces.
  returned: when istioctl install ran
  type: list
  elements: str
  sample: [istio-ingress, istio-egress]
command:
  description: The install or uninstall command that ran (empty when nothing ran).
  returned: always
  type: list
  elements: str
retries:
  description:
    - How often C(istioctl install) ran again after a transient API error (overload, restart, timeout); it is
      idempotent, so it runs up to three times. Each retry is also reported as a warning.
  returned: when istioctl install or uninstall ran
  type: int
  sample: 0
stdout:
  description: istioctl's output.
  returned: when istioctl install or uninstall ran
  type: str
stderr:
  description: istioctl's error output.
  returned: when istioctl install or uninstall ran
  type: str
"""

import json
import os
import shutil
import tempfile
import time

from ansible_collections.aksmesh.istio.plugins.module_utils import _cli as cli
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import istioctl
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import manifest_diff as md
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors, manifests, names, ownership
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.apply import ApplyEngine
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import tool_kubeconfig
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import K8S_AUTH_ARG_SPEC, KubeModule, resolve
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import planned
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError, RestClient, list_items


def client_version(module, binary):
    try:
        _rc, out, _err = cli.run(module, [binary, "version", "--remote=false", "-o", "json"])
        return json.loads(out)["clientVersion"]["version"]
    except (cli.CommandError, ValueError, KeyError):
        return None


def flags(p):
    out = []
    for item in p["set"]:
        out += ["--set", item]
    if p["revision"]:
        out += ["--revision", p["revision"]]
    return out


def present(module, binary, conn, rest, workdir, result):
    p = module.params
    path = istioctl.write_operator(p["operator"], workdir)
    try:
        _rc, rendered, _err = cli.run(module, [binary, "manifest", "generate", "-f", path] + flags(p))
        objs = manifests.normalize(manifests.expand([rendered]))
        operator = p["operator"] if isinstance(p["operator"], dict) else (manifests.expand([_read(path)]) or [{}])[0]
    except cli.CommandError as exc:
        module.fail_json(msg="istioctl manifest generate failed: %s" % exc, rc=exc.rc, stdout=exc.stdout,
                         stderr=exc.stderr, **result)
    except manifests.ManifestError as exc:
        module.fail_json(msg="istioctl manifest generate printed an unusable manifest: %s" % exc, **result)
    engine = ApplyEngine(rest, field_manager=p["field_manager"], default_namespace="istio-system")
    live = dict((md.identity(o), lv) for o, lv, _same in engine.compare(objs) if lv)

    def installed_component(obj):
        return ((live.get(md.identity(obj)) or {}).get("metadata", {}).get("labels") or {}).get(
            "operator.istio.io/component")
    istioctl.label_as_installed(objs, operator, result.get("version"), p["revision"], installed_component)
    compared = [(o, lv, same or bool(lv and o["kind"] in istioctl.WEBHOOK_KINDS and
                                     istioctl.webhook_identity(o) == istioctl.webhook_identity(lv)))
                for o, lv, same in engine.compare(objs)]
    differ = [(o, live) for o, live, same in compared if not same]
    result["objects"] = {"in_place": len(compared) - len(differ), "differ": len([1 for _o, live in differ if live]),
                         "missing": len([1 for _o, live in differ if not live])}
    result["manifest_changes"] = planned.changes(differ)
    result["components"] = sorted(set(((o.get("metadata") or {}).get("labels") or {}).get(
        "operator.istio.io/component", "Base") for o, _live in differ))
    if module._diff and differ:
        before = dict((md.identity(o), ownership.prune_like(live, o)) for o, live in differ if live)
        after = dict((md.identity(o), o) for o, _live in differ)
        result["diff"] = {"prepared": md.diff(before, after)["unified_diff"]}
    if not differ:
        return False
    result["manifest_changes"] += tag_changes(engine, operator, p["revision"])
    if module.check_mode:
        result["planned"] = check_plan(rest, objs, differ).result()
        return True
    result["namespaces_created"] = ensure_namespaces(module, rest, objs)
    cmd = [binary, "install", "-y", "-f", path, "--readiness-timeout", p["readiness_timeout"]] + flags(p)
    if p["verify"]:
        cmd.append("--verify")
    run_or_fail(module, conn, "install", cmd, result, attempts=INSTALL_ATTEMPTS)
    return True


def _read(path):
    with open(path, "rb") as fh:
        return fh.read().decode("utf-8")


def operator_problem(operator):
    """Why a mapping is not an IstioOperator istioctl can install, or None."""
    missing = [k for k in ("apiVersion", "kind", "spec") if k not in operator]
    if missing:
        return "it lacks " + ", ".join(missing)
    if operator["kind"] != "IstioOperator":
        return "its kind is %r" % operator["kind"]
    if not isinstance(operator["spec"], dict):
        return "its spec is not a mapping"
    return None


def tag_changes(engine, operator, revision):
    """The revision tag objects istioctl install will add after the manifest (see istioctl.default_tag_objects)
    that the cluster lacks, as changes."""
    exists = bool(list_items(engine.rest, "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
                             labelSelector="app=sidecar-injector,istio.io/tag=default"))
    namespace = (operator.get("metadata") or {}).get("namespace") or "istio-system"
    out = []
    for api_version, kind, ns, name in istioctl.default_tag_objects(operator, revision, namespace, exists):
        path = engine.discovery.resolve(api_version, kind).path(name, ns)
        if engine.rest.request("GET", path, ok_missing=True) is None:
            out.append(dict(apiVersion=api_version, kind=kind, namespace=ns, name=name, action="create"))
    return out


def missing_namespaces(rest, objs):
    """The namespaces of the rendered objects that do not exist yet."""
    wanted = sorted(set((o.get("metadata") or {}).get("namespace") for o in objs) - set([None, ""]))
    return [name for name in wanted if rest.request(
        "GET", "/api/v1/namespaces/%s" % names.segment("Namespace", name), ok_missing=True) is None]


def check_plan(rest, objs, differ):
    """Check mode: the namespaces and CRDs the install would create, for the next tasks of the run."""
    plan = planned.Planned(missing_namespaces(rest, objs))
    plan.add_missing(differ)
    return plan


def ensure_namespaces(module, rest, objs):
    """Create the namespaces the rendered objects go into (gateways in their own namespaces): istioctl install
    creates only its own install namespace and fails on the others."""
    created = []
    try:
        missing = missing_namespaces(rest, objs)
    except K8sApiError as exc:
        module.fail_json(msg="cannot read the namespaces for the Istio components: %s" % exc)
    for name in missing:
        try:
            rest.request("POST", "/api/v1/namespaces", {"fieldManager": module.params["field_manager"]},
                         {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            created.append(name)
        except K8sApiError as exc:
            if exc.status != 409:  # AlreadyExists: someone else made it meanwhile
                module.fail_json(msg="cannot create namespace %s for the Istio components: %s" % (name, exc))
    return created


INSTALL_ATTEMPTS = 3  # istioctl install is idempotent: a transient API error is worth two more tries


def run_or_fail(module, conn, what, cmd, result, attempts=1):
    """Run an istioctl command that changes the cluster, on the module's connection (``conn``); its output goes
    into the result, failure fails. ``attempts`` > 1 runs it again after a transient API error (it must be
    idempotent, as install is); the retries are counted in the result and reported as a warning."""
    result.setdefault("retries", 0)
    for attempt in range(1, attempts + 1):
        try:
            with tool_kubeconfig.tool_connection(conn) as (args, environ):
                result["command"] = cmd + args
                _rc, out, err = cli.run(module, cmd + args, environ=environ)
            break
        except cli.CommandError as exc:
            output = exc.stderr or exc.stdout or ""
            if attempt < attempts and istioctl.transient(output):
                result["retries"] += 1
                module.warn("istioctl %s met a transient API error (attempt %d of %d), running it again: %s" % (
                    what, attempt, attempts, istioctl.transient(output)))
                time.sleep(2 * attempt)
                continue
            result.update(stdout=exc.stdout, stderr=exc.stderr)
            module.fail_json(msg="istioctl %s failed with exit code %s%s: %s"
                             % (what, exc.rc, " after %d attempts" % attempt if attempt > 1 else "",
                                output.strip()[-2000:]), rc=exc.rc, **result)
    result.update(stdout=out, stderr=err)


def absent(module, binary, conn, rest, result):
    p = module.params
    selector = "app=istiod" + (",istio.io/rev=%s" % p["revision"] if p["revision"] and not p["purge"] else "")
    found = list_items(rest, "/apis/apps/v1/deployments", labelSelector=selector)
    result["objects"] = {"control_planes": len(found)}
    if not found:
        return False
    if module.check_mode:
        return True
    cmd = [binary, "uninstall", "-y"] + (["--purge"] if p["purge"] else ["--revision", p["revision"] or "default"])
    run_or_fail(module, conn, "uninstall", cmd, result)
    return True


def converge(module, binary, conn, rest, result):
    """Install (or uninstall) when the cluster differs; the result with ``changed``."""
    workdir = tempfile.mkdtemp(prefix="aksmesh-istio-")
    try:
        changed = present(module, binary, conn, rest, workdir, result) if module.params["state"] == "present" \
            else absent(module, binary, conn, rest, result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return dict(result, changed=changed)


def main():
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(operator=dict(type="raw"), revision=dict(type="str"), set=dict(type="list", elements="str",
                                                                               default=[]),
                readiness_timeout=dict(type="str", default="300s"), verify=dict(type="bool", default=False),
                state=dict(type="str", choices=["present", "absent"], default="present"),
                purge=dict(type="bool", default=False), istioctl_path=dict(type="path"),
                field_manager=dict(type="str", default="istio-operator"))
    module = KubeModule(argument_spec=spec, supports_check_mode=True,
                        required_if=[("state", "present", ("operator",))])
    p = module.params
    if p["revision"] not in (None, "", "default"):
        names.require(module, [("Namespace", p["revision"], "revision")])  # Istio revisions are DNS-1123 labels
    why = cli.duration_problem("readiness_timeout", p["readiness_timeout"])
    if why:
        module.fail_json(msg=why + "; nothing changed")
    if isinstance(p["operator"], str) and not os.path.isfile(p["operator"]):
        module.fail_json(msg="operator %s is not a file; give the IstioOperator as a dictionary or a file path"
                         % p["operator"])
    if p["operator"] is not None and not isinstance(p["operator"], (str, dict)):
        module.fail_json(msg="operator is a %s; give the IstioOperator as a dictionary (apiVersion, kind, spec) or a "
                             "file path" % type(p["operator"]).__name__)
    if isinstance(p["operator"], dict):
        why = operator_problem(p["operator"])
        if why:
            module.fail_json(msg="operator is not an IstioOperator (%s): give apiVersion install.istio.io/v1alpha1, "
                                 "kind IstioOperator and a spec mapping" % why)
    binary = istioctl.find(module, p["istioctl_path"])
    conn = resolve(module)  # one connection: the API client's and istioctl's
    tool_kubeconfig.require(module, conn, "istioctl")
    rest = RestClient(conn.client, timeout=p["request_timeout"])
    result = dict(version=client_version(module, binary), revision=p["revision"] or "default", components=[],
                  objects={}, command=[])
    errors.run(module, lambda: converge(module, binary, conn, rest, result), what="reading the cluster failed",
               partial=lambda: result)


if __name__ == "__main__":
    main()
