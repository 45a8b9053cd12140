"""Unit tests for _files.joblock: a real flock(2) held by another process, waited for, and dropped at its end."""

import os
import subprocess
import sys
import time

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._files import joblock

HOLDER = r"""
import fcntl, json, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, json.dumps({"pid": os.getpid(), "what": "helm upgrade --install of r", "started": "t0"}).encode())
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def holder(lock, seconds):
    """Another process holding the lock for ``seconds`` (as the detached async job of a killed run does)."""
    os.makedirs(lock.folder, 0o700, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, lock.path, str(seconds)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_the_folder_is_in_ansibles_async_folder():
    assert joblock.directory({"ANSIBLE_ASYNC_DIR": "/x/async"}) == "/x/async/aksmesh-locks"
    assert joblock.directory({}) == os.path.expanduser("~/.ansible_async/aksmesh-locks")


def test_a_free_lock_is_taken_at_once_and_says_who_holds_it(tmp_path):
    lock = joblock.JobLock("helm|https://k:6443|ns|r", "helm upgrade --install of r", folder=str(tmp_path / "l"))
    with lock.acquire(5):
        assert lock.earlier is None and lock.waited < 1
        assert '"pid": %d' % os.getpid() in open(lock.path).read()
    assert oct(os.stat(lock.folder).st_mode & 0o777) == "0o700"
    assert joblock.JobLock("helm|https://k:6443|ns|other", "x", folder=lock.folder).path != lock.path


def test_a_run_waits_for_the_earlier_one_to_end(tmp_path):
    lock = joblock.JobLock("k", "mine", folder=str(tmp_path))
    proc = holder(lock, 1.5)
    start = time.monotonic()
    with lock.acquire(30, interval=0.1):
        assert time.monotonic() - start >= 1.0
        assert lock.earlier["pid"] == proc.pid and lock.earlier["what"] == "helm upgrade --install of r"
    proc.wait()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    lock = joblock.JobLock("k", "mine", folder=str(tmp_path))
    proc = holder(lock, 60)
    proc.kill()  # SIGKILL: the kernel drops its lock
    proc.wait()
    with lock.acquire(5, interval=0.1):
        assert lock.waited < 1


def test_a_holder_that_stays_makes_the_run_give_up_naming_it(tmp_path):
    lock = joblock.JobLock("k", "mine", folder=str(tmp_path))
    proc = holder(lock, 60)
    try:
        with pytest.raises(joblock.Busy) as err:
            lock.acquire(0.3, interval=0.1)
        assert "pid %d (helm upgrade --install of r, since t0)" % proc.pid in str(err.value)
    finally:
        proc.kill()
        proc.wait()
