"""The roles that fetch release files (mesh_addons, mesh_sample, istioctl) do it through one entry point, the
download module and its cache, not with download tasks of their own (tempfile, get_url, slurp, a cleanup)."""

import pathlib

import pytest
import yaml

ROLES = pathlib.Path(__file__).resolve().parents[3] / "roles"


def tasks(items):
    for task in items or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from tasks(task.get(key))


@pytest.mark.parametrize("role", ["mesh_addons", "mesh_sample", "istioctl"])
def test_release_files_are_fetched_through_the_download_module(role):
    found = list(tasks(yaml.safe_load((ROLES / role / "tasks" / "main.yml").read_text())))
    actions = [next(k for k in t if "." in k or k in ("block",)) for t in found]
    assert "aksmesh.istio.download" in actions
    assert not {"ansible.builtin.tempfile", "ansible.builtin.get_url", "ansible.builtin.slurp"} & set(actions)
