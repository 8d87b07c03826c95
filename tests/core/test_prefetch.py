"""Ordered read-ahead (dreamrooms.shot.prefetch): order, errors at their item, bounded work when stopped early."""
import threading
import time

import pytest

from dreamrooms.shot.prefetch import ordered_map


def test_results_come_in_order_and_decode_overlaps():
    seen = set()

    def slow(i):
        seen.add(threading.current_thread().name)
        time.sleep(0.02 * (5 - i % 5))      # later items finish first
        return i * i

    assert list(ordered_map(slow, range(10), workers=3)) == [i * i for i in range(10)]
    assert len(seen) > 1                      # more than one decode thread ran


def test_an_error_surfaces_at_its_item_and_early_stop_reads_ahead_only():
    def fail_at_3(i):
        if i == 3:
            raise ValueError("frame 3 is corrupt")
        return i

    got = []
    with pytest.raises(ValueError, match="frame 3"):
        for x in ordered_map(fail_at_3, range(6), workers=2):
            got.append(x)
    assert got == [0, 1, 2]
    started = []
    gen = ordered_map(lambda i: started.append(i) or i, range(1000), workers=2, ahead=3)
    assert next(gen) == 0
    gen.close()
    assert len(started) <= 5                  # a bounded read-ahead, not the whole sequence
