"""Run the loopback Kubernetes API and ARM as a background process (for Molecule and `make demo`-style use).

    python -m tests.support.serve start DIR   # daemonize; writes DIR/kubeconfig, DIR/endpoints.json, DIR/pid
    python -m tests.support.serve stop DIR

The servers keep their state in memory for as long as the process lives.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import sys
import time


def _serve(directory):
    from tests.support import shared_data
    from tests.support.armapi import SUBSCRIPTION, TENANT, ArmServer
    from tests.support.kubeapi import KubeApiServer

    kube = KubeApiServer(directory).start()
    kube.state.load_crds(shared_data.istio_crds()[0])
    kube.kubeconfig(directory / "kubeconfig")
    # a fixed ARM port (AKSMESH_ARM_PORT) lets a Molecule scenario point the Azure SDK at it through env vars
    arm = ArmServer(directory, port=int(os.environ.get("AKSMESH_ARM_PORT", "0"))).start()
    arm.add_cluster("rg-demo", "aks-demo", kubeconfig=kube.kubeconfig())
    endpoints = {"kube": kube.url, "kube_ca": kube.ca_path, "arm": arm.url, "arm_ca": arm.ca_path,
                 "subscription_id": SUBSCRIPTION, "tenant": TENANT, "client_id": "app-id", "secret": "app-secret"}
    (directory / "endpoints.json").write_text(json.dumps(endpoints, indent=2))
    (directory / "pid").write_text(str(os.getpid()))
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))
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
        _serve(directory)
        os._exit(0)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (directory / "pid").exists():
            print(json.dumps({"pid": int((directory / "pid").read_text()), "dir": str(directory)}))
            return 0
        time.sleep(0.1)
    sys.stderr.write("loopback servers did not start; see %s\n" % (directory / "serve.log"))
    return 1


def stop(directory):
    pid_file = directory / "pid"
    if not pid_file.exists():
        return 0
    try:
        os.kill(int(pid_file.read_text()), signal.SIGTERM)
    except ProcessLookupError:
        pass
    pid_file.unlink()
    return 0


def main(argv):
    repo = pathlib.Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(repo))
    action, directory = argv[0], pathlib.Path(argv[1]).resolve()
    return {"start": start, "stop": stop}[action](directory)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
