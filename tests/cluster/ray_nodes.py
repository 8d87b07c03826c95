"""A real Ray cluster of two nodes on this machine (loopback), for the cluster tests and the bench.

`ray start --head` and a second `ray start --address`, one CPU each, in a private --temp-dir; stopped by
killing the processes of these nodes only (found by that temp dir in their command line, plus their
children), never with a bare `ray stop`, which would end every Ray on the machine.
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
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_cli() -> list[str]:
    exe = Path(sys.executable).with_name("ray")
    if exe.is_file():
        return [str(exe)]
    return [sys.executable, "-c", "import sys; from ray.scripts.scripts import main; sys.exit(main())"]


@dataclass
class RayNodes:
    temp: Path
    address: str = ""
    env: dict = field(default_factory=dict)

    def start(self, nodes: int = 2, cpus: int = 1, gpus: int = 0) -> "RayNodes":
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "core"), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
        env["DREAMROOMS_PROGRESS"] = "none"
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        # a loopback test cluster without token auth (Ray 2.60 turns it on once ~/.ray/auth_token exists, which a
        # local ray.init creates; docs.ray.io/en/latest/ray-security/token-auth.html)
        env["RAY_AUTH_MODE"] = "disabled"
        env.pop("RAY_ADDRESS", None)
        self.env = env
        common = ["--num-cpus", str(cpus), "--num-gpus", str(gpus), "--object-store-memory", str(80 * 1024 * 1024),
                  "--temp-dir", str(self.temp), "--disable-usage-stats",
                  "--dashboard-agent-listen-port", "0", "--metrics-export-port", str(_free_port())]
        port = _free_port()
        self._ray("start", "--head", "--port", str(port), "--include-dashboard=false",
                  "--resources", '{"test_node_0": 1}', *common)
        self.address = (self.temp / "ray_current_cluster").read_text().strip() or f"127.0.0.1:{port}"
        for i in range(1, nodes):
            self._ray("start", "--address", self.address, "--resources", f'{{"test_node_{i}": 1}}',
                      *[c for c in common if c != "--disable-usage-stats"])
        return self

    def _ray(self, *args: str) -> None:
        p = subprocess.run(_ray_cli() + list(args), env=self.env, capture_output=True, text=True, timeout=180)
        if p.returncode != 0:
            self.stop()
            raise RuntimeError(f"ray {' '.join(args[:2])} failed: {p.stderr[-2000:]}")

    def pids(self) -> list[int]:
        """Processes of these nodes: command lines naming our temp dir, and their descendants (the workers)."""
        key = str(self.temp).encode()
        parent: dict[int, int] = {}
        ours: set[int] = set()
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                cmd = (d / "cmdline").read_bytes()
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parent[int(d.name)] = ppid
            if key in cmd:
                ours.add(int(d.name))
        grown = True
        while grown:
            grown = False
            for pid, pp in parent.items():
                if pp in ours and pid not in ours and pid != os.getpid():
                    ours.add(pid)
                    grown = True
        ours.discard(os.getpid())
        return sorted(ours)

    def task_pids(self, title: str) -> list[int]:
        """Our cluster's worker processes whose title (Ray sets `ray::NAME` while a task runs) starts with `title`."""
        out = []
        for pid in self.pids():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith(title):
                out.append(pid)
        return out

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            end = time.monotonic() + wait
            while time.monotonic() < end and any(Path(f"/proc/{p}").exists() for p in pids):
                time.sleep(0.1)
        shutil.rmtree(self.temp, ignore_errors=True)


def start_cluster(nodes: int = 2, cpus: int = 1, gpus: int = 0) -> RayNodes:
    """`gpus` are logical: Ray schedules on the number a node declares, whatever hardware it has."""
    # a short temp path: Ray puts Unix sockets under it and socket paths are limited to ~107 bytes
    return RayNodes(Path(tempfile.mkdtemp(prefix="drray", dir="/tmp"))).start(nodes, cpus, gpus)
