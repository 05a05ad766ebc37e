"""The engine embedded in another tool (issue 17): one store shared by threads, the store
modes (read-only, memory, an embedder's own connection), preview, and errors a service can
map to its responses."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import shutil
import sqlite3
import stat
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from history import History
from prematch_script import Script
from races import Go, race

import prematch.engine._overview
import prematch.engine._queries
from prematch import policies
from prematch.engine import (
    InputError,
    Judge,
    NoRules,
    Season,
    SeasonOverview,
    SeasonState,
    Store,
    StoreError,
    StoreReadonlyError,
    StructuralError,
    audit_store,
    fixed_clock,
    season_overviews,
)

NOW_UTC = dt.datetime(2027, 1, 15, 14, tzinfo=dt.UTC)
WRITERS = 8
PER_THREAD = 20
NEWS_AT = "2026-10-01T10:00:00-04:00"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _filled(db: Path) -> None:
    with Store.open(db) as store:
        History(season_id="embed-2027").added_and_applied("mercy").season(
            store, rulebook=NoRules(), now=NOW_UTC
        )


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_an_embedders_clock_without_an_offset_is_an_input_error_at_once() -> None:
    """A clock giving naive datetimes failed deep inside, comparing naive with aware."""
    store = Store.memory()
    History(season_id="embed-2027").season(store, rulebook=NoRules(), now=NOW_UTC)
    season = Season.open(store, rulebook=NoRules(), clock=lambda: dt.datetime(2027, 1, 15, 9))
    with pytest.raises(InputError, match="it must give an aware datetime"):
        season.record("program_added", "mercy", name="Mercy")
    with pytest.raises(InputError, match="it must give an aware datetime"):
        season.what_now()
    assert [r.type for r in season.records()] == ["season_started"]


# -- one store, many threads --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_one_store_shared_by_eight_threads_loses_nothing(tmp_path: Path, kind: str) -> None:
    store = Store.open(tmp_path / "s.db", busy_timeout=60) if kind == "file" else Store.memory()
    History(season_id="embed-2027").season(store, rulebook=NoRules(), now=NOW_UTC)
    season = Season.open(store, rulebook=NoRules(), clock=fixed_clock(NOW_UTC))
    got: dict[str, int] = {}

    def writer(index: int, go: Go) -> None:
        go()
        for j in range(PER_THREAD):
            detail = f"t{index}-{j}"
            done = season.record("news_recorded", at=NEWS_AT, kind="other", detail=detail)
            got[detail] = done.record.seq
            season.state()  # reads interleave with the other threads' writes

    race(WRITERS, writer)
    assert len(got) == WRITERS * PER_THREAD
    assert len(set(got.values())) == len(got), "two threads were told the same seq"
    stored = {r.payload["detail"]: r.seq for r in season.records() if r.type == "news_recorded"}
    assert stored == got
    assert store.verify() == (1 + WRITERS * PER_THREAD, None)
    assert len(season.state().news) == WRITERS * PER_THREAD
    store.close()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc")
def test_a_thread_per_request_leaves_no_connection_open_when_it_ends(tmp_path: Path) -> None:
    """A web server starts a thread per request: each thread's connection is closed once
    the thread has ended, so the open files stay as few as the live threads (a service
    ran out of file handles after about a thousand requests: "unable to open database
    file")."""
    db = tmp_path / "s.db"
    _filled(db)

    def open_files() -> int:
        fds = Path("/proc/self/fd")
        return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(db.resolve()))

    with Store.open(db) as store:
        for _ in range(300):  # one request, one thread, one after the other
            request = threading.Thread(target=store.seasons)
            request.start()
            request.join()
        assert open_files() <= 3  # the opener's, and the last request's (not yet reaped)
        assert store.seasons() == ["embed-2027"]


