#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: aks_credentials
short_description: Fetch an AKS cluster's kubeconfig without the Azure CLI
version_added: 0.1.0
description:
  - Fetches the cluster user kubeconfig (or, opt-in, the admin one) from Azure Resource Manager and writes it to
    O(dest) with mode C(0600). The file is written atomically through a private temporary file in the same
    folder, never through a world-readable one; a missing folder is created C(0700).
  - Or returns it (O(return_content=true)) for the next tasks; then set C(no_log) on the task, as the kubeconfig
    holds credentials.
  - Fetching is a read, tried again (three tries in all, each retry a warning) when the connection to Azure
    Resource Manager is dropped or reset, or it answers 408, 429 or 5xx (after its C(Retry-After), up to 60
    seconds); the Azure SDK itself repeats no POST whose connection dropped.
  - Idempotent. The file is rewritten only when its content or mode differs. The diff names the file and the
    content's checksum, never the content.
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.aks_cluster
  - aksmesh.istio.azure_auth
attributes:
  check_mode:
    support: full
    description: >-
      Fetches and compares; O(dest) is not written. Fetching is a read, so later tasks of a C(--check) run can
      still reach the cluster: when O(dest) would change, the kubeconfig goes to a private temporary file instead
      (mode C(0600) in a new C(0700) folder), returned as RV(path) with RV(temporary=true). Remove it with
      O(remove) when the run is over.
  diff_mode:
    support: full
    description: Shows the checksums and modes before and after, never the content.
