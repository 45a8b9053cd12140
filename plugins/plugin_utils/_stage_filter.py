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
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import inspect
import json
import os
from collections.abc import Mapping

import yaml

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
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


def _type_name(value):
    """What a value is, in the words of YAML (a tagged str or dict subclass is a string or a mapping)."""
    for kind, name in ((bool, "boolean"), (int, "number"), (float, "number"), (Mapping, "mapping"), (str, "string")):
        if isinstance(value, kind):
            return name
    return "list" if isinstance(value, (list, tuple, set)) else type(value).__name__


def plain(value):
    """Plain JSON types: Ansible hands over tagged str/dict subclasses that YAML dumpers refuse."""
    return json.loads(json.dumps(value))


def role_options(role):
    """The options of a role's ``main`` entry point, read once."""
    if role not in _ROLE_OPTIONS:
        path = os.path.join(ROLES, role, "meta", "argument_specs.yml")
        with open(path) as f:
            _ROLE_OPTIONS[role] = yaml.safe_load(f)["argument_specs"]["main"]["options"]
    return _ROLE_OPTIONS[role]


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
        # a copy of the spec: the validator hands out (and fills in) the spec's own default objects
        result = ArgumentSpecValidator(copy.deepcopy(self.argument_spec())).validate(
            dict((self.variable(k), v) for k, v in plain(given).items()))
        if result.error_messages:
            raise AnsibleFilterError("; ".join(result.error_messages))
        checked = plain(result.validated_parameters)
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
                vaulted = ", from a vaulted variable" if entry.get("no_log") else ""
                raise AnsibleFilterError("%s: is a %s, not a string: give one string (quote it in YAML)%s" % (
                    self.variable(option), _type_name(value), vaulted))

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
