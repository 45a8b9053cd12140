"""The collection tarball (ansible-galaxy collection build) holds the collection and nothing a tool, a run or an
editor leaves in the checkout. No cluster: the builds take about a second each."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tarfile

import pytest
import yaml

from tests.support.checkout import REPO, copy_checkout, tracked_files

GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
TARBALL = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"

# what the Makefile, pytest, ansible-lint, ansible-test, Molecule, ansible-builder, make demo, git worktrees and
# editors leave in a checkout (each path is planted, then must be absent from the tarball)
JUNK = [
    ".venv/bin/python",
    ".venv-sanity/bin/ansible-test",
    ".build/collections/ansible_collections/aksmesh/README",
    ".build/sanity/ansible_collections/aksmesh/istio/galaxy.yml",
    ".pytest_cache/v/cache/nodeids",
    "tests/unit/.pytest_cache/README.md",
    ".ansible/collections/ansible_collections/aksmesh/x.yml",
    "roles/settings/.ansible/facts",
    ".cache/pip/x",
    "molecule/default/.molecule/state.yml",
    "plugins/modules/__pycache__/apply.cpython-311.pyc",
    "plugins/module_utils/stray.pyc",
    "tests/output/junit/sanity.xml",
    "changelogs/.plugin-cache.yaml",
    "context/Containerfile",
    "out/report.txt",
    "rendered/demo-aks/00-namespaces/namespace-istio-system.yaml",
    "reports/aks-weu.json",
    "site.retry",
    "aksmesh-istio-0.0.9.tar.gz",
    "istioctl-1.30.0-linux-amd64.tar.gz",
    "kubelogin-linux-amd64.zip",
    ".git",
    "roles/settings/tasks/main.yml.orig",
    "roles/settings/tasks/main.yml.rej",
    "roles/settings/tasks/.main.yml.swp",
    "README.md~",
    "docs/.DS_Store",
    ".idea/workspace.xml",
    ".vscode/settings.json",
]

# the collection itself: content Ansible loads, its metadata and documentation
REQUIRED = [
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    "LICENSE",
    "meta/runtime.yml",
    "meta/execution-environment.yml",
    "requirements/runtime.txt",
    "plugins/modules/apply.py",
    "plugins/module_utils/_k8s/names.py",
    "plugins/doc_fragments",
    "plugins/filter",
    "roles/settings/meta/argument_specs.yml",
    "roles/istio_install/tasks/main.yml",
    "playbooks/site.yml",
    "docs/modules.md",
    "changelogs/changelog.yaml",
    "CHANGELOG.rst",
]


# the checkout's wrappers of the collection playbooks (ansible-playbook site.yml from a checkout)
ROOT_WRAPPERS = ("site.yml", "cleanup.yml", "upgrade.yml", "verify.yml")


def build(src: pathlib.Path, out: pathlib.Path) -> list[str]:
    """Build the collection in ``src`` into ``out``; returns the tarball's member names."""
    ansible_galaxy = pathlib.Path(sys.executable).parent / "ansible-galaxy"
    proc = subprocess.run([str(ansible_galaxy), "collection", "build", "--output-path", str(out), str(src)],
                          capture_output=True, text=True, check=False, cwd=src)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with tarfile.open(out / TARBALL) as tar:
        return [m.name.rstrip("/") for m in tar.getmembers()]


def assert_collection_present(names):
    missing = [r for r in REQUIRED if r not in names]
    assert not missing, f"the tarball lacks {missing}"
    assert any(n.startswith("plugins/modules/") and n.endswith(".py") for n in names)
    roles = {n.split("/")[1] for n in names if n.startswith("roles/") and n.count("/") >= 2}
    assert roles == {p.name for p in (REPO / "roles").iterdir() if (p / "meta/argument_specs.yml").is_file()}


def outside_tracked(names, tracked):
    """Members that are neither a tracked file nor a folder of one (MANIFEST.json and FILES.json are the build's)."""
    dirs = {str(pathlib.PurePosixPath(t).parent) for t in tracked}
    dirs |= {str(p) for t in tracked for p in pathlib.PurePosixPath(t).parents}
    return sorted(n for n in names if n not in tracked and n not in dirs and n not in ("MANIFEST.json", "FILES.json"))


@pytest.fixture(scope="module")
def tracked():
    files = tracked_files()
    if files is None:
        pytest.skip("not a git checkout")
    return set(files)


def test_tarball_leaves_out_what_tools_leave_behind(tmp_path, tracked):
    src = copy_checkout(tmp_path / "checkout")
    for rel in JUNK:
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("junk\n")
    names = build(src, tmp_path / "dist")
    shipped = [rel for rel in JUNK if any(n == rel or n.startswith(rel + "/") for n in names)]
    assert not shipped, f"the tarball ships {shipped}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # tracked, but for the checkout only: ansible.cfg and its collections/ link of the checkout to itself, and the
    # root playbook wrappers (in the tarball the playbooks are aksmesh.istio.site & co.)
    assert not [n for n in names if n == "ansible.cfg" or n == "collections" or n.startswith("collections/")]
    assert not [n for n in names if n in ROOT_WRAPPERS]
    assert outside_tracked(names, tracked) == []
    assert_collection_present(names)


def test_tarball_of_this_checkout_holds_tracked_files_only(tmp_path, tracked):
    """Whatever this checkout holds besides its tracked files (.venv, .build, rendered/, caches) stays out."""
    names = build(REPO, tmp_path)
    assert outside_tracked(names, tracked) == []
    assert_collection_present(names)


def test_tarball_playbooks_import_no_collection_playbook_by_name(tmp_path):
    """galaxy-importer lints the unpacked tarball, where ``import_playbook: aksmesh.istio.site`` cannot be resolved
    (one "Failed to find aksmesh.istio.site playbook" warning per import): every playbook the tarball holds imports
    by path."""
    names = build(REPO, tmp_path)
    with tarfile.open(tmp_path / TARBALL) as tar:
        by_name = []
        for name in names:
            if not name.endswith((".yml", ".yaml")) or name.startswith(("changelogs/", "tests/")):
                continue
            member = tar.extractfile(name)
            if member is None:
                continue
            for doc in yaml.safe_load_all(member.read()) or []:
                plays = doc if isinstance(doc, list) else []
                by_name += [(name, p["ansible.builtin.import_playbook"]) for p in plays
                            if isinstance(p, dict) and str(p.get("ansible.builtin.import_playbook", "")
                                                           ).startswith("aksmesh.istio.")]
    assert by_name == []


def test_galaxy_metadata_names_no_placeholder_address():
    """Galaxy shows these links on the collection's page: none, rather than one that leads nowhere (galaxy-importer
    requires ``repository``)."""
    assert GALAXY.get("repository", "").startswith("https://")
    links = {k: GALAXY.get(k) for k in ("repository", "documentation", "homepage", "issues") if GALAXY.get(k)}
    assert not [v for v in links.values() if "example.invalid" in v or "example.com" in v], links
