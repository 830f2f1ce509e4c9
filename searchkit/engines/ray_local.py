"""A Ray cluster on this machine, listening on loopback only (tests, benchmarks, a laptop).

``python -m searchkit.engines.ray_local start ...`` is Ray's own ``ray start`` with this
machine's address taken to be 127.0.0.1: plain ``ray start --node-ip-address 127.0.0.1``
resolves 127.0.0.1 to the outward address and listens on all interfaces. For a real
cluster, use ``ray start`` with the nodes' own addresses. :class:`LocalCluster` starts a
head and further nodes that way, and stops exactly the processes it started.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


class LocalCluster:
    """``with LocalCluster(nodes=2, log=path) as address:``: a head and ``nodes - 1`` more
    nodes (``cpus`` each) on 127.0.0.1, each ``ray start --block`` in its own process group;
    ``address`` is None when they could not start (the log says why)."""

    def __init__(self, nodes: int = 2, cpus: int = 1, log: Path | None = None,
                 timeout: float = 90):
        self.n, self.cpus, self.timeout = nodes, cpus, timeout
        self.log = open(log or os.devnull, "w")
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.temp = tempfile.mkdtemp(prefix="skray")  # socket paths: < 108 bytes
        self.procs: list[subprocess.Popen] = []

    def _node(self, args: list[str]) -> None:
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "searchkit.engines.ray_local", "start", "--block",
             "--disable-usage-stats", "--num-cpus", str(self.cpus), "--node-ip-address",
             "127.0.0.1", *args], env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True))

    def __enter__(self) -> str | None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        address = f"127.0.0.1:{port}"
        self._node(["--head", "--port", str(port), "--include-dashboard=false",
                    "--temp-dir", self.temp])
        if not self.wait(address, 1):
            return None
        for _ in range(self.n - 1):
            self._node(["--address", address])
        return address if self.wait(address, self.n) else None

    def wait(self, address: str, n: int) -> bool:
        """Until ``n`` nodes are alive (a fresh driver process asks), or the timeout."""
        code = ("import ray, sys\n"
                "from searchkit.engines.ray_ingest import _loopback\n"
                "with _loopback(True):\n"
                f"    ray.init(address={address!r}, log_to_driver=False)\n"
                f"sys.exit(0 if sum(x['Alive'] for x in ray.nodes()) >= {n} else 1)\n")
        end = time.time() + self.timeout
        while time.time() < end and all(p.poll() is None for p in self.procs):
            try:
                if subprocess.run([sys.executable, "-c", code], env=self.env,
                                  capture_output=True, timeout=60).returncode == 0:
                    return True
            except subprocess.TimeoutExpired:
                pass
            time.sleep(2)
        return False

    def listening(self) -> set[tuple[str, int]]:
        """(address, port) of every TCP socket the cluster's processes listen on."""
        import psutil

        groups = {p.pid for p in self.procs}
        out = set()
        for c in psutil.net_connections("inet"):
            try:
                if c.status == psutil.CONN_LISTEN and c.pid and os.getpgid(c.pid) in groups:
                    out.add((c.laddr.ip, c.laddr.port))
            except ProcessLookupError:
                pass
        return out

    def __exit__(self, *exc) -> None:
        for p in reversed(self.procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in reversed(self.procs):
            try:
                p.wait(15)  # a node drains for up to 30 s: nothing to drain here
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.log.close()
        shutil.rmtree(self.temp, ignore_errors=True)


def main() -> None:
    import ray._private.services as services
    from ray.scripts.scripts import main as ray_main

    services.node_ip_address_from_perspective = lambda address=None: "127.0.0.1"
    sys.argv[0] = "ray"
    ray_main()


if __name__ == "__main__":
    main()
