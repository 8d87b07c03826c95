"""Frames/s of `dreamrooms depth` end to end vs the bare ONNX loop (limit) and a PyTorch eager pipeline (peer).

120 frames at 512x288 (PNG sequence rendered by the ray caster), model `tinydepth`.

* ours:  ``estimate_sequence`` on the PNG sequence: decode, resize, inference, keyframe stabilisation,
         joint bilateral upsampling, layered EXR + depth EXR written (the session is opened once beforehand,
         as for the limit);
* limit: a bare ``session.run`` loop over the same batches, pre-resized and normalised in memory;
* peer:  the same network in PyTorch eager (weights from the ONNX file loaded into the training code's
         ``TinyDepth`` module, checked against ONNX), as Deforum/ComfyUI-style nodes do it: per frame read,
         bicubic resize, forward, bilinear resize back, min-max normalise, then the same two files as ours
         (layered RGBA + depth.Z EXR, depth Y EXR); one frame after the other, no overlap, no stabilisation.

Two model sizes are measured: the manifest default (`target` 128 -> 256x128 model input, so the output is
upsampled 2.25x) and the native size (`--size 288` -> 512x288, no resampling).  Targets: ours >= 0.9x the
limit, ours >= 1.3x the peer.

    .venv/bin/python bench/depth_throughput.py [--frames 120] [--batch 2] [--repeats 3] [--threads N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, result  # noqa: E402

from dreamrooms import exr, progress, synth  # noqa: E402
from dreamrooms.depth import estimate_sequence, load_model, network_size, preprocess  # noqa: E402
from dreamrooms.sources import open_source  # noqa: E402


def make_frames(folder: Path, n: int, w: int, h: int, distinct: int = 30) -> str:
    scene = synth.random_scene(11)
    cams = synth.camera_path(scene, distinct, kind="pan", seed=1)
    imgs = []
    for cam in cams:
        rgb, _ = synth.render_scene(scene, cam, w, h)
        imgs.append((synth.srgb_encode(rgb)[..., ::-1] * 255 + 0.5).astype(np.uint8))
    order = list(range(distinct)) + list(range(distinct - 1, -1, -1))   # ping-pong: smooth motion
    for i in range(n):
        cv2.imwrite(str(folder / f"bench.{i + 1:04d}.png"), imgs[order[i % len(order)]])
    return str(folder / "bench.####.png")


def torch_module(entry):
    import onnx
    import torch
    from onnx import numpy_helper

    from dreamrooms.training.tinydepth import TinyDepth

    model = TinyDepth()
    inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(str(entry.path)).graph.initializer}
    model.load_state_dict({k: inits[k] for k in model.state_dict()})
    return model.eval()


def torch_pipeline(model, pattern: str, n: int, net_hw, out: Path) -> None:
    """Per frame, sequential, the same outputs as ours: read, to tensor, bicubic resize, forward, bilinear
    back, min-max normalise, inverse -> depth, write the layered EXR (RGBA + depth.Z) and the depth EXR (Y)."""
    import torch
    import torch.nn.functional as F

    (out / "layers").mkdir(parents=True, exist_ok=True)
    (out / "depth").mkdir(parents=True, exist_ok=True)
    with torch.inference_mode():
        for i in range(1, n + 1):
            bgr = cv2.imread(pattern.replace("####", f"{i:04d}"), cv2.IMREAD_COLOR)
            h, w = bgr.shape[:2]
            srgb = torch.from_numpy(bgr[..., ::-1].copy()).float() / 255.0
            x = F.interpolate(srgb.permute(2, 0, 1)[None], size=net_hw, mode="bicubic", align_corners=False).clamp(0, 1)
            y = model(x)
            y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)[0, 0]
            y = (y - y.min()) / (y.max() - y.min())
            depth = (1.0 / (0.1 + 0.9 * y)).numpy()                     # near 1, far 10
            lin = torch.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
            rgba = torch.cat([lin, torch.ones(h, w, 1)], -1).numpy()
            exr.write_frame(out / f"layers/d.{i:04d}.exr", {"RGBA": rgba, "depth.Z": depth})
            exr.write_frame(out / f"depth/d.{i:04d}.exr", {"Y": depth})


def io_floor(pattern: str, n: int, out: Path) -> None:
    """What any pipeline producing our files must do without a model: decode every PNG and write the
    layered EXR and the depth EXR (with a constant depth), reading ahead and writing on threads."""
    from dreamrooms.exr import SequenceWriter

    (out / "layers").mkdir(parents=True, exist_ok=True)
    (out / "depth").mkdir(parents=True, exist_ok=True)
    with SequenceWriter() as wr:
        for f in open_source(pattern).frames():
            depth = np.full(f.srgb.shape[:2], 2.0, np.float32)
            wr.submit(out / f"layers/d.{f.number:04d}.exr", {"RGBA": f.rgba, "depth.Z": depth})
            wr.submit(out / f"depth/d.{f.number:04d}.exr", {"Y": depth})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--height", type=int, default=288)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--stabilize", default="keyframe")
    ap.add_argument("--sizes", default="default,native", help="comma list: default (manifest target), native, or N")
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)
    progress.set_mode("none")
    import torch

    import os

    threads = args.threads or None
    torch.set_num_threads(threads or torch.get_num_threads())   # the peer: every core for the network
    limit = load_model("tinydepth", device="cpu", threads=threads or os.cpu_count())  # the limit: every core
    ms = load_model("tinydepth", device="cpu", threads=threads)  # ours: the stage's default split
    print(f"machine: {machine()}; onnxruntime {ms.provider} (ours {ms.session.get_session_options().intra_op_num_threads} "
          f"thread(s), limit {limit.session.get_session_options().intra_op_num_threads}), torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)")
    tmodel = None if args.no_torch else torch_module(ms.entry)

    with tempfile.TemporaryDirectory(prefix="depth-bench-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        pattern = make_frames(tmp, args.frames, args.width, args.height)
        print(f"{args.frames} frames {args.width}x{args.height} rendered in {time.perf_counter() - t:.1f}s")
        floor = []
        for r in range(args.repeats):
            t = time.perf_counter()
            io_floor(pattern, args.frames, tmp / f"floor{r}")
            floor.append(time.perf_counter() - t)
        print(f"I/O floor (decode PNG + write both EXRs, no model): {args.frames / statistics.median(floor):.1f} fps")
        for label in args.sizes.split(","):
            size = None if label == "default" else (args.height if label == "native" else int(label))
            net = network_size(ms.entry.input, args.height, args.width, size)
            # the limit: session.run over pre-resized, normalised batches held in memory
            src = open_source(pattern)
            tensors = [preprocess(f.srgb, net, ms.entry.input)[0] for f in src.frames()]
            batches = [np.stack(tensors[i:i + args.batch]) for i in range(0, len(tensors), args.batch)]
            del tensors
            run = lambda: [limit.session.run([limit.output_name], {limit.input_name: b}) for b in batches]
            run()
            bare = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                run()
                bare.append(time.perf_counter() - t)
            del batches
            if tmodel is not None:  # same network, same answer
                import torch as _t

                x = preprocess(next(src.frames([1])).srgb, net, ms.entry.input)[0][None]
                with _t.inference_mode():
                    d = float(np.abs(tmodel(_t.from_numpy(x)).numpy() - ms.session.run(None, {ms.input_name: x})[0]).max())
                print(f"  torch vs onnx max abs diff {d:.2e}")
            ours = []
            estimate_sequence(pattern, ms, tmp / f"warm_{label}", stabilize=args.stabilize, size=size, batch=args.batch,
                              frames=(1, min(8, args.frames)))
            for r in range(args.repeats):
                t = time.perf_counter()
                estimate_sequence(pattern, ms, tmp / f"ours_{label}_{r}", stabilize=args.stabilize, size=size,
                                  batch=args.batch)
                ours.append(time.perf_counter() - t)
            peer = []
            if tmodel is not None:
                torch_pipeline(tmodel, pattern, min(8, args.frames), net, tmp / "twarm")
                for r in range(args.repeats):
                    t = time.perf_counter()
                    torch_pipeline(tmodel, pattern, args.frames, net, tmp / f"torch_{label}_{r}")
                    peer.append(time.perf_counter() - t)
            fps = lambda ts: args.frames / statistics.median(ts)
            print(f"[{label}] model input {net[1]}x{net[0]}, batch {args.batch}, stabilize {args.stabilize}: "
                  f"ours {fps(ours):.1f} fps, bare onnx loop {fps(bare):.1f} fps"
                  + (f", torch eager {fps(peer):.1f} fps" if peer else "")
                  + f"  (medians of {args.repeats}; runs ours {[round(x, 2) for x in ours]} s)")
            note = f"{args.frames} frames {args.width}x{args.height}, model input {net[1]}x{net[0]}"
            result(f"depth_throughput[{label}] vs bare onnx", fps(ours), fps(bare), "bare session.run loop",
                   "frames/s", 0.9, note=note)
            if peer:
                result(f"depth_throughput[{label}] vs torch", fps(ours), fps(peer), "torch eager pipeline",
                       "frames/s", 1.3, note=note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
