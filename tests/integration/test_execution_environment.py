"""execution-environment.yml: ``ansible-builder create`` (no container build, no network) makes a build context that
installs the collection from the local tarball, its Python and system requirements, and the pinned istioctl, helm
and kubelogin. Run from a copy of the checkout as the README says; no cluster."""

from __future__ import annotations

import json
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


def arg(name):
    found = re.search(rf"^ARG {name}=(\S+)$", STEPS, re.M)
    assert found, f"execution-environment.yml has no ARG {name}"
    return found.group(1)


def test_ee_installs_the_tarball_of_this_version():
    assert EE["additional_build_files"] == [{"src": TARBALL, "dest": "collections"}]
    assert EE["dependencies"]["galaxy"] == {"collections": [{"name": f"collections/{TARBALL}", "type": "file"}]}
    assert (REPO / EE["dependencies"]["python"]).is_file()
    assert (REPO / EE["dependencies"]["system"]).is_file()


def test_ee_tool_versions_are_the_collections():
    specs = yaml.safe_load((REPO / "roles/settings/meta/argument_specs.yml").read_text())
    assert arg("ISTIO_VERSION") == str(specs["argument_specs"]["main"]["options"]["aksmesh_istio_version"]["default"])
    lock = json.loads((REPO / "tools/tools.lock.json").read_text())
    assert "v" + arg("HELM_VERSION") == lock["tools"]["helm"]["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", arg("KUBELOGIN_VERSION"))
    for tool in ("HELM", "KUBELOGIN"):
        assert re.fullmatch(r"[0-9a-f]{64}", arg(f"{tool}_SHA256"))
        assert f'echo "${{{tool}_SHA256}}  ' in STEPS


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
    # the pinned tools, each checked before it is installed
    for tool, url in (("istioctl", "istio/istio/releases/download/${ISTIO_VERSION}/istioctl-"),
                      ("helm", "https://get.helm.sh/helm-v${HELM_VERSION}-linux-amd64.tar.gz"),
                      ("kubelogin", "Azure/kubelogin/releases/download/v${KUBELOGIN_VERSION}/kubelogin-linux-amd64")):
        assert url in containerfile, tool
        assert f"/usr/local/bin/{tool}" in containerfile, tool
    assert containerfile.count("sha256sum -c -") == 3
    assert f"ARG HELM_SHA256={arg('HELM_SHA256')}" in containerfile
    assert f"ARG KUBELOGIN_SHA256={arg('KUBELOGIN_SHA256')}" in containerfile
    # the tools go in before the image drops root
    assert containerfile.index("/usr/local/bin/kubelogin") < containerfile.rindex("USER 1000")
