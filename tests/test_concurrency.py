"""Many writers at once lose nothing (issue 5, DESIGN §7).

Real processes and real threads, started together: every child first reports "ready"
on a pipe and then blocks reading a second pipe until the test closes its write end,
so all of them are released at the same instant (no sleeps-and-hope). Afterwards
every accepted event is present exactly once, ``seq`` is gapless, the hash chain
verifies, and the rulebook saw a consistent state (two concurrent letters of intent
are never both accepted). A locked database waits for the busy timeout and then
fails with one clear line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from seasons import log_only

from prematch.engine import NoRules, Season, Store, fixed_clock

PREMATCH = Path(sys.executable).parent / "prematch"
NOW = "2027-01-15T09:00:00-05:00"
NOW_UTC = dt.datetime(2027, 1, 15, 14, tzinfo=dt.UTC)
SEASON = "race-2027"

WRITERS = 8
"""Concurrent writers (processes in one round, threads in the library test)."""
ROUNDS = 5
"""Rounds of ``WRITERS`` simultaneous ``prematch log`` processes."""
PER_THREAD = 25
"""Events each library thread appends."""
INTENT_RACES = 10
"""How many times two letters of intent race each other."""

GATE = (
    "import os, sys\n"
    "ready, go = int(sys.argv[1]), int(sys.argv[2])\n"
    "os.write(ready, b'r'); os.close(ready)\n"
    "os.read(go, 1); os.close(go)\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)
"""Child side of the start barrier: say ready, wait for the gate to open, become the command."""

SEQ_RE = re.compile(r"\(seq (\d+)\)")


def env_for(db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREMATCH_")}
    env.update(PREMATCH_DB=str(db), PREMATCH_NOW=NOW, NO_COLOR="1", COLUMNS="200", **extra)
    return env


def start_together(
    commands: Sequence[Sequence[str]], env: dict[str, str], timeout: float = 120
) -> list[tuple[int, str, str]]:
    """Run every command in its own process, all released at once; (exit code, out, err)."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    procs = []
    try:
        for command in commands:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", GATE, str(ready_w), str(go_r), *command],
                    pass_fds=(ready_w, go_r),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                )
            )
    finally:
        os.close(ready_w)
        os.close(go_r)
    waiting = 0
    while waiting < len(commands):
        chunk = os.read(ready_r, 64)
        if not chunk:
            break  # a child died before reaching the gate; its output will say why
        waiting += len(chunk)
    os.close(ready_r)
    os.close(go_w)  # open the gate: every child's read returns at once
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        results.append((proc.returncode, out, err))
    assert waiting == len(commands), f"only {waiting} children reached the gate: {results}"
    return results


def prematch(db: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(PREMATCH), *args],
        capture_output=True,
        text=True,
        env=env_for(db, **extra),
        timeout=120,
        check=False,
    )
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return proc


def new_season(db: Path, programs: Sequence[str] = (), interviewed: bool = False) -> None:
    """A 2027 season (no rulebook needed to build it) with ``programs`` added."""
    with Store.open(db) as store:
        season = log_only(store, SEASON, name="Race Applicant", now=NOW_UTC)
        for pid in programs:
            season.add_program(pid, f"{pid} Internal Medicine", at="2026-09-21T10:00:00-04:00")
            if interviewed:
                season.record("invited", pid, at="2026-10-01T10:00:00-04:00")
                season.record("interviewed", pid, at="2026-12-01T10:00:00-05:00")


