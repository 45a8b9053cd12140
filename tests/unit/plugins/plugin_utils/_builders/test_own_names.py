"""The builders speak in their own option names: no role variable (``mesh_mtls_mode``, ``istio_helm_hpa_min``, ...)
in any string they hold. The stage filters put the role prefix on (plugins/plugin_utils/_stage_filter.py)."""

import io
import pathlib
import re
import tokenize

import pytest

REPO = pathlib.Path(__file__).resolve().parents[5]
SOURCES = sorted((REPO / "plugins" / "plugin_utils" / "_builders").glob("*.py")) + [
    REPO / "plugins" / "module_utils" / "_istio" / name for name in ("mesh_common.py", "injection.py")]
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())
ROLE_VARIABLE = re.compile(r"\b(" + "|".join(ROLES) + r")_[a-z%{]")  # a name, or one put together (%s, {})


def strings(path):
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return [(tok.start[0], tok.string) for tok in tokens if tok.type == tokenize.STRING]


def test_the_pattern_catches_role_variables():
    assert ROLE_VARIABLE.search('"mesh_mtls_mode %r: use one of %s"')
    assert ROLE_VARIABLE.search("'set istio_helm_hpa_min'") and ROLE_VARIABLE.search('"aks_mesh_addon_revisions"')
    assert ROLE_VARIABLE.search('"set mesh_secrets_%s_%s from a vaulted variable"')
    assert not ROLE_VARIABLE.search('"mesh_config"') and not ROLE_VARIABLE.search('"aksmesh.io/stage"')


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_role_variable_in_builder_strings(path):
    found = [(line, text) for line, text in strings(path) if ROLE_VARIABLE.search(text)]
    assert not found, "%s names role variables (give the option name; the filter adds the prefix): %s" % (
        path.name, found)
