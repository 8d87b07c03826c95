"""Ray's overhead (medians of 3 runs taken in turn): the same work direct on this machine and as chunks on a two-node Ray cluster on loopback
(one CPU per node, so both runs have the machine's two cores).  Target: the Ray run at most 10 % slower.

* depth: 120 frames of a walk at 1024x576, tinydepth, keyframe stabilisation (direct: `estimate_sequence`;
  Ray: `dreamrooms depth --ray`: connecting, the reference pass, 2 chunks, the registration);
* render: 24 frames of a plane room at 320x180, Cycles 32 samples (direct: one headless Blender rendering the
  saved room.blend; Ray: `render_on_cluster`, one headless Blender per chunk).

`python bench/cluster_overhead.py [depth|render]` runs one of the two.

A Ray run has a fixed cost on top of the frames (measured here: ~0.9 s to connect, ~0.4 s for the reference,
~0.3 s to register, ~0.3 s to shut down, plus each task's imports), so the overhead in percent is that cost over
the job's length: small jobs pay more, real ones (minutes per frame) nothing to speak of.
"""
from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests" / "cluster"), str(ROOT / "core")]

from _report import result  # noqa: E402
from ray_nodes import start_cluster  # noqa: E402

TARGET = 1 / 1.10
SIZE = "1024x576"


REPEATS = 3


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def interleaved(direct, ray, reset) -> tuple[float, float]:
    """Median seconds of `direct()` and `ray()` over REPEATS runs taken in turn (`reset()` before each), so
    the load other processes put on the machine falls on both alike."""
    d, r = [], []
    for _ in range(REPEATS):
        reset()
        d.append(timed(direct))
        r.append(timed(ray))
    return statistics.median(d), statistics.median(r)


def bench_depth(cli, estimate_sequence, work: Path, address: str) -> None:
    src = work / "walk"
    assert cli(["walk", "--model", "cppn-walk", "--frames", "120", "--size", SIZE, "--seeds", "3,17,42",
                "--out", str(src)]) == 0
    outs = (work / "d_direct", work / "d_ray")
    direct, ray = interleaved(lambda: estimate_sequence(src, "tinydepth", outs[0]),
                              lambda: cli(["depth", str(src), "--model", "tinydepth", "--out", str(outs[1]), "--ray", address]),
                              lambda: [shutil.rmtree(o, ignore_errors=True) for o in outs])
    result("cluster_depth_120", ray, direct, "direct", "s", TARGET, higher_is_better=False,
           note=f"120 frames {SIZE} tinydepth; Ray: 2 nodes x 1 CPU on loopback, reference + 2 chunks")


def bench_render(cli, headless: Path, work: Path, address: str) -> None:
    from dreamrooms.cluster.stages import render_on_cluster

    one, two = work / "room_direct", work / "room_ray"
    assert cli(["walk", "--model", "cppn-walk", "--frames", "24", "--size", "320x180", "--seeds", "3,17",
                "--out", str(one)]) == 0
    assert cli(["depth", str(one), "--model", "tinydepth", "--out", str(one)]) == 0
    assert cli(["room", str(one), "--layout", "plane", "--move", "dolly", "--samples", "32", "--grid", "160",
                "--no-focus"]) == 0
    base = work / "room_base"
    shutil.copytree(one, base)

    def reset():
        for o in (one, two):
            shutil.rmtree(o, ignore_errors=True)
            shutil.copytree(base, o)

    direct, ray = interleaved(lambda: subprocess.run([sys.executable, str(headless), "render", str(one), "--blend",
                                                      str(one / "room.blend")], check=True, capture_output=True),
                              lambda: render_on_cluster(two, 1, 24, address=address, chunk=None,
                                                        blend=two / "room.blend", headless=headless),
                              reset)
    result("cluster_render_24", ray, direct, "direct", "s", TARGET, higher_is_better=False,
           note="24 frames 320x180 Cycles 32 samples; Ray: 2 nodes x 1 CPU, one Blender per chunk")


def main() -> int:
    from dreamrooms import progress
    from dreamrooms.commands.main import main as cli
    from dreamrooms.commands.room import headless_script
    from dreamrooms.depth.pipeline import estimate_sequence

    progress.set_mode("none")
    only = sys.argv[1] if len(sys.argv) > 1 else None
    work = Path(tempfile.mkdtemp(prefix="drbench"))
    nodes = start_cluster(nodes=2, cpus=1)
    try:
        if only in (None, "depth"):
            bench_depth(cli, estimate_sequence, work, nodes.address)
        if only in (None, "render"):
            bench_render(cli, headless_script(), work, nodes.address)
    finally:
        import ray as _ray

        if _ray.is_initialized():
            _ray.shutdown()
        nodes.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
