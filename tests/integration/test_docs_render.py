"""ansible-doc renders every module, every filter and every role's argument spec."""

import pathlib
import subprocess
import sys

import pytest

from tests.support.ansible_runner import REPO, base_env

MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
ROLES = sorted(p.parent.parent.name for p in (REPO / "roles").glob("*/meta/argument_specs.yml"))
FILTERS = sorted(p.stem for p in (REPO / "plugins" / "filter").glob("*.yml"))


def ansible_doc(*args):
    return subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-doc"), *args], capture_output=True,
                          text=True, env=base_env(), check=False)


@pytest.mark.parametrize("module", MODULES)
def test_module_docs_render(module):
    out = ansible_doc(f"aksmesh.istio.{module}")
    assert out.returncode == 0 and "EXAMPLES" in out.stdout and "RETURN VALUES" in out.stdout, out.stderr


@pytest.mark.parametrize("role", ROLES)
def test_role_docs_render(role):
    out = ansible_doc("-t", "role", f"aksmesh.istio.{role}")
    assert out.returncode == 0 and "ENTRY POINT:" in out.stdout and "main" in out.stdout, out.stderr


@pytest.mark.parametrize("name", FILTERS)
def test_filter_docs_render(name):
    out = ansible_doc("-t", "filter", f"aksmesh.istio.{name}")
    assert out.returncode == 0 and "EXAMPLES" in out.stdout and "RETURN VALUES" in out.stdout, out.stderr
