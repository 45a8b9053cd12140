"""Run the collection's modules and playbooks the way users do, from tests.

``run_module`` executes a module file as Ansible's AnsiballZ would hand it its
arguments (a JSON file with ANSIBLE_MODULE_ARGS) in a subprocess: fast, real
code path. ``run_playbook`` runs ansible-playbook with the collection on its
collections path and returns every task result (via a test callback).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".build" / "collections"
SUPPORT = pathlib.Path(__file__).resolve().parent
TOOLS_BIN = REPO / ".build" / "tools" / "bin"  # the pinned kubectl, istioctl, helm (make tools)


def ensure_collection_link():
    link = COLLECTIONS / "ansible_collections" / "aksmesh" / "istio"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)
    return COLLECTIONS


def base_env(extra=None):
    ensure_collection_link()
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
        "PYTHONPATH": str(COLLECTIONS),
        "PATH": os.pathsep.join([str(TOOLS_BIN), str(pathlib.Path(sys.executable).parent), env.get("PATH", "")]),
        "ANSIBLE_CALLBACK_PLUGINS": str(SUPPORT / "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "aksmesh_results",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
    })
    env.update(extra or {})
    return {k: v for k, v in env.items() if v is not None}  # None in ``extra`` unsets a variable


@dataclasses.dataclass
class ModuleResult:
    rc: int
    result: dict
    stdout: str
    stderr: str

    @property
    def failed(self):
        return bool(self.result.get("failed")) or self.rc != 0

    def __getitem__(self, key):
        return self.result[key]


def run_module(name, args, check_mode=False, diff=False, env=None, timeout=120):
    """Run plugins/modules/<name>.py with ``args``; returns the parsed JSON result."""
    module = REPO / "plugins" / "modules" / f"{name}.py"
    payload = dict(args)
    payload["_ansible_check_mode"] = check_mode
    payload["_ansible_diff"] = diff
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"ANSIBLE_MODULE_ARGS": payload}, fh)
        path = fh.name
    try:
        proc = subprocess.run([sys.executable, str(module), path], env=base_env(env), capture_output=True,
                              text=True, timeout=timeout, check=False)
    finally:
        os.unlink(path)
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    except (json.JSONDecodeError, IndexError):
        result = {"failed": True, "msg": "module printed no JSON", "raw": proc.stdout}
    return ModuleResult(proc.returncode, result, proc.stdout, proc.stderr)


@dataclasses.dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    results: list

    def task(self, name):
        """The results of the task called ``name`` (list, one per host/loop result); role prefixes ignored, and so
        is what a long task says it waits for (``Install or update Istio, waiting for ...; timeout: 300s``)."""
        def bare(task):
            task = task.split(" : ", 1)[-1]
            return task.split(", waiting for ", 1)[0]
        return [r for r in self.results if bare(r["task"]) == name]

    def output_of(self, name):
        """What the default callback printed for the task whose banner names ``name`` (banner included): the
        progress lines of a long task, for one."""
        out, inside = [], False
        for line in self.stdout.splitlines():
            if line.startswith(("TASK [", "PLAY [", "PLAY RECAP", "RUNNING HANDLER [")):
                inside = line.startswith("TASK [") and (" : " + name in line or line.startswith("TASK [" + name))
            if inside:
                out.append(line)
        return "\n".join(out)

    @property
    def changed(self):
        return [r for r in self.results if r["result"].get("changed")]


POLL_INTERVAL = 3


PLAYBOOK_LOG = "AKSMESH_PLAYBOOK_LOG"


def account(started, before, **what):
    """One JSON line per ansible-playbook run to ``$AKSMESH_PLAYBOOK_LOG`` (make test sets it; the summary at the end
    of pytest adds them up per test file): the test, wall seconds and CPU seconds of the run's processes (this
    process's children since ``before``: approximate when a test runs playbooks in threads, and without the
    detached async jobs)."""
    path = os.environ.get(PLAYBOOK_LOG)
    if not path:
        return
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = json.dumps(dict(what, test=os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0],
                           wall=round(time.monotonic() - started, 2), cpu=round(cpu, 2))) + "\n"
    with open(path, "a", encoding="utf-8") as fh:  # one short append per run: whole lines across the workers
        fh.write(line)


def playbook_summary(path, top=15):
    """Lines adding up the runs ``account`` logged: per test file, runs, wall and CPU minutes, the costliest first."""
    files = {}
    for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines():
        run = json.loads(line)
        entry = files.setdefault(run["test"].split("::", 1)[0] or "?", [0, 0.0, 0.0])
        entry[0] += 1
        entry[1] += run["wall"]
        entry[2] += run["cpu"]
    total = [sum(e[i] for e in files.values()) for i in range(3)]
    out = ["ansible-playbook runs: %d, %.1f wall-minutes, %.1f CPU-minutes (per test file, the costliest first)"
           % (total[0], total[1] / 60, total[2] / 60)]
    for name, (runs, wall, cpu) in sorted(files.items(), key=lambda kv: -kv[1][2])[:top]:
        out.append("  %5.1f CPU-min %5.1f wall-min %4d runs  %s" % (cpu / 60, wall / 60, runs, name))
    return out


def account_api_server(served):
    """One JSON line per session cluster (``Cluster.served()``) beside ``$AKSMESH_PLAYBOOK_LOG``: what its API server
    answered and its CPU, added up by ``api_server_summary``."""
    path = os.environ.get(PLAYBOOK_LOG)
    if path:
        with open(pathlib.Path(path).with_name("api-servers.jsonl"), "a", encoding="utf-8") as fh:
            fh.write(json.dumps(served) + "\n")


def api_server_summary(path, top=12):
    """Lines adding up what ``account_api_server`` logged: the clusters' API server CPU and their requests per verb
    and resource, the most frequent first."""
    lines = [json.loads(line) for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines()]
    requests = {}
    for served in lines:
        for key, count in served["requests"].items():
            requests[key] = requests.get(key, 0) + count
    out = ["API servers of the session clusters: %d, %.1f CPU-minutes, %d requests (the most frequent first)"
           % (len(lines), sum(s["cpu"] or 0 for s in lines) / 60, sum(requests.values()))]
    for key, count in sorted(requests.items(), key=lambda kv: -kv[1])[:top]:
        out.append("  %8d  %s" % (count, key))
    return out


def run_playbook(playbook, workdir, extra_vars=None, check=False, diff=False, verbosity=0, env=None, tags=None,
                 inventory=None, timeout=600):
    """Run ``playbook`` (a path, or a list of plays to write to a file) and collect its results."""
    workdir = pathlib.Path(workdir)
    if not isinstance(playbook, (str, pathlib.Path)):
        path = workdir / f"play-{len(list(workdir.glob('play-*.yml')))}.yml"
        path.write_text(yaml.safe_dump(playbook, sort_keys=False))
        playbook = path
    log = workdir / f"results-{os.getpid()}-{len(list(workdir.glob('results-*')))}.jsonl"
    cmd = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), str(playbook),
           "-i", str(inventory or "localhost,"), "-c", "local"]
    # a progress line every 3 s: a long task ends up to one poll interval after its work (default 10 s), and each
    # poll is an async_status process (poll 1 cost a fifth more CPU in a Helm converge: the tests that read the
    # progress lines ask for 1); each cluster run's report in the test's folder, not in the checkout
    extra_vars = dict({"aksmesh_poll_interval": POLL_INTERVAL, "aksmesh_report_dir": str(workdir / "reports")},
                      **(extra_vars or {}))
    if extra_vars:
        vars_file = workdir / f"vars-{log.stem}.yml"
        vars_file.write_text(yaml.safe_dump(extra_vars))
        cmd += ["-e", f"@{vars_file}"]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    if tags:
        cmd += ["--tags", tags]
    started, before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, env=base_env(dict(env or {}, AKSMESH_RESULT_LOG=str(log))), capture_output=True,
                          text=True, timeout=timeout, cwd=str(REPO), check=False)
    account(started, before, check=check, tags=tags, rc=proc.returncode)
    results = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, results)


def role_play(kubeconfig, roles, name="roles", **inventory):
    """A play as a user writes one to reuse the collection's roles: the settings role first (cluster target),
    the connection through the collection's action group, then ``roles``; ``inventory`` adds aksmesh_* settings."""
    settings = dict({"aksmesh_target": "cluster", "aksmesh_kubeconfig": kubeconfig}, **inventory)
    return [{"name": name, "hosts": "localhost", "gather_facts": False, "vars": settings,
             "module_defaults": {"group/aksmesh.istio.k8s": {
                 "kubeconfig": "{{ settings_mesh.connection.kubeconfig }}"}},
             "roles": [{"role": "aksmesh.istio.settings"}] + list(roles)}]
