"""The stage spine (dreamrooms.stage): a small example stage, and one test of resume, cluster chunks and
registration run against every stage that lives on it."""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from dreamrooms import stage as spine
from dreamrooms.shot import Sequence, Shot, exr, frame_file


# ---- the example: a whole new per-frame stage (resume, lock, cluster chunks, registration) ---------------------
@dataclass
class GainSettings:
    out: str
    gain: float = 2.0
    frames: str | None = None
    overwrite: bool = False


class GainStage(spine.Stage):
    """The shot's colour times `gain`, as the sequence `gain`."""
    name, attr, reads, writes = "gain", "dreamrooms_gain", ("colour",), ("gain",)

    def prepare(self, s: GainSettings, chunk=None) -> spine.Job:
        from dreamrooms.shot.frames import shot_frames, parse_frames
        from dreamrooms.shot.roles import colour_sequence

        shot, out = Shot.load(s.out, check_files=False), Path(s.out)
        key, numbers = colour_sequence(shot), list(shot_frames(shot, parse_frames(s.frames) if s.frames else None))
        return spine.Job(out, numbers, spine.fingerprint_of({"gain": s.gain, "colour": key}),
                         lambda n: [spine.Output(out / frame_file("gain/gain.####.exr", n), ("RGBA",))],
                         list(shot.frames), spine.Inputs.of(shot.frame_path(key, n) for n in numbers), (shot, key, s))

    def read(self, job, n):
        shot, key, _ = job.data
        return exr.read_frame(shot.frame_path(key, n), ["RGBA"])["RGBA"]

    def compute(self, job, state, n, rgba):
        return {job.outputs(n)[0].path: {"RGBA": rgba.astype(np.float32) * np.float32(job.data[2].gain)}}

    def record(self, job):
        seq = Sequence("gain/gain.####.exr", ["R", "G", "B", "A"], "linear", True, meta={"gain": job.data[2].gain})
        return spine.Record(sequences={"gain": seq}, inputs=job.inputs)


GAIN = GainStage()
# ---- end of the example ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A 6-frame 48x32 walk with depth and a depth matte, made by the stages themselves."""
    from dreamrooms.depth.pipeline import estimate_sequence
    from dreamrooms.mask.run import make_masks
    from dreamrooms.walk.generator import open_generator
    from dreamrooms.walk.run import WalkSettings, run_walk

    shot = tmp_path_factory.mktemp("spine") / "shot"
    run_walk(open_generator("cppn-walk", device="cpu", threads=1), shot, WalkSettings(6, 24, (32, 48), [1, 2]))
    estimate_sequence(shot, "tinydepth", shot, threads=1, batch=1)
    make_masks(shot, shot, from_depth=True)
    return shot


def _case(name: str, shot: Path):
    """(stage, settings) of each stage on the spine, for the shot at `shot`."""
    if name == "gain":
        return GAIN, GainSettings(str(shot))
    if name == "mask":
        from dreamrooms.mask.run import MASK, MaskSettings
        return MASK, MaskSettings(str(shot), str(shot), from_depth=True, layers=2, overwrite=True)
    if name == "layers":
        from dreamrooms.layers.run import LAYERS, LayersSettings
        return LAYERS, LayersSettings(str(shot), 2)
    if name == "depth":
        from dreamrooms.depth.pipeline import DepthSettings
        from dreamrooms.depth.stage import DEPTH
        return DEPTH, DepthSettings(shot, "tinydepth", shot, near=2.0, threads=1, batch=1, overwrite=True)
    from dreamrooms.walk.generator import open_generator
    from dreamrooms.walk.run import WalkSettings
    from dreamrooms.walk.stage import WALK, WalkRun
    return WALK, WalkRun(open_generator("cppn-walk", device="cpu", threads=1), str(shot),
                         WalkSettings(6, 24, (32, 48), [1, 2, 3]), overwrite=True)


def _pixels(job, n) -> list[np.ndarray]:
    return [np.concatenate([np.ravel(v) for v in exr.read_frame(o.path).values()]) for o in job.outputs(n) if o.exr]


def _unregister(shot: Path, keys) -> None:
    data = json.loads((shot / "shot.json").read_text())
    for k in keys:
        data["sequences"].pop(k, None)
    (shot / "shot.json").write_text(json.dumps(data))


