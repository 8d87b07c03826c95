"""The After Effects comp for a shot: its options, the comp description (`comp.json`, also the data
literal of `shot.jsx`), and the export that re-layers the frames and writes both (the CLI is
dreamrooms.commands.ae; the ExtendScript that reads the description is ae_scripts/dreamrooms.jsxinc)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamrooms.ae import camera as aecam
from dreamrooms.ae import relayer as rl
from dreamrooms.ae import script as sc
from dreamrooms.errors import DreamroomsError
from dreamrooms.export.contract import ShotExport, gather
from dreamrooms.export.registry import EXPORTERS
from dreamrooms.shot import Shot, exr, frame_file

# Working-space profile descriptions (Project.workingSpace, AE 16.0+), first found wins; `keep`
# linearises the project's own.  sRGB and Rec. 709 share primaries.
WORKING_SPACES = {"srgb": ["sRGB IEC61966-2.1", "HDTV (Rec. 709)"], "rec709": ["HDTV (Rec. 709)", "sRGB IEC61966-2.1"],
                  "keep": []}
DOF_MODES = ("auto", "ae", "blender")
MAX_BLUR_RADIUS = 500.0      # Camera Lens Blur's Blur Radius range (tests/ae/lib/aedom.js EFFECTS)
MAX_DISPLACE = 100.0         # Displacement Map's max displacement (UI range; tests/ae/lib/aedom.js)
FALLBACK_RADIUS = 15.0 / 1920.0   # blur radius per image width without an f-stop (15 px at 1920)
FOG = {"color": [0.7, 0.75, 0.8], "density": 1.0, "start": 0.0}
# addComp takes frameRate 1..99 and conformFrameRate 0..99 (docsforadobe itemcollection.md, footagesource.md):
# the cap of this export, not of every stage (dreamrooms.limits)
MAX_FPS = 99.0
# OCIO colour space names for our colour EXRs (scene-linear, sRGB/Rec. 709 primaries) and for data, first found in
# the project's config wins: the ACES 1.3 configs' "Linear Rec.709 (sRGB)" (aliases lin_srgb, "Utility - Linear -
# sRGB" of ACES 1.2) and "Raw", Blender's "Linear Rec.709"
OCIO = {"scene_linear": ["Linear Rec.709 (sRGB)", "Utility - Linear - sRGB", "Linear Rec.709", "lin_srgb"],
        "raw": ["Raw", "Utility - Raw", "raw"]}
RENDER_TEMPLATE = "dreamrooms EXR half"   # the output-module template the render-queue item applies when present


@dataclass
class CompOptions:
    """What the comp gets; the defaults are `dreamrooms ae`'s."""
    comp_name: str | None = None
    ae_version: float = 17.0
    ppu: float = 100.0
    depth_range: str | tuple[float, float] = "auto"
    blur_map: str = "disparity"
    blur_radius: float | None = None
    fstop: float | None = None
    dof: str = "auto"
    displace: float = 20.0
    beauty: str | None = None
    depth: str | None = None
    camera: bool = True
    depth_blur: bool = True
    displacement: bool = True
    linear32: bool = True
    working_space: str = "srgb"
    grain: bool = False
    dust: bool = False
    fog: bool = False
    passes: bool = True
    render_queue: bool = False
    update: bool = False
    workers: int | None = None


