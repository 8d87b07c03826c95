"""The streamed run of a per-frame stage: a reader thread decodes each frame's inputs ahead, the caller's thread
computes (frame order, so temporal state carries), writer threads write every output atomically with the
fingerprint in its header.  Queues are bounded (memory does not grow with the clip); a run that fails on bad
input removes the files it created and the folders it made; an interrupted one keeps whole frames."""
from __future__ import annotations

import contextlib
import queue
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from dreamrooms.progress import progress
from dreamrooms.stage.plan import Plan, new_dirs

if TYPE_CHECKING:
    from dreamrooms.stage.spine import Job, Stage

_END = object()


def _reader(stage: "Stage", job: "Job", numbers: list[int], q: "queue.Queue", stop: threading.Event) -> None:
    try:
        for n in numbers:
            if stop.is_set():
                return
            q.put((n, stage.read(job, n)))
        q.put(_END)
    except BaseException as exc:   # handed to the computing thread
        q.put(exc)


def stream(stage: "Stage", job: "Job", plan: Plan, state) -> int:
    """Compute the plan's warm-up and todo frames in order and write the todo ones; returns frames written."""
    from dreamrooms.shot import exr

    todo = plan.todo
    if not todo:
        return 0
    made = new_dirs([o.path for o in job.outputs(todo[0])])
    created: list[Path] = []
    first = todo[0]
    q: "queue.Queue" = queue.Queue(maxsize=2)
    stop = threading.Event()
    reader = threading.Thread(target=_reader, args=(stage, job, plan.warmup + todo, q, stop), daemon=True,
                              name=f"{stage.name}-read")
    bar = progress(len(todo), stage.name)
    ok = False
    attrs = {stage.attr: job.fingerprint}
    try:
        reader.start()
        with exr.SequenceWriter(max_pending=4) as writer:
            while (got := q.get()) is not _END:
                if isinstance(got, BaseException):
                    raise got
                n, inputs = got
                outs = stage.compute(job, state, n, inputs)
                if n < first:       # a warm-up frame: the state settles, nothing is written
                    continue
                for path, layers in outs.items():
                    if not path.exists():
                        created.append(path)
                    opts = stage.write_options(job, path)
                    writer.submit(path, layers, **{**opts, "attributes": {**opts.get("attributes", {}), **attrs}})
                bar.update(1)
        ok = True
    finally:
        stop.set()
        while reader.is_alive():
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
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
