"""Threads started together: the one harness of the tests that race writers.

Each thread runs ``work(index, go)``: it prepares (opens its store, its season), calls
``go()`` and then races; ``go`` is a barrier, so the parts after it start at the same
moment in every thread (no sleep-and-hope). A thread that raises releases the others (the
barrier is broken) and its exception is returned, not lost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Go = Callable[[], object]
"""Wait for every other thread to be ready (the start of the race)."""


def race(count: int, work: Callable[[int, Go], object], *, timeout: float = 300) -> None:
    """Run ``work(0, go)`` … ``work(count - 1, go)`` in ``count`` threads, released
    together by ``go``; fail with what the threads raised, if any did, or if one is still
    running after ``timeout`` seconds."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            work(index, lambda: barrier.wait(timeout=60))
        except BaseException as e:  # reported below, with the others'
            with lock:
                errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a racing thread did not finish"
    assert not errors, errors
