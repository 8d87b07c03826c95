"""Re-layer a shot's EXR frames into After Effects-friendly sequences under SHOT/ae/.

Outputs, one folder per sequence so AE's sequence detection never mixes them:
  beauty/NAME.####.exr         RGBA half, linear, premultiplied, plus depth.Z float32 (AE's 3D channel)
  depth/NAME_depth.####.exr    RGB half: depth normalised to 0..1, white = near, black = far
  mask_M/NAME_M.####.exr       A half: one alpha-only sequence per mask layer

Depth mapping: v = clip((far - d) / (far - near), 0, 1) with near/far fixed for the whole shot
(from `--depth-range`, the camera clip range, or by default the 1st/99th percentiles of valid depth
over up to 8 sampled frames).  Invalid depth (<= 0, not finite, or Blender's 1e10 background) is 0.

Frames stream one at a time on a thread pool with a bounded backlog; every file is written
atomically; a rerun skips frames whose outputs are complete (a stamp records the settings, and a
change of settings redoes every frame).
"""
from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dreamrooms.shot import exr
from dreamrooms.atomic import write_text_atomic
from dreamrooms.errors import DreamroomsError, ShotError
from dreamrooms.progress import progress
from dreamrooms.shot import Shot, frame_file
from dreamrooms.shot.roles import depth_sequence

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


def normalise_depth(d: np.ndarray, near: float, far: float) -> np.ndarray:
    """0..1 luminance: 1 (white) at `near` and closer, 0 (black) at `far` and beyond or invalid."""
    d = np.asarray(d, dtype=np.float32)
    v = (far - d) / np.float32(far - near)
    v = np.clip(v, 0.0, 1.0)
    v[~_valid(d)] = 0.0
    return v.astype(np.float32)


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


def plan_outputs(name: str, src: Sources) -> list[Output]:
    base = safe_name(name)
    outs = [Output("beauty", f"beauty/{base}.{PAD}.exr", "beauty", "premultiplied", f"{name} beauty")]
    if src.depth_seq:
        outs.append(Output("depth", f"depth/{base}_depth.{PAD}.exr", "depth", "ignore", f"{name} depth map"))
    for m in src.masks:
        sm = safe_name(m)
        outs.append(Output(f"mask:{m}", f"mask_{sm}/{base}_{sm}.{PAD}.exr", "mask", "straight", f"{name} {m}"))
    return outs


def _frame_layers(shot: Shot, src: Sources, frame: int, near: float | None, far: float | None) -> dict[str, dict[str, np.ndarray]]:
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
        v = normalise_depth(d, near, far)
        out["depth"] = {"RGB": np.repeat(v[..., None], 3, axis=-1)}
    for m, (seq, key) in src.masks.items():
        out[f"mask:{m}"] = {"A": np.asarray(layer(seq, key), dtype=np.float32)}
    return out


def relayer(shot: Shot, out_dir: Path, src: Sources, near: float | None, far: float | None, name: str,
            workers: int | None = None, compression: str = "zip") -> list[Output]:
    """Write every AE sequence frame by frame (parallel, resumable, atomic); returns the outputs."""
    out_dir = Path(out_dir)
    outputs = plan_outputs(name, src)
    stamp = {"version": 1, "sources": [src.beauty_seq, src.beauty_key, src.depth_seq, src.depth_key, sorted(src.masks.items())],
             "near": near, "far": far, "outputs": [o.pattern for o in outputs], "frames": [shot.frame_start, shot.frame_end],
             "compression": compression}
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

    required = {"beauty": ("RGBA", "depth.Z") if src.depth_seq else ("RGBA",), "depth": ("RGB",)}

    def paths(frame: int) -> dict[str, Path]:
        return {o.id: out_dir / frame_file(o.pattern, frame) for o in outputs}

    def done(frame: int) -> bool:
        return all(p.is_file() and exr.is_complete(p, required.get(oid, ("A",))) for oid, p in paths(frame).items())

    def work(frame: int) -> None:
        if resume and done(frame):
            return
        layers = _frame_layers(shot, src, frame, near, far)
        for oid, p in paths(frame).items():
            exr.write_frame(p, layers[oid], compression=compression)

    workers = workers or exr.default_workers()
    frames = list(shot.frames)
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
    return outputs
