"""The mask stage: one matte sequence per label, from the shot's depth or from a segmentation model.

Per label and frame it writes ``masks/NAME_<label>.####.exr`` (one float32 channel ``Y``, 0..1, the settings
that made it in the header), and once every frame of the shot is there records the sequence ``mask_<label>``
in shot.json (meta: kind "mask", label, source) and adds the channel ``mask.<label>`` to the shot's layered
colour files (``layers/NAME.####.exr``, when the colour lives there) so compositors find it beside RGBA.
Mattes are steadied over time by :class:`~dreamrooms.mask.matte.MatteFilter`, whose state is the previous
matte and frame: a rerun resumes exactly at the first frame missing or made with other settings.  A run that
fails on bad input removes the files it created.  One mask run at a time writes a shot (``dreamrooms.shot.lock``,
stage ``mask``); a cluster run's chunks (:mod:`dreamrooms.cluster.frames`) warm the filter up over the frames
before their own and leave registration to the driver.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path


from dreamrooms.depth import stabilize as stab
from dreamrooms.atomic import clean_stale_temps
from dreamrooms.depth.resume import read_fingerprint, remove_created
from dreamrooms.errors import DreamroomsError, ShotError
from dreamrooms.mask import models as mm
from dreamrooms.mask.io import MASK_KIND, depth_of, levels_setting, resume_start, segment_levels, select_frames
from dreamrooms.mask.matte import MatteFilter, depth_matte
from dreamrooms.progress import progress
from dreamrooms.shot import Shot, frame_file
from dreamrooms.shot import exr
from dreamrooms.shot.paths import confine
from dreamrooms.shot.segments import segment_of, segment_starts, starts_segment

ATTR = "dreamrooms_mask"


class MaskError(DreamroomsError):
    """The mask stage cannot run as asked."""


@dataclass
class MaskResult:
    shot: Shot
    labels: list[str]
    processed: list[int]
    skipped: int
    registered: bool
    pattern: str = ""       # the first label's sequence pattern (a cluster driver counts its frames)


def _model(model: str, device: str):
    """(family, session, name, sha256) of a mask model from the registry (or a path); opening the session
    checks the file against its family's exported signature."""
    from dreamrooms.models import resolve
    from dreamrooms.models.registry import sha256_file
    from dreamrooms.models.runtime import open_session

    entry = resolve(model, kind="mask")
    ms = open_session(entry, device=device)
    sha = entry.sha256 or sha256_file(entry.path)     # open_session fills it in; the file's own as a fallback
    return entry.raw["mask"]["family"], ms.session, entry.name, sha, entry


def make_masks(source: str | os.PathLike, out: str | os.PathLike, *, from_depth: bool = False,
               model: str | None = None, classes: str = "person", frames: str | tuple[int, int] | None = None,
               layers: int = 1, instances: int = 0, min_score: float = 0.7, overwrite: bool = False,
               device: str = "auto", argv: list[str] | None = None, warmup_from: int | None = None,
               register: bool = True, lock: bool = True, plan: bool = False, fit=None) -> MaskResult:
    """Write mattes for the shot in `out` from the frames of `source` (see module doc).

    For one chunk of a cluster run: frames from `warmup_from` up to the first of `frames` are filtered but not
    written (when the chunk has nothing on disk yet), `register` false leaves the sequences to the driver, and
    `lock` false means the driver holds the mask lock (so the chunk leaves other chunks' temps alone).  `plan`
    checks everything and cleans what a killed run left (its caller holds the lock), writing no frame; its
    `processed` are the frames still to write."""
    from dreamrooms.shot.lock import writer_lock

    with writer_lock(out, "mask") if lock else contextlib.nullcontext():
        return _make_masks(source, out, from_depth=from_depth, model=model, classes=classes, frames=frames,
                           layers=layers, instances=instances, min_score=min_score, overwrite=overwrite, device=device,
                           argv=argv, warmup_from=warmup_from, register=register, clean=lock or plan, plan=plan,
                           fit=fit)


