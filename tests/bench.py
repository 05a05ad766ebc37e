"""``make bench``: the performance budgets of DESIGN §9, measured side by side in one run.

Prints a table, each figure beside its budget with ✓ or ✗, and writes the same figures to
``bench-results.json``. Nothing here is asserted: these machines are shared and noisy, so
the budgets are ratios against floors and rivals measured in the same run, in CPU time,
their runs interleaved and repeated, medians counted (how: ``tests/bench_scale.py``).

    python tests/bench.py [--quick | --large] [--rounds N] [--out FILE]
                          [--writes | --service | --backends]

Without an option it measures everything: the scale curve at 10⁴, 10⁵ and 10⁶ events
(``--large`` adds 5·10⁶; ``--quick`` is a smoke run at 10³ to 10⁴) of import, cold audit
against its floor, re-audit after 1 % of the seasons changed, verify and a cold
``prematch now`` in every store; prematch against the ``eventsourcing`` library (installed
by ``make bench`` only); then, as before, the writes, the example service and SQLite and
PostgreSQL side by side (wall-clock latencies and rates, whose budgets are ratios too).

The last rows need ``PREMATCH_TEST_PG``, which ``make bench`` sets by starting a
throwaway server (``.ci/postgres.sh``, run with ``fsync=off``: its absolute write figures
flatter PostgreSQL; the ratios are what to compare).

Keys of ``bench-results.json`` (sizes are event counts asked for, as text; ``_s`` is CPU
seconds unless a key says ``wall``; ``us_per_event`` is CPU µs per event):

- ``when``, ``python``, ``quick``, ``large``, ``rounds``: the run.
- ``import``: per size ``events``, ``cpu_s`` (one per round), ``us_per_event`` (median),
  ``peak_mb`` (peak resident memory of the importing process); ``import_cost_growth``
  (max/min − 1 of ``us_per_event``); ``import_into_biggest``: ``events`` of the fixed
  batch, ``into_empty_s``, ``into_biggest_s``, ``ratio``.
- ``audit``: per size ``events``, ``audit_cpu_s``, ``floor_cpu_s`` (sqlite3 SELECT +
  json.loads), ``audit_us_per_event``, ``floor_us_per_event``, ``ratio_to_floor``.
- ``reaudit``: ``events`` (store size), ``seasons_changed``, ``cold_s`` (no projection),
  ``first_s`` (cold, keeping the projection), ``again_s``,
  ``ratio``.
- ``audit_memory`` (one process) and ``audit_parallel`` (``jobs`` processes, the CLI's
  default): ``seasons``, ``wall_s``, ``peak_mb``, ``worker_peak_mb``; ``audit_cli``:
  ``prematch audit --all --json`` ``wall_s``, ``cpu_s`` (with its workers), ``events_per_s``
  (wall).
- ``verify``: per size ``compiled`` (whether the quick pass was built), ``cpu_s``,
  ``us_per_event``, the same in Python alone (``python_cpu_s``, ``python_us_per_event``)
  and the floor interleaved with them (``floor_us_per_event``); ``verify_to_floor`` and
  ``verify_python_to_floor`` at the audit's size;
  ``verify_wall`` at the audit's size: ``events``, ``jobs`` (``verify --jobs``' default),
  ``one_wall_s`` (one process), ``jobs_wall_s`` (that many).
- ``now``: ``runs``, ``imports_s`` (the floor), ``demo_s``, ``ratio``, and per size in
  ``stores``: ``now_s``, ``ratio_to_demo``.
- ``eventsourcing``: ``version``, ``seasons``, ``events``, ``cpu_s`` and ``us_per_event`` of
  ``import``, ``es_import``, ``audit``, ``es_replay``; ``import_ratio`` (its import CPU /
  prematch's) and ``replay_ratio`` (its replay / prematch's cold audit).
- ``write``, ``write_latency``, ``service``: see :func:`write_cost`, :func:`write_latency`,
  :func:`service_latency` (the backends' figures are in ``rows`` only).
- ``rows``: the printed table, each row ``[measure, value, budget, verdict]`` (verdict
  ``true``/``false``, ``null`` without a budget); ``wall_s``: how long the run took.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_scale
import synth

from prematch.engine import Store, audit_jobs, audit_store, fixed_clock, fixtures_dir, import_lines
from prematch.policies import Rulebook

DEMO_NOW = bench_scale.DEMO_NOW
BIN = Path(sys.executable).parent

SIZES = [10_000, 100_000, 1_000_000]
"""The scale curve's store sizes (events); ``--large`` adds :data:`LARGE`."""
LARGE = 5_000_000
QUICK_SIZES = [1_000, 5_000, 10_000]
ROUNDS = 3
"""Interleaved repeats of every compared run (``--rounds``)."""
NOW_RUNS = 15
"""Cold ``prematch now`` runs per store (and of the floor), interleaved."""
ES_SEASONS = 1_000
"""Seasons (about 100,000 events) of the eventsourcing comparison: its cost per event is
flat, and 10,000 seasons would add minutes to each round."""
AUDIT_SIZE = 1_000_000
"""The cold audit's, re-audit's and audit memory's budgets are DESIGN §9's for 10,000
seasons × 100 events (with ``--quick``: the largest quick size)."""
MAIN_VERIFY_TO_FLOOR = 2.10
"""``verify`` CPU per event / the floor's, on main before issue 20 (6609c45, 10⁵ events,
median of 5 interleaved runs): the budget "≥ 2.5× today's rate" is verify / floor ≤ this
/ 2.5."""


