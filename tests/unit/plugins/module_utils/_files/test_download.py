"""The download cache: a file with a known sha256 is fetched once, verified, stored by its sha256 and read from the
cache afterwards; failures leave nothing behind and name every file."""

import hashlib
import io
import json
import os
import stat
import subprocess
import sys

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._files import download
from tests.support.ansible_runner import REPO, base_env

PROMETHEUS = b"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: prometheus}\n"
GRAFANA = b"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: grafana}\n"


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Server:
    """URL -> bytes, counting the requests; an unknown URL fails as urllib's 404 would."""

    def __init__(self, files):
        self.files = dict(files)
        self.requests = []

    def __call__(self, url):
        self.requests.append(url)
        if url not in self.files:
            raise IOError("HTTP Error 404: Not Found")
        return io.BytesIO(self.files[url])


BASE = "https://mirror.example.com/istio/1.30.0/samples/addons/"
SERVER = {BASE + "prometheus.yaml": PROMETHEUS, BASE + "grafana.yaml": GRAFANA}
FILES = [{"name": "prometheus", "url": BASE + "prometheus.yaml", "checksum": "sha256:" + sha(PROMETHEUS)},
         {"name": "grafana", "url": BASE + "grafana.yaml", "checksum": sha(GRAFANA)}]


def leftovers(root):
    """Files in the cache other than the stored ones (temporary downloads)."""
    return sorted(os.path.relpath(os.path.join(d, f), str(root)) for d, _dirs, names in os.walk(str(root))
                  for f in names if not os.path.relpath(d, str(root)).startswith("sha256" + os.sep))


def test_a_verified_file_is_fetched_once_then_read_from_the_cache(tmp_path):
    server = Server(SERVER)
    cache = download.Cache(str(tmp_path / "cache"), server)
    entries, texts = download.fetch_all(FILES, cache, content=True)
    assert list(entries) == ["prometheus", "grafana"] and list(texts) == ["prometheus", "grafana"]
    assert texts["prometheus"] == PROMETHEUS.decode() and server.requests == [f["url"] for f in FILES]
    prom = entries["prometheus"]
    assert prom["path"] == str(tmp_path / "cache" / "sha256" / sha(PROMETHEUS) / "prometheus.yaml")
    assert prom["stored"] and not prom["cached"] and prom["sha256"] == sha(PROMETHEUS)
    assert stat.S_IMODE(os.stat(prom["path"]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(tmp_path / "cache")).st_mode) == 0o700
    server.requests = []
    again, texts = download.fetch_all(FILES, cache, content=True)
    assert server.requests == [] and texts["grafana"] == GRAFANA.decode()
    assert all(e["cached"] and not e["stored"] for e in again.values())
    assert leftovers(tmp_path / "cache") == []


def test_a_mismatch_fails_naming_the_file_stores_nothing_and_fetches_the_others(tmp_path):
    server = Server(SERVER)
    cache = download.Cache(str(tmp_path / "cache"), server)
    files = [dict(FILES[0]), dict(FILES[1], checksum="sha256:" + "0" * 64),
             {"name": "kiali", "url": BASE + "kiali.yaml", "checksum": "sha256:" + "1" * 64}]
    with pytest.raises(download.DownloadError) as caught:
        download.fetch_all(files, cache)
    failures = caught.value.failures
    assert [(f["name"], f["source"]) for f in failures] == [("grafana", BASE + "grafana.yaml"),
                                                            ("kiali", BASE + "kiali.yaml")]
    assert failures[0]["msg"] == "sha256 checksum mismatch: expected %s, the file has %s" % ("0" * 64, sha(GRAFANA))
    assert failures[1]["msg"] == "cannot download %skiali.yaml: HTTP Error 404: Not Found" % BASE
    assert "grafana (%sgrafana.yaml): sha256 checksum mismatch" % BASE in str(caught.value)
    assert os.listdir(str(tmp_path / "cache" / "sha256")) == [sha(PROMETHEUS)]  # the good one is kept
    assert leftovers(tmp_path / "cache") == []


