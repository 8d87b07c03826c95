"""The Ray driver: connect, size tasks to the nodes, submit one task per chunk (retried by Ray when a worker or
node dies), show one progress bar for the whole run and say where each chunk ran.

Ray is imported here and in no module outside :mod:`dreamrooms.cluster`.  Facts used (docs.ray.io):
``ray.init(address=...)`` takes ``"local"`` (start a new local Ray), ``HOST:PORT`` of a head started with
``ray start --head`` or ``ray://HOST:10001``; ``@ray.remote(max_retries=N)`` re-runs a task whose worker
process or node died (system failures) up to N times, while an exception raised by the task is not retried
unless ``retry_exceptions`` is set; ``num_gpus`` reserves GPUs and Ray sets CUDA_VISIBLE_DEVICES for the task.
"""
from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from dreamrooms.cluster.plan import LOCAL, Chunk, ClusterError, ShotNotVisible, check_shot, shot_hash
from dreamrooms.errors import DreamroomsError
from dreamrooms.progress import progress

MAX_RETRIES = 3
POLL_S = 0.5


@dataclass
class Resources:
    """What each task asks Ray for, and how many such tasks the cluster runs at once."""
    num_cpus: int
    num_gpus: int
    slots: int
    nodes: int


@dataclass
class ChunkResult:
    chunk: Chunk
    node: str
    seconds: float
    value: Any = None


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ClusterError("--ray needs Ray: pip install 'dreamrooms[cluster]' (on every node of the cluster)") from None
    return ray


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


@contextlib.contextmanager
def connect(address: str):
    """ray.init for the run (a local Ray when `address` is `local`); shut down afterwards if we started it."""
    ray = _import_ray()
    if ray.is_initialized():
        yield ray
        return
    if address == LOCAL:
        # workers of a Ray started here inherit this environment: let them import this dreamrooms
        root = _package_root()
        parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        if root not in parts:
            os.environ["PYTHONPATH"] = os.pathsep.join([root, *parts])
    kwargs: dict[str, Any] = dict(address=address, logging_level="WARNING", log_to_driver=False)
    if address == LOCAL:
        kwargs["include_dashboard"] = False
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(f"--ray {address}: cannot connect ({str(exc).splitlines()[0][:200]}); start the head with "
                           f"`ray start --head` and pass its HOST:PORT") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def resources(ray) -> Resources:
    """One task per GPU when the cluster has GPUs, else one task per node using all of the smallest node's CPUs
    (our stages are multi-threaded: ONNX Runtime and Cycles use every core they are given)."""
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    cpus = [int(n["Resources"].get("CPU", 0)) for n in nodes]
    gpus = [int(n["Resources"].get("GPU", 0)) for n in nodes]
    if not nodes or max(cpus, default=0) < 1:
        raise ClusterError("the Ray cluster has no node with a CPU; add a worker with `ray start --address HEAD:PORT`")
    if sum(gpus) > 0:
        per = max(1, min(c // g for c, g in zip(cpus, gpus) if g))
        return Resources(num_cpus=per, num_gpus=1, slots=sum(gpus), nodes=len(nodes))
    per = max(1, min(c for c in cpus if c >= 1))
    return Resources(num_cpus=per, num_gpus=0, slots=sum(c // per for c in cpus), nodes=len(nodes))


def node_name() -> str:
    """Where this task runs, for the driver's log: host, IP and the start of Ray's node id."""
    import ray

    ctx = ray.get_runtime_context()
    try:
        ip = ray.util.get_node_ip_address()
    except Exception:  # not fatal: the name is for people
        ip = "?"
    return f"{socket.gethostname()} ({ip}, node {ctx.get_node_id()[:8]})"


def _run_chunk(fn: Callable, folder: str, expected: str, chunk: Chunk, kwargs: dict) -> ChunkResult:
    """Body of every chunk task: check the shot, then do the chunk's frames with progress bars off."""
    from dreamrooms import progress as prog

    prog.set_mode("none")
    node = node_name()
    check_shot(folder, expected, node)
    t = time.monotonic()
    value = fn(chunk, **kwargs)
    return ChunkResult(chunk, node, time.monotonic() - t, value)


def _chunk_error(ray, exc: BaseException, chunk: Chunk, retries: int) -> DreamroomsError:
    """One line for a chunk that failed: the task's own error (raised in the task: not retried), or the worker or
    node that died more often than Ray retries."""
    if isinstance(exc, ray.exceptions.RayTaskError):
        cause = getattr(exc, "cause", None) or exc
        if isinstance(cause, ShotNotVisible):
            return ShotNotVisible(str(cause))
        text = str(cause).strip().splitlines()[0][:300] if str(cause).strip() else type(cause).__name__
        if isinstance(cause, DreamroomsError):
            return ClusterError(f"chunk {chunk.label}: {text}")
        return ClusterError(f"chunk {chunk.label}: {type(cause).__name__}: {text}")
    return ClusterError(f"chunk {chunk.label}: its worker or node died {retries + 1} time(s) "
                        f"({type(exc).__name__}); whole frames are kept, rerun the same command to resume")


def run_chunks(ray, fn: Callable, chunks: list[Chunk], *, shot: str | os.PathLike, res: Resources, desc: str,
               total: int, count_done: Callable[[], int] | None = None, kwargs: dict | None = None,
               max_retries: int = MAX_RETRIES) -> list[ChunkResult]:
    """Run `fn(chunk, **kwargs)` for every chunk as a Ray task and wait for all of them.

    The progress bar follows `count_done()` (frames on shared storage, polled), so it is one bar for the whole
    run however many tasks write.  A task that raises (bad shot, bad input) stops the run with its one-line
    message; a task whose worker or node died is re-run by Ray up to `max_retries` times.
    """
    expected = shot_hash(shot)
    remote = ray.remote(_run_chunk).options(num_cpus=res.num_cpus, num_gpus=res.num_gpus, max_retries=max_retries,
                                             name=f"dreamrooms-{desc}")
    refs = {remote.remote(fn, str(shot), expected, c, dict(kwargs or {})): c for c in chunks}
    pending = list(refs)
    results: list[ChunkResult] = []
    bar = progress(total, desc)
    shown = 0
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
            for ref in ready:
                c = refs[ref]
                try:
                    r = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - sorted into task errors and exhausted retries below
                    raise _chunk_error(ray, exc, c, max_retries) from None
                results.append(r)
                _write_above(bar, f"{desc}: frames {c.label} done on {r.node} in {r.seconds:.1f} s")
            if count_done is not None:
                now = min(total, count_done())
                if now > shown:
                    bar.update(now - shown)
                    shown = now
        if shown < total:
            bar.update(total - shown)
    except BaseException:
        for ref in pending:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        raise
    finally:
        bar.close()
    return sorted(results, key=lambda r: r.chunk.first)


def _write_above(bar, text: str) -> None:
    """A line above the progress bar (tqdm.write keeps the bar intact; JSON mode gets a message event)."""
    from dreamrooms.progress import emit, mode

    if mode() == "json":
        emit("message", text=text)
    elif mode() == "bar":
        from tqdm import tqdm

        tqdm.write(text, file=sys.stderr)
    else:
        print(text, file=sys.stderr, flush=True)