def _time(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def scale_figures(
    workdir: Path, sizes: list[int], rounds: int, now_runs: int, es_seasons: int | None
) -> dict[str, Any]:
    """The scale curve and (unless ``es_seasons`` is None) the eventsourcing comparison
    (see ``tests/bench_scale.py``)."""
    audit_size = min(sizes[-1], AUDIT_SIZE)
    print(f"import, {rounds} rounds of {', '.join(f'{n:,}' for n in sizes)} events:", flush=True)
    imports, stores = bench_scale.import_runs(workdir, sizes, rounds)
    events = {n: imports[n]["events"] for n in sizes}
    costs = [imports[n]["us_per_event"] for n in sizes]
    print("the same 10,000 events into an empty store and into the biggest:", flush=True)
    into_big = bench_scale.import_into_big(workdir, stores[sizes[-1]], rounds)
    print("cold audit against its floor, and re-audit after 1 % changed:", flush=True)
    audit = bench_scale.audit_runs(workdir, stores, events, rounds, audit_size)
    print("audit memory, audit across processes, prematch audit --all:", flush=True)
    memory = bench_scale.audit_memory(workdir, stores[audit_size], 1)
    jobs = audit_jobs(memory["seasons"])
    parallel = bench_scale.audit_memory(workdir, stores[audit_size], jobs)
    cli = bench_scale.audit_cli(workdir, stores[audit_size], events[audit_size])
    print("verify:", flush=True)
    verify = bench_scale.verify_runs(stores, events, rounds)
    verify_wall = bench_scale.verify_wall(stores[audit_size], events[audit_size], rounds)
    print("prematch now, cold process, in every store:", flush=True)
    now = bench_scale.now_runs(workdir, stores, now_runs)
    out: dict[str, Any] = {}
    if es_seasons is not None:
        print(f"eventsourcing, {es_seasons:,} seasons:", flush=True)
        out["eventsourcing"] = bench_scale.es_runs(workdir, es_seasons, rounds)
    return {
        **out,
        "import": {str(n): imports[n] for n in sizes},
        "import_cost_growth": max(costs) / min(costs) - 1,
        "import_into_biggest": {"store_events": events[sizes[-1]], **into_big},
        "audit": {str(n): c for n, c in audit["curve"].items()},
        "reaudit": audit["reaudit"],
        "audit_memory": memory,
        "audit_parallel": {
            **parallel,
            "events_per_s_wall": events[audit_size] / parallel["wall_s"],
        },
        "audit_cli": cli,
        "verify": {str(n): v for n, v in verify.items()},
        "verify_wall": {"events": events[audit_size], **verify_wall},
        "verify_to_floor": verify[audit_size]["us_per_event"]
        / verify[audit_size]["floor_us_per_event"],
        "verify_python_to_floor": verify[audit_size]["python_us_per_event"]
        / verify[audit_size]["floor_us_per_event"],
        "now": now,
    }


def scale_rows(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The table rows of :func:`scale_figures`' results."""
    sizes = list(r["import"])
    at = " | ".join(f"{int(n):,}" for n in sizes)
    audit_size = str(r["reaudit"]["events"])
    audit = r["audit"][audit_size]
    into = r["import_into_biggest"]
    now = r["now"]
    verify_budget = MAIN_VERIFY_TO_FLOOR / 2.5
    rows = [
        (f"import: CPU µs/event at {at}", _join(r["import"], "us_per_event"), ""),
        ("  cost growth across sizes (max/min − 1)", f"{r['import_cost_growth']:+.0%}", "≤ 25 %"),
        (
            f"  {into['events']:,} events into the {into['store_events']:,}-event store"
            " / into an empty one",
            f"{into['ratio']:.2f}×",
            "≤ 1.25×",
        ),
        (f"  peak memory (MB) at {at}", _join(r["import"], "peak_mb", "{:.0f}"), ""),
        (
            f"  peak memory at {int(audit_size):,} events (MB)",
            f"{r['import'][audit_size]['peak_mb']:.0f}",
            "≤ 150",
        ),
        (
            f"cold audit (1 process): CPU µs/event at {at}",
            _join(r["audit"], "audit_us_per_event"),
            "",
        ),
        (
            "  floor (sqlite3 SELECT + json.loads): µs/event",
            _join(r["audit"], "floor_us_per_event"),
            "",
        ),
        (
            f"  cold audit / floor at {int(audit_size):,} events",
            f"{audit['ratio_to_floor']:.2f}×",
            "≤ 2×",
        ),
        (
            "  first audit keeping the findings projection / cold",
            f"{r['reaudit']['first_s'] / r['reaudit']['cold_s']:.2f}×",
            "",
        ),
        (
            f"  re-audit after {r['reaudit']['seasons_changed']:,} seasons (1 %) changed / cold",
            f"{r['reaudit']['ratio']:.1%}",
            "≤ 5 %",
        ),
        ("  peak memory, one process (MB)", f"{r['audit_memory']['peak_mb']:.0f}", "≤ 200"),
        (
            f"  --jobs {r['audit_parallel']['jobs']} (the CLI default here): events/s, wall",
            f"{r['audit_parallel']['events_per_s_wall']:,.0f}",
            "",
        ),
        (
            "    peak memory: parent, largest worker (MB)",
            f"{r['audit_parallel']['peak_mb']:.0f}, {r['audit_parallel']['worker_peak_mb']:.0f}",
            "",
        ),
        (
            "  `prematch audit --all --json` (cold, to /dev/null): events/s, wall",
            f"{r['audit_cli']['events_per_s']:,.0f}",
            "",
        ),
        (f"verify: CPU µs/event at {at}", _join(r["verify"], "us_per_event"), ""),
        (
            f"  verify / floor at {int(audit_size):,} events (main before issue 20: "
            f"{MAIN_VERIFY_TO_FLOOR:.2f}×; compiled quick pass: "
            f"{'yes' if r['verify'][audit_size]['compiled'] else 'not built'})",
            f"{r['verify_to_floor']:.2f}×",
            f"≤ {verify_budget:.2f}×",
        ),
        (
            "  verify in Python alone (without the compiled pass) / floor",
            f"{r['verify_python_to_floor']:.2f}×",
            "",
        ),
        (
            f"  verify --jobs {r['verify_wall']['jobs']} (the CLI default here) / one process,"
            " wall",
            f"{r['verify_wall']['jobs_wall_s'] / r['verify_wall']['one_wall_s']:.2f}×",
            "",
        ),
        ("prematch now (cold process, demo store): CPU s", f"{now['demo_s']:.3f}", ""),
        ("  python -c 'import <its deps>': CPU s", f"{now['imports_s']:.3f}", ""),
        ("  now / imports", f"{now['ratio']:.2f}×", "≤ 1.5×"),
        *(
            (
                f"  now in the {int(n):,}-event store / in the demo store",
                f"{s['ratio_to_demo']:.2f}×",
                "≤ 1.10×",
            )
            for n, s in now["stores"].items()
        ),
    ]
    if "eventsourcing" in r:
        rows += _es_rows(r["eventsourcing"])
    return rows


def _es_rows(es: dict[str, Any]) -> list[tuple[str, str, str]]:
    us = es["us_per_event"]
    return [
        (
            f"eventsourcing {es['version']} (SQLite), {es['events']:,} events: import µs/event,"
            " prematch | it",
            f"{us['import']:.1f} | {us['es_import']:.1f}",
            "",
        ),
        ("  its import CPU / prematch's", f"{es['import_ratio']:.2f}×", "≥ 1.1×"),
        (
            "  replay µs/event: prematch cold audit | its replay",
            f"{us['audit']:.1f} | {us['es_replay']:.1f}",
            "",
        ),
        ("  its replay CPU / prematch's cold audit", f"{es['replay_ratio']:.2f}×", "≥ 3×"),
    ]


def _join(per_size: dict[str, dict[str, Any]], key: str, fmt: str = "{:.1f}") -> str:
    return " | ".join(fmt.format(v[key]) for v in per_size.values())


_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")


def verdict(value: str, budget: str) -> bool | None:
    """Whether a printed ``value`` meets its ``budget`` ("≤ 3×", "≥ 1.1×", "≤ 25 %", or a
    word such as "yes" or "0" that every ``|``-separated part must equal); ``None``
    without a budget."""
    if not budget:
        return None
    if budget[0] in "≤≥":
        limit = float(_NUMBER.findall(budget)[0].replace(",", ""))
        found = _NUMBER.findall(value)
        if not found:
            return False
        number = float(found[0].replace(",", ""))
        return number <= limit if budget[0] == "≤" else number >= limit
    return all(part.strip() == budget for part in value.split("|"))


WRITES = 60
"""Writes timed into each season size (interleaved)."""
THREADS = 8


def _season_of(events: int) -> list[str]:
    """A season of about ``events`` events: programs added, applied, invited, interviewed
    and thanked (five events each), oldest first."""
    sid, start = "w-2027", dt.datetime(2026, 9, 20, 10, tzinfo=dt.UTC)
    lines = [
        synth._line(
            "season_started",
            start,
            sid,
            match_year=2027,
            specialty="Internal Medicine",
            timezone=synth.TZ,
            visa="none",
            applicant_name="W",
        )
    ]
    for n in range(max(1, events // 5)):
        pid, minute = f"p{n:04d}", dt.timedelta(minutes=n)
        day = dt.timedelta(days=1)
        lines.append(synth._line("program_added", start + minute, sid, pid, name=f"P {n}"))
        lines.append(synth._line("applied", start + 2 * day + minute, sid, pid, via="eras"))
        lines.append(synth._line("invited", start + 20 * day + minute, sid, pid))
        lines.append(synth._line("interviewed", start + 50 * day + minute, sid, pid))
        lines.append(synth._line("thanked", start + 51 * day + minute, sid, pid))
    return lines


LOG_RUNS = 7
"""Cold ``prematch log`` processes timed into each season size (interleaved)."""


def write_cost(workdir: Path) -> dict[str, float]:
    """CPU time of one ``Season.record`` into a season of 5,000 events vs one of 50, the
    writes interleaved, each store open throughout (its season snapshot cached, as in a
    service); the first write after opening the store (the season read and replayed);
    and a whole ``prematch log`` process (DESIGN §9's "a write (``log``)")."""
    from prematch.engine import Season

    clock = fixed_clock(synth.CLOCK)
    seasons = {}
    for size in (50, 5_000):
        store = Store.open(workdir / f"write-{size}.db")
        import_lines(
            store, _season_of(size), rulebook=Rulebook(), clock=clock, allow_violations=True
        )
        seasons[size] = Season.open(store, rulebook=Rulebook(), clock=clock)
    warm: dict[int, list[float]] = {50: [], 5_000: []}
    first: dict[int, list[float]] = {50: [], 5_000: []}
    for n in range(WRITES):
        for size, season in seasons.items():
            at = (synth.CLOCK - dt.timedelta(days=20) + dt.timedelta(minutes=n)).isoformat()
            began = time.process_time()
            season.record("news_recorded", at=at, kind="other", detail=f"w{n}")
            warm[size].append(time.process_time() - began)
            if n % 10 == 0:
                began = time.process_time()
                with Store.open(workdir / f"write-{size}.db") as fresh:
                    Season.open(fresh, rulebook=Rulebook(), clock=clock).record(
                        "news_recorded", at=at, kind="other", detail=f"f{n}"
                    )
                first[size].append(time.process_time() - began)
    for season in seasons.values():
        season.store.close()
    cold: dict[int, list[float]] = {50: [], 5_000: []}
    env = {**os.environ, "PREMATCH_NOW": synth.CLOCK.isoformat()}
    for n in range(LOG_RUNS):
        for size in cold:
            at = (synth.CLOCK - dt.timedelta(days=10) + dt.timedelta(minutes=n)).isoformat()
            db = str(workdir / f"write-{size}.db")
            log = ["log", "news-recorded", "--kind", "other", "--detail", f"c{n}", "--at", at]
            cold[size].append(_time([str(BIN / "prematch"), "--db", db, *log], env))
    w50, w5k = statistics.median(warm[50]), statistics.median(warm[5_000])
    f50, f5k = statistics.median(first[50]), statistics.median(first[5_000])
    c50, c5k = statistics.median(cold[50]), statistics.median(cold[5_000])
    return {
        "log_50_ms": c50 * 1e3,
        "log_5000_ms": c5k * 1e3,
        "log_ratio": c5k / c50,
        "warm_50_ms": w50 * 1e3,
        "warm_5000_ms": w5k * 1e3,
        "ratio": w5k / w50,
        "first_50_ms": f50 * 1e3,
        "first_5000_ms": f5k * 1e3,
        "first_ratio": f5k / f50,
    }


LATENCY_ROUNDS = 3
"""Rounds of :func:`write_latency` (one writer, threads, processes in turn)."""


def write_latency(workdir: Path, threads: int) -> dict[str, float]:
    """Wall-clock latency of writes by ``threads`` threads sharing one store, and by as
    many processes, all into the same season of 500 events (the worst case: every write
    contends for the season), and of one writer alone: p50, p95 and the worst, over
    :data:`LATENCY_ROUNDS` rounds of the three in turn. Each write happens now (the real
    clock, after the season's events), as a service records them."""
    import threading

    from prematch.engine import Season, system_clock

    clock = fixed_clock(synth.CLOCK)

    def run(count: int, db: Path) -> list[float]:
        store = Store.open(db, busy_timeout=60)
        import_lines(
            store, _season_of(500), rulebook=Rulebook(), clock=clock, allow_violations=True
        )
        season = Season.open(store, rulebook=Rulebook(), clock=system_clock)
        times: list[float] = []
        barrier = threading.Barrier(count)

        def writer(t: int) -> None:
            barrier.wait()
            for n in range(WRITES):
                began = time.perf_counter()
                season.record("news_recorded", kind="other", detail=f"t{t}-{n}")
                times.append(time.perf_counter() - began)

        pool = [threading.Thread(target=writer, args=(t,)) for t in range(count)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        assert store.verify()[1] is None and len(times) == count * WRITES
        store.close()
        return sorted(times)

    def run_processes(count: int, db: Path) -> list[float]:
        import multiprocessing

        with Store.open(db, busy_timeout=60) as store:
            import_lines(
                store, _season_of(500), rulebook=Rulebook(), clock=clock, allow_violations=True
            )
        context = multiprocessing.get_context("fork")
        barrier, results = context.Barrier(count), context.Queue()
        pool = [
            context.Process(target=_process_writer, args=(db, t, barrier, results))
            for t in range(count)
        ]
        for proc in pool:
            proc.start()
        times = [x for _ in pool for x in results.get(timeout=600)]
        for proc in pool:
            proc.join()
        with Store.open(db, readonly=True) as store:
            assert store.verify()[1] is None and len(times) == count * WRITES
        return sorted(times)

    def p(times: list[float], q: float) -> float:
        return times[min(len(times) - 1, int(q * len(times)))] * 1e3

    one: list[float] = []
    many: list[float] = []
    procs: list[float] = []
    for n in range(LATENCY_ROUNDS):  # interleaved: a load swing hits all three alike
        one += run(1, workdir / f"lat-1-{n}.db")
        many += run(threads, workdir / f"lat-{threads}-{n}.db")
        procs += run_processes(threads, workdir / f"lat-p{threads}-{n}.db")
    one.sort()
    many.sort()
    procs.sort()
    return {
        "threads": threads,
        "one_p95_ms": p(one, 0.95),
        "p50_ms": p(many, 0.5),
        "p95_ms": p(many, 0.95),
        "max_ms": many[-1] * 1e3,
        "p95_ratio": p(many, 0.95) / p(one, 0.95),
        "processes_p50_ms": p(procs, 0.5),
        "processes_p95_ms": p(procs, 0.95),
        "processes_max_ms": procs[-1] * 1e3,
        "processes_p95_ratio": p(procs, 0.95) / p(one, 0.95),
    }


def _process_writer(db: Path, index: int, barrier: Any, results: Any) -> None:
    """One of :func:`write_latency`'s writer processes: its own store, ``WRITES`` writes
    happening now into the one season; it sends back each write's latency."""
    from prematch.engine import Season, system_clock

    times = []
    with Store.open(db, busy_timeout=60) as store:
        season = Season.open(store, rulebook=Rulebook(), clock=system_clock)
        barrier.wait()
        for n in range(WRITES):
            began = time.perf_counter()
            season.record("news_recorded", kind="other", detail=f"p{index}-{n}")
            times.append(time.perf_counter() - began)
    results.put(times)


def write_rows(writes: dict[str, float], latency: dict[str, float]) -> list[tuple[str, str, str]]:
    """The table rows of the write measurements."""
    return [
        (
            "write into 5,000 events vs 50 (store open): CPU ms",
            f"{writes['warm_5000_ms']:.2f} vs {writes['warm_50_ms']:.2f}",
            "",
        ),
        ("  ratio", f"{writes['ratio']:.2f}×", "≤ 3×"),
        (
            "first write after opening the store: CPU ms",
            f"{writes['first_5000_ms']:.1f} vs {writes['first_50_ms']:.1f}",
            "",
        ),
        ("  ratio (the season is read and replayed once)", f"{writes['first_ratio']:.1f}×", ""),
        (
            "`prematch log` process into 5,000 events vs 50: CPU ms",
            f"{writes['log_5000_ms']:.0f} vs {writes['log_50_ms']:.0f}",
            "",
        ),
        ("  ratio", f"{writes['log_ratio']:.2f}×", "≤ 3×"),
        (
            f"{latency['threads']:.0f} threads, one season: write latency p50 / p95 / max ms",
            f"{latency['p50_ms']:.1f} / {latency['p95_ms']:.1f} / {latency['max_ms']:.1f}",
            "",
        ),
        ("  p95 vs one writer's p95", f"{latency['p95_ratio']:.1f}×", "≤ 3×"),
        (
            f"{latency['threads']:.0f} processes, one season: p50 / p95 / max ms",
            f"{latency['processes_p50_ms']:.1f} / {latency['processes_p95_ms']:.1f} / "
            f"{latency['processes_max_ms']:.1f}",
            "",
        ),
        ("  p95 vs one writer's p95", f"{latency['processes_p95_ratio']:.1f}×", "≤ 3×"),
    ]


SERVICE_SECONDS = 20
"""How long the 8 clients of :func:`service_latency` run in all, in each mode (issue 17's
'done when')."""
QUICK_SERVICE_SECONDS = 4
""":data:`SERVICE_SECONDS` of a ``--quick`` run."""
SERVICE_ROUNDS = 4
"""The rounds :data:`SERVICE_SECONDS` is cut into, one client alone and 8 in turn."""
SERVICE_EVERY = 0.02
"""A paced client's period: one POST and one GET every 20 ms (8 clients: 400 of each per
second, well under what this machine serves)."""
SERVICE_WORKERS = os.cpu_count() or 1
"""The service's processes (its default: one per CPU)."""


def service_latency(workdir: Path, seconds: float = SERVICE_SECONDS) -> dict[str, float]:
    """``examples/service.py`` (its default workers) under 8 client processes (each posts
    an event and reads ``now``) and under one client alone, in :data:`SERVICE_ROUNDS`
    rounds of each in turn, ``seconds`` in all for each: paced (one pair every
    :data:`SERVICE_EVERY`), and flat out (the next pair as soon as the last is answered:
    the machine's cores saturated, so each request queues behind the others'). The p95
    POST latency of each, the ratios, and whether every recorded event is in the store."""
    from service_load import Load, hammer, service

    from prematch.engine import Season, system_clock

    out: dict[str, float] = {"workers": SERVICE_WORKERS, "lost": 0}
    for mode, every in (("paced", SERVICE_EVERY), ("flat_out", None)):
        loads: dict[int, list[Load]] = {1: [], THREADS: []}
        for n in range(SERVICE_ROUNDS):
            for clients in loads:
                db = workdir / f"service-{mode}-{clients}-{n}.db"
                with Store.open(db) as store:
                    season = Season.start(
                        store,
                        "svc-2027",
                        at="2026-09-20",
                        rulebook=Rulebook(),
                        clock=system_clock,
                        match_year=2027,
                        specialty="Internal Medicine",
                        timezone="America/New_York",
                        visa="j1",
                        applicant_name="Service Load",
                    )
                    season.add_program("mercy", "Mercy Internal Medicine", at="2026-09-21")
                env = {**os.environ, "PYTHONPATH": ""}
                with service(
                    sys.executable, db, cwd=workdir, env=env, workers=SERVICE_WORKERS
                ) as url:
                    load = hammer(
                        url,
                        "svc-2027",
                        "mercy",
                        clients=clients,
                        seconds=seconds / SERVICE_ROUNDS,
                        every=every,
                    )
                with Store.open(db, readonly=True) as store:
                    texts = [r.payload.get("text") for r in store.season_records("svc-2027")]
                out["lost"] += len(set(load.recorded) - set(texts)) + len(load.failures)
                loads[clients].append(load)
        for clients, runs in loads.items():
            pooled = Load(write_seconds=[t for load in runs for t in load.write_seconds])
            out[f"{mode}_p50_{clients}"] = statistics.median(pooled.write_seconds)
            out[f"{mode}_p95_{clients}"] = pooled.p95()
            out[f"{mode}_writes_{clients}"] = len(pooled.write_seconds)
        out[f"{mode}_ratio"] = out[f"{mode}_p95_{THREADS}"] / out[f"{mode}_p95_1"]
    return out


def service_rows(svc: dict[str, float]) -> list[tuple[str, str, str]]:
    """The service's rows of the table."""
    rows = []
    for mode, what, budget in (
        ("paced", f"paced, a pair per {SERVICE_EVERY * 1000:.0f} ms", "≤ 3×"),
        ("flat_out", "flat out (requests queue)", ""),
    ):
        rows += [
            (
                f"service ({svc['workers']:.0f} workers), {what}: POST p50 / p95 ms",
                f"{svc[f'{mode}_p50_{THREADS}'] * 1000:.1f} / "
                f"{svc[f'{mode}_p95_{THREADS}'] * 1000:.1f} "
                f"({svc[f'{mode}_writes_{THREADS}']:.0f} writes)",
                "",
            ),
            (
                "  one client alone: p50 / p95 ms",
                f"{svc[f'{mode}_p50_1'] * 1000:.1f} / {svc[f'{mode}_p95_1'] * 1000:.1f}",
                "",
            ),
            (f"  {THREADS} clients' p95 vs one client's", f"{svc[f'{mode}_ratio']:.1f}×", budget),
        ]
    return [*rows, ("  events lost or refused", f"{svc['lost']:.0f}", "0")]


# -- SQLite and PostgreSQL side by side (issue 18) ---------------------------------------

WRITERS = 16
"""Concurrent writer processes in the backend comparison."""
WRITER_EVENTS = 25
"""Events each of them records."""


def _pg_target(base: str) -> str:
    """A fresh, empty schema of the PostgreSQL database at ``base``, as a store URL."""
    import uuid

    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def _seasons_writer(target: str, season: str, barrier: Any, results: Any) -> None:
    """One writer process of :func:`concurrent_writers`: its own store, ``WRITER_EVENTS``
    events happening now into ``season``; sends back when it started and finished."""
    from prematch.engine import Season, system_clock

    try:
        with Store.open(target, busy_timeout=120) as store:
            season_ = Season.open(store, season, rulebook=Rulebook(), clock=system_clock)
            barrier.wait(timeout=120)
            began = time.time()
            for n in range(WRITER_EVENTS):
                detail = f"{season}-{os.getpid()}-{n}"
                season_.record("news_recorded", kind="other", detail=detail)
        results.put((began, time.time()))
    except BaseException as e:  # the parent reports it, instead of waiting for ever
        barrier.abort()
        results.put(repr(e))


def concurrent_writers(new_target: Any, writers: int, seasons: int) -> dict[str, float]:
    """``writers`` processes at once, spread over ``seasons`` seasons: events/s, and
    whether every event is stored once with a gapless seq and a chain that verifies."""
    import multiprocessing

    target = new_target()
    with Store.open(target) as store:
        for n in range(seasons):
            lines = [line.replace('"w-2027"', f'"w{n}-2027"') for line in _season_of(50)]
            import_lines(
                store,
                lines,
                rulebook=Rulebook(),
                clock=fixed_clock(synth.CLOCK),
                allow_violations=True,
            )
        before = store.head()[0]
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(writers), context.Queue()
    pool = [
        context.Process(
            target=_seasons_writer, args=(str(target), f"w{n % seasons}-2027", barrier, results)
        )
        for n in range(writers)
    ]
    for proc in pool:
        proc.start()
    spans = [results.get(timeout=600) for _ in pool]
    for proc in pool:
        proc.join()
    failed = [s for s in spans if isinstance(s, str)]
    if failed:
        sys.exit(f"bench: {len(failed)} writers failed on {target}: {failed[0]}")
    with Store.open(target, readonly=True) as store:
        seqs = [r.seq for r in store.records()]
        checked, tamper = store.verify()
    events = writers * WRITER_EVENTS
    return {
        "events_per_s": events / (max(e for _, e in spans) - min(b for b, _ in spans)),
        "intact": float(
            seqs == list(range(1, before + events + 1)) and tamper is None and checked == len(seqs)
        ),
    }


def backend_figures(new_target: Any, size: int, runs: int) -> dict[str, float]:
    """Import, audit, verify and a cold ``prematch now`` on one backend, and its writers."""
    target = new_target()
    lines = list(synth.lines(max(1, size // 100)))
    start = time.perf_counter()
    with Store.open(target) as store:
        events = import_lines(
            store, lines, rulebook=Rulebook(), clock=fixed_clock(synth.CLOCK)
        ).events
    imported = time.perf_counter() - start
    with Store.open(target, readonly=True) as store:
        start = time.perf_counter()
        for _ in audit_store(store, Rulebook(), jobs=1):
            pass
        audited = time.perf_counter() - start
        start = time.perf_counter()
        checked, _ = store.verify()
        verified = time.perf_counter() - start
    demo = new_target()
    with Store.open(demo) as store, (fixtures_dir() / "demo" / "season.jsonl").open("rb") as f:
        clock = fixed_clock(dt.datetime.fromisoformat(DEMO_NOW))
        import_lines(store, f, rulebook=Rulebook(), clock=clock)
    env = {**os.environ, "PREMATCH_DB": str(demo), "PREMATCH_NOW": DEMO_NOW}
    now = statistics.median(_time([str(BIN / "prematch"), "now"], env) for _ in range(runs))
    one = concurrent_writers(new_target, 1, 1)
    spread = concurrent_writers(new_target, WRITERS, WRITERS)
    shared = concurrent_writers(new_target, WRITERS, 1)
    return {
        "import_events_per_s": events / imported,
        "audit_events_per_s": events / audited,
        "verify_events_per_s": checked / verified,
        "now_s": now,
        "one_writer_events_per_s": one["events_per_s"],
        "spread_ratio": spread["events_per_s"] / one["events_per_s"],
        "shared_ratio": shared["events_per_s"] / one["events_per_s"],
        "intact": min(one["intact"], spread["intact"], shared["intact"]),
    }


def backend_rows(quick: bool, workdir: Path) -> list[tuple[str, str, str]]:
    """The SQLite and PostgreSQL figures side by side (PostgreSQL: the server named by
    ``PREMATCH_TEST_PG``, which ``make bench`` starts)."""
    base = os.environ.get("PREMATCH_TEST_PG")
    if not base:
        sys.exit("bench: PREMATCH_TEST_PG is not set; run `make bench` (it starts PostgreSQL)")
    size, runs = (2_000, 3) if quick else (20_000, 7)
    files = iter(range(1_000))
    print(f"SQLite and PostgreSQL side by side ({size:,} events, {WRITERS} writers):", flush=True)
    lite = backend_figures(lambda: workdir / f"backend-{next(files)}.db", size, runs)
    pg = backend_figures(lambda: _pg_target(base), size, runs)
    per_s = "{:,.0f}".format
    return [
        (f"backends: SQLite | PostgreSQL ({size:,} events)", "SQLite | PostgreSQL", ""),
        *(
            (f"  {name}", f"{per_s(lite[key])} | {per_s(pg[key])}", "")
            for name, key in (
                ("import: events/s", "import_events_per_s"),
                ("audit --all (one process): events/s", "audit_events_per_s"),
                ("verify: events/s", "verify_events_per_s"),
                ("1 writer process: events/s", "one_writer_events_per_s"),
            )
        ),
        ("  prematch now (cold), median s", f"{lite['now_s']:.3f} | {pg['now_s']:.3f}", ""),
        (
            f"  {WRITERS} writers on {WRITERS} seasons: events/s vs 1 writer",
            f"{lite['spread_ratio']:.2f}× | {pg['spread_ratio']:.2f}×",
            "",
        ),
        (
            f"  {WRITERS} writers on 1 season: events/s vs 1 writer",
            f"{lite['shared_ratio']:.2f}× | {pg['shared_ratio']:.2f}×",
            "",
        ),
        (
            "  every event once, seq gapless, chain verified",
            f"{'yes' if lite['intact'] else 'NO'} | {'yes' if pg['intact'] else 'NO'}",
            "yes",
        ),
    ]


def print_rows(rows: list[tuple[str, str, str]]) -> list[list[Any]]:
    """Print the table, each budget with ✓ or ✗; the rows with their verdicts."""
    width = max(len(r[0]) for r in rows)
    out: list[list[Any]] = []
    print(f"\n{'measure':{width}}  {'value':>30}  budget")
    for label, value, budget in rows:
        ok = verdict(value, budget)
        mark = "" if ok is None else (" ✓" if ok else " ✗")
        print(f"{label:{width}}  {value:>30}  {budget}{mark}")
        out.append([label, value, budget, ok])
    return out


def main() -> None:
    """Run every measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="Small sizes (a smoke run).")
    size.add_argument(
        "--large", action="store_true", help=f"Add a {LARGE:,}-event store to the curve."
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="Interleaved repeats.")
    parser.add_argument("--out", default="bench-results.json")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--writes", action="store_true", help="Only the write measurements.")
    only.add_argument(
        "--service", action="store_true", help="Only examples/service.py under 8 clients."
    )
    only.add_argument(
        "--backends", action="store_true", help="Only SQLite and PostgreSQL side by side."
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.service:
        with tempfile.TemporaryDirectory() as tmp:
            svc = service_latency(Path(tmp))
        print_rows(service_rows(svc))
        return
    if args.backends:
        with tempfile.TemporaryDirectory() as tmp:
            print_rows(backend_rows(args.quick, Path(tmp)))
        return
    if args.writes:
        with tempfile.TemporaryDirectory() as tmp:
            writes, latency = write_cost(Path(tmp)), write_latency(Path(tmp), THREADS)
        print_rows(write_rows(writes, latency))
        return
    if importlib.util.find_spec("eventsourcing") is None:
        sys.exit(
            "bench: the eventsourcing library it compares against is not installed: run"
            " `make bench`, which installs pyproject's bench extra"
        )
    began = time.perf_counter()
    sizes = QUICK_SIZES if args.quick else SIZES + ([LARGE] if args.large else [])
    results: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(),
        "python": sys.version.split()[0],
        "quick": args.quick,
        "large": args.large,
        "rounds": args.rounds,
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results.update(
            scale_figures(
                workdir,
                sizes,
                args.rounds,
                now_runs=5 if args.quick else NOW_RUNS,
                es_seasons=20 if args.quick else ES_SEASONS,
            )
        )
        print("writes into a small and a large season, and by threads:", flush=True)
        writes, latency = write_cost(workdir), write_latency(workdir, THREADS)
        results["write"], results["write_latency"] = writes, latency
        seconds = QUICK_SERVICE_SECONDS if args.quick else SERVICE_SECONDS
        print(f"examples/service.py, {THREADS} clients for {seconds} s per mode:", flush=True)
        results["service"] = svc = service_latency(workdir, seconds)
        failed = None
        try:
            backends = backend_rows(args.quick, workdir)
        except SystemExit as e:  # a failed writer: keep every other figure, then fail
            failed = str(e.code)
            backends = [("backends: SQLite | PostgreSQL", "FAILED (below)", "")]
    rows = [*scale_rows(results), *write_rows(writes, latency), *service_rows(svc), *backends]
    results["rows"] = print_rows(rows)
    results["wall_s"] = time.perf_counter() - began
    Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {args.out} ({results['wall_s'] / 60:.1f} minutes)")
    if failed is not None:
        sys.exit(failed)


if __name__ == "__main__":
    main()
