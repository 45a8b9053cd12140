#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kube_inject
short_description: Inject Istio sidecars into workload manifests with istioctl kube-inject
version_added: 0.2.0
description:
  - For namespaces where automatic injection is off or not allowed, injects workloads explicitly. It runs the real
    C(istioctl kube-inject) on the given objects with the injection template, values and mesh config of one
    control-plane revision, and returns the injected objects for M(aksmesh.istio.apply) or
    M(aksmesh.istio.render).
  - Those three inputs come from the revision's ConfigMaps (C(istio-sidecar-injector[-<revision>]) with C(config)
    and C(values), C(istio[-<revision>]) with C(mesh)), read from the cluster in O(istio_namespace), or, when
    O(injector) is given, from those objects (for example the render folder of an C(istioctl manifest generate)
    output), so no cluster is needed. istioctl itself is never handed a cluster.
  - An object whose pod template is already injected (annotation C(sidecar.istio.io/status)) comes back as it was,
    so injecting twice changes nothing; kinds without a pod template (Services, ConfigMaps, ...) pass through.
  - Read only. In check mode, when the revision's ConfigMaps are not on the cluster because an earlier task of the
    run would install the control plane (its namespace is in O(planned)), the objects come back as given, not
    injected yet, and RV(pending) lists those that would get the sidecar - the next task reports the objects it would
    create instead of the run saying nothing about them.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.action
  - aksmesh.istio.attributes.read_only
  - aksmesh.istio.k8s_auth
  - aksmesh.istio.planned
options:
  definitions:
    description:
      - Objects to inject, a list of objects, a single object, or multi-document YAML text. C(List) kinds are
        expanded.
    type: raw
    aliases: [definition]
  src:
    description: Files or directories (read recursively, C(*.yaml), C(*.yml), C(*.json)) holding objects to inject.
    type: list
    elements: path
    default: []
  revision:
    description:
      - The control-plane revision whose template injects the sidecars (C(default) when empty), and whose
        ConfigMaps are read.
    type: str
    default: default
  istio_namespace:
    description: Namespace of the revision's ConfigMaps (C(aks-istio-system) for the AKS add-on).
    type: str
    default: istio-system
  injector:
    description:
      - Files or directories holding the revision's two ConfigMaps among other objects (for example an
        C(istioctl manifest generate) output, or a render folder). When given, the cluster is not read.
    type: list
    elements: path
  istioctl_path:
    description: The istioctl binary; PATH when empty.
    type: path
notes:
  - istioctl is run with C(--revision), C(--injectConfigFile), C(--valuesFile) and C(--meshConfigFile) (private
    files, removed afterwards), which is the documented way to inject with captured cluster configuration.
seealso:
  - module: aksmesh.istio.apply
  - module: aksmesh.istio.injection
"""

EXAMPLES = r"""
- name: Inject the shop workloads with revision 1-30-0's template
  aksmesh.istio.kube_inject:
    src: [manifests/shop]
    revision: 1-30-0
  register: injected

- name: Apply them
  aksmesh.istio.apply:
    definitions: "{{ injected.definitions }}"

- name: Without a cluster, from the objects istioctl manifest generate wrote
  aksmesh.istio.kube_inject:
    definitions: "{{ lookup('ansible.builtin.file', 'web.yaml') }}"
    injector: [rendered/aks1/10-istio]
"""

RETURN = r"""
definitions:
  description:
    - The objects as C(istioctl kube-inject) returned them, in the order given, without server-owned fields.
    - With RV(pending) (check mode, the control plane only planned), the objects as given.
  returned: success
  type: list
  elements: dict
injected:
  description: The objects this run injected (C(Kind namespace/name)).
  returned: success
  type: list
  elements: str
  sample: [Deployment shop/web]
already_injected:
  description: The objects whose pod template was injected already; returned unchanged.
  returned: success
  type: list
  elements: str
not_injected:
  description: Objects without a pod template, or that opt out (C(sidecar.istio.io/inject=false)).
  returned: success
  type: list
  elements: str
pending:
  description:
    - Check mode, the revision not installed yet but planned by an earlier task of the run (O(planned)) - the
      objects that would get the sidecar once it is; they are returned in RV(definitions) as given. Empty otherwise.
  returned: success
  type: list
  elements: str
  sample: [Deployment legacy/web]
source:
  description:
    - Where the template came from, C(cluster) or C(injector), and the ConfigMaps' names; C(planned) when the
      revision is only planned (RV(pending)).
  returned: success
  type: dict
  sample: {from: cluster, namespace: istio-system, configmaps: [istio-sidecar-injector, istio]}
