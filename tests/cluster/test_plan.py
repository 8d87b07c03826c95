"""Chunk planning, --ray address resolution and the shot check (no cluster needed)."""
from __future__ import annotations

import pytest

from dreamrooms.cluster import plan
from dreamrooms.cluster.plan import Chunk, ClusterError, ShotNotVisible


def test_auto_uses_ray_address_else_local(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert plan.resolve_address(None) == "local"
    assert plan.resolve_address("auto") == "local"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    assert plan.resolve_address("auto") == "10.0.0.5:6379"
    assert plan.resolve_address("ray://head:10001") == "ray://head:10001"


def test_bad_address_is_one_line_with_the_fix():
    with pytest.raises(ClusterError) as e:
        plan.resolve_address("my cluster")
    assert "\n" not in str(e.value) and "HOST:PORT" in str(e.value)


def test_chunks_cover_every_frame_once_with_warmup_inside_the_clip():
    chunks = plan.plan_chunks(1, 120, 50, warmup=6)
    assert [c.frames for c in chunks] == [range(1, 51), range(51, 101), range(101, 121)]
    assert [c.warmup for c in chunks] == [0, 6, 6]
    # a tail shorter than the warm-up joins the chunk before it (its filter could not settle)
    assert [c.label for c in plan.plan_chunks(1, 103, 50, warmup=6)] == ["1-50", "51-103"]
    assert plan.plan_chunks(5, 5, 3) == [Chunk(5, 5, 0)]
    # the default plan evens out the work: the first chunk has no warm-up, so it takes that many frames more
    even = plan.balanced_chunks(1, 120, 2, warmup=8)
    assert [c.label for c in even] == ["1-64", "65-120"] and [len(c.frames) + c.warmup for c in even] == [64, 64]
    three = plan.balanced_chunks(1, 100, 3, warmup=6)
    assert [c.frames.start for c in three] == [1, 38, 70] and three[-1].frames.stop == 101
    assert max(len(c.frames) + c.warmup for c in three) - min(len(c.frames) + c.warmup for c in three) <= 1
    assert plan.balanced_chunks(1, 10, 2) == plan.plan_chunks(1, 10, 5)
    with pytest.raises(ClusterError, match="--chunk 0"):
        plan.plan_chunks(1, 10, 0)


def test_default_chunk_is_one_per_slot_within_the_stage_bounds():
    assert plan.default_chunk(120, 2, "depth") == 60
    assert plan.default_chunk(120, 16, "depth") == 24      # warm-up stays a small part of a chunk
    assert plan.default_chunk(24, 2, "render") == 12
    assert plan.default_chunk(1000, 2, "render") == 24     # a killed node loses at most 24 frames
    assert plan.default_chunk(48, 16, "render") == 8       # Blender's start-up is paid for 8 frames at least
    assert plan.default_chunk(5, 2, "walk") == 5


def test_shot_check_names_the_node_and_the_fix(tmp_path):
    (tmp_path / "shot.json").write_text('{"a": 1}')
    h = plan.shot_hash(tmp_path)
    plan.check_shot(tmp_path, h, "n1")
    (tmp_path / "shot.json").write_text('{"a": 2}')
    with pytest.raises(ShotNotVisible, match="node n1 sees a different") as e:
        plan.check_shot(tmp_path, h, "n1")
    assert "\n" not in str(e.value)
    with pytest.raises(ShotNotVisible, match="node n2 cannot read .*mount the shot folder"):
        plan.check_shot(tmp_path / "nope", h, "n2")


def test_ray_is_never_bundled_into_the_blender_extension():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "blender_addon" / "build_extension.py"
    spec = importlib.util.spec_from_file_location("_build_extension", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.RUNTIME and not [d for d in mod.RUNTIME if d.lower().startswith("ray")]   # the wheels it bundles


def test_cli_cluster_mistakes_are_one_line_before_anything_runs(run_cli, tmp_path):
    code, _, err = run_cli("depth", tmp_path / "none", "--model", "tinydepth", "--out", tmp_path / "o", "--chunk", "8")
    assert code == 1 and "--chunk 8 splits a run on a Ray cluster; add --ray" in err and err.count("\n") == 1
    code, _, err = run_cli("walk", "--model", "cppn-walk", "--frames", "4", "--out", tmp_path / "w", "--ray", "my cluster")
    assert code == 1 and "HOST:PORT" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists() and not (tmp_path / "w").exists()
