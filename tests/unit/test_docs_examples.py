"""Every YAML example of the READMEs and docs pages parses, and the variables it gives render and lint clean.

The examples are read from README.md, docs/*.md and roles/*/README.md. Each block's variables (an inventory's,
a play's ``vars``, a role's ``vars`` under ``roles:``, an ``import_role``/``include_role`` task's ``vars``) are
handed to the stage filters of the roles they belong to, as the roles hand them: the role's defaults are rendered
from a ``settings_mesh`` derived from the block's ``aksmesh_*`` variables, a value the example templates from a
variable it does not define (a vaulted passphrase, another role's fact) is left to the role's default or, inside a
structure, replaced by a placeholder. The objects of a block are linted together with the offline mesh rules
(mesh_lint, partial: the mesh-wide mTLS policy and the referenced Gateways may come from elsewhere), which must
find no error and no warning: an example that two VirtualServices claim one host in (AKM0008) fails here.
"""

import copy
import re
from pathlib import Path

import pytest
import yaml
from jinja2 import StrictUndefined, Undefined
from jinja2.exceptions import UndefinedError
from jinja2.nativetypes import NativeEnvironment

from ansible_collections.aksmesh.istio.plugins.filter import aks_addon
from ansible_collections.aksmesh.istio.plugins.filter.mesh import STAGES
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import mesh_lint
from ansible_collections.aksmesh.istio.plugins.plugin_utils._settings import derive

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md")) + sorted((REPO / "roles").glob("*/README.md"))
FENCE = re.compile(r"^( *)```ya?ml\n(.*?)^\1```", re.M | re.S)
ENV = NativeEnvironment(undefined=StrictUndefined)
# the collection's filters, as the roles' defaults and vars call them
ENV.filters.update(("aksmesh.istio." + name, f) for module in (aks_addon,) for name, f in module.FilterModule(
).filters().items())
PLACEHOLDER = "00000000-0000-0000-0000-000000000000"  # a templated value the example does not define
# gateway_routes first: the roles hand its mesh_gateways_routes to mesh_traffic and mesh_authz
FILTERS = sorted((s for s in STAGES if s.role), key=lambda s: s.name != "gateway_routes")


class _Loader(yaml.SafeLoader):
    """YAML as the examples write it: ``!vault |`` values are strings."""


_Loader.add_constructor("!vault", lambda loader, node: loader.construct_scalar(node))


# examples that show a finding of a builder, not of the example: (page, a line of the block) -> the finding
KNOWN = {}


def blocks():
    for page in PAGES:
        text = page.read_text()
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            known = [why for (where, needle), why in KNOWN.items()
                     if where == str(page.relative_to(REPO)) and needle in match.group(2)]
            yield pytest.param(match.group(2), id="%s:%d" % (page.relative_to(REPO), line),
                               marks=[pytest.mark.xfail(strict=True, reason=why) for why in known])


def variable_sets(data):
    """The sets of variables a block gives, each as one run of the roles would see them."""
    if isinstance(data, dict):
        if set(data) <= {"all"} and isinstance(data.get("all"), dict):  # an inventory file
            group = data["all"].get("vars") or {}
            hosts = data["all"].get("hosts") or {}
            return [dict(group, **(h or {})) for h in hosts.values()] or [group]
        if all(re.match(r"^[a-z][a-z0-9_]*$", str(k)) for k in data) and not {"kind", "fields", "spec"} & set(data):
            return [data]  # group_vars
        return []
    out = []
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict):
            continue
        play = dict(item.get("vars") or {})
        gathered = dict(play)
        for role in item.get("roles") or []:
            if isinstance(role, dict):
                gathered.update(role.get("vars") or {})
        for task in item.get("tasks") or [] + item.get("pre_tasks", []) + item.get("post_tasks", []):
            if isinstance(task, dict) and any(k.endswith(("import_role", "include_role")) for k in task):
                gathered.update(task.get("vars") or {})
        if any(k.endswith(("import_role", "include_role")) for k in item):  # the block is one task
            gathered.update(item.get("vars") or {})
        out.append(gathered)
    return out


def templated(value):
    return isinstance(value, str) and "{{" in value


def resolve(value, context):
    """``value`` rendered against ``context``; None when it templates what the context lacks."""
    if not templated(value):
        return value
    try:
        done = ENV.from_string(value).render(**context)
    except (UndefinedError, TypeError):
        return None
    return None if isinstance(done, Undefined) else done


def placeholders(value, context):
    if isinstance(value, dict):
        return dict((k, placeholders(v, context)) for k, v in value.items())
    if isinstance(value, list):
        return [placeholders(v, context) for v in value]
    if templated(value):
        done = resolve(value, context)
        return PLACEHOLDER if done is None else done
    return value


def role_defaults(role):
    path = REPO / "roles" / role / "defaults" / "main.yml"
    return yaml.safe_load(path.read_text()) or {} if path.exists() else {}


