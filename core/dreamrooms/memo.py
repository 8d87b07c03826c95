"""A one-entry memo keyed by the identity of its arguments, per thread: for per-frame work that several consumers
ask for with the very same arrays (the optical flow between two frames' guides wanted by every matte filter and
every layer fill of the frame; a guide image's colour statistics wanted by every layer's guided filter)."""
from __future__ import annotations

import functools
import threading
from typing import Callable


def last_call(fn: Callable) -> Callable:
    """`fn` remembering its last result per thread; a call with the same argument objects (`is`; plain numbers and
    strings by value) returns it again.
    The arguments are kept alive with the result, so their ids cannot be reused by new objects meanwhile.  The
    result is shared: callers must not modify it in place."""
    local = threading.local()

    @functools.wraps(fn)
    def wrapper(*args):
        last = getattr(local, "last", None)
        if last is not None and len(last[0]) == len(args) and all(_same(a, b) for a, b in zip(last[0], args)):
            return last[1]
        out = fn(*args)
        local.last = (args, out)
        return out

    return wrapper


def _same(a, b) -> bool:
    return a is b or (type(a) in (int, float, str, bool) and type(a) is type(b) and a == b)
