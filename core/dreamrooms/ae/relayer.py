"""Re-layer a shot's EXR frames into After Effects-friendly sequences under SHOT/ae/.

Outputs, one folder per sequence so AE's sequence detection never mixes them (no spaces in any name):
  beauty/NAME.####.exr            RGBA half, linear, premultiplied, plus depth.Z float32 (a named channel for
                                  compositors: AE's EXR importer tags only a channel literally named `Z` as
                                  depth unless an OpenEXR_channel_map.txt says otherwise, fnordware/openexrAE
                                  src/OpenEXR.cpp, so AE's 3D Channel effects do not read depth.Z as depth)
  map/NAME_map.####.exr           RGB half: the 0..1 map for Camera Lens Blur and Displacement Map, white = near
  mask_M/NAME_M.####.exr          A half: one alpha-only sequence per matte (`dreamrooms mask` or the file's own)
  reveal/NAME_reveal.####.exr     A half: the reveal matte (1 = revealed), the clean-up layer's track matte
  passes/P/NAME_P.####.exr        every other pass of the render (mist, vector, normal, indexob...) as float
                                  R,G,B(,A) that AE's EXR importer reads as the layer's colour
  passes/C/NAME_C.####.exr        each Cryptomatte (cryptoobject, cryptomaterial, ...): every rank under its
                                  original channel names, with the source header's `cryptomatte/*` metadata
                                  (name, manifest, hash, conversion) the Cryptomatte effect reads, plus RGBA

The map, with near/far fixed for the whole shot (`--depth-range`, the camera clip range, or by default
the 1st/99th percentiles of valid depth over up to 8 sampled frames):
  disparity (default): v = clip((1/d - 1/far) / (1/near - 1/far), 0, 1); defocus and parallax both
                       grow with |1/d - 1/focus|, so |v - v_focus| is proportional to both
  linear:              v = clip((far - d) / (far - near), 0, 1)
Invalid depth (<= 0, not finite, or Blender's 1e10 background) is 0 (black, as far as far).

Every file carries the shot's pixelAspectRatio.  Frames stream one at a time on a thread pool with a
bounded backlog; every file is written atomically; a rerun skips frames whose outputs are complete (a
stamp records the settings, and a change of settings redoes every frame); frames outside the shot's
range left by an earlier, longer export are removed, so AE never imports them.  Finding the sources and
the depth range is exporter-neutral (dreamrooms.export.sources).
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import OpenEXR

from dreamrooms.atomic import clean_stale_temps, write_text_atomic
from dreamrooms.errors import DreamroomsError
from dreamrooms.export.sources import (INVALID_DEPTH, MAP_KINDS, Sources, depth_range, file_name,  # noqa: F401
                                       find_sources, normalise_map, safe_name)
from dreamrooms.progress import progress
from dreamrooms.shot import Shot, exr, frame_file
from dreamrooms.shot.paths import confine, remove_inside
from dreamrooms.shot.sources import pattern_files

PAD = "####"
STAMP = ".relayer.json"
CRYPTO_PREFIX = "cryptomatte/"


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
    """One AE sequence written by the relayer: id, pattern relative to the ae folder, role, alpha mode, label,
    and whether it holds colour (scene-linear) or data (raw)."""
    id: str
    pattern: str
    role: str
    alpha: str
    label: str
    colour: str = "raw"


def plan_outputs(name: str, src: Sources, map_kind: str = "disparity") -> list[Output]:
    """The sequences an export writes (ids are what the comp description refers to)."""
    base = file_name(name)
    outs = [Output("beauty", f"beauty/{base}.{PAD}.exr", "beauty", "premultiplied", f"{name} beauty", "scene_linear")]
    if src.depth_seq:
        label = "disparity map" if map_kind == "disparity" else "depth map"
        outs.append(Output("map", f"map/{base}_map.{PAD}.exr", "map", "ignore", f"{name} {label}"))
    for m in src.masks:
        sm = file_name(m)
        outs.append(Output(f"mask:{m}", f"mask_{sm}/{base}_{sm}.{PAD}.exr", "mask", "straight", f"{name} {m}"))
    if src.reveal:
        outs.append(Output("reveal", f"reveal/{base}_reveal.{PAD}.exr", "reveal", "straight", f"{name} reveal"))
    for p in list(src.passes) + list(src.crypto):
        outs.append(Output(f"pass:{p}", f"passes/{p}/{base}_{p}.{PAD}.exr", "pass", "ignore", f"{name} {p}"))
    return outs


def crypto_attributes(path: Path) -> dict[str, str]:
    """The `cryptomatte/<id>/...` header attributes of every part of an EXR (name, manifest, hash, conversion)."""
    with OpenEXR.File(str(path), header_only=True) as f:
        return {k: v for part in f.parts for k, v in part.header.items() if k.startswith(CRYPTO_PREFIX)}


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
    mattes = [(f"mask:{m}", sk) for m, sk in src.masks.items()] + ([("reveal", src.reveal)] if src.reveal else [])
    for oid, (seq, key) in mattes:
        a = np.asarray(layer(seq, key), dtype=np.float32)
        a = a[..., 0] if a.ndim == 3 else a
        if a.shape != rgba.shape[:2]:
            raise DreamroomsError(f"{shot.frame_path(seq, frame)}: matte is {a.shape} but the beauty is {rgba.shape[:2]}; "
                                  "make the mattes from the same frames (dreamrooms mask) or pick that beauty with --beauty")
        out[oid] = {"A": a}
    for p, (seq, key) in src.passes.items():
        k, pix = pass_rgb(layer(seq, key))
        out[f"pass:{p}"] = {k: pix}
    for c, (seq, keys) in src.crypto.items():
        ranks = {k: np.asarray(layer(seq, k), dtype=np.float32) for k in keys}
        out[f"pass:{c}"] = {"RGBA": pass_rgb(ranks[keys[0]])[1], **ranks}
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


def _stamp(shot: Shot, src: Sources, near, far, map_kind: str, outputs: list[Output], compression: str) -> dict:
    """What a rerun must match to keep finished frames."""
    stamp = {"version": 3, "sources": [src.beauty_seq, src.beauty_key, src.depth_seq, src.depth_key, sorted(src.masks.items()),
                                       sorted(src.passes.items()), sorted(src.crypto.items()), src.reveal],
             "near": near, "far": far, "map": map_kind, "pixel_aspect": shot.pixel_aspect,
             "outputs": [o.pattern for o in outputs], "frames": [shot.frame_start, shot.frame_end], "compression": compression}
    return json.loads(json.dumps(stamp))


def relayer(shot: Shot, out_dir: Path, src: Sources, near: float | None, far: float | None, name: str,
            map_kind: str = "disparity", workers: int | None = None, compression: str = exr.DEFAULT_COMPRESSION) -> list[Output]:
    """Write every AE sequence frame by frame (parallel, resumable, atomic), then remove frames outside
    the shot's range; returns the outputs."""
    out_dir = Path(out_dir)
    outputs = plan_outputs(name, src, map_kind)
    attributes = {"pixelAspectRatio": float(shot.pixel_aspect)}
    stamp = _stamp(shot, src, near, far, map_kind, outputs, compression)
    stamp_path = out_dir / STAMP
    resume = False
    if stamp_path.is_file():
        try:
            resume = json.loads(stamp_path.read_text(encoding="utf-8")) == stamp
        except (ValueError, UnicodeDecodeError):
            resume = False
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(stamp_path, json.dumps(stamp) + "\n")

    required = {o.id: ("A",) if o.role in ("mask", "reveal") else ("RGB",) for o in outputs}
    required["beauty"] = ("RGBA", "depth.Z") if src.depth_seq else ("RGBA",)
    for c, (_, keys) in src.crypto.items():
        required[f"pass:{c}"] = ("RGBA", *keys)

    def paths(frame: int) -> dict[str, Path]:
        return {o.id: confine(out_dir, frame_file(o.pattern, frame), f"{out_dir}: output") for o in outputs}

    def done(frame: int) -> bool:
        return all(p.is_file() and exr.is_complete(p, required[oid]) for oid, p in paths(frame).items())

    def work(frame: int) -> None:
        if resume and done(frame):
            return
        layers = _frame_layers(shot, src, frame, near, far, map_kind)
        crypto = crypto_attributes(shot.frame_path(src.beauty_seq, frame)) if src.crypto else {}
        for oid, p in paths(frame).items():
            types = {k: "float" for k in layers[oid]} if oid.startswith("pass:") else None
            extra = {**attributes, **crypto} if oid.startswith("pass:") and oid[5:] in src.crypto else attributes
            exr.write_frame(p, layers[oid], compression=compression, types=types, attributes=extra)

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
