"""The install method table (plugins/plugin_utils/_methods.py) is the one place a method is named.

The istio_control_plane role dispatches install, upgrade and removal through it; each method role owns its main,
upgrade and absent entry points; nothing else in the roles, playbooks or molecule compares the install method with
a method's name.
"""

import pathlib
import re

import pytest
import yaml

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import topology
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _methods as methods
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _stages as stages
from ansible_collections.aksmesh.istio.plugins.plugin_utils._settings import derive

REPO = pathlib.Path(__file__).resolve().parents[4]
NAMES = [method.name for method in methods.METHODS]
DISPATCHER = "istio_control_plane"


def test_the_table_names_the_topology_methods_in_order():
    assert tuple(NAMES) == topology.METHODS
    assert len(set(method.role for method in methods.METHODS)) == len(NAMES)


@pytest.mark.parametrize("method", methods.METHODS, ids=NAMES)
def test_a_method_role_owns_install_upgrade_and_absent(method):
    tasks = REPO / "roles" / method.role / "tasks"
    for entry in ("main", "upgrade", "absent"):
        assert (tasks / ("%s.yml" % entry)).is_file(), (method.role, entry)
    specs = yaml.safe_load((REPO / "roles" / method.role / "meta" / "argument_specs.yml").read_text())
    assert {"main", "upgrade", "absent"} <= set(specs["argument_specs"]), method.role
    stage = stages.of_role(method.role)
    assert stage is not None and method.name in stage.methods, (method.role, "the control plane stage")


def test_the_dispatcher_has_the_three_entry_points_and_no_method_of_its_own():
    tasks = REPO / "roles" / DISPATCHER / "tasks"
    for entry in ("main", "upgrade", "absent"):
        text = (tasks / ("%s.yml" % entry)).read_text()
        assert "istio_control_plane_method.role" in text, entry
        assert not re.search(r"['\"](%s)['\"]" % "|".join(NAMES), text), entry


def test_the_dispatchers_argument_spec_takes_every_field_of_a_methods_row():
    """site.yml hands the dispatcher the host's row (settings_mesh.control_plane): a field the table gained that its
    argument spec lacks fails every run at the pre-flight's argument check."""
    specs = yaml.safe_load((REPO / "roles" / DISPATCHER / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    for entry, spec in specs.items():
        option = spec["options"].get("istio_control_plane_method")
        if option is not None:
            assert set(option["options"]) == set(methods.Method._fields), entry


@pytest.mark.parametrize("name", NAMES)
def test_the_settings_publish_the_host_row_and_the_table(name):
    extra = {"revision": "asm-1-28"} if name == "aks_addon" else {}
    out = derive(dict({"target": "render", "install_method": name}, **extra))
    assert out["control_plane"] == methods.published(name) and out["control_plane"]["name"] == name
    assert out["methods"] == methods.table() and list(out["methods"]) == NAMES


# --- no method comparison outside the table, the dispatcher and the method roles --------------------------------

METHOD_ROLES = set(method.role for method in methods.METHODS) | {DISPATCHER}
YAML = sorted([p for d in ("tasks", "defaults", "vars", "handlers") for p in (REPO / "roles").glob("*/%s/*.yml" % d)
               if p.parts[-3] not in METHOD_ROLES]
              + list((REPO / "playbooks").rglob("*.yml")) + list((REPO / "playbooks").rglob("*.j2"))
              + list((REPO / "molecule").rglob("*.yml")))
_LITERAL = r"['\"](?:%s)['\"]" % "|".join(NAMES)
METHOD_COMPARISON = re.compile(
    r"(?:==|!=|\bis\s+(?:not\s+)?equalto\(?)\s*" + _LITERAL       # x == 'helm', x is equalto('helm')
    + r"|" + _LITERAL + r"\s*(?:==|!=)"                             # 'helm' == x
    + r"|\bin\s*[\[(][^\])]*" + _LITERAL)                           # x in ['istioctl', 'helm']


def method_comparisons(text):
    return ["line %d: %r" % (text[:m.start()].count("\n") + 1, m.group(0)) for m in METHOD_COMPARISON.finditer(text)]


@pytest.mark.parametrize("path", YAML, ids=lambda p: str(p.relative_to(REPO)))
def test_no_method_comparison_outside_the_dispatcher_and_the_method_roles(path):
    found = method_comparisons(path.read_text())
    assert not found, ("%s: %s; branch on settings_mesh.control_plane (plugins/plugin_utils/_methods.py), or put "
                       "the method's steps in its role (main, upgrade, absent)" % (path.relative_to(REPO), found))


def test_the_scan_catches_what_it_looks_for():
    text = ("when: settings_mesh.method == 'helm'\nwhen: method != \"aks_addon\"\n"
            "that: settings_mesh.method in ['istioctl', 'helm']\nx: \"{{ 'istioctl' == m }}\"\n"
            "y: \"{{ ms | selectattr('method', 'equalto', 'x') }}\"\nz: \"{{ m is equalto('helm') }}\"\n"
            "argv: ['{{ path or \"istioctl\" }}', version]\n")
    lines = [line.split(":")[0] for line in method_comparisons(text)]
    assert lines == ["line 1", "line 2", "line 3", "line 4", "line 6"]