def stored_rows(db: Path) -> list[tuple[int, str, str | None, str]]:
    """(seq, type, program, payload) of every event, read with plain sqlite3."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT seq, type, program, payload FROM events ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()


def news_details(db: Path) -> list[str]:
    return [json.loads(p)["detail"] for _, t, _, p in stored_rows(db) if t == "news_recorded"]


def assert_gapless_and_verified(db: Path, *, cli: bool = True) -> int:
    seqs = [row[0] for row in stored_rows(db)]
    assert seqs == list(range(1, len(seqs) + 1)), f"seq not gapless: {seqs}"
    with Store.open(db, create=False) as store:
        count, problem = store.verify()
    assert problem is None, problem
    assert count == len(seqs)
    if cli:
        proc = prematch(db, "verify")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"{len(seqs)} events" in proc.stdout
    return len(seqs)


# -- (a) separate `prematch log` processes ------------------------------------------------


def test_concurrent_log_processes_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    new_season(db)
    env = env_for(db, PREMATCH_BUSY_TIMEOUT="60")
    accepted: dict[str, int] = {}
    for round_ in range(ROUNDS):
        details = [f"n{round_}-{w}" for w in range(WRITERS)]
        commands = [
            [str(PREMATCH), "log", "news-recorded", "--kind", "other", "--detail", d]
            for d in details
        ]
        for detail, (code, out, err) in zip(details, start_together(commands, env), strict=True):
            assert "Traceback" not in err, err
            assert code == 0, f"{detail}: exit {code}\n{out}{err}"
            (seq,) = SEQ_RE.findall(out)
            accepted[detail] = int(seq)

    assert len(accepted) == WRITERS * ROUNDS
    assert len(set(accepted.values())) == len(accepted), "two processes were told the same seq"
    rows = {row[0]: row for row in stored_rows(db)}
    details = news_details(db)
    for detail, seq in accepted.items():
        assert details.count(detail) == 1, f"{detail} stored {details.count(detail)} times"
        assert detail in rows[seq][3], f"seq {seq} does not hold {detail}"
    assert len(details) == len(accepted), "an event nobody was told about was stored"
    assert assert_gapless_and_verified(db) == 1 + WRITERS * ROUNDS


# -- (b) threads through the library -------------------------------------------------------


def test_concurrent_library_threads_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    new_season(db)
    barrier = threading.Barrier(WRITERS)
    got: dict[int, list[tuple[str, int]]] = {}
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            # sqlite3 connections belong to one thread: each thread opens its own store.
            with Store.open(db, create=False, busy_timeout=60) as store:
                season = Season.open(store, rulebook=NoRules(), clock=fixed_clock(NOW_UTC))
                mine: list[tuple[str, int]] = []
                barrier.wait(timeout=60)
                for j in range(PER_THREAD):
                    detail = f"t{index}-{j}"
                    done = season.record(
                        "news_recorded", at="2026-10-01T10:00:00-04:00", kind="other", detail=detail
                    )
                    mine.append((detail, done.record.seq))
                got[index] = mine
        except BaseException as e:  # reported below, with the thread that raised it
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert all(not t.is_alive() for t in threads)

    accepted = dict(pair for mine in got.values() for pair in mine)
    assert len(accepted) == WRITERS * PER_THREAD
    for mine in got.values():
        seqs = [seq for _, seq in mine]
        assert seqs == sorted(seqs), "a thread's own appends went backwards"
    assert len(set(accepted.values())) == len(accepted), "two threads were told the same seq"
    rows = {row[0]: row for row in stored_rows(db)}
    details = news_details(db)
    for detail, seq in accepted.items():
        assert details.count(detail) == 1, f"{detail} stored {details.count(detail)} times"
        assert detail in rows[seq][3]
    assert len(details) == len(accepted)
    assert assert_gapless_and_verified(db) == 1 + WRITERS * PER_THREAD


# -- (c) two letters of intent at once ------------------------------------------------------


@pytest.fixture(scope="module")
def intent_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two interviewed programs, each of which alone may get the letter of intent now."""
    db = tmp_path_factory.mktemp("intent") / "template.db"
    new_season(db, ["alpha-im", "beta-im"], interviewed=True)
    for pid in ("alpha-im", "beta-im"):
        proc = prematch(db, "check", "intent", pid)
        assert proc.returncode == 0, f"intent to {pid} alone should be allowed: {proc.stdout}"
    return db


def test_two_concurrent_letters_of_intent_one_wins(tmp_path: Path, intent_template: Path) -> None:
    winners = []
    for race in range(INTENT_RACES):
        db = tmp_path / f"race{race}.db"
        shutil.copy(intent_template, db)
        env = env_for(db, PREMATCH_BUSY_TIMEOUT="60")
        programs = ("alpha-im", "beta-im")
        results = start_together(
            [[str(PREMATCH), "log", "intent-sent", pid] for pid in programs], env
        )
        for _, out, err in results:
            assert "Traceback" not in out + err, err
        codes = sorted(code for code, _, _ in results)
        assert codes == [0, 3], f"race {race}: exit codes {codes}: {results}"
        winner = next(p for p, (code, _, _) in zip(programs, results, strict=True) if code == 0)
        loser_err = next(err for code, _, err in results if code == 3)
        assert "intent.single" in loser_err, loser_err
        intents = [row[2] for row in stored_rows(db) if row[1] == "intent_sent"]
        assert intents == [winner], f"race {race}: stored intents {intents}"
        assert_gapless_and_verified(db, cli=False)
        winners.append(winner)
    print(f"intent races: {INTENT_RACES}, winners: {winners}")


# -- (d) a locked database --------------------------------------------------------------


LOCKED_WRITES = {
    "news": ["news", "other", "while locked"],
    "program-add": ["program", "add", "locked-im", "--name", "Locked IM"],
    "import": ["import", "{file}"],
}


@pytest.mark.parametrize("command", list(LOCKED_WRITES))
def test_locked_database_waits_then_fails_with_one_clear_line(tmp_path: Path, command: str) -> None:
    db = tmp_path / "s.db"
    new_season(db)
    lines_file = tmp_path / "news.jsonl"
    news = {"type": "news_recorded", "season": SEASON, "at": "2026-10-01", "kind": "other"}
    lines_file.write_text(json.dumps({**news, "detail": "while locked"}) + "\n", encoding="utf-8")
    args = [a.replace("{file}", str(lines_file)) for a in LOCKED_WRITES[command]]
    before = stored_rows(db)
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        proc = prematch(db, *args, PREMATCH_BUSY_TIMEOUT="0.5")
        elapsed = time.monotonic() - started
        assert proc.returncode == 2, proc.stdout + proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("error:") and "locked" in lines[0], lines[0]
        assert 0.45 <= elapsed < 6, f"waited {elapsed:.2f} s for a 0.5 s busy timeout"
        # Readers are not blocked by a writer (WAL).
        assert prematch(db, "history").returncode == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert stored_rows(db) == before
    proc = prematch(db, *args, PREMATCH_BUSY_TIMEOUT="0.5")
    assert proc.returncode == 0, proc.stderr
    assert len(stored_rows(db)) == len(before) + 1
    assert_gapless_and_verified(db)
