"""Benchmark: site.yml against the seed runbook on the real cluster (tests/support/cluster.py), one cluster and a fleet.

One cluster, for each install method (istioctl, helm), every default stage on (the addons included, from a local
copy of Istio's samples/addons), the sample off:

- **site**: ``ansible-playbook site.yml`` (cluster target, the collection's default poll interval);
- **runbook**: what an operator would run by hand for the same cluster, from the objects site.yml renders for it
  (its render mode, into a folder): the namespaces, then ``istioctl install -y -f <the IstioOperator site.yml
  builds>`` (helm: ``helm upgrade --install --wait`` of each release site.yml installs, with its values), then
  ``kubectl apply --server-side -R -f`` of each other stage folder, in order.

Each is timed on a converge (the cluster reset to its baseline) and, once the application the routes go to is
deployed (the real istiod injects it), on a no-op re-run - for site.yml the second one, the steady state (the first
analyzes the new application): wall time and CPU (user + system of every process the run started:
getrusage(RUSAGE_CHILDREN) around a reaper that waits for every descendant, Ansible's async jobs included).
The fleet: N clusters, each its own kube-apiserver, etcd, kwok nodes and istiods, one ``ansible-playbook -f N`` run
(istioctl method) against the runbook on the N clusters at once.

Prints a table, then RATIO_NOOP / RATIO_NOOP_CPU / SITE_NOOP_CHANGED, the same for converge (RATIO_CONVERGE...),
tagged @helm for the Helm method and @fleet for the fleet, FLEET_*_CPU_PER_CLUSTER, NOOP_WRITES (requests that
changed something during site.yml's no-op run), the load average; --profile adds the costliest tasks of the no-op
run. RATIO = runbook / site: above 1 means site.yml is faster.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import ctypes
import json
import os
import pathlib
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from tests.support.ansible_runner import TOOLS_BIN, base_env, ensure_collection_link  # noqa: E402
from tests.support.cluster import ISTIO_VERSION, Cluster  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36
ANALYZE = "Analyze the live mesh with istioctl"
RECAP = re.compile(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", re.M)


def reap(argv):
    """Run argv as a child subreaper: every descendant (Ansible's async wrapper double-forks) is waited for, so
    that its CPU time reaches the caller's RUSAGE_CHILDREN. Exits with argv's status."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    rc = subprocess.call(argv)
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    sys.exit(rc)


def timed(argv, env, cwd=None, log=None):
    """(rc, output, wall seconds, CPU seconds of argv and every process it started)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--reap", "--", *argv], env=env, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if log:
        pathlib.Path(log).write_text(proc.stdout)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc.returncode, proc.stdout, wall, cpu


# ---- the inventory ----------------------------------------------------------------------------------------------
def mesh_vars():
    from tests.integration.test_site import MESH
    return dict(MESH, aksmesh_addons=True, aksmesh_sample=False)


def write_inventory(folder, hosts, group_vars):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts, "vars": group_vars}}))
    return folder


def host_vars(method, addons, chart_repo):
    out = {"aksmesh_install_method": method, "mesh_addons_source_dir": addons}
    if method == "helm":
        out.update(aksmesh_istio_version=ISTIO_VERSION, istio_helm_repo=chart_repo)
    return out


def ansible_env(workdir, log=None):
    env = base_env({"AKSMESH_RESULT_LOG": str(log) if log else None})
    env["PATH"] = os.pathsep.join([str(TOOLS_BIN), env["PATH"]])
    env.setdefault("HOME", str(workdir))
    return env


def site(inv, workdir, name, forks=1, extra=None):
    """One ansible-playbook site.yml run: (wall, cpu, {host: changed}, results, output)."""
    log = workdir / f"{name}.jsonl"
    log.unlink(missing_ok=True)
    extra = dict({"aksmesh_report_dir": str(workdir / "reports")}, **(extra or {}))
    vars_file = workdir / f"{name}-vars.yml"
    vars_file.write_text(yaml.safe_dump(extra))
    argv = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), str(REPO / "site.yml"), "-i", str(inv),
            "-e", f"@{vars_file}", "-f", str(forks)]
    rc, out, wall, cpu = timed(argv, ansible_env(workdir, log), cwd=str(REPO), log=workdir / f"{name}.log")
    results = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    if rc != 0:
        failed = [(r["host"], r["task"], str(r["result"].get("msg"))[:1500]) for r in results
                  if r["status"] == "failed"]
        raise SystemExit(f"site.yml {name} failed (rc {rc}): {failed or out[-3000:]}")
    return wall, cpu, {h: int(n) for h, n in RECAP.findall(out.split("PLAY RECAP", 1)[-1])}, results


# ---- the runbook ------------------------------------------------------------------------------------------------
def render(method, addons, chart_repo, workdir):
    """site.yml's render of one cluster: (render folder, what the install stage was given: the IstioOperator, or
    the Helm releases)."""
    out = workdir / "render"
    shutil.rmtree(out, ignore_errors=True)
    host = dict(host_vars(method, addons, chart_repo), aksmesh_render_dir=str(out))
    inv = write_inventory(workdir / "render-inventory", {"aks": host}, dict(mesh_vars(), aksmesh_target="render"))
    _wall, _cpu, _changed, results = site(inv, workdir, "render")
    fact = "istio_install_operator" if method == "istioctl" else "istio_helm_releases"
    given = [r["result"]["ansible_facts"][fact] for r in results if fact in r["result"].get("ansible_facts", {})]
    return out, given[0]


def write_runbook(method, folder, given, chart_repo, kubeconfig, workdir):
    """The runbook as a shell script: namespaces, the control plane, then every other stage folder in order."""
    first = "10-istio" if method == "istioctl" else "10-istio-helm"
    lines = ["set -euo pipefail", f"export KUBECONFIG={kubeconfig} KUBECACHEDIR={workdir / 'kubecache'}"]
    if method == "istioctl":
        (workdir / "istiooperator.yaml").write_text(yaml.safe_dump(given))
        for ns in sorted((folder / first).glob("00-namespace--*.yaml")):
            lines.append(f"kubectl apply --server-side -f {ns}")
        lines.append(f"istioctl install -y -f {workdir / 'istiooperator.yaml'}")
    else:
        for release in given:
            values = workdir / f"values-{release['name']}.json"
            values.write_text(json.dumps(release.get("values") or {}))
            lines.append(f"helm upgrade --install {release['name']} {release['chart']} --repo {chart_repo} "
                         f"--version {ISTIO_VERSION} -n {release['namespace']} --create-namespace -f {values} "
                         "--wait --timeout 5m")
    for stage in sorted(p for p in folder.iterdir() if p.is_dir() and p.name != first):
        lines.append(f"kubectl apply --server-side -R -f {stage}")
    script = workdir / "runbook.sh"
    script.write_text("\n".join(lines) + "\n")
    return script


def runbook(script, workdir):
    rc, out, wall, cpu = timed(["bash", str(script)], ansible_env(workdir), log=workdir / "runbook.log")
    if rc != 0:
        raise SystemExit(f"the runbook {script} failed (rc {rc}):\n{out[-3000:]}")
    return wall, cpu


def runbooks(scripts):
    """The runbooks of a fleet at once (as -f N runs site.yml): (wall, cpu)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(len(scripts)) as pool:
        list(pool.map(lambda s: runbook(s, s.parent), scripts))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - start, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


