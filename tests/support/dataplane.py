"""The test cluster's data plane: real Envoy proxies, bootstrapped by the pinned pilot-agent, for kwok's pods.

kwok makes pods Running without running anything. For the tests that need traffic (the ``dataplane`` fixture),
this runner does what a kubelet and a container runtime would do for each Running pod on a kwok node that has
an ``istio-proxy`` container (a sidecar, native or not, or a gateway) or an application container with ports:

- a network namespace of its own with the pod IP (:mod:`tests.support.netns`);
- the volumes the pod spec mounts into ``istio-proxy`` (emptyDir, ConfigMap, Secret, downward API, projected
  service-account tokens: a TokenRequest for the pod's service account, bound to the pod), below a pod folder
  that is the working directory of pilot-agent, whose paths are relative (``./var/run/secrets/...``);
- the ``istio-init`` container's own arguments (``pilot-agent istio-iptables ...``: iptables REDIRECT) as
  root inside the pod's namespace, then ``pilot-agent`` with the container's arguments and environment
  (``$(VAR)`` expanded as the kubelet does) as uid 1337, which starts the upstream Envoy;
- an application stand-in (:mod:`tests.support.echo_app`) on each port of each application container.

It also runs the pinned kube-proxy (iptables mode) in the worker's namespace, so ClusterIPs and the load
balancer addresses the loopback cloud provider assigns are reached as on a real cluster.

Differences from a real node, all in the harness and none in what the collection writes (docs/testing.md):
the local istiod runs with ``PILOT_ENABLE_METADATA_EXCHANGE=false`` and ``PILOT_ENABLE_ALPN_FILTER=false``
and a ``Telemetry`` object turns Prometheus metrics off (upstream Envoy lacks Istio's ``istio.*`` extensions);
there is no cluster DNS, so ``discoveryAddress`` is given as istiod's ClusterIP with ``ISTIOD_SAN`` naming
the Service (and ``CA_ADDR`` left to default to it); Envoy's path is given in ``PROXY_CONFIG``
(``binaryPath``), as the proxy image has it at ``/usr/local/bin/envoy``.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import os
import pathlib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from . import netns
from .istiod import FIELD_REFS
from .processes import Reconciler, die_with_parent

REPO = pathlib.Path(__file__).resolve().parents[2]
PROXY_UID = 1337
TERMINATION_GRACE = 6.0  # seconds a deleted pod's processes keep running (capped terminationGracePeriodSeconds)
# seconds between two refreshes of a running pod's ConfigMap and Secret volumes: a kubelet rewrites them when their
# object changes (within its sync period, about a minute), so a proxy that mounted an older istio-ca-root-cert (a
# namespace left from an earlier install, before istiod rewrote it) reads the new root and reconnects
VOLUME_SYNC = 10.0
TELEMETRY_NAME = "aksmesh-test-no-metrics"
APP_ANNOTATION = "aksmesh.test/app"  # "none": no stand-in for this pod's containers
STATUS_ANNOTATION = "aksmesh.test/echo-status"  # every answer of the stand-in has this status
QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
UNITS = {None: 1, "m": 0.001, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 1024, "Mi": 1024 ** 2,
         "Gi": 1024 ** 3, "Ti": 1024 ** 4}


class DataPlaneError(RuntimeError):
    pass


class VolumePending(DataPlaneError):
    """A volume's ConfigMap or Secret does not exist yet: as a kubelet does, the pod waits for it (istiod writes
    istio-ca-root-cert into a new namespace a moment after the namespace appears) rather than failing."""


def unavailable(tools) -> str | None:
    """Why the data plane cannot run here, or None."""
    if os.geteuid() != 0:
        return ("the data plane needs root in its network namespace (per-pod namespaces, iptables REDIRECT, "
                "pilot-agent as uid 1337): run make test as root, as CI does")
    for binary in ("iptables", "iptables-restore", "nsenter"):
        if not shutil.which(binary, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin"):
            return f"{binary} is missing: install Debian's iptables package (make tools does, as root)"
    missing = [n for n in ("envoy", "pilot-agent", "kube-proxy", "coredns", "envoy_bootstrap_tmpl.json")
               if not tools.get(n) or not tools[n].exists()]
    if missing:
        return f"pinned tools missing ({', '.join(missing)}): run make tools"
    return None


def resolver_address() -> str | None:
    """The first nameserver of /etc/resolv.conf (every process here, Envoy's c-ares too, asks it), unless it is a
    loopback address: a pod's own loopback would not lead to the worker's CoreDNS."""
    try:
        lines = pathlib.Path("/etc/resolv.conf").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            address = parts[1]
            return None if address.startswith("127.") or ":" in address else address
    return None


EXTERNAL_NET = "198.19.64."  # addresses of the external stand-ins (local in the worker's namespace)


class External:
    """An "external" service of the tests: an application stand-in in the worker's namespace, outside the mesh,
    on an address of its own that CoreDNS gives for ``host`` (a ServiceEntry with DNS resolution finds it).

    With ``tls`` ({cert, key: PEM bytes, the certificate chain and its key; client_ca: PEM bytes, optional}) it
    serves HTTPS: each request it logs has ``tls``, the server name the client asked for and the TLS version."""

    def __init__(self, plane, host, address, port, tls=None):
        self.host, self.address, self.port = host, address, port
        folder = plane.workdir / f"external_{host}"
        folder.mkdir()
        self.log = folder / "requests.jsonl"
        netns.add_local_address(address)
        serve_tls = []
        if tls:
            (folder / "tls.crt").write_bytes(tls["cert"])
            (folder / "tls.key").write_bytes(tls["key"])
            serve_tls = ["--tls-cert", str(folder / "tls.crt"), "--tls-key", str(folder / "tls.key")]
            if tls.get("client_ca"):
                (folder / "client-ca.crt").write_bytes(tls["client_ca"])
                serve_tls += ["--tls-client-ca", str(folder / "client-ca.crt")]
        with open(folder / "app.log", "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.support.echo_app", "--ports", str(port), "--pod", host, "--namespace",
                 "external", "--log", str(self.log), "--bind", address, *serve_tls], cwd=REPO, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO)}, preexec_fn=die_with_parent)

    def requests_seen(self):
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def quantity(value) -> float:
    match = QUANTITY.match(str(value))
    if not match:
        raise DataPlaneError(f"cannot read the quantity {value!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def expand(text, env):
    """$(VAR) as the kubelet expands it in args and env values; $$ is a literal $."""
    def sub(match):
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", sub, text)


def downward_file(values: dict) -> str:
    """labels/annotations as the kubelet writes a downward API file: key="value" lines, sorted."""
    return "\n".join(f"{k}={json.dumps(v)}" for k, v in sorted((values or {}).items()))


class PodRuntime:
    """What runs for one pod: its network, its proxy, its application stand-ins."""

    def __init__(self, plane, pod):
        self.plane = plane
        self.pod = pod
        meta = pod["metadata"]
        self.namespace, self.name = meta["namespace"], meta["name"]
        self.ip = pod["status"]["podIP"]
        self.root = plane.workdir / f"{self.namespace}_{self.name}"
        self.procs: list[subprocess.Popen] = []
        self.net = None
        self.proxy = proxy_container(pod)
        self.app_ports: list[int] = []
        self.ready_reported = False
        self.deadline = None  # set when the pod is gone and this runtime drains
        # (mount folder, the volume's ConfigMap and Secret part: synced_volume) that refresh_volumes() rewrites
        self.synced: list[tuple[pathlib.Path, dict]] = []

    # ---- start ------------------------------------------------------------------------------------
    def start(self):
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        self.net = netns.PodNetwork(self.ip, self.plane.node_ip)
        self._sysctls()
        if self.proxy:
            env = self._env(self.proxy)
            image = self.root / "var/lib/istio/envoy"  # what the proxy image holds besides the binaries
            image.mkdir(parents=True)
            shutil.copyfile(self.plane.binary("envoy_bootstrap_tmpl.json"), image / "envoy_bootstrap_tmpl.json")
            self._mount_volumes(self.proxy)
            self._run_init(env)
            self._start_proxy(env)
        self._start_apps()

    def _sysctls(self):
        """The pod's namespaced ``net.*`` sysctls, set in its network namespace as the kubelet sets them (the Helm
        gateway chart's ``net.ipv4.ip_unprivileged_port_start: 0`` lets uid 1337 listen on port 80)."""
        wanted = [s for s in (self.pod["spec"].get("securityContext") or {}).get("sysctls") or []
                  if s["name"].startswith("net.")]
        if wanted:
            self.net.run_in(lambda: [netns.sysctl(s["name"], s["value"]) for s in wanted])

    def _env(self, container):
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "TMPDIR")}
        env["HOME"] = str(self.root)
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = expand(item["value"], env)
                continue
            source = item.get("valueFrom") or {}
            if "fieldRef" in source:
                path = source["fieldRef"]["fieldPath"]
                getter = FIELD_REFS.get(path)
                if getter:
                    env[item["name"]] = getter(self.pod)
                elif path == "status.hostIP":
                    env[item["name"]] = self.plane.node_ip
                elif path.startswith(("metadata.labels['", "metadata.annotations['")):
                    field, key = re.match(r"metadata\.(\w+)\['(.+)'\]", path).groups()
                    env[item["name"]] = (self.pod["metadata"].get(field) or {}).get(key, "")
            elif "resourceFieldRef" in source:
                env[item["name"]] = self._resource(container, source["resourceFieldRef"])
        return self.plane.adjust_proxy_env(env)

    def _resource(self, container, ref):
        """requests/limits as the kubelet hands them (limits default to the node's allocatable)."""
        kind, res = ref["resource"].split(".", 1)
        value = ((container.get("resources") or {}).get(kind) or {}).get(res)
        if value is None:
            value = {"cpu": "3860m", "memory": "13083960Ki"}.get(res, "0") if kind == "limits" else "0"
        divisor = quantity(ref.get("divisor") or "1")
        return str(max(int(math.ceil(quantity(value) / divisor)), 1 if res == "cpu" else 0))

    def _mount_volumes(self, container):
        volumes = {v["name"]: v for v in self.pod["spec"].get("volumes", [])}
        for mount in container.get("volumeMounts", []):
            volume = volumes.get(mount["name"])
            target = self.root / mount["mountPath"].lstrip("/")
            target.mkdir(parents=True, exist_ok=True)
            if volume is None:
                continue
            for rel, data in self._volume_files(volume).items():
                path = target / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            synced = None if mount.get("subPath") else synced_volume(volume)
            if synced:
                self.synced.append((target, synced))
        subprocess.run(["chown", "-R", f"{PROXY_UID}:{PROXY_UID}", str(self.root)], check=True)

    def refresh_volumes(self):
        """As a kubelet does for a running pod: the files of its ConfigMap and Secret volumes (whole or projected;
        not a subPath mount, not a token) rewritten, each atomically, where their object changed; what is missing
        now keeps its last content."""
        for target, volume in self.synced:
            try:
                files = self._volume_files(volume)
            except VolumePending:
                continue
            for rel, data in files.items():
                path = target / rel
                if path.is_file() and path.read_bytes() == data:
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                fresh = path.with_name(f".{path.name}.new")
                fresh.write_bytes(data)
                os.chown(fresh, PROXY_UID, PROXY_UID)
                os.replace(fresh, path)

    def _volume_files(self, volume) -> dict[str, bytes]:
        if "emptyDir" in volume:
            return {}
        if "configMap" in volume:
            return self._config_map(volume["configMap"])
        if "secret" in volume:
            return self._secret(volume["secret"])
        if "downwardAPI" in volume:
            return self._downward(volume["downwardAPI"].get("items", []))
        if "projected" in volume:
            files = {}
            for source in volume["projected"].get("sources", []):
                if "serviceAccountToken" in source:
                    sat = source["serviceAccountToken"]
                    files[sat["path"]] = self.plane.token(self.pod, sat.get("audience"),
                                                          sat.get("expirationSeconds", 3600)).encode()
                elif "configMap" in source:
                    files.update(self._config_map(source["configMap"]))
                elif "secret" in source:
                    files.update(self._secret(source["secret"]))
                elif "downwardAPI" in source:
                    files.update(self._downward(source["downwardAPI"].get("items", [])))
            return files
        return {}

    def _keyed(self, data: dict, spec) -> dict[str, bytes]:
        items = spec.get("items")
        if items:
            return {i["path"]: data[i["key"]] for i in items if i["key"] in data}
        return dict(data)

    def _config_map(self, spec):
        obj = self.plane.get("v1", "ConfigMap", self.namespace, spec["name"])
        if obj is None:
            if spec.get("optional"):
                return {}
            raise VolumePending(f"ConfigMap {self.namespace}/{spec['name']} is missing")
        return self._keyed({k: v.encode() for k, v in (obj.get("data") or {}).items()}, spec)

    def _secret(self, spec):
        obj = self.plane.get("v1", "Secret", self.namespace, spec["secretName"] if "secretName" in spec
                             else spec["name"])
        if obj is None:
            if spec.get("optional"):
                return {}
            raise VolumePending(f"Secret {self.namespace}/{spec.get('secretName') or spec.get('name')} is missing")
        return self._keyed({k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}, spec)

    def _downward(self, items):
        files = {}
        for item in items:
            field = (item.get("fieldRef") or {}).get("fieldPath")
            if field in ("metadata.labels", "metadata.annotations"):
                files[item["path"]] = downward_file(self.pod["metadata"].get(field.split(".")[1])).encode()
            elif field in FIELD_REFS:
                files[item["path"]] = FIELD_REFS[field](self.pod).encode()
        return files

    def _log(self, name, uid=None):
        """A log file handed to a child as stdout. Owned by the child's user: Envoy reopens /dev/stdout for its
        access log, which a file of another user refuses."""
        path = self.root / f"{name}.log"
        log = open(path, "ab")  # noqa: SIM115 - handed to a child process
        if uid is not None:
            os.chown(path, uid, uid)
        return log

    def _run_init(self, env):
        """The injected istio-init container (``istio-iptables ...``) as root in the pod's namespace."""
        for init in self.pod["spec"].get("initContainers", []):
            args = init.get("args") or []
            if not args or args[0] != "istio-iptables":
                continue
            argv = [str(self.plane.binary("pilot-agent")), *(expand(a, env) for a in args)]
            with self._log("istio-init") as log:
                proc = subprocess.run(argv, cwd=self.root, env=dict(env, HOME=str(self.root)), stdout=log,
                                      stderr=subprocess.STDOUT, preexec_fn=self.net.preexec(), timeout=60,
                                      check=False)
            if proc.returncode != 0:
                raise DataPlaneError(f"istio-init of {self.namespace}/{self.name} exited {proc.returncode}: "
                                     f"{(self.root / 'istio-init.log').read_text()[-2000:]}")

    def _start_proxy(self, env):
        args = [expand(a, env) for a in self.proxy.get("args") or []]
        uid = ((self.proxy.get("securityContext") or {}).get("runAsUser")) or PROXY_UID
        gid = ((self.proxy.get("securityContext") or {}).get("runAsGroup")) or uid
        with self._log("istio-proxy", uid) as log:
            self.procs.append(subprocess.Popen(
                [str(self.plane.binary("pilot-agent")), *args], cwd=self.root, env=env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=self.net.preexec(uid=uid, gid=gid)))

    def _start_apps(self):
        annotations = self.pod["metadata"].get("annotations") or {}
        if annotations.get(APP_ANNOTATION) == "none":
            return
        for container in self.pod["spec"]["containers"]:
            if container is self.proxy or container["name"] == "istio-proxy":
                continue
            ports = [str(p["containerPort"]) for p in container.get("ports", []) if p.get("protocol", "TCP") == "TCP"]
            if not ports:
                continue
            self.app_ports += [int(p) for p in ports]
            image = container.get("image", "")
            kind = annotations.get(APP_ANNOTATION) or ("productpage" if "productpage" in image else "echo")
            argv = [sys.executable, "-m", "tests.support.echo_app", "--ports", ",".join(ports), "--pod", self.name,
                    "--namespace", self.namespace, "--version",
                    (self.pod["metadata"].get("labels") or {}).get("version", ""),
                    "--log", str(self.root / "requests.jsonl"), "--kind", kind,
                    "--status", annotations.get(STATUS_ANNOTATION, "200")]
            app_env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), "HOME": str(self.root)}
            with self._log(f"app-{container['name']}") as log:  # as root: the stand-in reads this checkout
                self.procs.append(subprocess.Popen(argv, cwd=REPO, env=app_env, stdout=log,
                                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                   start_new_session=True, preexec_fn=self.net.preexec()))

    # ---- run time ---------------------------------------------------------------------------------
    def admin(self, path, port=15000):
        """GET on the proxy's admin (or another local) port, from inside the pod: (status, text)."""
        def get():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                return resp.status, resp.read().decode(errors="replace")
            finally:
                conn.close()
        return self.net.run_in(get)

    def probe_ready(self):
        """The kubelet's readiness probe: the proxy's own ``readinessProbe`` (httpGet, /healthz/ready on 15021 as
        injected) answers 200, and every application stand-in port accepts connections."""
        if self.proxy:
            default = {"path": "/healthz/ready", "port": 15021}
            probe = (self.proxy.get("readinessProbe") or {}).get("httpGet") or default
            try:
                if self.admin(probe.get("path", "/"), port=int(probe["port"]))[0] != 200:
                    return False
            except (OSError, http.client.HTTPException, ValueError):
                return False
        return self.apps_listening()

    def apps_listening(self):
        """True when every application stand-in port accepts connections (inside the pod)."""
        def probe():
            for port in self.app_ports:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                except OSError:
                    return False
            return True
        return self.net.run_in(probe)

    def requests_seen(self):
        """What the application stand-ins of this pod received, in order."""
        path = self.root / "requests.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def logs(self):
        return {p.name: p.read_text(errors="replace") for p in sorted(self.root.glob("*.log"))}

    def problems(self, limit=20):
        """The proxy log's warnings and errors (a NACK names the rejected resource and why), newest last."""
        lines = (self.logs().get("istio-proxy.log") or "").splitlines()
        picked = [line for line in lines if re.search(r"\b(warn|error|critical)\b|rejected", line)
                  and "Envoy proxy is NOT ready" not in line]
        return "\n".join(picked[-limit:])[-6000:]

    def terminate(self, grace):
        """The pod is gone from the API (kwok deletes at once): as a kubelet would, SIGTERM the proxy (pilot-agent
        drains Envoy's listeners for its terminationDrainDuration) and keep the application serving until the
        grace period ends, while the endpoint leaves kube-proxy's rules and the other proxies' EDS."""
        self.deadline = time.monotonic() + grace
        if self.procs and self.proxy and self.procs[0].poll() is None:
            try:
                os.killpg(self.procs[0].pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.net:
            self.net.close()


def proxy_container(pod):
    """The pod's istio-proxy container that runs ``pilot-agent proxy ...`` (a sidecar, native in
    initContainers with restartPolicy Always or a plain container, or a gateway), else None."""
    spec = pod["spec"]
    native = [c for c in spec.get("initContainers", []) if c.get("restartPolicy") == "Always"]
    for container in [*native, *spec.get("containers", [])]:
        if container["name"] == "istio-proxy" and (container.get("args") or [""])[0] == "proxy":
            return container
    return None


def wanted(pod, node_names):
    """True for a pod this data plane runs."""
    meta, spec, status = pod["metadata"], pod["spec"], pod.get("status") or {}
    if meta.get("deletionTimestamp") or status.get("phase") != "Running" or not status.get("podIP"):
        return False
    if spec.get("hostNetwork") or spec.get("nodeName") not in node_names:
        return False
    if (meta.get("labels") or {}).get("app") in ("istiod", "ztunnel"):
        return False  # istiod runs as a local process (tests/support/istiod.py); ambient is not run here
    if proxy_container(pod):
        return True
    return any(c.get("ports") for c in spec.get("containers", []))


def has_proxy_container(pod):
    spec = pod["spec"]
    return any(c["name"] == "istio-proxy" for c in spec.get("containers", []) + spec.get("initContainers", []))


def is_ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def synced_volume(volume):
    """The part of a pod volume a kubelet keeps in step with the API: a ConfigMap or Secret volume, or those
    sources of a projected one (a token is the pod's until it expires; the downward API is left as mounted); None
    when there is none."""
    if "configMap" in volume or "secret" in volume:
        return volume
    sources = [s for s in (volume.get("projected") or {}).get("sources", []) if "configMap" in s or "secret" in s]
    return {"name": volume.get("name"), "projected": {"sources": sources}} if sources else None


class ReadinessProber(Reconciler):
    """The kubelet's readiness reports for pods with an ``istio-proxy`` container, which kwok leaves not Ready
    (tests/support/kwok_stages.py): while the cluster's data plane runs, the data plane reports them from the real
    proxy's probe; otherwise (no proxy runs) they are reported Ready at once, as kwok does for other pods."""

    interval = 0.2
    name = "readiness-prober"

    def __init__(self, cluster):
        super().__init__()
        self.cluster = cluster

    def reconcile(self):
        plane = self.cluster.active_dataplane()
        status, out = self.cluster.api("GET", "/api/v1/pods", query={"fieldSelector": "status.phase%3DRunning"})
        if status != 200:
            return
        for pod in out["items"]:
            if pod["metadata"].get("deletionTimestamp") or is_ready(pod) or not has_proxy_container(pod):
                continue
            if plane is not None and plane.handles(pod):
                continue
            set_ready(self.cluster, pod, True)


def set_ready(cluster, pod, ready):
    """The pod's Ready and ContainersReady conditions, as the kubelet reports its readiness probe: the
    EndpointSlice controller (and so kube-proxy and istiod) send traffic only to a ready pod."""
    meta = pod["metadata"]
    value = "True" if ready else "False"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = {"status": {"conditions": [{"type": t, "status": value, "lastTransitionTime": now}
                                      for t in ("Ready", "ContainersReady")]}}
    cluster.api("PATCH", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status", body,
                content_type="application/strategic-merge-patch+json")


class DataPlane(Reconciler):
    """``DataPlane(cluster).start()`` runs proxies for the pods until ``stop()``."""

    interval = 0.3
    name = "dataplane"

    def __init__(self, cluster, node_ip, node_names, service_cidr):
        super().__init__()
        self.cluster = cluster
        self.tools = cluster.tools
        self.node_ip = node_ip
        self.node_names = set(node_names)
        self.service_cidr = service_cidr
        self.workdir = None  # made by start(): see _stage()
        self.bin = None
        self.pods: dict[str, PodRuntime] = {}
        self.terminating: list[PodRuntime] = []
        self.externals: list[External] = []
        self.dns = None  # CoreDNS's address, when it runs
        self.failed: dict[str, str] = {}
        self.pending: dict[str, str] = {}  # pods whose volumes wait for a ConfigMap or Secret: which, and why
        self._lock = threading.Lock()
        self._volumes_synced = time.monotonic()

    # ---- cluster access ---------------------------------------------------------------------------
    def get(self, api_version, kind, namespace, name):
        return self.cluster.get(api_version, kind, namespace, name)

    def token(self, pod, audience, seconds):
        meta = pod["metadata"]
        sa = pod["spec"].get("serviceAccountName") or "default"
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {
            "audiences": [audience] if audience else [], "expirationSeconds": max(int(seconds), 600),
            "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": meta["name"], "uid": meta["uid"]}}}
        out = self.cluster.ok("POST", f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{sa}/token", body)
        return out["status"]["token"]

    def resolve(self, host):
        """``<svc>.<ns>.svc[.cluster.local]`` to the Service's ClusterIP: the harness's stand-in for cluster
        DNS, for pilot-agent's discovery address."""
        parts = host.split(".")
        if len(parts) < 3 or parts[2] != "svc":
            return host
        svc = self.get("v1", "Service", parts[1], parts[0])
        if not svc or not svc["spec"].get("clusterIP"):
            raise DataPlaneError(f"no Service {parts[1]}/{parts[0]} for {host}")
        return svc["spec"]["clusterIP"]

    def adjust_proxy_env(self, env):
        """The harness's only changes to a proxy's environment (see the module docstring). The discovery address
        is PROXY_CONFIG's, else CA_ADDR's (the istioctl gateways carry CA_ADDR and take the discovery address
        from the revision's mesh config), else Istio's default."""
        config = json.loads(env.get("PROXY_CONFIG") or "{}")
        address = config.get("discoveryAddress") or env.get("CA_ADDR") or "istiod.istio-system.svc:15012"
        host, port = address.rsplit(":", 1)
        config["discoveryAddress"] = f"{self.resolve(host)}:{port}"
        config["binaryPath"] = self.binary("envoy")
        env["PROXY_CONFIG"] = json.dumps(config)
        env.setdefault("ISTIOD_SAN", host)
        if env.get("CA_ADDR") == address:
            del env["CA_ADDR"]  # defaults to the discovery address, verified against ISTIOD_SAN
        return env

    # ---- lifecycle --------------------------------------------------------------------------------
    def start(self):
        netns.prepare_worker(self.node_ip, self.service_cidr)
        self.cluster.start_kube_proxy()
        self.dns = self.cluster.start_coredns()
        self._stage()
        self.failed.clear()
        self.pending.clear()
        return super().start()

    def _stage(self):
        """Proxies run as uid 1337, which cannot read the tools cache or pytest's folders (both private to
        root): pilot-agent, Envoy and the bootstrap template are linked (or copied) into a folder of this data
        plane that every user may read, and the pods' folders are made there. It is removed by stop()."""
        if self.workdir is not None:
            return
        self.workdir = pathlib.Path(tempfile.mkdtemp(prefix="aksmesh-dataplane-"))
        self.workdir.chmod(0o755)
        self.bin = self.workdir / "bin"
        self.bin.mkdir(mode=0o755)
        for name in ("pilot-agent", "envoy", "envoy_bootstrap_tmpl.json"):
            source = pathlib.Path(self.tools[name]).resolve()
            try:
                os.link(source, self.bin / name)
            except OSError:
                shutil.copy2(source, self.bin / name)
            (self.bin / name).chmod(0o755 if name != "envoy_bootstrap_tmpl.json" else 0o644)

    def binary(self, name):
        return str(self.bin / name)

    def stop(self):
        super().stop()
        if self._thread:
            self._thread.join(timeout=30)
        with self._lock:
            for key in list(self.pods):
                self.pods.pop(key).stop()
            while self.terminating:
                self.terminating.pop().stop()
        while self.externals:
            self.externals.pop().stop()
        if self.cluster.dns_hosts is not None:
            self.cluster.dns_hosts.write_text("")
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def reconcile(self):
        self._ensure_telemetry()
        status, out = self.cluster.api("GET", "/api/v1/pods")
        if status != 200:
            return
        want = {f"{p['metadata']['namespace']}/{p['metadata']['name']}/{p['metadata']['uid']}": p
                for p in out["items"] if wanted(p, self.node_names)}
        with self._lock:
            for key in [k for k in self.pending if k not in want]:
                del self.pending[key]
            for key in [k for k in self.pods if k not in want]:
                runtime = self.pods.pop(key)
                runtime.terminate(min(float(runtime.pod["spec"].get("terminationGracePeriodSeconds", 30)),
                                      TERMINATION_GRACE))
                self.terminating.append(runtime)
            for runtime in [r for r in self.terminating if time.monotonic() > r.deadline]:
                self.terminating.remove(runtime)
                runtime.stop()
            for key, pod in want.items():
                if key in self.pods or key in self.failed or self._stop.is_set():
                    continue
                for old in [r for r in self.terminating if r.ip == pod["status"]["podIP"]]:
                    self.terminating.remove(old)  # kwok handed its address to a new pod: its grace ends now
                    old.stop()
                if not has_proxy_container(pod):  # kwok marked it Ready at once (it holds proxied pods back)
                    self._set_ready(pod, False)
                runtime = PodRuntime(self, pod)
                try:
                    runtime.start()
                except VolumePending as exc:  # tried again on the next pass, as a kubelet retries the mount
                    runtime.stop()
                    self.pending[key] = str(exc)
                    continue
                except (DataPlaneError, OSError, RuntimeError, subprocess.SubprocessError) as exc:
                    runtime.stop()
                    self.failed[key] = str(exc)
                    continue
                self.pending.pop(key, None)
                self.pods[key] = runtime
            for runtime in self.pods.values():
                if not runtime.ready_reported and runtime.probe_ready():
                    self._set_ready(runtime.pod, True)
                    runtime.ready_reported = True
            if time.monotonic() - self._volumes_synced >= VOLUME_SYNC:
                self._volumes_synced = time.monotonic()
                for runtime in self.pods.values():
                    runtime.refresh_volumes()  # a failure (the API server busy): tried again at the next sync

    def _set_ready(self, pod, ready):
        set_ready(self.cluster, pod, ready)

    @property
    def active(self):
        return self.running

    def handles(self, pod):
        """True for a pod this data plane runs (or will run): its readiness is the proxy's to report."""
        key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}/{pod['metadata']['uid']}"
        return wanted(pod, self.node_names) and key not in self.failed

    def _ensure_telemetry(self):
        """Prometheus metrics off in each istiod's root namespace (upstream Envoy lacks istio.stats)."""
        try:
            api_version, kind = self.cluster.by_plural("telemetry.istio.io", "telemetries")
        except Exception:  # noqa: BLE001 - no Istio CRDs (yet)
            return
        status, out = self.cluster.api("GET", "/api/v1/pods", query={"labelSelector": "app%3Distiod"})
        namespaces = {p["metadata"]["namespace"] for p in (out or {}).get("items", [])} if status == 200 else set()
        for namespace in namespaces:
            if self.get(api_version, kind, namespace, TELEMETRY_NAME) is None:
                self.cluster.apply({"apiVersion": api_version, "kind": kind,
                                    "metadata": {"name": TELEMETRY_NAME, "namespace": namespace},
                                    "spec": {"metrics": [{"providers": [{"name": "prometheus"}],
                                                          "overrides": [{"disabled": True}]}]}},
                                   manager="aksmesh-test-dataplane")

    # ---- for tests --------------------------------------------------------------------------------
    def external(self, host, port=80, tls=None):
        """Start an external stand-in for ``host`` (see External; HTTPS with ``tls``) and wait until CoreDNS
        answers its name."""
        if self.dns is None:
            raise DataPlaneError("no cluster DNS here: /etc/resolv.conf names a loopback resolver, which a pod "
                                 "cannot reach, so names of external hosts cannot be resolved by the proxies")
        address = f"{EXTERNAL_NET}{10 + len(self.externals)}"
        ext = External(self, host, address, port, tls)
        self.externals.append(ext)
        with open(self.cluster.dns_hosts, "a", encoding="utf-8") as fh:
            fh.write(f"{address} {host}\n")

        def ready():
            try:
                if socket.gethostbyname(host + ".") != address:
                    return False
                socket.create_connection((address, port), timeout=1).close()
                return True
            except OSError:
                return False
        self.cluster.wait_for(ready, f"CoreDNS and the stand-in to answer for {host}", timeout=30)
        return ext

    def pod(self, namespace, name_or_prefix, timeout=60.0):
        """The runtime of a pod (by name, or the first whose name starts with the prefix), once started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for key, runtime in self.pods.items():
                    if runtime.namespace == namespace and (runtime.name == name_or_prefix or
                                                           runtime.name.startswith(name_or_prefix)):
                        return runtime
                failed = [f"{k}: {v}" for k, v in self.failed.items() if k.startswith(f"{namespace}/")]
            if failed:
                raise DataPlaneError("; ".join(failed))
            time.sleep(0.2)
        with self._lock:
            pending = [f"{k}: {v}" for k, v in self.pending.items() if k.startswith(f"{namespace}/")]
        raise DataPlaneError(f"no pod {namespace}/{name_or_prefix}* is run by the data plane"
                             + (f" (waiting for volumes: {'; '.join(pending)})" if pending else ""))

    def runtimes(self, namespace=None):
        with self._lock:
            return [r for r in self.pods.values() if namespace is None or r.namespace == namespace]

    def wait_proxy_ready(self, runtime, listeners=(), timeout=90.0):
        """Ready as a test can trust it: pilot-agent's /healthz/ready answers 200, Envoy rejected no cluster
        or listener update (``cds``/``lds`` ``update_rejected`` 0: a NACK leaves readiness on), and every
        listener named in ``listeners`` (names or ``address:port`` substrings) is configured."""
        deadline = time.monotonic() + timeout
        last = "not started"
        while time.monotonic() < deadline:
            try:
                status = runtime.admin("/healthz/ready", port=15020)[0]
                if status == 200:
                    stats = runtime.admin("/stats?filter=update_rejected")[1]
                    rejected = {k: int(v) for k, v in (line.split(": ") for line in stats.splitlines()
                                                       if ": " in line) if v.strip().isdigit()}
                    managers = ("cluster_manager", "listener_manager")
                    bad = {k: v for k, v in rejected.items() if v and k.split(".")[0] in managers}
                    if bad:
                        raise DataPlaneError(f"Envoy of {runtime.namespace}/{runtime.name} rejected config: {bad}"
                                             f"\n{runtime.problems()}")
                    names = runtime.admin("/listeners")[1]
                    missing = [want for want in listeners if want not in names]
                    if not missing:
                        return runtime
                    last = f"listeners {missing} not configured (have {names.split()})"
                else:
                    last = f"/healthz/ready answered {status}"
            except (OSError, http.client.HTTPException) as exc:
                last = str(exc)
            time.sleep(0.3)
        raise DataPlaneError(f"proxy of {runtime.namespace}/{runtime.name} not ready after {timeout:.0f} s: {last}"
                             f"\n{runtime.problems()}")

    def wait_ready(self, namespace, timeout=90.0):
        """Every data-plane pod of a namespace (per the API) started and, if proxied, ready."""
        deadline = time.monotonic() + timeout

        def pods():
            return [p for p in self.cluster.get("v1", "Pod", namespace) if wanted(p, self.node_names)]
        self.cluster.wait_for(pods, f"pods in {namespace}", timeout)
        for pod in pods():
            runtime = self.pod(namespace, pod["metadata"]["name"], max(deadline - time.monotonic(), 1))
            if runtime.proxy:
                self.wait_proxy_ready(runtime, timeout=max(deadline - time.monotonic(), 1))
            self.cluster.wait_for(runtime.apps_listening, f"the application of {namespace}/{runtime.name} to "
                                  "listen", timeout=max(deadline - time.monotonic(), 1), interval=0.1)
        return self.runtimes(namespace)

    def logs(self):
        return {f"{r.namespace}/{r.name}": r.logs() for r in self.runtimes()}


def http_request(host, port, path="/", method="GET", headers=None, body=None, timeout=10.0, source=None):
    """One HTTP request: (status, headers dict, body text); connection failures raise OSError."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout, source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode(errors="replace")
    finally:
        conn.close()


