"""The layers stage: split every frame of a shot into N depth layers and write them into the shot.

Per layer k (0 = nearest) and frame it writes ``layers/NAME_layer<k>.####.exr`` (RGBA half, scene-linear,
premultiplied; nothing else in the file: Blender loads an EXR with any other channel as a multilayer image and
its image texture then drops the alpha) and ``depth/NAME_layer<k>.####.exr`` (``Y``, the layer's depth),
and once every frame is there records them in shot.json as sequences ``layer<k>`` (meta: kind "layer",
index, count, split, depth_sequence; for the default depth-edge cut also max_parallax and pad_px, the
pixels its files are larger than the frame on every side) and ``layer<k>_depth`` (meta: kind "layer_depth",
layer).  Nothing temporal crosses the shot's cuts (``Shot.cuts``: the fills start afresh).  Frames are handled
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
from dreamrooms.layers.behind import default_parallax
from dreamrooms.layers.border import border_pad, pad_layers
from dreamrooms.layers.split import KEEP_ALPHA, index_from_depth, index_from_mattes, split_at_edges, split_frame
from dreamrooms.mask.io import (depth_of, levels_setting, mask_sequences, read_colour, segment_levels,
                                select_frames)
from dreamrooms.shot import Sequence, Shot, exr, frame_file
from dreamrooms.shot.sources import from_linear_rgba

ATTR = "dreamrooms_layers"      # EXR header attribute on the layer depth files: the settings that made them


class LayersError(DreamroomsError):
    """The layers stage cannot run as asked."""


@dataclass
class LayersSettings:
    """Everything a layers run is asked (the CLI, the headless entry, the panel and the cluster build this)."""
    folder: str
    count: int | None = None        # None: cut at depth edges (two layers); N: N inverse-depth levels
    inpaint: str = "auto"
    from_masks: bool = False
    frames: str | tuple[int, int] | None = None
    overwrite: bool = False
    lama_model: str = "lama"
    device: str = "auto"
    argv: list[str] | None = None
    max_parallax: float | None = None


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
    inpaint: str = "telea"
    px: float = 0.0
    levels: dict = field(default_factory=dict)
    starts: set = field(default_factory=set)
    lama_entry: object = None
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

    entry = resolve(model, kind="inpaint")
    ms = open_session(entry, device=device)
    names = [i.name for i in ms.session.get_inputs()]
    return (lambda image, mask: ms.session.run(None, {names[0]: image, names[1]: mask})[0]), entry


def seed_fill(fill: TemporalFill, rgba: np.ndarray, depth: np.ndarray, guide: np.ndarray, k: int, pad: int) -> None:
    """Resume layer k's fill from its files of the frame before (`guide`: that frame's grey).  With a border
    `pad`, the front layer's fill is the border ring's (padded coordinates) and the others work in the frame's."""
    if pad and k == 0:
        guide = np.pad(guide, pad, mode="edge")
    elif pad:
        rgba, depth = rgba[pad:-pad, pad:-pad], depth[pad:-pad, pad:-pad]
    fill.seed(from_linear_rgba(rgba)[0], depth, guide, valid=rgba[..., 3] > KEEP_ALPHA)


def split_one(split: str, srgb: np.ndarray, depth: np.ndarray, fills: list[TemporalFill], *, count: int,
              thresholds: list[float], mattes: list[np.ndarray], max_parallax: float):
    """The layers of one frame by the chosen split: "edges" (cut at depth edges), "depth" (inverse-depth
    levels) or "masks" (one layer per matte)."""
    guide = stab.grey_guide(srgb)
    if split == "edges":
        layers = split_at_edges(srgb, depth, fills, guide, max_parallax=max_parallax)
        return pad_layers(layers, border_pad(max_parallax), fills[0], guide)
    idx = index_from_mattes(mattes, depth) if split == "masks" else index_from_depth(depth, thresholds)
    return split_frame(srgb, depth, idx, count, fills, guide)


def pick_inpaint(inpaint: str, lama_model: str) -> str:
    """"auto": LaMa when its model is installed (`dreamrooms models fetch lama`), OpenCV Telea otherwise."""
    if inpaint != "auto":
        return inpaint
    from dreamrooms.models import resolve

    try:
        return "lama" if resolve(lama_model, kind="inpaint", require_installed=False).installed else "telea"
    except DreamroomsError:
        return "telea"


