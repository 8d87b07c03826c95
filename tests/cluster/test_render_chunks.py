"""`dreamrooms room SHOT --render --ray`: the room built once, its frames rendered by headless Blender in chunks
on both nodes, identical (>= 40 dB PSNR) to the one-machine render; and walks in chunks equal to one machine."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from dreamrooms.shot import Shot, exr

pytest.importorskip("bpy", reason="renders need Blender as a Python module (pip install bpy==5.0.1)")

FRAMES = 6
ROOM = ["--layout", "plane", "--move", "dolly", "--samples", "4", "--grid", "24", "--no-focus"]


def _shot(folder):
    """A 64x36 shot of FRAMES frames: a colour ramp on a slanted depth, as the depth stage writes it."""
    h, w = 36, 64
    shot = Shot(fps=24.0, width=w, height=h, frame_start=1, frame_end=FRAMES, name="t")
    shot.folder = folder
    shot.add_sequence("layers", "layers/t.####.exr", ["R", "G", "B", "A", "depth.Z"])
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    for k, f in enumerate(shot.frames):
        rgba = np.stack([x / w, y / h, np.full_like(x, k / FRAMES), np.ones_like(x)], -1)
        exr.write_frame(shot.frame_path("layers", f), {"RGBA": rgba, "depth.Z": 2.0 + x / w + 0.1 * k})
    shot.save()
    return folder


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def test_render_in_chunks_equals_the_one_machine_render(ray_cluster, run_cli, tmp_path, capsys):
    one = _shot(tmp_path / "one")
    ray = tmp_path / "ray"
    shutil.copytree(one, ray)
    code, _, err = run_cli("room", one, *ROOM, "--render")
    assert code == 0, err
    code, _, err = run_cli("room", ray, *ROOM, "--render", "--ray", ray_cluster.address, "--chunk", "3")
    assert code == 0, err
    assert "render: frames 1-3 done on " in err and "render: frames 4-6 done on " in err
    a, b = Shot.load(one), Shot.load(ray)
    assert "render" in b.sequences and b.sequences["render"].channels == a.sequences["render"].channels
    for f in a.frames:
        fa = exr.read_frame(a.frame_path("render", f))
        fb = exr.read_frame(b.frame_path("render", f))
        rgba_a = [k for k in fa if k.endswith("Combined.RGBA") or k == "ViewLayer.Combined"]
        key = rgba_a[0] if rgba_a else sorted(fa)[0]
        p = psnr(np.clip(fa[key], 0, 1), np.clip(fb[key], 0, 1))
        assert p >= 40.0, f"frame {f}: {p:.1f} dB"
    assert b.camera is not None and np.allclose(np.asarray(a.camera.matrices), np.asarray(b.camera.matrices))


def test_walk_in_chunks_equals_the_one_machine_walk(ray_cluster, run_cli, tmp_path):
    args = ["--model", "cppn-walk", "--frames", "10", "--size", "48x32", "--seeds", "3,17"]
    code, _, err = run_cli("walk", *args, "--out", tmp_path / "one")
    assert code == 0, err
    code, _, err = run_cli("walk", *args, "--out", tmp_path / "ray", "--ray", ray_cluster.address, "--chunk", "4")
    assert code == 0, err
    assert err.count("walk: frames ") == 3
    a, b = Shot.load(tmp_path / "one"), Shot.load(tmp_path / "ray")
    assert a.sequences["walk"].channels == b.sequences["walk"].channels
    for f in a.frames:
        np.testing.assert_array_equal(exr.read_frame(a.frame_path("walk", f))["RGBA"],
                                      exr.read_frame(b.frame_path("walk", f))["RGBA"])


def test_ray_without_an_address_and_no_ray_address_runs_on_a_local_ray(run_cli, tmp_path, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    args = ["--model", "cppn-walk", "--frames", "3", "--size", "16x16", "--seeds", "1"]
    code, _, err = run_cli("walk", *args, "--out", tmp_path / "w", "--ray", "--chunk", "2")
    assert code == 0, err
    assert "walk: 3 frame(s) in 2 chunk(s)" in err and "on 1 node(s)" in err
    assert Shot.load(tmp_path / "w").sequences["walk"].channels == ["R", "G", "B", "A"]
