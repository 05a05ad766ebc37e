"""The scale curve of ``make bench`` (DESIGN §9): import, cold audit, re-audit, verify and a
cold ``prematch now`` at 10⁴, 10⁵ and 10⁶ events (5·10⁶ with ``--large``), and prematch
against the ``eventsourcing`` library on the same seasons.

How it measures, so that a shared, loaded machine moves the figures but not their ratios:

- **CPU time**, never wall time: ``time.process_time`` around the work in this process;
  a child process reports its own ``process_time`` around the work (an import) or is
  charged whole through ``getrusage(RUSAGE_CHILDREN)`` deltas (a cold ``prematch now``,
  start-up included, as a user pays it).
- **Interleaved rounds**: every run a ratio compares is repeated once per round, in turn
  (A B A B …, never all A then all B), and the **median** of each counts.
- **Copies on disk**: a store copied for a run is fsynced first (:func:`copy_store`), so
  the run's own fsyncs do not write the copy back.
- **Floors in the same run**: a plain ``sqlite3`` SELECT of the same rows with
  ``json.loads`` of every payload (for audit and verify), and ``python -c "import …"`` of
  the CLI's dependencies (for ``now``), interleaved with what they are the floor of.

A cold audit is the first audit of a copy of the freshly imported store (nobody audited it
yet), so a findings projection written by an audit never makes a later round warm.

Run as a script, this module is the child process of one measurement (``import`` or
``audit``), printing its figures as JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth

import prematch
from prematch.engine import (
    Store,
    _chain,
    audit_store,
    fixed_clock,
    fixtures_dir,
    import_lines,
    verify_jobs,
)
from prematch.policies import Rulebook

HERE = Path(__file__).resolve()
BIN = Path(sys.executable).parent
DEMO_NOW = "2027-01-15T09:00:00-05:00"
DEMO_SEASON = "demo-2027"
BASELINE_IMPORTS = "import pydantic, pendulum, transitions, sqlite_utils, click"
BATCH_SEASONS = 100
"""Seasons (about 10,000 events) of the fixed import into an empty and into the biggest
store."""
BATCH_FIRST = 10_000_000
"""The batch's seasons are numbered from here: no store of the curve holds them."""
CHANGED_AT = "2027-02-25T09:00:00-05:00"
"""When the re-audit's appended events happened (after every synthetic event)."""
FLOOR_SQL = (
    "SELECT seq, season, program, type, schema_version, occurred_at, recorded_at, payload,"
    " override, hash FROM events ORDER BY season, seq"
)
"""The audit's floor: the rows a season-by-season audit reads, in its order."""


def median(values: list[float]) -> float:
    """The median of ``values`` (every figure of the bench is one)."""
    return statistics.median(values)


def cpu(work: Callable[[], Any]) -> tuple[float, Any]:
    """CPU seconds of this process spent in ``work()``, and what it returned."""
    began = time.process_time()
    result = work()
    return time.process_time() - began, result


