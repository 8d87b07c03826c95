"""Run a generator ONNX along a latent path and stream the frames into a shot folder.

Frames go to ``layers/walk.####.exr`` as RGBA half, scene-linear: the generator's output (sRGB-encoded
0..1 per its manifest entry, ``output_colorspace``) is decoded with the IEC 61966-2-1 curve
(:mod:`dreamrooms.colour`), alpha is 1 (so premultiplied == straight).  Writing happens on background
threads (:class:`dreamrooms.shot.exr.SequenceWriter`) while the next batch infers.  A rerun with the same
settings skips frames already complete (their EXR headers carry the walk's fingerprint); ``shot.json`` is written
once every frame is on disk.

The generator itself (its contract and feeds) is :mod:`dreamrooms.walk.generator`.
"""
from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from dreamrooms.shot import exr
from dreamrooms.walk import latent
from dreamrooms import limits
from dreamrooms.atomic import atomic_path
from dreamrooms.errors import DreamroomsError
from dreamrooms.progress import progress
from dreamrooms.shot import Shot
from dreamrooms.walk.generator import GenerateError, Generator, resize, to_linear_rgba_half

SEQUENCE = "walk"
PATTERN = "layers/walk.####.exr"


# ---- walk settings ---------------------------------------------------------------------------------
@dataclass
class WalkSettings:
    frames: int
    fps: float
    size: tuple[int, int]  # (H, W)
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    keyframes: str | None = None
    interp: str = "slerp"
    space: str = "z"
    loop: bool = False
    noise_loop: float | None = None
    ease: str = "linear"
    truncation: float = 1.0
    batch: int = 4
    preview: str | None = None  # None | "png" | "mp4"
    constant_speed: bool = False
    compression: str = exr.DEFAULT_COMPRESSION


def build_path(gen: Generator, s: WalkSettings) -> tuple[Callable[[np.ndarray], np.ndarray], dict[str, Any]]:
    """The walk as a function u -> latents in the generator's feed space, plus provenance info."""
    if s.space not in ("z", "w"):
        raise GenerateError(f"--space {s.space!r}; use z or w")
    if s.space == "w" and not gen.has_mapping:
        raise GenerateError(f"--space w: model {gen.name} has no mapping step (no mapping_input in its manifest); use --space z")
    dim = gen.spec.latent_dim
    truncation = s.truncation
    info: dict[str, Any] = {"interp": s.interp, "space": s.space, "loop": bool(s.loop or s.noise_loop), "ease": s.ease}
    if s.noise_loop is not None:
        seed = s.seeds[0] if s.seeds else 0
        base = latent.NoiseLoop(dim, s.noise_loop, seed)
        info.update(noise_loop=s.noise_loop, seeds=[seed])
        loop = True
        path_fn = base.at
        to_space = "z"
    else:
        opts: dict[str, Any] = {}
        if s.keyframes:
            keys, opts = latent.load_keyframes(s.keyframes, dim)
            info["keyframes"] = str(s.keyframes)
        else:
            keys = [latent.Keyframe(latent.seed_latent(sd, dim), seed=sd) for sd in s.seeds]
        loop = bool(opts.get("loop", s.loop))
        truncation = opts.get("truncation", s.truncation)   # the keyframe file's walk defaults win, as interp's do
        interp = opts.get("interp", s.interp)
        ease_kind = opts.get("ease", s.ease)
        if s.space == "w":
            for k in keys:
                k.latent = gen.map(k.latent[None])[0]
            if interp == "slerp":
                interp = "lerp"  # W is not Gaussian: slerp has no meaning there
        kp = latent.KeyframePath(keys, s.frames, interp=interp, loop=loop, ease=ease_kind)
        info.update(interp=interp, ease=ease_kind, loop=loop, seeds=[k.seed for k in keys if k.seed is not None])
        path_fn = kp.at
        to_space = s.space
    info["loop"] = loop
    if isinstance(truncation, bool) or not isinstance(truncation, (int, float)) or not (
            truncation > 0 and math.isfinite(truncation)):
        where = f"{s.keyframes}: truncation" if truncation is not s.truncation else "--truncation"
        raise GenerateError(f"{where} must be a positive number (1 = off, 0.7 typical), got {truncation!r}")
    truncation = float(truncation)

    # truncation: toward the manifest's mean latent, else W's measured mean, else the origin of Z
    mean = None
    if truncation != 1.0:
        if gen.spec.truncation_mean:
            try:
                mean = np.load(gen.spec.truncation_mean, allow_pickle=False).astype(np.float32).reshape(-1)
            except (OSError, ValueError) as exc:
                raise GenerateError(f"model {gen.name}: truncation_mean {gen.spec.truncation_mean} unreadable ({exc})") from None
        elif gen.has_mapping:
            mean = gen.mean_w()
        info["truncation"] = truncation

    def latents_at(u: np.ndarray) -> np.ndarray:
        lat = path_fn(np.asarray(u, np.float64))
        if gen.has_mapping and to_space == "z":
            lat = np.concatenate([gen.map(lat[i:i + 64]) for i in range(0, len(lat), 64)])
        if truncation != 1.0:
            lat = latent.truncate(lat, truncation, mean)
        return lat

    return latents_at, info


