"""`dreamrooms ae SHOT`: AE-ready sequences under SHOT/ae/ and a generated shot.jsx."""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

from dreamrooms.ae.comp import DOF_MODES, WORKING_SPACES, CompOptions, export
from dreamrooms.ae.relayer import MAP_KINDS
from dreamrooms.shot import Shot
from dreamrooms.shot.lock import writer_lock
from dreamrooms.shot.paths import path_arg


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
        "ae", help="After Effects export: AE-ready sequences, comp.json and shot.jsx",
        description="Re-layer the shot's EXR (ours or a Blender multilayer render) into AE-friendly sequences "
                    "under SHOT/ae/ (beauty RGBA + depth.Z, a 0..1 map with white = near, the mattes of `dreamrooms mask` and the reveal matte, every other "
                    "render pass) and write SHOT/ae/comp.json (the comp description the Dreamrooms panel reads) and "
                    "SHOT/ae/shot.jsx (File > Scripts > Run Script File), which build the comp, camera, control null, "
                    "Camera Lens Blur, Displacement Map, fog, masks and passes in AE.",
    )
    p.add_argument("shot", type=Path, help="shot folder (with shot.json)")
    p.add_argument("--out", type=path_arg, default=None, help="output folder (default SHOT/ae)")
    p.add_argument("--comp-name", default=None, help="comp name (default: the shot's name)")
    p.add_argument("--ae-version", type=_version_arg, default=CompOptions.ae_version,
                   help="oldest After Effects the script accepts (default %(default)s: nothing it uses needs newer)")
    p.add_argument("--ppu", type=float, default=CompOptions.ppu, help="AE pixels per Blender unit for the camera (default %(default)s)")
    p.add_argument("--depth-range", type=_depth_range_arg, default=CompOptions.depth_range,
                   help="depth mapped to white..black: auto (1st..99th percentile), clip (camera clip range) or NEAR,FAR")
    p.add_argument("--blur-map", choices=MAP_KINDS, default=CompOptions.blur_map,
                   help="map linear in 1/depth (disparity, default: defocus and parallax grow with |1/d - 1/focus|) "
                        "or in depth (linear)")
    p.add_argument("--dof", choices=DOF_MODES, default=CompOptions.dof,
                   help="where depth of field happens: ae (Camera Lens Blur), blender (keep the render's) or auto "
                        "(blender for a Blender render with camera depth of field, else ae)")
    p.add_argument("--blur-radius", type=float, default=None,
                   help="Camera Lens Blur radius in pixels (default: from the camera's f-stop, focal length, sensor and "
                        "resolution; without an f-stop 15 px per 1920 px of width)")
    p.add_argument("--fstop", type=float, default=None, help="f-number when the shot's camera has none (for the blur radius and the AE camera)")
    p.add_argument("--displace", type=float, default=CompOptions.displace,
                   help="Displacement Map: max horizontal displacement keyed 0 -> PIXELS over the shot, vertical half of it (default %(default)s)")
    p.add_argument("--working-space", choices=sorted(WORKING_SPACES), default=CompOptions.working_space,
                   help="working space the linear project uses, linearised: srgb (default), rec709, or keep the project's")
    p.add_argument("--beauty", default=None, help="sequence to use as the beauty pass (default: a Blender render, then layers)")
    p.add_argument("--depth", default=None, help="sequence holding the depth (default: the beauty's own depth.Z)")
    p.add_argument("--no-camera", action="store_true", help="do not create the 3D camera")
    p.add_argument("--no-depth-blur", action="store_true", help="do not add Camera Lens Blur")
    p.add_argument("--no-displacement", action="store_true", help="do not add Displacement Map")
    p.add_argument("--no-linear32", action="store_true", help="leave the project's bit depth, blending and working space alone")
    p.add_argument("--no-passes", action="store_true", help="do not export the render's other passes")
    p.add_argument("--fog", action="store_true", help="turn the depth fog layer on (colour, density, start on the control null)")
    p.add_argument("--grain", action="store_true", help="add a grain layer (Add Grain, on its own grey solid)")
    p.add_argument("--dust", action="store_true", help="add a dust layer (Fractal Noise, added with Add: right over scene-linear 32 bpc, evolving)")
    p.add_argument("--render-queue", action="store_true",
                   help="add the comp to AE's render queue, into SHOT/ae/render/, with the output-module template "
                        "'dreamrooms EXR half' when AE has one (formats are not settable by script: make it once)")
    p.add_argument("--update", action="store_true",
                   help="rebuild the newest comp of this shot in AE in place (same comp, same nesting) instead of "
                        "importing a new version next to it")
    p.add_argument("--workers", type=int, default=None, help="frames processed in parallel")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    opts = CompOptions(comp_name=args.comp_name, ae_version=args.ae_version, ppu=args.ppu, depth_range=args.depth_range,
                       blur_map=args.blur_map, blur_radius=args.blur_radius, fstop=args.fstop, dof=args.dof,
                       displace=args.displace, beauty=args.beauty, depth=args.depth,
                       camera=not args.no_camera, depth_blur=not args.no_depth_blur,
                       displacement=not args.no_displacement, linear32=not args.no_linear32,
                       working_space=args.working_space, grain=args.grain, dust=args.dust, fog=args.fog,
                       passes=not args.no_passes, render_queue=args.render_queue, update=args.update,
                       workers=args.workers)
    shot = Shot.load(args.shot)
    shot.check_frame_sizes()
    out = args.out if args.out is not None else shot.folder / "ae"
    made = not out.exists()
    with writer_lock(shot.folder, "ae"):
        try:
            path = export(shot, opts, out)
        except Exception:
            if made:  # a folder this run made holds only this run's partial output
                shutil.rmtree(out, ignore_errors=True)
            raise
    print(path)
    return 0