def test_threads_recording_now_keep_replay_order_equal_to_seq_order(tmp_path: Path) -> None:
    """Eight threads record events that happen now (no ``at``) into one season: each is
    judged after every other (it happens after all of them), so replay order is seq order."""
    ticks = itertools.count()
    lock = threading.Lock()

    def clock() -> dt.datetime:  # strictly increasing, as a real clock over these writes
        with lock:
            return NOW_UTC + dt.timedelta(microseconds=next(ticks))

    store = Store.open(tmp_path / "s.db", busy_timeout=60)
    History(season_id="embed-2027").season(store, rulebook=NoRules(), now=NOW_UTC)
    season = Season.open(store, rulebook=NoRules(), clock=clock)

    def writer(index: int, go: Go) -> None:
        go()
        for j in range(PER_THREAD):
            season.record("news_recorded", kind="other", detail=f"t{index}-{j}")

    race(WRITERS, writer)
    news = [r for r in season.records() if r.type == "news_recorded"]
    assert len(news) == WRITERS * PER_THREAD
    assert [r.occurred_at for r in news] == sorted(r.occurred_at for r in news)
    store.close()


def test_writes_that_wait_share_one_commit_and_a_failed_one_takes_none_with_it(
    tmp_path: Path,
) -> None:
    """Group commit: while one thread's write holds the store, the writes of three more
    threads wait; they then take turns in the same transaction, committed once for all.
    One of them fails after appending: only its own record is rolled back. Each write
    returns only once its records are committed."""
    db = tmp_path / "s.db"
    store = Store.open(db, busy_timeout=60)
    History(season_id="embed-2027").added_and_applied("mercy").season(
        store, rulebook=NoRules(), now=NOW_UTC
    )
    season = Season.open(store, rulebook=NoRules(), clock=fixed_clock(NOW_UTC))
    template = season.record("news_recorded", at=NEWS_AT, kind="other", detail="t").record
    # appended again as-is below (the store sets seq and hash)
    heads_before = _heads(db)
    holding, release = threading.Event(), threading.Event()
    seen_by_others: dict[str, int] = {}
    errors: dict[str, BaseException] = {}

    def first() -> None:
        with store.write(NOW_UTC.isoformat()) as tx:
            tx.append([template])
            holding.set()
            assert release.wait(timeout=60)
        seen_by_others["first"] = _count(db)  # committed once the write returned

    def failing() -> None:
        with store.write(NOW_UTC.isoformat()) as tx:
            tx.append([template])
            raise RuntimeError("refused by its caller")

    def recording(name: str) -> None:
        season.record("news_recorded", at=NEWS_AT, kind="other", detail=name)
        seen_by_others[name] = _count(db)

    def run(name: str, work: object) -> None:
        try:
            work()  # type: ignore[operator]
        except BaseException as e:  # reported below
            errors[name] = e

    waiting = {
        "second": lambda: recording("second"),
        "failing": failing,
        "fourth": lambda: recording("fourth"),
    }
    threads = [threading.Thread(target=run, args=("first", first))]
    threads[0].start()
    assert holding.wait(timeout=60)
    threads += [threading.Thread(target=run, args=item) for item in waiting.items()]
    for t in threads[1:]:
        t.start()
    _until(lambda: store._recorder._queued == len(waiting))  # type: ignore[attr-defined]
    release.set()
    for t in threads:
        t.join(timeout=120)
    assert set(errors) == {"failing"}, errors
    assert str(errors["failing"]) == "refused by its caller"
    details = [r.payload.get("detail") for r in season.records() if r.seq > template.seq]
    assert sorted(map(str, details)) == ["fourth", "second", "t"]  # first's copy, two news
    assert store.verify() == (template.seq + 3, None)
    assert _heads(db) == heads_before + 1  # one commit for the four writes
    assert seen_by_others == {k: template.seq + 3 for k in ("first", "second", "fourth")}
    store.close()


