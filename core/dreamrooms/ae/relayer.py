"""Re-layer a shot's EXR frames into After Effects-friendly sequences under SHOT/ae/.

Outputs, one folder per sequence so AE's sequence detection never mixes them:
  beauty/NAME.####.exr            RGBA half, linear, premultiplied, plus depth.Z float32 (AE's 3D channel)
  map/NAME_map.####.exr           RGB half: the 0..1 map for Camera Lens Blur and Displacement Map, white = near
  mask_M/NAME_M.####.exr          A half: one alpha-only sequence per mask layer
  passes/P/NAME_P.####.exr        every other pass of the render (Mist, Vector, Normal, IndexOB, Cryptomatte...)
                                  as float R,G,B(,A) that AE's EXR importer reads as the layer's colour

The map, with near/far fixed for the whole shot (`--depth-range`, the camera clip range, or by default
the 1st/99th percentiles of valid depth over up to 8 sampled frames):
  disparity (default): v = clip((1/d - 1/far) / (1/near - 1/far), 0, 1); defocus and parallax both
                       grow with |1/d - 1/focus|, so |v - v_focus| is proportional to both
  linear:              v = clip((far - d) / (far - near), 0, 1)
Invalid depth (<= 0, not finite, or Blender's 1e10 background) is 0 (black, as far as far).

Every file carries the shot's pixelAspectRatio.  Frames stream one at a time on a thread pool with a
bounded backlog; every file is written atomically; a rerun skips frames whose outputs are complete (a
stamp records the settings, and a change of settings redoes every frame); frames outside the shot's
range left by an earlier, longer export are removed, so AE never imports them.
"""
from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dreamrooms.shot import exr
from dreamrooms.atomic import clean_stale_temps, write_text_atomic
from dreamrooms.errors import DreamroomsError, ShotError
from dreamrooms.progress import progress
from dreamrooms.shot import Shot, frame_file
from dreamrooms.shot.roles import depth_sequence
from dreamrooms.shot.paths import confine, remove_inside
from dreamrooms.shot.sources import pattern_files

PAD = "####"
INVALID_DEPTH = 1e9
STAMP = ".relayer.json"
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')


def safe_name(name: str) -> str:
    """A file name that is legal on Windows, macOS and Linux (non-ASCII is kept)."""
    s = _UNSAFE.sub("_", name).strip().rstrip(".")
    return s or "shot"


def _layer_keys(channels: list[str]) -> list[str]:
    return list(exr.group_channels({c: np.empty(0) for c in channels}))


@dataclass
class Sources:
    """Which sequence and layer key hold the beauty, the depth and each mask."""
    beauty_seq: str
    beauty_key: str
    depth_seq: str | None = None
    depth_key: str | None = None
    masks: dict[str, tuple[str, str]] = field(default_factory=dict)  # mask name -> (seq, key)
    passes: dict[str, tuple[str, str]] = field(default_factory=dict)  # pass name -> (seq, key)


def _find_beauty(keys: list[str]) -> str | None:
    for k in keys:
        if k.endswith("Combined.RGBA"):
            return k
    for want in ("RGBA", "RGB"):
        if want in keys:
            return want
    return None


def find_sources(shot: Shot, beauty: str | None = None, depth: str | None = None) -> Sources:
    """Pick the beauty (a Blender `*.Combined.RGBA` render first, then `RGBA`), the depth (same
    sequence first, then a depth-only sequence) and the mask layers (`mask*.A`)."""
    keys = {name: _layer_keys(seq.channels) for name, seq in shot.sequences.items()}
    where = shot.folder / "shot.json" if shot.folder else "shot.json"
    if beauty is not None:
        if beauty not in keys:
            raise DreamroomsError(f"{where}: no sequence {beauty!r} for --beauty (has {', '.join(keys) or 'none'})")
        order = [beauty]
    else:
        order = sorted(keys, key=lambda n: (not any(k.endswith("Combined.RGBA") for k in keys[n]), n != "layers", n))
    src = None
    for name in order:
        key = _find_beauty(keys[name])
        if key:
            src = Sources(name, key)
            break
    if src is None:
        raise DreamroomsError(f"{where}: no sequence with RGBA colour to use as the beauty pass; "
                              "render or add one, or name it with --beauty")
    try:   # the shot's one depth rule, preferring the beauty's own file
        src.depth_seq, src.depth_key = depth_sequence(shot, depth, prefer=src.beauty_seq)
    except ShotError:
        if depth is not None:
            raise

    for k in keys[src.beauty_seq]:
        prefix, letters = exr.split_key(k)
        if letters == "A" and "mask" in prefix.lower():
            mname = prefix.rpartition(".")[2] or "mask"
            src.masks[mname] = (src.beauty_seq, k)
        elif k not in (src.beauty_key, src.depth_key) and prefix:
            src.passes[safe_name(prefix.rpartition(".")[2]).lower()] = (src.beauty_seq, k)
    return src


def _valid(d: np.ndarray) -> np.ndarray:
    return np.isfinite(d) & (d > 0) & (d < INVALID_DEPTH)


