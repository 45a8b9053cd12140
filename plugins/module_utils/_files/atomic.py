# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replace a file atomically, never exposing it with a wider mode than asked, not even for a moment.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import tempfile


def needs_write(path, content, mode):
    """(content differs, mode differs) for the file at ``path``."""
    try:
        with open(path, "rb") as fh:
            same = fh.read() == content.encode("utf-8")
        current = stat.S_IMODE(os.stat(path).st_mode)
    except (IOError, OSError):
        return True, True
    return not same, current != mode


def write(path, content, mode=0o600, folder_mode=0o700):
    """Atomically replace ``path`` with ``content``; the temp file is created 0600 in the same folder."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        os.makedirs(folder, folder_mode)
    fd, tmp = tempfile.mkstemp(prefix=".aksmesh-", dir=folder)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content.encode("utf-8"))
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def set_mode(path, mode):
    os.chmod(path, mode)
