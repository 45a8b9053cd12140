"""manifest_cache: what istioctl manifest generate printed, kept by binary, arguments and operator."""

import os
import stat

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import manifest_cache

OPERATOR = "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\n"


def binary(tmp_path, name="istioctl", content="#!/bin/sh\n"):
    path = tmp_path / name
    path.write_text(content)
    return str(path)


class Runs:
    def __init__(self, text="kind: Deployment\n"):
        self.text, self.count = text, 0

    def __call__(self):
        self.count += 1
        return self.text


def test_the_same_binary_arguments_and_operator_run_istioctl_once(tmp_path):
    env = {manifest_cache.CACHE_ENV: str(tmp_path / "cache")}
    run, tool = Runs(), binary(tmp_path)
    assert manifest_cache.generated(tool, ["manifest", "generate"], OPERATOR, run, env) == run.text
    assert manifest_cache.generated(tool, ["manifest", "generate"], OPERATOR, run, env) == run.text
    assert run.count == 1
    kept = os.listdir(tmp_path / "cache")
    assert len(kept) == 1 and stat.S_IMODE(os.stat(tmp_path / "cache" / kept[0]).st_mode) == 0o600


def test_another_operator_flag_or_istioctl_is_another_key(tmp_path):
    env = {manifest_cache.CACHE_ENV: str(tmp_path / "cache")}
    run, tool = Runs(), binary(tmp_path)
    manifest_cache.generated(tool, ["manifest", "generate"], OPERATOR, run, env)
    manifest_cache.generated(tool, ["manifest", "generate"], OPERATOR + "spec: {}\n", run, env)
    manifest_cache.generated(tool, ["manifest", "generate", "--revision", "1-31"], OPERATOR, run, env)
    assert run.count == 3
    os.utime(tool, ns=(1, 1))  # a rebuilt or replaced istioctl
    manifest_cache.generated(tool, ["manifest", "generate"], OPERATOR, run, env)
    assert run.count == 4


def test_off_a_missing_binary_or_an_unwritable_folder_runs_istioctl_every_time(tmp_path):
    run, tool = Runs(), binary(tmp_path)
    for _attempt in range(2):
        manifest_cache.generated(tool, [], OPERATOR, run, {manifest_cache.CACHE_ENV: "off"})
        manifest_cache.generated(str(tmp_path / "absent"), [], OPERATOR, run, {manifest_cache.CACHE_ENV: str(tmp_path)})
        manifest_cache.generated(tool, [], OPERATOR, run, {manifest_cache.CACHE_ENV: tool + "/cache"})  # under a file
    assert run.count == 6


def test_the_oldest_entries_go_past_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(manifest_cache, "MAX_ENTRIES", 2)
    cache = tmp_path / "cache"
    env = {manifest_cache.CACHE_ENV: str(cache)}
    run, tool = Runs(), binary(tmp_path)
    for i in range(3):
        before = set(os.listdir(cache)) if cache.exists() else set()
        manifest_cache.generated(tool, [], OPERATOR + "# %d\n" % i, run, env)
        for name in set(os.listdir(cache)) - before:
            os.utime(cache / name, (1000 + i, 1000 + i))  # written in this order
    assert len(os.listdir(cache)) == 2
    manifest_cache.generated(tool, [], OPERATOR + "# 2\n", run, env)
    assert run.count == 3  # the newest is kept
    manifest_cache.generated(tool, [], OPERATOR + "# 0\n", run, env)
    assert run.count == 4  # the oldest was removed


def test_the_default_folder_is_the_users_cache():
    assert manifest_cache.folder({}) == os.path.expanduser("~/.cache/aksmesh/manifests")
