"""Unit tests for _files.atomic: private, atomic file writes."""

import os
import stat

from ansible_collections.aksmesh.istio.plugins.module_utils._files import atomic as atomic_file


def test_kubeconfig_file_is_private_and_atomic(tmp_path):
    dest = tmp_path / "new" / "kc"
    assert atomic_file.needs_write(str(dest), "a", 0o600) == (True, True)
    atomic_file.write(str(dest), "a: 1\n")
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600 and stat.S_IMODE(os.stat(dest.parent).st_mode) == 0o700
    assert atomic_file.needs_write(str(dest), "a: 1\n", 0o600) == (False, False)