@pytest.mark.parametrize("name", ["gain", "mask", "layers", "depth", "walk"])
def test_resume_chunks_and_registration_of_every_stage(base, tmp_path, name):
    shot = tmp_path / "shot"
    shutil.copytree(base, shot)
    stage, settings = _case(name, shot)
    res = spine.run(stage, settings)
    keys = stage.record_keys(res.job)
    assert res.written == 6 and res.shot is not None and set(keys) <= set(Shot.load(shot).sequences)
    before = {n: _pixels(res.job, n) for n in res.job.numbers}
    if name != "walk":      # a rerun with nothing to do writes nothing and keeps the record
        settings.overwrite = False
        again = spine.run(stage, settings)
        assert again.written == 0 and set(keys) <= set(again.shot.sequences)
    settings.overwrite = False

    # killed before registration, frame 4 lost: the rerun writes what an uninterrupted run wrote, then registers
    _unregister(shot, keys)
    for o in res.job.outputs(4):
        if o.stamped:        # (depth in place: the layered file is the walk's colour, its input)
            o.path.unlink()
    res = spine.run(stage, settings)
    assert res.plan.todo == ([4] if not stage.temporal else [1, 2, 3, 4, 5, 6] if name == "depth" else [4, 5, 6])
    for n in res.job.numbers:    # layers: fills seeded from the half-float files on disk, within half precision
        for a, b in zip(_pixels(res.job, n), before[n]):
            np.testing.assert_allclose(a.astype(np.float32), b.astype(np.float32), rtol=0, atol=2e-3)
    assert set(keys) <= set(Shot.load(shot).sequences)

    # the cluster's way: the driver locks and plans, a chunk runs frames 4-6 after a warm-up, the driver registers
    _unregister(shot, keys)
    for n in (4, 5, 6):
        for o in res.job.outputs(n):
            if o.stamped:
                o.path.unlink()
    with spine.locked(stage, settings):
        job, plan = spine.plan(stage, settings)
        assert plan.todo[0] == 4 if stage.temporal else plan.todo == [4, 5, 6]
        assert spine.register(stage, settings, job) is None            # frames missing: nothing recorded
        chunk = spine.run_chunk(stage, settings, spine.Chunk(4, 6, warmup_from=None if name == "depth" else 2))
        assert chunk.job.numbers == [4, 5, 6] and chunk.written == 3
        shot_after = spine.register(stage, settings, job)
    assert shot_after is not None and set(keys) <= set(Shot.load(shot).sequences)
    for n in (4, 5, 6):
        for o in job.outputs(n):
            assert not o.stamped or spine.read_attribute(o.path, stage.attr) == job.fingerprint


def test_other_settings_stop_the_run_with_the_fix_and_inputs_rewritten_meanwhile_fail_registration(base, tmp_path):
    from dreamrooms.errors import DreamroomsError
    from dreamrooms.stage.record import InputsChanged

    shot = tmp_path / "shot"
    shutil.copytree(base, shot)
    spine.run(GAIN, GainSettings(str(shot), frames="1-3"))
    with pytest.raises(DreamroomsError, match="other gain settings; pass --overwrite"):
        spine.run(GAIN, GainSettings(str(shot), gain=3.0))
    assert "gain" not in Shot.load(shot).sequences

    job, _ = spine.plan(GAIN, GainSettings(str(shot), gain=3.0, overwrite=True))
    spine.run(GAIN, GainSettings(str(shot), gain=3.0, overwrite=True))
    colour = Shot.load(shot).frame_path("walk", 2)      # another run rewrites an input (a new walk frame)
    exr.write_frame(colour, exr.read_frame(colour), attributes={"dreamrooms_walk": "another walk"})
    with pytest.raises(InputsChanged, match="walk.0002.exr: rewritten by another run"):
        spine.register(GAIN, None, job)


def test_depth_resumed_without_a_saved_state_equals_an_uninterrupted_run(base, tmp_path):
    """Item 7: a depth run killed before it saved a stabiliser state resumed from the last frame on disk (up to
    0.38 % off); now it starts again from the first frame and every frame is bit for bit the clean run's."""
    from dreamrooms.depth.pipeline import estimate_sequence

    shot = tmp_path / "shot"
    shutil.copytree(base, shot)
    depth = [shot / f"depth/walk.{n:04d}.exr" for n in range(1, 7)]
    clean = [exr.read_frame(p, ["Y"])["Y"] for p in depth]
    _unregister(shot, ["depth"])
    for p in depth[3:]:
        p.unlink()
    assert not list((shot / "depth").glob(".*state*"))      # no saved state, as after a kill before the first one
    res = estimate_sequence(shot, "tinydepth", shot, threads=1, batch=1)
    assert res.skipped == 0 and res.processed == [1, 2, 3, 4, 5, 6]
    for p, want in zip(depth, clean):
        np.testing.assert_array_equal(exr.read_frame(p, ["Y"])["Y"], want)


def test_stamp_exr_adds_the_fingerprint_to_a_multipart_render_and_keeps_every_pixel(tmp_path):
    """Renders join the scheme: the render side stamps the file it renames into place (all parts, pixels kept)."""
    import OpenEXR

    path = tmp_path / "render.0001.exr"
    rgba = np.random.default_rng(0).random((8, 12, 4)).astype(np.float16)
    z = np.random.default_rng(1).random((8, 12)).astype(np.float32)
    exr.write_frame(path, {"ViewLayer.Combined.RGBA": rgba, "ViewLayer.Depth.Z": z}, compression="dwaa")
    before = exr.read_frame(path)
    assert spine.read_attribute(path, "dreamrooms_render") is None
    spine.stamp_exr(path, {"dreamrooms_render": '{"samples": 4}'})
    with OpenEXR.File(str(path), header_only=True) as f:
        assert len(f.parts) == 2 and all(p.header["dreamrooms_render"] == '{"samples": 4}' for p in f.parts)
    after = exr.read_frame(path)
    assert after.keys() == before.keys()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])
