#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: helm_release
short_description: Install, upgrade or uninstall a Helm chart release, only when something differs
version_added: 0.1.0
description:
  - Runs the C(helm) CLI for the Istio charts (C(base), C(istiod), C(gateway)). Reads the release with
    C(helm list -o json) and C(helm get values -o json) and runs C(helm upgrade --install) only when the chart,
    its version or the values differ, so a second run reports C(changed=false).
  - Values go to helm on standard input (C(-f -)); no values file is written.
  - A release an interrupted helm command left C(pending-install), C(pending-upgrade) or C(pending-rollback) (an
    AWX cancel, a controller crash, an answer lost after helm saved its release record), which helm itself would
    refuse to touch (C(another operation (install/upgrade/rollback\) is in progress)), is recovered as O(pending)
    says once it is older than O(timeout) (RV(pending)).
  - One run at a time changes a release from this controller - a run waits (up to O(timeout)) for an earlier one
    still working on the same release of the same cluster, such as the detached async job of a killed
    C(ansible-playbook), rather than race it (RV(earlier_run)). It holds a lock (C(flock)) on a file in
    C(aksmesh-locks) of Ansible's async folder (C(ANSIBLE_ASYNC_DIR), default C(~/.ansible_async)), which the
    system drops when the process ends, however it ends.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.action
  - aksmesh.istio.k8s_auth
  - aksmesh.istio.k8s_auth.tool
attributes:
  check_mode:
    support: full
    description: >-
      Reads the release and reports what would change; when it would, renders the chart with C(helm template) and
      compares the objects with the cluster (RV(manifest_changes)), and returns the namespaces and CRDs the
      release would create as RV(planned) for the next tasks of the check-mode run.
  diff_mode:
    support: full
    description: Shows the release's values and chart version before and after.
