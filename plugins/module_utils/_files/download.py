# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Downloads kept in a per-user cache by their sha256: the one way the roles fetch release files (the addon
manifests, the Bookinfo sample, the istioctl release archive).

This file is private to the aksmesh.istio collection: its contents may change at any time.

A file is stored as ``<cache>/sha256/<hex>/<name from the URL>``: its address is its content, so a file whose
sha256 is known (pinned, given, or read from a checksum file) is fetched once and then read from the cache, and a
file is never served for a checksum it does not have (it is hashed again when read). A download goes to a private
temporary file in the cache folder and is renamed into place only after it verified: a failed or interrupted
download leaves nothing behind, and hosts or forks filling the same cache at once never see a partial file (they
write the same bytes to the same name). A file without a checksum is downloaded every time (nothing says the
cached copy is the one the URL serves now) and stored by the sha256 it turned out to have. A Go module zip whose
``h1:`` hash is pinned (module_utils/_files/gomod.py) is stored as ``<cache>/h1/<hex of the hash>/<name>`` and
checked against that hash the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import os
import re
import tempfile

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.six.moves.urllib.parse import unquote, urlparse
from ansible.module_utils.urls import open_url
from ansible_collections.aksmesh.istio.plugins.module_utils import _timeouts as timeouts
from ansible_collections.aksmesh.istio.plugins.module_utils._files import gomod

DEFAULT_CACHE = "~/.cache/aksmesh/downloads"
CACHE_ENV = "AKSMESH_DOWNLOAD_CACHE"
HEX = re.compile(r"^[0-9a-f]{64}\Z")
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
CHUNK = 1 << 16


class Failure(Exception):
    """One file could not be fetched, verified or read; the message says why."""


class DownloadError(Exception):
    """Some files failed: ``failures`` is [{name, source, msg}], one per file, in the order asked."""

    def __init__(self, failures):
        self.failures = failures
        super(DownloadError, self).__init__("; ".join("%s (%s): %s" % (f["name"], f["source"], f["msg"])
                                                      for f in failures))


def cache_root(option, environ=None):
    """The cache folder: the option, else ``$AKSMESH_DOWNLOAD_CACHE``, else ``~/.cache/aksmesh/downloads``."""
    environ = os.environ if environ is None else environ
    return os.path.abspath(os.path.expanduser(option or environ.get(CACHE_ENV) or DEFAULT_CACHE))


def file_name(url, fallback):
    """A safe file name for the cache: the last segment of the URL's path, else ``fallback``."""
    name = UNSAFE.sub("_", unquote(urlparse(url).path.rstrip("/").rsplit("/", 1)[-1])).strip(".")
    return name or UNSAFE.sub("_", fallback) or "file"


def expected_sha256(checksum, fetch_text, url):
    """The sha256 hex a ``checksum`` names: ``sha256:<hex>`` or ``<hex>``, or ``sha256:<URL>`` of a checksum file
    (``sha256sum`` output: the line naming the file, or its only line); None without a checksum."""
    if not checksum:
        return None
    value = checksum[len("sha256:"):] if checksum.startswith("sha256:") else checksum
    if "://" not in value:
        if not HEX.match(value.lower()):
            raise Failure("checksum %r is not a sha256 (64 hex digits, optionally after 'sha256:')" % checksum)
        return value.lower()
    lines = [line.split() for line in fetch_text(value).splitlines() if line.strip()]
    name = file_name(url, "")
    found = [line[0] for line in lines if len(line) == 1 or line[-1].lstrip("*").lstrip("./") == name]
    if len(lines) == 1 and not found:
        found = [lines[0][0]]
    if len(found) != 1 or not HEX.match(found[0].lower()):
        raise Failure("the checksum file %s names no sha256 for %s" % (value, name))
    return found[0].lower()


def module_zip_hash(checksum):
    """The ``h1:`` hash a checksum names, or None when it names none (a sha256 or nothing)."""
    if not checksum or not checksum.startswith("h1:"):
        return None
    if not gomod.valid_h1(checksum):
        raise Failure("checksum %r is not an h1: hash (h1: and the 44 base64 characters go.sum has)" % checksum)
    return checksum


def h1_of(path):
    try:
        return gomod.hash_zip(path)
    except gomod.ModuleZipError as exc:
        raise Failure("%s is not a Go module zip: %s" % (os.path.basename(path), exc))


