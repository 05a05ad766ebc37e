"""What the PostgreSQL recorder does beyond the conformance suite (``test_recorder.py``,
which runs every recorder test on it too): the server's own guarantees (triggers, the
unique stream version), the schema prematch creates and only then, read-only opening,
errors by SQLSTATE, many writers in real processes and threads, and ``copy`` / export
and import between SQLite and PostgreSQL reproducing every event and hash.

Each test gets a fresh schema of the test server (``pg_url``, see ``conftest.py``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from unittest import mock

import psycopg
import pytest
import synth
from history import History
from prematch_script import Script
from races import Go, race
from test_concurrency import NOW_UTC, start_together
from test_summary import worker
from test_tamper import spans_checked

import prematch.engine._overview
import prematch.engine._queries
from prematch.engine import (
    NoRules,
    Season,
    Store,
    StoreBusyError,
    StoreError,
    StoreReadonlyError,
    audit_store,
    fixed_clock,
    import_lines,
    season_overviews,
)
from prematch.engine import _store as engine_store
from prematch.engine._postgres import label
from prematch.policies import Rulebook

NOW = "2027-01-01T00:00:00.000000+00:00"
PROGRAMS = ("alpha-im", "beta-im")


def interviewed_season(store: Store, season_id: str = "race-2027") -> Season:
    """A 2027 season with two interviewed programs (each alone may get the intent letter)."""
    season = History(season_id=season_id, name="Race Applicant").season(
        store, rulebook=NoRules(), now=NOW_UTC
    )
    for pid in PROGRAMS:
        season.add_program(pid, f"{pid} Internal Medicine", at="2026-09-21T10:00:00-04:00")
        season.record("invited", pid, at="2026-10-01T10:00:00-04:00")
        season.record("interviewed", pid, at="2026-12-01T10:00:00-05:00")
    return season


def sql(url: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


# -- the schema and the server's guarantees ----------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET payload = '{}' WHERE seq = 2",
        "DELETE FROM events WHERE seq = 7",
        "TRUNCATE events",
        "DELETE FROM heads",
        "TRUNCATE heads",
    ],
)
def test_the_server_refuses_to_change_or_remove_events(pg_url, statement):
    with Store.open(pg_url) as store:
        interviewed_season(store)
        before = list(store.records())
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        sql(pg_url, statement)
    with Store.open(pg_url) as store:
        assert list(store.records()) == before
        assert store.verify() == (len(before), None)


@pytest.mark.parametrize(
    "trigger", ["events_append_only", "events_no_truncate", "heads_append_only"]
)
def test_verify_reports_a_guard_turned_off(pg_url, trigger):
    """Someone with the owner's rights turned a trigger off: the chain still holds, but the
    log is no longer append-only, and verify says so."""
    with Store.open(pg_url) as store:
        interviewed_season(store)
    table = trigger.split("_", 1)[0]
    sql(pg_url, f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    with Store.open(pg_url, readonly=True) as store:
        _, problem = store.verify()
    assert problem is not None and problem.kind == "unguarded"
    assert trigger in problem.detail


def test_the_server_refuses_a_second_event_at_a_stream_version(pg_url):
    with Store.open(pg_url) as store:
        interviewed_season(store)
    with pytest.raises(psycopg.errors.UniqueViolation, match="stream"):
        sql(
            pg_url,
            "INSERT INTO events SELECT seq + 100, season, program, type, schema_version, "
            "occurred_at, recorded_at, payload, override, hash, stream, version "
            "FROM events WHERE seq = 2",
        )


def test_reads_never_create_the_schema(pg_url):
    for readonly in (True, False):
        with pytest.raises(StoreError, match="no prematch store") as excinfo:
            Store.open(pg_url, create=False, readonly=readonly)
        assert excinfo.value.code == "store.missing"
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('events')").fetchone() == (None,)


def test_a_store_opened_read_only_refuses_writes(pg_url):
    with Store.open(pg_url) as store:
        interviewed_season(store)
    with Store.open(pg_url, readonly=True) as store:
        assert store.seasons() == ["race-2027"]
        with pytest.raises(StoreReadonlyError), store.write(NOW):
            pass


def test_a_foreign_events_table_is_not_taken_for_a_store(pg_url):
    sql(pg_url, "CREATE TABLE events (id integer)")
    with pytest.raises(StoreError, match="not a prematch store") as excinfo:
        Store.open(pg_url)
    assert excinfo.value.code == "store.integrity"


def test_messages_name_the_database_without_its_password():
    assert label("postgresql://ann:s3cret@db.example.edu:5433/pm?sslmode=require") == (
        "postgresql://ann@db.example.edu:5433/pm?sslmode=require"
    )
    assert label("postgresql://db.example.edu/pm") == "postgresql://db.example.edu/pm"


def test_a_database_that_does_not_exist_is_one_clear_line(pg_server, tmp_path):
    url = pg_server.rsplit("/", 1)[0] + "/no_such_db"
    ran = Script(tmp_path)("now", env={"PREMATCH_DB": url}, code=2)
    assert ran.stderr.strip() == (
        f'error: {url}: cannot connect to the database: database "no_such_db" does not exist; '
        "check the URL (host, port, user, password, database name)"
    )


def test_an_unknown_url_scheme_is_refused(tmp_path):
    ran = Script(tmp_path)("now", env={"PREMATCH_DB": "mysql://db/pm"}, code=2)
    assert "a file path or a postgresql:// URL" in ran.stderr


def test_a_writer_waits_for_the_seasons_lock_then_fails_busy(pg_url):
    with Store.open(pg_url) as store:
        interviewed_season(store)
    with Store.open(pg_url) as holder, holder.write(NOW) as tx:
        tx.season_records("race-2027")  # holds the season's lock until this block ends
        with Store.open(pg_url, busy_timeout=0.2) as other:
            season = Season.open(other, rulebook=NoRules(), clock=fixed_clock(NOW_UTC))
            with pytest.raises(StoreBusyError, match="try again"):
                season.record("thanked", "alpha-im", at="2026-12-02T10:00:00-05:00")
            other_season = History(season_id="other-2027").season(
                other, rulebook=NoRules(), now=NOW_UTC
            )  # another season does not wait for it
            assert other_season.id in other.seasons()


def test_verify_in_spans_gives_a_single_pass_verdict(pg_url):
    """``verify --jobs`` on a database: worker processes open it again (with its password)
    and check spans; intact or edited, the verdict is one process's."""
    with Store.open(pg_url) as store:
        interviewed_season(store)
        interviewed_season(store, "other-2027")
    edits = [None, "UPDATE events SET payload = '{\"x\": 1}' WHERE seq = 11"]
    for edit in edits:
        if edit is not None:
            sql(pg_url, "ALTER TABLE events DISABLE TRIGGER events_append_only")
            sql(pg_url, edit)
        with Store.open(pg_url, readonly=True) as store:
            single = store.verify()
            with spans_checked() as held, mock.patch.object(engine_store, "EVENTS_PER_SPAN", 1):
                assert store.verify(jobs=3) == single
        assert (single.problem is None) == (edit is None), single
        assert len(held) == 3 and all(held) == (edit is None), held  # the workers checked
    assert single.problem is not None and (single.problem.seq, single.problem.kind) == (
        11,
        "edited",
    )


