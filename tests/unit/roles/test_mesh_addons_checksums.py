"""The mesh_addons role's pinned sha256 table: one well-formed checksum per addon for every pinned Istio release,
for files downloaded from the release tag (whose files never change), not a branch."""

import pathlib
import re

import yaml

ROLE = pathlib.Path(__file__).resolve().parents[3] / "roles" / "mesh_addons"
SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")


def test_every_pinned_release_has_a_sha256_per_addon():
    pinned = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["mesh_addons_pinned_checksums"]
    addons = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["mesh_addons_enabled"]
    assert {"1.28.0", "1.29.0", "1.30.0"} <= set(pinned)
    for version, checksums in pinned.items():
        assert re.match(r"^\d+\.\d+\.\d+$", version), version
        assert sorted(checksums) == sorted(addons), version
        assert all(SHA256.match(value) for value in checksums.values()), version
    versions = [tuple(int(n) for n in v.split(".")) for v in pinned]
    assert versions == sorted(versions)  # listed in order: the error message names them


def test_the_default_download_is_the_release_tag():
    base_url = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["mesh_addons_base_url"]
    assert base_url == "https://raw.githubusercontent.com/istio/istio/{{ mesh_addons_istio_version }}/samples/addons"