def frame_latents(gen: Generator, s: WalkSettings, measure_size: int = 64) -> tuple[np.ndarray, dict[str, Any]]:
    """Latents for every frame [N, D] (reparametrised for constant speed when asked)."""
    latents_at, info = build_path(gen, s)
    loop = info["loop"]
    u = latent.frame_times(s.frames, loop)
    if s.constant_speed and s.frames > 2:
        m = int(min(max(4 * s.frames, 64), 1024))
        u_dense = np.linspace(0.0, 1.0, m + 1)
        h, w = s.size
        scale = measure_size / max(h, w)
        msize = (max(8, round(h * scale)), max(8, round(w * scale)))
        prev = None
        d = np.empty(m)
        lat = latents_at(u_dense)
        bar = progress(m + 1, "measuring path speed")
        k = 0
        for i in range(0, m + 1, 16):
            imgs = gen.render(lat[i:i + 16], msize)
            for im in imgs:
                if prev is not None:
                    d[k] = float(np.abs(im - prev).mean())
                    k += 1
                prev = im
            bar.update(len(imgs))
        bar.close()
        u = latent.constant_speed_times(u_dense, d, s.frames, loop)
        info["constant_speed"] = True
    return latents_at(u), info


# ---- the walk --------------------------------------------------------------------------------------
def _settings_key(gen: Generator, s: WalkSettings, lat: np.ndarray) -> dict[str, Any]:
    return {"model": gen.name, "sha256": gen.sha256, "size": list(s.size), "frames": s.frames,
            "latents_sha256": hashlib.sha256(np.ascontiguousarray(lat, np.float32).tobytes()).hexdigest(),
            "range": list(gen.spec.output_range), "colorspace": gen.spec.output_colorspace}


def run_walk(gen: Generator, out: str | os.PathLike, s: WalkSettings, overwrite: bool = False,
             argv: list[str] | None = None, writer_workers: int | None = None) -> Shot:
    """Render the walk into shot folder `out` (resuming when settings match) and return the Shot.  The run's life
    (lock, resume by the header fingerprint, registration, cleanup, cluster chunks) is the stage spine's: see
    :mod:`dreamrooms.walk.stage`.  Every setting is checked before anything is written."""
    from dreamrooms import stage as spine
    from dreamrooms.walk.stage import WALK, WalkRun

    check_settings(s)
    return spine.run(WALK, WalkRun(gen, str(out), s, overwrite, argv, writer_workers)).shot


def check_settings(s: WalkSettings) -> None:
    """One line naming the first setting out of range (dreamrooms.limits); nothing is written before this."""
    if not isinstance(s.frames, int) or not 1 <= s.frames <= limits.MAX_FRAMES:
        raise GenerateError(f"--frames {s.frames}: give 1..{limits.MAX_FRAMES} frames")
    limits.check_number(s.fps, "--fps", low=0, high=limits.MAX_FPS, low_open=True)
    h, w = s.size
    if h < 8 or w < 8:
        raise GenerateError(f"--size {w}x{h}: width and height must be at least 8")
    limits.check_resolution(w, h, "--size")
    limits.check_number(s.batch, "--batch", low=1, high=limits.MAX_BATCH)
    if s.noise_loop is not None:
        limits.check_number(s.noise_loop, "--noise-loop", low=0, high=limits.MAX_NOISE_LOOP, low_open=True)
    limits.check_number(s.truncation, "--truncation", low=0, high=2)
    if s.preview not in (None, "png", "mp4"):
        raise GenerateError(f"--preview {s.preview!r}; use png or mp4")
    if s.compression not in exr.COMPRESSIONS:
        raise GenerateError(f"--compression {s.compression!r}; use one of {', '.join(sorted(exr.COMPRESSIONS))}")


def _remove_derived(old: Shot) -> None:
    """Delete the frames of every sequence of `old` but the walk itself (paths confined to the shot)."""
    for name in old.sequences:
        if name == SEQUENCE:
            continue
        for f in old.frames:
            try:
                old.frame_path(name, f).unlink(missing_ok=True)
            except DreamroomsError:  # a pattern that leads outside the shot: never delete there
                break


def _rgba_layers(img_chw: np.ndarray, colorspace: str) -> dict[str, np.ndarray]:
    return {"RGBA": to_linear_rgba_half(img_chw, colorspace)}


def _write_preview(path: Path, img_chw: np.ndarray, colorspace: str) -> None:
    with atomic_path(path) as tmp:
        ok, buf = cv2.imencode(".png", _to_bgr8(img_chw, colorspace))
        tmp.write_bytes(buf.tobytes())


def _to_bgr8(img_chw: np.ndarray, colorspace: str) -> np.ndarray:
    x = np.clip(img_chw, 0.0, 1.0)
    if colorspace == "linear":
        from dreamrooms.colour import linear_to_srgb
        x = linear_to_srgb(x)
    return np.ascontiguousarray((x[::-1].transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8))
