"""`dreamrooms layers`: split every frame of a shot into N depth layers with filled back layers.

    dreamrooms layers SHOT --count N [--inpaint telea|ns|lama] [--from-masks] [--frames A-B] [--overwrite]
                      [--ray [ADDRESS] [--chunk N]]

Writes ``layers/NAME_layer<k>.####.exr`` (RGBA) and ``depth/NAME_layer<k>.####.exr`` (Y) per layer, recorded
in shot.json as ``layer<k>`` / ``layer<k>_depth`` (see :mod:`dreamrooms.layers.run`); `dreamrooms room SHOT
--layout layered` builds them.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from dreamrooms.cluster import plan as cluster
from dreamrooms.models.runtime import DEVICES
from dreamrooms.layers.fill import METHODS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "layers", help="split a shot into depth layers (colour + alpha + depth), hidden parts filled",
        description="Split every frame into N depth layers at the clip's depth jumps (or along the shot's masks "
                    "with --from-masks) and fill what the nearer layers hide: colour by inpainting, depth by "
                    "extending the surrounding depth, reusing the previous frame's fill where the background "
                    "holds still. A rerun resumes at the first missing frame.")
    p.add_argument("shot", type=Path, help="shot folder with colour and depth (run `dreamrooms depth` first)")
    p.add_argument("--count", type=int, default=2, help="number of layers (default 2: foreground and background)")
    p.add_argument("--inpaint", choices=METHODS, default="telea",
                   help="colour fill: OpenCV Telea (default) or Navier-Stokes, or the LaMa model (`dreamrooms models fetch lama`)")
    p.add_argument("--from-masks", action="store_true", help="one layer per mask sequence of the shot (nearest first) plus the rest")
    p.add_argument("--frames", default=None, help="frame range A-B (inclusive) of the shot")
    p.add_argument("--device", choices=DEVICES, default="auto", help="ONNX Runtime device for LaMa")
    p.add_argument("--overwrite", action="store_true", help="recompute frames that are already complete")
    cluster.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dreamrooms.layers.run import make_layers

    address = cluster.cluster_address(args)
    kw = dict(inpaint=args.inpaint, from_masks=args.from_masks, frames=args.frames, overwrite=args.overwrite,
              device=args.device)
    if address is not None:
        from dreamrooms.cluster.frames import layers_on_cluster

        res, written = layers_on_cluster(args.shot, args.count, address=address, chunk=args.chunk, **kw)
        note = " on the cluster"
    else:
        res = make_layers(args.shot, args.count, **kw)
        written, note = len(res.processed), (f", {res.skipped} already complete" if res.skipped else "")
    count = res.shot.sequences["layer0"].meta["count"] if "layer0" in res.shot.sequences else args.count
    print(f"layers: {written} frame(s) written{note}; {count} layers; shot {args.shot}")
    return 0