# ---- the clusters -----------------------------------------------------------------------------------------------
def prepare(cluster, method):
    """The cluster at its baseline (the Istio CRDs as a user's install applies them: on the Helm path the base
    chart's): its kubeconfig."""
    cluster.reset(cluster.baseline)
    if method == "helm":
        cluster.remove_istio_crds()
    elif not cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "gateways.networking.istio.io"):
        cluster.install_istio_crds(keep_baseline=True)
    kc = cluster.workdir / "bench.kubeconfig"
    cluster.kubeconfig(kc)
    cluster.clear_log()
    return kc


def deploy_app(kc):
    """After a converge, the application the routes go to, as its team deploys it into the injected namespace (the
    real istiod injects its pods): the no-op runs then meet a mesh without findings."""
    from tests.integration.test_site import deploy_shop
    deploy_shop(kc)


def chart_repo(root):
    """The pinned Istio charts in a loopback Helm chart repository (as tests/conftest.py serves them)."""
    from tests.support.loopback import LoopbackServer, Response
    charts = (TOOLS_BIN.parent / "istio-charts").resolve()

    def handler(req):
        path = (charts / req.path.lstrip("/")).resolve()
        if path.parent != charts or not path.is_file():
            return Response(404, "not found", content_type="text/plain")
        return Response(200, path.read_bytes(), content_type="text/yaml" if path.suffix == ".yaml"
                        else "application/gzip")
    (root / "charts").mkdir()
    return LoopbackServer(handler, root / "charts", name="charts", tls=False).start()


