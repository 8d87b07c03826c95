"""The depth stage on the stage spine: what a run prepares (source, model, output shot, names, fingerprint), its
temporal state (the stabiliser; exact resume from the state saved with the frames), its streamed run
(:mod:`dreamrooms.depth.stream`) and its record in shot.json.  The settings and the entry point are
:mod:`dreamrooms.depth.pipeline`."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dreamrooms import stage as spine
from dreamrooms.depth import resume, runner, stabilize as stab
from dreamrooms.depth.image import network_size
from dreamrooms.depth.model import fixed_batch, io_names, load_model, model_sha256
from dreamrooms.depth.pipeline import DepthSettings, _output_shot, camera_from_fov
from dreamrooms.depth.stream import StreamRun, StreamSettings, Targets, inplace_frames
from dreamrooms.errors import DepthError
from dreamrooms.shot import Sequence, Shot
from dreamrooms.shot.frames import frame_file, parse_frames, select_frames
from dreamrooms.shot.paths import confine
from dreamrooms.shot.segments import segment_starts
from dreamrooms.shot.sources import FrameSource, ShotSource, open_source
from dreamrooms.stage.fingerprint import settings_diff, settings_of
from dreamrooms.stage.state import StateFile


@dataclass
class _Prepared:
    s: DepthSettings
    src: Any
    ms: Any
    shot: Shot
    shot_name: str
    inplace_key: str | None
    targets: Targets
    patterns: dict[str, str]
    net_hw: tuple[int, int]
    stabilize: str
    batch: int
    metric: bool
    clip: bool
    sha: str
    settings: dict
    state: StateFile
    stats: dict = field(default_factory=lambda: {"frames": 0})
    src_cuts: list[int] = field(default_factory=list)   # cuts the source knows (a set of stills)
    starts: frozenset = frozenset()                      # frames that begin a segment (dreamrooms.shot.segments)
    detect_cuts: bool = False                            # also look for cuts in the pictures

    @property
    def provider(self) -> str:
        return getattr(self.ms, "provider", "")


@dataclass
class _State:
    stabilizer: Any
    clip_state: dict | None = None


class DepthStage(spine.Stage):
    name, attr = "depth", resume.DEPTH_ATTR
    reads, writes = ("footage or the shot's colour",), ("depth", "depth.Z in the layered colour", "camera from FOV")
    Settings = DepthSettings
    temporal = True
    whole_chunks = True       # a chunk's frames follow from its start (its reference keyframe)

    def prepare(self, s: DepthSettings, chunk: spine.Chunk | None = None) -> spine.Job:
        frames = parse_frames(s.frames) if isinstance(s.frames, str) else s.frames
        out = Path(s.out)
        src = s.source if isinstance(s.source, FrameSource) else open_source(s.source, fps=s.fps)
        numbers = select_frames(src.numbers, frames, src.label)
        ms = load_model(s.model, device=s.device, threads=s.threads)
        entry = ms.entry
        iname, _ = io_names(ms)
        batch = fixed_batch(ms, iname) or s.batch
        clip = runner.is_clip(entry)
        if clip and chunk is not None:
            raise DepthError(f"model {entry.name!r} is a video model (clip windows): --ray cannot split it into chunks")
        stabilize = "window" if clip else s.stabilize   # a clip model aligns its own windows
        net_hw = network_size(entry.input, src.height, src.width, s.size)
        shot, shot_name, inplace_key = _output_shot(src, out, numbers, s.name, s.fps)
        shot.folder = out
        pats = {"layers": shot.sequences[inplace_key].pattern if inplace_key else f"layers/{shot_name}.####.exr",
                "depth": shot.sequences["depth"].pattern if "depth" in shot.sequences else f"depth/{shot_name}.####.exr",
                "preview": f"preview/{shot_name}_depth.####.png"}
        offset = shot.sequences[inplace_key].frame_offset if inplace_key else 0
        manifest = out / "shot.json"
        targets = Targets(
            lambda n: confine(out, frame_file(pats["layers"], n + offset),
                              f"{manifest}: sequences.{inplace_key or 'layers'}.pattern"),
            lambda n: confine(out, frame_file(pats["depth"], n), f"{manifest}: sequences.depth.pattern"),
            (lambda n: confine(out, frame_file(pats["preview"], n), f"{manifest}: preview")) if s.preview else None)
        sha = model_sha256(entry)
        settings = {"model": entry.name, "sha256": sha, "stabilize": stabilize, "near": s.near, "far": s.far,
                    "network_size": list(net_hw), "semantics": entry.output.get("semantics", "inverse_relative"),
                    "source": resume.source_id(src, out, inplace_key)}
        src_cuts = [c for c in getattr(src, "cuts", []) if shot.frame_start < c <= shot.frame_end]
        starts = segment_starts(shot.frame_start, [*shot.cuts, *src_cuts])
        stills = bool(src_cuts) and set(src_cuts) >= set(numbers[1:])
        fit = getattr(src, "fit", None)
        if stills or fit is not None:   # the same files read as a clip, or fitted otherwise, give other depth
            settings["segments"] = "stills" if stills else "clip"
            settings["fit"] = fit.describe() if fit is not None else None
        fp = spine.fingerprint_of(settings)
        d = _Prepared(s, src, ms, shot, shot_name, inplace_key, targets, pats, net_hw, stabilize, batch,
                      runner.is_metric(entry), clip, sha, settings,
                      StateFile(targets.depth(numbers[0]).parent / f".{shot_name}.depth-state.npz", fp),
                      src_cuts=src_cuts, starts=starts, detect_cuts=not (stills or clip or _generated(src)))

        def outputs(n: int) -> list[spine.Output]:
            got = [spine.Output(targets.layers(n), ("depth.Z",), stamped=False), spine.Output(targets.depth(n), ("Y",))]
            return got + ([spine.Output(targets.preview(n), stamped=False, exr=False)] if s.preview else [])

        return spine.Job(out, numbers, fp, outputs, list(shot.frames), None, d)

    def mismatch(self, job, path: Path, other: str) -> DepthError:
        was, now = settings_of(other), job.data.settings
        if was.get("source") != now["source"]:
            return DepthError(f"{path}: made from other footage ({was.get('source', 'unknown')}, not {now['source']}); "
                              f"pass --overwrite to replace it, or pick another --out")
        return DepthError(f"{path}: written with other depth settings ({settings_diff(was, now)}); "
                          f"pass --overwrite to recompute, or use the same settings to resume")

    def stale(self, job) -> list[Path]:
        job.data.state.clean_temps()
        return [t(job.numbers[0]) for t in (job.data.targets.layers, job.data.targets.depth,
                                            job.data.targets.preview) if t is not None]

    def fresh(self, job, chunk: spine.Chunk | None = None) -> _State:
        from dreamrooms.depth.chunks import ChunkStabilizer

        d, s = job.data, job.data.s
        if d.clip:
            return _State(runner.FixedMapping(s.near, s.far))
        if chunk is not None and chunk.context:
            return _State(ChunkStabilizer(d.stabilize, s.near, s.far, metric=d.metric, **chunk.context))
        return _State(stab.Stabilizer(d.stabilize, s.near, s.far, metric=d.metric))

    def restore(self, job, plan, st: _State) -> int:
        """Exact resume: continue from the stabiliser (or clip window) state saved with the last frame whose
        predecessors were all on disk; frames after it are redone even if whole.  Without such a state the run
        starts again from its first frame, so a resumed run always equals an uninterrupted one."""
        d = job.data
        if d.stabilize == "off":
            return plan.start
        got = d.state.load()
        if got is None or got[0] not in job.numbers[:plan.start]:
            return 0
        st.stabilizer.set_state(got[1])
        st.clip_state = got[1]
        return job.numbers.index(got[0]) + 1

    def stream(self, job, plan, st: _State) -> int:
        d = job.data
        todo = plan.todo
        if not todo:
            return 0
        out, t0 = job.folder, todo[0]
        made = [p for p in (out, out / "layers", out / "depth", out / "preview", d.targets.layers(t0).parent,
                            d.targets.depth(t0).parent) if not p.exists()]
        if d.inplace_key:
            def frames(ns):
                return inplace_frames(d.src.shot, d.inplace_key, ns)
        else:
            def frames(ns):
                return ((f, None) for f in d.src.frames(ns))
        iname, oname = io_names(d.ms)
        anchors = []
        if d.clip:
            index = {n: k for k, n in enumerate(job.numbers)}
            feed = runner.ClipRunner(d.ms, iname, oname, len(job.numbers), index.__getitem__, state=st.clip_state)
            anchors = [job.numbers[i] for i in feed.plan.anchors(feed.windows.k, len(job.numbers))]
        else:
            feed = runner.FrameRunner(d.ms, iname, oname)
        s = d.s
        keep_state = d.stabilize != "off" and job.chunk is None
        StreamRun(frames, d.ms, feed, plan.warmup + todo, st.stabilizer, d.targets,
                  StreamSettings(d.net_hw, d.batch, s.near, s.far, d.metric, job.fingerprint, s.compression,
                                 s.workers, d.state.path if keep_state else None, s.on_frame, write_from=t0,
                                 starts=d.starts, detect_cuts=d.detect_cuts),
                  made_dirs=made, stats=d.stats, anchors=anchors).run()
        return len(todo)

    def finish(self, job, plan) -> None:
        job.data.state.remove()   # only needed while a run is unfinished

    def record_keys(self, job) -> list[str]:
        return ["depth"]

    def record(self, job) -> spine.Record:
        d, s = job.data, job.data.s
        entry, frames = d.ms.entry, list(d.shot.frames)
        added = ["depth.Z"] + (["normal.X", "normal.Y", "normal.Z"] if entry.output.get("normal") else [])
        rec = spine.Record(argv=s.argv, new_shot=d.shot)
        if d.inplace_key:
            rec.channels[d.inplace_key] = added
        else:
            rec.sequences["layers"] = Sequence(d.patterns["layers"], ["R", "G", "B", "A"] + added, "linear", True)
        meta = dict(semantics=("depth_metric" if d.metric else "depth"), near=s.near, far=s.far,
                    convention="distance along the camera axis, larger is farther")
        if s.preview and all(d.targets.preview(n).is_file() for n in frames):
            # PNGs are not EXR sequences (stages read every sequence as EXR): named in the depth pass's meta
            meta["preview"] = d.patterns["preview"]
            meta["preview_mapping"] = "16-bit grey, white = near, linear in inverse depth from 1/far to 1/near"
        fov = self._fov(d, frames)
        if fov is not None:     # the model estimated the lens (MoGe-2, Depth Pro)
            d.stats["fov_x"] = fov
            meta["fov_x"] = round(fov, 4)
            rec.camera = camera_from_fov(fov, len(frames))
        rec.sequences["depth"] = Sequence(d.patterns["depth"], ["Y"], "data", False, meta=meta)
        found = [n for n in frames if spine.read_attribute(d.targets.depth(n), resume.CUT_ATTR) == "1"]
        rec.cuts = sorted({*d.shot.cuts, *d.src_cuts, *found} - {d.shot.frame_start})
        d.stats["cuts"] = rec.cuts
        rec.models.append(dict(name=entry.name, sha256=d.sha, stage="depth", stabilize=d.stabilize, near=s.near,
                               far=s.far, network_size=list(d.net_hw), batch=d.batch,
                               semantics=d.settings["semantics"], provider=d.provider,
                               **({"fit": d.settings["fit"]} if d.settings.get("fit") else {})))
        return rec

    @staticmethod
    def _fov(d: _Prepared, frames: list[int]) -> float | None:
        """The median field of view the model gave per frame; the first frame's header says whether it gave one
        (a model without one costs one header read, not one per frame)."""
        if spine.read_attribute(d.targets.depth(frames[0]), resume.FOV_ATTR) is None:
            return None
        fovs = [spine.read_attribute(d.targets.depth(n), resume.FOV_ATTR) for n in frames]
        if any(f is None for f in fovs):
            return None
        return float(np.median([float(f) for f in fovs]))


def _generated(src) -> bool:
    """A walk (a generator in its provenance): continuous by construction, so no cut is looked for in it (a short
    walk's frames differ a lot and would read as cuts)."""
    return isinstance(src, ShotSource) and any(m.get("kind") == "generator" for m in src.shot.provenance.models)


DEPTH = DepthStage()
