# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lock per cluster and operation on the controller: a re-run waits for an earlier job that still changes the
same thing (a Helm release, an istioctl install) instead of racing it.

After a SIGKILL of ansible-playbook, the async jobs it started (async_wrapper detaches them) run their module to
the end; so does a task whose answer was lost. The module that changes the cluster holds an exclusive ``flock(2)``
on a file in Ansible's async folder while it works. The kernel drops the lock when the process ends, however it
ends, so a lock is never stale: no pid file to clean up, no lease on the cluster to expire or renew (and no
write to the cluster, nor a permission for one). The file says who holds it, for the message of a run that gave
up waiting. It covers the jobs of one controller; a Helm release's own pending status covers the rest.

This file is private to the aksmesh.istio collection: its contents may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import hashlib
import json
import os
import time

FOLDER = "aksmesh-locks"


def directory(environ=None):
    """The lock folder: ``aksmesh-locks`` in Ansible's async folder (ANSIBLE_ASYNC_DIR, which Ansible gives an
    async task, else its default ``~/.ansible_async``), so that async and plain tasks meet in one place."""
    environ = os.environ if environ is None else environ
    return os.path.join(os.path.expanduser(environ.get("ANSIBLE_ASYNC_DIR") or "~/.ansible_async"), FOLDER)


class Busy(Exception):
    """The lock stayed held for the whole wait; ``holder`` is what its holder wrote (pid, started, what)."""

    def __init__(self, holder, waited):
        super(Busy, self).__init__("held by %s" % describe(holder))
        self.holder, self.waited = holder, waited


def describe(holder):
    """``pid 4711 (helm upgrade --install of ..., since 2025-01-01T10:00:00Z)``, or what is known of it."""
    holder = holder or {}
    return "pid %s (%s, since %s)" % (holder.get("pid", "?"), holder.get("what", "unknown"),
                                      holder.get("started", "an unknown time"))


class JobLock(object):
    """An exclusive lock on ``key`` (such as the cluster's API server, a namespace and a release name); use as
    ``with JobLock(key, what).acquire(timeout):``. After acquire, ``waited`` is how long this run waited and
    ``earlier`` what the earlier holder wrote (None when the lock was free)."""

    def __init__(self, key, what, folder=None):
        self.folder = folder or directory()
        self.path = os.path.join(self.folder, hashlib.sha256(key.encode("utf-8")).hexdigest()[:32] + ".lock")
        self.what = what
        self.fd = None
        self.waited = 0.0
        self.earlier = None

    def acquire(self, timeout, interval=2.0, sleep=time.sleep, clock=time.monotonic):
        """Take the lock, waiting up to ``timeout`` seconds for its holder to end; Busy when it does not."""
        try:
            os.makedirs(self.folder, 0o700)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        start = clock()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(fd)
                    raise
            if self.earlier is None:
                self.earlier = _read(fd) or {}
            if clock() - start >= timeout:
                os.close(fd)
                raise Busy(self.earlier, clock() - start)
            sleep(interval)
        self.waited = clock() - start
        # who holds it now: the file is left in place (removing it would let a waiter lock a file no one else opens)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps({"pid": os.getpid(), "what": self.what, "started": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode("utf-8"))
        self.fd = fd
        return self

    def release(self):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.release()
        return False


def _read(fd):
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096).decode("utf-8") or "null")
    except (OSError, ValueError):
        return None
