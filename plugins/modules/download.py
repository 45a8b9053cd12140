#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: download
short_description: Fetch release files once into a per-user cache, verified by their sha256
version_added: 0.2.0
description:
  - Downloads files (HTTP, HTTPS, FTP or C(file://) URLs) into a cache folder on the host, keyed by their sha256,
    and returns where each one is and, with O(content), its text. A file whose sha256 is known (O(checksums))
    and already in the cache is read from there and not downloaded again; a cached file is hashed again before it
    is used. This is how the collection's roles fetch the addon manifests, the Bookinfo sample and the istioctl
    release archive, so a second run downloads nothing and reports no change.
  - A download goes to a private temporary file in the cache folder and is renamed into place only after its
    sha256 matched; a failed, interrupted or mismatching download leaves nothing behind. Several hosts or forks
    may fill the same cache at once.
  - A file without a checksum is downloaded on every run (nothing proves that the cached copy is the one its URL
    serves now) and stored by the sha256 it has.
  - O(src_dir) reads a local copy instead; it is not copied into the cache.
  - Every file is attempted; when some fail, the module fails naming each of them in RV(failures).
author:
  - aksmesh developers (@aksmesh)
extends_documentation_fragment:
  - aksmesh.istio.attributes.in_process
  - aksmesh.istio.attributes.in_process_action
attributes:
  check_mode:
    support: full
    description: Fetches and caches as in a normal run (the cache is not managed state, and what the files hold
      is what a check run needs to show the objects it would apply).
  diff_mode:
    support: none
    description: Changes nothing it would show.
options:
  files:
    description: 'The files to fetch, each C(<name>: <path below O(base_url) or O(src_dir)>), in the order the results
      list them; the name is the file''s key in RV(files) and RV(contents).'
    type: dict
    required: true
  base_url:
    description: The URL the paths in O(files) are below (HTTP, HTTPS, FTP or C(file://)).
    type: str
  src_dir:
    description: A local copy of what O(base_url) serves, read instead of downloading (for example a mirror of the
      release files on an air-gapped site); not copied into the cache.
    type: path
  checksums:
    description:
      - 'The sha256 of each file, C(<name>: sha256:<hex>) (or C(<hex>)), or C(<name>: sha256:<URL>) of a checksum
        file in C(sha256sum) format (the line naming the file, or its only line), which is then read on every run.'
      - A downloaded file without one is downloaded every time and not verified; a file of O(src_dir) without one
        is read as it is.
      - 'C(<name>: h1:<base64>): a Go module zip as a Go module proxy serves it (C(<proxy>/<module>/@v/<version>.zip)),
        checked against the hash the Go checksum database and every C(go.sum) hold for it; stored as
        C(<cache_dir>/h1/<hex>/<file>) and read from there while it has that hash.'
      - Checksums of files O(files) does not name are left alone (a table of pinned checksums may be given whole).
    type: dict
    default: {}
  cache_dir:
    description:
      - The cache folder (created C(0700), files C(0600)); a folder per user and host.
      - Default the environment variable C(AKSMESH_DOWNLOAD_CACHE) on the host, else C(~/.cache/aksmesh/downloads).
        Set it for every task with C(module_defaults) (C(aksmesh.istio.download)).
    type: path
  content:
    description: Return the UTF-8 text of each file in RV(contents).
    type: bool
    default: false
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for a server's answer.
    type: int
    default: 30
"""

EXAMPLES = r"""
- name: The addon manifests of Istio 1.30.0, downloaded once
  aksmesh.istio.download:
    base_url: https://raw.githubusercontent.com/istio/istio/1.30.0/samples/addons
    files:
      prometheus: prometheus.yaml
    checksums:
      prometheus: sha256:429abcb6cb74b6045d8787c66add166aa6ca77889835107bdea8dfb46dd1eca8
    content: true
  register: addons

- name: A release archive, verified by the checksum file published next to it
  aksmesh.istio.download:
    base_url: https://github.com/istio/istio/releases/download/1.30.0
    files:
      archive: istioctl-1.30.0-linux-amd64.tar.gz
    checksums:
      archive: sha256:https://github.com/istio/istio/releases/download/1.30.0/istioctl-1.30.0-linux-amd64.tar.gz.sha256
  register: istioctl_release

- name: The Kubernetes Gateway API module from the Go module proxy, verified by its go.sum hash
  aksmesh.istio.download:
    base_url: https://proxy.golang.org/sigs.k8s.io/gateway-api/@v
    files:
      module: v1.6.0.zip
    checksums:
      module: h1:735YBRj5NXFrOGX0GoSjwzUIzbz8kiEOfADsqHFmHgE=
  register: gateway_api_module
"""

RETURN = r"""
files:
  description: Per file name, where the file is and what it is (with C(h1), its hash, for a Go module zip checked
    against one).
  returned: success
  type: dict
  sample: {"prometheus": {"name": "prometheus",
                          "path": "/home/ops/.cache/aksmesh/downloads/sha256/429a.../prometheus.yaml",
           "sha256": "429abcb6cb74b6045d8787c66add166aa6ca77889835107bdea8dfb46dd1eca8",
           "source": "https://raw.githubusercontent.com/istio/istio/1.30.0/samples/addons/prometheus.yaml",
           "cached": true, "stored": false}}
contents:
  description: Per file name, its text; empty without O(content).
  returned: success
  type: dict
cache_dir:
  description: The cache folder used.
  returned: always
  type: str
failures:
  description: The files that could not be fetched, verified or read, each C({name, source, msg}), in order.
  returned: failure
  type: list
  elements: dict
  sample: [{"name": "grafana", "source": "https://mirror.example.com/addons/grafana.yaml",
            "msg": "sha256 checksum mismatch: expected 1f9e..., the file has 0b2c..."}]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.aksmesh.istio.plugins.module_utils._files import download


def main():
    module = AnsibleModule(argument_spec=download.argument_spec(), supports_check_mode=True, **download.CHECKS)
    download.run(module)


if __name__ == "__main__":
    main()
