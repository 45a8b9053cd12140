"""kwok's own stage configurations (copied from the pinned kwok module by tools/build.py), with one change for
pods that run Istio's proxy.

kwok's ``pod-ready`` stage makes a pod Running and Ready in one step. On a node, a pod with an ``istio-proxy``
container (a sidecar or a gateway) becomes Ready only when its readiness probe (``/healthz/ready`` on 15021)
answers: a Deployment's rolling update waits for that before it deletes an old pod, and the Service's endpoints
hold only ready pods. So here those pods become Running with Ready ``False`` (stage ``pod-ready-proxied``), and the
harness's prober (``dataplane.ReadinessProber``) reports their readiness as a kubelet would: from the real proxy's
probe while the data plane runs, at once otherwise.
"""

from __future__ import annotations

import copy
import pathlib
import re

import yaml

PROXY_IN = {"containers": '(.spec.containers // [])[] | select( .name == "istio-proxy" ) | .name',
            "initContainers": '(.spec.initContainers // [])[] | select( .name == "istio-proxy" ) | .name'}


def _not_ready(template: str) -> str:
    for kind in ("Ready", "ContainersReady"):
        template, count = re.subn(r'status: "True"(\n\s*)type: %s\n' % kind, r'status: "False"\1type: %s\n' % kind,
                                  template)
        if count != 1:
            raise ValueError(f"kwok's pod-ready template changed: no {kind} condition to hold back")
    return template


def write(source: pathlib.Path, target: pathlib.Path) -> list[pathlib.Path]:
    """kwok's stage files from ``source`` into ``target``, pod-ready split as described above: the paths."""
    target.mkdir(parents=True, exist_ok=True)
    out = []
    for path in sorted(source.glob("*.yaml")):
        if path.name != "pod-ready.yaml":
            out.append(path)
            continue
        stage = yaml.safe_load(path.read_text())
        plain = copy.deepcopy(stage)
        plain["spec"]["selector"]["matchExpressions"] += [
            {"key": key, "operator": "DoesNotExist"} for key in PROXY_IN.values()]
        docs = [plain]
        for where, key in PROXY_IN.items():  # a proxy in containers; a native sidecar in initContainers only
            proxied = copy.deepcopy(stage)
            proxied["metadata"]["name"] = f"pod-ready-proxied-{where.lower()}"
            proxied["spec"]["selector"]["matchExpressions"].append({"key": key, "operator": "Exists"})
            if where == "initContainers":
                proxied["spec"]["selector"]["matchExpressions"].append(
                    {"key": PROXY_IN["containers"], "operator": "DoesNotExist"})
            proxied["spec"]["next"]["statusTemplate"] = _not_ready(stage["spec"]["next"]["statusTemplate"])
            docs.append(proxied)
        for doc in docs:
            written = target / f"{doc['metadata']['name']}.yaml"
            written.write_text(yaml.safe_dump(doc, sort_keys=False))
            out.append(written)
    return out
