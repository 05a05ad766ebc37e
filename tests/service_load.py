"""Load on ``examples/service.py``: client processes that post events and read ``now``.

Used by ``tests/test_wheel.py`` (8 clients for 2 s against the installed wheel: nothing
lost) and ``tests/bench.py`` (8 clients for 20 s: p95 write latency against one client's).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@contextmanager
def service(
    python: Path | str, db: Path, *, cwd: Path, env: dict[str, str], workers: int = 2
) -> Iterator[str]:
    """Run ``examples/service.py`` (copied into ``cwd``) with ``workers`` processes on a
    free port; yield its base URL. Stopped (by its own process id: it stops its workers)
    when the block ends."""
    script = cwd / "service.py"
    script.write_text((EXAMPLES / "service.py").read_text(encoding="utf-8"), encoding="utf-8")
    proc = subprocess.Popen(
        [str(python), str(script), "--db", str(db), "--port", "0", "--workers", str(workers)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first.startswith("listening on "):
            proc.kill()
            _, err = proc.communicate(timeout=10)
            raise AssertionError(f"the service did not start: {first}{err}")
        yield first.removeprefix("listening on ").strip()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def call(url: str, body: object | None = None) -> tuple[int, object]:
    """GET (or, with ``body``, POST as JSON) ``url`` on a connection of its own: the
    status and the JSON answer."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.netloc, timeout=60)
    try:
        return request(conn, parts.path, body)
    finally:
        conn.close()


def request(conn: http.client.HTTPConnection, path: str, body: object | None) -> tuple[int, object]:
    """One request on ``conn`` (kept alive, as an HTTP client library does): the status
    and the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    conn.request("GET" if body is None else "POST", path, body=data, headers=headers)
    response = conn.getresponse()
    return response.status, json.loads(response.read())


@dataclass
class Load:
    """What the clients did: the notes recorded (201), write latencies, other answers."""

    recorded: list[str] = field(default_factory=list)
    write_seconds: list[float] = field(default_factory=list)
    reads: int = 0
    failures: list[str] = field(default_factory=list)

    def p95(self) -> float:
        """The 95th percentile write latency, in seconds."""
        ordered = sorted(self.write_seconds)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def hammer(
    base: str,
    season: str,
    program: str,
    *,
    clients: int,
    seconds: float,
    every: float | None = None,
) -> Load:
    """``clients`` processes (separate clients, as separate users are: none waits for
    another's interpreter), each for ``seconds``: post a ``note_added`` (a text of its
    own) to ``program``, then read ``now``; again at once, or (``every``) one such pair
    every ``every`` seconds. Every answer is checked."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    ready = context.Barrier(clients)
    host = urllib.parse.urlsplit(base).netloc
    work = (host, season, program, seconds, every, ready, results)
    procs = [context.Process(target=_client, args=(n, *work)) for n in range(clients)]
    for proc in procs:
        proc.start()
    load = Load()
    for _ in procs:
        part: Load = results.get(timeout=seconds + 120)
        load.recorded += part.recorded
        load.write_seconds += part.write_seconds
        load.reads += part.reads
        load.failures += part.failures
    for proc in procs:
        proc.join()
    return load


def _client(
    n: int,
    host: str,
    season: str,
    program: str,
    seconds: float,
    every: float | None,
    ready: Any,
    results: Any,
) -> None:
    """One client of :func:`hammer`, in a process of its own; it sends back its Load."""
    load = Load()
    events, now = f"/seasons/{season}/events", f"/seasons/{season}/now"
    conn = http.client.HTTPConnection(host, timeout=60)
    ready.wait()
    first = time.monotonic()
    k = 0
    while time.monotonic() < first + seconds:
        if every is not None:  # a paced client: its k-th pair starts at first + k * every
            time.sleep(max(0.0, first + k * every - time.monotonic()))
        text = f"client {n} note {k}"
        k += 1
        began = time.perf_counter()
        note = {"type": "note_added", "program": program, "text": text}
        status, answer = request(conn, events, note)
        took = time.perf_counter() - began
        read_status, report = request(conn, now, None)
        if status == 201:
            load.recorded.append(text)
            load.write_seconds.append(took)
        else:
            load.failures.append(f"POST {status}: {answer}")
        if read_status == 200 and isinstance(report, dict) and report["season"] == season:
            load.reads += 1
        else:
            load.failures.append(f"GET {read_status}: {report}")
    conn.close()
    results.put(load)
