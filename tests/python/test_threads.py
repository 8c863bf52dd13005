"""simulate releases the GIL: Python threads run while it simulates, and two
calls from two threads run at the same time and give the serial result. A
long run still stops on Ctrl-C."""

import _thread
import os
import signal
import threading
import time

import numpy as np
import pytest

import lifsim


def test_two_threads_simulate_concurrently_with_the_gil_released():
    w, kw = lifsim.workload("seed-active")  # 1000 neurons firing at about 35 Hz
    kw = dict(kw, t_max=2000.0, record="counts")  # 199,999 steps: a few tenths of a second
    serial = lifsim.simulate(w, **kw)
    assert serial.num_spikes > 10_000

    spans, results = {}, {}
    start = threading.Barrier(3)

    def worker(name):
        start.wait()
        t0 = time.perf_counter()
        results[name] = lifsim.simulate(w, **kw)
        spans[name] = (t0, time.perf_counter())

    workers = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for t in workers:
        t.start()
    start.wait()
    # Meanwhile this thread keeps running Python code; it could not if simulate held the GIL.
    stamps = []
    while any(t.is_alive() for t in workers):
        stamps.append(time.perf_counter())
    for t in workers:
        t.join()

    for name in ("a", "b"):
        np.testing.assert_array_equal(results[name].count, serial.count)
    # Both calls were inside simulate at once. Holding the GIL, the second
    # thread could not even have started its call before the first returned.
    both_from = max(t0 for t0, _ in spans.values())
    both_until = min(t1 for _, t1 in spans.values())
    shortest = min(t1 - t0 for t0, t1 in spans.values())
    assert both_until - both_from > 0.5 * shortest, spans
    # And while both ran, the main thread was never stopped for long.
    inside = np.array([s for s in stamps if both_from <= s <= both_until])
    gaps = np.diff(np.concatenate([[both_from], inside, [both_until]]))
    assert gaps.max() < 0.25 * (both_until - both_from), (gaps.max(), both_until - both_from)


def test_ctrl_c_stops_a_long_run():
    w, kw = lifsim.workload("seed-active")
    kw = dict(kw, t_max=200_000.0, record="counts")  # 20 million steps: half a minute or more
    timer = threading.Timer(0.3, _thread.interrupt_main)  # what Ctrl-C does
    # Python's own SIGINT handler, as in a terminal: a suite started with SIGINT
    # ignored (a background job of a non-interactive shell) has none, and
    # interrupt_main then does nothing.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            lifsim.simulate(w, **kw)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    # The run stopped soon after the signal, not at its end.
    assert time.perf_counter() - started < 5.0
    # The interpreter is fine afterwards.
    assert lifsim.simulate(w, **dict(kw, t_max=10.0)).num_spikes > 0


def test_more_threads_than_cores_are_capped_with_a_warning():
    """threads=10000 on a small machine would spin 10,000 threads at a
    barrier every step; it runs on the available cores instead, says so,
    and gives the bits of one thread."""
    w, kw = lifsim.workload("seed-active")
    kw = dict(kw, t_max=20.0, record="events")
    one = lifsim.simulate(w, threads=1, **kw)
    cores = os.cpu_count() or 1
    with pytest.warns(RuntimeWarning, match=f"threads 10000 is more than the .* core"):
        many = lifsim.simulate(w, threads=10000, **kw)
    assert cores < 10000
    np.testing.assert_array_equal(many.ids, one.ids)
    np.testing.assert_array_equal(many.times, one.times)
