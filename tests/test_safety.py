"""Nothing crashes, nothing leaks, nothing lies (issue 19).

Environment variables out of range, files written with ``--out`` (whole or not at all,
mode 0600, clean errors), a full disk (a small tmpfs where this machine lets the test
mount one), user text shown as typed, reads that never write, and what ``verify`` says.
In process (:class:`prematch_script.Script`) unless the point is the file system.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from db_bytes import db_files, settled_db_files
from history import History
from prematch_script import Script, built

SEASON = (
    History(name="Safe Applicant")
    .added_and_applied("mercy")
    .invite("mercy", at="2026-11-02T10:00:00-05:00", interview_on="2027-01-14")
    .interview("mercy", "2027-01-14T09:00:00-05:00")
)
STEPS = SEASON.argv()
"""mercy: interviewed yesterday (a letter of interest now is blocked: interest.wait)."""

WRITERS = {
    "export": ("export",),
    "export csv": ("export", "--format", "csv"),
    "export xlsx": ("export", "--format", "xlsx"),
    "calendar": ("calendar",),
    "audit html": ("audit", "--format", "html"),
    "advisor page": ("audit", "--all", "--format", "html"),
}
"""Every command that writes a file with ``--out`` (the file goes last)."""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built(tmp_path_factory.mktemp("safety"), STEPS)


@pytest.fixture
def script(tmp_path: Path, template: Path) -> Script:
    return Script(tmp_path).copy_of(template)


# -- environment -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e300", "soon"])
def test_busy_timeout_out_of_range_is_refused(script: Script, value: str) -> None:
    before = settled_db_files(script.db)
    ran = script("log", "applied", "mercy", env={"PREMATCH_BUSY_TIMEOUT": value}, code=2)
    assert ran.stderr.startswith("error: field 'PREMATCH_BUSY_TIMEOUT': must be seconds")
    assert db_files(script.db) == before


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_clock_near_year_1_or_9999_is_refused(script: Script, value: str) -> None:
    ran = script("now", env={"PREMATCH_NOW": value}, code=2)
    assert "field 'PREMATCH_NOW'" in ran.stderr and "out of range" in ran.stderr


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31T23:59", "0001-01-01T00:00+14:00"])
def test_at_near_year_1_or_9999_is_refused(script: Script, value: str) -> None:
    for command in (("log", "applied", "mercy"), ("now",), ("history",)):
        ran = script(*command, "--at", value, code=2)
        assert "field 'at'" in ran.stderr and "out of range" in ran.stderr, ran.shown()


# -- files written with --out ----------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("writer", WRITERS)
def test_out_file_is_0600_and_replaces_an_existing_one(script: Script, writer: str) -> None:
    out = script.tmp / "out.file"
    out.write_text("an old backup\n", encoding="utf-8")
    out.chmod(0o644)
    script.ok(*WRITERS[writer], "--out", str(out), umask=0o022)
    assert _mode(out) == 0o600
    assert out.read_bytes() != b"an old backup\n"
    assert [p.name for p in script.tmp.iterdir() if p.name.startswith(".out.file")] == []


@pytest.mark.parametrize("writer", WRITERS)
def test_out_in_a_missing_folder_is_a_clean_error(script: Script, writer: str) -> None:
    out = script.tmp / "no-such-folder" / "out.file"
    ran = script(*WRITERS[writer], "--out", str(out), code=2)
    assert "does not exist; create it first" in ran.stderr, ran.shown()
    assert not out.parent.exists()


@pytest.mark.parametrize("writer", WRITERS)
def test_out_that_is_a_folder_is_a_clean_error(script: Script, writer: str) -> None:
    ran = script(*WRITERS[writer], "--out", str(script.tmp), code=2)
    assert "is a directory" in ran.stderr or "it is a folder" in ran.stderr, ran.shown()


# -- a full disk -------------------------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs in ``tmp_path`` (skipped where this user may not mount one)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def _fill(disk: Path, spare: int = 0) -> Path:
    """Fill ``disk`` to the last byte with one file, returned (remove it to free space),
    then free ``spare`` bytes again."""
    filler = disk / "filler"
    room = disk / "room"
    room.write_bytes(b"\0" * spare)
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)
    with pytest.raises(OSError) as full:
        (disk / "probe").write_bytes(b"x")
    (disk / "probe").unlink()
    assert full.value.errno == errno.ENOSPC
    room.unlink()
    return filler


@pytest.mark.parametrize("spare", [0, 96 * 1024], ids=["no room for the log", "log fills up"])
def test_full_disk_write_says_so_and_writes_nothing(
    tiny_disk: Path, template: Path, spare: int
) -> None:
    """No room at all (SQLite cannot even make its write-ahead index: an I/O error), or
    room for the index but not for the events (SQLITE_FULL in the middle of the write)."""
    script = Script(tiny_disk.parent, db=tiny_disk / "season.db").copy_of(template)
    before = settled_db_files(script.db)["season.db"]
    rows = "".join(
        f'{{"type": "news_recorded", "season": "safe-applicant-2027", '
        f'"at": "2026-10-{day:02d}T10:00:00-04:00", "kind": "other", "detail": "{"x" * 1900}"}}\n'
        for day in range(1, 29)
    )
    (tiny_disk.parent / "news.jsonl").write_text(rows, encoding="utf-8")
    filler = _fill(tiny_disk, spare)
    for command in (("log", "note-added", "mercy", "--text", "x" * 1900), ("import", "news.jsonl")):
        ran = script(*command, code=2)
        assert "disk full: nothing was written" in ran.stderr, ran.shown()
        assert "rollback" not in ran.stderr
    assert db_files(script.db)["season.db"] == before
    filler.unlink()
    assert script.ok("verify").stdout.startswith(f"OK: {len(STEPS)} events")
    assert settled_db_files(script.db)["season.db"] == before


def test_full_disk_out_keeps_the_existing_file(tiny_disk: Path, script: Script) -> None:
    backup = tiny_disk / "backup.jsonl"
    backup.write_text("the only backup\n", encoding="utf-8")
    _fill(tiny_disk)
    for writer in WRITERS:
        ran = script(*WRITERS[writer], "--out", str(backup), code=2)
        assert "disk full: nothing was written to" in ran.stderr, ran.shown()
        assert backup.read_text(encoding="utf-8") == "the only backup\n"
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["backup.jsonl", "filler"]


def test_new_out_file_is_0600_whatever_the_umask(script: Script) -> None:
    out = script.tmp / "season.jsonl"
    script.ok("export", "--out", str(out), umask=0)
    assert _mode(out) == 0o600
    assert os.stat(out).st_uid == os.geteuid()


# -- user text shown as typed ----------------------------------------------------------------

ESCAPES = "Evil \x1b]0;pwned\x07 IM \x1b[2J\x9b"
"""A name as an older store (or an edit behind prematch's back) may hold it."""


def _stored_behind_the_back(db: Path, name: str, override: str) -> None:
    """Rename program p1 and give its application an override, in the file itself."""
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("DROP TRIGGER events_no_update")
        conn.execute(
            "UPDATE events SET payload = json_set(payload, '$.name', ?) WHERE type = ?",
            (name, "program_added"),
        )
        conn.execute("UPDATE events SET override = ? WHERE type = ?", (override, "interest_sent"))


def test_stored_control_characters_are_shown_visibly(script: Script) -> None:
    script.ok("log", "interest-sent", "mercy", "--override", "asked to write")
    _stored_behind_the_back(script.db, ESCAPES, "<img src=x onerror=alert(1)>\r| x `y`")
    shown = {
        "history": script.ok("history").stdout,
        "now": script.ok("now", "--all").stdout,
        "audit": script("audit").stdout,
        "markdown": script("audit", "--format", "markdown").stdout,
    }
    for command, out in shown.items():
        assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out, command
    for command in ("history", "now"):
        assert "\\x1b]0;pwned\\x07" in shown[command].replace("\n", "").replace("│", ""), command


def test_stored_bidi_controls_and_separators_are_shown_visibly(script: Script) -> None:
    """A right-to-left override would reverse the rest of the terminal line ("Trojan
    source"); history and now spell it out, as sync does."""
    script.ok("log", "interest-sent", "mercy", "--override", "asked to write")
    _stored_behind_the_back(script.db, "Mercy \u202eMI\u2066 x\u2028y", "asked\u2029\u202a")
    for command in (("history",), ("now", "--all"), ("audit",)):
        out = script(*command).stdout
        for char in "\u202a\u202e\u2066\u2028\u2029":
            assert char not in out, (command, char)
    history = script.ok("history").stdout.replace("\n", "").replace("│", "")
    assert "Mercy \\u202eMI\\u2066 x\\u2028y" in history


def test_markup_in_names_prints_as_typed(script: Script) -> None:
    for pid, name in (("mk", "Mercy IM [/] annex"), ("lk", "Lakeshore [link=https://x.test]IM")):
        script.ok("program", "add", pid, "--name", name, "--at", "2026-09-21")
        script.ok("log", "applied", pid, "--at", "2026-09-24")
    for command in (("history",), ("now", "--all"), ("audit",)):
        out = script(*command).stdout
        assert "\x1b]8;" not in out, command  # no terminal hyperlink
    history = script.ok("history").stdout
    assert "[/] annex" in history and "[link=https://x.test]IM" in history


def test_markdown_audit_escapes_every_cell(script: Script) -> None:
    reason = "<img src=x onerror=alert(1)>\r| second row `code` [a](javascript:x)"
    script.ok("log", "interest-sent", "mercy", "--override", "asked")
    _stored_behind_the_back(script.db, "Mercy <i>IM</i>", reason)
    out = script("audit", "--format", "markdown").stdout
    assert "<img" not in out and "<i>" not in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
    rows = [line for line in out.splitlines() if line.startswith("|")]
    for row in rows:  # every row keeps its seven cells: no | or line break escaped a cell
        assert len(re.split(r"(?<!\\)\|", row)) == 9, row
    assert "\r" not in out and "](javascript" not in out.replace("\\]", "")


def test_html_audit_escapes_user_text(script: Script) -> None:
    script.ok("log", "interest-sent", "mercy", "--override", "asked")
    _stored_behind_the_back(script.db, 'Mercy <i>IM</i> "x', "<img src=x onerror=alert(1)>")
    page = script("audit", "--format", "html").stdout
    assert "<img" not in page and "<i>IM" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;i&gt;IM" in page


# -- what verify says -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "trigger", ["events_no_update", "events_no_delete", "heads_no_update", "heads_no_delete"]
)
def test_verify_reports_a_dropped_trigger(script: Script, trigger: str) -> None:
    with contextlib.closing(sqlite3.connect(script.db)) as conn, conn:
        conn.execute(f"DROP TRIGGER {trigger}")
    ran = script("verify", code=1)
    assert f"BROKEN at seq {len(STEPS)}: unguarded" in ran.stdout and trigger in ran.stdout
    problem = script.json("verify", "--json", code=1)["problem"]
    assert problem["kind"] == "unguarded" and trigger in problem["detail"]


