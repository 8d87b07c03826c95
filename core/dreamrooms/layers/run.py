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
that fails on bad input removes what it created.  One layers run at a time writes a shot
(``dreamrooms.shot.lock``, stage ``layers``); a cluster run's chunks (:mod:`dreamrooms.cluster.frames`) warm the
fills up over the frames before their own and leave registration to the driver.
"""
from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dreamrooms.depth import stabilize as stab
from dreamrooms.atomic import clean_stale_temps
from dreamrooms.depth.resume import read_fingerprint, remove_created
from dreamrooms.errors import DreamroomsError
from dreamrooms.layers.fill import METHODS, TemporalFill, lama_fill
from dreamrooms.layers.behind import default_parallax
from dreamrooms.layers.border import border_pad, pad_layers
from dreamrooms.layers.split import KEEP_ALPHA, index_from_depth, index_from_mattes, split_at_edges, split_frame
from dreamrooms.mask.io import (depth_of, levels_setting, mask_sequences, read_colour, resume_start, segment_levels,
                                select_frames)
from dreamrooms.progress import progress
from dreamrooms.shot import Shot, frame_file
from dreamrooms.shot import exr
from dreamrooms.shot.paths import confine
from dreamrooms.shot.sources import from_linear_rgba

ATTR = "dreamrooms_layers"      # EXR header attribute on the layer depth files: the settings that made them


class LayersError(DreamroomsError):
    """The layers stage cannot run as asked."""


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


def make_layers(folder: str | os.PathLike, count: int | None = None, *, inpaint: str = "auto",
                from_masks: bool = False, frames: str | tuple[int, int] | None = None, overwrite: bool = False,
                lama_model: str = "lama", device: str = "auto", argv: list[str] | None = None,
                warmup_from: int | None = None, register: bool = True, lock: bool = True, plan: bool = False,
                max_parallax: float | None = None) -> LayersResult:
    """Write the depth layers of the shot in `folder` (see module doc).

    By default the frame is cut only at its depth edges (:func:`~dreamrooms.layers.split.split_at_edges`):
    two layers, the front surface and the far side continued behind every cut over the band a camera whose
    largest parallax is `max_parallax` pixels (default 4 % of the short side) can see.  `count` asks for that
    many layers split at the clip's inverse-depth levels instead; `from_masks` one layer per mask.

    For one chunk of a cluster run: frames from `warmup_from` up to the first of `frames` are split and filled
    but not written (when the chunk has nothing on disk yet), `register` false leaves the sequences to the
    driver, and `lock` false means the driver holds the layers lock (so the chunk leaves other chunks' temps
    alone).  `plan` checks everything and cleans what a killed run left (its caller holds the lock), writing no
    frame; its `processed` are the frames still to write."""
    from dreamrooms.shot.lock import writer_lock

    with writer_lock(folder, "layers") if lock else contextlib.nullcontext():
        return _make_layers(folder, count, inpaint=inpaint, from_masks=from_masks, frames=frames, overwrite=overwrite,
                            lama_model=lama_model, device=device, argv=argv, warmup_from=warmup_from,
                            register=register, clean=lock or plan, plan=plan, max_parallax=max_parallax)


def _make_layers(folder, count, *, inpaint, from_masks, frames, overwrite, lama_model, device, argv, warmup_from,
                 register, clean, plan, max_parallax) -> LayersResult:
    inpaint = pick_inpaint(inpaint, lama_model)
    if inpaint not in METHODS:
        raise LayersError(f"--inpaint {inpaint!r}; use one of {', '.join(METHODS)}")
    if max_parallax is not None and not 0 < max_parallax <= 10000:
        raise LayersError(f"--max-parallax {max_parallax}: give the largest image shift in pixels (> 0)")
    if max_parallax is not None and (count is not None or from_masks):
        raise LayersError("--max-parallax sizes the fill behind depth edges: drop --count/--from-masks to use it")
    out = Path(folder)
    shot = Shot.load(out, check_files=False)   # its own earlier, partly deleted output must not block a rerun
    split = "masks" if from_masks else ("edges" if count is None else "depth")
    count = 2 if count is None else count
    px = float(default_parallax(shot.height, shot.width) if max_parallax is None else max_parallax)
    colour_key, depth_key, depth_ch = depth_of(shot)
    numbers = select_frames(shot, frames)
    masks = mask_sequences(shot) if from_masks else []
    if from_masks:
        if not masks:
            raise LayersError(f"{out}/shot.json: --from-masks but the shot has no masks; run `dreamrooms mask {out} "
                              f"--out {out} --from-depth` (or --model NAME) first")
        count = len(masks) + 1
    elif count < 2:
        raise LayersError(f"--count {count}: need at least 2 layers (a foreground and what is behind it)")
    thresholds: list = []
    levels: dict[int, list[float]] = {}
    if split == "depth":     # each segment (each photo of a set of stills) its own levels
        levels = segment_levels(shot, depth_key, depth_ch, count)
        thresholds = levels_setting(levels)
    name = Path(shot.sequences[colour_key].pattern).name.split(".")[0] or shot.name
    colour_pat = [f"layers/{name}_layer{k}.####.exr" for k in range(count)]
    depth_pat = [f"depth/{name}_layer{k}.####.exr" for k in range(count)]
    settings = {"count": count, "inpaint": inpaint, "split": split, "masks": masks, "thresholds": thresholds,
                "colour": colour_key, "depth": depth_key, **({"max_parallax": px} if split == "edges" else {})}
    fingerprint = json.dumps(settings, sort_keys=True)

    def paths(n: int) -> list[Path]:
        return [confine(out, frame_file(p, n), f"{out}: output") for p in colour_pat + depth_pat]

    def complete(n: int) -> bool:
        ps = paths(n)
        return (all(exr.is_complete(p, ("RGBA",)) for p in ps[:count])
                and all(exr.is_complete(p, ("Y",)) and read_fingerprint(p, ATTR) == fingerprint for p in ps[count:]))

    start = resume_start(numbers, complete, lambda n: paths(n)[count], ATTR, fingerprint, "layers", overwrite)
    todo = numbers[start:]
    if clean:
        clean_stale_temps(paths(numbers[0]))   # what a killed run was writing
    if plan:
        return LayersResult(shot, todo, start, thresholds, pattern=colour_pat[0])
    warm = list(range(warmup_from, todo[0])) if (todo and start == 0 and warmup_from is not None) else []
    colour_fill = lama_entry = None
    if inpaint == "lama" and todo:
        run, lama_entry = _lama_runner(lama_model, device)
        colour_fill = lambda rgb, hole: lama_fill(run, rgb, hole)
    fills = [TemporalFill(inpaint if inpaint != "lama" else "telea", colour_fill) for _ in range(count)]
    if todo and start > 0:     # resume: the previous frame's fills as written
        prev = numbers[start - 1]
        guide = stab.grey_guide(read_colour(shot, colour_key, prev))
        for k, f in enumerate(fills):
            seed_fill(f, exr.read_frame(paths(prev)[k], ["RGBA"])["RGBA"],
                      exr.read_frame(paths(prev)[count + k], ["Y"])["Y"], guide, k,
                      border_pad(px) if split == "edges" else 0)
    segment_starts = {seg[0] for seg in shot.segments()}
    made_dirs = [d for d in {(out / p).parent for p in colour_pat + depth_pat} if not d.exists()]
    created: list[Path] = []
    reused = []
    ok = False
    bar = progress(len(todo), "layers")
    try:
        for n in warm + todo:
            srgb = read_colour(shot, colour_key, n)
            depth = exr.read_frame(shot.frame_path(depth_key, n), [depth_ch])[depth_ch]
            if n in segment_starts:      # a new independent segment: nothing of the last one is reused
                for f in fills:
                    f.reset()
            mattes = [exr.read_frame(shot.frame_path(m, n), ["Y"])["Y"] for m in masks]
            layers = split_one(split, srgb, depth, fills, count=count, mattes=mattes, max_parallax=px,
                               thresholds=levels[max(s for s in segment_starts if s <= n)] if levels else [])
            if n < todo[0]:     # a warm-up frame: the fills settle, nothing is written
                continue
            reused.append(fills[-1].reused)
            ps = paths(n)
            created.extend(p for p in ps if not p.exists())
            for k, lay in enumerate(layers):
                exr.write_frame(ps[k], {"RGBA": lay.rgba_linear()})
                exr.write_frame(ps[count + k], {"Y": lay.depth}, attributes={ATTR: fingerprint})
            bar.update(1)
        ok = True
    finally:
        bar.close()
        if not ok:
            import sys

            if not isinstance(sys.exc_info()[1], KeyboardInterrupt):
                remove_created(created, made_dirs)
    if register and all(all(p.is_file() for p in paths(n)) for n in shot.frames) and (todo or "layer0" not in shot.sequences):
        for key in [k for k, s in shot.sequences.items() if s.meta.get("kind") in ("layer", "layer_depth")]:
            del shot.sequences[key]
        for k in range(count):
            shot.add_sequence(f"layer{k}", colour_pat[k], ["R", "G", "B", "A"], "linear", True,
                              kind="layer", index=k, count=count, order="nearest first",
                              depth_sequence=f"layer{k}_depth", split=settings["split"], inpaint=inpaint,
                              **({"thresholds_inverse_depth": thresholds} if thresholds else {"masks": masks}),
                              **({"max_parallax": px, "pad_px": border_pad(px)} if split == "edges" else {}))
            shot.add_sequence(f"layer{k}_depth", depth_pat[k], ["Y"], colorspace="data", premultiplied=False,
                              kind="layer_depth", layer=f"layer{k}")
        if lama_entry is not None:     # the inpainting model, with its sha256, in the shot's provenance
            shot.provenance.add_model(lama_entry.name, lama_entry.sha256, stage="layers", kind="inpaint")
        shot.provenance.add_command(argv)
        shot.save(out)
    return LayersResult(shot, todo, start, thresholds, float(np.mean(reused)) if reused else 0.0, colour_pat[0])