def depth_range(shot: Shot, src: Sources, mode: str | tuple[float, float] = "auto", samples: int = 8) -> tuple[float, float]:
    """(near, far) for the depth map: explicit, the camera clip range ('clip'), or percentiles ('auto')."""
    if isinstance(mode, tuple):
        near, far = mode
    elif mode == "clip":
        if shot.camera is None:
            raise DreamroomsError(f"{shot.folder}: --depth-range clip needs a camera in shot.json; use auto or NEAR,FAR")
        near, far = shot.camera.clip_start, shot.camera.clip_end
    else:
        frames = list(shot.frames)
        idx = np.unique(np.linspace(0, len(frames) - 1, min(samples, len(frames))).round().astype(int))
        vals = []
        for i in idx:
            d = exr.read_frame(shot.frame_path(src.depth_seq, frames[i]), [src.depth_key])[src.depth_key]
            d = np.asarray(d, dtype=np.float32)[::2, ::2]
            vals.append(d[_valid(d)])
        allv = np.concatenate(vals) if vals else np.empty(0)
        if allv.size == 0:
            raise DreamroomsError(f"{shot.folder}: sequence {src.depth_seq!r} has no valid depth (all <= 0, infinite or background)")
        near, far = (float(x) for x in np.percentile(allv, [1.0, 99.0]))
    if not (np.isfinite(near) and np.isfinite(far)) or far < near:
        raise DreamroomsError(f"depth range near={near} far={far} is invalid; give NEAR,FAR with NEAR < FAR")
    if far - near < 1e-6 * max(1.0, abs(far)):
        pad = max(abs(near) * 0.01, 1e-3)
        near, far = near - pad, far + pad
    return float(near), float(far)


MAP_KINDS = ("disparity", "linear")


def normalise_map(d: np.ndarray, near: float, far: float, kind: str = "disparity") -> np.ndarray:
    """0..1 luminance: 1 (white) at `near` and closer, 0 (black) at `far` and beyond or invalid;
    linear in 1/depth (`disparity`) or in depth (`linear`)."""
    d = np.asarray(d, dtype=np.float64)
    ok = _valid(d)
    if kind == "disparity":
        if near <= 0:
            raise DreamroomsError(f"depth range near={near}: a disparity map needs NEAR > 0 (give --depth-range NEAR,FAR or --blur-map linear)")
        with np.errstate(divide="ignore", invalid="ignore"):
            v = (1.0 / d - 1.0 / far) / (1.0 / near - 1.0 / far)
    elif kind == "linear":
        v = (far - d) / (far - near)
    else:
        raise DreamroomsError(f"map kind {kind!r}: use one of {', '.join(MAP_KINDS)}")
    v = np.where(ok, np.clip(v, 0.0, 1.0), 0.0)
    return v.astype(np.float32)


def pass_rgb(a: np.ndarray) -> tuple[str, np.ndarray]:
    """A pass as the layer AE's EXR importer shows: one channel -> RGB (grey), two -> RG (B 0), three -> RGB, four -> RGBA."""
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 2:
        return "RGB", np.repeat(a[..., None], 3, axis=-1)
    n = a.shape[-1]
    if n == 2:
        return "RGB", np.concatenate([a, np.zeros(a.shape[:2] + (1,), np.float32)], axis=-1)
    if n in (3, 4):
        return ("RGB" if n == 3 else "RGBA"), a
    return "RGB", a[..., :3]


def to_premultiplied_rgba(rgba: np.ndarray, premultiplied: bool) -> np.ndarray:
    rgba = np.asarray(rgba, dtype=np.float32)
    if rgba.shape[-1] == 3:
        rgba = np.concatenate([rgba, np.ones(rgba.shape[:2] + (1,), np.float32)], axis=-1)
    if not premultiplied:
        rgba = rgba.copy()
        rgba[..., :3] *= rgba[..., 3:4]
    return rgba


@dataclass
class Output:
    """One AE sequence written by the relayer: id, pattern relative to the ae folder, role, alpha mode."""
    id: str
    pattern: str
    role: str
    alpha: str
    label: str


def plan_outputs(name: str, src: Sources, map_kind: str = "disparity") -> list[Output]:
    """The sequences an export writes (ids are what the comp description refers to)."""
    base = safe_name(name)
    outs = [Output("beauty", f"beauty/{base}.{PAD}.exr", "beauty", "premultiplied", f"{name} beauty")]
    if src.depth_seq:
        label = "disparity map" if map_kind == "disparity" else "depth map"
        outs.append(Output("map", f"map/{base}_map.{PAD}.exr", "map", "ignore", f"{name} {label}"))
    for m in src.masks:
        sm = safe_name(m)
        outs.append(Output(f"mask:{m}", f"mask_{sm}/{base}_{sm}.{PAD}.exr", "mask", "straight", f"{name} {m}"))
    for p in src.passes:
        outs.append(Output(f"pass:{p}", f"passes/{p}/{base}_{p}.{PAD}.exr", "pass", "ignore", f"{name} {p}"))
    return outs


