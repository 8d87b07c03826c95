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

Every file carries the shot's pixelAspectRatio.  Frames stream through the stage spine (reader threads, writer
threads with a bounded backlog); every file is written atomically; a rerun skips frames whose outputs are complete
(the settings fingerprint in each beauty file's header; a change of settings redoes every frame); frames outside
the shot's range left by an earlier, longer export are removed, so AE never imports them.  Finding the sources and
the depth range is exporter-neutral (dreamrooms.export.sources).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import OpenEXR

from dreamrooms import stage as spine
from dreamrooms.errors import DreamroomsError
from dreamrooms.export.sources import (INVALID_DEPTH, MAP_KINDS, Sources, depth_range, file_name,  # noqa: F401
                                       find_sources, normalise_map, safe_name)
from dreamrooms.shot import Shot, exr, frame_file
from dreamrooms.shot.paths import confine, remove_inside
from dreamrooms.shot.sources import pattern_files

PAD = "####"
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


class RelayerStage(spine.Stage):
    """The AE re-layer on the stage spine: independent frames, the settings fingerprint in every beauty file's
    header; a change of settings redoes every frame (no --overwrite needed: the AE folder is derived data)."""
    name, attr = "ae", "dreamrooms_ae"
    reads, writes = ("colour", "depth", "mattes", "passes"), ("ae/ sequences",)
    redo_other_settings = True

    def folder(self, r: "Relayer") -> Path:
        return Path(r.shot.folder)

    def prepare(self, r: "Relayer", chunk=None) -> spine.Job:
        r.outputs = outputs = plan_outputs(r.name, r.src, r.map_kind)
        stamp = _stamp(r.shot, r.src, r.near, r.far, r.map_kind, outputs, r.compression)
        required = {o.id: ("A",) if o.role in ("mask", "reveal") else ("RGB",) for o in outputs}
        required["beauty"] = ("RGBA", "depth.Z") if r.src.depth_seq else ("RGBA",)
        for c, (_, keys) in r.src.crypto.items():
            required[f"pass:{c}"] = ("RGBA", *keys)

        def files(n: int) -> list[spine.Output]:
            return [spine.Output(r.out_dir / frame_file(o.pattern, n), required[o.id], stamped=o.id == "beauty")
                    for o in outputs]

        frames = list(r.shot.frames)
        return spine.Job(r.out_dir, frames, spine.fingerprint_of(stamp), files, frames, None, r)

    def read_workers(self, job) -> int:
        return job.data.workers or exr.default_workers()     # EXR reads and the map maths release the GIL

    def read(self, job, n: int):
        r = job.data
        crypto = crypto_attributes(r.shot.frame_path(r.src.beauty_seq, n)) if r.src.crypto else {}
        return _frame_layers(r.shot, r.src, n, r.near, r.far, r.map_kind), crypto

    def compute(self, job, state, n: int, inputs) -> dict:
        r, (layers, crypto) = job.data, inputs
        attributes = {"pixelAspectRatio": float(r.shot.pixel_aspect)}
        out = {}
        for o, f in zip(r.outputs, job.outputs(n)):
            opts = {"compression": r.compression, "attributes": attributes}
            if o.id.startswith("pass:"):
                opts["types"] = {k: "float" for k in layers[o.id]}
                if o.id[5:] in r.src.crypto:
                    opts["attributes"] = {**attributes, **crypto}
            out[f.path] = (layers[o.id], opts)
        return out


@dataclass
class Relayer:
    """One re-layer run: the shot, where the AE sequences go, which sources, the map's range and kind."""
    shot: Shot
    out_dir: Path
    src: Sources
    near: float | None
    far: float | None
    name: str
    map_kind: str = "disparity"
    workers: int | None = None
    compression: str = exr.DEFAULT_COMPRESSION
    outputs: list = field(default_factory=list)


RELAYER = RelayerStage()


def relayer(shot: Shot, out_dir: Path, src: Sources, near: float | None, far: float | None, name: str,
            map_kind: str = "disparity", workers: int | None = None,
            compression: str = exr.DEFAULT_COMPRESSION) -> list[Output]:
    """Write every AE sequence frame by frame (the stage spine's streamed run: resumable, atomic; the caller holds
    the `ae` lock), then remove frames outside the shot's range; returns the outputs."""
    r = Relayer(shot, Path(out_dir), src, near, far, name, map_kind, workers, compression)
    spine.produce(RELAYER, r)
    remove_stale(r.out_dir, r.outputs, shot.frames)
    return r.outputs
