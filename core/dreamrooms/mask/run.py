"""The mask stage: one matte sequence per label, from the shot's depth or from a segmentation model.

Per label and frame it writes ``masks/NAME_<label>.####.exr`` (one float32 channel ``Y``, 0..1, the settings
that made it in the header), and once every frame of the shot is there records the sequence ``mask_<label>``
in shot.json (meta: kind "mask", label, source) and adds the channel ``mask.<label>`` to the shot's layered
colour files (``layers/NAME.####.exr``, when the colour lives there) so compositors find it beside RGBA.
Mattes are steadied over time by :class:`~dreamrooms.mask.matte.MatteFilter`, whose state is the previous
matte and frame: a rerun resumes exactly at the first frame missing or made with other settings.  The life of
the run (lock, resume, streaming, registration, cleanup, cluster chunks) is the stage spine's
(:mod:`dreamrooms.stage`); this module is the settings, the per-frame matte and the record.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dreamrooms import stage as spine
from dreamrooms.depth import stabilize as stab
from dreamrooms.errors import DreamroomsError, ShotError
from dreamrooms.mask import models as mm
from dreamrooms.mask.io import MASK_KIND, depth_of, levels_setting, segment_levels, select_frames
from dreamrooms.mask.matte import MatteFilter, depth_matte
from dreamrooms.shot import Sequence, Shot, exr, frame_file
from dreamrooms.shot.segments import segment_of, segment_starts, starts_segment

ATTR = "dreamrooms_mask"


class MaskError(DreamroomsError):
    """The mask stage cannot run as asked."""


@dataclass
class MaskSettings:
    """Everything a mask run is asked (the CLI, the headless entry, the panel and the cluster build this)."""
    source: str
    out: str
    from_depth: bool = False
    model: str | None = None
    classes: str = "person"
    frames: str | tuple[int, int] | None = None
    layers: int = 1
    instances: int = 0
    min_score: float = 0.7
    overwrite: bool = False
    device: str = "auto"
    argv: list[str] | None = None
    fit: object = None          # the --fit the shot's depth was made with (a folder of images of mixed sizes)


@dataclass
class MaskResult:
    shot: Shot
    labels: list[str]
    processed: list[int]
    skipped: int
    registered: bool
    pattern: str = ""       # the first label's sequence pattern (a cluster driver counts its frames)


@dataclass
class _Prepared:
    shot: Shot
    src: object
    labels: list[str]
    patterns: dict[str, str]
    colour_key: str | None
    depth: tuple[str, str] | None       # (sequence, channel) with --from-depth
    thresholds: list
    levels: dict = None                 # segment start -> that segment's levels (--from-depth)
    starts: frozenset = frozenset()     # frames that begin a segment: nothing temporal crosses them
    prev_n: int | None = None           # the frame the filters' state follows
    entry: object = None
    sha: str = ""
    family: str = ""
    session: object = None
    model_name: str = ""
    class_ids: tuple = ()
    slots: object = None
    source_name: str = "depth"
    s: MaskSettings | None = None


def _model(model: str, device: str):
    """(family, session, name, sha256) of a mask model from the registry (or a path); opening the session
    checks the file against its family's exported signature."""
    from dreamrooms.models import resolve
    from dreamrooms.models.runtime import open_session

    from dreamrooms.models.registry import sha256_file

    entry = resolve(model, kind="mask")
    ms = open_session(entry, device=device)
    sha = entry.sha256 or sha256_file(entry.path)     # open_session fills it in; the file's own as a fallback
    return entry.raw["mask"]["family"], ms.session, entry.name, sha, entry


