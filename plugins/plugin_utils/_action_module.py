# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller side of the modules that take or return a check-mode ``planned`` state (``apply``,
``istio_install``, ``helm_release``, ``injection``, ``aks_mesh_addon``, ``ingress_info``, ``kube_inject``), of the
``stage`` action, which runs ``apply`` or ``render``, and of the modules whose program may run in the controller
(``render``, ``cluster_info``, ``mesh_lint``, ``download``): where the task would run the module in the controller's
own Python anyway, the module's program runs here instead of a module process (plugins/plugin_utils/_in_process.py).

This file is private to the aksmesh.istio collection: its contents may change at any time.

A dry run persists nothing, so on a fresh cluster the namespaces and CRDs an earlier task would create are not there
when the next task dry-runs its objects (``module_utils/_k8s/planned.py``). The run's plan is one host fact,
``ansible_facts[FACT]`` (namespaces and kinds): in check mode the action plugin of each of those modules hands it to
the module (when the task does not pass ``planned`` itself and the module takes it), and adds what the module
returns as ``planned`` to it, so the next task sees it. Outside check mode it does nothing but run the module. The
settings role empties the fact at the start of each play (a fact cache must not carry an earlier run's plan).

Async: with ``async``, the module runs in the background and the task's result is what ``async_status`` reads, so
the plan cannot be kept. A dry run waits for nothing: the roles run these tasks without ``async`` in check mode.

Outside check mode, a module that changed something (or compared first and found a difference, which the roles then
change in the background) adds its stage to the host fact ``CHANGED_FACT``: after a run that changed nothing,
roles/mesh_analyze may leave out istioctl analyze.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping, MutableMapping

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _in_process as in_process
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _stages as stages

display = Display()

# The host fact that holds the check-mode plan of the run (set to {} by roles/settings/tasks/main.yml).
FACT = "settings_planned"
# The host fact that holds the run's drift report (set to {} by roles/settings/tasks/main.yml; plugins/action/stage.py
# adds each stage's): drifted fields, and in check mode the objects a stage would create (missing) or prune (extra).
REPORT_FACT = "settings_report"
REPORT_KEYS = ("drift", "missing", "extra")
# The host fact that lists the stages that changed something in the cluster in this run (set to [] by
# roles/settings/tasks/main.yml): a run that changed nothing may leave out istioctl analyze (roles/mesh_analyze).
CHANGED_FACT = "settings_changed"


def run_report(task_vars):
    """The run's report so far: {drift, missing, extra: lists}, as the earlier tasks left it."""
    facts = (task_vars or {}).get("ansible_facts")
    found = facts.get(REPORT_FACT) if isinstance(facts, Mapping) else None
    found = found if isinstance(found, Mapping) else {}
    return dict((key, list(found.get(key) or [])) for key in REPORT_KEYS)


def run_changed(task_vars):
    """The stages that changed something so far in the run, as the earlier tasks left the fact."""
    facts = (task_vars or {}).get("ansible_facts")
    found = facts.get(CHANGED_FACT) if isinstance(facts, Mapping) else None
    return list(found) if isinstance(found, (list, tuple)) else []


def keep_fact(result, task_vars, name, value):
    """Return ``value`` as the host fact ``name`` with the task's result, and let later items of a loop see it."""
    result["ansible_facts"] = dict(result.get("ansible_facts") or {}, **{name: value})
    facts = task_vars.get("ansible_facts")
    if isinstance(facts, MutableMapping):
        facts[name] = value


def _strings(value):
    return [str(item) for item in value or () if item] if isinstance(value, (list, tuple)) else []


def merge(*plans):
    """One plan of several (mappings with ``namespaces`` and ``kinds`` lists; anything else counts as empty): each
    list unique and sorted."""
    out = {"namespaces": set(), "kinds": set()}
    for plan in plans:
        if isinstance(plan, Mapping):
            for key, found in out.items():
                found.update(_strings(plan.get(key)))
    return dict((key, sorted(found)) for key, found in out.items())


def run_plan(task_vars):
    """The plan of the run so far: the host fact, as the earlier tasks left it."""
    facts = (task_vars or {}).get("ansible_facts")
    return merge(facts.get(FACT) if isinstance(facts, Mapping) else None)


def task_role(task_vars):
    """The role the task runs in (as Ansible names it), or ""."""
    return str(task_vars.get("ansible_role_name") or task_vars.get("role_name") or "")


def reconcile_force(task_vars, templar):
    """force_conflicts when the task does not say: settings_mesh.reconcile.force (aksmesh_reconcile: force)."""
    settings = task_vars.get("settings_mesh")
    if settings is None:
        return False
    settings = templar.template(settings)
    return bool(((settings or {}).get("reconcile") or {}).get("force")) if isinstance(settings, Mapping) else False


def report_entries(stage_name, result, check_mode):
    """What a module's result adds to the run's report: every drifted field, and in check mode the objects it would
    create (missing from the cluster) or prune (carrying the collection's labels, no longer written)."""
    out = {"drift": [dict(entry, stage=stage_name) for entry in result.get("drift") or []
                     if isinstance(entry, Mapping)], "missing": [], "extra": []}
    if check_mode:
        for entry in result.get("results") or []:
            if not isinstance(entry, Mapping):
                continue
            where = {"stage": stage_name, "apiVersion": entry.get("apiVersion"), "kind": entry.get("kind"),
                     "namespace": entry.get("namespace"), "name": entry.get("name")}
            if entry.get("action") == "created":
                out["missing"].append(where)
            elif entry.get("action") == "pruned":
                out["extra"].append(where)
    return out


class PlannedActionModule(ActionBase):
    """Runs the module of the task's name (``module_call`` may choose another one, and its arguments) and keeps the
    check-mode plan: the run's plan in (``TAKES_PLANNED``), the module's ``planned`` mapping added to it."""

    TAKES_PLANNED = False  # the module has a ``planned`` option (the doc fragment aksmesh.istio.planned)
    RETURNS_PLANNED = True  # in check mode the module returns what it would create as a ``planned`` mapping
    TAKES_FORCE = False  # the module has a ``force_conflicts`` option: aksmesh_reconcile fills it when not given
    REPORTS = False  # the module returns ``drift`` (and ``results``): kept in the run's report (REPORT_FACT)
    CHANGES_CLUSTER = True  # a change it reports is a change of the cluster (CHANGED_FACT); False: it reads only,
    # or changes the controller's files (a download into the cache)

    _supports_check_mode = True
    _supports_async = True

    def takes_planned(self, module_name):
        """Whether ``module_name`` has a ``planned`` option."""
        return self.TAKES_PLANNED

    def takes_force(self, module_name):
        """Whether ``module_name`` has a ``force_conflicts`` option."""
        return self.TAKES_FORCE

    def module_call(self, task_vars):
        """(module name, arguments) to run, or a finished result (a dict) to return without running a module.
        Default: the task's module with the task's arguments."""
        return self._task.action, dict(self._task.args)

    def run(self, tmp=None, task_vars=None):
        # ansible-core before 2.17 sets both in ActionBase.__init__, over the class's
        self._supports_check_mode = True
        self._supports_async = True
        task_vars = task_vars or {}
        result = super(PlannedActionModule, self).run(tmp, task_vars)
        del tmp  # no longer has any effect
        try:
            call = self.module_call(task_vars)
        except AnsibleActionFail as exc:
            result.update(exc.result)
            return result
        if isinstance(call, dict):
            result.update(call)
            return result
        module_name, module_args = call
        result.update(self.run_module(module_name, module_args, task_vars))
        return result

    def report_stage(self, task_vars):
        """The stage name the run's report files this task's findings under: the stage of the task's role."""
        role = task_role(task_vars)
        stage = stages.of_role(role)
        return stage.name if stage is not None else role or "playbook"

    def keep_report(self, result, task_vars, check_mode):
        found = report_entries(self.report_stage(task_vars), result, check_mode)
        if any(found.values()):
            report = run_report(task_vars)
            for key, entries in found.items():
                report[key].extend(entries)
            keep_fact(result, task_vars, REPORT_FACT, report)

    def run_module(self, module_name, module_args, task_vars):
        """Run ``module_name`` with the run's plan (check mode) and keep the plan it returns."""
        check_mode = bool(self._task.check_mode)
        plan = run_plan(task_vars)
        args = dict(module_args)
        if self.takes_force(module_name) and args.get("force_conflicts") is None:
            args["force_conflicts"] = reconcile_force(task_vars, self._templar)
        if check_mode and self.takes_planned(module_name) and args.get("planned") is None:
            args["planned"] = plan
        background = bool(self._task.async_val)
        why_not = in_process.why_not(self, module_name, task_vars)
        if why_not is None:
            display.vvv("%s runs in the controller (no module process)" % module_name)
            result = in_process.run(module_name, args, check_mode=check_mode, diff=bool(self._task.diff),
                                    verbosity=display.verbosity)
        else:
            display.vvv("%s runs as a module process: %s" % (module_name, why_not))
            result = self._execute_module(module_name=module_name, module_args=args, task_vars=task_vars,
                                          wrap_async=background and not self._connection.has_native_async)
        # in the background the result is the job's start: what async_status reads later never comes back here
        if check_mode and self.RETURNS_PLANNED and not background and isinstance(result.get("planned"), Mapping):
            # the later items of a loop run with the same task variables: they start from this plan too
            keep_fact(result, task_vars, FACT, merge(plan, result["planned"]))
        if self.REPORTS and not background:
            self.keep_report(result, task_vars, check_mode)
        # a compare-first result that differs: the roles start the job in the background that changes it (whose
        # result comes from async_status, past this plugin)
        if (self.CHANGES_CLUSTER and not check_mode and not background
                and (result.get("changed") or result.get("differs"))):
            changed = run_changed(task_vars)
            stage = self.report_stage(task_vars)
            if stage not in changed:
                keep_fact(result, task_vars, CHANGED_FACT, changed + [stage])
        return result


class UnplannedActionModule(PlannedActionModule):
    """The action plugin of a module that keeps no plan and changes no object of the cluster (it reads, or writes
    the controller's files): it only decides where the module's program runs."""

    RETURNS_PLANNED = False
    CHANGES_CLUSTER = False
