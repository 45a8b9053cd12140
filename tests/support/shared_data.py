"""Where the real upstream Istio files live (../shared/istio-upstream), and fallbacks when absent."""

from __future__ import annotations

import os
import pathlib

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]


def upstream_dir():
    env = os.environ.get("AKSMESH_SHARED_DIR")
    base = pathlib.Path(env) if env else REPO.parent / "shared"
    path = base / "istio-upstream"
    return path if path.is_dir() else None


def upstream(*parts):
    """A path below istio-upstream, or None when the shared folder is absent."""
    base = upstream_dir()
    if base is None:
        return None
    path = base.joinpath(*parts)
    return path if path.exists() else None


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CACHE = {}


def load_all(path):
    """All YAML documents of a file (C loader; cached per process: callers must not mutate)."""
    key = str(path)
    if key not in _CACHE:
        with open(path, encoding="utf-8") as fh:
            _CACHE[key] = [doc for doc in yaml.load_all(fh, Loader=_LOADER) if doc]
    return _CACHE[key]


def istio_crds():
    """The real Istio CRDs when shared/ is present, else our small fixture (same kinds we use)."""
    real = upstream("manifests", "charts", "base", "files", "crd-all.gen.yaml")
    if real:
        return load_all(real), True
    from .istio_crds_min import crds
    return crds(), False
