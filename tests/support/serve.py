"""Run the real test cluster and the loopback ARM as a background process (Molecule scenarios use it).

    python -m tests.support.serve start DIR   # daemonize; writes DIR/kubeconfig, DIR/endpoints.json, DIR/pid
    python -m tests.support.serve stop DIR

With ``AKSMESH_DATAPLANE=1`` the cluster also runs its data plane (tests/support/dataplane.py: real Envoy
proxies for the pods, kube-proxy, CoreDNS); ``endpoints.json`` says whether it runs or why not.

The cluster is tests/support/cluster.py (the same start-up code as the pytest fixture and the benchmarks); run
this inside tools/netns-run (make molecule does).
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import sys
import time


def _serve(directory):
    from tests.support.armapi import SUBSCRIPTION, TENANT, ArmServer
    from tests.support.cluster import Cluster

    # a fixed ARM port (AKSMESH_ARM_PORT) lets a Molecule scenario point the Azure SDK at it through env vars
    arm = ArmServer(directory, port=int(os.environ.get("AKSMESH_ARM_PORT", "0"))).start()
    kube = Cluster(directory / "cluster", pip_resolver=arm.pip_address).start()
    kube.install_istio_crds()
    kube.kubeconfig(directory / "kubeconfig")
    arm.add_cluster("rg-demo", "aks-demo", kubeconfig=kube.kubeconfig(), kubernetes_version="1.35.4")
    endpoints = {"kube": kube.url, "kube_ca": kube.ca_path, "arm": arm.url, "arm_ca": arm.ca_path,
                 "subscription_id": SUBSCRIPTION, "tenant": TENANT, "client_id": "app-id", "secret": "app-secret"}
    if os.environ.get("AKSMESH_DATAPLANE") == "1":
        from tests.support import dataplane
        reason = dataplane.unavailable(kube.tools)
        if reason is None:
            kube.dataplane().start()
        endpoints["dataplane"] = reason or "running"
    (directory / "endpoints.json").write_text(json.dumps(endpoints, indent=2))
    (directory / "pid").write_text(str(os.getpid()))

    def finish(*_args):
        kube.stop()
        arm.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, finish)
    while True:
        time.sleep(3600)


def start(directory):
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("pid", "kubeconfig", "endpoints.json"):
        (directory / name).unlink(missing_ok=True)
    if os.fork() == 0:  # child: detach and serve
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        log = os.open(str(directory / "serve.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        try:
            _serve(directory)
        finally:
            os._exit(1)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if (directory / "pid").exists():
            print(json.dumps({"pid": int((directory / "pid").read_text()), "dir": str(directory)}))
            return 0
        time.sleep(0.2)
    sys.stderr.write("the test cluster did not start; see %s\n" % (directory / "serve.log"))
    return 1


def stop(directory):
    pid_file = directory / "pid"
    if not pid_file.exists():
        return 0
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    pid_file.unlink()
    return 0


def main(argv):
    repo = pathlib.Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(repo))
    action, directory = argv[0], pathlib.Path(argv[1]).resolve()
    return {"start": start, "stop": stop}[action](directory)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
