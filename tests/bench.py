"""``make bench``: the performance budgets of DESIGN §9, measured side by side in one run.

Prints a table and writes the same figures to ``bench-results.json``. Nothing here
is asserted: these machines are shared and noisy, so the figures are reported as
ratios against a baseline measured in the same run.

    python tests/bench.py [--quick] [--out bench-results.json] [--writes | --backends]

The last rows put SQLite and PostgreSQL side by side (import, audit, verify, a cold
``prematch now``, and 16 writer processes on 16 seasons and on one season as ratios
against one writer): they need ``PREMATCH_TEST_PG``, which ``make bench`` sets by
starting a throwaway server (``.ci/postgres.sh``, run with ``fsync=off``: its absolute
write figures flatter PostgreSQL; the ratios are what to compare).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth

from prematch.engine import Store, audit_jobs, audit_store, fixed_clock, fixtures_dir, import_lines
from prematch.policies import Rulebook

DEMO_NOW = "2027-01-15T09:00:00-05:00"
BASELINE_IMPORTS = "import pydantic, pendulum, transitions, sqlite_utils, click"
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "policies", "cli")


def _import_once(lines: list[str], path: Path) -> tuple[int, float]:
    # Open to close, as `prematch import` does: a small import's WAL is copied into the
    # file when the store closes, a large one's when it commits; either way it counts.
    start = time.perf_counter()
    with Store.open(path) as store:
        result = import_lines(store, lines, rulebook=Rulebook(), clock=fixed_clock(synth.CLOCK))
    return result.events, time.perf_counter() - start


def bulk_import(sizes: list[int], workdir: Path, repeat: int) -> list[dict[str, float]]:
    """Import rate (one transaction) at each size, and the cost per event.

    One season is imported first, untimed, so that one-time costs (lazy imports,
    building validators, loading calendars) do not count as cost per event. Sizes
    below the largest are imported ``repeat`` times, each into a new file, and the
    median counts; the largest once (it is also the store the audit reads).
    """
    _import_once(list(synth.lines(1)), workdir / "warm-up.db")
    out = []
    for events in sizes:
        lines = list(synth.lines(max(1, events // 100)))
        runs = []
        for attempt in range(1 if events == sizes[-1] else repeat):
            path = workdir / f"import-{events}.db"
            if attempt:
                for leftover in workdir.glob(f"import-{events}.db*"):
                    leftover.unlink()
            runs.append(_import_once(lines, path))
        count, seconds = sorted(runs, key=lambda r: r[1])[len(runs) // 2]
        out.append(
            {
                "events": count,
                "seconds": seconds,
                "runs": [r[1] for r in runs],
                "events_per_s": count / seconds,
                "us_per_event": seconds / count * 1e6,
            }
        )
        times = ", ".join(f"{r[1]:.2f}" for r in runs)
        print(f"  imported {count:>9,} events in {times} s", flush=True)
    return out


def audit_rate(path: Path, jobs: int) -> dict[str, float]:
    """Replay + full audit of every season, against plain sqlite3 reading the same rows."""
    conn = sqlite3.connect(path)
    start = time.perf_counter()
    rows = 0
    for _ in conn.execute("SELECT * FROM events ORDER BY season, seq"):
        rows += 1
    sqlite_seconds = time.perf_counter() - start
    conn.close()
    with Store.open(path) as store:
        start = time.perf_counter()
        seasons = findings = 0
        for report in audit_store(store, Rulebook(), jobs=jobs):
            seasons += 1
            findings += len(report.findings)
        audit_seconds = time.perf_counter() - start
    return {
        "jobs": jobs,
        "seasons": seasons,
        "events": rows,
        "findings": findings,
        "audit_events_per_s": rows / audit_seconds,
        "sqlite_rows_per_s": rows / sqlite_seconds,
        "ratio_to_sqlite": (rows / audit_seconds) / (rows / sqlite_seconds),
    }


# VmHWM, not ru_maxrss, for this process: Linux carries ru_maxrss across exec, so a
# child started by a parent holding a million imported events would report the
# parent's peak. Forked workers (no exec) report their own peak through
# RUSAGE_CHILDREN (pages shared with the parent count in both).
_PEAK = """
import resource, sys
from prematch.engine import Store, audit_store
from prematch.policies import Rulebook
with Store.open(sys.argv[1]) as store:
    for _ in audit_store(store, Rulebook(), jobs=int(sys.argv[2])):
        pass
status = open("/proc/self/status").read().split("VmHWM:")[1]
print(int(status.split()[0]), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def audit_peak_mb(path: Path, jobs: int) -> tuple[float, float]:
    """Peak resident memory (MB) of a process auditing every season, and of its largest worker."""
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(path), str(jobs)],
        capture_output=True,
        text=True,
        check=True,
    )
    own, worker = done.stdout.split()
    return int(own) / 1024, int(worker) / 1024


