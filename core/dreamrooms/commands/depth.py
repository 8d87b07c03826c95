"""`dreamrooms depth`: depth for whole sequences into a shot (the stage itself is dreamrooms.depth.pipeline)."""
from __future__ import annotations

import argparse

from dreamrooms.cluster import plan as cluster
from dreamrooms.depth import stabilize as stab
from dreamrooms.depth.pipeline import estimate_sequence
from dreamrooms.models.runtime import DEVICES
from dreamrooms.shot import exr
from dreamrooms.shot.paths import path_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "depth", help="estimate depth for a shot, video, image sequence or folder into a shot folder",
        description="Estimate depth for every frame (streamed, batched, temporally stabilised) and write "
                    "layers/NAME.####.exr (RGBA + depth.Z) and depth/NAME.####.exr (Y) into --out. "
                    "depth is distance along the camera axis, larger is farther: the first frame's near end "
                    "(98th percentile) is at --near and its far end (2nd percentile) at --far. "
                    "A rerun resumes at the first missing frame.")
    p.add_argument("input", help="shot folder, video file, image-sequence pattern (frames/img.####.png) or folder of images")
    p.add_argument("--model", required=True, help="depth model name (see `dreamrooms models list`) or path to an .onnx file")
    p.add_argument("--out", required=True, type=path_arg, help="output shot folder (created, or an existing shot to add depth to)")
    p.add_argument("--stabilize", choices=stab.MODES, default="keyframe",
                   help="temporal stabilisation: keyframe (robust alignment + motion-aware filter, default), "
                        "ema (cheap smoothing), off (each frame on its own)")
    p.add_argument("--size", type=int, default=None, help="model input size (short side for lower_bound models); default: the manifest's target")
    p.add_argument("--batch", type=int, default=2, help="frames per inference call (default 2)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="ONNX Runtime device (default auto)")
    p.add_argument("--threads", type=int, default=None, help="inference threads (default: all cores for real networks, half for tiny ones like tinydepth)")
    p.add_argument("--frames", default=None, help="frame range A-B (inclusive) of the input")
    p.add_argument("--preview", action="store_true", help="also write preview/NAME_depth.####.png (16-bit, white = near)")
    p.add_argument("--near", type=float, default=1.0, help="depth of the near end of the first frame (default 1)")
    p.add_argument("--far", type=float, default=10.0, help="depth of the far end of the first frame (default 10)")
    p.add_argument("--fps", type=float, default=None, help="frame rate for image inputs (default: video's, or 24)")
    p.add_argument("--name", default=None, help="name of the sequences (default: the input's name)")
    p.add_argument("--compression", choices=sorted(exr.COMPRESSIONS), default=exr.DEFAULT_COMPRESSION,
                   help=f"EXR compression (default {exr.DEFAULT_COMPRESSION}: lossless, the fastest to write by bench/exr_codecs.py)")
    p.add_argument("--overwrite", action="store_true", help="recompute frames that are already complete")
    cluster.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    opts = dict(stabilize=args.stabilize, size=args.size, batch=args.batch, device=args.device, preview=args.preview,
                near=args.near, far=args.far, overwrite=args.overwrite, compression=args.compression, fps=args.fps,
                name=args.name)
    address = cluster.cluster_address(args)
    if address is not None:
        from dreamrooms.cluster.depth import depth_on_cluster

        res, written = depth_on_cluster(args.input, args.model, args.out, address=address, chunk=args.chunk,
                                        frames=args.frames, **opts)
        print(f"depth: {written} frame(s) written on the cluster; model input {res.net_size[1]}x{res.net_size[0]}; "
              f"shot {args.out}")
        return 0
    res = estimate_sequence(args.input, args.model, args.out, frames=args.frames, threads=args.threads, **opts)
    shot = res.shot
    note = f", {res.skipped} already complete" if res.skipped else ""
    print(f"depth: {len(res.processed)} frame(s) written{note}; model input {res.net_size[1]}x{res.net_size[0]} "
          f"on {res.provider or 'CPU'}; shot {args.out}")
    if not res.registered:
        print(f"depth: not every frame of the shot ({shot.frame_start}-{shot.frame_end}) has depth yet; "
              f"run again without --frames to finish before stages can use it")
    return 0
