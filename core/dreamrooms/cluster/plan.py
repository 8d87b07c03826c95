"""What a cluster run is made of, without Ray: where to connect, how frames split into chunks, and the shot
check every task makes before it writes (so a node that mounts another copy of the shot, or none, fails with
one line instead of writing beside the real one).
"""
from __future__ import annotations

import argparse
import hashlib
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from dreamrooms.errors import DreamroomsError

AUTO = "auto"
LOCAL = "local"
ENV = "RAY_ADDRESS"   # the variable Ray itself reads (docs.ray.io, ray.init: address)
# host:port (the GCS of `ray start --head`, default port 6379) or a Ray Client URL ray://host:10001 (which needs
# `pip install 'ray[client]'`); ray.init looks at RAY_ADDRESS first (docs.ray.io/en/latest/ray-core/starting-ray.html)
_ADDRESS = re.compile(r"(ray://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}")


class ClusterError(DreamroomsError):
    """A cluster run cannot start or a chunk failed in a way a retry cannot fix."""


class ShotNotVisible(ClusterError):
    """A task's node does not see the shot the driver sees (not mounted, another copy, or changed)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """`--ray [ADDRESS]` and `--chunk N`, the same on every stage that runs on a cluster."""
    g = p.add_argument_group("cluster (Ray; pip install 'dreamrooms[cluster]')")
    g.add_argument("--ray", nargs="?", const=AUTO, default=None, metavar="ADDRESS",
                   help=f"run in chunks on a Ray cluster: the head's HOST:PORT, or no value for ${ENV} else a Ray "
                        f"on this machine; the shot must be on storage every node mounts at the same path")
    g.add_argument("--chunk", type=int, default=None, metavar="N",
                   help="frames per Ray task (default: one chunk per task slot of the cluster)")


def cluster_address(args: argparse.Namespace) -> str | None:
    """The address to run on, or None to run here; `--chunk` alone is a mistake worth one line."""
    if args.ray is None:
        if args.chunk is not None:
            raise ClusterError(f"--chunk {args.chunk} splits a run on a Ray cluster; add --ray [ADDRESS]")
        return None
    if args.chunk is not None and args.chunk < 1:
        raise ClusterError(f"--chunk {args.chunk}: give at least 1 frame per task")
    return resolve_address(args.ray)


def resolve_address(value: str | None) -> str:
    """`--ray` value -> what ray.init gets: `auto` = $RAY_ADDRESS, else `local` (a Ray on this machine only)."""
    if value is None or value == AUTO:
        env = os.environ.get(ENV, "").strip()
        return env or LOCAL
    value = value.strip()
    if value == LOCAL or _ADDRESS.fullmatch(value):
        return value
    raise ClusterError(f"--ray {value!r}: give the head node as HOST:PORT (e.g. 10.0.0.5:6379, what `ray start --head` "
                       f"prints), ray://HOST:10001, `local`, or nothing to use ${ENV}")


@dataclass(frozen=True)
class Chunk:
    """Frames `first`..`last` (inclusive) written by one task; `warmup` frames before `first` are computed
    but not written (depth, mask, layers: their temporal filters settle there)."""
    first: int
    last: int
    warmup: int = 0

    @property
    def frames(self) -> range:
        return range(self.first, self.last + 1)

    @property
    def label(self) -> str:
        return f"{self.first}-{self.last}"


# frames per chunk when --chunk is not given, per stage: (fewest, most).  A chunk is the unit of retry, so the
# most bounds the work a killed node loses; the fewest keeps per-task start-up (model load, Blender start,
# depth warm-up) a small part of the task.  A render task starts Blender and builds the scene once (the
# `room --debug` profile in bench/REPORT.md: start-up + build about the time of a few frames), so at least 8
# frames per task keep that start-up a small share of the chunk.
CHUNK_BOUNDS = {"depth": (24, 240), "walk": (8, 240), "render": (8, 24), "mask": (24, 240), "layers": (24, 240)}


def default_chunk(n_frames: int, slots: int, stage: str) -> int:
    """One chunk per task slot of the cluster, within the stage's bounds."""
    lo, hi = CHUNK_BOUNDS[stage]
    return max(1, min(n_frames, max(lo, min(hi, math.ceil(n_frames / max(1, slots))))))


def plan_chunks(first: int, last: int, chunk: int, warmup: int = 0) -> list[Chunk]:
    """Split `first`..`last` into consecutive chunks of `chunk` frames (the last may be shorter; a tail shorter
    than the warm-up joins the chunk before it).  Chunks after the first get up to `warmup` lead-in frames."""
    if chunk < 1:
        raise ClusterError(f"--chunk {chunk}: give at least 1 frame per task")
    starts = list(range(first, last + 1, chunk))
    if len(starts) > 1 and last + 1 - starts[-1] < max(1, warmup):
        starts.pop()
    ends = [s - 1 for s in starts[1:]] + [last]
    return [Chunk(a, b, min(warmup, a - first)) for a, b in zip(starts, ends)]


def balanced_chunks(first: int, last: int, count: int, warmup: int = 0) -> list[Chunk]:
    """`count` chunks whose work (own frames + warm-up) is even, so one wave of tasks ends together: the first
    chunk (no warm-up) takes `warmup` frames more than the others.  With no warm-up these are equal chunks."""
    n = last - first + 1
    count = max(1, min(count, n))
    per = (n + (count - 1) * warmup) / count         # frames each task runs, warm-up included
    if count == 1 or per - warmup < max(1, warmup):  # too short to balance: plain chunks
        return plan_chunks(first, last, math.ceil(n / count), warmup)
    bounds = [0] + [round(i * per - (i - 1) * warmup) for i in range(1, count)] + [n]
    return [Chunk(first + a, first + b - 1, min(warmup, a)) for a, b in zip(bounds, bounds[1:])]


def shot_hash(folder: str | os.PathLike) -> str:
    """sha256 of the shot's shot.json as this machine sees it."""
    path = Path(folder) / "shot.json"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ShotNotVisible(f"{path}: cannot read it ({exc.strerror or exc}); the shot folder must be on storage "
                             f"every node mounts at the same path") from None


def check_shot(folder: str | os.PathLike, expected: str, node: str) -> None:
    """Raise ShotNotVisible unless this node sees the same shot.json (by content) as the driver."""
    path = Path(folder) / "shot.json"
    try:
        got = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ShotNotVisible(f"node {node} cannot read {path} ({exc.strerror or exc}); mount the shot folder at the "
                             f"same path on every node (shared storage)") from None
    if got != expected:
        raise ShotNotVisible(f"node {node} sees a different {path} than the driver (sha256 {got[:12]} vs "
                             f"{expected[:12]}); mount the same shared shot folder on every node, and do not edit "
                             f"the shot while it runs")
