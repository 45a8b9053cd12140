"""aksmesh.istio.apply against the real API server, on real upstream manifests."""

import json
import re
import shutil
import subprocess

import pytest
import yaml

from tests.support import shared_data
from tests.support.ansible_runner import run_module

ADDONS = ("prometheus.yaml", "grafana.yaml", "kiali.yaml", "jaeger.yaml")
NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}


def served(kube_api, obj):
    return (obj["apiVersion"], obj["kind"]) in kube_api.resources()


def namespaced(kube_api, obj):
    return kube_api.resources()[(obj["apiVersion"], obj["kind"])][2]


def live(kube_api, obj):
    meta = obj["metadata"]
    return kube_api.get(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])


def upstream_set():
    """Addons + bookinfo platform + networking: real objects, deduplicated by identity (last wins)."""
    files = [shared_data.upstream("samples", "addons", f) for f in ADDONS]
    files.append(shared_data.upstream("samples", "bookinfo", "platform", "kube", "bookinfo.yaml"))
    net = shared_data.upstream("samples", "bookinfo", "networking")
    files += sorted(net.glob("*.yaml"))
    objs = {}
    for path in files:
        for doc in shared_data.load_all(path):
            ns = doc["metadata"].get("namespace") or ("istio-system" if "addons" in str(path) else "bookinfo")
            doc = json.loads(json.dumps(doc))
            doc["metadata"]["namespace"] = ns
            objs[(doc["apiVersion"].split("/")[0], doc["kind"], ns, doc["metadata"]["name"])] = doc
    namespaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in ("istio-system",
                                                                                               "bookinfo")]
    return namespaces + list(objs.values())


def apply(kubeconfig, **kw):
    args = {"kubeconfig": kubeconfig, "api_retries": 3}
    check = kw.pop("check_mode", False)
    diff = kw.pop("diff", False)
    args.update(kw)
    return run_module("apply", args, check_mode=check, diff=diff)


def writes(kube_api):
    return kube_api.writes()


@pytest.mark.shared
def test_real_upstream_set_applies_then_is_a_cheap_no_op(kube_api, kubeconfig, kubectl_env):
    objs = upstream_set()
    first = apply(kubeconfig, definitions=objs)
    assert not first.failed, first.result
    assert first["changed"] and first["counts"] == {"created": len(objs)}
    for obj in objs:
        stored = live(kube_api, obj)
        assert stored, obj["metadata"]
        for field, value in obj.items():
            if field not in ("metadata", "status", "apiVersion", "spec", "subjects"):  # server defaults
                assert stored[field] == value, (obj["kind"], field)
    kube_api.clear_log()
    second = apply(kubeconfig, definitions=objs)
    assert not second.failed and second["changed"] is False
    assert second["counts"] == {"unchanged": len(objs)}
    assert writes(kube_api) == []
    kinds = {(o["apiVersion"], o["kind"]) for o in objs}
    groups = {o["apiVersion"] for o in objs}
    reads = kube_api.requests("GET")
    dry_runs = [e for e in kube_api.requests() if e.method != "GET"]
    assert all("dryRun=All" in e.query for e in dry_runs)  # server defaults inside owned fields: asked, not written
    assert second["requests"] == dict({"GET": len(reads)}, **({"PATCH": len(dry_runs)} if dry_runs else {}))
    assert len(reads) <= len(kinds) + len(groups)  # one read per kind + discovery
    assert len(dry_runs) <= 3
    if shutil.which("kubectl"):
        out = subprocess.run(["kubectl", "get", "virtualservices", "-n", "bookinfo", "-o", "name"], env=kubectl_env,
                             capture_output=True, text=True, check=True).stdout
        assert "virtualservice.networking.istio.io/reviews" in out


