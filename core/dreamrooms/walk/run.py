"""Run a generator ONNX along a latent path and stream the frames into a shot folder.

Frames go to ``layers/walk.####.exr`` as RGBA half, scene-linear: the generator's output (sRGB-encoded
0..1 per its manifest entry, ``output_colorspace``) is decoded with the IEC 61966-2-1 curve
(:mod:`dreamrooms.colour`), alpha is 1 (so premultiplied == straight).  Writing happens on background
threads (:class:`dreamrooms.shot.exr.SequenceWriter`) while the next batch infers.  A rerun with the same
settings skips frames already complete; ``shot.json`` is written once every frame is on disk.

The generator itself (its contract and feeds) is :mod:`dreamrooms.walk.generator`.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from dreamrooms.shot import exr
from dreamrooms.walk import latent as walk
from dreamrooms import limits
from dreamrooms.atomic import atomic_path, clean_stale_temps, write_text_atomic
from dreamrooms.errors import DreamroomsError
from dreamrooms.shot.lock import lock_path, writer_lock
from dreamrooms.progress import progress
from dreamrooms.shot import MANIFEST, Shot, frame_file, update_shot
from dreamrooms.walk.generator import GenerateError, Generator, resize, to_linear_rgba_half

SEQUENCE = "walk"
PATTERN = "layers/walk.####.exr"
SETTINGS_FILE = "layers/walk.settings.json"


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
    compression: str = "zip"


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
        base = walk.NoiseLoop(dim, s.noise_loop, seed)
        info.update(noise_loop=s.noise_loop, seeds=[seed])
        loop = True
        path_fn = base.at
        to_space = "z"
    else:
        opts: dict[str, Any] = {}
        if s.keyframes:
            keys, opts = walk.load_keyframes(s.keyframes, dim)
            info["keyframes"] = str(s.keyframes)
        else:
            keys = [walk.Keyframe(walk.seed_latent(sd, dim), seed=sd) for sd in s.seeds]
        loop = bool(opts.get("loop", s.loop))
        truncation = opts.get("truncation", s.truncation)   # the keyframe file's walk defaults win, as interp's do
        interp = opts.get("interp", s.interp)
        ease_kind = opts.get("ease", s.ease)
        if s.space == "w":
            for k in keys:
                k.latent = gen.map(k.latent[None])[0]
            if interp == "slerp":
                interp = "lerp"  # W is not Gaussian: slerp has no meaning there
        kp = walk.KeyframePath(keys, s.frames, interp=interp, loop=loop, ease=ease_kind)
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
            lat = walk.truncate(lat, truncation, mean)
        return lat

    return latents_at, info


def frame_latents(gen: Generator, s: WalkSettings, measure_size: int = 64) -> tuple[np.ndarray, dict[str, Any]]:
    """Latents for every frame [N, D] (reparametrised for constant speed when asked)."""
    latents_at, info = build_path(gen, s)
    loop = info["loop"]
    u = walk.frame_times(s.frames, loop)
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
        u = walk.constant_speed_times(u_dense, d, s.frames, loop)
        info["constant_speed"] = True
    return latents_at(u), info


# ---- the walk --------------------------------------------------------------------------------------
def _settings_key(gen: Generator, s: WalkSettings, lat: np.ndarray) -> dict[str, Any]:
    return {"model": gen.name, "sha256": gen.sha256, "size": list(s.size), "frames": s.frames,
            "latents_sha256": hashlib.sha256(np.ascontiguousarray(lat, np.float32).tobytes()).hexdigest(),
            "range": list(gen.spec.output_range), "colorspace": gen.spec.output_colorspace}


def run_walk(gen: Generator, out: str | os.PathLike, s: WalkSettings, overwrite: bool = False,
             argv: list[str] | None = None, writer_workers: int | None = None, *,
             latents: tuple[np.ndarray, dict] | None = None, only: list[int] | None = None,
             register: bool = True, lock: bool = True) -> Shot:
    """Render the walk into shot folder `out` (resuming when settings match) and return the Shot.

    For walks rendered in chunks elsewhere (:mod:`dreamrooms.cluster.stages`): `latents` is what
    :func:`frame_latents` returned on the driver, `only` the 0-based frames this call renders, and with
    `register` false the sequence is not recorded (a new shot gets a shot.json without it, which every
    task checks it sees).  Every setting is checked before anything is written; one walk at a time writes a
    shot (writer lock; `lock=False` for the chunks of a cluster run, whose driver holds it)."""
    out = Path(out)
    check_settings(s)
    if not lock:
        return _run_walk(gen, out, s, overwrite, argv, writer_workers, latents, only, register)
    with writer_lock(out, "walk"):
        return _run_walk(gen, out, s, overwrite, argv, writer_workers, latents, only, register)


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


def _run_walk(gen: Generator, out: Path, s: WalkSettings, overwrite: bool, argv: list[str] | None,
              writer_workers: int | None, latents: tuple[np.ndarray, dict] | None, only: list[int] | None,
              register: bool) -> Shot:
    h, w = s.size
    batch = min(s.batch, gen.max_batch) if gen.max_batch else s.batch

    # existing shot: must agree on size and frames
    shot: Shot
    previous: Shot | None = None
    if (out / MANIFEST).is_file():
        shot = previous = Shot.load(out, check_files=False)
        if (shot.width, shot.height) != (w, h) or shot.frame_count != s.frames:
            if not overwrite:
                raise GenerateError(f"{out / MANIFEST}: shot is {shot.width}x{shot.height}, {shot.frame_count} frames; "
                                    f"the walk is {w}x{h}, {s.frames} frames — use a new --out folder or --overwrite")
            shot = Shot(fps=s.fps, width=w, height=h, frame_start=1, frame_end=s.frames, name=out.name or "walk")
    elif out.exists() and any(p for p in out.iterdir() if p.name not in ("layers", "preview", lock_path(out, "walk").name)):
        raise GenerateError(f"{out}: exists and is not a shot folder (no shot.json); pick an empty or new --out folder")
    else:
        shot = Shot(fps=s.fps, width=w, height=h, frame_start=1, frame_end=s.frames, name=out.name or "walk")
    shot.folder = out

    lat, info = latents if latents is not None else frame_latents(gen, s)
    key = _settings_key(gen, s, lat)
    settings_path = out / SETTINGS_FILE
    resume = False
    if settings_path.is_file():
        try:
            old = json.loads(settings_path.read_text())
        except (OSError, json.JSONDecodeError):
            old = None
        if old == key:
            resume = True
        elif not overwrite:
            raise GenerateError(f"{out}: holds frames of a different walk ({settings_path}); "
                                "rerun with the same settings to resume, pass --overwrite, or use a new --out folder")
    if overwrite and not resume:
        for f in (out / "layers").glob("walk.*.exr"):
            f.unlink()
        shutil.rmtree(out / "preview", ignore_errors=True)
        if previous is not None:  # everything made from the old walk (depth, renders, camera) no longer matches it
            _remove_derived(previous)
            shot = Shot(fps=s.fps, width=w, height=h, frame_start=1, frame_end=s.frames, name=out.name or "walk")
            shot.folder = out
    if not only:  # a killed run's temp files (a cluster chunk must not take another chunk's in-flight ones)
        clean_stale_temps([out / frame_file(PATTERN, 1), out / frame_file(str(Path("preview") / "walk.####.png"), 1)])
    write_text_atomic(settings_path, json.dumps(key, indent=1) + "\n")

    paths = [shot.folder / frame_file(PATTERN, f) for f in shot.frames]
    wanted = set(range(len(paths)) if only is None else only)
    todo = [i for i, p in enumerate(paths)
            if i in wanted and not (resume and p.is_file() and exr.is_complete(p, ("RGBA",)))]
    preview_png = out / "preview" / "walk.####.png"
    if s.preview == "png":
        (out / "preview").mkdir(parents=True, exist_ok=True)
    model_hw = gen.model_size((h, w))
    colorspace = gen.spec.output_colorspace
    bar = progress(len(todo), f"walk {gen.name}")
    previews = ThreadPoolExecutor(1, thread_name_prefix="walk-preview") if s.preview == "png" else None
    pending: list = []
    try:
        # one writer: generator frames arrive slower than one writer (with the codec pool) compresses them,
        # and more writer threads only take cores from inference.  The sRGB decode runs on that writer
        # (a callable layer dict) and a whole batch fits in its backlog, so the next batch starts inferring
        # at once instead of waiting on conversion or writes (measured: 11-14 ms/frame of serial time gone).
        with exr.SequenceWriter(workers=writer_workers or 1, max_pending=2 * batch,
                                compression=s.compression) as writer:
            for start in range(0, len(todo), batch):
                idx = todo[start:start + batch]
                raw = gen.to_unit(gen.run_raw(lat[idx], model_hw))
                for j, i in enumerate(idx):
                    img = raw[j]
                    if tuple(img.shape[1:]) != (h, w):
                        img = resize(np.clip(img, 0, 1).transpose(1, 2, 0), (h, w)).transpose(2, 0, 1)
                    writer.submit(paths[i], functools.partial(_rgba_layers, img, colorspace))
                    if previews is not None:   # encoded off the inference thread, a bounded backlog
                        p = out / frame_file(str(preview_png.relative_to(out)), i + 1)
                        pending.append(previews.submit(_write_preview, p, img, colorspace))
                        while len(pending) > 2 * batch:
                            pending.pop(0).result()
                bar.update(len(idx))
        for f in pending:
            f.result()
    finally:
        bar.close()
        if previews is not None:
            previews.shutdown(wait=True, cancel_futures=True)
    if not register:
        if not (out / MANIFEST).is_file():
            update_shot(out, lambda current: current or shot)
        return shot

    fresh = previous is None or shot is not previous     # a new shot, or one --overwrite replaced

    def merge(current: Shot | None) -> Shot:
        """This walk's record merged into shot.json as it is now (other stages may have registered meanwhile)."""
        target = shot if (current is None or fresh) else current
        old_seq = target.sequences.get(SEQUENCE)
        # a later stage (depth) may have added layers to these files; keep them listed if no frame was rewritten
        channels = list(old_seq.channels) if (old_seq is not None and resume and not todo) else ["R", "G", "B", "A"]
        seq = target.add_sequence(SEQUENCE, PATTERN, channels, colorspace="linear", premultiplied=True,
                                  source_colorspace=colorspace,
                                  conversion=("sRGB (IEC 61966-2-1) decoded to scene-linear Rec.709; alpha 1"
                                              if colorspace == "srgb" else "generator output is linear; written as is"),
                                  model_size=list(model_hw))
        if s.preview:
            seq.meta["preview"] = "preview/walk.mp4" if s.preview == "mp4" else "preview/walk.####.png"
        target.fps = s.fps
        prov = target.provenance
        prov.add_model(gen.name, gen.sha256, kind="generator", provider=gen.provider)
        for sd in info.get("seeds", []):
            if sd not in prov.seeds:
                prov.seeds.append(int(sd))
        prov.add_command(argv)
        prov.extra["walk"] = {k: v for k, v in info.items() if k != "seeds"}
        return target

    shot = update_shot(out, merge)
    if s.preview == "mp4":  # from the finished sequence, so a resumed walk needs no re-render for it
        from dreamrooms.preview import sequence_mp4
        sequence_mp4(shot, SEQUENCE, "RGBA", out / "preview" / "walk.mp4")
    return shot


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