def _make_masks(source, out, *, from_depth, model, classes, frames, layers, instances, min_score, overwrite, device,
                argv, warmup_from, register, clean, plan, fit) -> MaskResult:
    from dreamrooms.shot.sources import SourceError, open_source

    if from_depth == bool(model):
        raise MaskError("give either --from-depth (mattes from the shot's depth) or --model NAME (a segmentation model)")
    out = Path(out)
    if not (out / "shot.json").is_file():
        raise MaskError(f"{out}/shot.json: not found; masks go into an existing shot (make one with `dreamrooms depth "
                        f"{source} --out {out} --model tinydepth`)")
    shot = Shot.load(out, check_files=False)   # its own earlier, partly deleted output must not block a rerun
    if Path(source).resolve() == out.resolve():
        src = _OwnFrames(shot)    # the shot's own colour (its registered masks may be partly deleted: no check)
    else:
        try:
            src = open_source(source, fit=fit)   # `fit`: the --fit the shot's depth was made with
        except SourceError as exc:
            raise MaskError(str(exc)) from None
    if (src.width, src.height) != (shot.width, shot.height):
        raise MaskError(f"{src.label}: {src.width}x{src.height} but the shot {out} is {shot.width}x{shot.height}; "
                        f"mask the footage the shot was made from")
    numbers = select_frames(shot, frames)
    missing = [n for n in numbers if n not in src.numbers]
    if missing:
        raise MaskError(f"{src.label}: has no frame {missing[0]} (shot frames {shot.frame_start}-{shot.frame_end}); "
                        f"give the footage of this shot")
    starts = segment_starts(shot.frame_start, shot.cuts)
    if from_depth:
        colour_key, depth_key, depth_ch = depth_of(shot)
        levels = segment_levels(shot, depth_key, depth_ch, layers + 1)
        labels, slots = ["foreground"], None
        settings = {"source": "depth", "layers": layers, "thresholds": levels_setting(levels)}
    else:
        family, session, model_name, sha, entry = _model(model, device)
        class_ids = mm.parse_classes(classes) if family == "maskrcnn" else []
        slots = mm.InstanceSlots(class_ids, instances) if (family == "maskrcnn" and instances > 0) else None
        if family != "maskrcnn":
            labels = ["subject"]
        else:
            labels = slots.labels if slots else [mm.class_label(mm.COCO_CLASSES[c]) for c in class_ids]
        settings = {"source": model_name, "sha256": sha, "classes": class_ids, "min_score": min_score,
                    "instances": instances}
    if len(starts) > 1:
        settings["segments"] = sorted(starts)
    settings["footage"] = str(Path(src.label).resolve())
    fingerprint = json.dumps(settings, sort_keys=True)
    from dreamrooms.shot.roles import colour_sequence

    try:
        ckey = colour_sequence(shot)
        name = Path(shot.sequences[ckey].pattern).name.split(".")[0] or shot.name
    except ShotError:
        ckey, name = None, shot.name
    patterns = {lab: f"masks/{name}_{lab}.####.exr" for lab in labels}

    def path(lab: str, n: int) -> Path:
        return confine(out, frame_file(patterns[lab], n), f"{out}: output")

    def complete(n: int) -> bool:
        return all(exr.is_complete(path(lab, n), ("Y",)) and read_fingerprint(path(lab, n), ATTR) == fingerprint
                   for lab in labels)

    start = resume_start(numbers, complete, lambda n: path(labels[0], n), ATTR, fingerprint, "mask", overwrite)
    todo = numbers[start:]
    if clean:
        clean_stale_temps([path(lab, numbers[0]) for lab in labels])   # what a killed run was writing
    if plan:
        return MaskResult(shot, labels, todo, start, False, patterns[labels[0]])
    warm = list(range(warmup_from, todo[0])) if (todo and start == 0 and warmup_from is not None) else []
    if warm and slots is not None:
        raise MaskError("--instances with warm-up frames: instance labels are carried over the whole clip in order")
    filters = {lab: MatteFilter() for lab in labels}
    prev_n = None
    if todo and start > 0:      # exact resume: the filter's state is the last matte written and its frame
        prev = prev_n = numbers[start - 1]
        guide = stab.grey_guide(next(iter(src.frames([prev]))).srgb)
        for lab in labels:
            filters[lab].seed(exr.read_frame(path(lab, prev), ["Y"])["Y"], guide)
        if not from_depth and slots is not None:
            slots.prev = {lab: f.prev for lab, f in filters.items() if f.prev.max() >= 0.5}
    made_dirs = [d for d in {out / "masks"} if not d.exists()]
    created: list[Path] = []
    ok = False
    bar = progress(len(todo), "mask")
    try:
        for fr in src.frames(warm + todo):
            if starts_segment(starts, fr.number, prev_n):     # a new photo or shot: nothing carries over
                for f in filters.values():
                    f.restart()
                if slots is not None:
                    slots.prev = {}
            prev_n = fr.number
            if from_depth:
                d = exr.read_frame(shot.frame_path(depth_key, fr.number), [depth_ch])[depth_ch]
                mattes = {"foreground": depth_matte(d, fr.srgb, levels[segment_of(starts, fr.number)], layers)}
            else:
                try:
                    mattes = mm.run_family(family, session, fr.srgb, class_ids, min_score, slots, entry)
                except mm.MaskModelError:
                    raise
                except Exception as exc:
                    raise MaskError(f"model {model_name!r} failed on frame {fr.number} "
                                    f"({str(exc).splitlines()[0][:200]})") from None
            guide = stab.grey_guide(fr.srgb)
            for lab in labels:
                m = filters[lab](mattes[lab], guide)
                if fr.number < todo[0]:     # a warm-up frame: the filter settles, nothing is written
                    continue
                p = path(lab, fr.number)
                if not p.exists():
                    created.append(p)
                exr.write_frame(p, {"Y": m}, attributes={ATTR: fingerprint})
            if fr.number >= todo[0]:
                bar.update(1)
        ok = True
    finally:
        bar.close()
        if not ok and not isinstance(sys.exc_info()[1], KeyboardInterrupt):
            remove_created(created, made_dirs)
    registered = register and all(path(lab, n).is_file() for lab in labels for n in shot.frames)
    if registered and (todo or any(f"mask_{lab}" not in shot.sequences for lab in labels)):
        layered = ckey is not None and shot.sequences[ckey].pattern.startswith("layers/")
        for lab in labels:
            meta = {"kind": MASK_KIND, "label": lab, "source": settings["source"]}
            if layered:
                meta["layered_channel"] = f"mask.{lab}"
            shot.add_sequence(f"mask_{lab}", patterns[lab], ["Y"], colorspace="data", premultiplied=False, **meta)
        if layered:
            _add_to_layered(shot, ckey, labels, patterns)
        if not from_depth:
            shot.provenance.add_model(model_name, sha, stage="mask", family=family, labels=labels)
        shot.provenance.add_command(argv)
        shot.save(out)
    return MaskResult(shot, labels, todo, start, registered, patterns[labels[0]])