def test_a_damaged_cached_file_is_fetched_again(tmp_path):
    server = Server(SERVER)
    cache = download.Cache(str(tmp_path / "cache"), server)
    entries, _texts = download.fetch_all(FILES[:1], cache)
    with open(entries["prometheus"]["path"], "ab") as fh:
        fh.write(b"# tampered\n")
    server.requests = []
    again, texts = download.fetch_all(FILES[:1], cache, content=True)
    assert server.requests == [BASE + "prometheus.yaml"] and texts["prometheus"] == PROMETHEUS.decode()
    assert again["prometheus"]["stored"]


def test_without_a_checksum_it_downloads_every_time_and_stores_by_the_sha256_it_has(tmp_path):
    server = Server(SERVER)
    cache = download.Cache(str(tmp_path / "cache"), server)
    files = [{"name": "grafana", "url": BASE + "grafana.yaml"}]
    first, _texts = download.fetch_all(files, cache)
    second, _texts = download.fetch_all(files, cache)
    assert len(server.requests) == 2 and first["grafana"]["stored"] and not second["grafana"]["stored"]
    assert second["grafana"]["path"].endswith(os.path.join(sha(GRAFANA), "grafana.yaml"))


def test_a_checksum_file_names_the_sha256(tmp_path):
    archive = b"\x1f\x8b release archive"
    url = "https://github.com/istio/istio/releases/download/1.30.0/istioctl-1.30.0-linux-amd64.tar.gz"
    server = Server({url: archive, url + ".sha256": ("%s  istioctl-1.30.0-linux-amd64.tar.gz\n" % sha(archive)).encode(),
                     "https://x/SHA256SUMS": ("%s  other.tar.gz\n%s *istioctl-1.30.0-linux-amd64.tar.gz\n" % (
                         "2" * 64, sha(archive))).encode()})
    cache = download.Cache(str(tmp_path / "cache"), server)
    entries, _texts = download.fetch_all([{"name": "archive", "url": url, "checksum": "sha256:" + url + ".sha256"}],
                                         cache)
    assert entries["archive"]["sha256"] == sha(archive) and server.requests == [url + ".sha256", url]
    server.requests = []
    again, _texts = download.fetch_all([{"name": "archive", "url": url, "checksum": "sha256:https://x/SHA256SUMS"}],
                                       cache)
    assert again["archive"]["cached"] and server.requests == ["https://x/SHA256SUMS"]  # the archive from the cache
    with pytest.raises(download.DownloadError, match="the checksum file https://x/none names no sha256"):
        download.fetch_all([{"name": "archive", "url": url, "checksum": "sha256:https://x/none"}],
                           download.Cache(str(tmp_path / "cache"), Server({"https://x/none": b"a b\nc d\n"})))


def test_local_copies_bad_checksums_and_entries_are_named(tmp_path):
    (tmp_path / "grafana.yaml").write_bytes(GRAFANA)
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe")
    cache = download.Cache(str(tmp_path / "cache"), Server({}))
    entries, texts = download.fetch_all([{"name": "grafana", "src": str(tmp_path / "grafana.yaml")}], cache, True)
    assert texts == {"grafana": GRAFANA.decode()} and entries["grafana"]["path"] == str(tmp_path / "grafana.yaml")
    assert not os.path.exists(str(tmp_path / "cache"))  # a local copy is not copied into the cache
    with pytest.raises(download.DownloadError) as caught:
        download.fetch_all([{"name": "missing", "src": str(tmp_path / "nope.yaml")},
                            {"name": "binary", "src": str(tmp_path / "binary.yaml")},
                            {"name": "grafana", "src": str(tmp_path / "grafana.yaml"), "checksum": "sha256:" + "0" * 64},
                            {"name": "odd", "url": BASE + "grafana.yaml", "checksum": "md5:abc"},
                            {"name": "both", "url": BASE + "grafana.yaml", "src": str(tmp_path / "grafana.yaml")},
                            {"name": "both", "url": BASE + "grafana.yaml"}], cache, content=True)
    assert [f["msg"] for f in caught.value.failures] == [
        "%s is not a file" % (tmp_path / "nope.yaml"),
        "is not UTF-8 text (byte 0)",
        "sha256 checksum mismatch: expected %s, the file has %s" % ("0" * 64, sha(GRAFANA)),
        "checksum 'md5:abc' is not a sha256 (64 hex digits, optionally after 'sha256:')",
        "the name both is given 2 times", "the name both is given 2 times"]


