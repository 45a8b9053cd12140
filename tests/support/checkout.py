"""A copy of the checkout as a fresh clone has it: the files git tracks (and new files not yet added, as
tests/sanity/run.sh copies them), symlinks kept as symlinks, and nothing else (no .venv, .build, caches)."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[2]


def tracked_files() -> list[str] | None:
    """The checkout's files as git lists them, or None outside a git checkout (an installed collection)."""
    if shutil.which("git") is None:
        return None
    proc = subprocess.run(["git", "-C", str(REPO), "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                          capture_output=True, check=False)
    if proc.returncode != 0:
        return None
    return [p for p in proc.stdout.decode().split("\0") if p and os.path.lexists(REPO / p)]


def copy_checkout(dest: pathlib.Path) -> pathlib.Path:
    """Copy the tracked files into ``dest`` (created); returns ``dest``."""
    files = tracked_files()
    if files is None:
        raise RuntimeError("not a git checkout")
    for rel in files:
        src, target = REPO / rel, dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            target.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, target)
    return dest