def profile(results, top):
    """The costliest tasks of a run (seconds from each task's start to its result, summed over hosts)."""
    costs = {}
    for r in results:
        key = r["task"].split(", waiting for ", 1)[0]
        costs[key] = costs.get(key, 0.0) + r["seconds"]
    print(f"  {len(results)} task results, {sum(costs.values()):.1f} s in tasks; the costliest:")
    for name, seconds in sorted(costs.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {seconds:7.2f}  {name}")


def one_cluster(cluster, method, addons, repo_url, root, args):
    workdir = root / method
    workdir.mkdir()
    folder, given = render(method, addons, repo_url, workdir)
    rows = {k: [] for k in ("site_converge", "site_noop", "runbook_converge", "runbook_noop")}
    changed = {}
    for run in range(args.runs):
        kc = prepare(cluster, method)
        inv = write_inventory(workdir / "inventory", {"aks": dict(host_vars(method, addons, repo_url),
                                                                  aksmesh_kubeconfig=str(kc))},
                              dict(mesh_vars(), aksmesh_target="cluster"))
        wall, cpu, recap, _results = site(inv, workdir, f"converge-{run}", extra=args.extra)
        rows["site_converge"].append((wall, cpu))
        changed["converge"] = sum(recap.values())
        deploy_app(kc)
        # the steady state: a first no-op run analyzes the application just deployed (not timed), the next is timed
        site(inv, workdir, f"settle-{run}", extra=args.extra)
        cluster.clear_log()
        wall, cpu, recap, results = site(inv, workdir, f"noop-{run}", extra=args.extra)
        rows["site_noop"].append((wall, cpu))
        changed["noop"] = sum(recap.values())
        changed["noop_tasks"] = sorted({r["task"] for r in results if r["result"].get("changed")})
        changed["noop_writes"] = [f"{w.method} {w.path}" for w in cluster.writes()]
        changed["noop_analyzed"] = [r["status"] for r in results if r["task"].endswith(" : " + ANALYZE)]
        kc = prepare(cluster, method)
        script = write_runbook(method, folder, given, repo_url, kc, workdir)
        rows["runbook_converge"].append(runbook(script, workdir))
        deploy_app(kc)
        rows["runbook_noop"].append(runbook(script, workdir))
    if args.profile:
        print(f"\n-- {method}: where the no-op site.yml run spends its time")
        profile(results, args.profile)
    out = {k: (statistics.median(w for w, _c in v), statistics.median(c for _w, c in v)) for k, v in rows.items()}
    return out, changed


def fleet(clusters, addons, root, args):
    workdir = root / "fleet"
    workdir.mkdir()
    scripts, hosts = [], {}
    folder, given = render("istioctl", addons, None, workdir)  # the clusters' inventories are the same
    for index, cluster in enumerate(clusters):
        sub = workdir / f"aks-{index}"
        sub.mkdir()
        kc = prepare(cluster, "istioctl")
        hosts[f"aks-{index}"] = dict(host_vars("istioctl", addons, None), aksmesh_kubeconfig=str(kc))
        scripts.append(write_runbook("istioctl", folder, given, None, kc, sub))
    inv = write_inventory(workdir / "inventory", hosts, dict(mesh_vars(), aksmesh_target="cluster"))
    n = len(clusters)
    out = {}
    wall, cpu, recap, _r = site(inv, workdir, "converge", forks=n, extra=args.extra)
    out["site_converge"], out["converge_changed"] = (wall, cpu), sum(recap.values())
    for index in range(n):
        deploy_app(hosts[f"aks-{index}"]["aksmesh_kubeconfig"])
    site(inv, workdir, "settle", forks=n, extra=args.extra)
    wall, cpu, recap, _r = site(inv, workdir, "noop", forks=n, extra=args.extra)
    out["site_noop"], out["noop_changed"] = (wall, cpu), sum(recap.values())
    kubeconfigs = [prepare(cluster, "istioctl") for cluster in clusters]
    out["runbook_converge"] = runbooks(scripts)
    for kc in kubeconfigs:
        deploy_app(kc)
    out["runbook_noop"] = runbooks(scripts)
    return out


def report(name, r):
    for phase in ("converge", "noop"):
        (sw, sc), (rw, rc) = r["site_" + phase], r["runbook_" + phase]
        print(f"{name:16} {phase:9} {sw:9.1f} {sc:9.1f} {rw:12.1f} {rc:12.1f}")


def ratios(r, tag, changed):
    for phase, label in (("noop", "NOOP"), ("converge", "CONVERGE")):
        (sw, sc), (rw, rc) = r["site_" + phase], r["runbook_" + phase]
        print(f"RATIO_{label}{tag} runbook/site {rw / sw:.2f}")
        print(f"RATIO_{label}_CPU{tag} runbook/site {rc / sc:.2f}")
        print(f"SITE_{label}_CHANGED{tag} {changed[phase]}")


def main(argv=None):
    if sys.argv[1:2] == ["--reap"]:
        reap(sys.argv[3:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1, help="runs of each way per cluster (medians)")
    parser.add_argument("--methods", default="istioctl,helm", help="install methods on the one cluster")
    parser.add_argument("--fleet", type=int, default=4, help="clusters of the fleet (0: no fleet)")
    parser.add_argument("--profile", type=int, default=12, help="show the N costliest tasks of the no-op run")
    parser.add_argument("-e", dest="extra", type=json.loads, default={},
                        help="extra variables for site.yml as JSON (e.g. to compare a setting)")
    args = parser.parse_args(argv)
    from tests.integration.roles.test_mesh_roles import addons_dir
    ensure_collection_link()
    os.environ["PATH"] = os.pathsep.join([str(TOOLS_BIN), os.environ.get("PATH", "")])
    root = pathlib.Path(tempfile.mkdtemp(prefix="aksmesh-site-bench-"))
    addons = addons_dir(root)
    load = [os.getloadavg()]
    methods = [m for m in args.methods.split(",") if m]
    repo = chart_repo(root) if "helm" in methods else None
    clusters = [Cluster(root / "cluster-0", pod_cidr="198.18.0.0/18").start()]
    results, fleet_result = {}, None
    try:
        clusters[0].install_istio_crds()
        for method in methods:
            results[method] = one_cluster(clusters[0], method, addons, repo.url if repo else None, root, args)
        if args.fleet > 1:
            for index in range(1, args.fleet):  # a pod range each (tests/support/cluster.py)
                clusters.append(Cluster(root / f"cluster-{index}", pod_cidr=f"198.18.{64 * index}.0/18").start())
                clusters[-1].install_istio_crds()
            fleet_result = fleet(clusters, addons, root, args)
    finally:
        load.append(os.getloadavg())
        for cluster in clusters:
            cluster.stop()
        if repo:
            repo.stop()
    print("\nseconds: wall time and CPU (user + system of every process the run started); "
          f"medians of {args.runs} run(s)")
    print(f"{'':16} {'phase':9} {'site wall':>9} {'site CPU':>9} {'runbook wall':>12} {'runbook CPU':>12}")
    for method, (r, _changed) in results.items():
        report(f"{method} (1)", r)
    if fleet_result:
        report(f"istioctl ({args.fleet})", fleet_result)
    print()
    for method, (r, changed) in results.items():
        ratios(r, "" if method == "istioctl" else f"@{method}", changed)
        print(f"NOOP_WRITES{'' if method == 'istioctl' else '@' + method} {len(changed['noop_writes'])}")
        print(f"  istioctl analyze on the no-op run: {', '.join(changed['noop_analyzed']) or 'not reached'}")
        if changed["noop_tasks"] or changed["noop_writes"]:
            print(f"  changed on the no-op run: {changed['noop_tasks']}; writes: {changed['noop_writes']}")
    if fleet_result:
        ratios(fleet_result, "@fleet", {"noop": fleet_result["noop_changed"],
                                        "converge": fleet_result["converge_changed"]})
        print(f"FLEET_NOOP_CPU_PER_CLUSTER {fleet_result['site_noop'][1] / args.fleet:.1f}")
        print(f"FLEET_CONVERGE_CPU_PER_CLUSTER {fleet_result['site_converge'][1] / args.fleet:.1f}")
        print(f"FLEET_NOOP_SECONDS {fleet_result['site_noop'][0]:.1f}")
    print("LOAD_AVERAGE start %.2f %.2f %.2f, end %.2f %.2f %.2f" % (*load[0], *load[-1]))
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