@pytest.mark.shared
def test_analyzer_inputs_that_parse_apply(kube_api, kubeconfig):
    base = shared_data.upstream("pkg", "config", "analysis", "analyzers", "testdata")
    objs, namespaces = {}, set()
    for path in sorted(base.glob("*.yaml")):
        try:
            docs = shared_data.load_all(path)
        except yaml.YAMLError:
            continue
        for doc in docs:
            meta = doc.get("metadata") if isinstance(doc, dict) else None
            if not meta or not meta.get("name") or not doc.get("apiVersion") or not served(kube_api, doc):
                continue
            if doc["kind"] in ("Namespace", "CustomResourceDefinition", "MutatingWebhookConfiguration",
                               "ValidatingWebhookConfiguration"):
                continue
            ns = meta.get("namespace") or "default" if namespaced(kube_api, doc) else None
            if ns:
                namespaces.add(ns)
            doc = json.loads(json.dumps(doc))
            doc["metadata"]["namespace"] = ns
            if ns is None:
                doc["metadata"].pop("namespace")
            objs[(doc["apiVersion"].split("/")[0], doc["kind"], ns, meta["name"])] = doc
    defs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in sorted(namespaces)]
    res = apply(kubeconfig, definitions=defs + list(objs.values()), namespace="default", continue_on_error=True)
    assert len(objs) > 100
    assert not res.failed or res.result.get("results"), res.result.get("msg")
    # the real API server validates against the CRD schemas: what it rejects is named, the rest is applied
    failures = res.result.get("failures", [])
    # (names the API server would refuse are refused before they are sent, and named as such)
    named = [f for f in failures if "422 Invalid" in f or "500 Invalid" in f and "not declared in schema" in f
             or "is not a DNS-1123" in f]
    assert named == failures, [f for f in failures if f not in named]
    assert len(failures) < len(objs) / 4

    def rejected(obj):
        meta = obj["metadata"]
        return any(f" {meta.get('namespace', '')}/{meta['name']}:" in f or f" {meta['name']}:" in f for f in failures)
    applied = [o for o in objs.values() if not rejected(o)]
    assert all(live(kube_api, o) for o in applied)


def test_check_mode_persists_nothing_and_reports(kube_api, kubeconfig):
    vs = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "web"},
          "spec": {"hosts": ["web"], "exportTo": ["."], "http": [{"route": [{"destination": {"host": "web"}}]}]}}
    defs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}, vs]
    res = apply(kubeconfig, definitions=defs, namespace="shop", check_mode=True)
    assert not res.failed, res.result
    assert res["changed"] and [r["action"] for r in res["results"]] == ["created", "created"]
    assert kube_api.writes() == [] and not kube_api.get("v1", "Namespace", None, "shop")
    apply(kubeconfig, definitions=defs, namespace="shop")
    vs["spec"]["http"][0]["retries"] = {"attempts": 3}
    checked = apply(kubeconfig, definitions=defs, namespace="shop", check_mode=True, diff=True)
    assert checked["counts"] == {"unchanged": 1, "configured": 1}
    (diff,) = checked["diff"]
    assert "attempts: 3" in diff["after"] and "attempts" not in diff["before"]
    stored = kube_api.get("networking.istio.io/v1", "VirtualService", "shop", "web")
    assert "retries" not in stored["spec"]["http"][0]


def test_secret_values_never_in_results_or_diff(kube_api, kubeconfig):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "grafana", "namespace": "default"},
              "type": "Opaque", "data": {"passphrase": "czNjcjN0"}}
    res = apply(kubeconfig, definitions=[secret], diff=True)
    assert not res.failed
    assert "czNjcjN0" not in res.stdout and "s3cr3t" not in res.stdout and "********" in res.stdout


def test_crd_and_its_custom_resources_in_one_batch(kube_api, tmp_path):
    kc = tmp_path / "kc"
    kube_api.kubeconfig(kc)
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                        "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"},
              "spec": {"size": 1}}
    res = apply(str(kc), definitions=[widget, crd])  # order given wrong on purpose
    assert not res.failed, res.result
    assert [(r["kind"], r["action"]) for r in res["results"]] == [("CustomResourceDefinition", "created"),
                                                                  ("Widget", "created")]
    assert kube_api.get("example.com/v1", "Widget", "default", "w")


def test_conflicts_name_the_owner_and_force_takes_over(kube_api, kubeconfig):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mesh", "namespace": "default"},
          "data": {"mode": "STRICT"}}
    apply(kubeconfig, definitions=[cm], field_manager="platform-team")
    cm["data"]["mode"] = "PERMISSIVE"
    res = apply(kubeconfig, definitions=[cm])
    assert res.failed and res["results"][0]["action"] == "failed"
    assert 'conflict with "platform-team"' in res["msg"] and ".data.mode" in res["msg"]
    assert "force_conflicts=true" in res["msg"]
    assert kube_api.get("v1", "ConfigMap", "default", "mesh")["data"]["mode"] == "STRICT"
    forced = apply(kubeconfig, definitions=[cm], force_conflicts=True)
    assert not forced.failed and forced["results"][0]["action"] == "configured"