def audit_cli(path: Path, events: int) -> dict[str, float]:
    """``prematch audit --all --json`` as a user runs it (default jobs, output discarded)."""
    env = {**os.environ, "PREMATCH_DB": str(path)}
    start = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "prematch"), "audit", "--all", "--json"], env=env, stdout=subprocess.DEVNULL
    )
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.returncode
    return {"seconds": seconds, "events_per_s": events / seconds}


def _time(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def now_cold(workdir: Path, runs: int) -> dict[str, float]:
    """``prematch now`` on the demo season as a cold process, against importing its deps."""
    db = workdir / "demo.db"
    with Store.open(db) as store, (fixtures_dir() / "demo" / "season.jsonl").open("rb") as f:
        clock = fixed_clock(dt.datetime.fromisoformat(DEMO_NOW))
        import_lines(store, f, rulebook=Rulebook(), clock=clock)
    env = {**os.environ, "PREMATCH_DB": str(db), "PREMATCH_NOW": DEMO_NOW, "NO_COLOR": "1"}
    # Installing the wheel compiles every module to bytecode, as it did the
    # dependencies'; an editable checkout may have none yet (or PYTHONDONTWRITEBYTECODE
    # set), and `now` would then time compiling prematch's sources on every run.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *(str(ROOT / p) for p in PACKAGES)], check=True
    )
    now_cmd = [str(BIN / "prematch"), "now"]
    base_cmd = [sys.executable, "-c", BASELINE_IMPORTS]
    _time(now_cmd, env), _time(base_cmd, env)  # warm the page cache
    now_times, base_times = [], []
    for _ in range(runs):  # interleaved, so load on the machine hits both alike
        now_times.append(_time(now_cmd, env))
        base_times.append(_time(base_cmd, env))
    now_s, base_s = statistics.median(now_times), statistics.median(base_times)
    return {"now_s": now_s, "imports_s": base_s, "ratio": now_s / base_s, "runs": runs}


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


def write_cost(workdir: Path) -> dict[str, float]:
    """CPU time of one ``Season.record`` into a season of 5,000 events vs one of 50, the
    writes interleaved, each store open throughout (its season snapshot cached, as in a
    service); and the first write after opening the store (the season read and replayed)."""
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
    w50, w5k = statistics.median(warm[50]), statistics.median(warm[5_000])
    f50, f5k = statistics.median(first[50]), statistics.median(first[5_000])
    return {
        "warm_50_ms": w50 * 1e3,
        "warm_5000_ms": w5k * 1e3,
        "ratio": w5k / w50,
        "first_50_ms": f50 * 1e3,
        "first_5000_ms": f5k * 1e3,
        "first_ratio": f5k / f50,
    }


def write_latency(workdir: Path, threads: int) -> dict[str, float]:
    """Wall-clock latency of writes by ``threads`` threads sharing one store, all into the
    same season of 500 events (the worst case: every write contends for the season), and
    of one writer alone: p50, p95 and the worst. Each write happens now (the real clock,
    after the season's events), as a service records them."""
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

    one, many = run(1, workdir / "lat-1.db"), run(threads, workdir / f"lat-{threads}.db")
    procs = run_processes(threads, workdir / f"lat-p{threads}.db")
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
"""How long the 8 clients of :func:`service_latency` run (issue 17's 'done when')."""


def service_latency(workdir: Path, seconds: float = SERVICE_SECONDS) -> dict[str, float]:
    """``examples/service.py`` under 8 clients for ``seconds`` (each posts an event and
    reads ``now``), and under one client alone for as long: p95 POST latency of each,
    their ratio, and whether every recorded event is in the store (nothing lost)."""
    from service_load import hammer, service

    from prematch.engine import Season, system_clock

    out: dict[str, float] = {}
    for clients in (1, THREADS):
        db = workdir / f"service-{clients}.db"
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
        with service(sys.executable, db, cwd=workdir, env=env) as url:
            load = hammer(url, "svc-2027", "mercy", clients=clients, seconds=seconds)
        with Store.open(db, readonly=True) as store:
            texts = [r.payload.get("text") for r in store.season_records("svc-2027")]
        out[f"p95_{clients}"] = load.p95()
        out[f"writes_{clients}"] = len(load.recorded)
        out[f"lost_{clients}"] = len(set(load.recorded) - set(texts)) + len(load.failures)
    out["p95_ratio"] = out[f"p95_{THREADS}"] / out["p95_1"]
    return out


def service_rows(svc: dict[str, float]) -> list[tuple[str, str, str]]:
    """The service's rows of the table."""
    return [
        (
            f"service: {THREADS} clients × {SERVICE_SECONDS} s, POST p95 (ms)",
            f"{svc[f'p95_{THREADS}'] * 1000:.1f} ({svc[f'writes_{THREADS}']:.0f} writes)",
            "",
        ),
        ("  one client alone, POST p95 (ms)", f"{svc['p95_1'] * 1000:.1f}", ""),
        ("  p95 vs one client's p95", f"{svc['p95_ratio']:.1f}×", "≤ 3×"),
        ("  events lost or refused", f"{svc[f'lost_{THREADS}'] + svc['lost_1']:.0f}", "0"),
    ]


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


