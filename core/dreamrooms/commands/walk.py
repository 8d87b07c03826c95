"""`dreamrooms walk`: a latent walk through any ONNX generator, written as a shot."""
from __future__ import annotations

import argparse
from pathlib import Path

from dreamrooms import limits
from dreamrooms.cluster import plan as cluster
from dreamrooms.errors import DreamroomsError
from dreamrooms.models.runtime import DEVICES
from dreamrooms.shot.paths import path_arg
from dreamrooms.shot import exr

KEYFRAME_HELP = """keyframe file (TOML):
  interp = "slerp"          # optional walk defaults: interp, ease, loop, truncation
  [[key]]
  seed = 3                  # or: latent = "anna.npy" (latent_dim floats, path relative to the file)
  frame = 1                 # 1-based; give frames for all keys or none (spread evenly)
  ease = "smooth"           # ease of the segment starting at this key
"""


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r}: write WIDTHxHEIGHT, e.g. 512x512") from None
    if w < 8 or h < 8:
        raise argparse.ArgumentTypeError(f"size {text!r}: width and height must be >= 8")
    return w, h


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "walk", help="render a latent walk through a generator into a shot (layers/walk.####.exr)",
        description="Walk through a generator's latent space and write RGBA linear half EXR frames "
                    "(layers/walk.####.exr) plus shot.json. Reruns with the same settings resume.",
        epilog=KEYFRAME_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="generator: manifest name (e.g. cppn-walk), .onnx path or model folder")
    p.add_argument("--out", required=True, type=path_arg, help="shot folder to write (created)")
    p.add_argument("--frames", type=int, required=True, help="number of frames")
    p.add_argument("--fps", type=float, default=24.0, help="frames per second (default 24)")
    p.add_argument("--size", type=_size, default=None, help="WIDTHxHEIGHT (default: the model's native size)")
    keys = p.add_mutually_exclusive_group()
    keys.add_argument("--seeds", default="0,1,2", help="comma-separated keyframe seeds (default 0,1,2)")
    keys.add_argument("--keyframes", type=Path, help="TOML keyframe file (see below)")
    p.add_argument("--interp", choices=("slerp", "lerp", "cubic"), default=None,
                   help="interpolation between keys (default slerp in z, lerp in w)")
    p.add_argument("--space", choices=("z", "w"), default="z", help="interpolate in z, or in W for models with a mapping step")
    p.add_argument("--loop", action="store_true", help="loop back to the first key: frame N+1 would equal frame 1")
    p.add_argument("--noise-loop", type=float, default=None, metavar="RADIUS",
                   help="a seamless loop of smooth periodic noise per latent dimension (1 gentle, 3 busier); uses the first seed")
    p.add_argument("--ease", choices=("linear", "smooth"), default="linear", help="timing within each segment")
    p.add_argument("--truncation", type=float, default=1.0, metavar="PSI", help="pull latents toward the mean (1 off, 0.7 typical)")
    p.add_argument("--batch", type=int, default=4, help="frames per inference call (default 4)")
    p.add_argument("--preview", choices=("png", "mp4"), default=None, help="also write preview/walk.####.png or preview/walk.mp4")
    p.add_argument("--constant-speed", action="store_true",
                   help="re-time the path so the image changes evenly from frame to frame (overrides easing)")
    p.add_argument("--compression", default=exr.DEFAULT_COMPRESSION,
                   help=f"EXR compression (zip, zips, piz, dwaa, ...; default {exr.DEFAULT_COMPRESSION})")
    p.add_argument("--device", choices=DEVICES, default="auto", help="ONNX Runtime device (default auto)")
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads")
    p.add_argument("--overwrite", action="store_true", help="replace a different walk already in --out")
    cluster.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dreamrooms.walk import generator
    from dreamrooms.walk import run as walk_stage
    from dreamrooms.walk import latent

    if args.threads is not None:
        limits.check_number(args.threads, "--threads", low=1, high=limits.MAX_THREADS)
    address = cluster.cluster_address(args)
    gen = generator.open_generator(args.model, device=args.device, threads=args.threads)
    if args.size is None:
        if gen.spec.native_size is None:
            raise DreamroomsError(f"model {gen.name} has no native size; give --size WIDTHxHEIGHT")
        h, w = gen.spec.native_size
    else:
        w, h = args.size
    seeds = latent.parse_seeds(args.seeds) if args.seeds else [0]
    interp = args.interp or ("lerp" if args.space == "w" else "slerp")
    s = walk_stage.WalkSettings(
        frames=args.frames, fps=args.fps, size=(h, w), seeds=seeds,
        keyframes=str(args.keyframes) if args.keyframes else None, interp=interp, space=args.space,
        loop=args.loop, noise_loop=args.noise_loop, ease=args.ease, truncation=args.truncation,
        batch=args.batch, preview=args.preview, constant_speed=args.constant_speed, compression=args.compression)
    if address is not None:
        from dreamrooms.cluster.stages import walk_on_cluster

        shot = walk_on_cluster(gen, args.model, args.out, s, overwrite=args.overwrite, address=address,
                               chunk=args.chunk, device=args.device)
    else:
        shot = walk_stage.run_walk(gen, args.out, s, overwrite=args.overwrite)
    print(f"walk: {shot.frame_count} frames {w}x{h} from {gen.name} ({gen.provider}) -> {shot.folder / 'shot.json'}")
    return 0
