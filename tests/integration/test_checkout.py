"""The checkout works as it is, without make or an install: ansible.cfg and the collections/ link let
``ansible-playbook site.yml`` and ``ansible-doc`` find aksmesh.istio in an environment with no ANSIBLE_* or
PYTHONPATH and an empty home (so no collection installed in ~/.ansible). No cluster."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from tests.support.checkout import REPO, copy_checkout, tracked_files

BIN = pathlib.Path(sys.executable).parent
LINK = pathlib.Path("collections/ansible_collections/aksmesh/istio")


def clean_run(args, cwd, home):
    home.mkdir(exist_ok=True)
    env = {"PATH": os.pathsep.join([str(BIN), "/usr/bin", "/bin"]), "HOME": str(home), "LANG": "C.UTF-8",
           "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True,
                          check=False, timeout=120)


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory):
    """The tracked files only, as `git clone` gives them: no .build/ link farm, no .venv."""
    if tracked_files() is None:
        pytest.skip("not a git checkout")
    return copy_checkout(tmp_path_factory.mktemp("clone") / "istio")


def test_link_points_at_the_checkout():
    assert (REPO / LINK).is_symlink()
    assert os.readlink(REPO / LINK) == "../../.."
    assert (REPO / LINK).resolve() == REPO


def test_site_syntax_check_from_the_repo_root(tmp_path):
    out = clean_run(["ansible-playbook", "--syntax-check", "site.yml"], REPO, tmp_path / "home")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "playbook: site.yml" in out.stdout


@pytest.mark.parametrize("playbook", ["site.yml", "cleanup.yml", "upgrade.yml"])
def test_playbooks_syntax_check_in_a_fresh_clone(fresh_clone, tmp_path, playbook):
    assert not (fresh_clone / ".build").exists()
    out = clean_run(["ansible-playbook", "--syntax-check", playbook], fresh_clone, tmp_path / "home")
    assert out.returncode == 0, out.stdout + out.stderr


def test_ansible_doc_reads_the_clone(fresh_clone, tmp_path):
    out = clean_run(["ansible-doc", "aksmesh.istio.apply"], fresh_clone, tmp_path / "home")
    assert out.returncode == 0, out.stdout + out.stderr
    assert str(fresh_clone / LINK / "plugins/modules/apply.py") in out.stdout


def test_without_the_link_the_collection_is_not_found(tmp_path):
    """The environment above is clean: without collections/ nothing else supplies aksmesh.istio."""
    if tracked_files() is None:
        pytest.skip("not a git checkout")
    clone = copy_checkout(tmp_path / "istio")
    (clone / LINK).unlink()
    out = clean_run(["ansible-playbook", "--syntax-check", "site.yml"], clone, tmp_path / "home")
    assert out.returncode != 0
    assert "aksmesh.istio.site" in out.stdout + out.stderr
