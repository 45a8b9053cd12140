# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""istioctl install and uninstall as the istio_install module runs them: its arguments checked, the rendered
manifest compared with the cluster, and istioctl run only when something differs.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import tempfile
import time

from ansible_collections.aksmesh.istio.plugins.module_utils import _cli as cli
from ansible_collections.aksmesh.istio.plugins.module_utils._files import joblock
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import istioctl
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import manifest_cache
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import manifest_diff as md
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors, manifests, names, ownership
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import planned, tool_kubeconfig
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.apply import ApplyEngine, redact_drift
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import resolve
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError, RestClient, list_items
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC

INSTALL_ATTEMPTS = 3  # istioctl install is idempotent: a transient API error is worth two more tries
COMPONENT_LABEL = "operator.istio.io/component"


# AnsibleModule's checks besides the argument spec
CHECKS = dict(required_if=[("state", "present", ("operator",))])


def argument_spec():
    """The istio_install module's options (plugins/modules/istio_install.py documents them)."""
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(operator=dict(type="raw"), revision=dict(type="str"), set=dict(type="list", elements="str",
                                                                               default=[]),
                readiness_timeout=dict(type="str", default="300s"), verify=dict(type="bool", default=False),
                state=dict(type="str", choices=["present", "absent"], default="present"),
                purge=dict(type="bool", default=False), istioctl_path=dict(type="path"),
                field_manager=dict(type="str", default="istio-operator"),
                compare_only=dict(type="bool", default=False), force_conflicts=dict(type="bool", default=False))
    return spec


def run(module):
    """The istio_install module: check its arguments, then install or uninstall when the cluster differs."""
    p = module.params
    check_params(module)
    binary = istioctl.find(module, p["istioctl_path"])
    conn = resolve(module)  # one connection: the API client's and istioctl's
    tool_kubeconfig.require(module, conn, "istioctl")
    rest = RestClient(conn.client, timeout=p["request_timeout"])
    result = dict(version=client_version(module, binary), revision=p["revision"] or "default", components=[],
                  objects={}, command=[])
    errors.run(module, lambda: converge(module, binary, conn, rest, result), what="reading the cluster failed",
               partial=lambda: result)


def one_run_at_a_time(module, conn, result):
    """The lock of the revision's install on this cluster, from this controller (see _files.joblock), taken before
    the comparison: a re-run after a killed one waits (up to readiness_timeout) for the earlier job, still running
    detached, to end, then compares with what it left. ``earlier_run`` in the result says it waited."""
    p = module.params
    revision = p["revision"] or "default"
    lock = joblock.JobLock("istioctl|%s|%s" % (conn.configuration.host, revision),
                           "istioctl %s of revision %s" % ("install" if p["state"] == "present" else "uninstall",
                                                           revision))
    try:
        lock.acquire(cli.duration_seconds(p["readiness_timeout"]))
    except joblock.Busy as exc:
        module.fail_json(msg="an earlier run still works on the Istio revision %s of this cluster: %s, for longer "
                             "than readiness_timeout %s. Nothing changed. Wait for it to end (or stop that process), "
                             "then run again" % (revision, joblock.describe(exc.holder), p["readiness_timeout"]),
                         **result)
    if lock.earlier is not None:
        result["earlier_run"] = dict(lock.earlier, waited=int(lock.waited))
    return lock


def check_params(module):
    """Fail before anything runs on a revision, readiness timeout or operator istioctl cannot take."""
    p = module.params
    if p["revision"] not in (None, "", "default"):
        names.require(module, [("Namespace", p["revision"], "revision")])  # Istio revisions are DNS-1123 labels
    why = cli.duration_problem("readiness_timeout", p["readiness_timeout"])
    if why:
        module.fail_json(msg=why + "; nothing changed")
    why = operator_argument_problem(p["operator"]) or set_problem(p["set"])
    if why:
        module.fail_json(msg=why)


def set_problem(values):
    """Why an entry of ``set`` is not a ``path=value`` istioctl takes as intended, or None (without ``=``, the
    install ran and the value was never set)."""
    for i, item in enumerate(values or []):
        key = item.partition("=")[0].strip() if isinstance(item, str) else ""
        if not isinstance(item, str) or "=" not in item or not key or key.startswith("-"):
            return ("set[%d] %r is not path=value: give each as a value path, '=' and the value, such as "
                    "values.global.hub=myregistry.example/istio; nothing changed" % (i, item))
    return None


