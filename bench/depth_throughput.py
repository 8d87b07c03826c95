"""Frames/s of `dreamrooms depth` end to end vs the bare ONNX loop (limit) and a PyTorch eager pipeline (peer).

120 frames at 512x288 (PNG sequence rendered by the ray caster), model `tinydepth`.

* ours:  ``estimate_sequence`` on the PNG sequence: decode, resize, inference, keyframe stabilisation,
         joint bilateral upsampling, layered EXR + depth EXR written (the session is opened once beforehand,
         as for the limit);
* limit: a bare ``session.run`` loop over the same batches, pre-resized and normalised in memory, on a plain
         ``onnxruntime.InferenceSession`` of the same file with ORT's default options (spin-waiting workers
         on) and every core, as a user would write it by hand;
* peer:  the same network in PyTorch eager (weights from the ONNX file loaded into the training code's
         ``TinyDepth`` module, checked against ONNX), as Deforum/ComfyUI-style nodes do it: per frame read,
         bicubic resize, forward, bilinear resize back, min-max normalise, then the same two files as ours
         (layered RGBA + depth.Z EXR, depth Y EXR); one frame after the other, no overlap, no stabilisation.

Two model sizes are measured: the manifest default (`target` 128 -> 224x128 model input, so the output is
upsampled 2.25x) and the native size (`--size 288` -> 512x288, no resampling).  Targets: ours >= 0.9x the
limit, ours >= 1.3x the peer.  Each repeat runs the limit, ours and the peer one after the other, so drift in
the machine's speed hits all three; medians over the repeats.

A third configuration, ``realistic`` ("realistic cost"), runs the same TinyDepth architecture made wide
(`--realistic-widths`, default 40,56,80,112,160) so that one inference at 512x288 costs about what MiDaS v2.1
small / Depth Anything V2 Small cost on a CPU (tens of ms), instead of tinydepth's few ms, which leave the
tinydepth ratios measuring PNG decoding and EXR writing. The weights are random (torch seed 0; throughput
does not depend on them); the module is exported to ONNX in a temp folder exactly as the built-in tinydepth
is (opset 17, dynamic batch/H/W, input ``image``, output ``inverse_depth``) with a ``models.toml`` beside it
(tinydepth's input/output tables, the new file's sha256 and size), resolved by name from that folder as a
models dir, and the torch peer loads the very same weights from the ONNX file. It runs on fewer frames
(`--realistic-frames`, default 48) to keep the whole bench near 2-3 minutes.

A fourth, ``vits``, is a depth network of real size: a ViT-S/14 encoder with a DPT head in the Depth Anything V2
Small shape (24.7M parameters, 98.9 MB, random weights; bench/_vits_dpt.py), exported with the onnx-community
signature and run through the depth-anything-v2-small entry's preprocessing, on 518x518 frames (`--vits-frames`,
default 3: each inference takes seconds on a small CPU). Its torch peer is the same module with the same seed.
The realistic and vits configurations also print the CPU time per frame ours spends outside inference (process
CPU time of ours minus that of the same session.run loop on ours' session).

    .venv/bin/python bench/depth_throughput.py [--frames 120] [--batch 2] [--repeats 5] [--threads N]
        [--sizes default,native,realistic,vits] [--realistic-widths 40,56,80,112,160] [--realistic-frames 48]
        [--vits-frames 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, median_time, plain_session, result  # noqa: E402

from dreamrooms.colour import linear_to_srgb
from dreamrooms import progress  # noqa: E402
from dreamrooms.training import synth  # noqa: E402
from dreamrooms.shot import exr
from dreamrooms.depth import estimate_sequence, load_model, network_size, preprocess  # noqa: E402
from dreamrooms.shot.sources import open_source  # noqa: E402


def make_frames(folder: Path, n: int, w: int, h: int, distinct: int = 30) -> str:
    scene = synth.random_scene(11)
    cams = synth.camera_path(scene, distinct, kind="pan", seed=1)
    imgs = []
    for cam in cams:
        rgb, _ = synth.render_scene(scene, cam, w, h)
        imgs.append((linear_to_srgb(rgb)[..., ::-1] * 255 + 0.5).astype(np.uint8))
    order = list(range(distinct)) + list(range(distinct - 1, -1, -1))   # ping-pong: smooth motion
    for i in range(n):
        cv2.imwrite(str(folder / f"bench.{i + 1:04d}.png"), imgs[order[i % len(order)]])
    return str(folder / "bench.####.png")


def torch_module(entry):
    """The training code's TinyDepth with the weights of `entry`'s ONNX file; the widths are read from the
    initializers (the encoder's first conv of each level), so the built-in and the wide variant both load."""
    import onnx
    import torch
    from onnx import numpy_helper

    from dreamrooms.training.tinydepth import TinyDepth

    inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(str(entry.path)).graph.initializer}
    widths, k = [], 0
    while f"enc.{k}.0.weight" in inits:
        widths.append(int(inits[f"enc.{k}.0.weight"].shape[0]))
        k += 1
    model = TinyDepth(widths=tuple(widths))
    model.load_state_dict({k: inits[k] for k in model.state_dict()})
    return model.eval()


