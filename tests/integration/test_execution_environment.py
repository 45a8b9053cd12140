"""execution-environment.yml: ``ansible-builder create`` (no container build, no network) makes a build context that
installs, on a base image with no Ansible in it, the pinned ansible-core and ansible-runner, the collection from the
local tarball with the pinned azure.azcollection and kubernetes.core, their Python and system requirements, and the
pinned tools for the image's architecture (ee/install-tools.sh, whose refusals run here for real). Run from a copy
of the checkout as the README says; no cluster."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

from tests.support.checkout import REPO, copy_checkout, tracked_files

BIN = pathlib.Path(sys.executable).parent
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
TARBALL = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
EE = yaml.safe_load((REPO / "execution-environment.yml").read_text())
STEPS = "\n".join(EE["additional_build_steps"]["append_final"])
SCRIPT = REPO / "ee" / "install-tools.sh"


def arg(name):
    found = re.search(rf"^ARG {name}=(\S+)$", STEPS, re.M)
    assert found, f"execution-environment.yml has no ARG {name}"
    return found.group(1)


def args():
    """The build arguments the definition declares, with their defaults ('' for none)."""
    return {m.group(1): m.group(3) or "" for m in re.finditer(r"^ARG (\w+)(=(\S+))?$", STEPS, re.M)}


def test_ee_installs_the_tarball_of_this_version_and_the_collections_the_tests_run():
    assert EE["additional_build_files"] == [{"src": TARBALL, "dest": "collections"},
                                            {"src": "ee/install-tools.sh", "dest": "aksmesh"}]
    collections = EE["dependencies"]["galaxy"]["collections"]
    assert collections[0] == {"name": f"collections/{TARBALL}", "type": "file"}
    for item in collections[1:]:
        # the version the development venv's copy has (the ansible package of requirements/dev.txt): the one the
        # action-group and fleet inventory tests run, and whose requirement file coinstall.txt resolved
        namespace, name = item["name"].split(".")
        manifest = sorted(BIN.parent.glob(f"lib/python*/site-packages/ansible_collections/{namespace}/{name}/"
                                          "MANIFEST.json"))[0]
        assert json.loads(manifest.read_text())["collection_info"]["version"] == str(item["version"]), item
        requirements = manifest.parent / "requirements.txt"
        recorded = (REPO / "requirements" / "coinstall.txt").read_text()
        digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
        assert f"# with: {item['name']} {item['version']} (requirements.txt, sha256 {digest})" in recorded
    assert (REPO / EE["dependencies"]["python"]).is_file()
    assert (REPO / EE["dependencies"]["system"]).is_file()


def test_the_base_image_carries_no_ansible_and_the_definition_pins_it():
    """UBI 9: no collections of its own to conflict with ours, so the image holds what coinstall.txt resolved."""
    assert EE["images"]["base_image"]["name"] == "registry.access.redhat.com/ubi9/ubi:9.6"
    deps = EE["dependencies"]
    assert deps["python_interpreter"] == {"package_system": "python3.12", "python_path": "/usr/bin/python3.12"}
    assert re.fullmatch(r"ansible-core==[\d.]+", deps["ansible_core"]["package_pip"])
    assert re.fullmatch(r"ansible-runner==[\d.]+", deps["ansible_runner"]["package_pip"])


def test_ee_tool_versions_are_the_collections_and_pinned_per_architecture():
    specs = yaml.safe_load((REPO / "roles/settings/meta/argument_specs.yml").read_text())
    found = args()
    assert found["ISTIO_VERSION"] == str(specs["argument_specs"]["main"]["options"]["aksmesh_istio_version"]["default"])
    lock = json.loads((REPO / "tools/tools.lock.json").read_text())
    assert "v" + found["HELM_VERSION"] == lock["tools"]["helm"]["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", found["KUBELOGIN_VERSION"])
    pins = {name: value for name, value in found.items() if "_SHA256_" in name}
    assert sorted(pins) == sorted(f"{tool}_SHA256_{arch}" for tool in ("HELM", "KUBELOGIN", "ISTIOCTL")
                                  for arch in ("AMD64", "ARM64"))
    for name, value in pins.items():
        assert value == "" or re.fullmatch(r"[0-9a-f]{64}", value), name
    # what this project could pin from a source other than the release itself (see the definition's comment)
    pinned = {name for name, value in pins.items() if value}
    assert pinned == {"HELM_SHA256_AMD64", "HELM_SHA256_ARM64", "KUBELOGIN_SHA256_AMD64"}
    # no checksum is fetched from where a tool comes from
    assert ".sha256" not in STEPS and ".sha256" not in SCRIPT.read_text().replace("sha256sum", "")


def install_tools(tmp_path, **build_args):
    """ee/install-tools.sh as the build runs it: the definition's build arguments as its environment (what an
    ARG is in a RUN), with the changes given, into a DESTDIR under tmp_path."""
    env = {"PATH": os.environ["PATH"], "DESTDIR": str(tmp_path / "root"), "PYCMD": sys.executable,
           **{name: value for name, value in args().items() if value}}
    env.update(build_args)
    return subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, check=False, timeout=60)


def test_an_architecture_without_pins_is_refused_by_name_before_any_download(tmp_path):
    run = install_tools(tmp_path, TARGETARCH="s390x")
    assert run.returncode == 1
    assert run.stderr.strip() == ("aksmesh-ee: no tools are pinned for the architecture 's390x': this execution "
                                  "environment builds for amd64 and arm64 (podman build --platform linux/amd64 or "
                                  "linux/arm64)")
    assert run.stdout == "" and not (tmp_path / "root").exists()


def test_arm64_needs_the_kubelogin_pin_and_names_the_build_argument(tmp_path):
    run = install_tools(tmp_path, TARGETARCH="arm64")
    assert run.returncode == 1
    assert run.stderr.startswith("aksmesh-ee: kubelogin 0.2.19 for linux-arm64 has no pinned sha256: pass "
                                 "--build-arg KUBELOGIN_SHA256_ARM64=<the sha256 of kubelogin-linux-arm64.zip")
    assert run.stdout == "" and not (tmp_path / "root").exists()  # helm's pin is there, nothing downloaded yet


def test_a_malformed_pin_is_refused_by_name(tmp_path):
    run = install_tools(tmp_path, TARGETARCH="amd64", ISTIOCTL_SHA256_AMD64="sha256:abc")
    assert run.returncode == 1
    assert run.stderr.strip() == ("aksmesh-ee: ISTIOCTL_SHA256_AMD64='sha256:abc' is not a sha256 (64 lowercase hex "
                                  "digits)")
    assert run.stdout == "" and not (tmp_path / "root").exists()


def test_ansible_builder_create(tmp_path):
    builder = BIN / "ansible-builder"
    if not builder.exists():
        pytest.skip("ansible-builder is not installed (requirements/dev.txt)")
    if tracked_files() is None:
        pytest.skip("not a git checkout")
    src = copy_checkout(tmp_path / "checkout")
    for cmd in ([str(BIN / "ansible-galaxy"), "collection", "build"],
                [str(builder), "create", "--output-filename", "Containerfile"]):
        proc = subprocess.run(cmd, cwd=src, capture_output=True, text=True, check=False, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    context = src / "context"
    containerfile = (context / "Containerfile").read_text()
    build = context / "_build"
    # the collection from the local tarball, through the galaxy stage's requirements
    assert (build / "collections" / TARBALL).read_bytes() == (src / TARBALL).read_bytes()
    assert yaml.safe_load((build / "requirements.yml").read_text()) == EE["dependencies"]["galaxy"]
    assert "COPY _build /build" in containerfile
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    # Python and system requirements
    assert (build / "requirements.txt").read_text() == (REPO / EE["dependencies"]["python"]).read_text()
    assert (build / "bindep.txt").read_text() == (REPO / "bindep.txt").read_text()
    # the pinned tools: the script, run with the definition's build arguments, before the image drops root
    assert (build / "aksmesh" / "install-tools.sh").read_bytes() == SCRIPT.read_bytes()
    for name, value in args().items():
        assert (f"ARG {name}={value}" if value else f"ARG {name}") in containerfile, name
    assert "RUN sh /tmp/aksmesh-install-tools.sh" in containerfile
    assert containerfile.index("aksmesh-install-tools.sh") < containerfile.rindex("USER 1000")
    # ansible-core and ansible-runner from the definition's pins, on its Python
    assert 'ARG ANSIBLE_INSTALL_REFS="%s %s"' % (EE["dependencies"]["ansible_core"]["package_pip"],
                                                 EE["dependencies"]["ansible_runner"]["package_pip"]) in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.12"' in containerfile
