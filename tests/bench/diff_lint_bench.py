"""Benchmark: manifest_diff of two ~10,000-object manifests and mesh_lint of ~10,000 objects,
each against merely parsing the same YAML with PyYAML's C loader (median of N runs)."""

from __future__ import annotations

import argparse
import copy
import pathlib
import statistics
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from tests.support import shared_data  # noqa: E402
from tests.support.ansible_runner import ensure_collection_link  # noqa: E402

sys.path.insert(0, str(ensure_collection_link()))
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import manifest_diff as md  # noqa: E402
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import mesh_lint  # noqa: E402

LOADER = yaml.CSafeLoader
DUMPER = yaml.CSafeDumper


def seed_objects():
    """Real objects: upstream goldens, addons, bookinfo, analyzer inputs (own samples without shared/)."""
    base = shared_data.upstream_dir()
    docs = []
    if base:
        for path in sorted(base.rglob("*.yaml")):
            if "input" in path.parts:
                continue
            try:
                docs += [d for d in shared_data.load_all(path) if isinstance(d, dict) and d.get("kind")
                         and isinstance(d.get("metadata"), dict) and d["metadata"].get("name")]
            except yaml.YAMLError:
                continue
    if not docs:
        from tests.bench.apply_bench import objects
        docs = objects()
    return docs


def build(n):
    seed = seed_objects()
    objs = []
    i = 0
    while len(objs) < n:
        for doc in seed:
            obj = copy.deepcopy(doc)
            obj["metadata"]["name"] = "%s-%d" % (obj["metadata"]["name"], len(objs))
            obj["metadata"]["namespace"] = "ns-%d" % (i % 50)
            objs.append(obj)
            if len(objs) >= n:
                break
        i += 1
    changed = copy.deepcopy(objs)
    for idx, obj in enumerate(changed):
        if idx % 20 == 0:  # 5% changed
            obj["metadata"].setdefault("labels", {})["bench"] = "changed"
    del changed[::97]  # ~1% removed
    changed += [dict(copy.deepcopy(o), metadata=dict(o["metadata"], name=o["metadata"]["name"] + "-new"))
                for o in objs[:100]]  # 100 added
    return objs, changed


def timed(fn, runs):
    values = []
    for _run in range(runs):
        start = time.perf_counter()
        fn()
        values.append(time.perf_counter() - start)
    return statistics.median(values)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    a, b = build(args.objects)
    text_a = yaml.dump_all(a, Dumper=DUMPER)
    text_b = yaml.dump_all(b, Dumper=DUMPER)
    print(f"objects: {len(a)} and {len(b)}; YAML {len(text_a) // 1024} KiB and {len(text_b) // 1024} KiB; "
          f"median of {args.runs} runs")

    def parse_both():
        list(yaml.load_all(text_a, Loader=LOADER))
        list(yaml.load_all(text_b, Loader=LOADER))

    def diff_both():
        result = md.diff(md.load(text_a, "a"), md.load(text_b, "b"))
        return result

    def parse_one():
        list(yaml.load_all(text_a, Loader=LOADER))

    def lint_one():
        mesh_lint.lint([d for d in yaml.load_all(text_a, Loader=LOADER) if d])

    parse2 = timed(parse_both, args.runs)
    diffed = timed(diff_both, args.runs)
    parse1 = timed(parse_one, args.runs)
    linted = timed(lint_one, args.runs)
    result = diff_both()
    print(f"parse both (C loader)   {parse2:8.3f} s")
    print(f"manifest_diff (parse + diff) {diffed:8.3f} s  -> {result['counts']}")
    print(f"parse one (C loader)    {parse1:8.3f} s")
    print(f"mesh_lint (parse + lint) {linted:8.3f} s")
    print(f"RATIO manifest_diff/parse {diffed / parse2:.2f}")
    print(f"RATIO mesh_lint/parse {linted / parse1:.2f}")


if __name__ == "__main__":
    main()