REALISTIC_NAME = "tinydepth-wide"


def build_realistic(folder: Path, widths: tuple[int, ...], like) -> None:
    """Export a seeded-random wide TinyDepth to folder/tinydepth-wide.onnx the way the built-in is exported
    (dreamrooms.training.builtin), and write folder/models.toml with `like`'s (tinydepth's) I/O tables."""
    import onnx
    import torch

    from dreamrooms.models import MANIFEST_NAME, dumps_manifest, sha256_file
    from dreamrooms.training.tinydepth import TinyDepth

    torch.manual_seed(0)
    model = TinyDepth(widths=widths).eval()
    path = folder / f"{REALISTIC_NAME}.onnx"
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    iname, oname = like.input.get("name") or "image", like.output.get("name") or "inverse_depth"
    with torch.no_grad():
        torch.onnx.export(model, (x,), str(path), input_names=[iname], output_names=[oname],
                          dynamic_axes={iname: {0: "batch", 2: "height", 3: "width"},
                                        oname: {0: "batch", 2: "height", 3: "width"}},
                          opset_version=17, dynamo=False, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(str(path)))
    table = {"kind": "depth", "builtin": False, "file": path.name, "url": "", "sha256": sha256_file(path),
             "size": path.stat().st_size, "license": "MIT (dreamrooms)",
             "description": f"bench only: TinyDepth widths {list(widths)}, random weights (realistic inference cost)",
             "input": dict(like.input), "output": dict(like.output)}
    (folder / MANIFEST_NAME).write_text(dumps_manifest({REALISTIC_NAME: table}), encoding="utf-8")


class PlainSession:
    """The limit: a plain ORT session (see _report.plain_session) with the names the loop feeds."""

    def __init__(self, path: Path, threads: int):
        self.session = plain_session(path, threads)
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name


def open_realistic(folder: Path, threads: int | None):
    """The wide model resolved by name from `folder` as the models dir (its models.toml), opened on the CPU."""
    from dreamrooms.models import resolve
    from dreamrooms.models.runtime import open_session

    entry = resolve(REALISTIC_NAME, kind="depth", models_dir_override=folder)
    if threads is None:   # the stage's default, as load_model chooses it
        from dreamrooms.depth import default_threads
        threads = default_threads(entry.path)
    return open_session(entry, device="cpu", threads=threads)


def ms_per_inference(session, x: np.ndarray) -> float:
    """Median ms of one batch-1 session.run at the model input (after one warm-up run)."""
    feed = {session.get_inputs()[0].name: x}
    return 1000 * median_time(lambda: session.run(None, feed), repeats=5, warmup=1)


