"""Run each istiod pod of the test cluster as a local ``pilot-discovery`` process (a kubelet for istiod only).

kwok makes pods Running without running anything. For istiod that would leave the sidecar injector and the
config validation webhooks unanswered: pods in injected namespaces (and the Helm ``gateway`` chart's pods)
could never be created. So for every Running istiod pod (label ``app=istiod``) this starts the pinned
``pilot-discovery`` with that pod's arguments and environment, out of cluster (``--kubeconfig``), listening on
the pod's IP, which kwok hands out on loopback. The API server resolves the webhook Services to those
endpoints (``--enable-aggregator-routing``), so injection and validation are served by the real istiod: its
own CA, its own webhook certificates and caBundle patching. A pod that goes away stops its process.
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess

from .processes import Reconciler, die_with_parent

PORTS = {"--httpAddr": 8080, "--httpsAddr": 15017, "--grpcAddr": 15010, "--secureGRPCAddr": 15012,
         "--monitoringAddr": 15014}
FIELD_REFS = {"metadata.name": lambda pod: pod["metadata"]["name"],
              "metadata.namespace": lambda pod: pod["metadata"]["namespace"],
              "spec.serviceAccountName": lambda pod: pod["spec"].get("serviceAccountName", "default"),
              "status.podIP": lambda pod: pod["status"].get("podIP", ""),
              "spec.nodeName": lambda pod: pod["spec"].get("nodeName", "")}


def pod_env(pod, container, kubeconfig):
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR")}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        elif "fieldRef" in item.get("valueFrom", {}):
            getter = FIELD_REFS.get(item["valueFrom"]["fieldRef"]["fieldPath"])
            if getter:
                env[item["name"]] = getter(pod)
    env["KUBECONFIG"] = kubeconfig
    # the test data plane is upstream Envoy, without Istio's istio.metadata_exchange and istio.alpn filters:
    # istiod must not send them (a harness setting only; docs/testing.md says what it leaves untested)
    env["PILOT_ENABLE_METADATA_EXCHANGE"] = "false"
    env["PILOT_ENABLE_ALPN_FILTER"] = "false"
    env["GOMAXPROCS"] = "1"
    env["INSTANCE_IP"] = pod["status"]["podIP"]
    return env


def pod_args(container, ip, kubeconfig):
    args = []
    skip = False
    for arg in container.get("args", []):
        if skip:
            skip = False
            continue
        flag = arg.split("=", 1)[0]
        if flag in PORTS:
            skip = "=" not in arg
            continue
        args.append(arg)
    args += [f"{flag}={ip}:{port}" for flag, port in PORTS.items()]
    return args + [f"--kubeconfig={kubeconfig}"]


class IstiodRunner(Reconciler):
    name = "istiod-runner"

    def __init__(self, cluster, binary, kubeconfig):
        super().__init__()
        self.cluster = cluster
        self.binary = str(binary)
        self.kubeconfig = str(kubeconfig)
        self.procs: dict[str, subprocess.Popen] = {}

    def stop(self):
        super().stop()
        for key in list(self.procs):
            self._end(key)

    def _end(self, key):
        proc = self.procs.pop(key)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def reconcile(self):
        status, out = self.cluster.api("GET", "/api/v1/pods", query={"labelSelector": "app%3Distiod"})
        if status != 200:
            return
        wanted = {}
        for pod in out["items"]:
            meta = pod["metadata"]
            if meta.get("deletionTimestamp") or pod.get("status", {}).get("phase") != "Running":
                continue
            if not pod["status"].get("podIP") or not self._container(pod):
                continue
            wanted[f"{meta['namespace']}/{meta['name']}/{meta['uid']}"] = pod
        for key in [k for k in self.procs if k not in wanted]:
            self._end(key)
        for key, pod in wanted.items():
            if key not in self.procs:  # a process that exited stays recorded: its pod is not restarted
                self._launch(key, pod)

    @staticmethod
    def _container(pod):
        """The pilot-discovery container of an istiod pod (args start with "discovery"), else None."""
        for container in pod["spec"]["containers"]:
            if (container.get("args") or [""])[0] == "discovery":
                return container
        return None

    def _launch(self, key, pod):
        container = self._container(pod)
        ip = pod["status"]["podIP"]
        workdir = self.cluster.workdir / "istiod" / "_".join(key.split("/")[:2])
        workdir.mkdir(parents=True, exist_ok=True)
        log = open(workdir / "pilot-discovery.log", "ab")  # noqa: SIM115 - lives as long as the process
        args = pod_args(container, ip, self.kubeconfig)
        proc = subprocess.Popen([self.binary, *args], cwd=workdir, env=pod_env(pod, container, self.kubeconfig),
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=die_with_parent)
        log.close()
        self.procs[key] = proc

    def logs(self):
        base = self.cluster.workdir / "istiod"
        return {p.parent.name: p.read_text(errors="replace") for p in pathlib.Path(base).glob("*/pilot-discovery.log")}
