"""Many writers at once lose nothing (issue 5, DESIGN §7).

Real processes and real threads, started together: every child first reports "ready"
on a pipe and then blocks reading a second pipe until the test closes its write end,
so all of them are released at the same instant (no sleeps-and-hope). Afterwards
every accepted event is present exactly once, ``seq`` is gapless, the hash chain
verifies, and the rulebook saw a consistent state (two concurrent letters of intent
are never both accepted). A locked database waits for the busy timeout and then
fails with one clear line. The racing writers are real processes, forked from this one
(each runs its ``prematch`` command with its own SQLite connection and file locks); the
commands around a race (checks, ``verify``, the locked-database writes) run in process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import select
import shutil
import sqlite3
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from history import History
from prematch_script import Ran, Script
from races import Go, race

from prematch.engine import NoRules, Season, Store, fixed_clock
from prematch.engine._writers import writers_file

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

SEQ_RE = re.compile(r"\(seq (\d+)\)")


def start_together(
    db: Path, commands: Sequence[Sequence[str]], timeout: float = 120, **env: str
) -> list[tuple[int, str, str]]:
    """Run every ``prematch`` command against ``db`` in its own process, all released at
    once; (exit code, out, err) of each.

    Each child is a fork of this process (prematch is imported already, so it starts in
    milliseconds): it says ready on one pipe, blocks reading a second until the test
    closes its write end, runs its command through :class:`Script` (its own SQLite
    connection, its own file locks) and sends back what the command did.
    """
    script = Script(db.parent, db=db)
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    children: list[tuple[int, int]] = []
    for command in commands:
        report_r, report_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            status = 1
            try:
                for fd in (ready_r, go_w, report_r, *(r for _, r in children)):
                    os.close(fd)
                os.write(ready_w, b"r")
                os.close(ready_w)
                os.read(go_r, 1)
                os.close(go_r)
                try:
                    ran = script(*command, env=env)
                    report = [ran.returncode, ran.stdout, ran.stderr]
                except BaseException:
                    report = [1, "", traceback.format_exc()]
                with os.fdopen(report_w, "w", encoding="utf-8") as out:
                    json.dump(report, out)
                status = 0
            finally:
                os._exit(status)
        os.close(report_w)
        children.append((pid, report_r))
    os.close(ready_w)
    os.close(go_r)
    deadline = time.monotonic() + timeout
    waiting = 0
    while waiting < len(commands):
        assert select.select([ready_r], [], [], deadline - time.monotonic())[0], "no start"
        chunk = os.read(ready_r, 64)
        if not chunk:
            break  # a child died before reaching the gate
        waiting += len(chunk)
    os.close(ready_r)
    os.close(go_w)  # open the gate: every child's read returns at once
    results = []
    for pid, report_r in children:
        with os.fdopen(report_r, encoding="utf-8") as report:
            assert select.select([report], [], [], deadline - time.monotonic())[0], "hung"
            text = report.read()
        _, status = os.waitpid(pid, 0)
        assert status == 0 and text, f"child {pid} failed: status {status}, report {text!r}"
        code, out, err = json.loads(text)
        results.append((code, out, err))
    assert waiting == len(commands), f"only {waiting} children reached the gate: {results}"
    return results


def prematch(db: Path, *args: str, **extra: str) -> Ran:
    """One command in this process (nothing races it): checks before and after a race."""
    return Script(db.parent, db=db)(*args, env=extra)


def new_season(db: Path, programs: Sequence[str] = (), interviewed: bool = False) -> None:
    """A 2027 season (no rulebook needed to build it) with ``programs`` added."""
    with Store.open(db) as store:
        season = History(season_id=SEASON, name="Race Applicant").season(
            store, rulebook=NoRules(), now=NOW_UTC
        )
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
    accepted: dict[str, int] = {}
    for round_ in range(ROUNDS):
        details = [f"n{round_}-{w}" for w in range(WRITERS)]
        commands = [["log", "news-recorded", "--kind", "other", "--detail", d] for d in details]
        raced = start_together(db, commands, PREMATCH_BUSY_TIMEOUT="60")
        for detail, (code, out, err) in zip(details, raced, strict=True):
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


def test_a_write_keeps_the_stores_locks_while_another_process_closes_it(tmp_path: Path) -> None:
    """A writer's turn is a lock on a file beside the store, never on the store's own file:
    closing a descriptor of that file dropped the process's POSIX locks on it, SQLite's
    shared lock included, so another process closing its connection took itself for the
    last one, checkpointed and deleted the WAL, and this process's next commit went into
    the deleted file: no other process saw it (here: 2 events of 3; in the bench, 16
    writer processes now and then lost the last writes of one)."""
    db = tmp_path / "s.db"
    new_season(db)
    with Store.open(db) as store:
        season = Season.open(store, SEASON, rulebook=NoRules(), clock=fixed_clock(NOW_UTC))
        season.record("news_recorded", kind="other", detail="first")
        # Another process reads the store and closes it, as a finished writer does.
        read = "SELECT count(*) FROM events"
        reader = (
            f"import sqlite3; sqlite3.connect({str(db)!r}).execute({read!r}).connection.close()"
        )
        subprocess.run([sys.executable, "-c", reader], check=True)
        season.record("news_recorded", kind="other", detail="second")
        # Committed, so another process sees it (it went into a deleted WAL: seen by none).
        count = (
            f"import sqlite3; print(sqlite3.connect({str(db)!r}).execute({read!r}).fetchone()[0])"
        )
        seen = subprocess.run([sys.executable, "-c", count], capture_output=True, text=True)
        assert seen.stdout.strip() == "3", seen.stdout + seen.stderr
    assert news_details(db) == ["first", "second"]
    assert writers_file(db) == tmp_path / "s.db-writers" and writers_file(db).exists()


# -- (b) threads through the library -------------------------------------------------------


def test_concurrent_library_threads_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    new_season(db)
    got: dict[int, list[tuple[str, int]]] = {}

    def writer(index: int, go: Go) -> None:
        # Each thread opens its own store (the shared store is test_embedding's).
        with Store.open(db, create=False, busy_timeout=60) as store:
            season = Season.open(store, rulebook=NoRules(), clock=fixed_clock(NOW_UTC))
            mine: list[tuple[str, int]] = []
            go()
            for j in range(PER_THREAD):
                detail = f"t{index}-{j}"
                done = season.record(
                    "news_recorded", at="2026-10-01T10:00:00-04:00", kind="other", detail=detail
                )
                mine.append((detail, done.record.seq))
            got[index] = mine

    race(WRITERS, writer)

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
    for round_ in range(INTENT_RACES):
        db = tmp_path / f"race{round_}.db"
        shutil.copy(intent_template, db)
        programs = ("alpha-im", "beta-im")
        results = start_together(
            db, [["log", "intent-sent", pid] for pid in programs], PREMATCH_BUSY_TIMEOUT="60"
        )
        for _, out, err in results:
            assert "Traceback" not in out + err, err
        codes = sorted(code for code, _, _ in results)
        assert codes == [0, 3], f"race {round_}: exit codes {codes}: {results}"
        winner = next(p for p, (code, _, _) in zip(programs, results, strict=True) if code == 0)
        loser_err = next(err for code, _, err in results if code == 3)
        assert "intent.single" in loser_err, loser_err
        intents = [row[2] for row in stored_rows(db) if row[1] == "intent_sent"]
        assert intents == [winner], f"race {round_}: stored intents {intents}"
        assert_gapless_and_verified(db, cli=False)
        winners.append(winner)
    print(f"intent races: {INTENT_RACES}, winners: {winners}")


# -- (d) a locked database --------------------------------------------------------------


LOCKED_WRITES = {
    "news": ["news", "other", "while locked"],
    "program-add": ["program", "add", "locked-im", "--name", "Locked IM"],
    "import": ["import", "{file}"],
}


@contextlib.contextmanager
def _sqlite_transaction(db: Path) -> Iterator[None]:
    """Another program in a write transaction (SQLite's lock)."""
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@contextlib.contextmanager
def _writer_turn(db: Path) -> Iterator[None]:
    """Another prematch writer holding its turn (the flock of prematch.engine._writers)."""
    fd = os.open(writers_file(db), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        os.close(fd)


@pytest.mark.parametrize("holder", [_sqlite_transaction, _writer_turn])
@pytest.mark.parametrize("command", list(LOCKED_WRITES))
def test_locked_database_waits_then_fails_with_one_clear_line(
    tmp_path: Path, command: str, holder: Callable[[Path], AbstractContextManager[None]]
) -> None:
    db = tmp_path / "s.db"
    new_season(db)
    lines_file = tmp_path / "news.jsonl"
    news = {"type": "news_recorded", "season": SEASON, "at": "2026-10-01", "kind": "other"}
    lines_file.write_text(json.dumps({**news, "detail": "while locked"}) + "\n", encoding="utf-8")
    args = [a.replace("{file}", str(lines_file)) for a in LOCKED_WRITES[command]]
    before = stored_rows(db)
    with holder(db):
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
    assert stored_rows(db) == before
    proc = prematch(db, *args, PREMATCH_BUSY_TIMEOUT="0.5")
    assert proc.returncode == 0, proc.stderr
    assert len(stored_rows(db)) == len(before) + 1
    assert_gapless_and_verified(db)