def torch_pipeline(model, pattern: str, n: int, net_hw, out: Path, mean=None, std=None) -> None:
    """Per frame, sequential, the same outputs as ours: read, to tensor, bicubic resize (ImageNet mean/std when
    the model wants them), forward, bilinear back, min-max normalise, inverse -> depth, write the layered EXR
    (RGBA + depth.Z) and the depth EXR (Y)."""
    import torch
    import torch.nn.functional as F

    norm = None if mean is None else (torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1))

    (out / "layers").mkdir(parents=True, exist_ok=True)
    (out / "depth").mkdir(parents=True, exist_ok=True)
    with torch.inference_mode():
        for i in range(1, n + 1):
            bgr = cv2.imread(pattern.replace("####", f"{i:04d}"), cv2.IMREAD_COLOR)
            h, w = bgr.shape[:2]
            srgb = torch.from_numpy(bgr[..., ::-1].copy()).float() / 255.0
            x = F.interpolate(srgb.permute(2, 0, 1)[None], size=net_hw, mode="bicubic", align_corners=False).clamp(0, 1)
            if norm is not None:
                x = (x - norm[0]) / norm[1]
            y = model(x)
            if y.dim() == 3:
                y = y[:, None]
            y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)[0, 0]
            y = (y - y.min()) / (y.max() - y.min())
            depth = (1.0 / (0.1 + 0.9 * y)).numpy()                     # near 1, far 10
            lin = torch.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
            rgba = torch.cat([lin, torch.ones(h, w, 1)], -1).numpy()
            exr.write_frame(out / f"layers/d.{i:04d}.exr", {"RGBA": rgba, "depth.Z": depth})
            exr.write_frame(out / f"depth/d.{i:04d}.exr", {"Y": depth})


def io_floor(pattern: str, out: Path) -> None:
    """What any pipeline producing our files must do without a model: decode every PNG and write the
    layered EXR and the depth EXR (with a constant depth), reading ahead and writing on threads."""
    from dreamrooms.shot.exr import SequenceWriter

    (out / "layers").mkdir(parents=True, exist_ok=True)
    (out / "depth").mkdir(parents=True, exist_ok=True)
    with SequenceWriter() as wr:
        for f in open_source(pattern).frames():
            depth = np.full(f.srgb.shape[:2], 2.0, np.float32)
            wr.submit(out / f"layers/d.{f.number:04d}.exr", {"RGBA": f.rgba, "depth.Z": depth})
            wr.submit(out / f"depth/d.{f.number:04d}.exr", {"Y": depth})


