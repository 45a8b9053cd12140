# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One Jinja filter per mesh stage, checked against the argument spec of the role it serves.

This file is private to the aksmesh.istio collection: its contents may change at any time.

A ``StageFilter`` wraps one builder. The builder's keyword arguments are the filter's options: the filter's input
fills one of them (``input``), keyword arguments the others. Each option is the role variable ``<role>_<option>``
of the role's ``main`` entry point (``roles/<role>/meta/argument_specs.yml``, the one place its type, choices and
default are written), or, for helpers no role owns, an entry of the filter's own ``spec``. Before the builder runs,
the arguments are checked with ansible-core's ``ArgumentSpecValidator`` under the role variables' names and the
spec's defaults are applied; an option whose spec gives no default (the role derives it from ``settings_mesh``) must
be passed. The builders name their own options in their errors (``MeshConfigError``); the filter prints them as the
role variables, so every message names what the user sets.

The keys inside a structured option (a list of mappings or a mapping whose spec gives ``options``) are checked first,
here, naming their path and the closest known key (``option_problems``); the settings role runs the same check on
the role variables the inventory sets, before any stage (``role_variable_problems``, the ``role_variables`` filter).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import difflib
import glob
import inspect
import json
import os
import re
from collections.abc import Mapping

import yaml

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.parsing.convert_bool import BOOLEANS
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError, stamp
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _stages as stages

ROLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles")
_ROLE_OPTIONS = {}
# Options named like these hold Kubernetes names (a DNS-1123 label each: namespaces and Istio revisions, which
# become namespace-like label values and object name suffixes); they are checked as the API server would, before
# any builder puts them into an object, so the error names the role variable rather than a rendered object.
LABEL_OPTIONS = ("namespace", "namespaces", "revision", "revision_tags")
# values of a str option that no one means as one string
NOT_TEXT = (Mapping, list, tuple, set)
# libyaml's safe loader when PyYAML was built with it (the same documents, the same values)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _type_name(value):
    """What a value is, in the words of YAML (a tagged str or dict subclass is a string or a mapping)."""
    for kind, name in ((bool, "boolean"), (int, "number"), (float, "number"), (Mapping, "mapping"), (str, "string")):
        if isinstance(value, kind):
            return name
    return "list" if isinstance(value, (list, tuple, set)) else type(value).__name__


def plain(value):
    """Plain JSON types: Ansible hands over tagged str/dict subclasses that YAML dumpers refuse."""
    return json.loads(json.dumps(value))


def _entry_points(role):
    """The role's argument specs, parsed with libyaml where PyYAML has it: every task process that runs a stage
    filter, and the settings' check of every role's variables, reads them again (about ten times faster)."""
    with open(os.path.join(ROLES, role, "meta", "argument_specs.yml")) as f:
        return yaml.load(f, Loader=_SAFE_LOADER)["argument_specs"]


def role_options(role):
    """The options of a role's ``main`` entry point, read once."""
    if role not in _ROLE_OPTIONS:
        _ROLE_OPTIONS[role] = _entry_points(role)["main"]["options"]
    return _ROLE_OPTIONS[role]


def every_role_option():
    """{variable: its spec} for every option of every entry point of every role (``main``'s where several give it)."""
    if None not in _ROLE_OPTIONS:
        out = {}
        for path in sorted(glob.glob(os.path.join(ROLES, "*", "meta", "argument_specs.yml"))):
            entries = _entry_points(path.split(os.sep)[-3])
            for name in sorted(entries, key=lambda e: e != "main"):
                for variable, spec in (entries[name].get("options") or {}).items():
                    out.setdefault(variable, spec)
        _ROLE_OPTIONS[None] = out
    return _ROLE_OPTIONS[None]


# Structured options: the keys, types and choices inside a list of mappings or a mapping, as the argument spec's
# ``options`` give them. ansible-core's own check of a role's variables refuses an unknown key too, but without its
# place in the list nor the key meant, and its str type takes a list or a number, silently turned into text; this
# check names the path (``mesh_traffic_services[2].retires``), the problem and the closest known key, takes no
# conversion that loses anything, and never changes the value: the builders get what the user wrote.
TYPES = {"str": (str,), "path": (str,), "list": (list,), "dict": (dict,), "bool": (bool,), "int": (int,),
         "float": (int, float)}
INT = re.compile(r"^[-+]?[0-9]+\Z")
MARKUP = re.compile(r"\b[CIOPVM]\(([^)]*)\)")