def test_verify_of_a_truncated_file_exits_2(script: Script) -> None:
    settled_db_files(script.db)
    data = script.db.read_bytes()
    script.db.write_bytes(data[: len(data) // 2])
    ran = script("verify", code=2)
    assert ran.stderr.startswith("error:") and "malformed" in ran.stderr


def test_certify_names_the_program_that_appears_twice(script: Script) -> None:
    script.ok("program", "add", "oak", "--name", "Oak Valley IM", "--at", "2026-09-21")
    ran = script("certify", "mercy", "oak", "mercy", code=2)
    assert "'mercy' appears twice" in ran.stderr and "position 3" in ran.stderr


# -- reads never write ------------------------------------------------------------------------

READS = (("now",), ("history",), ("verify",), ("audit",), ("export",))


def test_reads_of_a_zero_byte_file_leave_it_alone(tmp_path: Path) -> None:
    script = Script(tmp_path)
    script.db.touch(mode=0o640)
    script.db.chmod(0o640)
    for command in READS:
        ran = script(*command, code=2)
        assert "no prematch store at this path" in ran.stderr, ran.shown()
    assert script.db.stat().st_size == 0 and _mode(script.db) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("season.db")) == [
        "season.db"
    ]


def test_reads_of_a_store_with_user_version_0_do_not_rewrite_it(script: Script) -> None:
    settled_db_files(script.db)
    with contextlib.closing(sqlite3.connect(script.db)) as conn, conn:
        conn.execute("PRAGMA user_version = 0")
    before = settled_db_files(script.db)
    for command in READS:
        script(*command)
    assert settled_db_files(script.db) == before


def test_verify_reads_one_snapshot_while_a_write_commits(
    script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write committed between verify's read of the heads and of the events is not
    seen by either (issue 19: it used to be reported as 'inserted')."""
    from prematch.engine import Store
    from prematch.engine._sqlite import _SqliteSnapshot

    heads = _SqliteSnapshot.heads

    def heads_then_a_write(snapshot: _SqliteSnapshot) -> dict[int, str]:
        read = heads(snapshot)
        script.ok("log", "note-added", "mercy", "--text", "written while verify reads")
        return read

    monkeypatch.setattr(_SqliteSnapshot, "heads", heads_then_a_write)
    with Store.open(script.db, readonly=True) as store:
        assert store.verify() == (len(STEPS), None)
    monkeypatch.undo()
    assert script.ok("verify").stdout.startswith(f"OK: {len(STEPS) + 1} events")


def test_lint_shows_control_characters_of_the_letter_visibly(script: Script) -> None:
    letter = script.tmp / "letter\x1b[2J.txt"
    letter.write_text("Please let me know how you will \x1b]0;x\x07rank me.\n", encoding="utf-8")
    ran = script("lint", letter.name, "--action", "interest", code=1)
    assert "content.rank_question" in ran.stdout, ran.shown()
    assert "\x1b" not in ran.stdout + ran.stderr and "\x07" not in ran.stdout
    assert "\\x1b]0;x\\x07rank me" in ran.stdout and "letter\\x1b[2J.txt" in ran.stdout


def test_sync_refuses_a_quote_left_open(script: Script) -> None:
    sheet = script.tmp / "sheet.csv"
    sheet.write_text(
        'Program,Applied,Notes\r\nOak Valley IM,2026-09-24,"open\r\nPine IM,2026-09-25,x\r\n',
        encoding="utf-8",
    )
    before = settled_db_files(script.db)
    ran = script("sync", sheet.name, code=2)
    assert "not a CSV sheet I can read (row 3" in ran.stderr, ran.shown()
    assert db_files(script.db) == before
