"""Helpers for the processes the test harness starts."""

from __future__ import annotations

import ctypes
import signal


def die_with_parent():
    """In a child before exec: SIGTERM it when the thread that started it ends (PR_SET_PDEATHSIG), so that a
    killed test run leaves no control plane behind."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
