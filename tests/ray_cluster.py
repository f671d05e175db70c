"""A two-node Ray cluster on this machine, as an operator starts one: `ray start --head`, then
`ray start --address` for a worker, token authentication on, the dashboard off, and health
checks tuned so a lost node is noticed in about a second (Ray's default takes ~16 s).

The nodes' workers import `host` from this checkout (PYTHONPATH), as an install on every
machine would. Everything it started is found by its temp dir and ended by pid; the
machine's other processes are never touched (no `ray stop`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from tests.host_run import free_port

ROOT = Path(__file__).resolve().parent.parent
RAY = str(Path(sys.executable).with_name("ray"))
HEALTH = {  # a node missing 3 checks 200 ms apart is declared dead
    "RAY_health_check_period_ms": "200",
    "RAY_health_check_timeout_ms": "200",
    "RAY_health_check_failure_threshold": "3",
    "RAY_health_check_initial_delay_ms": "0",
}


class RayCluster:
    def __init__(self, token: str, cpus: int = 4) -> None:
        self.token = token
        self.cpus = cpus
        self.temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # socket paths stay short
        self.port = free_port()
        self.client_port = free_port()
        self.env = {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(ROOT),
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": token,
            "RAY_USAGE_STATS_ENABLED": "0",
            **HEALTH,
        }

    @property
    def address(self) -> str:
        """Where `host run --cluster` connects: the head's client server."""
        return f"ray://127.0.0.1:{self.client_port}"

    def start(self) -> RayCluster:
        self._ray(
            "start",
            "--head",
            "--port",
            str(self.port),
            "--ray-client-server-port",
            str(self.client_port),
            "--include-dashboard=false",
            "--temp-dir",
            str(self.temp),
            "--resources",
            json.dumps({"head": 1}),
            *self._node,
        )
        self.add_worker()
        return self

    def add_worker(self) -> None:
        """A worker node (resource "worker"), as `ray start --address` on another machine."""
        self._ray(
            "start",
            "--address",
            f"127.0.0.1:{self.port}",
            "--resources",
            json.dumps({"worker": 1}),
            *self._node,
        )

    @property
    def _node(self) -> list[str]:
        return ["--node-ip-address", "127.0.0.1", "--num-cpus", str(self.cpus)]

    def node_id(self, resource: str) -> str:
        """The id of the live node holding `resource` ("head" or "worker")."""
        import ray

        for node in ray.nodes():
            if node["Alive"] and resource in node["Resources"]:
                return str(node["NodeID"])
        raise LookupError(resource)

    def kill_node(self, node_id: str) -> None:
        """SIGKILL a node's raylet and everything under it: the machine is gone."""
        for raylet in self.processes():
            if f"--node_id={node_id}" in raylet.cmdline():
                _kill([raylet, *raylet.children(recursive=True)])
                return
        raise LookupError(node_id)

    def stop(self) -> None:
        found = self.processes()
        _kill([p for root in found for p in (root, *_children(root))])
        shutil.rmtree(self.temp, ignore_errors=True)

    def processes(self) -> list[psutil.Process]:
        mine = []
        for process in psutil.process_iter(["cmdline"]):
            if str(self.temp) in " ".join(process.info["cmdline"] or []):
                mine.append(process)
        return mine

    def _ray(self, *args: str) -> None:
        done = subprocess.run(
            [RAY, *args], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return list(process.children(recursive=True))
    except psutil.Error:
        return []


def _kill(processes: list[psutil.Process]) -> None:
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(processes, timeout=5)


def wait_for(condition: object, timeout_s: float, what: str) -> float:
    """Poll `condition()` until true; the time it became true."""
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} within {timeout_s:.0f} s"
        time.sleep(0.05)
    return time.time()