def test_api_faults_are_retried(kube_api, kubeconfig):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"},
          "data": {"k": "v"}}
    kube_api.faults.add(r"/configmaps/a$", 429, method="PATCH", headers={"Retry-After": "1"})
    kube_api.faults.add(r"/configmaps/a$", 500, method="PATCH")
    kube_api.faults.add(r"/configmaps/a$", 409, method="PATCH",
                        body={"kind": "Status", "status": "Failure", "reason": "Conflict", "code": 409,
                              "message": "Operation cannot be fulfilled: the object has been modified"})
    kube_api.faults.add(r"/configmaps/a$", "drop", method="PATCH")
    res = apply(kubeconfig, definitions=[cm], api_retries=5)
    assert not res.failed, res.result
    assert [e.status for e in kube_api.requests("PATCH", "/configmaps/a$")] == [429, 500, 409, 0, 201]
    kube_api.faults.add(r"/configmaps/b$", 503, method="PATCH", count=10)
    failed = apply(kubeconfig, definitions=[dict(cm, metadata={"name": "b", "namespace": "default"})],
                   api_retries=1)
    assert failed.failed and "ConfigMap default/b" in failed["msg"] and "503" in failed["msg"]


def test_continue_on_error_applies_the_rest_and_lists_failures(kube_api, kubeconfig):
    good = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok", "namespace": "default"}}
    lost = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "lost", "namespace": "nowhere"}}
    unknown = {"apiVersion": "example.com/v1", "kind": "Nope", "metadata": {"name": "x"}}
    res = apply(kubeconfig, definitions=[lost, unknown, good], continue_on_error=True, apply_order="as_given")
    assert res.failed and len(res["failures"]) == 2
    assert "create the namespace first" in res["failures"][0] and "Nope" in res["failures"][1]
    assert kube_api.get("v1", "ConfigMap", "default", "ok")
    stop = apply(kubeconfig, definitions=[lost, dict(good, metadata={"name": "ok2", "namespace": "default"})],
                 apply_order="as_given")
    assert stop.failed and not kube_api.get("v1", "ConfigMap", "default", "ok2")


def test_bad_input_fails_before_any_request(kube_api, kubeconfig):
    kube_api.clear_log()
    res = apply(kubeconfig, definitions=[{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
                                         {"kind": "Secret", "metadata": {"name": "b"}}])
    assert res.failed and "lacks apiVersion" in res["msg"]
    assert kube_api.requests() == []
    empty = apply(kubeconfig, definitions=[])
    assert empty.failed and "nothing to apply" in empty["msg"]


def test_absent_deletes_in_reverse_then_nothing_to_do(kube_api, kubeconfig):
    defs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "gone"}}]
    apply(kubeconfig, definitions=defs)
    checked = apply(kubeconfig, definitions=defs, state="absent", check_mode=True)
    assert checked["changed"] and kube_api.get("v1", "ConfigMap", "gone", "c")
    res = apply(kubeconfig, definitions=defs, state="absent")
    assert [(r["kind"], r["action"]) for r in res["results"]] == [("ConfigMap", "deleted"), ("Namespace", "deleted")]
    kube_api.wait_for(lambda: not kube_api.get("v1", "Namespace", None, "gone"), "namespace gone to be deleted")
    again = apply(kubeconfig, definitions=defs, state="absent")
    assert again["changed"] is False and again["counts"] == {"unchanged": 2}


def test_prune_removes_only_our_labelled_leftovers(kube_api, kubeconfig):
    label = {"app.kubernetes.io/managed-by": "aksmesh"}

    def cm(name, manager_label=True):
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "default", "labels": label if manager_label else {}}}
    apply(kubeconfig, definitions=[cm("a"), cm("b")])
    apply(kubeconfig, definitions=[cm("theirs")], field_manager="someone-else")
    res = apply(kubeconfig, definitions=[cm("a")], prune={"label_selector": "app.kubernetes.io/managed-by=aksmesh",
                                                          "kinds": [{"apiVersion": "v1", "kind": "ConfigMap"}]})
    assert not res.failed, res.result
    assert [(r["name"], r["action"]) for r in res["results"]] == [("a", "unchanged"), ("b", "pruned")]
    assert kube_api.get("v1", "ConfigMap", "default", "theirs")


def test_wait_for_rollout(kube_api, kubeconfig):
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
               "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}
    ok = apply(kubeconfig, definitions=[dep], wait=True, wait_timeout=10)
    assert not ok.failed, ok.result
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    dep["spec"]["template"]["spec"]["nodeSelector"] = {"aksmesh.test/no-such-pool": "x"}  # stays Pending
    slow = apply(kubeconfig, definitions=[dep], wait=True, wait_timeout=2)
    assert slow.failed and "not ready after 2s" in slow["msg"] and "Deployment default/web" in slow["msg"]