def check(opts: CompOptions) -> None:
    """Every setting valid before any frame is written (one line naming the option and the fix)."""
    if opts.ppu <= 0 or not np.isfinite(opts.ppu):
        raise DreamroomsError(f"--ppu {opts.ppu}: pixels per unit must be a positive number")
    if opts.blur_radius is not None and not 0 <= opts.blur_radius <= MAX_BLUR_RADIUS:
        raise DreamroomsError(f"--blur-radius {opts.blur_radius}: Camera Lens Blur takes 0..{MAX_BLUR_RADIUS:g} pixels")
    if opts.fstop is not None and not (np.isfinite(opts.fstop) and opts.fstop > 0):
        raise DreamroomsError(f"--fstop {opts.fstop}: give a positive f-number such as 2.8")
    if not abs(opts.displace) <= MAX_DISPLACE:
        raise DreamroomsError(f"--displace {opts.displace}: Displacement Map takes -{MAX_DISPLACE:g}..{MAX_DISPLACE:g} pixels")
    if opts.blur_map not in rl.MAP_KINDS:
        raise DreamroomsError(f"--blur-map {opts.blur_map!r}: use one of {', '.join(rl.MAP_KINDS)}")
    if opts.dof not in DOF_MODES:
        raise DreamroomsError(f"--dof {opts.dof!r}: use one of {', '.join(DOF_MODES)}")
    if opts.working_space not in WORKING_SPACES:
        raise DreamroomsError(f"--working-space {opts.working_space!r}: use one of {', '.join(WORKING_SPACES)}")


def dof_mode(shot: Shot, src: rl.Sources, opts: CompOptions) -> str:
    """Where depth of field happens: `ae` (Camera Lens Blur) or `blender` (the render has it).  `auto`:
    a Blender render of a camera that rendered depth of field keeps Blender's; anything else gets AE's."""
    if opts.dof != "auto":
        return opts.dof
    rendered = src.beauty_key.endswith("Combined.RGBA")
    cam = shot.camera
    in_render = cam is not None and (cam.dof_in_render if cam.dof_in_render is not None else bool(cam.fstop))
    return "blender" if rendered and in_render else "ae"


def blur_radius(shot: Shot, near: float, far: float, focus_m: np.ndarray, fstop: float | None, kind: str,
                fallback: float | None) -> np.ndarray:
    """Camera Lens Blur's radius per frame, in pixels, for a map of `kind`: the blur there is assumed to be
    radius * |map - focal| (documentation-only assumption, see README).  With an f-stop it is physical:
    circle of confusion c = lens^2 / (N (f - lens)) * f * |1/f - 1/d| on the sensor, scaled to pixels by the
    camera's zoom (sensor fit and resolution), halved; a disparity map makes |v - v_f| proportional to
    |1/d - 1/f|, so the radius is exact at every depth (a linear map: exact at the far plane)."""
    n = len(focus_m)
    if fstop is None or shot.camera is None:
        r = fallback if fallback is not None else FALLBACK_RADIUS * shot.width * shot.pixel_aspect
        return np.full(n, min(r, MAX_BLUR_RADIUS))
    cam = shot.camera
    out = np.empty(n)
    for i in range(n):
        lens = cam.lens_at(i)
        px_per_mm = aecam.zoom(lens, cam.sensor_mm, cam.sensor_fit, shot.width, shot.height, shot.pixel_aspect) / lens
        f_m = max(float(focus_m[i]), 1e-6)
        k = px_per_mm * lens ** 2 / (fstop * max(f_m * 1000.0 - lens, 1e-3)) * f_m   # CoC diameter per unit |1/f - 1/d|
        if kind == "disparity":
            span = 1.0 / near - 1.0 / far
        else:
            v_f = float(rl.normalise_map(np.array([f_m]), near, far, "linear")[0])
            span = abs(1.0 / f_m - 1.0 / far) / max(v_f, 1e-3)
        out[i] = 0.5 * k * span
    return np.clip(out, 0.0, MAX_BLUR_RADIUS)


def _markers(shot: Shot, fstop: float | None) -> list[dict]:
    """Shot metadata as one comp marker at the start: frame range and rate, lens, f-stop, source models."""
    lines = [f"dreamrooms shot {shot.name}: frames {shot.frame_start}-{shot.frame_end} at {shot.fps:g} fps"]
    cam = shot.camera
    if cam is not None:
        lenses = [cam.lens_at(i) for i in range(shot.frame_count)]
        lens = f"{min(lenses):g}" if max(lenses) - min(lenses) < 1e-6 else f"{min(lenses):g}-{max(lenses):g}"
        lines.append(f"lens {lens} mm, sensor {cam.sensor_mm:g} mm ({cam.sensor_fit.lower()} fit)")
    lines.append(f"f/{fstop:g}" if fstop else "f-stop: none (no depth of field from the camera)")
    models = [str(m.get("name")) for m in shot.provenance.models if m.get("name")]
    lines.append("source: " + (", ".join(models) if models else "no model recorded"))
    return [{"time": 0.0, "comment": "\n".join(lines)}]


