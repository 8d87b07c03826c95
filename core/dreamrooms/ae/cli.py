"""`dreamrooms ae SHOT`: AE-ready sequences under SHOT/ae/ and a generated shot.jsx."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from dreamrooms import exr
from dreamrooms.ae import camera as aecam
from dreamrooms.ae import relayer as rl
from dreamrooms.ae import script as sc
from dreamrooms.errors import DreamroomsError
from dreamrooms.shot import Shot, frame_file


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


def build_data(shot: Shot, src: rl.Sources, outputs: list[rl.Output], near: float | None, far: float | None,
               args: argparse.Namespace, focus_value: float | None) -> dict:
    name = args.comp_name if args.comp_name is not None else shot.name
    comp = {"name": name, "width": shot.width, "height": shot.height, "pixel_aspect": shot.pixel_aspect,
            "fps": shot.fps, "frame_count": shot.frame_count, "first_frame": shot.frame_start}
    data = sc.base_data(shot.name, comp, args.ae_version)
    for o in outputs:
        first = frame_file(o.pattern, shot.frame_start).split("/")
        last = frame_file(o.pattern, shot.frame_end).split("/")
        data["footage"].append({"id": o.id, "name": o.label, "role": o.role, "path": first, "last_path": last,
                                "alpha": o.alpha, "frame_count": shot.frame_count})
    times = [i / shot.fps for i in range(shot.frame_count)]
    if shot.camera is not None:
        cam = shot.camera
        track = aecam.convert_track(cam.matrices, cam.lens_mm, cam.sensor_mm, cam.sensor_fit, shot.width, shot.height,
                                    shot.pixel_aspect, args.ppu, cam.focus_distance)
        data["camera"] = {
            "name": f"{name} camera",
            "position": sc.anim(*aecam.sparse_keys(times, track.positions)),
            "orientation": sc.anim(*aecam.sparse_keys(times, track.orientations)),
            "zoom": sc.anim(*aecam.sparse_keys(times, track.zooms)),
            "focus_distance": None if track.focus is None else sc.anim(*aecam.sparse_keys(times, track.focus)),
        }
    if src.depth_seq:
        data["depth_mapping"] = {"near": near, "far": far, "white": "near",
                                 "formula": "clip((far - depth) / (far - near), 0, 1)"}
        focus = None
        if shot.camera is not None and shot.camera.focus_distance:
            vals = 255.0 * rl.normalise_depth(np.asarray(shot.camera.focus_distance, np.float32), near, far)
            focus = sc.anim(*aecam.sparse_keys(times, vals))
        elif focus_value is not None:
            focus = sc.anim([0.0], [round(float(focus_value), 6)])
        data["depth_blur"] = {"map": "depth", "target": "beauty", "radius": args.blur_radius, "focus": focus}
        last = times[-1] if len(times) > 1 else 0.0
        hk = [0.0, last] if last > 0 else [0.0]
        h = [0.0, args.displace] if last > 0 else [args.displace]
        data["displacement"] = {"map": "depth", "target": "beauty",
                                "max_horizontal": sc.anim(hk, h), "max_vertical": sc.anim(hk, [x / 2 for x in h])}
    opts = data["options"]
    opts["camera"] = not args.no_camera
    opts["depth_blur"] = not args.no_depth_blur and src.depth_seq is not None
    opts["displacement"] = not args.no_displacement and src.depth_seq is not None
    opts["linear32"] = not args.no_linear32
    opts["grain"] = bool(args.grain)
    opts["dust"] = bool(args.dust)
    return data


def run(args: argparse.Namespace) -> int:
    shot = Shot.load(args.shot)
    if args.ppu <= 0 or not np.isfinite(args.ppu):
        raise DreamroomsError(f"--ppu {args.ppu}: pixels per unit must be a positive number")
    if args.blur_radius < 0 or args.blur_radius > 500:
        raise DreamroomsError(f"--blur-radius {args.blur_radius}: Camera Lens Blur takes 0..500 pixels")
    out = args.out if args.out is not None else shot.folder / "ae"
    src = rl.find_sources(shot, args.beauty, args.depth)
    near = far = None
    focus_value = None
    if src.depth_seq:
        near, far = rl.depth_range(shot, src, args.depth_range)
        mid = list(shot.frames)[shot.frame_count // 2]
        d = np.asarray(exr.read_frame(shot.frame_path(src.depth_seq, mid), [src.depth_key])[src.depth_key], np.float32)
        valid = d[np.isfinite(d) & (d > 0) & (d < rl.INVALID_DEPTH)]
        if valid.size:
            focus_value = 255.0 * float(rl.normalise_depth(np.array([np.median(valid)], np.float32), near, far)[0])
    outputs = rl.plan_outputs(args.comp_name if args.comp_name is not None else shot.name, src)
    data = build_data(shot, src, outputs, near, far, args, focus_value)
    sc.data_literal(data)  # fail on bad numbers before writing any frame
    rl.relayer(shot, out, src, near, far, args.comp_name if args.comp_name is not None else shot.name, workers=args.workers)
    path = sc.write_script(out, data)
    print(path)
    return 0
