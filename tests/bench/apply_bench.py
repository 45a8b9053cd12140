"""Benchmark: apply ~100 real objects four ways against the real kube-apiserver (tests/support/cluster.py).

1. aksmesh.istio.apply, one task;  2. kubernetes.core.k8s, one task with ``src:`` holding all objects
(server-side apply: its strongest use);  3. kubernetes.core.k8s in a loop (server-side apply);
4. kubectl apply --server-side -f DIR (as a command task, and as a bare process).
All ways talk to the same API server through the fault proxy, which adds the modelled network latency.
For each: wall time (median of N runs; the cluster is reset to its baseline between runs) for the first run
and for a no-op re-run, and the API requests by verb. Prints a table, then RATIO and NOOP_REQUESTS_PER_KIND
lines.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from tests.support import shared_data  # noqa: E402
from tests.support.ansible_runner import TOOLS_BIN, base_env, ensure_collection_link, run_playbook  # noqa: E402
from tests.support.cluster import Cluster  # noqa: E402

os.environ["PATH"] = os.pathsep.join([str(TOOLS_BIN), os.environ.get("PATH", "")])  # the pinned kubectl
DISCOVERY = re.compile(r"^/(api|apis)(/[^/]+){0,2}$|^/openapi/|^/version$")


def objects():
    """Addons + bookinfo + the mesh set the roles produce (real upstream files when shared/ is present)."""
    sys.path.insert(0, str(ensure_collection_link()))
    from ansible_collections.aksmesh.istio.plugins.filter.mesh import FilterModule
    from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import topology
    from tests.integration.modules.test_apply import upstream_set
    objs = upstream_set() if shared_data.upstream_dir() else []
    f = FilterModule().filters()  # the stage filters, called as the roles call them
    topo = topology("istioctl")  # the gateway workloads the istioctl method runs, as the settings role derives them
    workloads, egw = list(topo["gateways"].values()), topo["gateways"]["egress"]
    mesh = f["secrets_manifests"](topo["addons_namespace"], grafana_username="a", grafana_passphrase="b",
                                  kiali_username="a", kiali_passphrase="b")
    mesh += f["mtls_manifests"]("STRICT", root_namespace=topo["root_namespace"],
                                istio_namespace=topo["istio_namespace"], gateway_namespaces=topo["gateway_namespaces"])
    mesh += f["gateway_manifests"](
        [{"name": "shop-gw", "hosts": ["shop.example.com"]}], workloads=workloads,
        ingress_selector=topo["gateways"]["ingress"]["selector"],
        virtual_services=[{"name": "shop", "namespace": "bookinfo", "hosts": ["shop.example.com"],
                           "gateways": ["shop-gw"], "http": [{"route": [{"destination": {"host": "productpage"}}]}]}])
    mesh += f["egress_manifests"]([{"host": "api.example.com"}, {"host": "login.example.com"},
                                   {"host": "status.example.com", "protocol": "HTTP"}], namespaces=["bookinfo"],
                                  gateway_namespace=egw["namespace"], gateway_selector=egw["selector"],
                                  gateway_service=egw["service"])
    mesh += f["traffic_manifests"]([
        {"name": "%s-policy" % svc, "host": svc, "namespace": "bookinfo", "subsets": ["v1", "v2"],
         "canary": {"weights": {"v1": 90, "v2": 10}}, "retries": {"attempts": 3},
         "circuit_breaker": {"max_connections": 100, "consecutive_5xx_errors": 5}}
        for svc in ("productpage", "reviews", "ratings", "details")])
    mesh += f["network_policy_manifests"]("restrict-all", istio_namespace=topo["istio_namespace"],
                                          prometheus_namespace=topo["addons_namespace"],
                                          gateways=[topo["gateways"]["ingress"], egw])
    names = {"istio-system", "bookinfo", "istio-ingress", "istio-egress"}
    namespaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in sorted(names)]
    return namespaces + [o for o in objs if o["kind"] != "Namespace"] + mesh


def fresh_api(cluster, workdir):
    cluster.reset(cluster.baseline)
    kc = workdir / "kubeconfig"
    cluster.kubeconfig(kc)
    cluster.clear_log()
    return cluster, kc


def by_verb(api):
    out = {}
    for entry in api.requests():
        out[entry.method] = out.get(entry.method, 0) + 1
    return out


def _play(tasks):
    return [{"name": "bench", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]


def _timed_playbook(tasks, workdir):
    """(rc, error text, seconds of the 'apply' task) for a playbook run."""
    run = run_playbook(_play(tasks), workdir, env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal"})
    task = run.task("apply")
    failed = [r for r in run.results if r["status"] == "failed"]
    text = "\n".join(str(r["result"].get("msg"))[:1500] for r in failed) or run.stdout[-1500:]
    return run.rc, text, task[-1]["seconds"] if task else float("nan")


def run_aksmesh(kc, src, workdir):
    return _timed_playbook([{"name": "apply", "aksmesh.istio.apply": {"kubeconfig": str(kc), "src": [str(src)]}}],
                           workdir)


def run_k8s_src(kc, src, workdir):
    return _timed_playbook([{
        "name": "apply", "kubernetes.core.k8s": {"kubeconfig": str(kc), "src": str(src / "all.yaml"), "apply": True,
                                                 "server_side_apply": {"field_manager": "bench"}}}], workdir)


def run_k8s_loop(kc, src, workdir):
    docs = [d for d in yaml.safe_load_all(src.joinpath("all.yaml").read_text()) if d]
    (workdir / "objs.json").write_text(json.dumps(docs))
    return _timed_playbook([{
        "name": "apply", "kubernetes.core.k8s": {"kubeconfig": str(kc), "definition": "{{ item }}", "apply": True,
                                                 "server_side_apply": {"field_manager": "bench"}},
        "loop": "{{ lookup('ansible.builtin.file', '" + str(workdir / "objs.json") + "') | from_json }}",
        "loop_control": {"label": "{{ item.kind }}/{{ item.metadata.name }}"}}], workdir)


def run_kubectl_task(kc, src, workdir):
    env = {"KUBECONFIG": str(kc), "KUBECACHEDIR": str(workdir / "kcache"), "HOME": str(workdir)}
    return _timed_playbook([{"name": "apply", "ansible.builtin.command": {
        "argv": ["kubectl", "apply", "--server-side", "-f", str(src)]}, "environment": env,
        "changed_when": True}], workdir)


def run_kubectl(kc, src, workdir):
    env = dict(os.environ, KUBECONFIG=str(kc), KUBECACHEDIR=str(workdir / "kcache"), HOME=str(workdir))
    start = time.perf_counter()
    proc = subprocess.run(["kubectl", "apply", "--server-side", "-f", str(src)], env=env, capture_output=True,
                          text=True, check=False)
    return proc.returncode, proc.stderr[-2000:], time.perf_counter() - start


def measure(cluster, name, runner, src, runs, root, latency):
    rows = {"process_first": [], "process_noop": [], "task_first": [], "task_noop": []}
    first_req = noop_req = noop_log = None
    for _run in range(runs):
        workdir = pathlib.Path(tempfile.mkdtemp(dir=root))
        api, kc = fresh_api(cluster, workdir)
        api.latency = latency
        try:
            for phase in ("first", "noop"):
                api.clear_log()
                start = time.perf_counter()
                rc, out, task_seconds = runner(kc, src, workdir)
                rows["process_" + phase].append(time.perf_counter() - start)
                rows["task_" + phase].append(task_seconds)
                if rc != 0:
                    raise SystemExit(f"{name} failed on its {phase} run:\n{out}")
                if phase == "first":
                    first_req = by_verb(api)
                else:
                    noop_req, noop_log = by_verb(api), api.requests()
        finally:
            api.latency = 0.0
    out = dict((key, statistics.median(values)) for key, values in rows.items())
    out.update(name=name, first_requests=first_req, noop_requests=noop_req, noop_log=noop_log)
    return out


def report(results, kinds, latency_ms):
    print(f"\n-- API round trip {latency_ms} ms (real kube-apiserver on loopback + latency added by the proxy)")
    print(f"{'way':26} {'task first':>10} {'task no-op':>10} {'proc first':>10} {'proc no-op':>10}  "
          f"first requests / no-op requests")
    for r in results:
        print(f"{r['name']:26} {r['task_first']:10.2f} {r['task_noop']:10.2f} {r['process_first']:10.2f} "
              f"{r['process_noop']:10.2f}  {json.dumps(r['first_requests'])} / {json.dumps(r['noop_requests'])}")


def ratios(results, latency_ms, tag):
    """RATIO lines (untagged for the first latency, which is the headline figure; @<n>ms for the others)."""
    ours = results[0]
    print(f"\n(RATIO{tag} lines: task durations at {latency_ms} ms round trip; >1 means aksmesh.apply is faster)")
    for other in results[1:]:
        if other["name"] == "kubectl (bare process)":
            print(f"RATIO_PROCESS{tag} kubectl/aksmesh.apply {other['process_first'] / ours['process_first']:.2f}")
            continue
        print(f"RATIO{tag} {other['name']}/aksmesh.apply {other['task_first'] / ours['task_first']:.2f}")
        print(f"RATIO_NOOP{tag} {other['name']}/aksmesh.apply {other['task_noop'] / ours['task_noop']:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--loop-runs", type=int, default=None, help="runs for the kubernetes.core loop")
    parser.add_argument("--latency-ms", default="10,0",
                        help="API round trips to model, comma-separated; the first one gives the RATIO lines")
    args = parser.parse_args(argv)
    root = pathlib.Path(tempfile.mkdtemp(prefix="aksmesh-bench-"))
    src = root / "manifests"
    src.mkdir()
    objs = objects()
    # kubernetes.core.k8s sends server-side apply bodies as escaped JSON, which the API server's YAML parser
    # refuses for characters outside the BMP (400 "invalid Unicode character escape code": the emoji in Istio's
    # Grafana dashboards); aksmesh.apply sends UTF-8. Every way gets the same set: without those objects.
    wide = [o for o in objs if any(ord(c) > 0xFFFF for c in json.dumps(o, ensure_ascii=False))]
    objs = [o for o in objs if o not in wide]
    if wide:
        print(f"left out for every way: {', '.join(o['kind'] + ' ' + o['metadata']['name'] for o in wide)} "
              "(kubernetes.core.k8s cannot apply them server-side: 400 invalid Unicode character escape code)")
    (src / "all.yaml").write_text(yaml.safe_dump_all(objs, sort_keys=False))
    kinds = {(o["apiVersion"], o["kind"]) for o in objs}
    print(f"objects: {len(objs)} of {len(kinds)} kinds; wall times in seconds, median of {args.runs} runs on the "
          f"real kube-apiserver, reset to its baseline before each run")
    print("task = the task's own duration inside ansible-playbook (kubectl run by ansible.builtin.command);"
          " proc = the whole process (ansible-playbook, or bare kubectl)")
    have_core = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-doc"), "kubernetes.core.k8s"],
                               capture_output=True, env=base_env(), check=False).returncode == 0
    if not have_core:
        print("kubernetes.core is not installed (it ships in the ansible package of requirements/dev.txt); skipping that way")
    summaries = []
    cluster = Cluster(root / "cluster").start()
    try:
        cluster.install_istio_crds()
        for latency_ms in [int(x) for x in args.latency_ms.split(",") if x.strip()]:
            latency = latency_ms / 1000.0
            results = [measure(cluster, "aksmesh.apply", run_aksmesh, src, args.runs, root, latency)]
            if have_core:
                results.append(measure(cluster, "kubernetes.core.k8s-src", run_k8s_src, src, args.runs, root,
                                       latency))
                results.append(measure(cluster, "kubernetes.core.k8s-loop", run_k8s_loop, src,
                                       args.loop_runs or args.runs, root, latency))
            if shutil.which("kubectl"):
                results.append(measure(cluster, "kubectl", run_kubectl_task, src, args.runs, root, latency))
                results.append(measure(cluster, "kubectl (bare process)", run_kubectl, src, args.runs, root,
                                       latency))
            report(results, kinds, latency_ms)
            summaries.append((latency_ms, results))
    finally:
        cluster.stop()
    for index, (latency_ms, results) in enumerate(summaries):
        ratios(results, latency_ms, "" if index == 0 else f"@{latency_ms}ms")
    latency_ms, results = summaries[0]
    ours = results[0]
    reads = [e for e in ours["noop_log"] if not DISCOVERY.match(e.path)]
    writes = [e for e in ours["noop_log"] if e.method != "GET" and "dryRun=All" not in e.query]
    dry_runs = [e for e in ours["noop_log"] if "dryRun=All" in e.query]
    print(f"NOOP_WRITES {len(writes)}")
    print(f"NOOP_DRY_RUNS {len(dry_runs)}")
    print(f"NOOP_REQUESTS_PER_KIND {len(reads) / len(kinds):.1f}")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