def _nulls(shot: Shot, ppu: float) -> list[dict]:
    """A 3D null per room/plane of the shot's scene description (provenance.extra["scene"]: a list of
    {"name", "matrix"}), placed and oriented as Blender's exporter orients objects (unrotated: [-90, 0, 0])."""
    scene = shot.provenance.extra.get("scene") if isinstance(shot.provenance.extra, dict) else None
    out = []
    for obj in scene if isinstance(scene, list) else []:
        if not isinstance(obj, dict) or "matrix" not in obj:
            continue
        pos = aecam.position(obj["matrix"], shot.width, shot.height, shot.pixel_aspect, ppu)
        ori = aecam.object_orientation(obj["matrix"])
        out.append({"name": str(obj.get("name", "object")), "position": [round(float(x), 6) for x in pos],
                    "orientation": [round(float(x), 6) + 0.0 for x in ori]})
    return out


def build_data(shot: Shot, src: rl.Sources, outputs: list[rl.Output], near: float | None, far: float | None,
               opts: CompOptions, focus_m: np.ndarray | None, mode: str) -> dict:
    """The comp description (format 2) the library builds from."""
    name = opts.comp_name if opts.comp_name is not None else shot.name
    comp = {"name": name, "width": shot.width, "height": shot.height, "pixel_aspect": shot.pixel_aspect,
            "fps": shot.fps, "frame_count": shot.frame_count, "first_frame": shot.frame_start}
    data = sc.base_data(shot.name, comp, opts.ae_version)
    data["colour"]["working_spaces"] = list(WORKING_SPACES[opts.working_space])
    for o in outputs:
        first = frame_file(o.pattern, shot.frame_start).split("/")
        last = frame_file(o.pattern, shot.frame_end).split("/")
        data["footage"].append({"id": o.id, "name": o.label, "role": o.role, "path": first, "last_path": last,
                                "alpha": o.alpha, "frame_count": shot.frame_count, "colour": o.colour})
    times = [i / shot.fps for i in range(shot.frame_count)]
    fstop = shot.camera.fstop if shot.camera is not None and shot.camera.fstop else opts.fstop
    if shot.camera is not None:
        cam = shot.camera
        track = aecam.convert_track(cam.matrices, cam.lens_mm, cam.sensor_mm, cam.sensor_fit, shot.width, shot.height,
                                    shot.pixel_aspect, opts.ppu, cam.focus_distance)
        aperture = None
        if fstop and track.focus is not None:
            aperture = sc.anim(*aecam.sparse_keys(times, track.zooms / fstop))   # AE: aperture = zoom / f-number
        data["camera"] = {
            "name": f"{name} camera",
            "position": sc.anim(*aecam.sparse_keys(times, track.positions)),
            "orientation": sc.anim(*aecam.sparse_keys(times, track.orientations)),
            "zoom": sc.anim(*aecam.sparse_keys(times, track.zooms)),
            "focus_distance": None if track.focus is None else sc.anim(*aecam.sparse_keys(times, track.focus)),
            "aperture": aperture,
        }
    if src.depth_seq:
        data["maps"] = {"kind": opts.blur_map, "near": near, "far": far, "white": "near",
                        "formula": ("clip((1/depth - 1/far) / (1/near - 1/far), 0, 1)" if opts.blur_map == "disparity"
                                    else "clip((far - depth) / (far - near), 0, 1)")}
        focus = rl.normalise_map(focus_m, near, far, opts.blur_map)
        radius = blur_radius(shot, near, far, focus_m, fstop, opts.blur_map, opts.blur_radius)
        data["depth_blur"] = {"map": "map", "target": "beauty", "radius": sc.anim(*aecam.sparse_keys(times, radius)),
                              "focus": sc.anim(*aecam.sparse_keys(times, focus))}
        last = times[-1] if len(times) > 1 else 0.0
        hk = [0.0, last] if last > 0 else [0.0]
        h = [0.0, opts.displace] if last > 0 else [opts.displace]
        data["displacement"] = {"map": "map", "target": "beauty",
                                "max_horizontal": sc.anim(hk, h), "max_vertical": sc.anim(hk, [x / 2 for x in h])}
        data["fog"] = {"map": "map", **FOG}
    data["nulls"] = _nulls(shot, opts.ppu)
    data["markers"] = _markers(shot, fstop)
    data["render"] = {"path": ["render", f"{rl.file_name(name)}_[####].exr"], "template": RENDER_TEMPLATE}
    data["ocio"] = {k: list(v) for k, v in OCIO.items()}
    flags = data["options"]
    flags["camera"] = opts.camera
    flags["depth_blur"] = opts.depth_blur and src.depth_seq is not None and mode == "ae"
    flags["displacement"] = opts.displacement and src.depth_seq is not None
    flags["linear32"] = opts.linear32
    flags["grain"] = opts.grain
    flags["dust"] = opts.dust
    flags["fog"] = opts.fog and src.depth_seq is not None
    flags["passes"] = opts.passes
    flags["render_queue"] = opts.render_queue
    flags["update"] = opts.update
    return data


