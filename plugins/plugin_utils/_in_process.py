# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A module of the collection run inside its action plugin, in the controller's Python, when the task would run it
there anyway: the local connection, the controller's interpreter, no become, no task environment, no async.

This file is private to the aksmesh.istio collection: its contents may change at any time.

A module run costs a Python process that compiles ansible-core's module_utils and the module's from source (AnsiballZ
ships no bytecode) and imports the kubernetes client again: about 0.3 to 0.6 CPU-seconds before the module does
anything, most of a no-op stage's cost. site.yml runs every module on the controller (connection local, the
playbook's Python), so the stage action runs apply and render here instead, as the same program (PROGRAMS): the
module file and this runner share the argument spec, the checks, the no-log values of the raw arguments and the
function that does the work (a module_utils ``run(module)``); ControllerModule is the part of AnsibleModule's
interface those functions use. What the module process gave the result, this gives it too: the arguments validated
against the same spec with the same messages, the no-log values masked in everything returned (the invocation
included), check mode and diff, and a failure rather than a traceback when the program breaks. Any other task (a
remote host, become, ``environment``, ``async``, another interpreter) runs the module as before, and so does every
task when the controller's environment has ``AKSMESH_MODULE_PROCESS=1`` (to compare the two).

community.crypto's ``plugin_utils/_action_module.py`` runs modules in action plugins the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections import namedtuple

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.common.process import get_bin_path
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.module_utils.errors import UnsupportedError

# A module as a program: its options (argument_spec()), AnsibleModule's other checks (required_one_of, ...), the
# no-log values of its raw arguments (secrets(params), before validation can fail), what it checks once they are
# validated (after(module), or None) and the function that does its work and ends in exit_json or fail_json.
Program = namedtuple("Program", ["argument_spec", "checks", "secrets", "after", "run"])

MODULE_UTILS = "ansible_collections.aksmesh.istio.plugins.module_utils."

# The modules whose program may run here: the module_utils of the program (``argument_spec()``, ``CHECKS`` if any,
# ``run(module)``) and the AnsibleModule class its module file runs it in, whose additions the runner makes too.
PROGRAMS = {
    "aksmesh.istio.access_review": ("_k8s.access", "KubeModule"),
    "aksmesh.istio.apply": ("_k8s.batch", "KubeModule"),
    "aksmesh.istio.render": ("_files.render", "MaskingModule"),
    "aksmesh.istio.ingress_info": ("_istio.ingress_address", "KubeModule"),
    "aksmesh.istio.injection": ("_istio.namespace_labels", "KubeModule"),
    "aksmesh.istio.cluster_info": ("_istio.cluster_read", "KubeModule"),
    "aksmesh.istio.mesh_lint": ("_istio.lint_program", "KubeModule"),
    "aksmesh.istio.istio_install": ("_istio.install", "KubeModule"),
    "aksmesh.istio.helm_release": ("_istio.helm_release", "KubeModule"),
    "aksmesh.istio.download": ("_files.download", "AnsibleModule"),
    "aksmesh.istio.gateway_api_crds": ("_istio.gateway_api_program", "KubeModule"),
}


def _no_secrets(params):
    return set()


def _module_class(name):
    """The AnsibleModule class ``name``, imported only when a task needs it (KubeModule imports the kubernetes
    client)."""
    if name == "KubeModule":
        from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule
        return KubeModule
    if name == "MaskingModule":
        from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.redact import MaskingModule
        return MaskingModule
    from ansible.module_utils.basic import AnsibleModule
    return AnsibleModule


def program(name):
    """The Program of module ``name`` (a key of PROGRAMS), with what its module file's class adds to AnsibleModule:
    the no-log values of the raw arguments (``raw_secrets``) and the check after validation (``after_validation``)."""
    path, module_class = PROGRAMS[name]
    utils = importlib.import_module(MODULE_UTILS + path)
    cls = _module_class(module_class)
    return Program(utils.argument_spec, getattr(utils, "CHECKS", {}), getattr(cls, "raw_secrets", _no_secrets),
                   getattr(cls, "after_validation", None), utils.run)


LOCAL = ("local", "ansible.builtin.local")


