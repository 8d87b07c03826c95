"""`dreamrooms mask`: foreground mattes for a shot, from its depth or from a segmentation model.

    dreamrooms mask INPUT --out SHOT (--from-depth | --model NAME) [--classes person,...] [--instances N]
                    [--frames A-B] [--layers N] [--min-score S] [--overwrite] [--ray [ADDRESS] [--chunk N]]

Writes ``masks/NAME_<label>.####.exr`` (one float channel ``Y``) and ``mask.<label>`` beside RGBA in the
shot's layered files, recorded in shot.json as ``mask_<label>`` (see :mod:`dreamrooms.mask.run`).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from dreamrooms.cluster import plan as cluster
from dreamrooms.models.runtime import DEVICES
from dreamrooms.shot.fit import FIT_MODES, Fit


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "mask", help="foreground mattes from depth (built in) or a segmentation model, into a shot",
        description="Write one matte sequence per label into SHOT: masks/NAME_<label>.####.exr (Y, 0..1) and "
                    "mask.<label> in the layered colour files. --from-depth takes the nearest depth layer(s), split "
                    "where the clip's depth jumps and refined along colour edges; --model runs Mask R-CNN "
                    "(per class, or per instance with --instances), BiRefNet, ISNet or your own matte network (the main "
                    "subject). Mattes are "
                    "steadied over time. A rerun resumes at the first missing frame.")
    p.add_argument("input", help="the footage: the shot folder itself, a video, an image-sequence pattern or a folder")
    p.add_argument("--out", required=True, type=Path, help="the shot to add masks to (it must exist)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--from-depth", action="store_true", help="mattes from the shot's depth (offline, built in)")
    src.add_argument("--model", default=None, help="mask model name (`dreamrooms models list`: maskrcnn-r50-fpn, birefnet-lite, isnet, yours from "
                          "`models add --kind mask`) or the path to a single-matte .onnx (its I/O is inferred)")
    p.add_argument("--classes", default="person", help="Mask R-CNN: comma-separated COCO classes (default person)")
    p.add_argument("--instances", type=int, default=0, metavar="N",
                   help="Mask R-CNN: N mattes per class, one per instance, labels kept over the clip (default: one per class)")
    p.add_argument("--layers", type=int, default=1, metavar="N", help="--from-depth: how many nearest depth layers are foreground (default 1)")
    p.add_argument("--min-score", type=float, default=0.7, help="Mask R-CNN: keep detections scoring above this (default 0.7)")
    p.add_argument("--frames", default=None, help="frame range A-B (inclusive) of the shot")
    p.add_argument("--device", choices=DEVICES, default="auto", help="ONNX Runtime device (default auto)")
    p.add_argument("--overwrite", action="store_true", help="recompute frames that are already complete")
    p.add_argument("--fit", default=None, metavar="WxH",
                   help="INPUT is a folder of images of mixed sizes: bring them to WxH as `depth --fit` did")
    p.add_argument("--fit-mode", choices=FIT_MODES, default="pad", help="pad (default) or crop, as for depth")
    cluster.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dreamrooms.mask.run import MaskError, make_masks

    address = cluster.cluster_address(args)
    if args.layers < 1 or args.instances < 0:
        raise MaskError(f"--layers {args.layers} --instances {args.instances}: need --layers >= 1 and --instances >= 0")
    kw = dict(frames=args.frames, from_depth=args.from_depth, model=args.model, classes=args.classes,
              layers=args.layers, instances=args.instances, min_score=args.min_score, overwrite=args.overwrite,
              device=args.device)
    fit = Fit.parse(args.fit, args.fit_mode)
    if address is not None:
        from dreamrooms.cluster.frames import mask_on_cluster

        if fit is not None:
            raise MaskError("--fit works on this machine only; leave out --ray, or mask the shot itself (INPUT = SHOT)")
        res, written = mask_on_cluster(args.input, args.out, address=address, chunk=args.chunk, **kw)
        note = " on the cluster"
    else:
        res = make_masks(args.input, args.out, fit=fit, **kw)
        written, note = len(res.processed), (f", {res.skipped} already complete" if res.skipped else "")
    print(f"mask: {written} frame(s) written{note}; labels {', '.join(res.labels)}; shot {args.out}")
    if not res.registered:
        print("mask: not every frame of the shot has masks yet; run again without --frames to finish")
    return 0
