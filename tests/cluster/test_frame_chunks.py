"""`dreamrooms mask|layers ... --ray --chunk N` on the two-node cluster against the one-machine run of the same
shot: the same files and sequences, the first chunk identical, the second (warmed up over the 6 frames before
it) within a stated tolerance at every frame, its first frame (the chunk boundary) included."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from dreamrooms.cluster.frames import OVERLAP, frames_chunk
from dreamrooms.cluster.plan import Chunk
from dreamrooms.shot import Shot, exr

import _layer_scenes as S

N, CHUNK = 16, 8      # chunks 1-8 and 9-16; the second warms up over frames 3-8


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 96x54 shot of N frames as `dreamrooms depth` leaves it: a sphere crossing a textured wall, a box."""
    folder = tmp_path_factory.mktemp("clip") / "shot"
    S.write_clip_shot(folder, frames=N)
    return folder


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != "shot.json")


def _sequences(folder: Path) -> dict:
    return {k: (s.pattern, s.channels, s.meta) for k, s in Shot.load(folder).sequences.items()}


def _both(clip, tmp_path, run_cli, address, *args):
    one, ray = tmp_path / "one", tmp_path / "ray"
    shutil.copytree(clip, one)
    shutil.copytree(clip, ray)
    code, _, err = run_cli(args[0], *[a.format(shot=one) for a in args[1:]])
    assert code == 0, err
    code, out, err = run_cli(args[0], *[a.format(shot=ray) for a in args[1:]], "--ray", address, "--chunk", str(CHUNK))
    assert code == 0, err
    assert f"{args[0]}: frames 1-8 done on " in err and f"{args[0]}: frames 9-16 done on " in err
    assert f"{args[0]}: {N} frame(s) written on the cluster" in out
    assert _files(ray) == _files(one)
    assert _sequences(ray) == _sequences(one)
    return one, ray


def _diffs(one: Path, ray: Path, key: str, channel: str) -> np.ndarray:
    """Per frame: max |chunked - one machine| of sequence `key`."""
    a, b = Shot.load(one), Shot.load(ray)
    return np.array([np.abs(exr.read_frame(a.frame_path(key, f), [channel])[channel].astype(np.float64)
                            - exr.read_frame(b.frame_path(key, f), [channel])[channel]).max() for f in a.frames])


def test_mask_from_depth_in_chunks_matches_one_machine(clip, tmp_path, run_cli, ray_cluster, capsys):
    one, ray = _both(clip, tmp_path, run_cli, ray_cluster.address, "mask", "{shot}", "--out", "{shot}", "--from-depth")
    d = _diffs(one, ray, "mask_foreground", "Y")
    mean = [np.abs(exr.read_frame(Shot.load(one).frame_path("mask_foreground", f), ["Y"])["Y"]
                   - exr.read_frame(Shot.load(ray).frame_path("mask_foreground", f), ["Y"])["Y"]).mean()
            for f in range(1, N + 1)]
    with capsys.disabled():
        print(f"\n  mask --from-depth, chunks of {CHUNK} with a {OVERLAP}-frame warm-up: max |diff| per frame "
              f"{np.array2string(d, precision=4)}; at the boundary (frame 9) max {d[8]:.4f} mean {mean[8]:.5f}; "
              f"frames 9-16 mean {np.mean(mean[8:]):.5f}")
    assert not d[:CHUNK].any()                       # the first chunk is the one-machine run
    assert d[CHUNK:].max() <= 0.02                   # the warmed-up chunk: its start has faded by 2^-6
    layered = [exr.read_frame(Shot.load(ray).frame_path("layers", f))["mask.foreground"] for f in (8, 9)]
    assert np.array_equal(layered[1], exr.read_frame(Shot.load(ray).frame_path("mask_foreground", 9), ["Y"])["Y"])
    assert layered[0].shape == (54, 96)
    # a rerun after a crash redoes only what is missing: chunk 9-16 resumes from its frame 11 on disk, exactly
    before = {f: exr.read_frame(Shot.load(ray).frame_path("mask_foreground", f), ["Y"])["Y"] for f in (12, 16)}
    Shot.load(ray).frame_path("mask_foreground", 12).unlink()
    code, out, err = run_cli("mask", ray, "--out", ray, "--from-depth", "--ray", ray_cluster.address, "--chunk", str(CHUNK))
    assert code == 0, err
    assert "mask: 5 frame(s) written on the cluster" in out
    for f, m in before.items():
        assert np.array_equal(exr.read_frame(Shot.load(ray).frame_path("mask_foreground", f), ["Y"])["Y"], m)


@pytest.fixture(scope="module")
def hidden(tmp_path_factory):
    """The hard case for layers: the sphere starts in front of the box and leaves to the left, so the wall
    behind the box is hidden in every frame: one machine carries the fill it made at frame 1 (the sphere beside
    the box), the second chunk inpaints it afresh at frame 3."""
    folder = tmp_path_factory.mktemp("hidden") / "shot"
    S.write_clip_shot(folder, frames=N, start=0.6, step=-0.1)
    return folder


def _rgba(shot: Shot, key: str, f: int) -> np.ndarray:
    return exr.read_frame(shot.frame_path(key, f), ["RGBA"])["RGBA"].astype(np.float64)


def _over(shot: Shot, f: int) -> np.ndarray:
    out = None
    for k in reversed(range(3)):
        x = _rgba(shot, f"layer{k}", f)
        out = x if out is None else x + out * (1 - x[..., 3:])
    return out


