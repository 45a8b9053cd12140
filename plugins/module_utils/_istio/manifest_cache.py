# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``istioctl manifest generate`` printed, kept by what determines it: the istioctl binary (its resolved path,
size, modification time and inode: a rebuilt or replaced istioctl is another key), its arguments and the
IstioOperator's text. manifest generate reads neither the cluster nor the network, so the same key prints the same
objects; a scheduled no-op run of site.yml then runs no istioctl to compare the control plane (1 to 2 CPU-seconds
each, issue 27). The folder: ``$AKSMESH_MANIFEST_CACHE`` (``off``: no cache), else ``~/.cache/aksmesh/manifests``;
one file per key, written atomically (0600), the oldest removed past MAX_ENTRIES. A folder that cannot be made or
written is no cache: istioctl runs as it did without one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

from ansible_collections.aksmesh.istio.plugins.module_utils._files import atomic

CACHE_ENV = "AKSMESH_MANIFEST_CACHE"
DEFAULT_CACHE = "~/.cache/aksmesh/manifests"
MAX_ENTRIES = 32


def folder(environ=None):
    """The cache folder, or None when ``$AKSMESH_MANIFEST_CACHE`` is ``off``."""
    environ = os.environ if environ is None else environ
    if environ.get(CACHE_ENV) == "off":
        return None
    return os.path.abspath(os.path.expanduser(environ.get(CACHE_ENV) or DEFAULT_CACHE))


def key(binary, args, operator_text):
    """The cache key of ``binary args`` on ``operator_text``, or None when the binary cannot be read (no cache)."""
    try:
        real = os.path.realpath(binary)
        st = os.stat(real)
    except OSError:
        return None
    identity = [real, st.st_size, st.st_mtime_ns, st.st_ino, list(args), operator_text]
    return hashlib.sha256(json.dumps(identity).encode("utf-8")).hexdigest()


def generated(binary, args, operator_text, run, environ=None):
    """The text ``run()`` prints (istioctl manifest generate ``args`` on ``operator_text``), from the cache when an
    earlier call with the same key kept it; a text run() printed is kept for the next call."""
    name, where = key(binary, args, operator_text), folder(environ)
    if name is None or where is None:
        return run()
    path = os.path.join(where, name + ".yaml")
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    text = run()
    try:
        atomic.write(path, text)
        _trim(where)
    except OSError:
        pass  # not writable: no cache
    return text


def _trim(where):
    entries = []
    for name in os.listdir(where):
        if name.endswith(".yaml"):
            try:
                entries.append((os.stat(os.path.join(where, name)).st_mtime, name))
            except OSError:
                continue
    for _mtime, name in sorted(entries)[:-MAX_ENTRIES]:
        try:
            os.unlink(os.path.join(where, name))
        except OSError:
            pass
