"""`dreamrooms ae SHOT`: AE-ready sequences under SHOT/ae/ and a generated shot.jsx."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from dreamrooms.ae.comp import CompOptions, export
from dreamrooms.shot import Shot


def _depth_range_arg(text: str):
    if text in ("auto", "clip"):
        return text
    try:
        near, far = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--depth-range {text!r}: use auto, clip or NEAR,FAR (e.g. 0.5,20)") from None
    if not (np.isfinite(near) and np.isfinite(far) and 0 <= near < far):
        raise argparse.ArgumentTypeError(f"--depth-range {text!r}: need 0 <= NEAR < FAR")
    return (near, far)


def _version_arg(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--ae-version {text!r}: give a version number such as 24.0") from None
    if not 8.0 <= v < 100:
        raise argparse.ArgumentTypeError(f"--ae-version {text!r}: After Effects versions run from 8.0 (CS3) to 2x.x")
    return v


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "ae", help="After Effects export: AE-ready sequences and a shot.jsx",
        description="Re-layer the shot's EXR (ours or a Blender multilayer render) into AE-friendly sequences "
                    "under SHOT/ae/ (beauty RGBA + depth.Z, a 0..1 depth map with white = near, alpha masks) and write "
                    "SHOT/ae/shot.jsx, which builds the comp, camera, Camera Lens Blur and Displacement Map in AE "
                    "(File > Scripts > Run Script File).",
    )
    p.add_argument("shot", type=Path, help="shot folder (with shot.json)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default SHOT/ae)")
    p.add_argument("--comp-name", default=None, help="comp name (default: the shot's name)")
    p.add_argument("--ae-version", type=_version_arg, default=24.0, help="oldest After Effects the script accepts (default 24.0)")
    p.add_argument("--ppu", type=float, default=100.0, help="AE pixels per Blender unit for the camera (default 100)")
    p.add_argument("--depth-range", type=_depth_range_arg, default="auto",
                   help="depth mapped to white..black: auto (1st..99th percentile), clip (camera clip range) or NEAR,FAR")
    p.add_argument("--blur-radius", type=float, default=15.0, help="Camera Lens Blur radius in pixels (default 15)")
    p.add_argument("--displace", type=float, default=20.0,
                   help="Displacement Map: max horizontal displacement keyed 0 -> PIXELS over the shot, vertical half of it (default 20)")
    p.add_argument("--beauty", default=None, help="sequence to use as the beauty pass (default: a Blender render, then layers)")
    p.add_argument("--depth", default=None, help="sequence holding the depth (default: the beauty's own depth.Z)")
    p.add_argument("--no-camera", action="store_true", help="do not create the 3D camera")
    p.add_argument("--no-depth-blur", action="store_true", help="do not add Camera Lens Blur")
    p.add_argument("--no-displacement", action="store_true", help="do not add Displacement Map")
    p.add_argument("--no-linear32", action="store_true", help="leave the project's bit depth and blending alone")
    p.add_argument("--grain", action="store_true", help="add a grain adjustment layer (Add Grain)")
    p.add_argument("--dust", action="store_true", help="add a dust layer (Fractal Noise, Screen)")
    p.add_argument("--workers", type=int, default=None, help="frames processed in parallel")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    opts = CompOptions(comp_name=args.comp_name, ae_version=args.ae_version, ppu=args.ppu, depth_range=args.depth_range,
                       blur_radius=args.blur_radius, displace=args.displace, beauty=args.beauty, depth=args.depth,
                       camera=not args.no_camera, depth_blur=not args.no_depth_blur,
                       displacement=not args.no_displacement, linear32=not args.no_linear32, grain=args.grain,
                       dust=args.dust, workers=args.workers)
    print(export(Shot.load(args.shot), opts, args.out))
    return 0
