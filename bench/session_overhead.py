"""Per built-in model: time `session.run` alone vs our full call (preprocess + run + postprocess).

tinydepth: the depth stage's own steps (`dreamrooms.depth.preprocess`, `session.run`, reshape to
HxW; at the model's native size no resize is needed), on a synthetic room frame rendered at the
model's native 160x128. cppn-walk: `ModelSession.generate` (coordinate grid, run, range mapping,
NCHW->NHWC) at the native 512x512. Ratio = run alone / full call; the target is >= 0.909
(our overhead under 10%). A 1920x1080 source is timed as well for information: there resizing
is real work the model needs, not overhead, so it has no target.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402

from _report import median_time, result  # noqa: E402
from dreamrooms.colour import linear_to_srgb
from dreamrooms import models
from dreamrooms.models import runtime  # noqa: E402
from dreamrooms.training import synth  # noqa: E402
from dreamrooms.models.contracts import coordinate_grid  # noqa: E402

THREADS = 2


def bench_tinydepth() -> None:
    from dreamrooms.depth.image import bilinear_upsample, network_size, preprocess
    how = "dreamrooms.depth.image.preprocess"
    ms = runtime.open_session(models.resolve("tinydepth", kind="depth"), device="cpu", threads=THREADS)
    inp = ms.entry.input
    scene = synth.random_scene(7)
    for (h, w), native in (((128, 160), True), ((1080, 1920), False)):
        rgb, _ = synth.render_scene(scene, scene.camera, w, h) if native else (None, None)
        if rgb is None:
            small, _ = synth.render_scene(scene, scene.camera, 240, 135)
            import cv2
            rgb = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        srgb = linear_to_srgb(rgb)
        net_hw = network_size(inp, h, w)

        def prep():
            return preprocess(srgb, net_hw, inp)[0][None]

        x = prep()
        feeds = {ms.input_name: x}

        def full():
            y = ms.session.run([ms.output_name], {ms.input_name: prep()})[0]
            return bilinear_upsample(y.reshape(y.shape[-2:]), h, w)

        runs, fulls = [], []
        for _ in range(7):   # interleaved, so machine load affects both alike
            runs.append(median_time(lambda: ms.session.run([ms.output_name], feeds), repeats=5, warmup=1))
            fulls.append(median_time(full, repeats=5, warmup=1))
        run_only, full_t = float(np.median(runs)), float(np.median(fulls))
        label = f"{w}x{h} -> net {net_hw[1]}x{net_hw[0]}"
        if native:
            result("session_overhead tinydepth native " + label, full_t * 1000, run_only * 1000,
                   "session.run alone", "ms", target=0.909, higher_is_better=False, note=f"pre: {how}")
        else:
            print(f"info: tinydepth {label}: session.run {run_only * 1000:.2f} ms, full call {full_t * 1000:.2f} ms "
                  f"(resizing a 1080p frame is needed work, not overhead)")


def bench_cppn() -> None:
    from dreamrooms.walk.generator import generator_for

    entry = models.resolve("cppn-walk", kind="generator")
    gen = generator_for(entry, device="cpu", threads=THREADS)
    ms = runtime.open_session(entry, device="cpu", threads=THREADS)
    h, w = entry.generator.get("native_size", [512, 512])
    z = np.random.default_rng(0).standard_normal((1, 64)).astype(np.float32)
    feeds = {"z": z, "grid": coordinate_grid(h, w)}
    # interleave the two timings so machine load affects both alike
    runs, fulls = [], []
    for _ in range(5):
        runs.append(median_time(lambda: ms.session.run(["image"], feeds), repeats=3, warmup=1))
        fulls.append(median_time(lambda: gen.render(z, (h, w)), repeats=3, warmup=1))
    run_only, full_t = float(np.median(runs)), float(np.median(fulls))
    result(f"session_overhead cppn-walk native {w}x{h}", full_t * 1000, run_only * 1000, "session.run alone", "ms",
           target=0.909, higher_is_better=False, note="full = walk.generator.Generator.render")


def main() -> int:
    bench_tinydepth()
    bench_cppn()
    return 0


if __name__ == "__main__":
    sys.exit(main())
