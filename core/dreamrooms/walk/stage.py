"""The walk stage on the stage spine: a generator's frames along a latent path (:mod:`dreamrooms.walk.run`)
written into ``layers/walk.####.exr``.  Frames are independent (no temporal state): a rerun writes exactly the
frames that are missing, torn or made by another walk; with ``--overwrite`` a different walk replaces the shot
(its frames, previews and everything made from the old walk are removed)."""
from __future__ import annotations

import functools
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dreamrooms import stage as spine
from dreamrooms.shot import MANIFEST, Sequence, Shot, exr, frame_file
from dreamrooms.shot.lock import lock_path, manifest_lock_path
from dreamrooms.walk.generator import GenerateError, Generator, resize
from dreamrooms.walk.run import (PATTERN, SEQUENCE, WalkSettings, _remove_derived, _rgba_layers, _settings_key,
                                 _write_preview, frame_latents)

ATTR = "dreamrooms_walk"
PREVIEW_PNG = "preview/walk.####.png"


@dataclass
class WalkRun:
    """A walk run: the opened generator, the shot folder and the walk's settings (:class:`WalkSettings`)."""
    gen: Generator
    out: str
    walk: WalkSettings
    overwrite: bool = False
    argv: list[str] | None = None
    writer_workers: int | None = None


@dataclass
class _Prepared:
    run: WalkRun
    shot: Shot
    previous: Shot | None
    replace: bool
    lat: np.ndarray
    info: dict
    batch: int


