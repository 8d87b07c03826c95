"""Frames/s of `dreamrooms walk` (inference + sRGB->linear + EXR write) vs a bare session.run loop.

The limit is what a user would write by hand: a plain ``onnxruntime.InferenceSession`` on the same
model file with ORT's default options (spin-waiting workers on) and the same thread count, called in a
loop over the same latents and batch size, output thrown away.  Ours is ``walk_stage.run_walk`` with the
session dreamrooms opens.  The two alternate run by run (so machine drift hits both) and the median of
the per-run ratios is printed beside the ratio of medians.  Target: ours >= 0.85x the bare loop.

    .venv/bin/python bench/walk_throughput.py [--model cppn-walk] [--size 512] [--frames 24]
        [--batch 4] [--repeats 3] [--threads N] [--compression zip]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import plain_session, result  # noqa: E402
from dreamrooms import progress
from dreamrooms.walk import generator
from dreamrooms.walk import run as walk_stage


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="cppn-walk")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--compression", default="zip")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args(argv)
    progress.set_mode("none")

    gen = generator.open_generator(args.model, device=args.device, threads=args.threads)
    size = (args.size, args.size)
    s = walk_stage.WalkSettings(frames=args.frames, fps=24, size=size, seeds=[3, 17, 42], loop=True,
                              batch=args.batch, compression=args.compression)
    lat, _ = walk_stage.frame_latents(gen, s)
    model_hw = gen.model_size(size)
    feeds = [gen.feeds(lat[i:i + args.batch], model_hw) for i in range(0, args.frames, args.batch)]
    sess = plain_session(gen.path, gen.session.get_session_options().intra_op_num_threads,
                         gen.session.get_providers())
    sess.run([gen.output_name], feeds[0])  # warm-up

    bare, ours = [], []
    with tempfile.TemporaryDirectory(prefix="walk-bench-") as tmp:
        walk_stage.run_walk(gen, Path(tmp) / "warm", s, overwrite=True)  # warm-up (LUT, threads)
        for r in range(args.repeats):
            t = time.perf_counter()
            for f in feeds:
                sess.run([gen.output_name], f)
            bare.append(args.frames / (time.perf_counter() - t))
            t = time.perf_counter()
            walk_stage.run_walk(gen, Path(tmp) / f"r{r}", s)
            ours.append(args.frames / (time.perf_counter() - t))
    mb, mo = statistics.median(bare), statistics.median(ours)
    paired = statistics.median(o / b for o, b in zip(ours, bare))
    print(f"walk throughput: {args.model} {args.size}x{args.size}, {args.frames} frames, batch {args.batch}, "
          f"provider {gen.provider}, EXR {args.compression}")
    print(f"  bare session.run loop     median {mb:7.2f} frames/s   runs {', '.join(f'{v:.2f}' for v in bare)}")
    print(f"  dreamrooms walk (+EXR)    median {mo:7.2f} frames/s   runs {', '.join(f'{v:.2f}' for v in ours)}")
    ratio = mo / mb
    print(f"  ratio ours / bare = {ratio:.3f} (median of per-run ratios {paired:.3f})  "
          f"(target >= 0.85: {'PASS' if ratio >= 0.85 else 'FAIL'})")
    result(f"walk_throughput {args.model} {args.size}px (+EXR)", mo, mb, "bare session.run loop", "frames/s", 0.85,
           note=f"{args.frames} frames, batch {args.batch}, EXR {args.compression}; median per-run ratio {paired:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