def test_the_cache_folder_is_the_option_then_the_environment_then_the_users(tmp_path):
    assert download.cache_root(str(tmp_path)) == str(tmp_path)
    assert download.cache_root(None, {"AKSMESH_DOWNLOAD_CACHE": str(tmp_path / "env")}) == str(tmp_path / "env")
    assert download.cache_root(None, {}) == os.path.expanduser("~/.cache/aksmesh/downloads")
    assert download.file_name("https://x/a%20b/istioctl-1.30.0.tar.gz?x=1", "n") == "istioctl-1.30.0.tar.gz"
    assert download.file_name("https://x/", "pro metheus") == "pro_metheus"
    assert download.file_name("https://x/..", "n") == "n"


def run_module(args, env):
    """plugins/modules/download.py as Ansible runs it, in a process of its own."""
    payload = json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=False)})
    proc = subprocess.run([sys.executable, str(REPO / "plugins" / "modules" / "download.py")], input=payload,
                          env=base_env(env), capture_output=True, text=True, timeout=60, check=False)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_module_reports_a_change_only_when_it_fills_the_cache(tmp_path):
    """file:// URLs, as an air-gapped mirror on a share serves them; the cache from the environment."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "prometheus.yaml").write_bytes(PROMETHEUS)
    args = {"base_url": mirror.as_uri(), "files": {"prometheus": "prometheus.yaml"}, "content": True,
            "checksums": {"prometheus": "sha256:" + sha(PROMETHEUS), "grafana": "sha256:" + sha(GRAFANA)}}
    env = {"AKSMESH_DOWNLOAD_CACHE": str(tmp_path / "cache")}
    first = run_module(args, env)
    assert first["changed"] is True and first["contents"] == {"prometheus": PROMETHEUS.decode()}, first
    assert first["cache_dir"] == str(tmp_path / "cache")
    second = run_module(args, env)
    assert second["changed"] is False and second["files"]["prometheus"]["cached"] is True
    local = run_module({"src_dir": str(mirror), "files": {"prometheus": "prometheus.yaml"}, "content": True}, env)
    assert local["changed"] is False and local["files"]["prometheus"]["path"] == str(mirror / "prometheus.yaml")
    missing = run_module({"base_url": mirror.as_uri(), "files": {"grafana": "grafana.yaml"}}, env)
    assert missing["failed"] and missing["failures"][0]["name"] == "grafana"
    assert "No such file or directory" in missing["failures"][0]["msg"]
    neither = run_module({"files": {"x": "x.yaml"}}, env)
    assert neither["failed"] and "one of the following is required: base_url, src_dir" in neither["msg"]


def test_entries_below_a_base_url_or_a_local_copy():
    files = {"bookinfo": "platform/kube/bookinfo.yaml", "gateway": "/networking/bookinfo-gateway.yaml"}
    assert download.entries(files, {"gateway": "abc", "other": "def"}, base_url="https://x/samples/bookinfo/") == [
        {"name": "bookinfo", "checksum": None, "url": "https://x/samples/bookinfo/platform/kube/bookinfo.yaml"},
        {"name": "gateway", "checksum": "abc", "url": "https://x/samples/bookinfo/networking/bookinfo-gateway.yaml"}]
    assert download.entries(files, {}, src_dir="/srv/bookinfo")[0]["src"] == "/srv/bookinfo/platform/kube/bookinfo.yaml"


# ---- Go module zips checked by their go.sum hash -------------------------------------------------------------

def module_zip(files):
    """A Go module zip holding ``files`` ({name in the zip: bytes})."""
    import zipfile  # pylint: disable=import-outside-toplevel
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buf.getvalue()


MODULE_FILES = {"example.test/crds@v1.0.0/config/crd/standard/b.yaml": b"kind: B\n",
                "example.test/crds@v1.0.0/config/crd/standard/a.yaml": b"kind: A\n",
                "example.test/crds@v1.0.0/go.mod": b"module example.test/crds\n"}


def h1(files):
    """dirhash's Hash1, written out as golang.org/x/mod/sumdb/dirhash defines it."""
    import base64  # pylint: disable=import-outside-toplevel
    lines = "".join("%s  %s\n" % (sha(files[name]), name) for name in sorted(files))
    return "h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()


