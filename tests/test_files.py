"""The database file itself: wrong paths and wrong files get clear errors (issue 5, DESIGN §6).

``--db`` pointing at a directory, a read-only file, a file that is not SQLite, a SQLite
file that is not a prematch store, a store from a newer schema: exit 2 with one clear
line, no traceback, and the file left as it was. A new database is created with mode 0600.
In process (:class:`prematch_script.Script`; a command's ``umask`` is set around it).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from db_bytes import db_files
from history import History
from prematch_script import Ran, Script

from prematch.engine import NoRules, Store

NOW_UTC = dt.datetime(2027, 1, 15, 14, tzinfo=dt.UTC)
INIT = History(name="File Applicant").init_argv()
IS_ROOT = os.geteuid() == 0


def run(db: Path, *args: str, umask: int | None = None) -> Ran:
    """``prematch ARGS`` against ``db``, in process, from the nearest existing folder."""
    folder = next(p for p in db.parents if p.is_dir())
    return Script(folder, db=db)(*args, umask=umask)


def one_error_line(proc: Ran, *needles: str) -> str:
    assert proc.returncode == 2, f"exit {proc.returncode}: {proc.stdout}{proc.stderr}"
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    (line,) = lines
    assert line.startswith("error:"), line
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    return line


def make_store(db: Path) -> None:
    with Store.open(db) as store:
        season = History(season_id="files-2027", name="File Applicant").season(
            store, rulebook=NoRules(), now=NOW_UTC
        )
        season.add_program("p1", "P1 Internal Medicine", at="2026-09-21T10:00:00-04:00")


# -- a directory, a missing parent ---------------------------------------------------------


@pytest.mark.parametrize("command", [("history",), ("news", "other", "x"), INIT])
def test_db_that_is_a_directory(tmp_path: Path, command: tuple[str, ...]) -> None:
    target = tmp_path / "somewhere"
    target.mkdir()
    one_error_line(run(target, *command), "directory")
    assert list(target.iterdir()) == []


def test_db_under_a_file_instead_of_a_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a plain file\n")
    one_error_line(run(blocker / "s.db", *INIT), "blocker")
    assert blocker.read_text() == "a plain file\n"


def test_missing_db_for_a_read_command_is_not_created(tmp_path: Path) -> None:
    db = tmp_path / "nothing-here.db"
    one_error_line(run(db, "history"), "prematch init")
    assert not db.exists()


# -- read-only ------------------------------------------------------------------------------


@pytest.fixture
def read_only_db(tmp_path: Path) -> Iterator[Path]:
    db = tmp_path / "ro.db"
    make_store(db)
    db.chmod(0o400)
    yield db
    db.chmod(0o600)


def test_read_only_db_can_still_be_read(read_only_db: Path) -> None:
    before = db_files(read_only_db)
    for command in (("history",), ("now",), ("verify",), ("check", "thank_you", "p1")):
        proc = run(read_only_db, *command)
        assert proc.returncode in (0, 3), f"{command}: {proc.stderr}"
    assert run(read_only_db, "verify").returncode == 0
    assert db_files(read_only_db) == before


def _assert_write_refused(db: Path) -> None:
    before = db_files(db)
    for command in (("news", "other", "while read-only"), ("log", "applied", "p1")):
        one_error_line(run(db, *command), "read-only")
    assert db_files(db) == before


WRITE_BUG = (
    "engine/store.py Store.write/Transaction.append: on a read-only file BEGIN IMMEDIATE "
    "succeeds and the INSERT raises sqlite3.OperationalError('attempt to write a readonly "
    "database'), which is not translated: a traceback and exit 1 instead of one error line"
)


def test_read_only_db_refuses_writes(read_only_db: Path) -> None:
    if IS_ROOT:
        pytest.skip(
            "running as root: chmod 0400 does not stop root's writes "
            "(test_immutable_db_refuses_writes_even_for_root covers root)"
        )
    _assert_write_refused(read_only_db)


@pytest.fixture
def immutable_db(tmp_path: Path) -> Iterator[Path]:
    """A store root cannot write either: ``chattr +i`` (root only; skipped where unsupported)."""
    if not IS_ROOT:
        pytest.skip("not root: test_read_only_db_refuses_writes covers this")
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("no chattr to make the file immutable")
    db = tmp_path / "immutable.db"
    make_store(db)
    made = subprocess.run([chattr, "+i", str(db)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"chattr +i is not permitted here: {made.stderr!r}")
    try:
        yield db
    finally:
        subprocess.run([chattr, "-i", str(db)], check=True)


def test_immutable_db_refuses_writes_even_for_root(immutable_db: Path) -> None:
    assert run(immutable_db, "history").returncode == 0
    _assert_write_refused(immutable_db)


# -- not SQLite, not prematch, newer ----------------------------------------------------------


@pytest.mark.parametrize("command", [("history",), ("news", "other", "x"), ("verify",)])
def test_file_that_is_not_sqlite(tmp_path: Path, command: tuple[str, ...]) -> None:
    db = tmp_path / "notes.txt"
    text = "Interview notes, not a database.\n" * 200
    db.write_text(text)
    one_error_line(run(db, *command), "not a SQLite database")
    assert db.read_text() == text
    assert not Path(f"{db}-wal").exists()


def test_sqlite_file_that_is_not_a_prematch_store(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    before = db_files(db)
    one_error_line(run(db, "history"), "not a prematch store")
    one_error_line(run(db, "news", "other", "x"), "not a prematch store")
    assert db_files(db) == before


@pytest.mark.parametrize("command", [("history",), ("news", "other", "x"), ("verify",)])
def test_store_from_a_newer_schema(tmp_path: Path, command: tuple[str, ...]) -> None:
    db = tmp_path / "future.db"
    make_store(db)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = db_files(db)
    one_error_line(run(db, *command), "newer")
    assert db_files(db) == before


# -- created 0600 ---------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_new_database_is_created_0600(tmp_path: Path, umask: int) -> None:
    db = tmp_path / "nested" / "dir" / "new.db"
    proc = run(db, *INIT, umask=umask)
    assert proc.returncode == 0, proc.stderr
    assert _mode(db) == 0o600, oct(_mode(db))
    # An import into a new file creates it too.
    other = tmp_path / "imported.db"
    exported = tmp_path / "season.jsonl"
    exported.write_text(run(db, "export").stdout, encoding="utf-8")
    assert run(other, "import", str(exported), umask=umask).returncode == 0
    assert _mode(other) == 0o600, oct(_mode(other))


def test_library_creates_0600_and_the_wal_beside_it_too(tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    old = os.umask(0)
    try:
        with Store.open(db) as store:
            History(season_id="lib-2027", name="Lib Applicant").season(
                store, rulebook=NoRules(), now=NOW_UTC
            )
            assert _mode(db) == 0o600
            for sidecar in (Path(f"{db}-wal"), Path(f"{db}-shm")):
                if sidecar.exists():  # the WAL holds event data until a checkpoint
                    assert _mode(sidecar) == 0o600, f"{sidecar.name}: {oct(_mode(sidecar))}"
    finally:
        os.umask(old)