options:
  name:
    description: Release name.
    type: str
    required: true
  chart:
    description: Chart name in the repository (C(base), C(istiod), C(gateway)).
    type: str
  repo:
    description: Chart repository URL.
    type: str
    default: https://istio-release.storage.googleapis.com/charts
  version:
    description: Chart version.
    type: str
  namespace:
    description: Release namespace.
    type: str
    required: true
  values:
    description: Chart values.
    type: dict
    default: {}
  create_namespace:
    description: Create the namespace if missing.
    type: bool
    default: true
  wait:
    description: Wait until the release's resources are ready.
    type: bool
    default: true
  timeout:
    description:
      - Helm's wait timeout, a Go duration such as C(300s) or C(5m0s); anything else fails before anything runs.
    type: str
    default: 5m0s
  state:
    description:
      - Whether the release should exist.
      - C(rendered) changes nothing and needs no cluster - the chart's objects as C(helm install) would leave
        them (RV(objects)), for render mode; C(changed) is always false.
    type: str
    choices: [present, absent, rendered]
    default: present
  kube_version:
    description:
      - With O(state=rendered), the Kubernetes version the chart renders for (its C(.Capabilities.KubeVersion) and
        C(kubeVersion) constraint; cert-manager's chart refuses helm's own default, v1.20.0). In check mode the
        cluster's own version is used.
    type: str
  helm_path:
    description: The helm binary; default, helm on PATH.
    type: path
  compare_only:
    description:
      - With O(state=present), compare the release with the one asked for (RV(differs), RV(changes)) and change
        nothing (C(changed) false; in check mode, as always, C(changed) says whether it would change).
      - Quick and synchronous - the P(aksmesh.istio.istio_helm#role) role compares every release first and starts
        C(helm upgrade --install), with its wait in the background, only for those that differ, so a converged
        cluster costs no wait.
    type: bool
    default: false
  pending:
    description:
      - What to do with a release an interrupted helm command left pending (C(pending-install), C(pending-upgrade),
        C(pending-rollback)). While its record is younger than O(timeout) a helm command elsewhere may still be
        finishing it, so the run first reads it again every few seconds until it settles or is older.
      - C(recover) rolls a release deployed before back to its last deployed revision (C(helm rollback)) and
        uninstalls one never deployed, as C(helm --atomic) would have, then installs or upgrades it as asked; a
        warning and RV(pending) say what was done.
      - C(fail) stops the run (nothing changed), naming the C(helm rollback) or C(helm uninstall) command that
        recovers it.
      - Check mode and O(compare_only) report in RV(pending) what a run would do.
    type: str
    choices: [recover, fail]
    default: recover
requirements:
  - helm 3 on the controller
seealso:
  - module: aksmesh.istio.istio_install
"""

EXAMPLES = r"""
- name: The istiod chart's objects as helm install leaves them (no cluster)
  aksmesh.istio.helm_release:
    name: istiod
    chart: istiod
    version: 1.30.0
    namespace: istio-system
    kube_version: 1.34.0
    state: rendered
  register: istiod_objects

- name: istiod from the Istio charts
  aksmesh.istio.helm_release:
    name: istiod
    chart: istiod
    version: 1.30.0
    namespace: istio-system
    values:
      meshConfig:
        outboundTrafficPolicy: {mode: REGISTRY_ONLY}
"""

RETURN = r"""
differs:
  description: Whether the release differs from the one asked for (it was, or would be, installed or upgraded).
  returned: when O(state=present)
  type: bool
  sample: false
changes:
  description: Why the release was (or would be) installed, upgraded or removed.
  returned: always
  type: list
  elements: str
  sample: [chart version 1.29.2, wanted 1.30.0]
release:
  description: The release after the run (chart, version, revision, status), null when absent.
  returned: always
  type: dict
manifest_changes:
  description:
    - Check mode. The chart's objects (C(helm template), CRDs included) that differ from the cluster, each with
      C(apiVersion), C(kind), C(namespace), C(name) and C(action) (C(create) or C(configure)), as
      RV(aksmesh.istio.istio_install#module:manifest_changes).
  returned: in check mode, when the release would be installed or upgraded
  type: list
  elements: dict
planned:
  description:
    - Check mode. The namespace and CRD kinds the release would create (C(namespaces), C(kinds)); the action
      plugin adds them to the run's plan, the host fact C(settings_planned), which the next tasks of the
      check-mode run read (O(aksmesh.istio.apply#module:planned)).
  returned: in check mode, when the release would be installed or upgraded
  type: dict
objects:
  description:
    - O(state=rendered). The objects C(helm template --include-crds --no-hooks) prints, as C(helm install) leaves
      them - in the release's namespace when they name none, with the label C(app.kubernetes.io/managed-by=Helm)
      and the annotations C(meta.helm.sh/release-name) and C(meta.helm.sh/release-namespace), so a later
      C(helm upgrade) of the release adopts them. Hooks are left out (C(helm install) runs and deletes them).
  returned: when O(state=rendered)
  type: list
  elements: dict
pending:
  description:
    - The release was found pending - left so by an interrupted helm command - with its C(status), C(revision),
      C(updated) (the time in its record), C(age) (seconds), C(wait) (seconds it was younger than O(timeout)),
      C(rollback_to) (the last deployed revision, null when it was never deployed) and C(action) - C(rollback),
      C(uninstall), C(fail) (O(pending=fail)), or C(waited) (it settled while this run waited - another helm
      command finished it). C(done) says whether this run did it (false in check mode and with O(compare_only)).
  returned: when the release was pending
  type: dict
  sample: {status: pending-install, revision: 1, updated: "2025-06-01T10:00:00Z", age: 912, wait: 0,
           rollback_to: null, action: uninstall, done: true}
earlier_run:
  description:
    - An earlier run on this controller was still working on the release (the detached async job of a killed
      C(ansible-playbook)) and this one waited for it to end - its C(pid), C(what), C(started), and C(waited)
      (seconds).
  returned: when this run waited for an earlier one
  type: dict
stdout:
  description: helm's output when it ran.
  returned: when helm changed something
  type: str
"""

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import helm_release
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import KubeModule


def main():
    module = KubeModule(argument_spec=helm_release.argument_spec(), supports_check_mode=True, **helm_release.CHECKS)
    helm_release.run(module)


if __name__ == "__main__":
    main()