def operator_argument_problem(operator):
    """The message for an ``operator`` argument that is neither an IstioOperator mapping nor a file, or None."""
    if isinstance(operator, str) and not os.path.isfile(operator):
        return "operator %s is not a file; give the IstioOperator as a dictionary or a file path" % operator
    if operator is not None and not isinstance(operator, (str, dict)):
        return ("operator is a %s; give the IstioOperator as a dictionary (apiVersion, kind, spec) or a "
                "file path" % type(operator).__name__)
    why = operator_problem(operator) if isinstance(operator, dict) else None
    if why:
        return ("operator is not an IstioOperator (%s): give apiVersion install.istio.io/v1alpha1, "
                "kind IstioOperator and a spec mapping" % why)
    return None


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


def client_version(module, binary):
    """istioctl's client version, or None when it does not say."""
    try:
        _rc, out, _err = cli.run(module, [binary, "version", "--remote=false", "-o", "json"])
        return json.loads(out)["clientVersion"]["version"]
    except (cli.CommandError, ValueError, KeyError):
        return None


def flags(p):
    """The ``--set`` and ``--revision`` flags of the module's parameters ``p``."""
    out = []
    for item in p["set"]:
        out += ["--set", item]
    if p["revision"]:
        out += ["--revision", p["revision"]]
    return out


