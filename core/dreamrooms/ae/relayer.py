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

Every file carries the shot's pixelAspectRatio.  Frames stream through the stage spine (a reader thread, writer
threads with a bounded backlog); every file is written atomically; a rerun skips frames whose outputs are complete
(the settings fingerprint in each beauty file's header; a change of settings redoes every frame); frames outside
the shot's range left by an earlier, longer export are removed, so AE never imports them.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dreamrooms.shot import exr
from dreamrooms import stage as spine
from dreamrooms.errors import DreamroomsError, ShotError
from dreamrooms.shot import Shot, frame_file
from dreamrooms.shot.roles import depth_sequence
from dreamrooms.shot.sources import pattern_files

PAD = "####"
INVALID_DEPTH = 1e9
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
                f.unlink()
                gone.append(f)
    return gone


class RelayerStage(spine.Stage):
    """The AE re-layer on the stage spine: independent frames, the settings fingerprint in every beauty file's
    header; a change of settings redoes every frame (no --overwrite needed: the AE folder is derived data)."""
    name, attr = "ae", "dreamrooms_ae"
    reads, writes = ("colour", "depth", "mattes", "passes"), ("ae/ sequences",)
    redo_other_settings = True

    def folder(self, r: "Relayer") -> Path:
        return Path(r.shot.folder)

    def prepare(self, r: "Relayer", chunk=None) -> spine.Job:
        outputs = plan_outputs(r.name, r.src, r.map_kind)
        r.outputs = outputs
        stamp = {"version": 2, "sources": [r.src.beauty_seq, r.src.beauty_key, r.src.depth_seq, r.src.depth_key,
                                           sorted(r.src.masks.items()), sorted(r.src.passes.items())],
                 "near": r.near, "far": r.far, "map": r.map_kind, "pixel_aspect": r.shot.pixel_aspect,
                 "outputs": [o.pattern for o in outputs], "frames": [r.shot.frame_start, r.shot.frame_end],
                 "compression": r.compression}
        required = {o.id: ("A",) if o.role == "mask" else ("RGB",) for o in outputs}
        required["beauty"] = ("RGBA", "depth.Z") if r.src.depth_seq else ("RGBA",)

        def files(n: int) -> list[spine.Output]:
            return [spine.Output(r.out_dir / frame_file(o.pattern, n), required[o.id], stamped=o.id == "beauty")
                    for o in outputs]

        frames = list(r.shot.frames)
        return spine.Job(r.out_dir, frames, spine.fingerprint_of(json.loads(json.dumps(stamp))), files, frames,
                         None, r)

    def read_workers(self, job) -> int:
        return job.data.workers or exr.default_workers()     # EXR reads and the map maths release the GIL

    def read(self, job, n: int):
        r = job.data
        return _frame_layers(r.shot, r.src, n, r.near, r.far, r.map_kind)

    def compute(self, job, state, n: int, layers) -> dict:
        return {out.path: layers[o.id] for o, out in zip(job.data.outputs, job.outputs(n))}

    def write_options(self, job, path: Path) -> dict:
        r = job.data
        types = ({"RGB": "float", "RGBA": "float"} if path.parent.parent.name == "passes" else None)
        return {"compression": r.compression, "types": types, "attributes": {"pixelAspectRatio": float(r.shot.pixel_aspect)}}


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
    compression: str = "zip"
    outputs: list = field(default_factory=list)


RELAYER = RelayerStage()


def relayer(shot: Shot, out_dir: Path, src: Sources, near: float | None, far: float | None, name: str,
            map_kind: str = "disparity", workers: int | None = None, compression: str = "zip") -> list[Output]:
    """Write every AE sequence frame by frame (the stage spine's streamed run: resumable, atomic; the caller holds
    the `ae` lock), then remove frames outside the shot's range; returns the outputs."""
    r = Relayer(shot, Path(out_dir), src, near, far, name, map_kind, workers, compression)
    spine.produce(RELAYER, r)
    remove_stale(r.out_dir, r.outputs, shot.frames)
    return r.outputs