def test_a_write_met_by_another_seasons_write_takes_the_next_seq_without_judging_again(
    tmp_path: Path,
) -> None:
    """Between its judgement and its turn, a write into one season meets a write into
    another: the findings stand (rules never read the seq of the event they judge), so the
    record takes the next seq without being judged again, and the season's cached state
    is the state a replay gives."""
    db = tmp_path / "s.db"
    store = Store.open(db, busy_timeout=60)
    asked: list[str] = []

    class Counting(policies.Rulebook):
        def for_season(self, state: SeasonState) -> Judge:
            asked.append(state.id)
            return super().for_season(state)

    rulebook = Counting()
    mine = History(season_id="mine-2027").invited("mercy").season(store, rulebook=rulebook)
    other = History(season_id="other-2027").season(store, rulebook=rulebook)
    news = other.record("news_recorded", at=NEWS_AT, kind="other", detail="x").record
    holding, release = threading.Event(), threading.Event()
    done: list[int] = []

    def other_writes_first() -> None:
        with store.write(NOW_UTC.isoformat()) as tx:
            holding.set()
            assert release.wait(timeout=60)
            tx.append([news])  # again: after mine was judged, before its turn

    def record_mine() -> None:
        done.append(mine.record("interviewed", "mercy", at=NEWS_AT).record.seq)

    first = threading.Thread(target=other_writes_first)
    first.start()
    assert holding.wait(timeout=60)
    head = store.head()[0]
    asked.clear()
    second = threading.Thread(target=record_mine)
    second.start()
    _until(lambda: store._recorder._queued == 1)  # type: ignore[attr-defined]
    release.set()
    for t in (first, second):
        t.join(timeout=60)
    assert done == [head + 2]  # the other season's record took head + 1
    assert asked == ["mine-2027"]  # judged once, before its turn
    assert mine.state().programs["mercy"].state == "interviewed"
    assert store.verify() == (head + 2, None)
    with Store.open(db) as fresh:
        replayed = Season.open(fresh, "mine-2027", rulebook=NoRules()).state()
    assert replayed.to_json() == mine.state().to_json()
    store.close()


def test_a_store_opened_by_a_relative_path_stays_that_file_after_a_change_of_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = Store.open("big.db")
    for season_id in ("amira-2027", "bilal-2027"):
        History(season_id=season_id).added_and_applied("mercy").season(
            store, rulebook=NoRules(), now=NOW_UTC
        )
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert store.reopen_target() == str(tmp_path / "big.db")
    # Workers (one per season here) open it again from their own working folder.
    monkeypatch.setattr(prematch.engine._queries, "SEASONS_PER_TASK", 1)
    audits = list(audit_store(store, policies.Rulebook(), jobs=2, at=NOW_UTC))
    assert [a.season for a in audits] == ["amira-2027", "bilal-2027"]
    monkeypatch.setattr(prematch.engine._overview, "SEASONS_PER_TASK", 1)
    pids = set(season_overviews(store, policies.Rulebook(), _process, at=NOW_UTC, jobs=2))
    assert os.getpid() not in pids
    # A thread's first connection, and its write, are the same file's too.
    season = Season.open(store, "amira-2027", rulebook=NoRules(), clock=fixed_clock(NOW_UTC))
    with ThreadPoolExecutor(1) as thread:
        note = {"at": NEWS_AT, "kind": "other", "detail": "moved folders"}
        thread.submit(season.record, "news_recorded", **note).result()
    assert store.verify() == (7, None)
    store.close()
    assert list((tmp_path / "elsewhere").iterdir()) == []


def _process(overview: SeasonOverview) -> int:
    """The process that read the season (a worker sends it back)."""
    return os.getpid()