class ModuleExit(BaseException):
    """exit_json or fail_json: the program ends with ``result``. A BaseException, as the SystemExit of a module
    process is, so that the program's own ``except Exception`` does not take it for an error."""

    def __init__(self, result):
        super(ModuleExit, self).__init__("module exit")
        self.result = result


class ControllerModule(object):
    """What the collection's module programs use of AnsibleModule: ``params`` validated against the program's spec,
    ``no_log_values``, ``argument_spec``, ``check_mode``, ``_diff``, ``_verbosity``, ``warn``, ``get_bin_path``,
    ``run_command``, ``exit_json`` and ``fail_json`` (both end the program with ModuleExit)."""

    def __init__(self, name, program, args, check_mode=False, diff=False, verbosity=0):
        self._name = name
        self.argument_spec = program.argument_spec()
        self.check_mode = check_mode
        self._diff = diff
        self._verbosity = verbosity
        self._warnings = []
        self.no_log_values = set(program.secrets(args))
        found = ArgumentSpecValidator(self.argument_spec, **program.checks).validate(args)
        self.no_log_values.update(found._no_log_values)
        self.params = found.validated_parameters
        for both in found._warnings:  # AnsibleModule's words
            self.warn("Both option %s and its alias %s are set." % (both["option"], both["alias"]))
        if found.error_messages:
            message = found.errors.msg
            if isinstance(found.errors.errors[0], UnsupportedError):
                message = "Unsupported parameters for (%s) module: %s" % (name, message)
            self.fail_json(msg=message)
        if program.after is not None:
            program.after(self)

    def warn(self, warning):
        self._warnings.append(warning)

    def get_bin_path(self, arg, required=False, opt_dirs=None):
        """AnsibleModule.get_bin_path: the executable's path on PATH (and ``opt_dirs``), or None."""
        try:
            return get_bin_path(arg, opt_dirs=opt_dirs)
        except ValueError as exc:
            if required:
                self.fail_json(msg=to_text(exc))
            return None

    def run_command(self, args, environ_update=None, data=None, binary_data=False):
        """AnsibleModule.run_command for an argument list, as the collection calls it: ``~`` and ``$VARS`` expanded
        in each argument as it does, the environment updated, ``data`` on standard input (a newline added unless
        ``binary_data``), nothing else from the terminal; (rc, stdout, stderr) as text."""
        argv = [to_bytes(os.path.expanduser(os.path.expandvars(to_native(arg))), errors="surrogate_or_strict")
                for arg in args if arg is not None]
        env = dict(os.environ)
        env.update(environ_update or {})
        if data is not None and not binary_data:
            data += "\n"
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, close_fds=True)
            out, err = proc.communicate(None if data is None else to_bytes(data, errors="surrogate_or_strict"))
        except (OSError, IOError) as exc:
            self.fail_json(rc=exc.errno, stdout="", stderr="", msg=to_native(exc),
                           cmd=" ".join(to_native(arg) for arg in argv))
        return (proc.returncode, to_text(out, errors="surrogate_or_strict"),
                to_text(err, errors="surrogate_or_strict"))

    def _result(self, kwargs):
        result = dict(kwargs)
        result.setdefault("invocation", {"module_args": self.params})
        if self._warnings:
            result["warnings"] = list(self._warnings)
        return remove_values(result, self.no_log_values)

    def exit_json(self, **kwargs):
        raise ModuleExit(self._result(kwargs))

    def fail_json(self, msg, **kwargs):
        kwargs.update(failed=True, msg=msg)
        raise ModuleExit(self._result(kwargs))


def plain(value):
    """``value`` as plain JSON data (what a module reads and returns): the templated arguments of a task may be
    subclasses of str, dict and list that carry ansible-core's markers, which YAML dumpers refuse."""
    return json.loads(json.dumps(value))


