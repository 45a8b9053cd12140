"""Helpers for the processes the test harness starts."""

from __future__ import annotations

import ctypes
import signal
import threading


def die_with_parent():
    """In a child before exec: SIGTERM it when the thread that started it ends (PR_SET_PDEATHSIG), so that a
    killed test run leaves no control plane behind."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class Reconciler:
    """A daemon thread that calls ``reconcile()`` every ``interval`` seconds until ``stop()`` (a kubelet-like loop
    of the harness: istiod's processes, readiness reports, the data plane). A failed round (the API server busy or
    restarting) is tried again at the next one."""

    interval = 0.5
    name = "reconciler"

    def __init__(self):
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def _loop(self):
        while not self._stop.wait(self.interval):
            try:
                self.reconcile()
            except Exception:  # noqa: BLE001 - the next round tries again
                continue

    def reconcile(self):
        raise NotImplementedError