def main() -> None:
    """Run every measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Small sizes (a smoke run).")
    parser.add_argument("--out", default="bench-results.json")
    parser.add_argument("--writes", action="store_true", help="Only the write measurements.")
    parser.add_argument(
        "--service", action="store_true", help="Only examples/service.py under 8 clients."
    )
    parser.add_argument(
        "--backends", action="store_true", help="Only SQLite and PostgreSQL side by side."
    )
    args = parser.parse_args()
    if args.service:
        with tempfile.TemporaryDirectory() as tmp:
            svc = service_latency(Path(tmp))
        for label, value, budget in service_rows(svc):
            print(f"{label:55}  {value:>24}  {budget}")
        return
    if args.backends:
        with tempfile.TemporaryDirectory() as tmp:
            for label, value, budget in backend_rows(args.quick, Path(tmp)):
                print(f"{label:55}  {value:>24}  {budget}")
        return
    if args.writes:
        with tempfile.TemporaryDirectory() as tmp:
            writes, latency = write_cost(Path(tmp)), write_latency(Path(tmp), THREADS)
        for label, value, budget in write_rows(writes, latency):
            print(f"{label:55}  {value:>24}  {budget}")
        return
    sizes = [1_000, 10_000, 20_000] if args.quick else [10_000, 100_000, 1_000_000]
    results: dict[str, object] = {
        "when": dt.datetime.now(dt.UTC).isoformat(),
        "python": sys.version.split()[0],
        "quick": args.quick,
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print("bulk import (one transaction, rulebook on):", flush=True)
        imports = bulk_import(sizes, workdir, repeat=3)
        results["import"] = imports
        biggest = workdir / f"import-{sizes[-1]}.db"
        print("audit --all over the largest store:", flush=True)
        audit = audit_rate(biggest, jobs=1)
        audit["peak_mb"], _ = audit_peak_mb(biggest, jobs=1)
        results["audit"] = audit
        parallel = audit_rate(biggest, jobs=audit_jobs(audit["seasons"]))
        parallel["peak_mb"], parallel["worker_peak_mb"] = audit_peak_mb(biggest, parallel["jobs"])
        results["audit_parallel"] = parallel
        cli = audit_cli(biggest, audit["events"])
        results["audit_cli"] = cli
        print("prematch now, cold process:", flush=True)
        results["now"] = now_cold(workdir, runs=5 if args.quick else 15)
        print("writes into a small and a large season, and by threads:", flush=True)
        writes, latency = write_cost(workdir), write_latency(workdir, THREADS)
        results["write"], results["write_latency"] = writes, latency
        print(f"examples/service.py, {THREADS} clients for {SERVICE_SECONDS} s:", flush=True)
        results["service"] = svc = service_latency(workdir)
        backends = backend_rows(args.quick, workdir)
    costs = [i["us_per_event"] for i in imports]
    growth = max(costs) / min(costs) - 1
    now = results["now"]
    assert isinstance(now, dict)
    rows = [
        (
            "bulk import, events/s at " + ", ".join(f"{i['events']:,}" for i in imports),
            ", ".join(f"{i['events_per_s']:,.0f}" for i in imports),
            "≥ 50,000",
        ),
        (
            "import cost per event: µs at each size",
            ", ".join(f"{c:.1f}" for c in costs),
            "flat ±25 %",
        ),
        ("import cost growth (max/min − 1)", f"{growth:+.0%}", "≤ 25 %"),
        (
            f"audit --all: events/s ({audit['seasons']:,} seasons)",
            f"{audit['audit_events_per_s']:,.0f}",
            "≥ 200,000",
        ),
        ("plain sqlite3 read of the same rows: rows/s", f"{audit['sqlite_rows_per_s']:,.0f}", ""),
        ("audit rate / sqlite3 rate", f"{audit['ratio_to_sqlite']:.1%}", "≥ 15 %"),
        ("audit peak memory (MB)", f"{audit['peak_mb']:.0f}", "≤ 200"),
        (
            f"audit --all --jobs {parallel['jobs']} (the CLI default here): events/s",
            f"{parallel['audit_events_per_s']:,.0f}",
            "≥ 200,000",
        ),
        (
            "  peak memory: parent, largest worker (MB)",
            f"{parallel['peak_mb']:.0f}, {parallel['worker_peak_mb']:.0f}",
            "",
        ),
        (
            "`prematch audit --all --json` (cold, to /dev/null): events/s",
            f"{cli['events_per_s']:,.0f}",
            "",
        ),
        ("prematch now (cold), median s", f"{now['now_s']:.3f}", ""),
        ("python -c 'import deps', median s", f"{now['imports_s']:.3f}", ""),
        ("now / imports", f"{now['ratio']:.2f}×", "≤ 1.5×"),
        *write_rows(writes, latency),
        *service_rows(svc),
        *backends,
    ]
    results["import_cost_growth"] = growth
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'measure':{width}}  {'value':>30}  budget")
    for label, value, budget in rows:
        print(f"{label:{width}}  {value:>30}  {budget}")
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