def run(name, args, check_mode=False, diff=False, verbosity=0):
    """The result of module ``name`` (a key of PROGRAMS) run here with ``args``, as its module process would have
    returned it.

    The program's temporary files go to a private folder removed when it ends: a module process removes what the
    kubernetes client writes (a kubeconfig's key, certificate and CA data) at its exit, and Ansible ends its worker
    processes without running exit handlers."""
    module = None
    scratch = tempfile.mkdtemp(prefix="aksmesh-")
    default_dir, tempfile.tempdir = tempfile.tempdir, scratch
    try:
        found = program(name)
        module = ControllerModule(name, found, plain(args), check_mode, diff, verbosity)
        found.run(module)
    except ModuleExit as done:
        return plain(done.result)
    except Exception as exc:  # a bug of the program: a failure naming it, with the traceback for -vvv
        failure = dict(failed=True, msg="%s failed in the controller: %s: %s" % (name, type(exc).__name__, exc),
                       exception=traceback.format_exc())
        return plain(remove_values(failure, module.no_log_values) if module is not None else failure)
    finally:
        tempfile.tempdir = default_dir
        shutil.rmtree(scratch, ignore_errors=True)
    return dict(failed=True, msg="%s ended without a result" % name)


def _same_python(interpreter):
    try:
        return bool(interpreter) and os.path.realpath(str(interpreter)) == os.path.realpath(sys.executable)
    except (TypeError, ValueError):
        return False


def why_not(action, module_name, task_vars):
    """Why ``action`` (an ActionBase) must run ``module_name`` as a module process, or None when it may run it here:
    a program of PROGRAMS, on the local connection, in the controller's own Python, without become, a task
    environment or async."""
    if module_name not in PROGRAMS:
        return "no program"
    if os.environ.get("AKSMESH_MODULE_PROCESS") == "1":
        return "AKSMESH_MODULE_PROCESS=1"
    if getattr(action._connection, "transport", None) not in LOCAL:
        return "not the local connection"
    if action._task.async_val:
        return "async"
    if action._play_context.become:
        return "become"
    if any(action._task.environment or ()):  # a task inherits a list of its blocks' (empty) environments
        return "a task environment"
    if not _same_python(interpreter(action, task_vars)):
        return "another interpreter"
    return None


def interpreter(action, task_vars):
    """The Python the task's module would run in, as Ansible chooses it: ansible_python_interpreter or
    interpreter_python (ANSIBLE_PYTHON_INTERPRETER, ansible.cfg), and for ``auto`` the interpreter discovered
    earlier on the host; None when not known yet (discovery would run)."""
    chosen = task_vars.get("ansible_python_interpreter")
    if chosen is None:
        try:
            chosen = C.config.get_config_value("INTERPRETER_PYTHON", variables=task_vars)
        except Exception:  # noqa: BLE001 - an unreadable setting: the module process decides
            return None
    chosen = action._templar.template(chosen)
    if isinstance(chosen, str) and chosen.strip().startswith("auto"):
        facts = task_vars.get("ansible_facts")
        return facts.get("discovered_interpreter_python") if isinstance(facts, dict) else None
    return chosen


# the collection's filter plugins (plugins/filter/*.py), as Ansible's plugin loader names the modules it imports
FILTER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "filter")
FILTER_PACKAGE = "ansible_collections.aksmesh.istio.plugins.filter."


def filter_modules():
    """The module names of the collection's filter plugins: each ``plugins/filter/*.py``."""
    return sorted(name[:-3] for name in os.listdir(FILTER_DIR) if name.endswith(".py") and name != "__init__.py")


def preload():
    """Import every program (and with them the kubernetes client) and the collection's filter plugins in the process
    that imports this file first: the ansible-playbook process, where the strategy loads each task's action plugin
    class. Ansible forks the worker of each task from that process, so a worker finds them imported (its plugin
    loader takes a module sys.modules has) instead of importing them again: about 0.2 CPU-seconds per task that talks
    to the cluster and a few hundredths per task that templates a filter of the collection; a render run pays the
    imports once. Nothing is preloaded when every task runs a module process (AKSMESH_MODULE_PROCESS=1). A program or
    filter whose requirement is missing is left for its task, which reports it."""
    if os.environ.get("AKSMESH_MODULE_PROCESS") == "1":
        return
    for path, module_class in PROGRAMS.values():
        try:
            importlib.import_module(MODULE_UTILS + path)
            _module_class(module_class)
        except ImportError:
            pass
    for name in filter_modules():
        try:
            importlib.import_module(FILTER_PACKAGE + name)
        except ImportError:
            pass


preload()
