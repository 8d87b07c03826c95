"""Ray's overhead: the same work direct on this machine and as chunks on a two-node Ray cluster on loopback
(one CPU per node, so both runs have the machine's two cores).  Target: the Ray run at most 10 % slower.

* depth: 120 frames of a 256x144 walk, tinydepth, keyframe stabilisation (direct: `estimate_sequence`;
  Ray: `dreamrooms depth --ray`, including the reference pass and the registration);
* render: 24 frames of a plane room at 256x144, Cycles 16 samples (direct: one headless Blender rendering the
  saved room.blend; Ray: `render_on_cluster`, one headless Blender per chunk).
"""
from __future__ import annotations

import shutil
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


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> int:
    from dreamrooms import progress
    from dreamrooms.commands.main import main as cli
    from dreamrooms.commands.room import headless_script
    from dreamrooms.depth.pipeline import estimate_sequence

    progress.set_mode("none")
    work = Path(tempfile.mkdtemp(prefix="drbench"))
    nodes = start_cluster(nodes=2, cpus=1)
    try:
        src = work / "walk"
        assert cli(["walk", "--model", "cppn-walk", "--frames", "120", "--size", "256x144", "--seeds", "3,17,42",
                    "--out", str(src)]) == 0
        direct = timed(lambda: estimate_sequence(src, "tinydepth", work / "d_direct"))
        ray = timed(lambda: cli(["depth", str(src), "--model", "tinydepth", "--out", str(work / "d_ray"),
                                 "--ray", nodes.address]))
        result("cluster_depth_120", ray, direct, "direct", "s", TARGET, higher_is_better=False,
               note="120 frames 256x144 tinydepth; Ray: 2 nodes x 1 CPU on loopback, reference + 2 chunks")

        shot = work / "room"
        shutil.copytree(work / "d_direct", shot)
        assert cli(["room", str(shot), "--layout", "plane", "--move", "dolly", "--frames", "1-24", "--samples", "16",
                    "--grid", "64", "--no-focus"]) == 0
        blend = shot / "room.blend"
        headless = headless_script()
        direct = timed(lambda: subprocess.run([sys.executable, str(headless), "render", str(shot), "--frames", "1-24",
                                               "--blend", str(blend)], check=True, capture_output=True))
        shutil.rmtree(shot / "render")
        from dreamrooms.cluster.stages import render_on_cluster

        ray = timed(lambda: render_on_cluster(shot, 1, 24, address=nodes.address, chunk=None, blend=blend,
                                              headless=headless))
        result("cluster_render_24", ray, direct, "direct", "s", TARGET, higher_is_better=False,
               note="24 frames 256x144 Cycles 16 samples; Ray: 2 nodes x 1 CPU, one Blender per chunk")
    finally:
        import ray as _ray

        if _ray.is_initialized():
            _ray.shutdown()
        nodes.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
