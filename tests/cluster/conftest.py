"""Cluster tests share one real two-node Ray cluster on loopback (started once per session, a few seconds)."""
from __future__ import annotations


import pytest

pytest.importorskip("ray", reason="the cluster extra is not installed (pip install 'dreamrooms[cluster]')")

from ray_nodes import start_cluster  # noqa: E402  (tests/cluster is on pytest's pythonpath: pyproject.toml)


@pytest.fixture(scope="session", autouse=True)
def _no_ray_token():
    """Ray 2.60 writes ~/.ray/auth_token and turns token auth on for a local ray.init: not in the user's home
    from a test, and not for the loopback cluster (the drivers here connect with auth disabled)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("RAY_AUTH_MODE", "disabled")
    yield
    mp.undo()


@pytest.fixture(scope="session")
def ray_cluster():
    nodes = start_cluster(nodes=2, cpus=1)
    try:
        yield nodes
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        nodes.stop()