options:
  dest:
    description: Where to write the kubeconfig. Required unless O(return_content=true).
    type: path
  mode:
    description:
      - File mode of O(dest), as an octal string such as C('0600') (quoted - YAML reads an unquoted C(600) as a
        decimal number, which is refused).
      - The owner's alone (C(0600) or C(0400)); a mode that lets the group or others read or change the
        credentials is refused.
    type: raw
    default: "0600"
  admin:
    description: Fetch the cluster admin credentials (local accounts) instead of the user's.
    type: bool
    default: false
  format:
    description: C(exec) returns a kubeconfig using kubelogin for Entra ID clusters; C(azure) the legacy provider.
    type: str
    choices: [azure, exec]
  server_fqdn:
    description: Server FQDN to put in the kubeconfig (private clusters with a custom FQDN).
    type: str
  return_content:
    description: Return the kubeconfig as C(kubeconfig) (a dict). Set C(no_log) on the task.
    type: bool
    default: false
  remove:
    description:
      - Remove a temporary kubeconfig that an earlier check-mode run of this module returned as RV(path), and
        its folder; nothing is fetched from Azure. Only files this module made are accepted (a file called
        C(kubeconfig), alone in a private C(0700) folder of this user named C(aksmesh-check-) and the 8 random
        characters of its creation); any other path, or such a folder holding other files, is refused and left
        as it is. Removing an absent file changes nothing.
      - Runs in check mode too (the file is this module's own scratch, not a change to the system).
    type: path
seealso:
  - module: aksmesh.istio.cluster_info
"""

EXAMPLES = r"""
- name: Kubeconfig for this cluster, private to the controller user
  aksmesh.istio.aks_credentials:
    resource_group: rg-shop
    name: aks-shop
    dest: "{{ lookup('env', 'HOME') }}/.kube/aksmesh/{{ inventory_hostname }}"

- name: Keep it in memory for the next tasks
  aksmesh.istio.aks_credentials:
    resource_group: rg-shop
    name: aks-shop
    return_content: true
  register: aks_creds
  no_log: true

- name: Later tasks use creds.path (in check mode a private temporary copy when dest would change)
  aksmesh.istio.aks_credentials:
    resource_group: rg-shop
    name: aks-shop
    dest: /home/deploy/.kube/aks-shop
  register: creds

- name: Remove the temporary copy at the end of a check-mode run
  aksmesh.istio.aks_credentials:
    resource_group: rg-shop
    name: aks-shop
    remove: "{{ creds.path }}"
  when: creds.temporary | default(false)
"""

RETURN = r"""
dest:
  description: The file written (in check mode, the file that would be written).
  returned: when O(dest) is set
  type: str
path:
  description: >-
    The kubeconfig file for later tasks: O(dest), or in check mode when O(dest) would change, a private
    temporary file holding the fetched kubeconfig (see RV(temporary)).
  returned: when O(dest) is set
  type: str
temporary:
  description: RV(path) is a temporary file; remove it with O(remove) when the run is over.
  returned: when O(dest) is set
  type: bool
removed:
  description: The temporary file O(remove) named was there and is now gone.
  returned: when O(remove) is set
  type: bool
server:
  description: API server URL of the kubeconfig's current context.
  returned: always
  type: str
  sample: https://aks-shop-dns.hcp.westeurope.azmk8s.io:443
context:
  description: The kubeconfig's current context.
  returned: always
  type: str
checksum:
  description: SHA-256 of the kubeconfig text.
  returned: always
  type: str
kubeconfig:
  description: The kubeconfig.
  returned: when O(return_content=true)
  type: dict
"""

import hashlib
import os
import re
import stat
import tempfile
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.aksmesh.istio.plugins.module_utils._files import atomic as atomic_file
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.aks_cluster import aks_argument_spec, kubeconfig_text
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.connection import connect
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import AzureOperationError
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import protect

YAML_IMP_ERR = None
try:
    import yaml
    HAS_YAML = True
except ImportError:
    HAS_YAML = False
    YAML_IMP_ERR = traceback.format_exc()


def facts(config):
    current = config.get("current-context")
    ctx = next((c.get("context") or {} for c in config.get("contexts") or [] if c.get("name") == current), {})
    server = next(((c.get("cluster") or {}).get("server") for c in config.get("clusters") or []
                   if c.get("name") == ctx.get("cluster")), None)
    return current, server


def parse_mode(module, mode):
    """The file mode ``mode`` names; fails on one that is not a file mode, or that gives the credentials to
    anyone but their owner."""
    if isinstance(mode, bool):
        module.fail_json(msg="mode %r is not an octal file mode: quote it, such as mode: '0600'" % (mode,))
    if isinstance(mode, int) and mode > 0o777:
        # YAML reads 600 as the decimal integer 600 (octal 1130: group-writable, sticky)
        module.fail_json(msg="mode %d is a decimal YAML integer (octal %s), not the mode 0%d: quote it, such as "
                             "mode: '0600'" % (mode, oct(mode), mode))
    try:
        value = int(str(mode), 8) if not isinstance(mode, int) else mode
    except ValueError:
        value = None
    if value is None or not 0 <= value <= 0o777:
        module.fail_json(msg="mode %r is not an octal file mode such as '0600'" % (mode,))
    if value & 0o077:
        module.fail_json(msg="mode %s lets other users read or change the cluster credentials: give a mode for the "
                             "owner alone, such as '0600' (or '0400')" % _octal(value))
    if not value & 0o400:
        module.fail_json(msg="mode %s leaves the owner unable to read the kubeconfig: give '0600' (or '0400')"
                             % _octal(value))
    return value


def _octal(value):
    return "0%03o" % value


CHECK_PREFIX = "aksmesh-check-"
# mkdtemp's random part: 8 characters of its alphabet
CHECK_FOLDER = re.compile(r"^%s[a-z0-9_]{8}\Z" % re.escape(CHECK_PREFIX))


def temporary_copy(text):
    """A private copy of the kubeconfig for the later tasks of a check-mode run: 0600 in a new 0700 folder."""
    folder = tempfile.mkdtemp(prefix=CHECK_PREFIX)  # mkdtemp creates it 0700
    path = os.path.join(folder, "kubeconfig")
    atomic_file.write(path, text, 0o600)
    return path


def temporary_problem(path):
    """Why ``path`` is not a temporary kubeconfig this module made (``temporary_copy``), or None: a regular file
    named kubeconfig, alone in a folder of mkdtemp's name, both the user's own and private. A folder that holds
    anything else is not this module's, whatever its name."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.basename(path) != "kubeconfig" or not CHECK_FOLDER.match(os.path.basename(folder)):
        return "it is not a file named kubeconfig in a folder named %s<8 characters>" % CHECK_PREFIX
    try:
        about = os.lstat(folder)
    except OSError:
        return None  # gone already
    if not stat.S_ISDIR(about.st_mode) or about.st_uid != os.getuid() or stat.S_IMODE(about.st_mode) != 0o700:
        return "%s is not a private folder of this user (a 0700 directory, not a link)" % folder
    others = sorted(set(os.listdir(folder)) - set(["kubeconfig"]))
    if others:
        return "%s holds other files (%s)" % (folder, ", ".join(others[:5]))
    if os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode):
        return "it is not a regular file"
    return None


