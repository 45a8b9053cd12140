"""The Python requirements users get (ranges) against the pins, the minimum versions and the recorded
co-installation with azure.azcollection and kubernetes.core in the execution environment execution-environment.yml
builds."""

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


def pins_of(name):
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
    minimum = pins_of("minimum.txt")
    assert set(minimum) == set(RUNTIME)
    for name, req in RUNTIME.items():
        floor = [spec.version for spec in req.specifier if spec.operator == ">="][0]
        assert minimum[name] == Version(floor), name


def test_development_pins_are_in_the_ranges():
    pinned = pins_of("constraints.txt")
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


EE = yaml.safe_load((ROOT / "execution-environment.yml").read_text())


def test_the_recorded_coinstallation_is_of_what_the_execution_environment_installs():
    """tools/coinstall.py resolved runtime.txt with exactly the collections execution-environment.yml installs
    besides ours (name and version), its ansible-core and ansible-runner pins and its Python; the image installs
    the ansible-core every test runs on."""
    header, resolved = recorded()
    deps = EE["dependencies"]
    collections = {(item["name"], str(item["version"])) for item in deps["galaxy"]["collections"]
                   if item.get("type") != "file"}
    assert collections == {("azure.azcollection", "3.12.0"), ("kubernetes.core", "6.2.0")}
    assert {tuple(line.split()[1:3]) for line in header if line.startswith("with: ")} == collections
    pins = [deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"]]
    assert [line.split(None, 1)[1] for line in header if line.startswith("pins: ")] == pins
    for pin in map(Requirement, pins):
        assert resolved[canonicalize_name(pin.name)] in pin.specifier, pin
    assert pins[0] == "ansible-core==%s" % pins_of("constraints.txt")["ansible-core"]
    python = deps["python_interpreter"]["python_path"].rsplit("python", 1)[1]
    assert "image: %s, Python %s" % (EE["images"]["base_image"]["name"], python) in header
    assert [line for line in header if line.startswith("recorded: ")][0].split("Python ")[1].startswith(python + ".")


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
    dev = pins_of("test.txt")["ansible-core"]
    assert (floor.major, dev.major) == (2, 2)
    assert [(v.major, v.minor) for v in core_lines()] == [(2, minor) for minor in range(floor.minor, dev.minor)]
    assert floor == Version("%d.%d.0" % (floor.major, floor.minor)), "requires_ansible names a line: >=2.N.0"


def test_the_readme_names_the_tested_ansible_core_lines():
    readme = (ROOT / "README.md").read_text()
    tested = readme[readme.index("## Tested with"):]
    tested = tested[:tested.index("\n## ")]
    for version in core_lines() + [pins_of("test.txt")["ansible-core"]]:
        assert "%d.%d" % (version.major, version.minor) in tested, version