def test_audits_and_overviews_run_in_worker_processes_on_a_database(pg_url, monkeypatch):
    """``audit --all --jobs`` and the advisor's views on a database: the workers open it
    again (with its password) and give what one process gives."""
    for module in (prematch.engine._queries, prematch.engine._overview):
        monkeypatch.setattr(module, "SEASONS_PER_TASK", 1)
    with Store.open(pg_url) as store:
        import_lines(store, synth.lines(4), rulebook=Rulebook(), clock=fixed_clock(synth.CLOCK))
        one = list(audit_store(store, Rulebook(), at=synth.CLOCK, rebuild=True))
        two = list(audit_store(store, Rulebook(), jobs=2, at=synth.CLOCK, rebuild=True))
        workers = set(season_overviews(store, Rulebook(), worker, at=synth.CLOCK, jobs=2))
    assert one == two and len(one) == 4 and any(report.findings for report in one)
    assert workers and os.getpid() not in workers


def test_verify_inside_a_write_is_refused_and_the_write_goes_on(pg_url):
    with Store.open(pg_url) as store:
        season = interviewed_season(store)
        start = next(store.records())
        with store.write(NOW) as tx:
            tx.append([start._replace(season="other-2027")])
            with pytest.raises(StoreError, match="within a write transaction"):
                store.verify()
        assert store.seasons() == [season.id, "other-2027"]
        assert store.verify() == (8, None)


# -- many writers ------------------------------------------------------------------------


def test_two_processes_two_letters_of_intent_one_accepted(pg_url, tmp_path):
    with Store.open(pg_url) as store:
        interviewed_season(store)
    results = start_together(
        tmp_path / "unused.db",
        [["log", "intent-sent", pid] for pid in PROGRAMS],
        PREMATCH_DB=pg_url,
        PREMATCH_BUSY_TIMEOUT="60",
    )
    assert sorted(code for code, _, _ in results) == [0, 3], results
    assert "intent.single" in next(err for code, _, err in results if code == 3)
    with Store.open(pg_url, readonly=True) as store:
        assert [r.type for r in store.records()].count("intent_sent") == 1
        assert store.verify() == (1 + 3 * len(PROGRAMS) + 1, None)