class Pin(object):
    """A checksum a file must have: the sha256 of its bytes, or the ``h1:`` hash of a Go module zip. A pinned file
    is cached as ``<cache>/<kind>/<key>/<name>`` (``key``: the hash in hex)."""

    NOUNS = {"sha256": "the file", "h1": "the module zip"}

    def __init__(self, kind, value):
        self.kind, self.value = kind, value
        self.key = value if kind == "sha256" else binascii.hexlify(base64.b64decode(value[3:])).decode("ascii")

    def of(self, path, sha256=None):
        """The file's hash of this kind (for a sha256 pin, ``sha256`` when the caller has it already)."""
        return (sha256 or sha256_of(path)) if self.kind == "sha256" else h1_of(path)

    def check(self, path, sha256=None):
        """Failure unless the file has the pinned hash."""
        actual = self.of(path, sha256)
        if actual != self.value:
            raise Failure("%s checksum mismatch: expected %s, %s has %s"
                          % (self.kind, self.value, self.NOUNS[self.kind], actual))

    def holds(self, path):
        """Whether a cached file still has the pinned hash (a damaged one does not)."""
        try:
            return self.of(path) == self.value
        except Failure:
            return False


def pinned(checksum, fetch_text, url):
    """The Pin a ``checksum`` names (an ``h1:`` hash, or what ``expected_sha256`` reads), or None."""
    h1 = module_zip_hash(checksum)
    if h1:
        return Pin("h1", h1)
    expected = expected_sha256(checksum, fetch_text, url)
    return Pin("sha256", expected) if expected else None


def entry_of(name, source, path, pin, sha256=None, cached=False, stored=False):
    """{name, path, sha256, source, cached, stored}, and ``h1`` for a file pinned by one."""
    if sha256 is None:
        sha256 = pin.value if pin.kind == "sha256" else sha256_of(path)
    out = dict(name=name, path=path, sha256=sha256, source=source, cached=cached, stored=stored)
    if pin is not None and pin.kind == "h1":
        out["h1"] = pin.value
    return out


def makedirs(folder):
    """``folder`` (mode 0700), also when another host or fork makes it at the same moment."""
    try:
        os.makedirs(folder, 0o700)
    except OSError:
        if not os.path.isdir(folder):
            raise


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class Cache(object):
    """The files of one cache folder. ``fetch(url)`` returns a readable binary stream (closed after use) or
    raises; its exception's text becomes the failure message."""

    def __init__(self, root, fetch):
        self.root = root
        self.fetch = fetch

    def _fetch_text(self, url):
        try:
            stream = self.fetch(url)
            try:
                return stream.read().decode("utf-8", "replace")
            finally:
                stream.close()
        except Failure:
            raise
        except Exception as exc:  # the fetcher's errors (HTTP, URL, socket, file) name what went wrong
            raise Failure("cannot download %s: %s" % (url, exc))

    def _download(self, url):
        """(temporary path, sha256) of the file at ``url``, in the cache folder."""
        makedirs(self.root)
        fd, tmp = tempfile.mkstemp(prefix=".download-", dir=self.root)  # 0600
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out:
                stream = self.fetch(url)
                try:
                    for block in iter(lambda: stream.read(CHUNK), b""):
                        digest.update(block)
                        out.write(block)
                finally:
                    stream.close()
        except BaseException as exc:
            os.unlink(tmp)
            if isinstance(exc, Exception):
                raise Failure("cannot download %s: %s" % (url, exc))
            raise
        return tmp, digest.hexdigest()

    def _store(self, tmp, final):
        """Rename a verified download into place at ``final``; False when the cache held the file already. The
        download is removed when it cannot be."""
        try:
            had = os.path.exists(final)
            makedirs(os.path.dirname(final))
            os.rename(tmp, final)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return not had

    def pinned_path(self, pin, name):
        return os.path.join(self.root, pin.kind, pin.key, name)

    def get(self, name, url, checksum=None):
        """{name, path, sha256, source, cached, stored} (and ``h1`` for a Go module zip) of the file at ``url``:
        from the cache when its checksum is known and the cache holds a file that has it, else downloaded, verified
        and stored."""
        pin = pinned(checksum, self._fetch_text, url)
        target = file_name(url, name)
        if pin:
            path = self.pinned_path(pin, target)
            if os.path.isfile(path):
                if pin.holds(path):
                    return entry_of(name, url, path, pin, cached=True)
                try:
                    os.unlink(path)  # damaged: fetch it again
                except OSError:
                    pass
        tmp, actual = self._download(url)
        try:
            if pin:
                pin.check(tmp, actual)
        except BaseException:
            os.unlink(tmp)
            raise
        final = self.pinned_path(pin or Pin("sha256", actual), target)
        return entry_of(name, url, final, pin, sha256=actual, stored=self._store(tmp, final))


