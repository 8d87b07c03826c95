"""EXR codecs at 1080p: write time and size per codec for a frame as the stages write it (RGBA half + depth.Z float),
with dreamrooms.shot.exr.write_frame on OpenEXR's codec pool (as many threads as cores).

Codecs: none, ZIP, ZIPS, PIZ, and DWAA for colour only (write_frame puts depth in a ZIP part of the same file).
Each row: frames/s of the codec against uncompressed writes (ratio = ours / none, higher is better), size in the
note; only the default's row has a target (0.25x), the others are there to compare.  The default (exr.DEFAULT_COMPRESSION) is the lossless codec with the best frames/s among those that at
least halve the file; the last row says which that is in this run.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _report import result  # noqa: E402
from dreamrooms.shot import exr  # noqa: E402
from exr_write import frame_data  # noqa: E402

CODECS = ("none", "zip", "zips", "piz", "dwaa")
N = 6


def measure(out: Path, frames, codec: str) -> tuple[float, float]:
    """Median seconds per frame written and mean bytes per file."""
    times, sizes = [], []
    for i, (rgba, depth) in enumerate(frames):
        p = out / f"{codec}.{i:04d}.exr"
        t = time.perf_counter()
        exr.write_frame(p, {"RGBA": rgba, "depth.Z": depth}, compression=codec)
        times.append(time.perf_counter() - t)
        sizes.append(p.stat().st_size)
        p.unlink()
    return statistics.median(times), statistics.mean(sizes)


def main() -> int:
    frames = [frame_data(i) for i in range(N)]
    with tempfile.TemporaryDirectory() as tmp:
        measure(Path(tmp), frames[:1], "zip")  # warm the codec pool
        stats = {c: measure(Path(tmp), frames, c) for c in CODECS}
    t_none, s_none = stats["none"]
    for c in CODECS:
        t, s = stats[c]
        kind = "lossy colour, ZIP depth" if c in exr.LOSSY else "lossless"
        # only the default codec has a target (a quarter of uncompressed speed); the others are for comparison
        target = 0.25 if c == exr.DEFAULT_COMPRESSION else 0.0
        result(f"exr_codec[{c}] 1080p write vs uncompressed", 1 / t, 1 / t_none, "no compression", "frames/s", target,
               note=f"{s / 1e6:.2f} MB/frame ({100 * s / s_none:.0f}% of none), {1000 * t:.0f} ms/frame, {kind}, "
                    f"{os.cpu_count()} codec threads")
    for c in CODECS:
        print(f"  {c}: {1000 * stats[c][0]:.0f} ms/frame, {stats[c][1] / 1e6:.2f} MB/frame")
    fit = [c for c in CODECS if c not in exr.LOSSY and c != "none" and stats[c][1] <= 0.5 * s_none]
    best = min(fit or ["zip"], key=lambda c: stats[c][0])
    print(f"fastest lossless codec that halves the file: {best} (default: {exr.DEFAULT_COMPRESSION})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
