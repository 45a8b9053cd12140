"""Unit tests for _files.text: unreadable or non-UTF-8 files are named, with the fix."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._files import text


def test_reads_utf8_and_names_what_it_cannot(tmp_path):
    good = tmp_path / "ok.yaml"
    good.write_text("kind: ConfigMap # é\nsecond: line\n", encoding="utf-8")
    assert text.read(str(good)).startswith("kind: ConfigMap # é")
    assert text.read(str(good), first_line=True) == "kind: ConfigMap # é\n"
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(text.UnreadableFile, match=r"^src .*latin1.yaml is not UTF-8 text \(byte 9\): save it as"):
        text.read(str(latin), "src")
    with pytest.raises(text.UnreadableFile, match=r"cannot be read \(Is a directory\)"):
        text.read(str(tmp_path), "src")
    with pytest.raises(text.UnreadableFile, match=r"cannot be read \(No such file or directory\)"):
        text.read(str(tmp_path / "nope"))