def _focus(shot: Shot, src: rl.Sources) -> np.ndarray:
    """Focus distance per frame: the camera's, else the median valid depth of the middle frame."""
    if shot.camera is not None and shot.camera.focus_distance:
        return np.asarray(shot.camera.focus_distance, np.float64)
    mid = list(shot.frames)[shot.frame_count // 2]
    d = np.asarray(exr.read_frame(shot.frame_path(src.depth_seq, mid), [src.depth_key])[src.depth_key], np.float64)
    valid = d[np.isfinite(d) & (d > 0) & (d < rl.INVALID_DEPTH)]
    if not valid.size:
        raise DreamroomsError(f"{shot.frame_path(src.depth_seq, mid)}: no valid depth to focus on; give the camera a focus distance")
    return np.full(shot.frame_count, float(np.median(valid)))


def export_job(job: ShotExport, opts: CompOptions) -> Path:
    """The After Effects exporter of the exporter contract (dreamrooms.export.contract): re-layer the job's
    frames into AE-ready sequences under `job.out_dir`, write comp.json and shot.jsx; returns shot.jsx."""
    shot, src = job.shot, job.sources
    near, far = job.depth_range if job.depth_range else (None, None)
    focus_m = _focus(shot, src) if src.depth_seq else None
    name = opts.comp_name or shot.name
    outputs = rl.plan_outputs(name, src, opts.blur_map)
    data = build_data(shot, src, outputs, near, far, opts, focus_m, dof_mode(shot, src, opts))
    sc.data_literal(data)  # fail on bad numbers before writing any frame
    rl.relayer(shot, job.out_dir, src, near, far, name, map_kind=opts.blur_map, workers=opts.workers)
    return sc.write_script(job.out_dir, data)


def export(shot: Shot, opts: CompOptions, out: Path | None = None) -> Path:
    """Re-layer the shot into AE-ready sequences under `out` (default SHOT/ae), write comp.json and
    shot.jsx; returns the shot.jsx path.  Every setting is checked before the first byte is written."""
    check(opts)
    if not 1.0 <= shot.fps <= MAX_FPS:
        raise DreamroomsError(f"{shot.folder / 'shot.json'}: fps {shot.fps:g} is outside After Effects' 1..{MAX_FPS:g} "
                              "(addComp and conformFrameRate); conform the shot to a rate AE takes")
    out = out if out is not None else shot.folder / EXPORTERS["ae"].folder
    job = gather(shot, out, opts.beauty, opts.depth, opts.depth_range, opts.passes)
    return export_job(job, opts)