class MaskStage(spine.Stage):
    name, attr = "mask", ATTR
    reads, writes = ("colour", "depth"), ("mask_<label>", "mask.<label> in the layered colour")
    Settings = MaskSettings
    temporal = True

    def prepare(self, s: MaskSettings, chunk=None) -> spine.Job:
        from dreamrooms.shot.sources import SourceError, open_source

        if s.from_depth == bool(s.model):
            raise MaskError("give either --from-depth (mattes from the shot's depth) or --model NAME (a segmentation model)")
        out = Path(s.out)
        if not (out / "shot.json").is_file():
            raise MaskError(f"{out}/shot.json: not found; masks go into an existing shot (make one with `dreamrooms depth "
                            f"{s.source} --out {out} --model tinydepth`)")
        shot = Shot.load(out, check_files=False)   # its own earlier, partly deleted output must not block a rerun
        if Path(s.source).resolve() == out.resolve():
            src = _OwnFrames(shot)    # the shot's own colour (its registered masks may be partly deleted: no check)
        else:
            try:
                src = open_source(s.source, fit=s.fit)   # `fit`: the --fit the shot's depth was made with
            except SourceError as exc:
                raise MaskError(str(exc)) from None
        if (src.width, src.height) != (shot.width, shot.height):
            raise MaskError(f"{src.label}: {src.width}x{src.height} but the shot {out} is {shot.width}x{shot.height}; "
                            f"mask the footage the shot was made from")
        numbers = select_frames(shot, s.frames)
        missing = [n for n in numbers if n not in src.numbers]
        if missing:
            raise MaskError(f"{src.label}: has no frame {missing[0]} (shot frames {shot.frame_start}-{shot.frame_end}); "
                            f"give the footage of this shot")
        p, settings = self._what(s, shot, src, chunk)
        if len(p.starts) > 1:
            settings["segments"] = sorted(p.starts)
        settings["footage"] = str(Path(src.label).resolve())
        from dreamrooms.shot.roles import colour_sequence

        try:
            p.colour_key = colour_sequence(shot)
            name = Path(shot.sequences[p.colour_key].pattern).name.split(".")[0] or shot.name
        except ShotError:
            p.colour_key, name = None, shot.name
        p.patterns = {lab: f"masks/{name}_{lab}.####.exr" for lab in p.labels}

        def outputs(n: int) -> list[spine.Output]:
            return [spine.Output(out / frame_file(p.patterns[lab], n), ("Y",)) for lab in p.labels]

        inputs = spine.Inputs.of(shot.frame_path(p.depth[0], n) for n in numbers) if p.depth else None
        return spine.Job(out, numbers, spine.fingerprint_of(settings), outputs, list(shot.frames), inputs, p)

    def _what(self, s: MaskSettings, shot: Shot, src, chunk) -> tuple[_Prepared, dict]:
        """The labels and the settings fingerprint (and the model session) of a run."""
        p = _Prepared(shot, src, [], {}, None, None, [], s=s, starts=segment_starts(shot.frame_start, shot.cuts))
        if s.from_depth:
            _, depth_key, depth_ch = depth_of(shot)
            p.depth, p.levels = (depth_key, depth_ch), segment_levels(shot, depth_key, depth_ch, s.layers + 1)
            p.thresholds = levels_setting(p.levels)
            p.labels = ["foreground"]
            return p, {"source": "depth", "layers": s.layers, "thresholds": p.thresholds}
        p.family, p.session, p.model_name, sha, p.entry = _model(s.model, s.device)
        p.sha = sha
        p.source_name = p.model_name
        p.class_ids = mm.parse_classes(s.classes) if p.family == "maskrcnn" else []
        if p.family == "maskrcnn" and s.instances > 0:
            if chunk is not None and chunk.warmup_from is not None:
                raise MaskError("--instances with warm-up frames: instance labels are carried over the whole clip in order")
            p.slots = mm.InstanceSlots(p.class_ids, s.instances)
        if p.family != "maskrcnn":
            p.labels = ["subject"]
        else:
            p.labels = p.slots.labels if p.slots else [mm.class_label(mm.COCO_CLASSES[c]) for c in p.class_ids]
        return p, {"source": p.model_name, "sha256": sha, "classes": p.class_ids, "min_score": s.min_score,
                   "instances": s.instances}

    def fresh(self, job, chunk=None) -> dict:
        return {lab: MatteFilter() for lab in job.data.labels}

    def seed(self, job, filters, prev: int) -> bool:
        """Exact resume: the filter's state is the last matte written and its frame."""
        p = job.data
        guide = stab.grey_guide(next(iter(p.src.frames([prev]))).srgb)
        for lab in p.labels:
            filters[lab].seed(exr.read_frame(job.outputs(prev)[p.labels.index(lab)].path, ["Y"])["Y"], guide)
        if p.slots is not None:
            p.slots.prev = {lab: f.prev for lab, f in filters.items() if f.prev.max() >= 0.5}
        p.prev_n = prev
        return True

    def read(self, job, n: int):
        p = job.data
        fr = next(iter(p.src.frames([n])))
        depth = exr.read_frame(p.shot.frame_path(p.depth[0], n), [p.depth[1]])[p.depth[1]] if p.depth else None
        return fr, depth

    def compute(self, job, filters, n: int, inputs) -> dict:
        p, (fr, depth) = job.data, inputs
        if starts_segment(p.starts, n, p.prev_n):     # a new photo or shot: nothing carries over
            for f in filters.values():
                f.restart()
            if p.slots is not None:
                p.slots.prev = {}
        p.prev_n = n
        if p.depth:
            mattes = {"foreground": depth_matte(depth, fr.srgb, p.levels[segment_of(p.starts, n)], p.s.layers)}
        else:
            try:
                mattes = mm.run_family(p.family, p.session, fr.srgb, p.class_ids, p.s.min_score, p.slots, p.entry)
            except mm.MaskModelError:
                raise
            except Exception as exc:
                raise MaskError(f"model {p.model_name!r} failed on frame {fr.number} "
                                f"({str(exc).splitlines()[0][:200]})") from None
        guide = stab.grey_guide(fr.srgb)     # one guide object: the filters share its optical flow
        return {o.path: {"Y": filters[lab](mattes[lab], guide)} for lab, o in zip(p.labels, job.outputs(n))}

    def record_keys(self, job) -> list[str]:
        return [f"mask_{lab}" for lab in job.data.labels]

    def record(self, job) -> spine.Record:
        p = job.data
        layered = p.colour_key is not None and p.shot.sequences[p.colour_key].pattern.startswith("layers/")
        if job.inputs is not None:   # checked before this stage rewrites any of them itself (the layered colour)
            job.inputs.check(self.name)
        rec = spine.Record(argv=p.s.argv)
        for lab in p.labels:
            meta = {"kind": MASK_KIND, "label": lab, "source": p.source_name}
            if layered:
                meta["layered_channel"] = f"mask.{lab}"
            rec.sequences[f"mask_{lab}"] = Sequence(p.patterns[lab], ["Y"], "data", False, meta=meta)
        if layered:
            _add_to_layered(p.shot, p.colour_key, p.labels, p.patterns)
            rec.channels[p.colour_key] = [f"mask.{lab}" for lab in p.labels]
        if not p.depth:
            rec.models.append(dict(name=p.model_name, sha256=p.sha, stage="mask", family=p.family, labels=p.labels))
        if job.inputs is not None:   # as they are now, after that rewrite: checked again under the manifest lock
            rec.inputs = spine.Inputs.of(job.inputs.files)
        return rec


MASK = MaskStage()


def make_masks(source: str | os.PathLike, out: str | os.PathLike, **options) -> MaskResult:
    """Write mattes for the shot in `out` from the frames of `source` (see module doc); `options` are the
    fields of :class:`MaskSettings`."""
    s = MaskSettings(str(source), str(out), **options)
    res = spine.run(MASK, s)
    return result(res)


def result(res: spine.Result) -> MaskResult:
    p = res.job.data
    return MaskResult(res.shot or p.shot, p.labels, res.plan.todo, res.plan.skipped, res.shot is not None,
                      p.patterns[p.labels[0]])


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
    """Copy every matte into the shot's layered colour files as `mask.<label>` (other layers and the header's
    fingerprints kept)."""
    from dreamrooms.stage.record import stamps

    for n in shot.frames:
        p = shot.frame_path(key, n)
        kept = stamps(p)
        layers = exr.read_frame(p)
        for lab in labels:
            layers[f"mask.{lab}"] = exr.read_frame(shot.folder / frame_file(patterns[lab], n), ["Y"])["Y"]
        exr.write_frame(p, layers, attributes=kept)