def local(name, src, checksum=None):
    """{name, path, sha256, source, cached, stored} of a local file (a copy the user keeps), verified when a
    checksum is given."""
    if not os.path.isfile(src):
        raise Failure("%s is not a file" % src)
    try:
        actual = sha256_of(src)
    except (IOError, OSError) as exc:
        raise Failure("%s cannot be read (%s)" % (src, exc.strerror or exc))
    if checksum and "://" in checksum:
        raise Failure("a local file is checked against a sha256, not a checksum file (%s)" % checksum)
    pin = pinned(checksum, None, src)
    if pin:
        pin.check(src, actual)
    return entry_of(name, src, src, pin, sha256=actual)


def text_of(entry):
    try:
        with open(entry["path"], "rb") as fh:
            return fh.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Failure("is not UTF-8 text (byte %d)" % exc.start)
    except (IOError, OSError) as exc:
        raise Failure("%s cannot be read (%s)" % (entry["path"], exc.strerror or exc))


def entries(files, checksums, base_url=None, src_dir=None):
    """[{name, url or src, checksum}] for ``files`` ({name: path below ``base_url``, or ``src_dir`` when given});
    ``checksums`` may hold more files than asked for (a table of pinned ones)."""
    out = []
    for name, path in (files or {}).items():
        path = str(path).lstrip("/")
        item = {"name": name, "checksum": (checksums or {}).get(name)}
        if src_dir:
            item["src"] = os.path.join(src_dir, path)
        else:
            item["url"] = base_url.rstrip("/") + "/" + path
        out.append(item)
    return out


def fetch_all(files, cache, content=False):
    """({name: entry}, {name: text} when ``content``) for ``files`` ([{name, url or src, checksum}]), in their
    order; DownloadError naming every file that failed (the others are still fetched and cached)."""
    entries, texts, failures = {}, {}, []
    names = [f.get("name") for f in files]
    for index, item in enumerate(files):
        name, url, src = item.get("name"), item.get("url"), item.get("src")
        source = url or src or ""
        try:
            if not name:
                raise Failure("entry %d has no name" % index)
            if names.count(name) > 1:
                raise Failure("the name %s is given %d times" % (name, names.count(name)))
            if bool(url) == bool(src):
                raise Failure("give either url or src")
            entry = cache.get(name, url, item.get("checksum")) if url else local(name, src, item.get("checksum"))
            if content:
                texts[name] = text_of(entry)
            entries[name] = entry
        except Failure as exc:
            failures.append(dict(name=name, source=source, msg=str(exc)))
        except (IOError, OSError) as exc:
            failures.append(dict(name=name, source=source, msg="cache %s: %s" % (cache.root, exc.strerror or exc)))
    if failures:
        raise DownloadError(failures)
    return entries, texts


# AnsibleModule's checks besides the argument spec
CHECKS = dict(mutually_exclusive=[("base_url", "src_dir")], required_one_of=[("base_url", "src_dir")])


def argument_spec():
    """The download module's options (plugins/modules/download.py documents them)."""
    return dict(files=dict(type="dict", required=True), base_url=dict(type="str"), src_dir=dict(type="path"),
                checksums=dict(type="dict", default={}),
                cache_dir=dict(type="path", fallback=(env_fallback, [CACHE_ENV])),
                content=dict(type="bool", default=False),
                validate_certs=dict(type="bool", default=True),
                timeout=dict(type="int", default=30))


def run(module):
    """The download module: its timeout in range, every file fetched into the cache (or found there) and verified,
    and the module's result."""
    timeouts.refuse_out_of_range(module)
    p = module.params
    root = cache_root(p["cache_dir"])

    def fetch(url):
        return open_url(url, validate_certs=p["validate_certs"], timeout=p["timeout"], http_agent="aksmesh.istio")
    try:
        files = entries(p["files"], p["checksums"], p["base_url"], p["src_dir"])
        found, texts = fetch_all(files, Cache(root, fetch), p["content"])
    except DownloadError as exc:
        module.fail_json(msg=str(exc), failures=exc.failures, cache_dir=root)
    module.exit_json(changed=any(e["stored"] for e in found.values()), files=found, contents=texts, cache_dir=root)