def child_cpu(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """CPU seconds (user + system) of a child process run to its end, start-up included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def child_json(args: list[str]) -> dict[str, Any]:
    """Run this module as a child process with ``args``; what it printed, as JSON."""
    done = subprocess.run(
        [sys.executable, str(HERE), *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.exit(f"bench: the child `{' '.join(args)}` failed:\n{done.stderr.strip()}")
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def write_jsonl(path: Path, seasons: int, first: int = 0) -> Path:
    """Write ``seasons`` synthetic seasons (numbered from ``first``) to a JSONL file."""
    with path.open("w") as f:
        for line in synth.lines(seasons, first=first):
            f.write(line + "\n")
    return path


def fresh(path: Path) -> Path:
    """``path`` with no store at it (the file and its WAL and shared-memory files gone)."""
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    return path


def copy_store(source: Path, target: Path) -> Path:
    """A copy of a closed store (its WAL already merged into the file), on disk.

    The copy is fsynced before it is returned: left as dirty pages, the whole copy would be
    written back by the first fsync of the file, that of the measured run (an import's
    checkpoint at close, an audit's projection), in its system time (measured: that made an
    import into a copy of the 5·10⁶-event store cost 1.37× one into an empty store, 1.00×
    with the copy on disk).
    """
    copy = Path(shutil.copyfile(source, fresh(target)))
    fd = os.open(copy, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return copy


# -- the child processes --------------------------------------------------------------


def _peak_mb() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child of a parent
    # that once held a large store would report the parent's peak.
    status = Path("/proc/self/status").read_text().split("VmHWM:")[1]
    return int(status.split()[0]) / 1024


def _child_import(db: str, jsonl: str) -> dict[str, Any]:
    """Import a JSONL file into the store at ``db`` as ``prematch import`` does, open to
    close (a small import's WAL is merged when the store closes, a large one's as it
    commits: either way it counts). One season is imported first, untimed, into a
    throwaway store, so one-time costs (lazy imports, validators, calendars) are not
    counted per event."""
    rulebook, clock = Rulebook(), fixed_clock(synth.CLOCK)
    warm = fresh(Path(db + ".warm-up"))
    with Store.open(warm) as store:
        import_lines(store, list(synth.lines(1)), rulebook=rulebook, clock=clock)
    fresh(warm)
    began = time.process_time()
    with Store.open(db) as store, open(jsonl, "rb") as f:
        events = import_lines(store, f, rulebook=rulebook, clock=clock).events
    return {"events": events, "cpu_s": time.process_time() - began, "peak_mb": _peak_mb()}


def _child_audit(db: str, jobs: int) -> dict[str, Any]:
    """Audit every season (``audit --all``) with ``jobs`` processes: wall seconds, this
    process's peak memory and its largest worker's (forked workers report theirs through
    ``RUSAGE_CHILDREN``; pages shared with the parent count in both)."""
    began = time.perf_counter()
    with Store.open(db) as store:
        seasons = sum(1 for _ in audit_store(store, Rulebook(), jobs=jobs, at=synth.CLOCK))
    return {
        "seasons": seasons,
        "wall_s": time.perf_counter() - began,
        "peak_mb": _peak_mb(),
        "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


# -- the curve ---------------------------------------------------------------------------


def import_runs(
    workdir: Path, sizes: list[int], rounds: int
) -> tuple[dict[int, dict[str, Any]], dict[int, Path]]:
    """Import ``size`` events (``size // 100`` seasons) into a new store, each size once
    per round, in child processes: per size the CPU per event (median), the runs and the
    peak memory. The stores of the last round stay, as the curve's stores."""
    files = {n: write_jsonl(workdir / f"in-{n}.jsonl", max(1, n // 100)) for n in sizes}
    stores = {n: workdir / f"store-{n}.db" for n in sizes}
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
    for _ in range(rounds):
        for n in sizes:
            runs[n].append(child_json(["import", str(fresh(stores[n])), str(files[n])]))
    for n in sizes:
        files[n].unlink()
    out = {}
    for n in sizes:
        events = runs[n][0]["events"]
        cpus = [r["cpu_s"] for r in runs[n]]
        out[n] = {
            "events": events,
            "cpu_s": cpus,
            "us_per_event": median(cpus) / events * 1e6,
            "peak_mb": max(r["peak_mb"] for r in runs[n]),
        }
        print(f"  imported {events:>9,} events: {median(cpus) / events * 1e6:.1f} µs/event")
    return out, stores


def import_into_big(workdir: Path, biggest: Path, rounds: int) -> dict[str, Any]:
    """The same batch (about 10,000 events, seasons the store does not hold) imported into
    an empty store and into a copy of the biggest store, interleaved: CPU of each."""
    batch = write_jsonl(workdir / "batch.jsonl", BATCH_SEASONS, first=BATCH_FIRST)
    empty, big = [], []
    for _ in range(rounds):
        empty.append(child_json(["import", str(fresh(workdir / "batch-empty.db")), str(batch)]))
        copy = copy_store(biggest, workdir / "batch-big.db")
        big.append(child_json(["import", str(copy), str(batch)]))
    for leftover in ("batch-empty.db", "batch-big.db"):
        fresh(workdir / leftover)
    e, b = median([r["cpu_s"] for r in empty]), median([r["cpu_s"] for r in big])
    return {
        "events": empty[0]["events"],
        "into_empty_s": e,
        "into_biggest_s": b,
        "ratio": b / e,
    }


def _audit_cpu(path: Path, *, readonly: bool = False) -> tuple[float, int]:
    """CPU of ``audit_store`` over ``path``: cold when ``readonly`` (the findings
    projection is then neither read from a store that has none, nor written), else
    keeping the projection as ``audit --all`` does."""
    with Store.open(path, readonly=readonly) as store:
        rulebook = Rulebook()
        seconds, seasons = cpu(
            lambda: sum(1 for _ in audit_store(store, rulebook, jobs=1, at=synth.CLOCK))
        )
    return seconds, seasons


def _floor_cpu(path: Path) -> float:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    loads = json.loads

    def read() -> None:
        for row in conn.execute(FLOOR_SQL):
            loads(row[7])

    seconds, _ = cpu(read)
    conn.close()
    return seconds


def _change(path: Path, seasons: int) -> int:
    """Append one event to every 100th season (1 %), in one write: how many changed."""
    ids = [f"syn-{index:06d}" for index in range(0, seasons, 100)]
    at = dt.datetime.fromisoformat(CHANGED_AT)
    lines = [synth._line("news_recorded", at, sid, kind="other", detail="moved") for sid in ids]
    with Store.open(path) as store:
        import_lines(store, lines, rulebook=Rulebook(), clock=fixed_clock(synth.CLOCK))
    return len(ids)


def audit_runs(
    workdir: Path, stores: dict[int, Path], events: dict[int, int], rounds: int, reaudit: int
) -> dict[str, Any]:
    """Per size and round, interleaved: a cold audit (one process, ``at`` = the synthetic
    clock, as ``audit --all`` passes now; the store opened read-only, so no findings
    projection is read or written) of a fresh copy of the store, and the floor reading the
    same rows. At ``reaudit`` events, the copy is then audited once keeping the projection
    (``first_s``), gets one event appended to 1 % of its seasons and is audited again:
    that CPU against the cold one's."""
    cold: dict[int, list[float]] = {n: [] for n in stores}
    floor: dict[int, list[float]] = {n: [] for n in stores}
    first: list[float] = []
    again: list[float] = []
    changed = 0
    for _ in range(rounds):
        for n, path in stores.items():
            copy = copy_store(path, workdir / "audit-copy.db")
            seconds, seasons = _audit_cpu(copy, readonly=True)
            cold[n].append(seconds)
            floor[n].append(_floor_cpu(path))
            if n == reaudit:
                first.append(_audit_cpu(copy)[0])  # cold, and keeping every season's findings
                changed = _change(copy, seasons)
                again.append(_audit_cpu(copy)[0])
    fresh(workdir / "audit-copy.db")
    curve = {}
    for n in stores:
        audit_us = median(cold[n]) / events[n] * 1e6
        floor_us = median(floor[n]) / events[n] * 1e6
        curve[n] = {
            "events": events[n],
            "audit_cpu_s": cold[n],
            "floor_cpu_s": floor[n],
            "audit_us_per_event": audit_us,
            "floor_us_per_event": floor_us,
            "ratio_to_floor": audit_us / floor_us,
        }
        print(f"  audited {events[n]:>9,} events: {audit_us:.1f} µs/event (floor {floor_us:.1f})")
    return {
        "curve": curve,
        "reaudit": {
            "events": reaudit,
            "seasons_changed": changed,
            "cold_s": median(cold[reaudit]),
            "first_s": median(first),
            "again_s": median(again),
            "ratio": median(again) / median(cold[reaudit]),
        },
    }


def audit_memory(workdir: Path, store: Path, jobs: int) -> dict[str, Any]:
    """A cold ``audit --all`` of a copy of ``store`` in a child process with ``jobs``
    processes: wall seconds and peak memory (one run: memory is not noisy)."""
    copy = copy_store(store, workdir / "audit-child.db")
    figures = child_json(["audit", str(copy), str(jobs)])
    fresh(copy)
    return {"jobs": jobs, **figures}


def audit_cli(workdir: Path, store: Path, events: int) -> dict[str, float]:
    """``prematch audit --all --json`` of a fresh copy, as a user runs it (default jobs,
    output discarded): wall seconds, and CPU of it and its workers."""
    copy = copy_store(store, workdir / "audit-cli.db")
    env = {**os.environ, "PREMATCH_DB": str(copy)}
    began = time.perf_counter()
    seconds = child_cpu([str(BIN / "prematch"), "audit", "--all", "--json"], env)
    wall = time.perf_counter() - began
    fresh(copy)
    return {"wall_s": wall, "cpu_s": seconds, "events_per_s": events / wall}


def verify_runs(
    stores: dict[int, Path], events: dict[int, int], rounds: int
) -> dict[int, dict[str, Any]]:
    """``Store.verify`` of each store, once per round, interleaved with the floor: CPU per
    event as built (with the compiled quick pass when it is), in Python alone, and the
    floor's."""
    runs: dict[tuple[int, str], list[float]] = {
        (n, arm): [] for n in stores for arm in ("built", "python", "floor")
    }
    for _ in range(rounds):
        for (n, arm), times in runs.items():
            if arm == "floor":
                times.append(_floor_cpu(stores[n]))
                continue
            python = mock.patch.object(_chain, "_skip_holding", None)
            with (
                Store.open(stores[n], readonly=True) as store,
                python if arm == "python" else nullcontext(),
            ):
                seconds, (checked, problem) = cpu(store.verify)
            if problem is not None or checked != events[n]:
                sys.exit(f"bench: verify of {stores[n]} found {problem} after {checked} events")
            times.append(seconds)
    out = {}
    for n in stores:
        per_event = {
            arm: median(runs[n, arm]) / events[n] * 1e6 for arm in ("built", "python", "floor")
        }
        out[n] = {
            "compiled": _chain.ACCELERATED,
            "cpu_s": runs[n, "built"],
            "us_per_event": per_event["built"],
            "python_cpu_s": runs[n, "python"],
            "python_us_per_event": per_event["python"],
            "floor_us_per_event": per_event["floor"],
        }
    return out


def verify_wall(store: Path, events: int, rounds: int) -> dict[str, Any]:
    """``Store.verify`` of ``store`` in one process and with ``verify --jobs``' default
    (worker processes checking spans at once), interleaved: wall seconds of each."""
    jobs = verify_jobs(events)
    one: list[float] = []
    spans: list[float] = []
    for _ in range(rounds):
        for runs, n in ((one, 1), (spans, jobs)):
            with Store.open(store, readonly=True) as opened:
                began = time.perf_counter()
                checked, problem = opened.verify(jobs=n)
                runs.append(time.perf_counter() - began)
            if problem is not None or checked != events:
                sys.exit(f"bench: verify --jobs {n} of {store} found {problem} after {checked}")
    return {"jobs": jobs, "one_wall_s": median(one), "jobs_wall_s": median(spans)}


def _add_demo(path: Path) -> None:
    with Store.open(path) as store, (fixtures_dir() / "demo" / "season.jsonl").open("rb") as f:
        clock = fixed_clock(dt.datetime.fromisoformat(DEMO_NOW))
        import_lines(store, f, rulebook=Rulebook(), clock=clock)


def now_runs(workdir: Path, stores: dict[int, Path], runs: int) -> dict[str, Any]:
    """A cold ``prematch now`` on the demo season, alone in the demo store and inside each
    store of the curve, and the floor (a process importing the CLI's dependencies), each
    once per round (interleaved): CPU of the whole process, start-up included."""
    demo = fresh(workdir / "demo.db")
    _add_demo(demo)
    for path in stores.values():
        _add_demo(path)
    # Installing the wheel compiles every module to bytecode, as it did the
    # dependencies'; an editable checkout may have none yet (or PYTHONDONTWRITEBYTECODE
    # set), and `now` would then time compiling prematch's sources on every run. The
    # bytecode goes beside the modules as imported: the strict editable install's link
    # tree, not the sources it links to.
    imported = Path(prematch.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(imported)], check=True)
    base = {**os.environ, "PREMATCH_NOW": DEMO_NOW, "PREMATCH_SEASON": DEMO_SEASON, "NO_COLOR": "1"}
    now_cmd = [str(BIN / "prematch"), "now"]
    targets = {"demo": demo, **{str(n): p for n, p in stores.items()}}
    envs = {name: {**base, "PREMATCH_DB": str(p)} for name, p in targets.items()}
    floor_cmd = [sys.executable, "-c", BASELINE_IMPORTS]
    for name in targets:  # warm the page cache
        child_cpu(now_cmd, envs[name])
    floor: list[float] = []
    times: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(runs):
        floor.append(child_cpu(floor_cmd, base))
        for name in targets:
            times[name].append(child_cpu(now_cmd, envs[name]))
    demo_s = median(times["demo"])
    return {
        "runs": runs,
        "imports_s": median(floor),
        "demo_s": demo_s,
        "ratio": demo_s / median(floor),
        "stores": {
            name: {"now_s": median(t), "ratio_to_demo": median(t) / demo_s}
            for name, t in times.items()
            if name != "demo"
        },
    }


# -- eventsourcing ---------------------------------------------------------------------


def es_runs(workdir: Path, seasons: int, rounds: int) -> dict[str, Any]:
    """prematch's import and cold audit against ``eventsourcing``'s import and replay of
    the same JSONL file, in this process, each once per round (interleaved: prematch
    import, its import, prematch audit, its replay). One season goes into each first,
    untimed (one-time costs)."""
    import bench_es

    jsonl = write_jsonl(workdir / "es.jsonl", seasons)
    rulebook, clock = Rulebook(), fixed_clock(synth.CLOCK)

    def prematch_import(path: Path) -> int:
        with Store.open(fresh(path)) as store, jsonl.open("rb") as f:
            return import_lines(store, f, rulebook=rulebook, clock=clock).events

    with Store.open(fresh(workdir / "es-warm.db")) as store:
        import_lines(store, list(synth.lines(1)), rulebook=rulebook, clock=clock)
        sum(1 for _ in audit_store(store, rulebook, jobs=1, at=synth.CLOCK))
    warm = bench_es.open_app(fresh(workdir / "es-warm-es.db"))
    bench_es.replay(warm, bench_es.import_file(warm, synth.lines(1))[1])
    figures: dict[str, list[float]] = {"import": [], "es_import": [], "audit": [], "es_replay": []}
    events = 0
    for _ in range(rounds):
        seconds, events = cpu(lambda: prematch_import(workdir / "es-prematch.db"))
        figures["import"].append(seconds)
        app = bench_es.open_app(fresh(workdir / "es-es.db"))
        with jsonl.open("rb") as f:
            seconds, (stored, ids) = cpu(lambda f=f, app=app: bench_es.import_file(app, f))
        figures["es_import"].append(seconds)
        figures["audit"].append(_audit_cpu(workdir / "es-prematch.db")[0])
        seconds, replayed = cpu(lambda app=app, ids=ids: bench_es.replay(app, ids))
        figures["es_replay"].append(seconds)
        if stored != events or replayed != events:
            sys.exit(f"bench: eventsourcing stored {stored}, replayed {replayed} of {events}")
        app.close()
    us = {k: median(v) / events * 1e6 for k, v in figures.items()}
    return {
        "version": bench_es.VERSION_PIN,
        "seasons": seasons,
        "events": events,
        "cpu_s": figures,
        "us_per_event": us,
        "import_ratio": us["es_import"] / us["import"],
        "replay_ratio": us["es_replay"] / us["audit"],
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["import"]:
        print(json.dumps(_child_import(sys.argv[2], sys.argv[3])))
    elif sys.argv[1:2] == ["audit"]:
        print(json.dumps(_child_audit(sys.argv[2], int(sys.argv[3]))))
    else:
        sys.exit("usage: bench_scale.py import DB FILE | audit DB JOBS (the bench's children)")