def test_threads_on_many_seasons_and_one_lose_nothing(pg_url):
    seasons = [f"s{n}-2027" for n in range(4)]
    with Store.open(pg_url) as store:
        for season_id in seasons:
            interviewed_season(store, season_id)
        before = store.head()[0]
    per_thread = 10

    def writer(n: int, go: Go) -> None:
        with Store.open(pg_url, busy_timeout=60) as store:
            season = Season.open(
                store, seasons[n % 4], rulebook=NoRules(), clock=fixed_clock(NOW_UTC)
            )
            go()
            for i in range(per_thread):
                season.record("note_added", PROGRAMS[0], text=f"writer {n} note {i}")

    race(8, writer, timeout=120)
    with Store.open(pg_url, readonly=True) as store:
        records = list(store.records())
        assert [r.seq for r in records] == list(range(1, before + 8 * per_thread + 1))
        notes = sorted(r.payload["text"] for r in records if r.type == "note_added")
        assert notes == sorted(f"writer {n} note {i}" for n in range(8) for i in range(per_thread))
        assert store.verify() == (len(records), None)


def test_an_import_of_many_seasons_holds_one_lock_and_a_writer_waits_for_it(pg_url):
    """A national cohort in one import: a lock per season would overflow the server's
    lock table (SQLSTATE 53200 at tens of thousands), so the import holds one lock over
    the whole log, and a writer of any season waits for it."""
    with Store.open(pg_url) as store:
        interviewed_season(store)
    seen: dict[str, int] = {}

    def cohort() -> Iterator[str]:
        for index in range(300):
            yield from synth.season_lines(index)[:3]
        # Every line read, the import's transaction still open:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            (seen["locks"],) = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            ).fetchone()
        with Store.open(pg_url, busy_timeout=0.2) as other:
            season = Season.open(other, "race-2027", rulebook=NoRules(), clock=fixed_clock(NOW_UTC))
            with pytest.raises(StoreBusyError, match="try again"):
                season.record("thanked", "alpha-im", at="2026-12-02T10:00:00-05:00")

    with Store.open(pg_url) as store:
        result = import_lines(store, cohort(), rulebook=NoRules(), clock=fixed_clock(synth.CLOCK))
        assert result.events == 900 and seen == {"locks": 1}
        assert len(store.seasons()) == 301 and store.verify() == (907, None)
        season = Season.open(store, "race-2027", rulebook=NoRules(), clock=fixed_clock(NOW_UTC))
        season.record("thanked", "alpha-im", at="2026-12-02T10:00:00-05:00")  # then it writes


# -- between backends --------------------------------------------------------------------


def test_copy_sqlite_to_postgres_and_back_reproduces_every_event_and_hash(pg_url, tmp_path):
    db = tmp_path / "laptop.db"
    with Store.open(db) as store:
        interviewed_season(store, "amira-2027")
        interviewed_season(store, "bilal-2027").record(
            "thanked", "alpha-im", at="2026-12-02", override="sent by the old system"
        )
    script = Script(tmp_path)
    there = script.ok("copy", "--from", str(db), "--to", pg_url, "--json")
    copied = json.loads(there.stdout)
    with Store.open(db) as store:
        seq, digest = store.head()
        exported = script.ok("export", env={"PREMATCH_DB": str(db)}).stdout
    assert copied["events"] == seq and copied["head"] == f"{seq}:{digest}"
    assert script.ok("export", env={"PREMATCH_DB": pg_url}).stdout == exported
    assert script.ok("verify", env={"PREMATCH_DB": pg_url}).stdout.count(f"{seq}:{digest}") == 1

    back = tmp_path / "back.db"
    text = script.ok("copy", "--from", pg_url, "--to", str(back)).stdout
    assert f"Copied {seq} events of 2 seasons" in text and "every hash reproduced" in text
    assert script.ok("export", env={"PREMATCH_DB": str(back)}).stdout == exported

    (tmp_path / "log.jsonl").write_text(exported, encoding="utf-8")
    other = tmp_path / "imported.db"
    script.ok("import", "log.jsonl", env={"PREMATCH_DB": str(other)})
    assert script.ok("export", env={"PREMATCH_DB": str(other)}).stdout == exported


def test_copy_refuses_a_store_that_holds_events(pg_url, tmp_path):
    with Store.open(pg_url) as store:
        interviewed_season(store)
    script = Script(tmp_path)
    with Store.open(tmp_path / "a.db") as store:
        interviewed_season(store)
    ran = script("copy", "--from", str(tmp_path / "a.db"), "--to", pg_url, code=2)
    assert "already holds 7 events" in ran.stderr
    ran = script("copy", "--from", pg_url, "--to", pg_url, code=2)
    assert "the same store" in ran.stderr


def test_migrate_creates_the_tables_once(pg_url, tmp_path):
    script = Script(tmp_path)
    assert script.ok("migrate", env={"PREMATCH_DB": pg_url}).stdout.endswith("with 0 events.\n")
    with Store.open(pg_url) as store:
        interviewed_season(store)
    ran = script.ok("migrate", "--json", env={"PREMATCH_DB": pg_url})
    assert json.loads(ran.stdout)["events"] == 7
