"""A real Kubernetes control plane on loopback, for tests, Molecule and benchmarks (one start-up module).

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the pinned upstream binaries built by
``tools/build.py``; kwok keeps three fake AKS nodes Ready and moves pods through their lifecycle (no container
runs); a small "cloud provider" loop gives LoadBalancer Services their address the way AKS would from its
annotations. A fault-injecting HTTPS proxy (:mod:`tests.support.faultproxy`) stands in front of the API server:
clients reach the cluster through it, so tests can inject 409/429/500, delays and dropped connections, and
count requests.

Everything listens on 127.0.0.1 and every pod gets a loopback address: run it inside a network namespace that
has only a loopback interface (``tools/netns-run``), so that no packet leaves this machine.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import os
import pathlib
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import trustme
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from . import dataplane, faultproxy, istiod, kwok_stages, netns
from .processes import die_with_parent

REPO = pathlib.Path(__file__).resolve().parents[2]
LOCK = json.loads((REPO / "tools" / "tools.lock.json").read_text())
ISTIO_VERSION = LOCK["tools"]["istio"]["istio_version"]  # what the pinned istioctl and charts report
KUBERNETES_VERSION = LOCK["tools"]["kubernetes"]["version"]
ADMIN_TOKEN = "aksmesh-test-admin-token"  # noqa: S105 - a throwaway token of a loopback test cluster
# users with no permission but what a test binds to them (tests/integration/test_rbac.py): name -> token
USER_TOKENS = {"aksmesh-runner": "aksmesh-test-runner-token", "aksmesh-reader": "aksmesh-test-reader-token"}
SERVICE_CIDR = "10.0.0.0/16"
# Pods, nodes and load balancers get addresses from 198.18.0.0/15 (RFC 2544, for benchmarking tests), which
# tools/netns-run routes as local on the namespace's loopback interface: a call to a pod IP (the API server
# calling istiod's webhooks) is answered on this machine and never leaves it. (Endpoints may not hold
# 127.0.0.0/8 addresses, so plain loopback cannot be used for pods.)
LOCAL_NET = ipaddress.ip_network("198.18.0.0/15")
POD_CIDR = "198.18.0.0/16"
NODE_IP = "198.19.0.1"
ADVERTISE_IP = "198.19.0.2"
LB_POOL = ipaddress.ip_network("198.19.128.0/17")  # dynamic "public" IPs of the loopback cloud provider
NODE_POOL = "nodepool1"
NODE_NAMES = [f"aks-{NODE_POOL}-12345678-vmss00000{i}" for i in range(3)]
# a Standard_D4s_v5 node as AKS reports it (4 vCPU, 16 GiB; allocatable after AKS reservations)
NODE_CAPACITY = {"cpu": "4", "memory": "16374584Ki", "pods": "110", "ephemeral-storage": "129886128Ki"}
NODE_ALLOCATABLE = {"cpu": "3860m", "memory": "13083960Ki", "pods": "110", "ephemeral-storage": "119703055367"}
AKS_IPV4 = "service.beta.kubernetes.io/azure-load-balancer-ipv4"
AKS_PIP_NAME = "service.beta.kubernetes.io/azure-pip-name"
AKS_PIP_RG = "service.beta.kubernetes.io/azure-load-balancer-resource-group"


class ClusterError(RuntimeError):
    pass


def provider_id(index):
    """A node's providerID as AKS sets it (a VM scale set instance)."""
    return (f"azure:///subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/mc_rg-demo_aks-demo_"
            f"westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-{NODE_POOL}-12345678-vmss/"
            f"virtualMachines/{index}")


def tool_paths() -> dict[str, pathlib.Path]:
    """NAME -> path of every pinned tool (tools/build.py --print), without building anything."""
    out = subprocess.run(["python3", str(REPO / "tools/build.py"), "--print"], capture_output=True, text=True,
                         check=True).stdout
    return {k: pathlib.Path(v) for k, v in (line.split("=", 1) for line in out.splitlines() if "=" in line)}


def missing_tools() -> list[str]:
    return [name for name, path in tool_paths().items() if not path.exists()]


def own_network_namespace() -> None:
    """Move this process (a pytest-xdist worker, before it starts any thread or server) into a network namespace
    of its own, set up as tools/netns-run sets up the one it runs in: only loopback, with LOCAL_NET routed on it.
    Each worker's cluster then has the pod, node and load balancer addresses to itself (two clusters in one
    namespace would hand out the same pod IPs, and two istiods would listen on the same address)."""
    netns.unshare_net("unshare(CLONE_NEWNET) for the pytest-xdist worker failed")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "route", "add", "local", str(LOCAL_NET), "dev", "lo"], check=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def local_net_routed() -> bool:
    """True when LOCAL_NET is a local route here (tools/netns-run sets it up)."""
    with socket.socket() as sock:
        try:
            sock.bind((str(LOCAL_NET[77]), 0))
            return True
        except OSError:
            return False


