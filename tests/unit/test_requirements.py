"""The Python requirements users get (ranges) against the pins, the minimum versions and the recorded
co-installation with azure.azcollection and kubernetes.core (what awx-ee puts in one execution environment)."""

import hashlib
import pathlib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

REQS = pathlib.Path(__file__).resolve().parents[2] / "requirements"
ROOT = REQS.parent


def requirements(name):
    found = {}
    for line in (REQS / name).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "-")):
            req = Requirement(line)
            found[canonicalize_name(req.name)] = req
    return found


def pins(name):
    return {key: Version(str(req.specifier).lstrip("=")) for key, req in requirements(name).items()}


RUNTIME = requirements("runtime.txt")


def test_runtime_requirements_are_ranges_with_a_floor_and_a_ceiling():
    for name, req in RUNTIME.items():
        operators = sorted(spec.operator for spec in req.specifier)
        assert operators == ["<", ">="], "%s: give >=minimum,<next-major, not %s" % (name, req.specifier)


def test_execution_environments_install_the_ranges():
    for path in (ROOT / "meta" / "execution-environment.yml", ROOT / "execution-environment.yml"):
        assert yaml.safe_load(path.read_text())["dependencies"]["python"] == "requirements/runtime.txt"


def test_minimum_versions_are_the_floors():
    minimum = pins("minimum.txt")
    assert set(minimum) == set(RUNTIME)
    for name, req in RUNTIME.items():
        floor = [spec.version for spec in req.specifier if spec.operator == ">="][0]
        assert minimum[name] == Version(floor), name


def test_development_pins_are_in_the_ranges():
    pinned = pins("constraints.txt")
    for name, req in RUNTIME.items():
        assert name in pinned and pinned[name] in req.specifier, "%s %s: %s" % (name, pinned.get(name), req)


def recorded():
    """(header lines, name -> version) of requirements/coinstall.txt."""
    header, resolved = [], {}
    for line in (REQS / "coinstall.txt").read_text().splitlines():
        if line.startswith("#"):
            header.append(line[1:].strip())
        elif line.strip():
            name, version = line.split("==")
            resolved[canonicalize_name(name)] = Version(version)
    return header, resolved


def test_the_recorded_coinstallation_is_of_the_current_runtime_requirements():
    header, _resolved = recorded()
    digest = hashlib.sha256((REQS / "runtime.txt").read_bytes()).hexdigest()
    assert "runtime.txt sha256: %s" % digest in header, (
        "requirements/runtime.txt changed since requirements/coinstall.txt was recorded: re-record it with "
        "tools/coinstall.py (see its docstring)")
    assert {line.split()[1] for line in header if line.startswith("with: ")} == {"azure.azcollection",
                                                                                 "kubernetes.core"}


@pytest.mark.parametrize("name", sorted(RUNTIME))
def test_each_library_co_installs_with_azure_azcollection_and_kubernetes_core(name):
    """The version pip chose for all three collections together is in our range and in theirs."""
    header, resolved = recorded()
    assert resolved[name] in RUNTIME[name].specifier
    theirs = [Requirement(line.split(None, 2)[2]) for line in header if line.startswith("requires: ")]
    for req in theirs:
        if canonicalize_name(req.name) == name:
            assert resolved[name] in req.specifier, "%s %s: %s" % (name, resolved[name], req)


def core_lines():
    """The ansible-core pins of requirements/core-lines.txt (make core-matrix), one per older line."""
    return [Version(line.split("==", 1)[1]) for line in (REQS / "core-lines.txt").read_text().splitlines()
            if line.startswith("ansible-core==")]


def test_the_core_matrix_covers_every_ansible_core_line_the_collection_claims():
    """requires_ansible's floor up to the dev venv's line: each line below the dev venv's has a venv of its own in
    make core-matrix, pinned to one release of that line."""
    claimed = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"]
    floor = [Version(spec.version) for spec in SpecifierSet(claimed) if spec.operator == ">="][0]
    dev = pins("test.txt")["ansible-core"]
    assert (floor.major, dev.major) == (2, 2)
    assert [(v.major, v.minor) for v in core_lines()] == [(2, minor) for minor in range(floor.minor, dev.minor)]
    assert floor == Version("%d.%d.0" % (floor.major, floor.minor)), "requires_ansible names a line: >=2.N.0"


def test_the_readme_names_the_tested_ansible_core_lines():
    readme = (ROOT / "README.md").read_text()
    tested = readme[readme.index("## Tested with"):]
    tested = tested[:tested.index("\n## ")]
    for version in core_lines() + [pins("test.txt")["ansible-core"]]:
        assert "%d.%d" % (version.major, version.minor) in tested, version
