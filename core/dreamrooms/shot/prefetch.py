"""Ordered read-ahead: run a per-item function (decode a frame) on worker threads a few items ahead of the
consumer and yield the results in order, so decoding overlaps whatever the consumer does with the previous
frame (OpenCV's decoders, OpenEXR and numpy's large-array loops release the GIL).  Memory stays bounded by
`ahead` results; an error surfaces at its own item, in order."""
from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_readers() -> int:
    """Decode threads: one per core, at most 4 (more only adds memory: the consumer is the limit then)."""
    return max(1, min(4, os.cpu_count() or 1))


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None,
                ahead: int | None = None, name: str = "read-ahead") -> Iterator[R]:
    """`map(fn, items)` computed up to `ahead` items early on `workers` threads, yielded in order."""
    workers = workers or default_readers()
    ahead = max(1, ahead or workers + 1)
    it = iter(items)
    with ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
        pending: deque = deque()
        for item in it:
            pending.append(pool.submit(fn, item))
            if len(pending) >= ahead:
                break
        try:
            while pending:
                result = pending.popleft().result()
                for item in it:
                    pending.append(pool.submit(fn, item))
                    break
                yield result
        finally:
            for fut in pending:      # the consumer stopped early or an item failed: drop what is queued
                fut.cancel()
