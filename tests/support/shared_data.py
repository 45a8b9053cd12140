"""Where the real upstream Istio files live (../shared/istio-upstream), and fallbacks when absent."""

from __future__ import annotations

import os
import pathlib

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"


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


def load_all(path):
    with open(path, encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc]


def istio_crds():
    """The real Istio CRDs when shared/ is present, else our small fixture (same kinds we use)."""
    real = upstream("manifests", "charts", "base", "files", "crd-all.gen.yaml")
    return load_all(real if real else FIXTURES / "istio-crds-min.yaml"), bool(real)
