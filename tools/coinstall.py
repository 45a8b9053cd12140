"""Record how requirements/runtime.txt resolves together with other collections' Python requirements.

An execution environment (awx-ee) installs the Python requirements of every collection in it in one pip run, so
ours must co-install with azure.azcollection's and kubernetes.core's. This asks pip (``install --dry-run``, the
package registry pip is configured with) to resolve them together and writes the result to
requirements/coinstall.txt, which tests/unit/test_requirements.py checks against runtime.txt. Re-record whenever
runtime.txt changes or those collections change their requirements:

    .venv/bin/python tools/coinstall.py azure.azcollection=PATH/requirements.txt kubernetes.core=PATH/requirements.txt

(each PATH the requirements file of the collection as installed, e.g. under ~/.ansible/collections or an
execution environment's /usr/share/ansible/collections).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import pathlib
import platform
import subprocess
import sys
import tempfile

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

REPO = pathlib.Path(__file__).resolve().parents[1]
RUNTIME = REPO / "requirements" / "runtime.txt"
RECORD = REPO / "requirements" / "coinstall.txt"


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


def resolve(files):
    """name -> version of what pip would install for all ``files`` together (raises on ResolutionImpossible)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = pathlib.Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
               "--disable-pip-version-check", "--report", str(report)]
        for path in files:
            cmd += ["-r", str(path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode:
            raise SystemExit("pip could not resolve them together:\n" + proc.stdout + proc.stderr)
        return {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("others", nargs="+", metavar="COLLECTION=REQUIREMENTS_FILE")
    args = parser.parse_args(argv)
    others = [item.split("=", 1) for item in args.others]
    ours = {canonicalize_name(r.name) for r in requirements(RUNTIME)}
    resolved = resolve([RUNTIME] + [path for _name, path in others])
    lines = ["# requirements/runtime.txt resolved together with other collections' Python requirements (pip install",
             "# --dry-run), as an execution environment installs them; written by tools/coinstall.py, checked by",
             "# tests/unit/test_requirements.py. Re-record when runtime.txt or those requirements change.",
             "# recorded: %s, Python %s" % (datetime.date.today().isoformat(), platform.python_version()),
             "# runtime.txt sha256: %s" % digest(RUNTIME)]
    for name, path in others:
        lines.append("# with: %s (%s, sha256 %s)" % (name, pathlib.Path(path).name, digest(path)))
        for req in requirements(path):
            if canonicalize_name(req.name) in ours:
                lines.append("# requires: %s %s" % (name, req))
    lines += ["%s==%s" % (name, version) for name, version in sorted(resolved.items())]
    RECORD.write_text("\n".join(lines) + "\n")
    print("%s: %d packages" % (RECORD.relative_to(REPO), len(resolved)))


if __name__ == "__main__":
    main()
