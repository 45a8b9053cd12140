"""Record how requirements/runtime.txt resolves in the execution environment that execution-environment.yml builds.

ansible-builder installs the Python requirements of every collection in the image in one pip run, on the image's
Python, beside the ansible-core and ansible-runner it pins. This reads those from execution-environment.yml: the
collections it installs besides this one (name and version), their requirement files taken from the copies the
development venv holds (.venv: the ``ansible`` package of requirements/dev.txt carries them; a version other than
the one the definition pins is refused), the pinned ansible-core and ansible-runner and the Python of
``python_interpreter``. It asks pip (``install --dry-run`` for that Python, the package registry pip is configured
with) to resolve them together with runtime.txt and writes the result to requirements/coinstall.txt, which
tests/unit/test_requirements.py checks against runtime.txt and execution-environment.yml. Re-record whenever one of
them changes:

    .venv/bin/python tools/coinstall.py [--python PYTHON]

PYTHON is an interpreter of the image's Python version (default: ``python3.12`` or what the definition names, from
PATH or pyenv); it only lends pip its version and platform.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

REPO = pathlib.Path(__file__).resolve().parents[1]
RUNTIME = REPO / "requirements" / "runtime.txt"
RECORD = REPO / "requirements" / "coinstall.txt"
DEFINITION = REPO / "execution-environment.yml"


def requirements(path):
    """The Requirement objects of a requirements file (options, comments and unparsable lines left out)."""
    found = []
    for line in pathlib.Path(path).read_text().splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            found.append(Requirement(line))
        except InvalidRequirement:
            continue
    return found


def digest(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def image(definition=DEFINITION):
    """What the execution environment holds besides this collection: base image, Python, the pip pins of
    ansible-core and ansible-runner, and the Galaxy collections as {name: version}."""
    ee = yaml.safe_load(pathlib.Path(definition).read_text())
    deps = ee["dependencies"]
    python = deps["python_interpreter"]["python_path"]
    collections = {item["name"]: str(item["version"]) for item in deps["galaxy"]["collections"]
                   if item.get("type") != "file"}
    return {"base": ee["images"]["base_image"]["name"],
            "python": re.search(r"python(\d+\.\d+)$", python).group(1),
            "pins": [deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"]],
            "collections": collections}


def collection_requirements(name, version, venv=REPO / ".venv"):
    """The Python requirements file of collection ``name`` as ansible-builder's introspection finds it (its
    meta/execution-environment.yml's ``dependencies.python``, else requirements.txt), from the development venv's
    copy, which must be ``version``."""
    namespace, short = name.split(".")
    found = sorted(venv.glob(f"lib/python*/site-packages/ansible_collections/{namespace}/{short}/MANIFEST.json"))
    if not found:
        raise SystemExit(f"coinstall: {name} is not in {venv}: run make setup first")
    root = found[0].parent
    held = json.loads(found[0].read_text())["collection_info"]["version"]
    if held != version:
        raise SystemExit(f"coinstall: execution-environment.yml installs {name} {version}, {venv} holds {held}: "
                         "pin the version the ansible package of requirements/dev.txt carries")
    meta = root / "meta" / "execution-environment.yml"
    python = "requirements.txt"
    if meta.is_file():
        python = (yaml.safe_load(meta.read_text()).get("dependencies") or {}).get("python", python)
    return root / python


def interpreter(version, given=None):
    """A Python of ``version`` for pip's --python: the one given, or from pyenv, or pythonX.Y from PATH."""
    pyenv = pathlib.Path(os.environ.get("PYENV_ROOT", pathlib.Path.home() / ".pyenv"))
    # pyenv's own interpreters before PATH, where pyenv's shim may stand for one that is not selected
    candidates = [given] if given else [*sorted(pyenv.glob(f"versions/{version}.*/bin/python")),
                                        shutil.which(f"python{version}")]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return str(path)
    raise SystemExit(f"coinstall: no Python {version} found (the execution environment's): pass --python")


def resolve(files, pins, python):
    """name -> version of what pip would install for all ``files`` and ``pins`` together, for ``python``
    (raises on ResolutionImpossible)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = pathlib.Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip", "--python", python, "install", "--dry-run", "--ignore-installed",
               "--quiet", "--disable-pip-version-check", "--report", str(report), *pins]
        for path in files:
            cmd += ["-r", str(path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode:
            raise SystemExit("pip could not resolve them together:\n" + proc.stdout + proc.stderr)
        return {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--python", help="an interpreter of the execution environment's Python version")
    args = parser.parse_args(argv)
    ee = image()
    python = interpreter(ee["python"], args.python)
    others = [(name, version, collection_requirements(name, version)) for name, version in ee["collections"].items()]
    ours = {canonicalize_name(r.name) for r in requirements(RUNTIME)}
    resolved = resolve([RUNTIME] + [path for _name, _version, path in others], ee["pins"], python)
    found = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                           capture_output=True, text=True, check=True).stdout.strip()
    lines = ["# requirements/runtime.txt resolved (pip install --dry-run) as execution-environment.yml installs it: in",
             "# one pip run with the Python requirements of the other collections it installs, beside its ansible-core",
             "# and ansible-runner, for its Python; written by tools/coinstall.py, checked by",
             "# tests/unit/test_requirements.py. Re-record when runtime.txt or the definition changes.",
             "# recorded: %s, Python %s" % (datetime.date.today().isoformat(), found),
             "# image: %s, Python %s" % (ee["base"], ee["python"]),
             "# runtime.txt sha256: %s" % digest(RUNTIME)]
    lines += ["# pins: %s" % pin for pin in ee["pins"]]
    for name, version, path in others:
        lines.append("# with: %s %s (%s, sha256 %s)" % (name, version, path.name, digest(path)))
        for req in requirements(path):
            if canonicalize_name(req.name) in ours:
                lines.append("# requires: %s %s" % (name, req))
    lines += ["%s==%s" % (name, version) for name, version in sorted(resolved.items())]
    RECORD.write_text("\n".join(lines) + "\n")
    print("%s: %d packages" % (RECORD.relative_to(REPO), len(resolved)))


if __name__ == "__main__":
    main()