class _SNIConnection(http.client.HTTPSConnection):
    """HTTPS to an address with another name for SNI and certificate verification (a load balancer IP serving
    a host name), as ``curl --resolve`` does."""

    def __init__(self, address, port, server_name, **kwargs):
        super().__init__(address, port, **kwargs)
        self.server_name = server_name

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout, self.source_address)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.server_name)


def https_request(address, port, server_name, path="/", cafile=None, headers=None, timeout=10.0, source=None):
    """One HTTPS request to ``address`` for ``server_name``, verified against ``cafile``: (status, headers, body,
    the peer certificate's subjectAltName)."""
    context = ssl.create_default_context(cafile=cafile)
    conn = _SNIConnection(address, port, server_name, timeout=timeout, context=context,
                          source_address=(source, 0) if source else None)
    try:
        conn.request("GET", path, headers=dict({"Host": server_name}, **(headers or {})))
        # read before the answer: a server that closes after it ("connection: close") takes the socket with it
        san = conn.sock.getpeercert().get("subjectAltName", ())
        resp = conn.getresponse()
        return (resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode(errors="replace"),
                san)
    finally:
        conn.close()


def connect_refused(host, port, timeout=3.0, source=None):
    """True when a TCP connection is refused or reset before any HTTP answer."""
    try:
        with socket.create_connection((host, port), timeout=timeout,
                                      source_address=(source, 0) if source else None) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = sock.recv(1024)
            return not data
    except (ConnectionRefusedError, ConnectionResetError):
        return True


__all__ = ["DataPlane", "DataPlaneError", "PodRuntime", "connect_refused", "http_request",
           "https_request", "unavailable"]
