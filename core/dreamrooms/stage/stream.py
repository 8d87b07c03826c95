"""The streamed run of a per-frame stage: reader threads decode each frame's inputs ahead, the caller's thread
computes (frame order, so temporal state carries), writer threads write every output atomically with the
fingerprint in its header.  Queues are bounded (memory does not grow with the clip); a run that fails on bad
input removes the files it created and the folders it made; an interrupted one keeps whole frames."""
from __future__ import annotations

import collections
import contextlib
import itertools
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from dreamrooms.progress import progress
from dreamrooms.stage.plan import Plan, new_dirs

if TYPE_CHECKING:
    from dreamrooms.stage.spine import Job, Stage

def _inputs(stage: "Stage", job: "Job", numbers: list[int]):
    """(n, stage.read(job, n)) in frame order, decoded ahead on `stage.read_workers` threads (bounded prefetch)."""
    workers = max(1, stage.read_workers(job))
    pool = ThreadPoolExecutor(workers, thread_name_prefix=f"{stage.name}-read")
    pending: collections.deque = collections.deque()
    it = iter(numbers)
    try:
        for n in itertools.islice(it, 2 * workers):
            pending.append((n, pool.submit(stage.read, job, n)))
        while pending:
            n, fut = pending.popleft()
            nxt = next(it, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(stage.read, job, nxt)))
            yield n, fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def stream(stage: "Stage", job: "Job", plan: Plan, state) -> int:
    """Compute the plan's warm-up and todo frames in order and write the todo ones; returns frames written."""
    from dreamrooms.shot import exr

    todo = plan.todo
    if not todo:
        return 0
    made = new_dirs([o.path for o in job.outputs(todo[0])])
    created: list[Path] = []
    first = todo[0]
    bar = progress(len(todo), stage.name)
    ok = False
    attrs = {stage.attr: job.fingerprint}
    try:
        with exr.SequenceWriter(max_pending=max(4, 2 * len(job.outputs(first)))) as writer:
            for n, inputs in _inputs(stage, job, plan.warmup + todo):
                outs = stage.compute(job, state, n, inputs)
                if n < first:       # a warm-up frame: the state settles, nothing is written
                    continue
                for path, layers in outs.items():
                    if not path.exists():
                        created.append(path)
                    opts = stage.write_options(job, path)
                    if isinstance(layers, tuple):     # (layers, write options of this frame's file)
                        layers, opts = layers[0], {**opts, **layers[1]}
                    writer.submit(path, layers, **{**opts, "attributes": {**opts.get("attributes", {}), **attrs}})
                bar.update(1)
        ok = True
    finally:
        bar.close()
        if not ok and not isinstance(sys.exc_info()[1], KeyboardInterrupt):
            remove_created(created, made)
    return len(todo)


def remove_created(created: list[Path], made_dirs: list[Path]) -> None:
    """A failed run leaves nothing behind: files it created (with their temporaries), and folders it made if empty."""
    for p in created:
        with contextlib.suppress(OSError):
            p.unlink()
        for t in p.parent.glob(f".{p.name}.*.tmp") if p.parent.is_dir() else []:
            with contextlib.suppress(OSError):
                t.unlink()
    for d in sorted(made_dirs, key=lambda x: len(x.parts), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()
