"""Changes of a kind, from a watch of the API server: the harness's kubelet-like loops (the readiness prober, the
data plane, the loopback cloud provider) list every pod or Service only when one changed (or every FULL_PASS
seconds), as an informer would, instead of listing them every few tenths of a second. Those lists, of every pod of
the cluster five times a second, were most of an idle test cluster's API server CPU and of the harness's own."""

from __future__ import annotations

import http.client
import json
import threading
import time

# the longest a loop goes without a full pass, whatever the watch says: what changes without an event of the kind
# (an address the ARM emulator assigns later, a proxy's probe, a pending volume) is seen within this
FULL_PASS = 2.0


class Changes:
    """``Changes(cluster, "/api/v1/pods").start()``: ``generation`` grows with each event of the list at that path
    (ADDED, MODIFIED, DELETED; and once for each (re)start of the watch, which may have missed some)."""

    def __init__(self, cluster, path, token):
        self.cluster = cluster
        self.path = path
        self.token = token
        self.generation = 1
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, name=f"watch {self.path}", daemon=True)
        self._thread.start()
        return self

    def _run(self):
        version = None
        while not self.cluster._stop.is_set():
            try:
                if version is None:
                    status, out = self.cluster.api("GET", self.path, query={"limit": "1"})
                    if status != 200:
                        time.sleep(0.5)
                        continue
                    version = out["metadata"]["resourceVersion"]
                    self.generation += 1  # events before this version may have been missed
                version = self._stream(version)
            except Exception:  # noqa: BLE001 - the API server restarting or stopped: list again
                version = None
                time.sleep(0.2)

    def _stream(self, version):
        """Follow the watch from ``version`` until the server ends it; the version to go on from, or None to list
        again (the version is too old: 410 Gone)."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.cluster.api_port, context=self.cluster._direct_ctx,
                                           timeout=90)
        try:
            conn.request("GET", f"{self.path}?watch=1&allowWatchBookmarks=true&timeoutSeconds=60"
                                f"&resourceVersion={version}",
                         headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"})
            resp = conn.getresponse()
            if resp.status != 200:
                return None
            while not self.cluster._stop.is_set():
                line = resp.readline()
                if not line:
                    return version  # the server's timeout: watch again from the last version seen
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    return None
                version = event["object"]["metadata"]["resourceVersion"]
                if event["type"] != "BOOKMARK":
                    self.generation += 1
            return version
        finally:
            conn.close()


class Gate:
    """For one loop: whether a full pass is due (the watched kind changed since the last one, or FULL_PASS seconds
    went by, or ``busy`` says the loop has work of its own in flight)."""

    def __init__(self, changes):
        self.changes = changes
        self._seen = None
        self._last = 0.0

    def due(self, busy=False):
        generation, now = self.changes.generation, time.monotonic()
        if not busy and generation == self._seen and now - self._last < FULL_PASS:
            return False
        self._seen, self._last = generation, now  # taken before the pass: an event during it means another
        return True