def test_layers_in_chunks_match_one_machine(hidden, tmp_path, run_cli, ray_cluster, capsys):
    one, ray = _both(hidden, tmp_path, run_cli, ray_cluster.address, "layers", "{shot}", "--count", "3")
    a, b = Shot.load(one), Shot.load(ray)
    col = np.array([[np.abs(_rgba(a, f"layer{k}", f) - _rgba(b, f"layer{k}", f)).mean() for f in a.frames]
                    for k in range(3)])
    top = np.array([[np.abs(_rgba(a, f"layer{k}", f) - _rgba(b, f"layer{k}", f)).max() for f in a.frames]
                    for k in range(3)])
    alpha = max(_diffs(one, ray, f"layer{k}", "A").max() for k in range(3))
    dep = np.array([_diffs(one, ray, f"layer{k}_depth", "Y") for k in range(3)])
    seen = np.array([np.abs(_over(a, f) - _over(b, f)).mean() for f in a.frames])
    edge = np.array([(np.abs(_over(a, f) - _over(b, f)).max(-1) > 0.01).sum() for f in a.frames])
    with capsys.disabled():
        print(f"\n  layers --count 3, chunks of {CHUNK} with a {OVERLAP}-frame warm-up, wall behind the box hidden "
              f"throughout: back layer mean |RGBA diff| per frame {np.array2string(col[2], precision=5)} (max pixel "
              f"{top[2].max():.3f}; middle layer mean <= {col[1].max():.5f}, front {col[0].max():.5f}); at the "
              f"boundary (frame 9) {col[2, 8]:.5f}; alpha max diff {alpha:.4f}; layer depth max diff "
              f"{dep.max():.4f} m; composite at the original camera mean diff {seen.max():.5f}, {edge.max()} of {54 * 96} pixels off by > 0.01 (soft edges the fill shows through)")
    assert not col[:, :CHUNK].any() and not dep[:, :CHUNK].any()     # the first chunk is the one-machine run
    assert alpha == 0.0                          # alpha does not depend on earlier frames: exact everywhere
    assert col[2, CHUNK:].max() <= 0.003         # back layer: a fresh fill of what no warm-up frame saw
    assert col[:2, CHUNK:].max() <= 3e-4
    assert dep[:, CHUNK:].max() <= 0.1           # extended depth behind the figures (the wall is at 6 m)
    assert seen.max() <= 6e-4 and edge.max() <= 0.01 * 54 * 96   # what the layers show at the original camera


def test_a_chunk_leaves_other_chunks_temps_alone(clip, tmp_path):
    """Chunks write beside each other under the driver's lock: a chunk must not clean temps it did not make."""
    shot = tmp_path / "shot"
    shutil.copytree(clip, shot)
    inflight = shot / "masks" / ".clip_foreground.0003.exr.999.tmp"      # another chunk's frame being written
    inflight.parent.mkdir()
    inflight.write_bytes(b"half a frame")
    wrote = frames_chunk(Chunk(9, 12, 4), stage="mask", threads=1,
                         kwargs={"source": str(shot), "out": str(shot), "from_depth": True})
    assert wrote == 4 and inflight.exists()
    assert sorted(p.name for p in (shot / "masks").glob("*.exr")) == [f"clip_foreground.{n:04d}.exr" for n in range(9, 13)]
    assert "mask_foreground" not in Shot.load(shot, check_files=False).sequences     # the driver registers


def test_the_driver_holds_the_lock_and_cleans_before_the_chunks(clip, tmp_path):
    """While a cluster run holds the mask lock a one-machine run is refused; the driver's planning call (it holds
    the lock) removes what a killed run left and writes no frame."""
    from dreamrooms import stage as spine
    from dreamrooms.mask.run import MASK, MaskSettings, make_masks, result
    from dreamrooms.shot.lock import LockedError, writer_lock

    shot = tmp_path / "shot"
    shutil.copytree(clip, shot)
    stale = shot / "masks" / ".clip_foreground.0003.exr.999.tmp"
    stale.parent.mkdir()
    stale.write_bytes(b"half a frame")
    with writer_lock(shot, "mask"):
        with pytest.raises(LockedError, match="another `dreamrooms mask` run is writing this shot"):
            make_masks(shot, shot, from_depth=True)
        job, plan = spine.plan(MASK, MaskSettings(str(shot), str(shot), from_depth=True))   # the spine's own API
        todo = result(spine.Result(job, plan))
    assert todo.processed == list(range(1, N + 1)) and todo.pattern == "masks/clip_foreground.####.exr"
    assert not stale.exists() and not list((shot / "masks").iterdir())


def test_cluster_mistakes_are_one_line_and_leave_nothing(clip, tmp_path, run_cli):
    shot = tmp_path / "shot"
    shutil.copytree(clip, shot)
    before = _files(shot)
    code, _, err = run_cli("mask", shot, "--out", shot, "--from-depth", "--chunk", "4")
    assert code == 1 and "--chunk 4 splits a run on a Ray cluster; add --ray" in err and err.count("\n") == 1
    code, _, err = run_cli("layers", shot, "--count", "2", "--chunk", "4")
    assert code == 1 and "--chunk 4 splits a run on a Ray cluster; add --ray" in err and err.count("\n") == 1
    code, _, err = run_cli("mask", shot, "--out", shot, "--model", "maskrcnn-r50-fpn", "--instances", "2",
                           "--ray", "127.0.0.1:9")
    assert code == 1 and "--instances 2 --ray" in err and "drop --ray" in err and err.count("\n") == 1
    assert _files(shot) == before
