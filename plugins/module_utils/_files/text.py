# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a user's text files with errors that name the file and what is wrong with it.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io


class UnreadableFile(ValueError):
    """A file that cannot be read, or that is not UTF-8 text."""


def read(path, what="file", first_line=False):
    """The UTF-8 text of ``path`` (only its first line with ``first_line``); UnreadableFile naming the file, the
    reason and the fix otherwise (a directory, no permission, binary or another encoding)."""
    try:
        with io.open(path, "rb") as fh:
            raw = fh.readline() if first_line else fh.read()
    except (IOError, OSError) as exc:
        raise UnreadableFile("%s %s cannot be read (%s): give a readable file" % (what, path, exc.strerror or exc))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile("%s %s is not UTF-8 text (byte %d): save it as UTF-8 YAML or JSON" % (
            what, path, exc.start))
