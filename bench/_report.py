"""Shared by the benchmarks: medians, a machine line, and a JSON result line `build.py bench` collects."""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from typing import Callable


def machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}"


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of `fn()` over `repeats` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def plain_session(path, threads: int, providers=("CPUExecutionProvider",)):
    """The limit's session: `onnxruntime.InferenceSession(path)` as a user writes it by hand, ORT's
    default options (spin-waiting workers on) but for the thread count, so the limit matches ours."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), so, providers=list(providers))


def result(benchmark: str, ours: float, peer: float, peer_name: str, unit: str, target: float,
           higher_is_better: bool = True, note: str = "") -> dict:
    """Print and return one comparison: ratio = ours/peer for rates (peer/ours for times)."""
    ratio = ours / peer if higher_is_better else peer / ours
    row = {"benchmark": benchmark, "ours": round(ours, 4), "peer": round(peer, 4), "peer_name": peer_name,
           "unit": unit, "ratio": round(ratio, 3), "target": target, "pass": ratio >= target,
           "machine": machine(), "note": note}
    print(f"{benchmark}: ours {ours:.3f} {unit} vs {peer_name} {peer:.3f} {unit} -> ratio {ratio:.2f}x "
          f"(target >= {target}x) {'PASS' if row['pass'] else 'FAIL'}")
    print("BENCH_RESULT " + json.dumps(row))
    return row
