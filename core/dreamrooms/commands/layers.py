"""`dreamrooms layers`: split every frame of a shot into N depth layers with filled back layers.

    dreamrooms layers SHOT [--max-parallax PX | --count N] [--inpaint telea|ns|lama] [--from-masks] [--frames A-B] [--overwrite]
                      [--ray [ADDRESS] [--chunk N]]

By default the surface is cut only where depth jumps and the far side of every cut is continued behind the
near side (two layers: the front surface and what lies behind its edges), over the band a camera move whose
largest image shift is PX pixels can see.  ``--count N`` splits at N inverse-depth levels instead.
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
        description="Cut every frame where its depth really jumps and continue the far side of each cut behind the "
                    "near side (colour inpainted from the far side only, depth along the far surface's slope), "
                    "over the band a move of up to --max-parallax pixels reveals; or split into --count N "
                    "depth levels, or along the shot's masks with --from-masks. Fills reuse the previous "
                    "frame's where the background holds still. A rerun resumes at the first missing frame.")
    p.add_argument("shot", type=Path, help="shot folder with colour and depth (run `dreamrooms depth` first)")
    p.add_argument("--max-parallax", type=float, default=None, metavar="PX",
                   help="largest image shift (pixels) of the camera moves to come: the band filled behind each "
                        "depth edge is PX * (1 - z_near / z_far) plus a margin (default 4%% of the short side)")
    p.add_argument("--count", type=int, default=None,
                   help="split into N layers at the clip's inverse-depth levels instead of cutting at depth edges")
    p.add_argument("--inpaint", choices=("auto",) + METHODS, default="auto",
                   help="colour fill: the LaMa model when installed (`dreamrooms models fetch lama`), else OpenCV "
                        "Telea (auto, default); or telea, ns (Navier-Stokes), lama")
    p.add_argument("--from-masks", action="store_true", help="one layer per mask sequence of the shot (nearest first) plus the rest")
    p.add_argument("--frames", default=None, help="frame range A-B (inclusive) of the shot")
    p.add_argument("--device", choices=DEVICES, default="auto", help="ONNX Runtime device for LaMa")
    p.add_argument("--overwrite", action="store_true", help="recompute frames that are already complete")
    cluster.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dreamrooms.layers.run import make_layers

    address = cluster.cluster_address(args)
    kw = dict(max_parallax=args.max_parallax, inpaint=args.inpaint, from_masks=args.from_masks, frames=args.frames, overwrite=args.overwrite,
              device=args.device)
    if address is not None:
        from dreamrooms.cluster.frames import layers_on_cluster

        res, written = layers_on_cluster(args.shot, args.count, address=address, chunk=args.chunk, **kw)
        note = " on the cluster"
    else:
        res = make_layers(args.shot, args.count, **kw)
        written, note = len(res.processed), (f", {res.skipped} already complete" if res.skipped else "")
    count = res.shot.sequences["layer0"].meta["count"] if "layer0" in res.shot.sequences else (args.count or 2)
    print(f"layers: {written} frame(s) written{note}; {count} layers; shot {args.shot}")
    return 0
