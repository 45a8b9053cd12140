"""The changelog: fragments lint, changelogs/changelog.yaml is valid and holds galaxy.yml's version when it is
released, and CHANGELOG.rst is there. No cluster, about a second."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest
import yaml

from tests.support.checkout import REPO

CHANGELOG = pathlib.Path(sys.executable).parent / "antsibull-changelog"


def run(*args):
    if not CHANGELOG.exists():
        pytest.skip("antsibull-changelog is not installed (requirements/dev.txt)")
    return subprocess.run([str(CHANGELOG), *args], cwd=REPO, capture_output=True, text=True, check=False,
                          timeout=60)


def test_fragments_lint():
    out = run("lint")
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr


def test_fragment_names():
    """One fragment per change, named <issue>-<topic>.yml."""
    names = [p.name for p in (REPO / "changelogs/fragments").iterdir() if p.name != ".keep"]
    assert [n for n in names if not re.fullmatch(r"\d+-[a-z0-9][a-z0-9.-]*\.yml", n)] == []


def test_changelog_yaml_lints_and_names_the_releases():
    out = run("lint-changelog-yaml", "changelogs/changelog.yaml")
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr
    releases = yaml.safe_load((REPO / "changelogs/changelog.yaml").read_text())["releases"]
    version = str(yaml.safe_load((REPO / "galaxy.yml").read_text())["version"])
    if version in releases:  # galaxy.yml names a released version: its notes are in CHANGELOG.rst
        assert f"v{version}\n" in (REPO / "CHANGELOG.rst").read_text()


def test_unreleased_changes_go_into_the_version_galaxy_yml_names():
    """A tarball is named after galaxy.yml's version: while fragments wait for a release, that version is the next
    one, never one the changelog has released (or a tarball named 0.1.0 would hold 0.2.0's changes)."""
    fragments = [p.name for p in (REPO / "changelogs/fragments").iterdir() if p.suffix == ".yml"]
    releases = yaml.safe_load((REPO / "changelogs/changelog.yaml").read_text())["releases"]
    version = str(yaml.safe_load((REPO / "galaxy.yml").read_text())["version"])
    if fragments:
        assert version not in releases, (
            "galaxy.yml says %s, which is released, but %d changelog fragments are not: set galaxy.yml's version "
            "to the next release" % (version, len(fragments)))
