"""The driver on a real two-node Ray cluster: chunks spread over both nodes, one bar, where each ran, and a
node that cannot see the shot stops the run with one line instead of being retried."""
from __future__ import annotations

import sys
import time

import pytest

import ray
from dreamrooms.cluster import driver
from dreamrooms.cluster.plan import ClusterError, ShotNotVisible, plan_chunks

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])   # workers need not import this test module


def write_frames(chunk, folder, delay=0.0):
    """A chunk task: one small file per frame, as a stage would write."""
    from pathlib import Path

    for f in chunk.frames:
        time.sleep(delay)
        (Path(folder) / f"f{f:04d}.txt").write_text(str(f))
    return len(chunk.frames)


def visible_gpu(chunk):
    """A chunk task that reports the GPU Ray gave it (Ray sets CUDA_VISIBLE_DEVICES for num_gpus tasks)."""
    import os
    import time

    time.sleep(1.0)   # both tasks hold their GPU at once
    return os.environ.get("CUDA_VISIBLE_DEVICES")


def die(chunk):
    """A chunk task whose worker process dies (as when a node is lost or the OOM killer strikes)."""
    import os

    os._exit(1)


@pytest.fixture
def shot(tmp_path):
    (tmp_path / "shot.json").write_text('{"name": "t"}')
    return tmp_path


def test_chunks_run_on_both_nodes_and_every_frame_is_written(ray_cluster, shot, capsys):
    with driver.connect(ray_cluster.address) as r:
        res = driver.resources(r)
        assert (res.nodes, res.slots, res.num_cpus, res.num_gpus) == (2, 2, 1, 0)
        chunks = plan_chunks(1, 8, 2)
        out = driver.run_chunks(r, write_frames, chunks, shot=shot, res=res, desc="test", total=8,
                                count_done=lambda: len(list(shot.glob("f*.txt"))),
                                kwargs={"folder": str(shot), "delay": 0.2})
    assert sorted(p.name for p in shot.glob("f*.txt")) == [f"f{i:04d}.txt" for i in range(1, 9)]
    assert [r.value for r in out] == [2, 2, 2, 2]
    assert len({r.node for r in out}) == 2          # both nodes worked
    err = capsys.readouterr().err
    for c in chunks:
        assert f"test: frames {c.label} done on " in err


def test_a_node_that_cannot_see_the_shot_fails_once_with_one_line(ray_cluster, shot, monkeypatch):
    # a relative path means another folder on the workers (their working directory is not ours): the task's
    # check finds no shot.json there, and the run stops at once (a failed check is not retried)
    monkeypatch.chdir(shot.parent)
    t = time.monotonic()
    with driver.connect(ray_cluster.address) as r:
        res = driver.resources(r)
        with pytest.raises(ShotNotVisible) as e:
            driver.run_chunks(r, write_frames, plan_chunks(1, 4, 2), shot=shot.name, res=res, desc="test", total=4,
                              kwargs={"folder": shot.name})
    msg = str(e.value)
    assert "\n" not in msg and "cannot read" in msg and "shot.json" in msg and "mount the shot folder" in msg
    assert "node " in msg
    assert time.monotonic() - t < 30
    assert not list(shot.glob("f*.txt"))


def test_a_chunk_whose_worker_keeps_dying_fails_with_one_line_after_the_retries(ray_cluster, shot):
    with driver.connect(ray_cluster.address) as r:
        res = driver.resources(r)
        with pytest.raises(ClusterError) as e:
            driver.run_chunks(r, die, plan_chunks(1, 2, 2), shot=shot, res=res, desc="test", total=2, max_retries=1)
    msg = str(e.value)
    assert "\n" not in msg and "chunk 1-2: its worker or node died 2 time(s)" in msg and "rerun" in msg


def test_on_a_cluster_with_gpus_each_task_asks_for_one(shot):
    """A one-node cluster declaring 2 GPUs (logical: Ray schedules on what a node declares): one task per GPU,
    each sees its own device."""
    from ray_nodes import start_cluster

    nodes = start_cluster(nodes=1, cpus=2, gpus=2)
    try:
        with driver.connect(nodes.address) as r:
            res = driver.resources(r)
            assert (res.num_gpus, res.num_cpus, res.slots) == (1, 1, 2)
            out = driver.run_chunks(r, visible_gpu, plan_chunks(1, 2, 1), shot=shot, res=res, desc="test", total=2)
    finally:
        nodes.stop()
    assert sorted(c.value for c in out) == ["0", "1"]
