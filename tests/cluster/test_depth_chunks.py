"""Depth in chunks on the two-node cluster keeps the temporal stability of one machine: a rendered clip with
ground truth, tinydepth, chunks of 14 with an 8-frame overlap; flicker at chunk boundaries vs inside chunks vs
one machine, accuracy vs one machine; and a worker killed mid-run is retried to the same frames."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from dreamrooms.depth.chunks import ChunkStabilizer, chain_reference
from dreamrooms.colour import linear_to_srgb
from dreamrooms.depth import stabilize as S
from dreamrooms.depth.pipeline import estimate_sequence
from dreamrooms.shot import Shot, exr
from dreamrooms.training import metrics as M
from dreamrooms.training import synth

ROOT = Path(__file__).resolve().parents[2]
W, H, N, CHUNK = 192, 128, 40, 14


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """An orbiting camera in a random synthetic room: sRGB PNG frames with per-frame grain and exposure
    flicker (the model's noise), and the true depth of each frame."""
    d = tmp_path_factory.mktemp("clip")
    scene = synth.random_scene(11)
    cams = synth.camera_path(scene, N, kind="orbit", seed=1, distance=1.0)
    rng = np.random.default_rng(111)
    gts = []
    for i, c in enumerate(cams):
        rgb, depth = synth.render_scene(scene, c, W, H)
        img = linear_to_srgb(np.clip(rgb * rng.uniform(0.9, 1.1), 0, 1))
        img = np.clip(img + rng.normal(0, 0.03, img.shape), 0, 1)
        cv2.imwrite(str(d / f"img.{i + 1:04d}.png"), (img[..., ::-1] * 255 + 0.5).astype(np.uint8))
        gts.append(depth.astype(np.float64))
    return d / "img.####.png", gts


def _depths(out: Path) -> list[np.ndarray]:
    shot = Shot.load(out)
    return [exr.read_frame(shot.frame_path("depth", f), ["Y"])["Y"] for f in shot.frames]


def _transitions(depths, gts) -> np.ndarray:
    """Per transition f -> f+1: mean |change| of depth (clip aligned to the truth once), over the mean depth."""
    al = M.align_clip(depths, gts)
    ref = float(np.mean([g.mean() for g in gts]))
    return np.array([np.mean(np.abs(b - a)) for a, b in zip(al, al[1:])]) / ref


@pytest.fixture(scope="module")
def one_machine(clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("one") / "shot"
    estimate_sequence(str(clip[0]), "tinydepth", out, threads=1)
    return out


@pytest.fixture(scope="module")
def chunked(clip, ray_cluster, tmp_path_factory):
    out = tmp_path_factory.mktemp("ray") / "shot"
    from dreamrooms.commands.main import main

    assert main(["depth", str(clip[0]), "--model", "tinydepth", "--out", str(out),
                 "--ray", ray_cluster.address, "--chunk", str(CHUNK)]) == 0
    return out


def test_the_next_chunk_continues_exactly_where_the_chunk_before_hands_over():
    """The twin stabiliser in chunk A and chunk B's own start compute the same frames from the same reference,
    so A's last frame equals what B would have output there: the boundary has no jump of its own."""
    rng = np.random.default_rng(0)
    gt = 1.0 / np.linspace(1, 5, 48 * 32).reshape(32, 48).astype(np.float32)
    raws = [(gt * rng.uniform(0.8, 1.2) + rng.uniform(-0.05, 0.05) + rng.normal(0, 0.01, gt.shape)).astype(np.float32)
            for _ in range(24)]
    guide = np.full(gt.shape, 128, np.uint8)
    ref = chain_reference({0: (raws[0], guide), 12: (raws[12], guide)}, 1.0, 10.0)
    a = ChunkStabilizer("keyframe", 1.0, 10.0, metric=False, first_read=0, handover=(12, 19, ref[12], guide))
    out_a = [a(r, guide) for r in raws[:20]]
    b = ChunkStabilizer("keyframe", 1.0, 10.0, metric=False, first_read=13, start=(ref[12], guide))
    out_b = [b(r, guide) for r in raws[13:20]]
    np.testing.assert_array_equal(out_a[19], out_b[-1])
    assert not np.array_equal(out_a[13], out_b[0])        # inside the overlap A still cross-fades from its own


def test_chunked_depth_meets_the_one_machine_targets(clip, one_machine, chunked, capsys):
    gts = clip[1]
    one, ray = _depths(one_machine), _depths(chunked)
    t1, tr = _transitions(one, gts), _transitions(ray, gts)
    # transition k goes from frame k+1 to k+2; chunks start at frames 15 and 29
    boundary = [13, 27]
    inside = [k for k in range(N - 1) if k not in boundary]
    m1 = [M.absrel_per_frame(d, g) for d, g in zip(one, gts)]
    mr = [M.absrel_per_frame(d, g) for d, g in zip(ray, gts)]
    minmax = M.flicker([S.to_depth(S.minmax_normalise(1.0 / d), 1, 10) for d in one], gts)
    with capsys.disabled():
        print(f"\n  depth flicker: one machine {t1.mean():.5f}, chunked {tr.mean():.5f} (per-frame min-max {minmax:.5f}); "
              f"at chunk boundaries {tr[boundary].mean():.5f} vs inside chunks {tr[inside].mean():.5f} "
              f"(one machine at the same transitions {t1[boundary].mean():.5f}); AbsRel {np.mean(m1):.4f} vs "
              f"{np.mean(mr):.4f}; clip alignment error {M.temporal_alignment_error(one, gts):.4f} vs "
              f"{M.temporal_alignment_error(ray, gts):.4f}")
    assert tr.mean() <= 1.15 * t1.mean()                        # the clip flickers about as little
    assert tr[boundary].mean() <= 1.5 * tr[inside].mean()       # no visible step where chunks meet
    assert tr[boundary].mean() <= 1.5 * t1[boundary].mean()
    assert np.mean(mr) <= 1.05 * np.mean(m1)                    # per-frame accuracy within 5 %
    assert M.temporal_alignment_error(ray, gts) <= 1.05 * M.temporal_alignment_error(one, gts)
    shot_one, shot_ray = Shot.load(one_machine), Shot.load(chunked)
    assert sorted(shot_ray.sequences) == sorted(shot_one.sequences) == ["depth", "layers"]
    assert shot_ray.sequences["depth"].pattern == shot_one.sequences["depth"].pattern


def test_a_worker_killed_mid_run_is_retried_and_the_shot_ends_complete(clip, chunked, ray_cluster, tmp_path):
    out = tmp_path / "shot"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "core"), os.environ.get("PYTHONPATH", "")]),
               DREAMROOMS_PROGRESS="none")
    proc = subprocess.Popen([sys.executable, "-m", "dreamrooms", "depth", str(clip[0]), "--model", "tinydepth",
                             "--out", str(out), "--ray", ray_cluster.address, "--chunk", str(CHUNK)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    end = time.monotonic() + 120
    while killed is None and proc.poll() is None and time.monotonic() < end:
        busy = [p for p in ray_cluster.task_pids("ray::dreamrooms-depth")   # Ray titles a worker by its task
                if p not in ray_cluster.task_pids("ray::dreamrooms-depth-reference")]
        if busy and list((out / "depth").glob("*.exr")):     # mid-run: a chunk is writing
            os.kill(busy[0], signal.SIGKILL)
            killed = busy[0]
        time.sleep(0.02)
    stdout, stderr = proc.communicate(timeout=300)
    assert killed is not None, "no chunk task was running to kill"
    assert proc.returncode == 0, stderr[-2000:]
    got, want = _depths(out), _depths(chunked)
    assert len(got) == N
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)   # the retried chunk wrote the same frames
    assert not list(out.rglob("*.tmp"))


def test_depth_into_a_walk_shot_in_place_on_the_cluster(ray_cluster, run_cli, tmp_path):
    shot = tmp_path / "walk"
    code, _, err = run_cli("walk", "--model", "cppn-walk", "--frames", "20", "--size", "48x32", "--seeds", "3,17",
                           "--out", shot)
    assert code == 0, err
    code, out, err = run_cli("depth", shot, "--model", "tinydepth", "--out", shot, "--ray", ray_cluster.address,
                             "--chunk", "10")
    assert code == 0, err
    assert "depth: 20 frame(s) written on the cluster" in out
    s = Shot.load(shot)
    assert "depth.Z" in s.sequences["walk"].channels and "depth" in s.sequences
    assert all("depth.Z" in exr.read_frame(s.frame_path("walk", f)) for f in s.frames)


def test_a_rerun_after_a_crash_redoes_only_the_unfinished_chunk(clip, chunked, ray_cluster, run_cli, tmp_path):
    import shutil

    out = tmp_path / "shot"
    shutil.copytree(chunked, out)
    shot = Shot.load(out)
    shot.frame_path("depth", 20).unlink()                      # chunk 15-28 was cut short
    code, stdout, err = run_cli("depth", clip[0], "--model", "tinydepth", "--out", out, "--ray", ray_cluster.address,
                                "--chunk", str(CHUNK))
    assert code == 0, err
    assert "depth: 14 frame(s) written on the cluster" in stdout   # the two whole chunks were skipped
    for a, b in zip(_depths(out), _depths(chunked)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