def measure(args, label: str, title: str, ms, limit, tmodel, pattern: str, n: int, size: int | None,
            tmp: Path, extra_note: str = "", frame_hw: tuple[int, int] | None = None) -> None:
    """One configuration: ours (estimate_sequence), the limit (bare session.run loop) and the peer (torch eager)
    over the first `n` frames; prints the medians and the two result rows."""
    net = network_size(ms.entry.input, *(frame_hw or (args.height, args.width)), size)
    frames = (1, n)
    norm = {} if ms.entry.input.get("normalization_in_graph") else {"mean": ms.entry.input["mean"],
                                                                    "std": ms.entry.input["std"]}
    # the limit: session.run over pre-resized, normalised batches held in memory
    src = open_source(pattern)
    tensors = [preprocess(f.srgb, net, ms.entry.input)[0] for f in src.frames(range(1, n + 1))]
    batches = [np.stack(tensors[i:i + args.batch]) for i in range(0, len(tensors), args.batch)]
    del tensors
    run = lambda s: [s.session.run([s.output_name], {s.input_name: b}) for b in batches]
    cpu = {"bare": [], "ours": []}

    def loop_time(session) -> float:
        t, c = time.perf_counter(), time.process_time()
        run(session)
        if session is ms:        # inference alone on ours' session (same threads, no spin-waiting)
            cpu["bare"].append(time.process_time() - c)
        return time.perf_counter() - t

    if tmodel is not None:  # same network, same answer
        import torch as _t

        x = preprocess(next(src.frames([1])).srgb, net, ms.entry.input)[0][None]
        with _t.inference_mode():
            d = float(np.abs(tmodel(_t.from_numpy(x)).numpy() - ms.session.run(None, {ms.input_name: x})[0]).max())
        print(f"  torch vs onnx max abs diff {d:.2e}")
    # warm-ups: sessions, thread pools, page cache
    run(limit)
    estimate_sequence(pattern, ms, tmp / f"warm_{label}", stabilize=args.stabilize, size=size, batch=args.batch,
                      frames=(1, min(8, n)))
    if tmodel is not None:
        torch_pipeline(tmodel, pattern, min(8, n), net, tmp / f"twarm_{label}", **norm)
    bare, ours, peer, bare_ours_threads = [], [], [], []
    for r in range(args.repeats):
        bare.append(loop_time(limit))
        if label in ("realistic", "vits"):   # where the time goes: the same loop on ours' session
            bare_ours_threads.append(loop_time(ms))
        t, c = time.perf_counter(), time.process_time()
        estimate_sequence(pattern, ms, tmp / f"ours_{label}_{r}", stabilize=args.stabilize, size=size,
                          batch=args.batch, frames=frames)
        ours.append(time.perf_counter() - t)
        cpu["ours"].append(time.process_time() - c)
        if tmodel is not None:
            t = time.perf_counter()
            torch_pipeline(tmodel, pattern, n, net, tmp / f"torch_{label}_{r}", **norm)
            peer.append(time.perf_counter() - t)
    del batches
    fps = lambda ts: n / statistics.median(ts)
    print(f"[{label}] model input {net[1]}x{net[0]}, batch {args.batch}, stabilize {args.stabilize}: "
          f"ours {fps(ours):.1f} fps, bare onnx loop {fps(bare):.1f} fps"
          + (f", torch eager {fps(peer):.1f} fps" if peer else "")
          + f"  (medians of {args.repeats}; runs ours {[round(x, 2) for x in ours]} s)")
    if bare_ours_threads:
        print(f"  [{label}] bare loop on ours' session ({ms.session.get_session_options().intra_op_num_threads} "
              f"thread(s)): {fps(bare_ours_threads):.1f} fps -> ours is {fps(ours) / fps(bare_ours_threads):.2f}x "
              f"of it; the limit's {limit.session.get_session_options().intra_op_num_threads} thread(s) give "
              f"{fps(bare) / fps(bare_ours_threads):.2f}x")
    # CPU time the stage spends besides inference (decode, resize, stabilise, upsample, write), per frame:
    # process CPU time of ours minus that of the same inference loop on ours' session
    outside = None
    if cpu["bare"]:
        outside = (statistics.median(cpu["ours"]) - statistics.median(cpu["bare"])) * 1000 / n
        print(f"  [{label}] CPU outside inference: {outside:.0f} ms per frame (process CPU time of ours minus the "
              f"bare loop on ours' session)")
    fh, fw = frame_hw or (args.height, args.width)
    note = (f"{n} frames {fw}x{fh}, model input {net[1]}x{net[0]}"
            + (f", {outside:.0f} CPU-ms/frame outside inference" if outside is not None else "") + extra_note)
    result(f"depth_throughput[{title}] vs bare onnx", fps(ours), fps(bare), "bare session.run loop",
           "frames/s", 0.9, note=note)
    if peer:
        result(f"depth_throughput[{title}] vs torch", fps(ours), fps(peer), "torch eager pipeline",
               "frames/s", 1.3, note=note)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--height", type=int, default=288)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--stabilize", default="keyframe")
    ap.add_argument("--sizes", default="default,native,realistic,vits",
                    help="comma list: default (manifest target), native, N, realistic (wide model, native size), "
                         "vits (ViT-S/14 DPT at 518x518)")
    ap.add_argument("--realistic-widths", default="40,56,80,112,160",
                    help="TinyDepth widths of the realistic-cost model (5 levels)")
    ap.add_argument("--realistic-frames", type=int, default=48, help="frames for the realistic-cost configuration")
    ap.add_argument("--vits-frames", type=int, default=3, help="frames for the ViT-S/14 DPT configuration")
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)
    progress.set_mode("none")
    import torch

    threads = args.threads or None
    torch.set_num_threads(threads or torch.get_num_threads())   # the peer: every core for the network
    ms = load_model("tinydepth", device="cpu", threads=threads)  # ours: the stage's default split
    limit = PlainSession(ms.entry.path, threads or os.cpu_count())  # the limit: ORT defaults, every core
    print(f"machine: {machine()}; onnxruntime {ms.provider} (ours {ms.session.get_session_options().intra_op_num_threads} "
          f"thread(s), limit {limit.session.get_session_options().intra_op_num_threads}), torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)")
    tmodel = None if args.no_torch else torch_module(ms.entry)
    labels = [s.strip() for s in args.sizes.split(",") if s.strip()]

    with tempfile.TemporaryDirectory(prefix="depth-bench-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        pattern = make_frames(tmp, args.frames, args.width, args.height)
        print(f"{args.frames} frames {args.width}x{args.height} rendered in {time.perf_counter() - t:.1f}s")
        floor = []
        for r in range(args.repeats):
            t = time.perf_counter()
            io_floor(pattern, tmp / f"floor{r}")
            floor.append(time.perf_counter() - t)
        print(f"I/O floor (decode PNG + write both EXRs, no model): {args.frames / statistics.median(floor):.1f} fps")
        for label in labels:
            if label in ("realistic", "vits"):
                continue
            size = None if label == "default" else (args.height if label == "native" else int(label))
            measure(args, label, label, ms, limit, tmodel, pattern, args.frames, size, tmp)
        if "realistic" in labels:
            widths = tuple(int(v) for v in args.realistic_widths.split(","))
            mdir = tmp / "realistic-model"
            mdir.mkdir()
            t = time.perf_counter()
            build_realistic(mdir, widths, ms.entry)
            wms = open_realistic(mdir, threads)
            wlimit = PlainSession(wms.entry.path, threads or os.cpu_count())
            wt = None if args.no_torch else torch_module(wms.entry)
            size = args.height
            net = network_size(wms.entry.input, args.height, args.width, size)
            x = preprocess(next(open_source(pattern).frames([1])).srgb, net, wms.entry.input)[0][None]
            ms_limit = ms_per_inference(wlimit.session, x)
            ms_ours = ms_per_inference(wms.session, x)
            ms_tiny = ms_per_inference(limit.session, x)
            nthr = lambda s: s.session.get_session_options().intra_op_num_threads
            print(f"[realistic] TinyDepth widths {list(widths)} ({sum(p.numel() for p in wt.parameters()) if wt else '?'} "
                  f"parameters, {wms.entry.path.stat().st_size} bytes) built in {time.perf_counter() - t:.1f}s; "
                  f"one inference at {net[1]}x{net[0]}: {ms_limit:.1f} ms ({nthr(wlimit)} threads), "
                  f"{ms_ours:.1f} ms ({nthr(wms)} thread(s)); tinydepth {ms_tiny:.1f} ms ({nthr(limit)} threads)")
            n = min(args.realistic_frames, args.frames)
            note = (f" (fewer frames than the tinydepth rows); TinyDepth widths {list(widths)}, random weights, "
                    f"{ms_limit:.0f} ms per inference with {nthr(wlimit)} threads, {ms_ours:.0f} ms with ours' "
                    f"{nthr(wms)}")
            measure(args, "realistic", f"realistic-cost {net[1]}x{net[0]}", wms, wlimit, wt, pattern, n, size, tmp,
                    extra_note=note)
        if "vits" in labels:
            measure_vits(args, tmp, threads)
    return 0


def measure_vits(args, tmp: Path, threads: int | None) -> None:
    """The real-size row: a ViT-S/14 DPT (the Depth Anything V2 Small shape, random weights, bench/_vits_dpt.py)
    exported with the onnx-community signature and registered with the depth-anything-v2-small entry's input
    and output tables, on frames rendered at 518x518 (the network's own size: no resampling)."""
    import _vits_dpt as vits_dpt

    from dreamrooms.models import MANIFEST_NAME, dumps_manifest, registry, sha256_file

    mdir = tmp / "vits-model"
    mdir.mkdir()
    t = time.perf_counter()
    path = vits_dpt.export(mdir / "vits-dpt.onnx", seed=0)
    like = registry()["depth-anything-v2-small"]
    table = {"kind": "depth", "builtin": False, "file": path.name, "url": "", "sha256": sha256_file(path),
             "size": path.stat().st_size, "license": "MIT (dreamrooms)", "input": dict(like.input),
             "output": dict(like.output), "description": "bench only: ViT-S/14 DPT, random weights"}
    (mdir / MANIFEST_NAME).write_text(dumps_manifest({"vits-dpt": table}), encoding="utf-8")
    from dreamrooms.models import resolve
    from dreamrooms.models.runtime import open_session

    entry = resolve("vits-dpt", kind="depth", models_dir_override=mdir)
    vms = open_session(entry, device="cpu", threads=threads or os.cpu_count())
    vlimit = PlainSession(entry.path, threads or os.cpu_count())
    vt = None if args.no_torch else vits_dpt.build(seed=0)
    side = 518
    frames_dir = tmp / "vits-frames"
    frames_dir.mkdir()
    n = args.vits_frames
    pattern = make_frames(frames_dir, n, side, side, distinct=max(2, n))
    x = preprocess(next(open_source(pattern).frames([1])).srgb, (side, side), entry.input)[0][None]
    ms_one = ms_per_inference(vlimit.session, x)
    print(f"[vits] ViT-S/14 DPT ({path.stat().st_size} bytes) exported in {time.perf_counter() - t:.1f}s; one "
          f"inference at {side}x{side}: {ms_one:.0f} ms ({vlimit.session.get_session_options().intra_op_num_threads} "
          f"threads)")
    outside = stage_cpu_outside_inference(args, pattern, n, side, tmp)
    print(f"  [vits] CPU outside inference, measured with a near-free model (tinydepth) on the same frames: "
          f"{outside:.0f} ms per frame")
    measure(args, "vits", f"ViT-S/14 DPT {side}x{side}", vms, vlimit, vt, pattern, n, None, tmp,
            extra_note=f"; random weights, {ms_one:.0f} ms per inference; {outside:.0f} CPU-ms/frame outside "
                       f"inference (stage with tinydepth minus its inference)", frame_hw=(side, side))


def stage_cpu_outside_inference(args, pattern: str, n: int, side: int, tmp: Path) -> float:
    """CPU-ms per frame the stage spends besides inference (decode, resize, stabilise, upsample, write): the
    whole stage's process CPU time with tinydepth at the same size, minus tinydepth's own inference CPU time
    (tinydepth costs a few ms, so the difference of two small numbers is not lost in the big model's noise)."""
    tiny = load_model("tinydepth", device="cpu", threads=args.threads)
    net = network_size(tiny.entry.input, side, side, side)
    estimate_sequence(pattern, tiny, tmp / "vits-tiny-warm", stabilize=args.stabilize, size=side, batch=args.batch)
    c = time.process_time()
    estimate_sequence(pattern, tiny, tmp / "vits-tiny", stabilize=args.stabilize, size=side, batch=args.batch)
    stage = time.process_time() - c
    x = np.stack([preprocess(f.srgb, net, tiny.entry.input)[0] for f in open_source(pattern).frames()])
    feed = {tiny.input_name: x[: args.batch]}
    tiny.session.run(None, feed)
    c = time.process_time()
    for _ in range(0, n, args.batch):
        tiny.session.run(None, feed)
    return (stage - (time.process_time() - c)) * 1000 / n


if __name__ == "__main__":
    sys.exit(main())
