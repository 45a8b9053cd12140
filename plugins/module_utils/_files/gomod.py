# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Go module zips, as a Go module proxy serves them (``<proxy>/<module>/@v/<version>.zip``), checked against the
hash the Go checksum database and every ``go.sum`` hold for them (``h1:``), and the files read out of them.

This file is private to the aksmesh.istio collection: its contents may change at any time.

``h1:`` is golang.org/x/mod/sumdb/dirhash's Hash1 of the zip: the sha256 of the lines ``<sha256 hex of a file>  <its
name in the zip>\\n``, one per file in name order, base64-encoded. It is what ``go mod download`` checks, so a zip that
has it holds exactly the files the module's version has, whoever served it (the pinned value comes from the
checksum database, not from the server).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import re
import zipfile

H1 = re.compile(r"^h1:[A-Za-z0-9+/]{43}=\Z")


class ModuleZipError(Exception):
    """The file is not a readable Go module zip; the message says why."""


def valid_h1(value):
    """Whether ``value`` is an ``h1:`` hash (``h1:`` and the base64 of a sha256)."""
    if not H1.match(value or ""):
        return False
    try:
        return len(base64.b64decode(value[3:])) == 32
    except (binascii.Error, TypeError, ValueError):
        return False


def hash_zip(path):
    """The ``h1:`` hash of the Go module zip at ``path``."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(info.filename for info in archive.infolist() if not info.filename.endswith("/"))
            summary = hashlib.sha256()
            for name in names:
                if "\n" in name:
                    raise ModuleZipError("a file name in it holds a newline")
                digest = hashlib.sha256()
                with archive.open(name) as member:
                    for block in iter(lambda: member.read(1 << 16), b""):
                        digest.update(block)
                summary.update(("%s  %s\n" % (digest.hexdigest(), name)).encode("utf-8"))
    except (zipfile.BadZipfile, zipfile.LargeZipFile, EOFError) as exc:
        raise ModuleZipError("it is not a zip file (%s)" % exc)
    except (IOError, OSError) as exc:
        raise ModuleZipError("it cannot be read (%s)" % (exc.strerror or exc))
    return "h1:" + base64.b64encode(summary.digest()).decode("ascii")


def folder_files(path, module, version, folder, suffix=""):
    """{file name: UTF-8 text} of the files directly in ``folder`` of the module zip at ``path`` (a zip holds
    ``<module>@<version>/<file>``), those whose name ends with ``suffix``."""
    prefix = "%s@%s/%s/" % (module, version, folder.strip("/"))
    out = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for name in sorted(archive.namelist()):
                rest = name[len(prefix):]
                if name.startswith(prefix) and rest and "/" not in rest and rest.endswith(suffix):
                    out[rest] = archive.read(name).decode("utf-8")
    except (zipfile.BadZipfile, zipfile.LargeZipFile, EOFError) as exc:
        raise ModuleZipError("it is not a zip file (%s)" % exc)
    except UnicodeDecodeError as exc:
        raise ModuleZipError("a file of %s is not UTF-8 text (byte %d)" % (folder, exc.start))
    except (IOError, OSError) as exc:
        raise ModuleZipError("it cannot be read (%s)" % (exc.strerror or exc))
    if not out:
        raise ModuleZipError("it has no %s*%s files (is it %s@%s?)" % (prefix, suffix, module, version))
    return out