def _frame_layers(shot: Shot, src: Sources, frame: int, near: float | None, far: float | None,
                  map_kind: str) -> dict[str, dict[str, np.ndarray]]:
    """Read one shot frame and build the layers of every output file."""
    cache: dict[str, dict[str, np.ndarray]] = {}

    def layer(seq: str, key: str) -> np.ndarray:
        if seq not in cache:
            cache[seq] = exr.read_frame(shot.frame_path(seq, frame))
        got = cache[seq]
        if key not in got:
            raise DreamroomsError(f"{shot.frame_path(seq, frame)}: no layer {key!r} (has {', '.join(sorted(got))})")
        return got[key]

    premul = shot.sequences[src.beauty_seq].premultiplied
    rgba = to_premultiplied_rgba(layer(src.beauty_seq, src.beauty_key), premul)
    out: dict[str, dict[str, np.ndarray]] = {"beauty": {"RGBA": rgba}}
    if src.depth_seq:
        d = np.asarray(layer(src.depth_seq, src.depth_key), dtype=np.float32)
        if d.ndim == 3:
            d = d[..., 0]
        if d.shape != rgba.shape[:2]:
            raise DreamroomsError(f"{shot.frame_path(src.depth_seq, frame)}: depth is {d.shape} but the beauty is {rgba.shape[:2]}")
        out["beauty"]["depth.Z"] = d
        v = normalise_map(d, near, far, map_kind)
        out["map"] = {"RGB": np.repeat(v[..., None], 3, axis=-1)}
    for m, (seq, key) in src.masks.items():
        out[f"mask:{m}"] = {"A": np.asarray(layer(seq, key), dtype=np.float32)}
    for p, (seq, key) in src.passes.items():
        k, pix = pass_rgb(layer(seq, key))
        out[f"pass:{p}"] = {k: pix}
    return out


def remove_stale(out_dir: Path, outputs: list[Output], frames: range) -> list[Path]:
    """Delete frames of each output sequence outside `frames` (left by an earlier, longer export)."""
    gone = []
    for o in outputs:
        files, numbers = pattern_files(str(Path(out_dir) / o.pattern))   # the one `####` matcher
        for f, n in zip(files, numbers):
            if n not in frames and f.is_file():
                remove_inside(out_dir, f)
                gone.append(f)
    return gone


def relayer(shot: Shot, out_dir: Path, src: Sources, near: float | None, far: float | None, name: str,
            map_kind: str = "disparity", workers: int | None = None, compression: str = "zip") -> list[Output]:
    """Write every AE sequence frame by frame (parallel, resumable, atomic), then remove frames outside
    the shot's range; returns the outputs."""
    out_dir = Path(out_dir)
    outputs = plan_outputs(name, src, map_kind)
    attributes = {"pixelAspectRatio": float(shot.pixel_aspect)}
    stamp = {"version": 2, "sources": [src.beauty_seq, src.beauty_key, src.depth_seq, src.depth_key, sorted(src.masks.items()),
                                       sorted(src.passes.items())],
             "near": near, "far": far, "map": map_kind, "pixel_aspect": shot.pixel_aspect,
             "outputs": [o.pattern for o in outputs], "frames": [shot.frame_start, shot.frame_end], "compression": compression}
    stamp = json.loads(json.dumps(stamp))
    stamp_path = out_dir / STAMP
    resume = False
    if stamp_path.is_file():
        try:
            resume = json.loads(stamp_path.read_text(encoding="utf-8")) == stamp
        except (ValueError, UnicodeDecodeError):
            resume = False
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(stamp_path, json.dumps(stamp) + "\n")

    required = {o.id: ("A",) if o.role == "mask" else ("RGB",) for o in outputs}
    required["beauty"] = ("RGBA", "depth.Z") if src.depth_seq else ("RGBA",)

    def paths(frame: int) -> dict[str, Path]:
        return {o.id: confine(out_dir, frame_file(o.pattern, frame), f"{out_dir}: output") for o in outputs}

    def done(frame: int) -> bool:
        return all(p.is_file() and exr.is_complete(p, required[oid]) for oid, p in paths(frame).items())

    def work(frame: int) -> None:
        if resume and done(frame):
            return
        layers = _frame_layers(shot, src, frame, near, far, map_kind)
        for oid, p in paths(frame).items():
            types = {k: "float" for k in layers[oid]} if oid.startswith("pass:") else None
            exr.write_frame(p, layers[oid], compression=compression, types=types, attributes=attributes)

    workers = workers or exr.default_workers()
    frames = list(shot.frames)
    clean_stale_temps(paths(frames[0]).values())   # what a killed run was writing (the caller holds the ae lock)
    with progress(len(frames), "ae: re-layer") as bar, ThreadPoolExecutor(workers, thread_name_prefix="ae-relayer") as pool:
        pending = []
        for f in frames:
            pending.append(pool.submit(work, f))
            if len(pending) >= 2 * workers:
                pending.pop(0).result()
                bar.update(1)
        for fut in pending:
            fut.result()
            bar.update(1)
    remove_stale(out_dir, outputs, shot.frames)
    return outputs