class _OwnFrames:
    """The colour frames of the output shot itself, as a frame source."""

    def __init__(self, shot: Shot):
        from dreamrooms.shot.roles import colour_sequence

        self.key = colour_sequence(shot)
        self.shot, self.label = shot, str(shot.folder)
        self.width, self.height, self.numbers = shot.width, shot.height, list(shot.frames)

    def frames(self, numbers):
        from dreamrooms.mask.io import read_colour
        from dreamrooms.shot.sources import Frame

        for n in numbers:
            yield Frame(n, read_colour(self.shot, self.key, n), None, str(self.shot.frame_path(self.key, n)))


def _add_to_layered(shot: Shot, key: str, labels: list[str], patterns: dict[str, str]) -> None:
    """Copy every matte into the shot's layered colour files as `mask.<label>` (other layers kept)."""
    seq = shot.sequences[key]
    for n in shot.frames:
        p = shot.frame_path(key, n)
        layers = exr.read_frame(p)
        for lab in labels:
            layers[f"mask.{lab}"] = exr.read_frame(shot.folder / frame_file(patterns[lab], n), ["Y"])["Y"]
        exr.write_frame(p, layers)
    seq.channels = list(seq.channels) + [f"mask.{lab}" for lab in labels if f"mask.{lab}" not in seq.channels]