class WalkStage(spine.Stage):
    name, attr = "walk", ATTR
    reads, writes = ("a generator",), ("walk",)
    Settings = WalkRun

    def prepare(self, r: WalkRun, chunk: spine.Chunk | None = None) -> spine.Job:
        s, gen, out = r.walk, r.gen, Path(r.out)
        h, w = s.size
        new = Shot(fps=s.fps, width=w, height=h, frame_start=1, frame_end=s.frames, name=out.name or "walk")
        previous, replace = None, False
        if (out / MANIFEST).is_file():
            previous = Shot.load(out, check_files=False)
            if (previous.width, previous.height) != (w, h) or previous.frame_count != s.frames:
                if not r.overwrite:
                    raise GenerateError(f"{out / MANIFEST}: shot is {previous.width}x{previous.height}, "
                                        f"{previous.frame_count} frames; the walk is {w}x{h}, {s.frames} frames — use "
                                        f"a new --out folder or --overwrite")
                replace = True
        elif out.exists() and any(p for p in out.iterdir() if p.name not in (
                "layers", "preview", lock_path(out, "walk").name, manifest_lock_path(out).name)):
            raise GenerateError(f"{out}: exists and is not a shot folder (no shot.json); pick an empty or new --out folder")
        lat, info = (chunk.context["latents"] if chunk is not None and "latents" in chunk.context
                     else frame_latents(gen, s))
        shot = new if (previous is None or replace) else previous
        shot.folder = out
        d = _Prepared(r, shot, previous, replace, lat, info, min(s.batch, gen.max_batch) if gen.max_batch else s.batch)

        def outputs(n: int) -> list[spine.Output]:
            got = [spine.Output(out / frame_file(PATTERN, n), ("RGBA",))]
            return got + ([spine.Output(out / frame_file(PREVIEW_PNG, n), stamped=False, exr=False)]
                          if s.preview == "png" else [])

        return spine.Job(out, list(range(1, s.frames + 1)), spine.fingerprint_of(_settings_key(gen, s, lat)),
                         outputs, list(range(1, s.frames + 1)), None, d)

    def mismatch(self, job, path: Path, other: str) -> GenerateError:
        return GenerateError(f"{job.folder}: holds frames of a different walk ({path}); rerun with the same settings "
                             f"to resume, pass --overwrite, or use a new --out folder")

    def clear(self, job) -> None:
        """--overwrite of a different walk (or of a shot of another size): the old walk's frames, previews and
        everything made from it go; the same walk is simply rewritten."""
        from dreamrooms.shot.paths import output_dir, remove_inside

        d, out = job.data, job.folder
        layers = output_dir(out, "layers", create=False)   # a layers/ symlinked out of the shot is refused here
        first = next((p for p in layers.glob("walk.*.exr")), None) if layers.is_dir() else None
        if first is None and d.previous is None:
            return
        if not d.replace and first is not None and spine.read_attribute(first, ATTR) == job.fingerprint:
            return
        for f in layers.glob("walk.*.exr"):
            remove_inside(out, f)
        preview = output_dir(out, "preview", create=False)
        if preview.is_dir() and not preview.is_symlink():
            shutil.rmtree(preview, ignore_errors=True)
        if d.previous is not None:   # everything made from the old walk (depth, renders, camera) no longer matches
            _remove_derived(d.previous)
            d.replace = True
            d.shot = Shot(fps=d.run.walk.fps, width=d.shot.width, height=d.shot.height, frame_start=1,
                          frame_end=d.run.walk.frames, name=out.name or "walk")
            d.shot.folder = out

    def stream(self, job, plan, state) -> int:
        from dreamrooms.progress import progress

        d, s, gen = job.data, job.data.run.walk, job.data.run.gen
        todo = plan.todo
        h, w = s.size
        model_hw, colorspace = gen.model_size((h, w)), gen.spec.output_colorspace
        attrs = {ATTR: job.fingerprint}
        bar = progress(len(todo), f"walk {gen.name}")
        previews = ThreadPoolExecutor(1, thread_name_prefix="walk-preview") if s.preview == "png" else None
        pending: list = []
        try:
            # one writer: generator frames arrive slower than one writer (with the codec pool) compresses them, and
            # more writer threads only take cores from inference.  The sRGB decode and the preview PNGs run off this
            # thread, so the next batch starts inferring at once.
            with exr.SequenceWriter(workers=d.run.writer_workers or 1, max_pending=2 * d.batch,
                                    compression=s.compression) as writer:
                for start in range(0, len(todo), d.batch):
                    frames = todo[start:start + d.batch]
                    raw = gen.to_unit(gen.run_raw(d.lat[[n - 1 for n in frames]], model_hw))
                    for img, n in zip(raw, frames):
                        if tuple(img.shape[1:]) != (h, w):
                            img = resize(np.clip(img, 0, 1).transpose(1, 2, 0), (h, w)).transpose(2, 0, 1)
                        outs = job.outputs(n)
                        writer.submit(outs[0].path, functools.partial(_rgba_layers, img, colorspace), attributes=attrs)
                        if previews is not None:
                            pending.append(previews.submit(_write_preview, outs[1].path, img, colorspace))
                            while len(pending) > 2 * d.batch:
                                pending.pop(0).result()
                    bar.update(len(frames))
            for f in pending:
                f.result()
        finally:
            bar.close()
            if previews is not None:
                previews.shutdown(wait=True, cancel_futures=True)
        return len(todo)

    def record_keys(self, job) -> list[str]:
        return [SEQUENCE]

    def registered(self, job, shot) -> bool:
        return not job.data.replace and SEQUENCE in shot.sequences

    def record(self, job) -> spine.Record:
        d, s, gen = job.data, job.data.run.walk, job.data.run.gen
        colorspace = gen.spec.output_colorspace
        meta: dict[str, Any] = dict(
            source_colorspace=colorspace,
            conversion=("sRGB (IEC 61966-2-1) decoded to scene-linear Rec.709; alpha 1"
                        if colorspace == "srgb" else "generator output is linear; written as is"),
            model_size=list(gen.model_size(tuple(s.size))))
        if s.preview:
            meta["preview"] = "preview/walk.mp4" if s.preview == "mp4" else PREVIEW_PNG
        return spine.Record(
            sequences={SEQUENCE: Sequence(PATTERN, ["R", "G", "B", "A"], "linear", True, meta=meta)},
            fps=s.fps, models=[dict(name=gen.name, sha256=gen.sha256, kind="generator", provider=gen.provider)],
            seeds=[int(sd) for sd in d.info.get("seeds", [])],
            extra={"walk": {k: v for k, v in d.info.items() if k != "seeds"}},
            argv=d.run.argv, new_shot=d.shot, replace=d.replace)

    def published(self, job, shot) -> None:
        if job.data.run.walk.preview == "mp4":  # from the finished sequence, so a resumed walk needs no re-render
            from dreamrooms.preview import sequence_mp4

            sequence_mp4(shot, SEQUENCE, "RGBA", job.folder / "preview" / "walk.mp4")


WALK = WalkStage()