def role_vars(role, context):
    """The role's vars/main.yml values its defaults read, rendered against ``context`` (not the stage's objects
    written there for main.yml and the pre-flight: the filters build those here)."""
    path, defaults = REPO / "roles" / role / "vars" / "main.yml", REPO / "roles" / role / "defaults" / "main.yml"
    read = defaults.read_text() if defaults.exists() else ""
    raw = yaml.safe_load(path.read_text()) or {} if path.exists() else {}
    raw = dict((k, v) for k, v in raw.items() if re.search(r"\b%s\b" % re.escape(k), read))
    return dict((k, v) for k, v in ((k, resolve(v, context)) for k, v in raw.items()) if v is not None)


def render(variables):
    """The objects the stage filters build from ``variables``, and the filters that ran."""
    raw = dict((k[len("aksmesh_"):], v) for k, v in variables.items()
               if k.startswith("aksmesh_") and not templated(v) and k != "aksmesh_kubeconfig")
    raw = dict((k, v) for k, v in raw.items() if k in ("install_method", "istio_version", "revision", "cni"))
    context = {"settings_mesh": derive(dict(raw, target="render"), host="docs", cwd="/tmp")}
    given, unresolved = {}, set()
    for name, value in variables.items():
        done = resolve(value, dict(context, **variables))
        if done is None:
            unresolved.add(name)
        else:
            given[name] = placeholders(done, context)
    context.update(given)
    objects, ran = [], []
    for stage in FILTERS:
        options = dict((o, stage.variable(o)) for o in stage.options)
        if not any(v in given or v in unresolved for v in options.values()):
            continue
        defaults = role_defaults(stage.role)
        context = dict(context, **role_vars(stage.role, context))
        spec = stage.argument_spec()
        args = {}
        for option, variable in options.items():
            if variable in given:
                args[option] = copy.deepcopy(given[variable])
            elif variable in unresolved and spec[variable].get("type", "str") == "str":
                args[option] = PLACEHOLDER  # such as a vaulted passphrase
            elif variable in defaults:
                value = resolve(defaults[variable], context)
                if value is not None:
                    args[option] = value
        missing = [v for o, v in options.items() if o not in args and "default" not in spec[v]]
        if missing:  # a filter that needs what no role variable gives (an addon's upstream manifests)
            continue
        if stage.name in INGRESS_FILTERS and INGRESS_FILTERS[stage.name] != ingress_api(given, context):
            continue  # the gateways stage runs one of its two filters, as its role's vars choose by the ingress API
        value = args.pop(stage.input, stage.defaults().get(stage.input))
        built = stage(value, **args)
        ran.append(stage.name)
        if stage.name == "gateway_routes":
            context["mesh_gateways_routes"] = built
            given.setdefault("mesh_gateways_routes", built)
        elif isinstance(built, list):
            objects += [o for o in built if isinstance(o, dict) and o.get("kind")]
    return objects, ran


INGRESS_FILTERS = {"gateway_manifests": "istio", "gateway_api_manifests": "gateway_api"}


def ingress_api(given, context):
    """The example's ingress API (mesh_gateways_ingress_api, else the settings')."""
    if "mesh_gateways_ingress_api" in given:
        return given["mesh_gateways_ingress_api"]
    return resolve(role_defaults("mesh_gateways")["mesh_gateways_ingress_api"], context) or "istio"


@pytest.mark.parametrize("text", list(blocks()))
def test_every_example_parses_renders_and_lints_clean(text):
    data = yaml.load(text, Loader=_Loader)  # nosec: the test's own SafeLoader
    for variables in variable_sets(data):
        objects, _ran = render(variables)
        found = mesh_lint.lint(objects, {"partial": True, "require_mesh_policy": False}, min_level="Warning")
        assert found == [], [(m["code"], m["message"]) for m in found]


def test_the_examples_reach_the_filters():
    """The traffic, gateway, authz, egress, mTLS, certs and network policy examples are rendered, not skipped."""
    ran = set()
    for param in blocks():
        for variables in variable_sets(yaml.load(param.values[0], Loader=_Loader)):
            ran.update(render(variables)[1])
    assert {"traffic_manifests", "gateway_manifests", "gateway_routes", "authz_manifests", "egress_manifests",
            "mtls_manifests", "certs_manifests", "network_policy_manifests"} <= ran, ran


def test_two_entries_for_one_host_fail_the_lint():
    """What the mesh_traffic README's example did (a mirror entry and a canary entry for host reviews)."""
    twice = {"mesh_traffic_services": [
        {"name": "reviews-mirror", "host": "reviews", "namespace": "shop", "subsets": ["v1", "v2"],
         "mirror": {"subset": "v2", "percentage": 20}},
        {"name": "reviews", "namespace": "shop", "subsets": ["v1", "v2"], "canary": {"weights": {"v1": 90, "v2": 10}}}]}
    objects, ran = render(twice)
    assert ran == ["traffic_manifests"]
    found = mesh_lint.lint(objects, {"partial": True, "require_mesh_policy": False}, min_level="Warning")
    assert [m["code"] for m in found] == ["AKM0008", "AKM0008"]
