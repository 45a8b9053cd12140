# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The settings filter: the aksmesh_* inventory -> the one normalised settings fact every role reads."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.plugin_utils._settings import (
    DEFAULTS, OTHER_VARIABLES, SettingsError, derive, shared_paths)
from ansible_collections.aksmesh.istio.plugins.plugin_utils._stage_filter import role_variable_problems


def _vaulted(value):
    # a vaulted string before ansible-core 2.19 (AnsibleVaultEncryptedUnicode) is no str: its text
    if hasattr(value, "vault") and hasattr(value, "data"):
        return str(value)
    raise TypeError("%s is not a value an inventory holds" % type(value).__name__)


def _plain(value):
    # plain types: Ansible hands over tagged str/dict subclasses
    return json.loads(json.dumps(value, default=_vaulted))


def _names(names, filter_name):
    if not isinstance(names, (list, tuple)):
        raise AnsibleFilterError("aksmesh.istio.%s: expected a list of variable names, got %s"
                                 % (filter_name, type(names).__name__))
    return [str(name) for name in names]


# errors=return: a problem of the user's inventory is the filter's value, {"failed": true, "msg": ...}, for a task to
# fail with exactly that message (ansible.builtin.fail); a filter that raises reaches the user behind ansible-core's
# wrappers (Task failed: Finalization of task args for 'ansible.builtin.set_fact' failed: ... The filter plugin ...
# failed: ...). A wrong call of the filter itself (not the user's inventory) raises either way.
ERRORS = ("raise", "return")


def _errors(errors, filter_name):
    if errors not in ERRORS:
        raise AnsibleFilterError("aksmesh.istio.%s: errors must be one of %s, got %r" % (filter_name, ", ".join(ERRORS),
                                                                                         errors))
    return errors


def _problem(message, errors, filter_name):
    if errors == "return":
        return {"failed": True, "msg": message}
    raise AnsibleFilterError("aksmesh.istio.%s: %s" % (filter_name, message))


def settings(inventory, host="", cwd="", variables=None, credentials_dest=None, errors="raise"):
    _errors(errors, "settings")
    if not isinstance(inventory, dict):
        raise AnsibleFilterError("aksmesh.istio.settings: expected a dictionary of aksmesh_* settings, got %s"
                                 % type(inventory).__name__)
    names = None if variables is None else _names(variables, "settings")
    try:
        out = derive(_plain(inventory), host=str(host or ""), cwd=str(cwd or ""), variables=names,
                     credentials_dest=_plain(credentials_dest))
    except SettingsError as exc:
        return _problem(str(exc), errors, "settings")
    return out


def setting_variables(names):
    """The names among ``names`` (variable names) that the settings filter takes: the aksmesh_* settings, then the
    other inventory variables whose types it checks, in the table's order."""
    given = set(_names(names, "setting_variables"))
    return ["aksmesh_" + name for name in list(DEFAULTS) + list(OTHER_VARIABLES) if "aksmesh_" + name in given]


def role_variables(variables, names, errors="raise"):
    """Fails naming every problem of the role variables among ``names`` that the host's ``variables`` set (a
    misspelt key, a wrong type, a bad choice), each with its path; else the names it checked."""
    _errors(errors, "role_variables")
    if not hasattr(variables, "__getitem__"):
        raise AnsibleFilterError("aksmesh.istio.role_variables: expected the host's variables "
                                 "(hostvars[inventory_hostname]), got %s" % type(variables).__name__)
    problems = role_variable_problems(variables, _names(names, "role_variables"))
    if problems:
        if errors == "return":
            return {"failed": True, "msg": "; ".join(problems)}
        raise AnsibleFilterError("; ".join(problems))
    return sorted(set(_names(names, "role_variables")))


def shared_paths_filter(hosts):
    """The paths two hosts of one run would share (settings_mesh.paths of each, by inventory host): one message per
    pair of hosts, naming both, the variables and the fix; [] when every host has its own."""
    if not isinstance(hosts, dict):
        raise AnsibleFilterError("aksmesh.istio.shared_paths: expected a mapping of inventory hosts to their "
                                 "settings_mesh.paths, got %s" % type(hosts).__name__)
    pairs = []
    for host, paths in _plain(hosts).items():
        if not isinstance(paths, list) or not all(isinstance(entry, dict) and "path" in entry for entry in paths):
            raise AnsibleFilterError("aksmesh.istio.shared_paths: %s: expected settings_mesh.paths (a list of "
                                     "paths the host writes or reads), got %s" % (host, type(paths).__name__))
        pairs.append((str(host), paths))
    return shared_paths(pairs)


class FilterModule(object):
    def filters(self):
        return {"settings": settings, "setting_variables": setting_variables, "role_variables": role_variables,
                "shared_paths": shared_paths_filter}
