# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""aksmesh.istio.stage: the one place a stage's objects are applied (or rendered).

The stage comes from the stage registry (plugins/plugin_utils/_stages.py): by name, or the stage of the role the task
is in. Its label goes on the objects whose stage label the builders left empty (mesh_common.stamp, as the
stage_labels filter does), its kinds are pruned by its label, and its render folder is written in render mode. The
objects go to aksmesh.istio.apply, or with a render folder to aksmesh.istio.render, in one call; in check mode the
run's plan goes in and the stage's comes back into it (plugins/plugin_utils/_action_module.py). The result is the
module's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import stamp
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _stages as stages
from ansible_collections.aksmesh.istio.plugins.plugin_utils._action_module import PlannedActionModule, task_role

APPLY = "aksmesh.istio.apply"
RENDER = "aksmesh.istio.render"

# The Kubernetes connection (module_defaults for group/aksmesh.istio.k8s reach this task too), handed to apply as
# given: apply checks it, and takes what is not given from its own fallbacks.
CONNECTION_SPEC = dict((option, dict(type="raw", aliases=list(spec.get("aliases") or []),
                                     no_log=bool(spec.get("no_log"))))
                       for option, spec in K8S_AUTH_ARG_SPEC.items())

ARGUMENT_SPEC = dict(
    CONNECTION_SPEC,
    name=dict(type="str"),
    definitions=dict(type="list", elements="dict", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    prune=dict(type="bool", default=True),
    wait=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=300),
    field_manager=dict(type="str", default="aksmesh"),
    force_conflicts=dict(type="bool"),
    render_dir=dict(type="path", default=""),
)


def validated(task_args):
    """The task's arguments checked against ARGUMENT_SPEC, defaults filled in; AnsibleActionFail naming what is
    wrong. The objects are checked apart: the validator copies what it checks, and a stage can hold thousands of
    values."""
    args = dict(task_args)
    objects = args.pop("definitions", None)
    spec = dict((option, about) for option, about in ARGUMENT_SPEC.items() if option != "definitions")
    checked = ArgumentSpecValidator(spec).validate(args)
    if checked.error_messages:
        unsupported = isinstance(checked.errors.errors[0], UnsupportedError)
        raise AnsibleActionFail("%s%s" % ("Unsupported parameters: " if unsupported else "", checked.errors.msg))
    if objects is None:
        raise AnsibleActionFail("missing required arguments: definitions")
    if not isinstance(objects, list):
        raise AnsibleActionFail("definitions: expected a list of objects, got %s" % type(objects).__name__)
    others = sorted(set(type(item).__name__ for item in objects if not isinstance(item, Mapping)))
    if others:
        raise AnsibleActionFail("definitions: expected a list of objects (mappings), got %s in it" % ", ".join(others))
    return dict(checked.validated_parameters, definitions=objects)


def applying_stage(name, role):
    """The stage called ``name``, or when ``name`` is empty the stage ``role`` runs; AnsibleActionFail naming the
    stages that apply objects."""
    if not name:
        stage = stages.of_role(role)
        if stage is None:
            raise AnsibleActionFail(
                "name: not given, and %s runs no stage of aksmesh.istio. Fix: run the task in the role of a stage "
                "(plugins/plugin_utils/_stages.py lists each stage's roles), or set name to one of %s"
                % ("role %s" % role if role else "a task outside a role",
                   ", ".join(stages.applying_names())))
        name = stage.name
    try:
        return stages.applying(name)
    except stages.StageError as exc:
        raise AnsibleActionFail("name: %s" % exc)


class ActionModule(PlannedActionModule):

    REPORTS = True
    _stage = None

    def takes_planned(self, module_name):
        return module_name == APPLY

    def takes_force(self, module_name):
        return module_name == APPLY  # not given: aksmesh_reconcile decides (PlannedActionModule.run_module)

    def report_stage(self, task_vars):
        return self._stage.name

    def keep_report(self, result, task_vars, check_mode):
        if self._stage is not None and "results" in result:  # apply's (render reports nothing)
            super(ActionModule, self).keep_report(result, task_vars, check_mode)

    def module_call(self, task_vars):
        args = validated(self._task.args)
        stage = self._stage = applying_stage(args["name"], task_role(task_vars))
        present = args["state"] == "present"
        objects = stamp(args["definitions"], stage.name)
        if args["render_dir"]:
            # absent: an empty folder (render prunes the files it wrote earlier)
            return RENDER, dict(definitions=objects if present else [], dest=args["render_dir"],
                                stage=stages.folder(stage))
        kinds = stages.prune_kinds(stage) if present and args["prune"] else []
        if not objects and not kinds:
            return dict(changed=False, skipped=True, skip_reason="stage %s: no objects to apply" % stage.name)
        # no objects, but kinds to prune: what the stage applied before its last object was taken out is deleted
        module_args = dict((option, args[option]) for option in CONNECTION_SPEC if args.get(option) is not None)
        module_args.update(definitions=objects, state=args["state"], field_manager=args["field_manager"],
                           force_conflicts=args["force_conflicts"], wait=args["wait"],
                           wait_timeout=args["wait_timeout"])
        if kinds:
            if not objects:  # a kind the cluster does not serve (cert-manager's, its CRDs never installed) has none
                kinds = [dict(kind, optional=True) for kind in kinds]
            module_args["prune"] = dict(label_selector=stages.prune_selector(stage), kinds=kinds)
        return APPLY, module_args