def structured(spec):
    """Whether an option's spec describes the keys inside its value."""
    return bool(spec.get("options")) and (spec.get("type") == "dict" or (
        spec.get("type") == "list" and spec.get("elements") == "dict"))


def _shown(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_problem(value, kind):
    """Why ``value`` is not of the argument spec type ``kind`` ("" when it is): no lossy conversion."""
    if kind in ("raw", None) or value is None:
        return ""
    if kind == "bool" and isinstance(value, (bool, int, str)) and (
            value.lower() if isinstance(value, str) else value) in BOOLEANS:
        return ""
    if kind in ("int", "float") and isinstance(value, str) and (
            INT.match(value.strip()) or (kind == "float" and re.match(r"^[-+]?[0-9]*\.?[0-9]+\Z", value.strip()))):
        return ""
    wanted = TYPES.get(kind, (object,))
    if isinstance(value, wanted) and not (isinstance(value, bool) and bool not in wanted):
        return ""
    hint = ": quote it" if kind in ("str", "path") and not isinstance(value, (list, dict)) else ""
    article = "an" if kind[0] in "aeiou" else "a"
    named = {"str": "string", "dict": "mapping", "bool": "boolean", "int": "integer", "float": "number"}
    return "expected %s %s, got %s %s%s" % (article, named.get(kind, kind), type(value).__name__, _shown(value), hint)


def _choice_problem(value, choices):
    if not choices or value is None or value in choices:
        return ""
    lower = dict((str(c).lower(), str(c)) for c in choices)  # 'dns' is close to DNS
    close = difflib.get_close_matches(str(value).lower(), list(lower), n=1)
    return "%s is not one of %s%s" % (_shown(value), ", ".join(str(c) for c in choices),
                                      "; did you mean %s?" % lower[close[0]] if close else "")


def _what(option):
    """`` (<the first sentence of its description>)``, without the markup, to say what a missing key is."""
    text = option.get("description") or ""
    text = " ".join(text) if isinstance(text, list) else text
    text = MARKUP.sub(r"\1", text).split(". ")[0].rstrip(".")
    return " (%s)" % (text[:1].lower() + text[1:100]) if text else ""


def _check_value(value, spec, path, problems):
    why = _type_problem(value, spec.get("type", "str"))
    if why:
        problems.append("%s: %s" % (path, why))
        return
    if spec.get("type") == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            here = "%s[%d]" % (path, i)
            why = _type_problem(item, spec.get("elements"))
            if why:
                problems.append("%s: %s" % (here, why))
            elif spec.get("choices") and _choice_problem(item, spec["choices"]):
                problems.append("%s: %s" % (here, _choice_problem(item, spec["choices"])))
            elif spec.get("elements") == "dict" and spec.get("options"):
                _check_mapping(item, spec, here, problems)
        return
    if spec.get("choices") and _choice_problem(value, spec["choices"]):
        problems.append("%s: %s" % (path, _choice_problem(value, spec["choices"])))
    elif spec.get("type") == "dict" and spec.get("options") and isinstance(value, dict):
        _check_mapping(value, spec, path, problems)


def _check_mapping(value, spec, path, problems):
    """The keys of the mapping ``value`` against ``spec["options"]`` and its combinations of keys."""
    options = spec["options"]
    known = list(options) + [alias for o in options.values() for alias in o.get("aliases") or []]
    for key in value:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            fix = "did you mean %s?" % close[0] if close else "use %s" % ", ".join(sorted(options))
            problems.append("%s.%s: unknown key; %s" % (path, key, fix))
    given = set(k for k, v in value.items() if v is not None)
    for name, option in options.items():
        present = name in given or any(a in given for a in option.get("aliases") or [])
        if option.get("required") and not present:
            problems.append("%s.%s: is missing%s" % (path, name, _what(option)))
        elif present:
            key = name if name in value else [a for a in option["aliases"] if a in value][0]
            _check_value(value[key], option, "%s.%s" % (path, key), problems)
    for group in spec.get("mutually_exclusive") or []:
        both = [k for k in group if k in given]
        if len(both) > 1:
            problems.append("%s: give %s, not %s" % (path, " or ".join(group), " and ".join(both)))
    for group in spec.get("required_one_of") or []:
        if not any(k in given for k in group):
            problems.append("%s: give one of %s" % (path, ", ".join(group)))
    for group in spec.get("required_together") or []:
        some = [k for k in group if k in given]
        if some and len(some) != len(group):
            problems.append("%s: give %s together (%s given)" % (path, ", ".join(group), ", ".join(some)))
    for rule in spec.get("required_if") or []:
        key, val, needs = rule[0], rule[1], rule[2]
        any_of = len(rule) > 3 and rule[3]
        if value.get(key) == val:
            missing = [k for k in needs if k not in given]
            if missing and (not any_of or len(missing) == len(needs)):
                problems.append("%s: %s %s needs %s" % (path, key, val, (" or " if any_of else " and ").join(
                    missing)))


def option_problems(variable, value, spec):
    """What is wrong inside the value of a structured option (``structured``), each naming its path from the
    variable: ``mesh_traffic_services[2].retires: unknown key; did you mean retries?``. A value that is not the
    list or mapping the option takes is left to the top-level check (ansible-core's, which names the variable)."""
    problems = []
    if structured(spec) and isinstance(value, list if spec["type"] == "list" else dict):
        _check_value(value, spec, variable, problems)
    return problems


def _templated(value):
    """Whether ``value`` holds a template not rendered yet (ansible-core before 2.19 hands over hostvars raw)."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(_templated(k) or _templated(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_templated(v) for v in value)
    return False


def not_a_string(variable, value, secret=False):
    """What to say of ``value`` given for the string option ``variable`` (ansible-core's check would turn it into
    text): its type, never its value."""
    return "%s: is a %s, not a string: give one string (quote it in YAML)%s" % (
        variable, _type_name(value), ", from a vaulted variable" if secret else "")


def value_problems(variable, value, spec):
    """What is wrong with the value of a role variable as a whole: a string option given a list or a mapping (which
    ansible-core's check would turn into text), or a value that check refuses (a choice it does not offer, a type it
    cannot convert to), said as ``option_problems`` says it - the variable first, then the problem and the closest
    choice - rather than as ansible-core's failed result, which carries the whole argument spec of the entry point
    (``argument_spec_data``, printed by the default callback). A secret's (``no_log``) value is never told."""
    if value is None:
        return []
    flat = without_suboptions(spec)
    kind = flat.get("type", "str")
    if kind in ("str", "path") and isinstance(value, NOT_TEXT):
        return [not_a_string(variable, value)]
    refused = ArgumentSpecValidator({variable: copy.deepcopy(flat)}).validate({variable: value}).error_messages
    if not refused:
        return []
    if flat.get("no_log"):
        return ["%s: is a %s, not a %s (a secret: its value is not told)" % (variable, _type_name(value), kind)]
    problems = []
    _check_value(value, flat, variable, problems)
    return problems or ["%s: %s" % (variable, message) for message in refused]


def role_variable_problems(variables, names):
    """The problems of the role variables among ``names`` that ``variables`` (the host's variables) holds: what the
    inventory sets, checked once before any stage runs - each value as a whole (``value_problems``), then the keys
    inside a structured one (``option_problems``). A value that does not render yet (it reads a fact of a later
    stage) is left to the role that reads it."""
    options = every_role_option()
    problems = []
    for name in sorted(set(str(n) for n in names)):
        if name not in options:
            continue
        try:
            value = plain(variables[name])
        except Exception:  # pylint: disable=broad-except  # not defined for the host, or not renderable yet
            continue
        if not _templated(value):
            problems += value_problems(name, value, options[name]) or option_problems(name, value, options[name])
    return problems


def with_defaults(value, spec):
    """``value`` (changed in place) with the ``default`` of every key its spec's ``options`` give one for and it
    leaves out, at every level; a key without a default stays out (ansible-core's validator would set it to None)."""
    if not structured(spec):
        return value
    for item in (value if isinstance(value, list) else [value]):
        if not isinstance(item, dict):
            continue
        for key, option in spec["options"].items():
            if key not in item and "default" in option:
                item[key] = copy.deepcopy(option["default"])
            elif item.get(key) is not None:
                with_defaults(item[key], option)
    return value


def without_suboptions(spec):
    """An option's spec without ``options``: ansible-core's validator would fill every key left out with None."""
    return dict((k, v) for k, v in spec.items() if k not in ("options", "mutually_exclusive", "required_one_of",
                                                             "required_together", "required_if"))


class StageFilter(object):
    """The filter ``name``: ``input | aksmesh.istio.<name>(option=value, ...)`` -> ``build(**options)``."""

    def __init__(self, name, build, input_option, role=None, spec=None):
        self.name = name
        self.build = build
        self.input = input_option
        self.role = role
        self.prefix = role + "_" if role else ""
        self.spec = spec or {}
        self.options = list(inspect.signature(build).parameters)
        self._argument_spec = None
        if self.input not in self.options:
            raise ValueError("%s: the input %s is not an option of %s" % (name, self.input, build.__name__))

    def variable(self, option):
        """What the user knows an option as: the role variable, or the filter's own option name."""
        return option if option in self.spec or not self.role else self.prefix + option

    def argument_spec(self):
        """The spec of every option, under the names ``variable`` gives; no default means required."""
        if self._argument_spec is None:
            given = role_options(self.role) if self.role else {}
            out = {}
            for option in self.options:
                entry = self.spec.get(option) or given.get(self.variable(option))
                if entry is None:
                    raise AnsibleFilterError("%s: option %s has no argument spec: document %s in roles/%s/meta/"
                                             "argument_specs.yml" % (self.name, option, self.variable(option),
                                                                     self.role))
                entry = copy.deepcopy(entry)
                if "default" not in entry:
                    entry["required"] = True
                out[self.variable(option)] = entry
            self._argument_spec = out
        return self._argument_spec

    def defaults(self):
        """{option: the spec's default} for the options that have one."""
        spec = self.argument_spec()
        return plain(dict((option, spec[self.variable(option)]["default"]) for option in self.options
                          if "default" in spec[self.variable(option)]))

    def validate(self, value, kwargs):
        """The builder's keyword arguments: the input and ``kwargs`` checked, converted and completed by the spec."""
        unknown = sorted(set(kwargs) - set(self.options))
        if unknown:
            raise AnsibleFilterError("unknown argument(s) %s: %s takes %s as its input and the arguments %s" % (
                ", ".join(unknown), self.name, self.input, ", ".join(o for o in self.options if o != self.input)))
        if self.input in kwargs:
            raise AnsibleFilterError("%s is the input of %s; do not pass it as an argument too" % (
                self.input, self.name))
        given = dict(kwargs)
        given[self.input] = value
        self.refuse_non_strings(given)
        given = dict((self.variable(k), v) for k, v in plain(given).items())
        spec = self.argument_spec()
        problems = [p for variable in sorted(given) if variable in spec
                    for p in option_problems(variable, given[variable], spec[variable])]
        if problems:
            raise AnsibleFilterError("; ".join(problems))
        # a copy of the spec: the validator hands out (and fills in) the spec's own default objects; the keys inside
        # a structured option are checked above, and its value reaches the builder as given
        result = ArgumentSpecValidator(dict((variable, without_suboptions(copy.deepcopy(entry)))
                                            for variable, entry in spec.items())).validate(given)
        if result.error_messages:
            raise AnsibleFilterError("; ".join(result.error_messages))
        checked = plain(result.validated_parameters)
        for variable, value in checked.items():
            if variable in spec:
                with_defaults(value, spec[variable])
        problems = []
        for option in self.options:
            value = checked.get(self.variable(option))
            if not option.endswith(LABEL_OPTIONS) or value in (None, ""):
                continue
            for i, item in enumerate(value if isinstance(value, list) else [value]):
                why = names.problem("Namespace", item) if isinstance(item, str) else None
                if why:
                    where = "%s[%d]" % (self.variable(option), i) if isinstance(value, list) else self.variable(option)
                    problems.append("%s %r %s" % (where, item, why))
        if problems:
            raise AnsibleFilterError("; ".join(problems))
        return dict((option, checked.get(self.variable(option))) for option in self.options)

    def refuse_non_strings(self, given):
        """The validator turns any value of a ``str`` option into text (a passphrase ['a'] became "['a']"): a list or a
        mapping, never meant as one string, is refused by name, and for a secret (``no_log``) any value that is no
        string, whose type is told and never its value."""
        spec = self.argument_spec()
        for option in sorted(given):
            entry, value = spec.get(self.variable(option)) or {}, given[option]
            if entry.get("type", "str") != "str" or value is None or isinstance(value, str):
                continue
            if entry.get("no_log") or isinstance(value, NOT_TEXT):
                raise AnsibleFilterError(not_a_string(self.variable(option), value, entry.get("no_log")))

    def __call__(self, value, **kwargs):
        options = self.validate(value, kwargs)
        try:
            built = self.build(**options)
        except MeshConfigError as exc:
            raise AnsibleFilterError(exc.render(self.variable))
        # a filter is public: its objects carry the label of its role's stage (from the registry), as they did
        # before builders left it to the stage that applies them; a play that applies them itself needs it
        stage = stages.of_role(self.role) if self.role else None
        if stage is not None and isinstance(built, list):
            return stamp(built, stage.name)
        return built