def remove_temporary(module, path):
    """Remove the temporary kubeconfig at ``path`` and its folder, and nothing else."""
    problem = temporary_problem(path)
    if problem:
        module.fail_json(msg="remove: %s is not a temporary kubeconfig of this module: %s. Give the path a "
                             "check-mode run returned (RV path); nothing was removed" % (path, problem))
    found = os.path.lexists(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        if found:
            os.remove(path)
        if os.path.isdir(folder):
            os.rmdir(folder)  # empty now: fails rather than take a file that came meanwhile
    except OSError as exc:
        module.fail_json(msg="remove: cannot remove %s: %s" % (path, exc))
    module.exit_json(changed=False, removed=found)


def main():
    spec = aks_argument_spec(dest=dict(type="path"), mode=dict(type="raw", default="0600"),
                             admin=dict(type="bool", default=False), format=dict(type="str", choices=["azure", "exec"]),
                             server_fqdn=dict(type="str"), return_content=dict(type="bool", default=False),
                             remove=dict(type="path"))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    if p["remove"]:
        remove_temporary(module, p["remove"])
    if not p["dest"] and not p["return_content"]:
        module.fail_json(msg="give dest (a file to write) or return_content: true")
    mode = parse_mode(module, p["mode"])
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMP_ERR)
    conn = connect(module, "azure-mgmt-containerservice")
    try:
        text = kubeconfig_text(conn.sdk_client("azure-mgmt-containerservice"), p["resource_group"], p["name"],
                               admin=p["admin"], server_fqdn=p["server_fqdn"], fmt=p["format"], warn=module.warn)
    except AzureOperationError as exc:
        module.fail_json(msg=str(exc))
    config = yaml.safe_load(text) or {}
    if not p["return_content"]:
        protect(module, config)  # never echoed, even in an error or at -vvv
    context, server = facts(config)
    result = dict(changed=False, context=context, server=server,
                  checksum=hashlib.sha256(text.encode("utf-8")).hexdigest())
    if p["dest"]:
        result.update(dest=p["dest"], path=p["dest"], temporary=False)
        content_differs, mode_differs = atomic_file.needs_write(p["dest"], text, mode)
        if content_differs or mode_differs:
            result["changed"] = True
            if module._diff:
                result["diff"] = dict(before_header=p["dest"], after_header=p["dest"],
                                      before="" if content_differs else "(same content)\n",
                                      after="kubeconfig sha256:%s mode %s\n" % (result["checksum"], oct(mode)))
            if module.check_mode:
                try:
                    result.update(path=temporary_copy(text), temporary=True)
                except (IOError, OSError) as exc:
                    module.fail_json(msg="cannot write a temporary kubeconfig for the check-mode run: %s" % exc)
            else:
                try:
                    if content_differs:
                        atomic_file.write(p["dest"], text, mode)
                    else:
                        atomic_file.set_mode(p["dest"], mode)
                except (IOError, OSError) as exc:
                    module.fail_json(msg="cannot write the kubeconfig to %s: %s" % (p["dest"], exc))
    if p["return_content"]:
        result["kubeconfig"] = config
    module.exit_json(**result)


if __name__ == "__main__":
    main()