def _heads(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM heads").fetchone()[0])


def _count(db: Path) -> int:
    """How many events another connection sees (committed ones only)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def _until(condition: Callable[[], bool], timeout: float = 60) -> None:
    """Wait for ``condition`` (polled: the threads it watches report nothing else)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


# -- read-only ------------------------------------------------------------------------------


def test_readonly_store_reads_and_refuses_writes_leaving_the_files_alone(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _filled(db)
    before = _files(tmp_path)
    with Store.open(db, readonly=True) as store:
        season = Season.open(store, rulebook=NoRules(), clock=fixed_clock(NOW_UTC))
        assert "mercy" in season.state().programs
        with pytest.raises(StoreReadonlyError) as caught:
            season.record("news_recorded", at=NEWS_AT, kind="other", detail="x")
        assert caught.value.code == "store.readonly"
        assert store.verify()[1] is None
    assert _files(tmp_path) == before


def _lock(folder: Path, on: bool) -> None:
    """Make ``folder`` and its files unwritable (root: ``chattr +i``; skip where unsupported)."""
    if not IS_ROOT:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR if on else stat.S_IRWXU)
        return
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("root, and no chattr to make the folder immutable")
    targets = [str(folder), *(str(p) for p in folder.iterdir())]
    done = subprocess.run([chattr, "+i" if on else "-i", *targets], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"chattr is not permitted here: {done.stderr!r}")


@pytest.mark.parametrize("mode", ["wal", "delete"])
def test_readonly_store_in_a_read_only_folder(tmp_path: Path, mode: str) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "s.db"
    _filled(db)
    if mode == "delete":
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA journal_mode = DELETE")
    before = _files(folder)
    _lock(folder, True)
    try:
        with Store.open(db, readonly=True) as store:
            assert store.seasons() == ["embed-2027"]
            assert store.verify()[1] is None
        assert _files(folder) == before
    finally:
        _lock(folder, False)


def test_readonly_never_creates_or_migrates(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        Store.open(tmp_path / "missing.db", readonly=True)
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    before = empty.read_bytes()
    with pytest.raises(StoreError):
        Store.open(empty, readonly=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]
    assert empty.read_bytes() == before


# -- memory, an embedder's connection ---------------------------------------------------------


def test_opening_memory_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = Store.open(":memory:")
    History(season_id="embed-2027").season(store, rulebook=NoRules(), now=NOW_UTC)
    assert store.seasons() == ["embed-2027"]
    store.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["file", "memory"])
def test_store_on_an_embedders_own_connection(tmp_path: Path, where: str) -> None:
    conn = sqlite3.connect(tmp_path / "app.db" if where == "file" else ":memory:")
    conn.execute("CREATE TABLE app_users (name TEXT)")  # the embedder's own table
    conn.commit()
    store = Store.from_connection(conn)
    History(season_id="embed-2027").added_and_applied("mercy").season(
        store, rulebook=NoRules(), now=NOW_UTC
    )
    assert store.verify() == (3, None)
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone() == (3,)
    assert conn.execute("SELECT COUNT(*) FROM app_users").fetchone() == (0,)
    store.close()


def test_an_embedders_connection_is_shared_by_threads_when_made_for_it(tmp_path: Path) -> None:
    tied = Store.from_connection(sqlite3.connect(tmp_path / "tied.db"))
    shared = Store.from_connection(sqlite3.connect(tmp_path / "shared.db", check_same_thread=False))
    start = History(season_id="embed-2027").season
    with ThreadPoolExecutor(1) as thread:
        with pytest.raises(StoreError, match=r"connect\(\.\.\., check_same_thread=False\)"):
            thread.submit(start, tied, rulebook=NoRules(), now=NOW_UTC).result()
        thread.submit(start, shared, rulebook=NoRules(), now=NOW_UTC).result()
    assert (tied.seasons(), shared.seasons()) == ([], ["embed-2027"])
    tied.close()
    shared.close()


# -- the cached season snapshot -----------------------------------------------------------


def test_snapshot_catches_up_on_another_stores_writes_backfills_and_retractions(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    _filled(db)
    clock = fixed_clock(NOW_UTC)
    with Store.open(db) as mine, Store.open(db) as theirs:
        here = Season.open(mine, rulebook=NoRules(), clock=clock)
        there = Season.open(theirs, rulebook=NoRules(), clock=clock)
        here.record("news_recorded", at="2026-12-01T10:00:00-05:00", kind="other", detail="a")
        there.record("news_recorded", at="2026-12-02T10:00:00-05:00", kind="other", detail="b")
        backfilled = there.record(
            "news_recorded", at="2026-10-05T10:00:00-04:00", kind="other", detail="early"
        )
        there.retract(backfilled.record.seq, "typed the wrong date")
        here.record("news_recorded", at="2026-12-03T10:00:00-05:00", kind="other", detail="c")
        cached = mine.snapshot("embed-2027")
        assert cached.records == tuple(theirs.season_records("embed-2027"))
        assert [n.detail for n in cached.state.news] == ["a", "b", "c"]  # type: ignore[union-attr]
        with Store.open(db, readonly=True) as fresh:
            assert cached.state == fresh.snapshot("embed-2027").state


# -- preview -------------------------------------------------------------------------------


def test_preview_answers_what_if_without_writing_even_on_a_read_only_store(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Store.open(db) as store:
        History(season_id="embed-2027").added_and_applied("mercy").season(store, now=NOW_UTC)
    before = _files(tmp_path)
    with Store.open(db, readonly=True) as store:
        season = Season.open(store, rulebook=policies.Rulebook(), clock=fixed_clock(NOW_UTC))
        head = store.head()
        # In the future: invited, interviewed, then a thank-you the same evening.
        findings, state, now = season.preview(
            [
                {"type": "invited", "program": "mercy", "at": "2027-01-20T09:00"},
                {"type": "interviewed", "program": "mercy", "at": "2027-02-01T09:00"},
                {"type": "thanked", "program": "mercy", "at": "2027-02-01T18:00"},
            ]
        )
        assert len(findings) == 3
        assert not any(f.severity == "block" for fs in findings for f in fs)
        assert state.programs["mercy"].state == "interviewed"
        assert len(state.programs["mercy"].messages) == 1
        assert now.as_of == dt.datetime(2027, 2, 1, 23, tzinfo=dt.UTC)
        # A second thank-you is blocked: kept as if sent, its findings say so.
        first, again = season.preview(
            [
                {"type": "invited", "program": "mercy", "at": "2027-01-20T09:00"},
                {"type": "interviewed", "program": "mercy", "at": "2027-02-01T09:00"},
                {"type": "thanked", "program": "mercy", "at": "2027-02-01T18:00"},
                {"type": "thanked", "program": "mercy", "at": "2027-02-02T18:00"},
            ]
        ).findings[2:]
        assert not any(f.severity == "block" for f in first)
        assert any(f.severity == "block" for f in again)
        with pytest.raises(StructuralError):
            season.preview([{"type": "interviewed", "program": "mercy", "at": "2027-02-01"}])
        with pytest.raises(InputError) as caught:
            season.preview([{"type": "invited", "program": "mercy"}, {"type": "nonsense"}])
        assert caught.value.line == 2
        assert store.head() == head
        assert len(season.records()) == 3
    assert _files(tmp_path) == before


def test_read_commands_work_in_a_read_only_folder_and_leave_it_alone(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "s.db"
    _filled(db)
    before = _files(folder)
    _lock(folder, True)
    try:
        script = Script(tmp_path, db=db)
        for command in (
            ("history",),
            ("now",),
            ("check", "thank_you", "mercy"),
            ("audit",),
            ("verify",),
            ("export",),
        ):
            ran = script(*command)
            assert ran.returncode in (0, 1, 3), f"{command}: {ran.stderr}"
        refused = script("news", "other", "while read-only")
        assert refused.returncode == 2 and "read-only" in refused.stderr
        assert _files(folder) == before
    finally:
        _lock(folder, False)


def test_a_write_inside_a_write_of_the_same_thread_fails_at_once(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db", busy_timeout=600)
    with (
        store.write("2027-01-01T00:00:00.000000+00:00"),
        pytest.raises(StoreError, match="within a transaction"),
        store.write("2027-01-01T00:00:00.000000+00:00"),
    ):
        pass
    store.close()
