"""aks_credentials' file handling: the mode it takes and the temporary kubeconfig it removes (no Azure)."""

import os

import pytest

from ansible_collections.aksmesh.istio.plugins.modules import aks_credentials as ac


class Failed(Exception):
    pass


class Exited(Exception):
    pass


class FakeModule:
    def fail_json(self, **kwargs):
        raise Failed(kwargs["msg"])

    def exit_json(self, **kwargs):
        raise Exited(kwargs)


@pytest.mark.parametrize("mode,value", [("0600", 0o600), ("600", 0o600), ("0400", 0o400), (0o600, 0o600)])
def test_modes_for_the_owner_alone_are_taken(mode, value):
    assert ac.parse_mode(FakeModule(), mode) == value


@pytest.mark.parametrize("mode,needle", [
    (600, "mode 600 is a decimal YAML integer (octal 0o1130), not the mode 0600: quote it"),
    ("0666", "mode 0666 lets other users read or change the cluster credentials"),
    ("0640", "mode 0640 lets other users"),
    (0o644, "mode 0644 lets other users"),
    ("0200", "mode 0200 leaves the owner unable to read"),
    ("u=rw", "mode 'u=rw' is not an octal file mode"),
    ("01600", "is not an octal file mode"),
    (True, "is not an octal file mode"),
])
def test_modes_that_give_the_credentials_away_or_are_not_modes_are_refused(mode, needle):
    """mode: 600 (a YAML integer) wrote group-writable credentials; 0666 only warned."""
    with pytest.raises(Failed) as failed:
        ac.parse_mode(FakeModule(), mode)
    assert needle in str(failed.value), str(failed.value)


def test_remove_deletes_the_temporary_copy_it_made_and_its_folder():
    path = ac.temporary_copy("apiVersion: v1\n")
    with pytest.raises(Exited) as done:
        ac.remove_temporary(FakeModule(), path)
    assert done.value.args[0] == {"changed": False, "removed": True} and not os.path.exists(os.path.dirname(path))
    with pytest.raises(Exited) as again:
        ac.remove_temporary(FakeModule(), path)
    assert again.value.args[0]["removed"] is False


def test_remove_leaves_a_folder_named_like_its_own_that_holds_user_files(tmp_path):
    """Any folder named aksmesh-check-* was deleted with everything in it."""
    folder = tmp_path / "aksmesh-check-notes"
    folder.mkdir(mode=0o700)
    (folder / "kubeconfig").write_text("mine")
    (folder / "notes.txt").write_text("keep me")
    lookalike = tmp_path / "aksmesh-check-abcd1234"
    lookalike.mkdir(mode=0o700)
    (lookalike / "kubeconfig").write_text("mine")
    (lookalike / "notes.txt").write_text("keep me")
    shared = tmp_path / "aksmesh-check-zz11yy22"
    shared.mkdir()
    os.chmod(shared, 0o755)
    (shared / "kubeconfig").write_text("mine")
    for path, needle in ((folder / "kubeconfig", "in a folder named aksmesh-check-<8 characters>"),
                         (lookalike / "kubeconfig", "holds other files (notes.txt)"),
                         (shared / "kubeconfig", "is not a private folder of this user")):
        with pytest.raises(Failed) as failed:
            ac.remove_temporary(FakeModule(), str(path))
        assert needle in str(failed.value) and "nothing was removed" in str(failed.value)
        assert path.read_text() == "mine"
    assert (folder / "notes.txt").exists() and (lookalike / "notes.txt").exists()