def converge(module, binary, conn, rest, result):
    """Install (or uninstall) when the cluster differs; the result with ``changed``."""
    p = module.params
    workdir = tempfile.mkdtemp(prefix="aksmesh-istio-")
    try:
        if module.check_mode or p["compare_only"]:
            changed = present(module, binary, conn, rest, workdir, result) if p["state"] == "present" \
                else absent(module, binary, conn, rest, result)
        else:
            with one_run_at_a_time(module, conn, result):
                changed = present(module, binary, conn, rest, workdir, result) if p["state"] == "present" \
                    else absent(module, binary, conn, rest, result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if module.params["compare_only"] and not module.check_mode:
        return dict(result, changed=False, differs=changed)  # compared, nothing changed: the install decides
    return dict(result, changed=changed, differs=changed)


def present(module, binary, conn, rest, workdir, result):
    """Render, compare, and run ``istioctl install`` when an object differs (in check mode, plan it instead)."""
    p = module.params
    path = istioctl.write_operator(p["operator"], workdir)
    objs, operator = generate(module, binary, path, result)
    engine = ApplyEngine(rest, field_manager=p["field_manager"], default_namespace="istio-system")
    differ = report(module, result, compare(engine, objs, operator, result.get("version"), p["revision"]))
    result["pruned"] = stale_gateways(rest, objs, operator, p["revision"])
    if not differ and not result["pruned"]:
        return False
    result["drift"] = control_plane_drift(differ, p["field_manager"], module.check_mode or not p["force_conflicts"])
    if result["drift"] and not module.check_mode and not p["force_conflicts"]:
        module.fail_json(msg="the control plane's objects were changed by another field manager since istioctl "
                             "installed them: %s. Nothing was changed. Set aksmesh_reconcile: force (force_conflicts="
                             "true) to have istioctl install put them back, or change the inventory to what they "
                             "should be" % drift_message(result["drift"], p["field_manager"]), **result)
    result["manifest_changes"] += tag_changes(engine, operator, p["revision"])
    if module.check_mode:
        result["planned"] = check_plan(rest, objs, differ).result()
        return True
    if p["compare_only"]:
        return True  # install would change it (differs); the role's next task installs
    result["namespaces_created"] = ensure_namespaces(module, rest, objs)
    cmd = [binary, "install", "-y", "-f", path, "--readiness-timeout", p["readiness_timeout"]] + flags(p)
    if p["verify"]:
        cmd.append("--verify")
    run_or_fail(module, conn, "install", cmd, result, attempts=INSTALL_ATTEMPTS)
    return True


# the objects of a gateway component that istioctl install prunes once the IstioOperator disables it (istio's
# operator/pkg/install prune: the objects with its owner and component labels the manifests no longer hold), as
# when aksmesh_ingress_api gateway_api leaves the ingress to the Gateway istiod deploys
GATEWAY_COMPONENTS = ("IngressGateways", "EgressGateways")
GATEWAY_KINDS = (("apps/v1", "deployments", "Deployment"), ("v1", "services", "Service"),
                 ("v1", "serviceaccounts", "ServiceAccount"), ("policy/v1", "poddisruptionbudgets",
                                                               "PodDisruptionBudget"),
                 ("autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler"))


def stale_gateways(rest, objs, operator, revision):
    """["Kind namespace/name"] of the live gateway objects of this revision that the rendered ``objs`` no longer
    hold (a gateway component the operator disables): istioctl install prunes them, so the install must run. Read
    in the operator's gateway namespaces only."""
    components = (operator.get("spec") or {}).get("components") or {}
    namespaces = sorted(set(gw.get("namespace") for key in ("ingressGateways", "egressGateways")
                            for gw in components.get(key) or [] if gw.get("namespace")))
    keep = set((o["kind"], (o.get("metadata") or {}).get("namespace"), (o.get("metadata") or {}).get("name"))
               for o in objs)
    selector = "%s in (%s),istio.io/rev=%s" % (COMPONENT_LABEL, ",".join(GATEWAY_COMPONENTS), revision or "default")
    out = []
    for namespace in namespaces:
        for api_version, plural, kind in GATEWAY_KINDS:
            base = "/api/v1" if api_version == "v1" else "/apis/" + api_version
            for item in list_items(rest, "%s/namespaces/%s/%s" % (base, namespace, plural), labelSelector=selector):
                meta = item.get("metadata") or {}
                if (kind, meta.get("namespace"), meta.get("name")) not in keep:
                    out.append("%s %s/%s" % (kind, meta.get("namespace"), meta.get("name")))
    return out


# never drift: istiod patches its webhook configurations at run time, and the CRDs are shared by every revision and
# installer (the Helm base chart and each istioctl version label them as theirs)
SHARED_KINDS = istioctl.WEBHOOK_KINDS + ("CustomResourceDefinition",)


def control_plane_drift(differ, manager, refused):
    """The fields of the differing objects (``differ``: (object, live) pairs) that ``manager`` (istioctl install)
    applied before and another field manager now holds with another value: one entry per field, as the apply module
    reports drift (a field only ``manager`` holds is a pending change of the inventory, not drift; an object
    ``manager`` never applied is adopted, not drifted). Webhook configurations and CRDs never count (SHARED_KINDS).
    ``refused``: the entries say drifted, else configured."""
    out = []
    for obj, live in differ:
        if not live or obj["kind"] in SHARED_KINDS or ownership.apply_entry(live, manager) is None:
            continue  # missing, shared, or not installed by istioctl yet (install adopts it)
        meta = obj["metadata"]
        for field in redact_drift(obj, ownership.drift(obj, live, manager)):
            # held by another manager: what a server-side apply would call a conflict (a field nobody holds is
            # either removed by hand or new in the inventory: managedFields cannot tell, and istioctl writes it)
            held = ownership.others(field["managers"], manager)
            if held:
                out.append(dict(field, apiVersion=obj["apiVersion"], kind=obj["kind"],
                                namespace=meta.get("namespace"), name=meta["name"],
                                action="drifted" if refused else "configured", managers=held))
    return out


def drift_message(drifted, manager):
    """'Service istio-ingress/istio-ingressgateway: <the fields>' for each object of ``drifted``."""
    by_object = {}
    for entry in drifted:
        where = "%s %s" % (entry["kind"], "/".join(p for p in (entry["namespace"], entry["name"]) if p))
        by_object.setdefault(where, []).append(entry)
    return "; ".join("%s: %s" % (where, ownership.drift_text(entries, manager))
                     for where, entries in by_object.items())


def generate(module, binary, path, result):
    """``istioctl manifest generate`` of the operator file ``path``: its objects and the operator (a mapping). What
    istioctl printed is kept by binary, flags and operator (manifest_cache): a run that compares an unchanged
    operator runs no istioctl."""
    p = module.params
    try:
        text, extra = _read(path), flags(p)
        rendered = manifest_cache.generated(binary, ["manifest", "generate"] + extra, text, lambda: cli.run(
            module, [binary, "manifest", "generate", "-f", path] + extra)[1])
        objs = manifests.normalize(manifests.expand([rendered]))
        operator = p["operator"] if isinstance(p["operator"], dict) else (manifests.expand([text]) or [{}])[0]
    except cli.CommandError as exc:
        module.fail_json(msg="istioctl manifest generate failed: %s" % exc, rc=exc.rc, stdout=exc.stdout,
                         stderr=exc.stderr, **result)
    except manifests.ManifestError as exc:
        module.fail_json(msg="istioctl manifest generate printed an unusable manifest: %s" % exc, **result)
    return objs, operator


def _read(path):
    with open(path, "rb") as fh:
        return fh.read().decode("utf-8")


def _labels(obj):
    return ((obj or {}).get("metadata") or {}).get("labels") or {}


def compare(engine, objs, operator, version, revision):
    """Each rendered object with its live object and whether it is in place, after adding the labels istioctl
    install adds (a webhook istioctl patches at run time is in place when its identity matches)."""
    live = dict((md.identity(o), lv) for o, lv, _same in engine.compare(objs) if lv)

    def installed_component(obj):
        return _labels(live.get(md.identity(obj))).get(COMPONENT_LABEL)
    istioctl.label_as_installed(objs, operator, version, revision, installed_component)
    return [(o, lv, same or same_webhook(o, lv)) for o, lv, same in engine.compare(objs)]


def same_webhook(obj, live):
    """Whether a webhook configuration matches its live one in what istioctl sets (the rest it patches)."""
    return bool(live and obj["kind"] in istioctl.WEBHOOK_KINDS and
                istioctl.webhook_identity(obj) == istioctl.webhook_identity(live))


def report(module, result, compared):
    """Put the comparison's counts, changes, components and diff into the result; the (object, live) pairs
    that differ."""
    differ = [(o, live) for o, live, same in compared if not same]
    result["objects"] = {"in_place": len(compared) - len(differ), "differ": len([1 for _o, live in differ if live]),
                         "missing": len([1 for _o, live in differ if not live])}
    result["manifest_changes"] = planned.changes(differ)
    result["components"] = sorted(set(_labels(o).get(COMPONENT_LABEL, "Base") for o, _live in differ))
    if module._diff and differ:
        result["diff"] = {"prepared": prepared_diff(differ)}
    return differ


def prepared_diff(differ):
    """The unified manifest diff, live (the fields the rendered object sets) against rendered."""
    before = dict((md.identity(o), ownership.prune_like(live, o)) for o, live in differ if live)
    after = dict((md.identity(o), o) for o, _live in differ)
    return md.diff(before, after)["unified_diff"]


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
            if attempt < attempts and retry(module, what, exc, attempt, attempts, result):
                continue
            fail(module, what, exc, attempt, result)
    result.update(stdout=out, stderr=err)


def _output(exc):
    return exc.stderr or exc.stdout or ""


def retry(module, what, exc, attempt, attempts, result):
    """Whether a failed attempt met a transient API error: then count and report it and wait before the next."""
    transient = istioctl.transient(_output(exc))
    if not transient:
        return False
    result["retries"] += 1
    module.warn("istioctl %s met a transient API error (attempt %d of %d), running it again: %s" % (
        what, attempt, attempts, transient))
    time.sleep(2 * attempt)
    return True


def fail(module, what, exc, attempt, result):
    """Fail the module with istioctl's exit code and the tail of its output."""
    result.update(stdout=exc.stdout, stderr=exc.stderr)
    module.fail_json(msg="istioctl %s failed with exit code %s%s: %s"
                     % (what, exc.rc, " after %d attempts" % attempt if attempt > 1 else "",
                        _output(exc).strip()[-2000:]), rc=exc.rc, **result)


def absent(module, binary, conn, rest, result):
    """Run ``istioctl uninstall`` for the revision (or with ``--purge``) when a control plane is found."""
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