MODULE_URL = "https://proxy.example.test/example.test/crds/@v/v1.0.0.zip"


def test_a_module_zip_is_checked_by_its_h1_hash_once_then_read_from_the_cache(tmp_path):
    data = module_zip(MODULE_FILES)
    server = Server({MODULE_URL: data})
    cache = download.Cache(str(tmp_path), server)
    first = cache.get("module", MODULE_URL, h1(MODULE_FILES))
    assert not first["cached"] and first["stored"] and first["h1"] == h1(MODULE_FILES) and first["sha256"] == sha(data)
    assert first["path"].startswith(str(tmp_path / "h1")) and first["path"].endswith("/v1.0.0.zip")
    second = cache.get("module", MODULE_URL, h1(MODULE_FILES))
    assert second["cached"] and server.requests == [MODULE_URL]
    # a local copy (src_dir) is checked the same way
    assert download.local("module", first["path"], h1(MODULE_FILES))["h1"] == h1(MODULE_FILES)


def test_a_module_zip_with_another_hash_or_no_zip_is_refused_and_leaves_nothing(tmp_path):
    tampered = dict(MODULE_FILES, **{"example.test/crds@v1.0.0/config/crd/standard/a.yaml": b"kind: Evil\n"})
    server = Server({MODULE_URL: module_zip(tampered), MODULE_URL + ".txt": b"not a zip"})
    cache = download.Cache(str(tmp_path), server)
    with pytest.raises(download.Failure, match="h1 checksum mismatch: expected %s, the module zip has %s" % (
            h1(MODULE_FILES).replace("+", r"\+"), h1(tampered).replace("+", r"\+"))):
        cache.get("module", MODULE_URL, h1(MODULE_FILES))
    with pytest.raises(download.Failure, match="is not a Go module zip"):
        cache.get("module", MODULE_URL + ".txt", h1(MODULE_FILES))
    with pytest.raises(download.Failure, match="is not an h1: hash"):
        cache.get("module", MODULE_URL, "h1:short")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_the_files_of_a_folder_of_a_module_zip(tmp_path):
    from ansible_collections.aksmesh.istio.plugins.module_utils._files import gomod  # pylint: disable=import-outside-toplevel
    path = tmp_path / "v1.0.0.zip"
    path.write_bytes(module_zip(MODULE_FILES))
    assert gomod.hash_zip(str(path)) == h1(MODULE_FILES)
    assert gomod.folder_files(str(path), "example.test/crds", "v1.0.0", "config/crd/standard", ".yaml") == {
        "a.yaml": "kind: A\n", "b.yaml": "kind: B\n"}
    with pytest.raises(gomod.ModuleZipError, match="has no example.test/crds@v2.0.0/config/crd/standard/"):
        gomod.folder_files(str(path), "example.test/crds", "v2.0.0", "config/crd/standard", ".yaml")
