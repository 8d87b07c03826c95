"""The After Effects comp for a shot: its options, the data literal `shot.jsx` carries, and the export that
re-layers the frames and writes the script (the CLI is dreamrooms.commands.ae)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamrooms.ae import camera as aecam
from dreamrooms.ae import relayer as rl
from dreamrooms.ae import script as sc
from dreamrooms.errors import DreamroomsError
from dreamrooms.shot import Shot, exr, frame_file


@dataclass
class CompOptions:
    """What the comp gets; the defaults are `dreamrooms ae`'s."""
    comp_name: str | None = None
    ae_version: float = 24.0
    ppu: float = 100.0
    depth_range: str | tuple[float, float] = "auto"
    blur_radius: float = 15.0
    displace: float = 20.0
    beauty: str | None = None
    depth: str | None = None
    camera: bool = True
    depth_blur: bool = True
    displacement: bool = True
    linear32: bool = True
    grain: bool = False
    dust: bool = False
    workers: int | None = None


def build_data(shot: Shot, src: rl.Sources, outputs: list[rl.Output], near: float | None, far: float | None,
               opts: CompOptions, focus_value: float | None) -> dict:
    name = opts.comp_name if opts.comp_name is not None else shot.name
    comp = {"name": name, "width": shot.width, "height": shot.height, "pixel_aspect": shot.pixel_aspect,
            "fps": shot.fps, "frame_count": shot.frame_count, "first_frame": shot.frame_start}
    data = sc.base_data(shot.name, comp, opts.ae_version)
    for o in outputs:
        first = frame_file(o.pattern, shot.frame_start).split("/")
        last = frame_file(o.pattern, shot.frame_end).split("/")
        data["footage"].append({"id": o.id, "name": o.label, "role": o.role, "path": first, "last_path": last,
                                "alpha": o.alpha, "frame_count": shot.frame_count})
    times = [i / shot.fps for i in range(shot.frame_count)]
    if shot.camera is not None:
        cam = shot.camera
        track = aecam.convert_track(cam.matrices, cam.lens_mm, cam.sensor_mm, cam.sensor_fit, shot.width, shot.height,
                                    shot.pixel_aspect, opts.ppu, cam.focus_distance)
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
        data["depth_blur"] = {"map": "depth", "target": "beauty", "radius": opts.blur_radius, "focus": focus}
        last = times[-1] if len(times) > 1 else 0.0
        hk = [0.0, last] if last > 0 else [0.0]
        h = [0.0, opts.displace] if last > 0 else [opts.displace]
        data["displacement"] = {"map": "depth", "target": "beauty",
                                "max_horizontal": sc.anim(hk, h), "max_vertical": sc.anim(hk, [x / 2 for x in h])}
    flags = data["options"]
    flags["camera"] = opts.camera
    flags["depth_blur"] = opts.depth_blur and src.depth_seq is not None
    flags["displacement"] = opts.displacement and src.depth_seq is not None
    flags["linear32"] = opts.linear32
    flags["grain"] = opts.grain
    flags["dust"] = opts.dust
    return data


def export(shot: Shot, opts: CompOptions, out: Path | None = None) -> Path:
    """Re-layer the shot into AE-ready sequences under `out` (default SHOT/ae) and write shot.jsx; returns its path."""
    if opts.ppu <= 0 or not np.isfinite(opts.ppu):
        raise DreamroomsError(f"--ppu {opts.ppu}: pixels per unit must be a positive number")
    if opts.blur_radius < 0 or opts.blur_radius > 500:
        raise DreamroomsError(f"--blur-radius {opts.blur_radius}: Camera Lens Blur takes 0..500 pixels")
    out = out if out is not None else shot.folder / "ae"
    src = rl.find_sources(shot, opts.beauty, opts.depth)
    near = far = None
    focus_value = None
    if src.depth_seq:
        near, far = rl.depth_range(shot, src, opts.depth_range)
        mid = list(shot.frames)[shot.frame_count // 2]
        d = np.asarray(exr.read_frame(shot.frame_path(src.depth_seq, mid), [src.depth_key])[src.depth_key], np.float32)
        valid = d[np.isfinite(d) & (d > 0) & (d < rl.INVALID_DEPTH)]
        if valid.size:
            focus_value = 255.0 * float(rl.normalise_depth(np.array([np.median(valid)], np.float32), near, far)[0])
    outputs = rl.plan_outputs(opts.comp_name or shot.name, src)
    data = build_data(shot, src, outputs, near, far, opts, focus_value)
    sc.data_literal(data)  # fail on bad numbers before writing any frame
    rl.relayer(shot, out, src, near, far, opts.comp_name or shot.name, workers=opts.workers)
    path = sc.write_script(out, data)
    return path
