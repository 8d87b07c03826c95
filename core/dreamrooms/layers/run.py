"""The layers stage: split every frame of a shot into N depth layers and write them into the shot.

Per layer k (0 = nearest) and frame it writes ``layers/NAME_layer<k>.####.exr`` (RGBA half, scene-linear,
premultiplied; nothing else in the file: Blender loads an EXR with any other channel as a multilayer image and
its image texture then drops the alpha) and ``depth/NAME_layer<k>.####.exr`` (``Y``, the layer's depth),
and once every frame is there records them in shot.json as sequences ``layer<k>`` (meta: kind "layer",
index, count, depth_sequence) and ``layer<k>_depth`` (meta: kind "layer_depth", layer).  Frames are handled
one at a time (memory does not grow with the clip) and written atomically; a rerun resumes at the first
frame that is missing or was made with other settings, seeding the fills from the frame before it; a run
that fails on bad input removes what it created.  The life of the run (lock, resume, streaming, registration,
cleanup, cluster chunks with a warm-up) is the stage spine's (:mod:`dreamrooms.stage`); this module is the
settings, the per-frame split and fill, and the record.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dreamrooms import stage as spine
from dreamrooms.depth import stabilize as stab
from dreamrooms.errors import DreamroomsError
from dreamrooms.layers.fill import METHODS, TemporalFill, lama_fill
from dreamrooms.layers.split import KEEP_ALPHA, index_from_depth, index_from_mattes, split_frame
from dreamrooms.mask.io import clip_levels, depth_of, mask_sequences, read_colour, select_frames
from dreamrooms.shot import Sequence, Shot, exr, frame_file
from dreamrooms.shot.sources import from_linear_rgba

ATTR = "dreamrooms_layers"      # EXR header attribute on the layer depth files: the settings that made them


class LayersError(DreamroomsError):
    """The layers stage cannot run as asked."""


@dataclass
class LayersSettings:
    """Everything a layers run is asked (the CLI, the headless entry, the panel and the cluster build this)."""
    folder: str
    count: int = 2
    inpaint: str = "telea"
    from_masks: bool = False
    frames: str | tuple[int, int] | None = None
    overwrite: bool = False
    lama_model: str = "lama"
    device: str = "auto"
    argv: list[str] | None = None


@dataclass
class _Prepared:
    shot: Shot
    s: LayersSettings
    count: int
    colour_key: str
    depth: tuple[str, str]
    masks: list[str]
    thresholds: list[float]
    colour_pat: list[str]
    depth_pat: list[str]
    split: str
    reused: list[float] = field(default_factory=list)


@dataclass
class LayersResult:
    shot: Shot
    processed: list[int]
    skipped: int
    thresholds: list[float] = field(default_factory=list)
    reused: float = 0.0      # mean fraction of the back layer's hole taken from earlier frames
    pattern: str = ""        # layer 0's colour pattern (a cluster driver counts its frames)


def _lama_runner(model: str, device: str):
    """The LaMa session call (image, mask) -> image; opening it checks the Carve/LaMa-ONNX signature."""
    from dreamrooms.models import resolve
    from dreamrooms.models.runtime import open_session

    ms = open_session(resolve(model, kind="inpaint"), device=device)
    names = [i.name for i in ms.session.get_inputs()]
    return lambda image, mask: ms.session.run(None, {names[0]: image, names[1]: mask})[0]


class LayersStage(spine.Stage):
    name, attr = "layers", ATTR
    reads, writes = ("colour", "depth", "mask_*"), ("layer<k>", "layer<k>_depth")
    Settings = LayersSettings
    temporal = True

    def folder(self, s: LayersSettings) -> Path:
        return Path(s.folder)

    def prepare(self, s: LayersSettings, chunk=None) -> spine.Job:
        if s.inpaint not in METHODS:
            raise LayersError(f"--inpaint {s.inpaint!r}; use one of {', '.join(METHODS)}")
        out = Path(s.folder)
        shot = Shot.load(out, check_files=False)   # its own earlier, partly deleted output must not block a rerun
        colour_key, depth_key, depth_ch = depth_of(shot)
        numbers = select_frames(shot, s.frames)
        masks = mask_sequences(shot) if s.from_masks else []
        count = s.count
        if s.from_masks:
            if not masks:
                raise LayersError(f"{out}/shot.json: --from-masks but the shot has no masks; run `dreamrooms mask {out} "
                                  f"--out {out} --from-depth` (or --model NAME) first")
            count = len(masks) + 1
        elif count < 2:
            raise LayersError(f"--count {count}: need at least 2 layers (a foreground and what is behind it)")
        thresholds = [] if s.from_masks else clip_levels(shot, depth_key, depth_ch, count)
        name = Path(shot.sequences[colour_key].pattern).name.split(".")[0] or shot.name
        p = _Prepared(shot, s, count, colour_key, (depth_key, depth_ch), masks, thresholds,
                      [f"layers/{name}_layer{k}.####.exr" for k in range(count)],
                      [f"depth/{name}_layer{k}.####.exr" for k in range(count)], "masks" if s.from_masks else "depth")
        settings = {"count": count, "inpaint": s.inpaint, "split": p.split, "masks": masks, "thresholds": thresholds,
                    "colour": colour_key, "depth": depth_key}

        def outputs(n: int) -> list[spine.Output]:
            return ([spine.Output(out / frame_file(c, n), ("RGBA",), stamped=False) for c in p.colour_pat]
                    + [spine.Output(out / frame_file(d, n), ("Y",)) for d in p.depth_pat])

        reads = [shot.frame_path(k, n) for n in numbers for k in (colour_key, depth_key, *masks)]
        return spine.Job(out, numbers, spine.fingerprint_of(settings), outputs, list(shot.frames),
                         spine.Inputs.of(reads), p)

    def fresh(self, job, chunk=None) -> list[TemporalFill]:
        p = job.data
        colour_fill = None
        if p.s.inpaint == "lama":
            run = _lama_runner(p.s.lama_model, p.s.device)
            colour_fill = lambda rgb, hole: lama_fill(run, rgb, hole)
        return [TemporalFill(p.s.inpaint if p.s.inpaint != "lama" else "telea", colour_fill) for _ in range(p.count)]

    def seed(self, job, fills, prev: int) -> bool:
        """Resume: the previous frame's fills as written."""
        p = job.data
        ps = [o.path for o in job.outputs(prev)]
        guide = stab.grey_guide(read_colour(p.shot, p.colour_key, prev))
        for k, f in enumerate(fills):
            rgba = exr.read_frame(ps[k], ["RGBA"])["RGBA"]
            f.seed(from_linear_rgba(rgba)[0], exr.read_frame(ps[p.count + k], ["Y"])["Y"], guide,
                   valid=rgba[..., 3] > KEEP_ALPHA)
        return True

    def read_workers(self, job) -> int:
        return 2      # the shot's own EXR frames: safe to read ahead in parallel

    def read(self, job, n: int):
        p = job.data
        srgb = read_colour(p.shot, p.colour_key, n)
        depth = exr.read_frame(p.shot.frame_path(p.depth[0], n), [p.depth[1]])[p.depth[1]]
        mattes = [exr.read_frame(p.shot.frame_path(m, n), ["Y"])["Y"] for m in p.masks]
        return srgb, depth, mattes

    def compute(self, job, fills, n: int, inputs) -> dict:
        p, (srgb, depth, mattes) = job.data, inputs
        idx = index_from_mattes(mattes, depth) if p.masks else index_from_depth(depth, p.thresholds)
        layers = split_frame(srgb, depth, idx, p.count, fills, stab.grey_guide(srgb))
        p.reused.append(fills[-1].reused)
        ps = [o.path for o in job.outputs(n)]
        out = {ps[k]: {"RGBA": lay.rgba_linear()} for k, lay in enumerate(layers)}
        out.update({ps[p.count + k]: {"Y": lay.depth} for k, lay in enumerate(layers)})
        return out

    def record_keys(self, job) -> list[str]:
        return ["layer0"]

    def record(self, job) -> spine.Record:
        p = job.data
        rec = spine.Record(argv=p.s.argv, inputs=job.inputs,
                           drop=lambda key, seq: seq.meta.get("kind") in ("layer", "layer_depth"))
        for k in range(p.count):
            rec.sequences[f"layer{k}"] = Sequence(
                p.colour_pat[k], ["R", "G", "B", "A"], "linear", True,
                meta=dict(kind="layer", index=k, count=p.count, order="nearest first", depth_sequence=f"layer{k}_depth",
                          split=p.split, inpaint=p.s.inpaint,
                          **({"thresholds_inverse_depth": p.thresholds} if p.thresholds else {"masks": p.masks})))
            rec.sequences[f"layer{k}_depth"] = Sequence(p.depth_pat[k], ["Y"], "data", False,
                                                       meta=dict(kind="layer_depth", layer=f"layer{k}"))
        return rec


LAYERS = LayersStage()


def make_layers(folder: str | os.PathLike, count: int = 2, **options) -> LayersResult:
    """Write the depth layers of the shot in `folder` (see module doc); `options` are the fields of
    :class:`LayersSettings`."""
    return result(spine.run(LAYERS, LayersSettings(str(folder), count, **options)))


def result(res) -> LayersResult:
    p = res.job.data
    reused = p.reused[len(res.plan.warmup):] if res.plan.warmup else p.reused
    return LayersResult(res.shot or p.shot, res.plan.todo, res.plan.skipped, p.thresholds,
                        float(np.mean(reused)) if reused else 0.0, p.colour_pat[0])
