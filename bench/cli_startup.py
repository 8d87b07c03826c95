"""How fast the command line starts: `python -m dreamrooms --help` against a bare `python -c pass`.

Both run as fresh processes with the same interpreter (the venv's), warm (two untimed runs each first), 11 timed
runs each, interleaved so machine noise falls on both; the medians are compared.  Target: --help within 4x of
the bare interpreter (the issue's measure), i.e. a time ratio bare/ours of at least 0.25.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _report import result  # noqa: E402

RUNS, WARM = 11, 2
HELP = [sys.executable, "-m", "dreamrooms", "--help"]
BARE = [sys.executable, "-c", "pass"]


def once(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main() -> int:
    for _ in range(WARM):
        once(HELP), once(BARE)
    ours, bare = [], []
    for _ in range(RUNS):
        ours.append(once(HELP))
        bare.append(once(BARE))
    ours_ms, bare_ms = statistics.median(ours) * 1e3, statistics.median(bare) * 1e3
    print(f"cli_startup: --help {ours_ms:.0f} ms, bare interpreter {bare_ms:.0f} ms: "
          f"--help takes {ours_ms / bare_ms:.2f}x the bare start (target within 4x)")
    result("cli_startup `dreamrooms --help` vs `python -c pass`", ours_ms, bare_ms, "bare interpreter", "ms",
           target=0.25, higher_is_better=False,
           note=f"medians of {RUNS} warm runs each, interleaved; --help takes {ours_ms / bare_ms:.2f}x the bare start")
    return 0


if __name__ == "__main__":
    sys.exit(main())