def has_external_route() -> bool:
    """True when this network namespace has an interface other than loopback and the data plane's own veths to
    pod namespaces: the network rule would be broken."""
    try:  # /proc/net/dev is per network namespace (/sys/class/net is not, unless sysfs is remounted)
        lines = pathlib.Path("/proc/net/dev").read_text().splitlines()[2:]
    except OSError:
        return False
    names = [line.split(":")[0].strip() for line in lines]
    if all(name == "lo" for name in names):
        return False
    return bool(netns.foreign_links())


class Cluster:
    """Start with ``Cluster(workdir).start()``; ``stop()`` ends every process."""

    baseline: set = frozenset()

    def __init__(self, workdir, latency=0.0, pip_resolver=None, pod_cidr=POD_CIDR):
        self.workdir = pathlib.Path(workdir)
        # the pod range kwok hands out (inside LOCAL_NET): several clusters in one network namespace (the fleet
        # benchmark) each get a range of their own, so their istiods listen on addresses of their own
        self.pod_cidr = pod_cidr
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.tools = tool_paths()
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.token = ADMIN_TOKEN
        self.pip_resolver = pip_resolver  # (name, resource_group) -> ip, for azure-pip-name (the ARM emulator)
        self._stop = threading.Event()
        self._lb_thread = None
        self.proxy = None
        self._initial_latency = latency
        self.api_port = free_port()
        self._kube_proxy = None
        self._coredns = None
        self.dns_address = None  # CoreDNS's, once it runs
        self.dns_hosts = None  # the hosts file CoreDNS serves (the external stand-ins' names)
        self._dataplane = None
        self.prober = None
        self._local_addresses = set()

    # ---- PKI ----------------------------------------------------------------------------
    def _pki(self):
        pki = self.workdir / "pki"
        pki.mkdir(exist_ok=True)
        self.ca = trustme.CA(organization_name="aksmesh test cluster CA")
        self.ca_path = str(pki / "ca.crt")
        self.ca.cert_pem.write_to_path(self.ca_path)
        serving = self.ca.issue_cert("127.0.0.1", "localhost", "kubernetes", "kubernetes.default",
                                     "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "10.0.0.1",
                                     common_name="kube-apiserver")
        serving.cert_chain_pems[0].write_to_path(str(pki / "apiserver.crt"))
        serving.private_key_pem.write_to_path(str(pki / "apiserver.key"))
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        (pki / "sa.key").write_bytes(private)
        (pki / "sa.pub").write_bytes(public)
        (pki / "tokens.csv").write_text(f'{ADMIN_TOKEN},aksmesh-admin,aksmesh-admin,"system:masters"\n' + "".join(
            f"{token},{user},{user}\n" for user, token in USER_TOKENS.items()))
        return pki

    def issue_client_cert(self, common_name="aksmesh-user", groups=("system:masters",)):
        """A client certificate the API server (and the proxy) accept: (cert_path, key_path)."""
        leaf = self.ca.issue_cert(common_name, common_name=common_name,
                                  organization_name=",".join(groups) if groups else None)
        cert_path = self.workdir / "pki" / f"{common_name}.crt"
        key_path = self.workdir / "pki" / f"{common_name}.key"
        leaf.cert_chain_pems[0].write_to_path(str(cert_path))
        leaf.private_key_pem.write_to_path(str(key_path))
        return str(cert_path), str(key_path)

    # ---- processes ----------------------------------------------------------------------------
    def _spawn(self, name, argv, env=None):
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen([str(a) for a in argv], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env or dict(os.environ), start_new_session=True,
                                preexec_fn=die_with_parent)
        log.close()
        self.procs.append((name, proc))
        return proc

    def _wait_http(self, name, url, ctx=None, headers=None, timeout=120.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for pname, proc in self.procs:
                if proc.poll() is not None:
                    raise ClusterError(f"{pname} exited with {proc.returncode}; see {self.workdir / pname}.log")
            try:
                req = urllib.request.Request(url, headers=headers or {})
                with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:  # noqa: S310 - loopback
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError) as exc:
                last = exc
            time.sleep(0.2)
        raise ClusterError(f"{name} did not become ready at {url}: {last}; see {self.workdir / name}.log")

    def start(self):
        if has_external_route() and not os.environ.get("AKSMESH_ALLOW_NETWORK"):
            raise ClusterError("the test cluster must run in a loopback-only network namespace: run it through "
                               "tools/netns-run (make test does)")
        missing = missing_tools()
        if missing:
            raise ClusterError(f"pinned tools missing: {', '.join(missing)}; run: make tools")
        if not local_net_routed():
            raise ClusterError(f"{LOCAL_NET} is not a local route in this network namespace: run through "
                               "tools/netns-run")
        pki = self._pki()
        data = pathlib.Path(tempfile.mkdtemp(prefix="aksmesh-etcd-", dir="/dev/shm" if os.path.isdir(
            "/dev/shm") else None))
        self._etcd_data = data
        etcd_port, peer_port = free_port(), free_port()
        self._spawn("etcd", [self.tools["etcd"], "--data-dir", data, "--name", "default",
                             "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
                             "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
                             "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
                             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
                             "--initial-cluster", f"default=http://127.0.0.1:{peer_port}",
                             "--unsafe-no-fsync", "--log-level", "warn"])
        self._wait_http("etcd", f"http://127.0.0.1:{etcd_port}/health")
        self._spawn("kube-apiserver", [
            self.tools["kube-apiserver"], f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            f"--secure-port={self.api_port}", "--bind-address=127.0.0.1", f"--advertise-address={ADVERTISE_IP}",
            f"--cert-dir={pki}", f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}", f"--client-ca-file={self.ca_path}",
            f"--token-auth-file={pki / 'tokens.csv'}", "--authorization-mode=RBAC",
            f"--service-account-key-file={pki / 'sa.pub'}", f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--allow-privileged=true",
            # webhook Services resolve to their endpoints (pod IPs on loopback), as on a cluster without kube-proxy
            "--enable-aggregator-routing=true", "--profiling=false", "--v=1"])
        self._direct_ctx = ssl.create_default_context(cafile=self.ca_path)
        self._direct_local = threading.local()  # each thread's kept-alive connection (_direct_connection)
        self.direct_url = f"https://127.0.0.1:{self.api_port}"
        self._wait_http("kube-apiserver", self.direct_url + "/readyz", self._direct_ctx,
                        {"Authorization": f"Bearer {ADMIN_TOKEN}"})
        admin_kubeconfig = self.workdir / "admin.kubeconfig"
        self.kubeconfig(admin_kubeconfig, direct=True)
        self._spawn("kube-controller-manager", [
            self.tools["kube-controller-manager"], f"--kubeconfig={admin_kubeconfig}", "--leader-elect=false",
            f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={self.ca_path}",
            "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route",
            "--bind-address=127.0.0.1", "--secure-port=0", f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--concurrent-namespace-syncs=5", "--v=1"])
        self._spawn("kube-scheduler", [self.tools["kube-scheduler"], f"--kubeconfig={admin_kubeconfig}",
                                       "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0",
                                       "--v=1"])
        self._spawn("kwok", [
            self.tools["kwok"], f"--kubeconfig={admin_kubeconfig}", "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--cidr={self.pod_cidr}", f"--node-ip={NODE_IP}", "--node-lease-duration-seconds=40",
            *[f"--config={stage}" for stage in kwok_stages.write(self.tools["kwok-stages"], self.workdir / "stages")],
            "--v=WARN"])
        self.proxy = faultproxy.FaultProxy(self.workdir, self.direct_url, self.ca, ADMIN_TOKEN).start()
        self.proxy.latency = self._initial_latency
        self.url = self.proxy.url
        self.kubeconfig(self.workdir / "kubeconfig")
        self._create_nodes()
        self._lb_thread = threading.Thread(target=self._lb_loop, name="loopback-cloud-provider", daemon=True)
        self._lb_thread.start()
        self.istiod = istiod.IstiodRunner(self, self.tools["pilot-discovery"], admin_kubeconfig).start()
        self.prober = dataplane.ReadinessProber(self).start()
        self.wait_nodes_ready()
        return self

    # ---- the data plane (tests that need traffic) ----------------------------------------------------
    def dataplane(self):
        """The data-plane runner of this cluster (tests/support/dataplane.py), created on first use."""
        if self._dataplane is None:
            self._dataplane = dataplane.DataPlane(self, NODE_IP, NODE_NAMES, SERVICE_CIDR)
        return self._dataplane

    def active_dataplane(self):
        """The data plane while it runs, else None."""
        plane = self._dataplane
        return plane if plane is not None and plane.active else None

    def start_kube_proxy(self):
        """The pinned kube-proxy (iptables mode) in this namespace, once: ClusterIPs and load balancer
        addresses then reach their endpoints as on a node."""
        if self._kube_proxy is not None and self._kube_proxy.poll() is None:
            return
        self._kube_proxy = self._spawn("kube-proxy", [
            self.tools["kube-proxy"], f"--kubeconfig={self.workdir / 'admin.kubeconfig'}",
            f"--hostname-override={NODE_NAMES[0]}", "--proxy-mode=iptables", f"--cluster-cidr={self.pod_cidr}",
            "--conntrack-max-per-core=0", f"--metrics-bind-address=127.0.0.1:{free_port()}",
            f"--healthz-bind-address=127.0.0.1:{free_port()}", "--iptables-min-sync-period=0s", "--v=1"])

        def synced():
            rules = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True,
                                   check=False).stdout
            return "KUBE-SERVICES" in rules and "default/kubernetes" in rules
        self.wait_for(synced, "kube-proxy to write the Service rules", timeout=60)

    def start_coredns(self):
        """The pinned CoreDNS (AKS's cluster DNS), once, on the address /etc/resolv.conf names, made local in this
        namespace (pods reach it through their default route): ``cluster.local`` from the API server and the
        names of the tests' external stand-ins (``dns_hosts``); nothing is forwarded. Returns its address, or
        None when the resolver is a loopback address, which a pod's namespace cannot reach."""
        if self._coredns is not None and self._coredns.poll() is None:
            return self.dns_address
        server = dataplane.resolver_address()
        if server is None:
            return None
        folder = self.workdir / "coredns"
        folder.mkdir(exist_ok=True)
        self.dns_hosts = folder / "hosts"
        self.dns_hosts.touch()
        corefile = folder / "Corefile"
        corefile.write_text(
            f".:53 {{\n  bind {server}\n  errors\n  hosts {self.dns_hosts} {{\n    reload 1s\n    fallthrough\n  }}\n"
            f"  kubernetes cluster.local in-addr.arpa ip6.arpa {{\n    kubeconfig {self.workdir / 'admin.kubeconfig'}\n"
            "    pods insecure\n    fallthrough in-addr.arpa ip6.arpa\n  }\n}\n")
        netns.add_local_address(server)
        self.dns_address = server
        self._coredns = self._spawn("coredns", [self.tools["coredns"], "-conf", corefile])

        def answers():
            try:
                return socket.gethostbyname("kubernetes.default.svc.cluster.local.") == "10.0.0.1"
            except OSError:
                return False
        self.wait_for(answers, "CoreDNS to answer for cluster.local", timeout=60)
        return server

    def stop(self):
        self._stop.set()
        if self.prober is not None:
            self.prober.stop()
        if self._dataplane is not None:
            self._dataplane.stop()
        for _name, proc in self.procs:  # SIGTERM all at once: each may take a while to shut down
            if proc.poll() is None:
                proc.terminate()
        if getattr(self, "istiod", None):
            self.istiod.stop()
        if self.proxy:
            self.proxy.stop()
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        shutil.rmtree(getattr(self, "_etcd_data", ""), ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- kubeconfig ---------------------------------------------------------------------
    def kubeconfig(self, path=None, context="aksmesh-test", namespace=None, direct=False, user="aksmesh-admin"):
        """A kubeconfig for the admin (token auth), or another ``user`` of USER_TOKENS, through the fault proxy
        unless ``direct``."""
        ca = base64.b64encode(self.ca.cert_pem.bytes()).decode()
        ctx = {"cluster": "aksmesh-test", "user": user}
        if namespace:
            ctx["namespace"] = namespace
        server = self.direct_url if direct else self.url
        cfg = {"apiVersion": "v1", "kind": "Config", "current-context": context, "preferences": {},
               "clusters": [{"name": "aksmesh-test", "cluster": {"server": server,
                                                                 "certificate-authority-data": ca}}],
               "contexts": [{"name": context, "context": ctx}],
               "users": [{"name": user, "user": {"token": self.token if user == "aksmesh-admin" else USER_TOKENS[user]}}]}
        if path:
            pathlib.Path(path).write_text(yaml.safe_dump(cfg))
            os.chmod(path, 0o600)
        return cfg

    # ---- the proxy's log and faults ---------------------------------------------------------
    @property
    def faults(self):
        return self.proxy.faults

    def requests(self, method=None, path=None):
        return self.proxy.requests(method, path)

    def writes(self):
        """Requests that changed something: dry runs and the access reviews a run asks (a POST that creates
        nothing: site.yml's access stage, istioctl's pre-checks) excluded."""
        return [e for e in self.requests() if e.method in ("POST", "PUT", "PATCH", "DELETE")
                and "dryRun=All" not in e.query and not e.path.startswith("/apis/authorization.k8s.io/")]

    def clear_log(self):
        self.proxy.clear_log()

    @property
    def latency(self):
        return self.proxy.latency

    @latency.setter
    def latency(self, value):
        self.proxy.latency = value

    # ---- direct REST (not through the proxy: the harness's own reads do not show in the log) -----------
    def api(self, method, path, body=None, content_type="application/json", query=None):
        """(status, body); 429 (e.g. a new CRD's storage initializing) is retried as its Retry-After says."""
        for _attempt in range(30):
            status, out = self._api_once(method, path, body, content_type, query)
            if status != 429:
                return status, out
            time.sleep(float(((out or {}).get("details") or {}).get("retryAfterSeconds") or 1) / 2)
        return status, out

    def _direct_connection(self, fresh=False):
        """(this thread's kept-alive connection to the API server, whether it served a request before): the
        harness's reads (a snapshot lists every kind after each test, eight threads at a time) reuse one TLS session
        each instead of a handshake per request."""
        conn = getattr(self._direct_local, "conn", None)
        if conn is not None and not fresh:
            return conn, True
        if conn is not None:
            conn.close()
        conn = self._direct_local.conn = http.client.HTTPSConnection("127.0.0.1", self.api_port,
                                                                     context=self._direct_ctx, timeout=30)
        return conn, False

    def _api_once(self, method, path, body, content_type, query):
        target = path + (("?" + "&".join(f"{k}={v}" for k, v in query.items())) if query else "")
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": content_type,
                   "Accept": "application/json"}
        _conn, resp = faultproxy.send(self._direct_connection, method, target, data, headers)
        raw = resp.read()
        if resp.status >= 400:
            try:
                return resp.status, json.loads(raw)
            except ValueError:
                return resp.status, {"message": raw.decode(errors="replace")}
        return resp.status, (json.loads(raw) if raw else None)

    def served(self):
        """What the API server did over the cluster's life, for make test's account of where the time goes:
        ``{"requests": {"<VERB> <resource>[/<subresource>]": count}, "cpu": its CPU seconds}``
        (``apiserver_request_total`` of its metrics, and its process's user and system time)."""
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Accept": "text/plain"}
        _conn, resp = faultproxy.send(self._direct_connection, "GET", "/metrics", None, headers)
        requests = {}
        for line in resp.read().decode(errors="replace").splitlines():
            if not line.startswith("apiserver_request_total{"):
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line[:line.rindex("}")]))
            key = " ".join([labels.get("verb", "?"), labels.get("resource", "?")]) + (
                "/" + labels["subresource"] if labels.get("subresource") else "")
            requests[key] = requests.get(key, 0) + int(float(line.rsplit(" ", 1)[1]))
        cpu = None
        for name, proc in self.procs:
            if name == "kube-apiserver" and proc.poll() is None:
                fields = pathlib.Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return {"requests": requests, "cpu": cpu}

    def ok(self, method, path, body=None, **kwargs):
        status, out = self.api(method, path, body, **kwargs)
        if status >= 400:
            raise ClusterError(f"{method} {path}: {status} {out.get('message') if out else ''}")
        return out

    # ---- discovery-based object access -----------------------------------------------------------
    def resources(self, refresh=False):
        """{(apiVersion, kind): (path prefix, plural, namespaced, verbs)} for every served resource."""
        if getattr(self, "_resources", None) is not None and not refresh:
            return self._resources
        found = {}
        groups = [("", "v1", "/api/v1")]
        for group in self.ok("GET", "/apis")["groups"]:
            for version in group["versions"]:
                groups.append((group["name"], version["version"], f"/apis/{group['name']}/{version['version']}"))
        for group, version, prefix in groups:
            status, doc = self.api("GET", prefix)
            if status != 200:
                continue
            api_version = f"{group}/{version}" if group else version
            for res in doc["resources"]:
                if "/" in res["name"]:
                    continue
                found.setdefault((api_version, res["kind"]), (prefix, res["name"], res["namespaced"],
                                                              tuple(res.get("verbs", ()))))
        self._resources = found
        return found

    def path(self, api_version, kind, namespace=None, name=None):
        key = (api_version, kind)
        if key not in self.resources():
            self.resources(refresh=True)
        prefix, plural, namespaced, _verbs = self.resources()[key]
        path = prefix
        if namespaced and namespace:
            path += f"/namespaces/{namespace}"
        path += f"/{plural}"
        return path + (f"/{name}" if name else "")

    def by_plural(self, group, plural):
        """(apiVersion, kind) of a resource by group and plural, the served version preferred by discovery."""
        for refresh in (False, True):
            for (api_version, kind), (prefix, name, _ns, _verbs) in self.resources(refresh=refresh).items():
                if name == plural and (api_version.rsplit("/", 1)[0] if "/" in api_version else "") == group:
                    return api_version, kind
        raise ClusterError(f"no resource {plural} in group {group!r}")

    def get(self, api_version, kind, namespace=None, name=None):
        """One object (or None), or the items of a list when ``name`` is None."""
        status, out = self.api("GET", self.path(api_version, kind, namespace, name))
        if status == 404:
            return None if name else []
        if status >= 400:
            raise ClusterError(f"GET {kind} {namespace}/{name}: {status} {out}")
        return out if name else out["items"]

    def create(self, obj):
        meta = obj["metadata"]
        return self.ok("POST", self.path(obj["apiVersion"], obj["kind"], meta.get("namespace")), obj)

    def apply(self, obj, manager="aksmesh-test-harness"):
        meta = obj["metadata"]
        return self.ok("PATCH", self.path(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"]),
                       json.dumps(obj).encode(), content_type="application/apply-patch+yaml",
                       query={"fieldManager": manager, "force": "true"})

    def delete(self, api_version, kind, namespace, name):
        status, out = self.api("DELETE", self.path(api_version, kind, namespace, name))
        if status not in (200, 202, 404):
            raise ClusterError(f"DELETE {kind} {namespace}/{name}: {status} {out}")

    def wait_for(self, predicate, what, timeout=60.0, interval=0.2):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what}")

    # ---- nodes ------------------------------------------------------------------------------
    def _create_nodes(self):
        info = {"kubeletVersion": self.version(), "operatingSystem": "linux", "architecture": "amd64",
                "osImage": "Ubuntu 22.04.5 LTS", "containerRuntimeVersion": "containerd://1.7.27-1",
                "kernelVersion": "5.15.0-1089-azure", "kubeProxyVersion": "", "machineID": "", "systemUUID": "",
                "bootID": ""}
        for index, name in enumerate(NODE_NAMES):
            if self.get("v1", "Node", None, name):
                continue
            labels = {"kubernetes.azure.com/agentpool": NODE_POOL, "agentpool": NODE_POOL,
                      "kubernetes.azure.com/mode": "system", "kubernetes.io/os": "linux",
                      "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name,
                      "node.kubernetes.io/instance-type": "Standard_D4s_v5",
                      "beta.kubernetes.io/instance-type": "Standard_D4s_v5",
                      "topology.kubernetes.io/region": "westeurope",
                      "topology.kubernetes.io/zone": f"westeurope-{index + 1}", "type": "kwok"}
            annotations = {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}
            self.create({"apiVersion": "v1", "kind": "Node",
                         "metadata": {"name": name, "labels": labels, "annotations": annotations},
                         "spec": {"providerID": provider_id(index), "podCIDR": self.pod_cidr},
                         "status": {"capacity": NODE_CAPACITY, "allocatable": NODE_ALLOCATABLE, "nodeInfo": info}})

    def version(self):
        return self.ok("GET", "/version")["gitVersion"]

    def wait_nodes_ready(self, timeout=90.0):
        def ready():
            nodes = self.get("v1", "Node")
            ok = [n for n in nodes if any(c["type"] == "Ready" and c["status"] == "True"
                                          for c in n.get("status", {}).get("conditions", []))]
            return len(ok) >= len(NODE_NAMES)
        self.wait_for(ready, "the kwok nodes to be Ready", timeout)

    # ---- the loopback cloud provider ---------------------------------------------------------
    def _lb_address(self, svc):
        ann = svc["metadata"].get("annotations") or {}
        if ann.get(AKS_IPV4):
            return ann[AKS_IPV4]
        if svc["spec"].get("loadBalancerIP"):
            return svc["spec"]["loadBalancerIP"]
        if ann.get(AKS_PIP_NAME):
            if self.pip_resolver is None:
                return None
            return self.pip_resolver(ann[AKS_PIP_NAME], ann.get(AKS_PIP_RG))
        # a dynamic address, stable per Service
        digest = sum(ord(c) for c in f"{svc['metadata']['namespace']}/{svc['metadata']['name']}")
        return str(LB_POOL[256 + digest % 60000])

    def reconcile_load_balancers(self):
        for svc in self.get("v1", "Service"):
            if svc["spec"].get("type") != "LoadBalancer" or svc["metadata"].get("deletionTimestamp"):
                continue
            address = self._lb_address(svc)
            if address:
                self._make_local(address)
            want = [{"ip": address, "ipMode": "VIP"}] if address else []
            have = (svc.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
            if [i.get("ip") for i in have] == [i["ip"] for i in want]:
                continue
            meta = svc["metadata"]
            self.api("PATCH", f"/api/v1/namespaces/{meta['namespace']}/services/{meta['name']}/status",
                     {"status": {"loadBalancer": {"ingress": want or None}}},
                     content_type="application/merge-patch+json")

    def _make_local(self, address):
        """A load balancer address outside LOCAL_NET (a static IP the ARM emulator or the inventory names) is made
        a local address of this namespace, as the pool's are: connections to it reach kube-proxy's rules (with the
        data plane) or are refused; none can leave the machine."""
        try:
            if ipaddress.ip_address(address) in LOCAL_NET or address in self._local_addresses:
                return
        except ValueError:
            return
        subprocess.run(["ip", "route", "replace", "local", f"{address}/32", "dev", "lo"], capture_output=True,
                       check=False)
        self._local_addresses.add(address)

    def _lb_loop(self):
        while not self._stop.wait(0.3):
            try:
                self.reconcile_load_balancers()
            except (ClusterError, OSError, ValueError, KeyError):
                continue

    # ---- Istio CRDs, PATH ---------------------------------------------------------------------
    def kubectl(self, *args, stdin=None, check=True, timeout=120):
        env = dict(os.environ, KUBECONFIG=str(self.workdir / "admin.kubeconfig"),
                   KUBECACHEDIR=str(self.workdir / "kubecache"))
        proc = subprocess.run([str(self.tools["kubectl"]), *args], input=stdin, capture_output=True, text=True,
                              env=env, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)}: exit {proc.returncode}: {proc.stderr.strip()}")
        return proc

    def install_istio_crds(self, keep_baseline=False):
        """The Istio CRDs of the pinned Istio (its base chart's crd-all.gen.yaml), applied server-side as
        ``kubectl apply --server-side -f crd-all.gen.yaml`` does; then the baseline that reset() returns to."""
        self.kubectl("apply", "--server-side", "--field-manager=istio-base", "-f", str(self.tools["istio-crds"]))

        def established():
            crds = [c for c in self.get("apiextensions.k8s.io/v1", "CustomResourceDefinition")
                    if c["spec"]["group"].endswith("istio.io")]
            return crds and all(any(cond["type"] == "Established" and cond["status"] == "True"
                                    for cond in (c.get("status") or {}).get("conditions") or []) for c in crds)
        self.wait_for(established, "the Istio CRDs to be Established")
        self.resources(refresh=True)
        if not keep_baseline:
            self.baseline = self.snapshot()
        return self

    def install_cert_manager_crds(self):
        """The CRDs of the pinned cert-manager (its module's deploy/crds, packaged by tools/build.py), applied
        server-side as ``kubectl apply --server-side -f`` of that folder does (field manager ``cert-manager``).
        They are not part of the baseline: reset() deletes them after the test."""
        return self._install_crds("cert-manager", "cert-manager")

    def install_gateway_api_crds(self):
        """The Kubernetes Gateway API's standard-channel CRDs at the version the pinned Istio requires (with the
        ValidatingAdmissionPolicy of that folder that refuses experimental CRDs over them), applied as
        ``kubectl apply --server-side -f`` of the folder does. Not part of the baseline: reset() deletes them."""
        return self._install_crds("gateway-api", "gateway-api")

    def _install_crds(self, tool, manager):
        folder = self.tools[f"{tool}-crds"]
        names = [doc["metadata"]["name"] for path in sorted(folder.glob("*.yaml"))
                 for doc in yaml.safe_load_all(path.read_text()) if doc and doc["kind"] == "CustomResourceDefinition"]
        # a previous test's reset deletes them without waiting: let those be gone before applying again
        self.wait_crds_gone(names, f"an earlier test's {tool} CRDs")
        self.kubectl("apply", "--server-side", f"--field-manager={manager}", "-f", str(folder))

        def established():
            crds = [self.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, n) for n in names]
            return all(crd and any(cond["type"] == "Established" and cond["status"] == "True"
                                   for cond in (crd.get("status") or {}).get("conditions") or []) for crd in crds)
        self.wait_for(established, f"the {tool} CRDs to be Established")
        self.resources(refresh=True)
        return names

    def remove_istio_crds(self):
        """Delete the Istio CRDs (reset() puts them back), for an install that must create and own them."""
        names = [c["metadata"]["name"] for c in self.get("apiextensions.k8s.io/v1", "CustomResourceDefinition")
                 if c["spec"]["group"].endswith("istio.io")]
        for name in names:
            self.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, name)

        self.wait_crds_gone(names, "the Istio CRDs")
        self.resources(refresh=True)

    def wait_crds_gone(self, names, what, timeout=240):
        """Wait until none of the CRDs ``names`` is left. The API server's CRD finalizer deletes each CRD's objects
        first, through the CRD's storage; when that storage is new (nothing read the kind since the CRD was made)
        its watch cache is still initializing, the finalizer's list fails ("storage is (re)initializing") and is
        retried with exponential backoff: under a loaded make test this took over 90 s. On a timeout the CRDs'
        conditions say where each one stands."""
        def left():
            return [c for c in (self.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, n)
                                for n in names) if c]
        try:
            self.wait_for(lambda: not left(), f"{what} to be deleted", timeout=timeout)
        except ClusterError as exc:
            stuck = {c["metadata"]["name"]: [f"{k['type']}={k['status']}: {k.get('message', '')}"
                                             for k in c.get("status", {}).get("conditions", [])] for c in left()}
            raise ClusterError(f"{exc}; still there: {stuck}") from exc

    # ---- state between tests ---------------------------------------------------------------------
    # kinds the control plane itself writes and rewrites. Node is not one of them: the harness's nodes are in
    # the baseline, and a Node a test applies (upstream analyzer inputs hold two) must go with that test, or
    # a later test on the same worker counts it (test order differs between machines under --dist loadfile).
    _VOLATILE = {"Event", "Lease", "Endpoints", "EndpointSlice", "ControllerRevision", "ComponentStatus",
                 "CertificateSigningRequest", "APIService", "FlowSchema", "PriorityLevelConfiguration", "ServiceCIDR",
                 "IPAddress", "PodMetrics", "NodeMetrics"}

    def _listable(self):
        seen = set()
        for (api_version, kind), (_p, plural, namespaced, verbs) in sorted(self.resources(refresh=True).items()):
            if "list" not in verbs or "delete" not in verbs or kind in self._VOLATILE:
                continue
            if (plural, namespaced) in seen and api_version.endswith(("v1beta1", "v1alpha1", "v1alpha3")):
                continue
            seen.add((plural, namespaced))
            yield api_version, kind, namespaced

    def snapshot(self):
        """Keys of every object of every listable kind (lists run concurrently)."""
        from concurrent.futures import ThreadPoolExecutor

        def keys_of(entry):
            api_version, kind, _namespaced = entry
            return {(api_version, kind, i["metadata"].get("namespace"), i["metadata"]["name"])
                    for i in self.get(api_version, kind)}
        with ThreadPoolExecutor(max_workers=8) as pool:
            return set().union(*pool.map(keys_of, list(self._listable())))

    def _purge_namespaces(self, namespaces):
        """Delete test namespaces quickly: every namespaced collection in them (pods without a grace period),
        then the namespace, then its finalizer (nothing is left for the namespace controller to wait for)."""
        from concurrent.futures import ThreadPoolExecutor
        collections = sorted({(prefix, plural) for (_v, _k), (prefix, plural, namespaced, verbs)
                              in self.resources().items() if namespaced and "deletecollection" in verbs})

        def purge(item):
            name, (prefix, plural) = item
            self.api("DELETE", f"{prefix}/namespaces/{name}/{plural}",
                     query={"gracePeriodSeconds": "0", "propagationPolicy": "Background"})
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(purge, [(n, c) for n in namespaces for c in collections]))
        for name in namespaces:
            self.delete("v1", "Namespace", None, name)
            status, ns = self.api("GET", f"/api/v1/namespaces/{name}")
            if status == 200 and ns["spec"].get("finalizers"):
                ns["spec"]["finalizers"] = []
                self.api("PUT", f"/api/v1/namespaces/{name}/finalize", ns)

    def reset(self, baseline):
        """Delete what was created since ``baseline`` (a snapshot()): namespaces (waiting until they are gone),
        cluster-scoped objects and objects in the namespaces that existed before."""
        self.proxy.faults.clear()
        self.proxy.latency = self._initial_latency
        now = self.snapshot()
        new = now - baseline
        namespaces = [k[3] for k in new if k[1] == "Namespace"]
        for api_version, kind, namespace, name in new:
            if kind == "Namespace" or (namespace and namespace in namespaces):
                continue
            self.delete(api_version, kind, namespace, name)
        if namespaces:
            self._purge_namespaces(namespaces)
        if namespaces:
            self.wait_for(lambda: not any(self.get("v1", "Namespace", None, n) for n in namespaces),
                          f"namespaces {', '.join(sorted(namespaces))} to be deleted", timeout=120)
        crds = {k[3] for k in baseline if k[1] == "CustomResourceDefinition"}
        if crds - {item["metadata"]["name"] for item in self.get("apiextensions.k8s.io/v1",
                                                                 "CustomResourceDefinition")}:
            self.install_istio_crds(keep_baseline=True)  # a test removed them (istioctl uninstall --purge)
        self.proxy.clear_log()