command:
  description: The istioctl command line (the private files' folder varies); empty when nothing was run (RV(pending)).
  returned: success
  type: list
  elements: str
"""

import json
import os
import shutil
import tempfile

from ansible_collections.aksmesh.istio.plugins.module_utils import _cli as cli
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import istioctl
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import kube_inject as ki
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors, manifests, names
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule, resolve
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.options import K8S_AUTH_ARG_SPEC
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.planned import PLANNED_ARG_SPEC, Planned
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import RestClient


def load(module):
    p = module.params
    try:
        pairs = manifests.expand([p["definitions"]]) if p["definitions"] is not None else []
        objs = manifests.normalize(pairs + manifests.expand(manifests.load_paths(p["src"])))
    except manifests.ManifestError as exc:
        module.fail_json(msg="%s; nothing injected" % exc)
    if not objs:
        module.fail_json(msg="nothing to inject: give definitions or src with at least one object")
    return objs


def configmaps(module, p):
    """(injector, mesh) ConfigMaps of the revision, from O(injector) or the cluster."""
    if p["injector"] is not None:
        try:
            objs = [o for o, _where in manifests.expand(manifests.load_paths(p["injector"]))]
        except manifests.ManifestError as exc:
            module.fail_json(msg="injector: %s" % exc)
        return ki.find_configmaps([o for o in objs if isinstance(o, dict)], p["istio_namespace"], p["revision"])
    rest = RestClient(resolve(module).client, timeout=p["request_timeout"])
    return tuple(rest.request("GET", "/api/v1/namespaces/%s/configmaps/%s" % (p["istio_namespace"], name),
                              ok_missing=True) for name in ki.configmap_names(p["revision"]))


def inject(module, binary, objs, inputs):
    p = module.params
    workdir = tempfile.mkdtemp(prefix="aksmesh-inject-")
    try:
        files = {}
        for key, name in (("config", "inject-config.yaml"), ("values", "values.json"), ("mesh", "mesh.yaml"),
                          ("in", "in.yaml")):
            files[key] = os.path.join(workdir, name)
            with open(files[key], "w") as fh:
                # JSON is YAML: one document per object
                fh.write("\n---\n".join(json.dumps(o) for o in objs) if key == "in" else inputs[key])
        # an explicit --revision keeps istioctl from asking the cluster which revision is the default
        cmd = [binary, "kube-inject", "--revision", p["revision"], "-f", files["in"],
               "--injectConfigFile", files["config"], "--valuesFile", files["values"],
               "--meshConfigFile", files["mesh"]]
        try:
            _rc, out, _err = cli.run(module, cmd)
        except cli.CommandError as exc:
            module.fail_json(msg="istioctl kube-inject failed (exit %s) with revision %s's template: %s" % (
                exc.rc, p["revision"], exc.detail), rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        injected = manifests.normalize(manifests.expand([out], "istioctl kube-inject output"))
    except manifests.ManifestError as exc:
        module.fail_json(msg="istioctl kube-inject printed an unusable manifest: %s" % exc)
    if len(injected) != len(objs):
        module.fail_json(msg="istioctl kube-inject returned %d objects for %d given" % (len(injected), len(objs)))
    return injected, cmd


def converge(module, objs):
    p = module.params
    injector, mesh = configmaps(module, p)
    source = {"from": "injector" if p["injector"] is not None else "cluster", "namespace": p["istio_namespace"],
              "configmaps": list(ki.configmap_names(p["revision"]))}
    if (injector is None or mesh is None) and p["injector"] is None and module.check_mode and \
            Planned.from_params(p).has_namespace(p["istio_namespace"]):
        # the control plane comes with an earlier task of this check-mode run: the objects as they are, to be
        # injected once it is there
        result = dict(changed=False, definitions=objs, command=[], source=dict(source, **{"from": "planned"}))
        result.update(ki.pending(objs))
        return result
    try:
        inputs = ki.inputs(injector, mesh, p["istio_namespace"], p["revision"])
    except ki.InjectError as exc:
        module.fail_json(msg="%s; nothing injected" % exc)
    injected, cmd = inject(module, istioctl.find(module, p["istioctl_path"]), objs, inputs)
    result = dict(changed=False, definitions=injected, command=cmd, source=source, pending=[])
    result.update(ki.outcome(objs, injected))
    return result


def main():
    spec = dict(K8S_AUTH_ARG_SPEC)
    spec.update(definitions=dict(type="raw", aliases=["definition"]),
                src=dict(type="list", elements="path", default=[]),
                revision=dict(type="str", default="default"), istio_namespace=dict(type="str", default="istio-system"),
                injector=dict(type="list", elements="path"), istioctl_path=dict(type="path"), **PLANNED_ARG_SPEC)
    module = KubeModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    p["revision"] = p["revision"] or "default"
    names.require(module, [("Namespace", p["revision"], "revision"),
                           ("Namespace", p["istio_namespace"], "istio_namespace")])
    objs = load(module)
    errors.run(module, lambda: converge(module, objs),
               what="reading revision %s's injection ConfigMaps failed" % p["revision"])


if __name__ == "__main__":
    main()