class LayersStage(spine.Stage):
    name, attr = "layers", ATTR
    reads, writes = ("colour", "depth", "mask_*"), ("layer<k>", "layer<k>_depth")
    Settings = LayersSettings
    temporal = True

    def folder(self, s: LayersSettings) -> Path:
        return Path(s.folder)

    def prepare(self, s: LayersSettings, chunk=None) -> spine.Job:
        inpaint = pick_inpaint(s.inpaint, s.lama_model)
        if inpaint not in METHODS:
            raise LayersError(f"--inpaint {inpaint!r}; use one of {', '.join(METHODS)}")
        if s.max_parallax is not None and not 0 < s.max_parallax <= 10000:
            raise LayersError(f"--max-parallax {s.max_parallax}: give the largest image shift in pixels (> 0)")
        if s.max_parallax is not None and (s.count is not None or s.from_masks):
            raise LayersError("--max-parallax sizes the fill behind depth edges: drop --count/--from-masks to use it")
        out = Path(s.folder)
        shot = Shot.load(out, check_files=False)   # its own earlier, partly deleted output must not block a rerun
        split = "masks" if s.from_masks else ("edges" if s.count is None else "depth")
        count = 2 if s.count is None else s.count
        px = float(default_parallax(shot.height, shot.width) if s.max_parallax is None else s.max_parallax)
        colour_key, depth_key, depth_ch = depth_of(shot)
        numbers = select_frames(shot, s.frames)
        masks = mask_sequences(shot) if s.from_masks else []
        if s.from_masks:
            if not masks:
                raise LayersError(f"{out}/shot.json: --from-masks but the shot has no masks; run `dreamrooms mask {out} "
                                  f"--out {out} --from-depth` (or --model NAME) first")
            count = len(masks) + 1
        elif count < 2:
            raise LayersError(f"--count {count}: need at least 2 layers (a foreground and what is behind it)")
        levels = segment_levels(shot, depth_key, depth_ch, count) if split == "depth" else {}
        thresholds = levels_setting(levels) if levels else []   # each segment (each photo of a set) its own levels
        name = Path(shot.sequences[colour_key].pattern).name.split(".")[0] or shot.name
        p = _Prepared(shot, s, count, colour_key, (depth_key, depth_ch), masks, thresholds,
                      [f"layers/{name}_layer{k}.####.exr" for k in range(count)],
                      [f"depth/{name}_layer{k}.####.exr" for k in range(count)], split, inpaint, px, levels,
                      {seg[0] for seg in shot.segments()})
        settings = {"count": count, "inpaint": inpaint, "split": split, "masks": masks, "thresholds": thresholds,
                    "colour": colour_key, "depth": depth_key, **({"max_parallax": px} if split == "edges" else {})}

        def outputs(n: int) -> list[spine.Output]:
            return ([spine.Output(out / frame_file(c, n), ("RGBA",), stamped=False) for c in p.colour_pat]
                    + [spine.Output(out / frame_file(d, n), ("Y",)) for d in p.depth_pat])

        reads = [shot.frame_path(k, n) for n in numbers for k in (colour_key, depth_key, *masks)]
        return spine.Job(out, numbers, spine.fingerprint_of(settings), outputs, list(shot.frames),
                         spine.Inputs.of(reads), p)

    def fresh(self, job, chunk=None) -> list[TemporalFill]:
        p = job.data
        colour_fill = None
        if p.inpaint == "lama":
            run, p.lama_entry = _lama_runner(p.s.lama_model, p.s.device)
            colour_fill = lambda rgb, hole: lama_fill(run, rgb, hole)
        return [TemporalFill(p.inpaint if p.inpaint != "lama" else "telea", colour_fill) for _ in range(p.count)]

    def seed(self, job, fills, prev: int) -> bool:
        """Resume: the previous frame's fills as written."""
        p = job.data
        ps = [o.path for o in job.outputs(prev)]
        guide = stab.grey_guide(read_colour(p.shot, p.colour_key, prev))
        for k, f in enumerate(fills):
            seed_fill(f, exr.read_frame(ps[k], ["RGBA"])["RGBA"], exr.read_frame(ps[p.count + k], ["Y"])["Y"], guide,
                      k, border_pad(p.px) if p.split == "edges" else 0)
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
        if n in p.starts:      # a new independent segment: nothing of the last one is reused
            for f in fills:
                f.reset()
        layers = split_one(p.split, srgb, depth, fills, count=p.count, mattes=mattes, max_parallax=p.px,
                           thresholds=p.levels[max(s for s in p.starts if s <= n)] if p.levels else [])
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
                          split=p.split, inpaint=p.inpaint,
                          **({"thresholds_inverse_depth": p.thresholds} if p.thresholds else {"masks": p.masks}),
                          **({"max_parallax": p.px, "pad_px": border_pad(p.px)} if p.split == "edges" else {})))
            rec.sequences[f"layer{k}_depth"] = Sequence(p.depth_pat[k], ["Y"], "data", False,
                                                       meta=dict(kind="layer_depth", layer=f"layer{k}"))
        if p.lama_entry is not None:     # the inpainting model, with its sha256, in the shot's provenance
            rec.models.append(dict(name=p.lama_entry.name, sha256=p.lama_entry.sha256, stage="layers", kind="inpaint"))
        return rec


LAYERS = LayersStage()


def make_layers(folder: str | os.PathLike, count: int | None = None, **options) -> LayersResult:
    """Write the depth layers of the shot in `folder` (see module doc); `options` are the fields of
    :class:`LayersSettings`."""
    return result(spine.run(LAYERS, LayersSettings(str(folder), count, **options)))


def result(res) -> LayersResult:
    p = res.job.data
    reused = p.reused[len(res.plan.warmup):] if res.plan.warmup else p.reused
    return LayersResult(res.shot or p.shot, res.plan.todo, res.plan.skipped, p.thresholds,
                        float(np.mean(reused)) if reused else 0.0, p.colour_pat[0])