def test_definition_as_kubernetes_core_names_it_and_the_applied_objects_returned(kube_api, kubeconfig):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "chained", "namespace": "default"},
          "data": {"mode": "strict"}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "chained", "namespace": "default"},
              "type": "Opaque", "stringData": {"token": "chain-s3cret-9"}}
    res = apply(kubeconfig, definition=[cm, secret], diff=True)
    assert not res.failed, res.result
    by_kind = dict((r["kind"], r["result"]) for r in res["results"])
    live_cm = kube_api.get("v1", "ConfigMap", "default", "chained")
    assert by_kind["ConfigMap"]["metadata"]["uid"] == live_cm["metadata"]["uid"]
    assert by_kind["ConfigMap"]["data"] == {"mode": "strict"} and "managedFields" not in by_kind["ConfigMap"]["metadata"]
    assert by_kind["Secret"]["data"] == {"token": "********"}  # the server's base64 data, masked
    assert "chain-s3cret-9" not in res.stdout and "Y2hhaW4tczNjcmV0LTk=" not in res.stdout
    again = apply(kubeconfig, definition=cm)  # a single object, unchanged: the live object
    assert again["changed"] is False and again["results"][0]["result"]["metadata"]["uid"] == live_cm["metadata"]["uid"]


def normalized(result):
    """A task's result without what differs from one run to the next (object versions, timings, request counts)."""
    text = json.dumps({k: v for k, v in result.items() if k not in ("requests", "duration")}, sort_keys=True)
    return json.loads(re.sub(r'"(resourceVersion|uid|creationTimestamp|time)": "[^"]*"', r'"\1": "-"', text))


@pytest.mark.parametrize("check", [False, True], ids=["apply", "check"])
def test_apply_in_the_controller_returns_what_its_module_process_returns(kube_api, kubeconfig, tmp_path, check):
    """On the local connection in the controller's Python the apply action runs the module's program in its own
    process (plugins/plugin_utils/_in_process.py): each task returns what the module process returns, with the
    Secret value masked, the same failures, check mode and diff; AKSMESH_MODULE_PROCESS=1 runs the module."""
    from tests.support.ansible_runner import run_playbook
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "grafana"},
              "stringData": {"passphrase": "s3cr3t-in-process"}}
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mesh"}, "data": {"mode": "STRICT"}}
    tasks = [
        {"name": "Create", "aksmesh.istio.apply": {"kubeconfig": kubeconfig, "namespace": "{{ ns }}",
                                                   "definitions": [{"apiVersion": "v1", "kind": "Namespace",
                                                                    "metadata": {"name": "{{ ns }}"}}, secret, config]}},
        {"name": "Again", "aksmesh.istio.apply": {"kubeconfig": kubeconfig, "namespace": "{{ ns }}",
                                                  "definitions": [secret, config]}},
        {"name": "Refused", "aksmesh.istio.apply": {"kubeconfig": kubeconfig, "namespace": "{{ ns }}",
                                                    "definitions": [secret], "wait_timeout": -1},
         "ignore_errors": True},
        {"name": "Unknown option", "aksmesh.istio.apply": {"kubeconfig": kubeconfig, "definitions": [secret],
                                                           "namespaces": "x"}, "ignore_errors": True},
    ]
    runs = {}
    for way, env in (("module", {"AKSMESH_MODULE_PROCESS": "1"}), ("controller", {"AKSMESH_MODULE_PROCESS": None})):
        play = [{"hosts": "localhost", "gather_facts": False, "vars": {"ns": "inproc-" + way}, "tasks": tasks}]
        run = run_playbook(play, tmp_path, check=check, diff=True, verbosity=3, env=env)
        assert run.rc == 0, run.stdout[-3000:]
        assert "s3cr3t-in-process" not in run.stdout + json.dumps(run.results)
        runs[way] = run
    # the module process shows in -vvv as a Python process the connection starts; the controller's run starts none
    assert "aksmesh.istio.apply" in runs["module"].stdout
    assert runs["module"].stdout.count("EXEC ") >= len(tasks) and "EXEC " not in runs["controller"].stdout
    for task in tasks:
        module, controller = (normalized(runs[way].task(task["name"])[0]["result"]) for way in ("module", "controller"))
        text = json.dumps(controller).replace("inproc-controller", "inproc-module")
        assert json.loads(text) == module, task["name"]
    assert runs["controller"].task("Refused")[0]["result"]["msg"].startswith("wait_timeout -1")
    if not check:
        assert kube_api.get("v1", "ConfigMap", "inproc-controller", "mesh")["data"] == {"mode": "STRICT"}
