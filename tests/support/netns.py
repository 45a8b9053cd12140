"""Network namespaces for the test data plane: one per proxied pod, linked to the worker's namespace by a veth.

The worker's namespace (tools/netns-run, or a pytest-xdist worker's own) has only loopback, with
``198.18.0.0/15`` routed as local: every pod IP answers there. A pod that the data plane runs gets a namespace of
its own (held by a ``sleep`` process, so it goes when that process goes), the host end of a veth pair in the
worker's namespace and the other end as the pod's ``eth0`` with the pod IP as a /32. The worker routes that one
address to the veth (a /32 in the ``local`` table wins over the local /15), with the node address as source, as a
kubelet's probes come from the node IP; the pod's default route points back at the worker, which answers its
ARP (proxy ARP) and forwards between pods, to istiod (a local address) and through kube-proxy's rules.
"""

from __future__ import annotations

import ctypes
import json
import os
import pathlib
import subprocess
import threading

from .processes import die_with_parent

CLONE_NEWNET = 0x40000000
_LIBC = ctypes.CDLL(None, use_errno=True)
LINK_PREFIX = "akm"  # host ends of pod veths ("akm<pid>x<n>")


def unshare_net(what="unshare(CLONE_NEWNET)"):
    """Move the calling thread (a process before it starts threads) into a new network namespace."""
    if _LIBC.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), what)


def _unshare_net_and_die_with_parent():
    unshare_net()
    die_with_parent()


def ip(*args, netns_pid=None, check=True):
    argv = ["ip", *args]
    if netns_pid:
        argv = ["nsenter", f"--net=/proc/{netns_pid}/ns/net", *argv]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {proc.stderr.strip()}")
    return proc.stdout


def sysctl(key, value):
    pathlib.Path("/proc/sys", *key.split(".")).write_text(str(value))


def foreign_links() -> list[str]:
    """Links of this namespace that are neither loopback nor the data plane's own (a veth whose peer lives in a
    pod namespace): any other one could reach another machine."""
    out = subprocess.run(["ip", "-d", "-j", "link", "show"], capture_output=True, text=True, check=False).stdout
    bad = []
    for link in json.loads(out or "[]"):
        kind = (link.get("linkinfo") or {}).get("info_kind")
        name = link.get("ifname", "")
        if link.get("link_type") == "loopback":
            continue
        if name.startswith(LINK_PREFIX) and kind == "veth":
            continue
        bad.append(name)
    return bad


def add_local_address(address: str) -> None:
    """``address``/32 on this namespace's loopback (idempotent)."""
    if f" {address}/" not in ip("-4", "addr", "show", "dev", "lo"):
        ip("addr", "add", f"{address}/32", "dev", "lo")


def prepare_worker(node_ip: str, service_cidr: str) -> None:
    """Once per worker namespace: forwarding, the node address on loopback (the source of the harness's own
    connections and of kube-proxy's masquerade), and a route for the Service range on loopback: a socket
    needs a route before kube-proxy's DNAT sees its packets, and a pod's ARP for a ClusterIP is answered (proxy
    ARP) only for an address the worker routes; what no rule rewrites goes nowhere."""
    sysctl("net.ipv4.ip_forward", 1)
    sysctl("net.ipv4.conf.all.rp_filter", 0)
    add_local_address(node_ip)
    if service_cidr not in ip("-4", "route", "show", service_cidr):
        ip("route", "add", service_cidr, "dev", "lo")


class PodNetwork:
    """A pod's own network namespace with its pod IP, linked to this (the worker's) namespace."""

    _counter = 0
    _lock = threading.Lock()

    def __init__(self, pod_ip: str, node_ip: str):
        with PodNetwork._lock:
            PodNetwork._counter += 1
            index = PodNetwork._counter
        self.pod_ip = pod_ip
        self.host_link = f"{LINK_PREFIX}{os.getpid() % 10000}x{index}"[:15]
        self._holder = subprocess.Popen(["sleep", "infinity"], preexec_fn=_unshare_net_and_die_with_parent,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.pid = self._holder.pid
        self.path = f"/proc/{self.pid}/ns/net"
        peer = self.host_link.replace(LINK_PREFIX, "akp", 1)
        try:
            ip("link", "add", self.host_link, "type", "veth", "peer", "name", peer)
            ip("link", "set", peer, "netns", str(self.pid))
            for cmd in (("link", "set", "lo", "up"), ("link", "set", peer, "name", "eth0"),
                        ("addr", "add", f"{pod_ip}/32", "dev", "eth0"), ("link", "set", "eth0", "up"),
                        ("route", "add", "default", "dev", "eth0")):
                ip(*cmd, netns_pid=self.pid)
            ip("link", "set", self.host_link, "up")
            sysctl(f"net.ipv4.conf.{self.host_link}.proxy_arp", 1)
            sysctl(f"net.ipv4.conf.{self.host_link}.rp_filter", 0)
            ip("route", "add", f"{pod_ip}/32", "dev", self.host_link, "src", node_ip, "table", "local")
        except Exception:
            self.close()
            raise

    def run_in(self, func, *args, **kwargs):
        """Call ``func`` in a thread that entered this namespace: sockets it opens belong to the pod (as root,
        so the pod's iptables send them through its sidecar, as an application's connections are)."""
        result = {}

        def body():
            fd = os.open(self.path, os.O_RDONLY)
            try:
                if _LIBC.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {self.path}")
            finally:
                os.close(fd)
            try:
                result["value"] = func(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                result["error"] = exc
        thread = threading.Thread(target=body, name=f"in-pod-{self.pod_ip}", daemon=True)
        thread.start()
        thread.join()
        if "error" in result:
            raise result["error"]
        return result["value"]

    def preexec(self, uid=None, gid=None):
        """A preexec_fn that moves a child into this namespace (and to ``uid``/``gid``) before it execs."""
        path = self.path

        def enter():
            die_with_parent()
            fd = os.open(path, os.O_RDONLY)
            if _LIBC.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {path}")
            os.close(fd)
            if gid is not None:
                os.setgroups([])
                os.setgid(gid)
            if uid is not None:
                os.setuid(uid)
        return enter

    def close(self):
        ip("route", "del", f"{self.pod_ip}/32", "table", "local", check=False)
        if self._holder.poll() is None:
            self._holder.kill()
            self._holder.wait()
        ip("link", "del", self.host_link, check=False)  # usually gone with the namespace already
