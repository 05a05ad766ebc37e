"""The SQLite recorder: the event log in one database file (DESIGN §7).

An ``events`` table, written with plain ``sqlite3`` on a connection in autocommit
mode, so that every write runs in an explicit ``BEGIN IMMEDIATE`` transaction: two
processes never interleave a read-validate-append. ``BEFORE UPDATE``/``BEFORE
DELETE`` triggers make the table append-only; a unique index on (stream, version)
refuses a second event claiming a stream version; ``seq`` is the integer primary
key; a ``heads`` table notes each commit's chain head; a ``prematch_findings`` table
holds the findings projection (a cache beside the log: not append-only, not chained;
made when missing, without a new store format, since older prematch never reads it).
The file is created with mode
0600, 16 KiB pages and write-ahead logging; ``PRAGMA user_version`` holds
:data:`STORE_FORMAT`. sqlite-utils only creates the schema.

``sqlite3`` errors are translated into prematch's by their SQLite error code.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import operator
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from prematch.engine._chain import CHAIN_COLUMNS, GENESIS_HASH, ChainedTransaction, Mark
from prematch.engine._errors import (
    IntegrityError,
    PrematchError,
    StoreBusyError,
    StoreError,
    StoreReadonlyError,
    newer_store,
)
from prematch.engine._mapper import (
    EVENT_COLUMNS,
    RECORD_COLUMNS,
    REPLAY_COLUMNS,
    StoredEvent,
    replay_rows_to_records,
    row_to_record,
    rows_to_records,
)
from prematch.engine._recorder import ProjectedRow
from prematch.engine._records import Record
from prematch.engine._threads import ThreadConnections
from prematch.engine._writers import WriterTimeout, take_turn

__all__ = [
    "BUSY_TIMEOUT_MS",
    "STORE_FORMAT",
    "SqliteRecorder",
    "SqliteTransaction",
]

STORE_FORMAT = 1
"""Version of the database layout (``PRAGMA user_version``)."""

BUSY_TIMEOUT_MS = 10_000
"""How long a write waits for another writer's lock by default."""
PAGE_SIZE = 16_384
"""Page size of newly created files (SQLite's default is 4096)."""

_GUARDS = ("events_no_update", "events_no_delete", "heads_no_update", "heads_no_delete")
"""The triggers that make the tables append-only (created by :data:`_SCHEMA`)."""
_INSERT = (
    f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * len(StoredEvent._fields))})"
)

PROJECT_WAIT_MS = 200
"""How long keeping the findings projection waits for another writer (then skips it)."""

_FINDINGS = "prematch_findings"
_FINDINGS_TABLE = f"""CREATE TABLE IF NOT EXISTS {_FINDINGS} (
    season TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, key TEXT NOT NULL,
    findings TEXT NOT NULL)"""
_PROJECT = f"""INSERT INTO {_FINDINGS} (season, last_seq, key, findings) VALUES (?, ?, ?, ?)
    ON CONFLICT (season) DO UPDATE SET
    last_seq = excluded.last_seq, key = excluded.key, findings = excluded.findings
    WHERE excluded.last_seq >= {_FINDINGS}.last_seq"""

_SCHEMA = [
    # Only season_started rows: finding the seasons needs no index over every event.
    """CREATE INDEX IF NOT EXISTS idx_events_season_started ON events (seq)
       WHERE type = 'season_started'""",
    """CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'prematch events are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'prematch events are append-only'); END""",
    # One row per committed write: the chain's head then. Without it, deleting the
    # newest events would leave a chain that still verifies.
    """CREATE TABLE IF NOT EXISTS heads (
       seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, written_at TEXT NOT NULL)""",
    """CREATE TRIGGER IF NOT EXISTS heads_no_update BEFORE UPDATE ON heads
       BEGIN SELECT RAISE(ABORT, 'prematch events are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS heads_no_delete BEFORE DELETE ON heads
       BEGIN SELECT RAISE(ABORT, 'prematch events are append-only'); END""",
    _FINDINGS_TABLE,
]

_SEASON = operator.itemgetter(1)  # of RECORD_COLUMNS and REPLAY_COLUMNS
_FULL = (RECORD_COLUMNS, rows_to_records)
_SEASON_START = (
    "SELECT payload FROM events WHERE season = ? AND type = 'season_started' ORDER BY seq LIMIT 1"
)
_T = TypeVar("_T")


def _connector(
    path: Path, busy_timeout: float, *, readonly: bool, immutable: bool = False
) -> Callable[[], sqlite3.Connection]:
    """How to open one more connection to ``path`` (a thread's own).

    Read-only, for a file and folder this user may write, is an ordinary connection
    with ``PRAGMA query_only`` (SQLite's own WAL housekeeping, as for any reader, and
    nothing left behind); for a file this user cannot write, ``immutable=1`` (nobody
    with this user's rights changes it, and no lock or WAL file is made beside it);
    otherwise ``mode=ro``.
    """
    target: str | Path = path
    plain = not readonly or (_writable(path) and os.access(path.parent, os.W_OK))
    if not plain:
        immutable = immutable or not _writable(path)
        query = "mode=ro&immutable=1" if immutable else "mode=ro"
        target = f"{path.absolute().as_uri()}?{query}"

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(
            target,
            uri=not plain,
            isolation_level=None,
            timeout=busy_timeout,
            check_same_thread=False,  # close() closes every thread's connection
        )
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if readonly:
            conn.execute("PRAGMA query_only = ON")
        return conn

    return connect


def _writable(path: Path) -> bool:
    """Whether this process may write the file (an immutable file refuses even root; on
    Linux ``access`` says so). Never by opening it: closing a descriptor of the store's
    file would drop the POSIX locks SQLite holds on it for this process's other
    connections (see :mod:`prematch.engine._writers`)."""
    return os.access(path, os.W_OK)


def _create_private(path: Path) -> None:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


class SqliteTransaction(ChainedTransaction):
    """Reads and appends inside one ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, conn: sqlite3.Connection, now_iso: str):
        self._conn = conn
        row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        seq, digest = row if row else (0, GENESIS_HASH)
        super().__init__(now_iso, seq, digest)

    def season_records(self, season: str, after_seq: int = 0) -> list[Record]:
        """Every record of ``season`` with a seq above ``after_seq`` (including those
        appended in this transaction)."""
        return _season_records(self._conn, season, after_seq)

    def season_last_seq(self, season: str) -> int:
        """The seq of the newest record of ``season`` (0 if it has none)."""
        row = self._conn.execute(
            "SELECT MAX(seq) FROM events WHERE season = ?", (season,)
        ).fetchone()
        return int(row[0] or 0)

    def seasons(self) -> list[str]:
        """Season ids in the order they were started."""
        return _seasons(self._conn)

    def season_start(self, season: str) -> dict[str, Any] | None:
        """``season``'s ``season_started`` payload (``None`` if there is no such season)."""
        # The (season, seq) index: a season's first event is its season_started.
        row = self._conn.execute(_SEASON_START, (season,)).fetchone()
        return None if row is None else cast(dict[str, Any], json.loads(row[0]))

    def _stored_version(self, stream: str) -> int:
        got = self._conn.execute(
            "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?", (stream,)
        ).fetchone()
        return int(got[0])

    def _insert(self, events: Iterator[StoredEvent]) -> None:
        # The unique (stream, version) index refuses a version already taken. Plain tuples:
        # sqlite3 binds a tuple subclass's values one call at a time (0.4 µs a row more).
        self._conn.executemany(_INSERT, map(tuple, events))


@dataclass(slots=True, eq=False)
class _Batch:
    """One write transaction and the blocks that share it (group commit)."""

    conn: sqlite3.Connection
    tx: SqliteTransaction
    turn: int | None
    """The descriptor holding this process's turn among the file's writers, if any."""
    finished: bool = False
    error: PrematchError | None = None


def _season_records(conn: sqlite3.Connection, season: str, after_seq: int = 0) -> list[Record]:
    rows = conn.execute(
        f"SELECT {RECORD_COLUMNS} FROM events WHERE season = ? AND seq > ? ORDER BY seq",
        (season, after_seq),
    ).fetchall()
    return rows_to_records(rows)


def _seasons(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT season FROM events WHERE type = 'season_started' ORDER BY seq"
    ).fetchall()
    return [r[0] for r in rows]


def _latest_season(conn: sqlite3.Connection, season: str | None) -> str | None:
    if season is None:  # the partial index of season_started rows, newest first
        found = conn.execute(
            "SELECT season FROM events WHERE type = 'season_started' ORDER BY seq DESC LIMIT 1"
        )
    else:  # any event of the season (its first is its season_started): the (season, seq) index
        found = conn.execute("SELECT season FROM events WHERE season = ? LIMIT 1", (season,))
    row = found.fetchone()
    return None if row is None else str(row[0])


_MAX_SEQ = 2**63 - 1
_CHAINED = f"SELECT {CHAIN_COLUMNS} FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq"


def _undecodable(error: sqlite3.Error) -> bool:
    """Whether ``error`` is sqlite3's for stored text that is not UTF-8."""
    return str(error).startswith("Could not decode to UTF-8")


_HEADS = "SELECT seq, hash FROM heads WHERE seq BETWEEN ? AND ?"


def _rows(cursor: sqlite3.Cursor) -> Iterator[tuple[Any, ...]]:
    """A cursor's rows, for a generator to ``yield from``: without a ``close`` of its own,
    so a generator dropped unfinished never closes the cursor (that would raise once the
    connection is closed, as the generator is collected, often at exit; dropped, the
    cursor is reset all the same)."""
    return itertools.islice(cursor, None)


def _undecodable_row(conn: sqlite3.Connection, first: int, last: int) -> tuple[Any, ...] | None:
    """The first :data:`_CHAINED` row from ``first`` with text that is not UTF-8, that
    text left as bytes (``None``: there is none)."""
    rows = _as_found(conn, _CHAINED, (first, last))
    with contextlib.closing(rows):  # closed here: the connection reads text as usual again
        return next((row for row in rows if any(isinstance(v, bytes) for v in row)), None)


def _as_found(
    conn: sqlite3.Connection, sql: str, args: tuple[Any, ...]
) -> Generator[tuple[Any, ...], None, None]:
    """The rows of ``sql`` with text that is not UTF-8 left as bytes (streamed: the
    connection reads text as usual again once the rows are read, or closed)."""
    factory = conn.text_factory
    conn.text_factory = bytes
    try:
        for row in conn.execute(sql, args):
            yield tuple(map(_decoded_text, row))
    finally:
        conn.text_factory = factory


def _utf8(text: bytes | None) -> str | None:
    """``text`` decoded, or ``None`` if it is not UTF-8."""
    try:
        return None if text is None else text.decode()
    except UnicodeDecodeError:
        return None


def _decoded_text(value: Any) -> Any:
    if isinstance(value, bytes):
        with contextlib.suppress(UnicodeDecodeError):
            return value.decode()
    return value


"""The largest ``seq`` SQLite can store (an INTEGER PRIMARY KEY is a signed 64-bit rowid)."""


class _SqliteSnapshot:
    """Reads inside one read transaction: WAL keeps them on one version of the file."""

    def __init__(self, recorder: SqliteRecorder):
        self._recorder = recorder

    def events(self, first: int | None = None, last: int | None = None) -> Iterator[StoredEvent]:
        where: list[str] = []
        args: list[int] = []
        if first is not None:
            where.append("seq >= ?")
            args.append(first)
        if last is not None:
            where.append("seq <= ?")
            args.append(last)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._recorder.query(
            f"SELECT {EVENT_COLUMNS} FROM events{clause} ORDER BY seq", tuple(args)
        )
        return map(StoredEvent._make, rows)

    def chained(self, first: int = 1, last: int | None = None) -> Iterator[tuple[Any, ...]]:
        # Text that is not UTF-8 (prematch never writes it: a hand edit) stops sqlite3's
        # cursor; that row comes back with the undecodable fields as bytes, for verify
        # to name, and the read goes on after it.
        conn, bound = self._recorder._conn, _MAX_SEQ if last is None else last
        while True:
            try:
                yield from _rows(conn.execute(_CHAINED, (first, bound)))
                return
            except sqlite3.Error as e:
                odd = _undecodable_row(conn, first, bound) if _undecodable(e) else None
                if odd is None:
                    raise _translate(e, self._recorder.path) from e
            yield odd
            first = odd[0] + 1

    def count(self) -> int:
        (total,) = self._recorder.query("SELECT COUNT(*) FROM events", ())
        return int(total[0])

    def heads(self, first: int = 1, last: int | None = None) -> dict[int, str]:
        conn, args = self._recorder._conn, (first, _MAX_SEQ if last is None else last)
        try:
            return dict(conn.execute(_HEADS, args))
        except sqlite3.Error as e:
            if not _undecodable(e):
                raise _translate(e, self._recorder.path) from e
        # A head that is not UTF-8 (a hand edit) stays bytes: it matches no event's hash.
        return dict(_as_found(conn, _HEADS, args))

    def missing_guards(self) -> list[str]:
        present = {
            name
            for (name,) in self._recorder.query(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'", ()
            )
        }
        return [name for name in _GUARDS if name not in present]


class SqliteRecorder:
    """The event log in a SQLite file. Create or open one with :meth:`open`, or wrap an
    embedder's connection with :meth:`from_connection`.

    Threads: a recorder from :meth:`open` gives each thread its own connection (made on
    the thread's first use, all closed by :meth:`close`), so any thread may use it;
    SQLite's locks order the writers. A recorder from :meth:`from_connection` uses the
    one connection it was given, from whichever threads that connection allows.
    """

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        busy_timeout: float,
        *,
        connect: Callable[[], sqlite3.Connection] | None = None,
        readonly: bool = False,
    ):
        self.path = path
        """The database file, as it was named (errors show it so)."""
        self.file = path.absolute()
        """The database file from the root: what a thread's connection and the writers'
        queue open, whatever the working folder is by then."""
        self.busy_timeout = busy_timeout
        """Seconds a write waits for another writer's lock."""
        self.readonly = readonly
        """Whether the file was opened read-only (then :meth:`write` raises)."""
        self._connect = connect
        self._first = conn
        self._conns = ThreadConnections[sqlite3.Connection]()
        self._conns.put(conn)
        self._turns = threading.Condition()  # one write block at a time in this process
        self._busy = False  # a block or a commit is running
        self._queued = 0  # threads waiting for their turn
        self._batch: _Batch | None = None  # the open transaction the next turn joins
        self._writes: sqlite3.Connection | None = None  # see _writer
        self._writing: int | None = None  # the thread whose block is running

    @property
    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (the one given, for :meth:`from_connection`)."""
        conn = self._conns.get()
        if conn is None:
            if self._connect is None:
                conn = self._first
            else:
                conn = self._conns.put(self._guard(self._connect))
        return conn

    def _writer(self) -> sqlite3.Connection:
        """The connection the write transactions run on: not a thread's (a transaction
        its writers share may outlive the thread that began it), made on first use."""
        if self._writes is None:
            self._writes = self._first if self._connect is None else self._guard(self._connect)
        return self._writes

    @classmethod
    def open(
        cls, path: Path, *, create: bool, busy_timeout: float, readonly: bool = False
    ) -> SqliteRecorder:
        """Open (and, if ``create``, create with mode 0600) the database file at ``path``.

        ``readonly`` opens an existing store without ever writing, creating or
        migrating anything: it works on a file or folder this user cannot write.
        """
        if path.is_dir():
            raise StoreError(
                "the path is a directory, not a database file", path=path, code="store.directory"
            )
        if not path.exists():
            if not create or readonly:
                raise StoreError("no prematch store at this path", path=path, code="store.missing")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(
                    "cannot create the store: a file is in the way of its folder", path=path
                ) from e
            try:
                _create_private(path)
            except FileExistsError:
                pass  # another process created it first: open theirs
            except OSError as e:
                raise StoreError(f"cannot create the store: {e.strerror}", path=path) from e
        elif not os.access(path, os.R_OK):
            raise StoreError("the store is not readable by this user", path=path)
        elif not _writable(path) or not os.access(path.parent, os.W_OK | os.X_OK):
            # Reads work; a write raises StoreReadonlyError (and leaves no WAL files behind).
            # A folder this user cannot write holds no WAL files of its writes either.
            readonly = True
        connect = _connector(path.absolute(), busy_timeout, readonly=readonly)
        try:
            conn = connect()
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the store: {e}", path=path) from e
        recorder = cls(path, conn, busy_timeout, connect=connect, readonly=readonly)
        try:
            if readonly:
                recorder._check_readable()
            else:
                recorder._prepare()
        except sqlite3.Error as e:
            conn.close()
            raise _translate(e, path) from e
        except BaseException:
            conn.close()
            raise
        return recorder

    @classmethod
    def from_connection(cls, conn: sqlite3.Connection, busy_timeout: float) -> SqliteRecorder:
        """A recorder on an embedder's own ``sqlite3`` connection (of a file or of memory).

        The connection must not be inside a transaction; prematch runs its own
        ``BEGIN IMMEDIATE``/``COMMIT`` on it and creates its tables (``events``,
        ``heads``) beside the embedder's if they are missing.
        """
        rows = conn.execute("PRAGMA database_list").fetchall()
        main = next((r[2] for r in rows if r[1] == "main"), "")
        recorder = cls(Path(main) if main else Path(":memory:"), conn, busy_timeout)
        try:
            recorder._prepare(shared=True)
        except sqlite3.Error as e:
            raise _translate(e, recorder.path) from e
        return recorder

    def _check_readable(self) -> None:
        """Refuse (without writing) a file that is not a prematch store of this format."""
        conn = self._conn
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.OperationalError:
            if self._connect is None or os.access(self.file.parent, os.W_OK):
                raise
            # A WAL store in a folder this user cannot write (so nobody can change it):
            # SQLite cannot make the lock file ``mode=ro`` needs; read it as it stands.
            conn.close()
            self._connect = _connector(self.file, self.busy_timeout, readonly=True, immutable=True)
            conn = self._first = self._conns.put(self._connect())
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if version > STORE_FORMAT:
            raise newer_store(version, STORE_FORMAT, self.path)
        if "events" not in tables:
            if tables:
                raise IntegrityError("a SQLite database but not a prematch store", path=self.path)
            raise StoreError("no prematch store at this path", path=self.path, code="store.missing")

    def _prepare(self, *, shared: bool = False) -> None:
        """Create the schema if missing (in a database of other tables only if ``shared``:
        the embedder's own), after checking the store format."""
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > STORE_FORMAT:
            raise newer_store(version, STORE_FORMAT, self.path)
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if version == STORE_FORMAT and "events" in tables:
            if _FINDINGS not in tables:  # a store of an older prematch: add the cache
                self.project(())
            return
        import sqlite_utils  # only to create the schema

        db = sqlite_utils.Database(conn)
        events = db.table("events")
        if tables and "events" not in tables and not shared:
            raise IntegrityError("a SQLite database but not a prematch store", path=self.path)
        if not tables:
            # Before the first table (and WAL) fixes it. 16 KiB pages instead of 4: bulk
            # imports and whole-store audits touch a quarter as many pages (measured: about
            # 8 % less time per imported event).
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        if (
            os.access(self.file, os.W_OK)
            and conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal"
        ):
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not events.exists():
                events.create(
                    {
                        "seq": int,
                        "season": str,
                        "program": str,
                        "type": str,
                        "schema_version": int,
                        "occurred_at": str,
                        "recorded_at": str,
                        "payload": str,
                        "override": str,
                        "hash": str,
                        "stream": str,
                        "version": int,
                    },
                    pk="seq",
                    not_null={
                        "season",
                        "type",
                        "schema_version",
                        "occurred_at",
                        "recorded_at",
                        "payload",
                        "hash",
                        "stream",
                        "version",
                    },
                )
                events.create_index(["stream", "version"], unique=True)
                events.create_index(["season", "seq"])
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {STORE_FORMAT}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the connections (every thread's; the given one, for
        :meth:`from_connection`)."""
        self._conns.close_all()
        if self._writes is not None and self._writes is not self._first:
            self._writes.close()
        self._writes = None

    @contextlib.contextmanager
    def write(self, now_iso: str, *, bulk: bool = False) -> Iterator[SqliteTransaction]:
        """A part of a ``BEGIN IMMEDIATE`` transaction: kept if the block ends normally
        (returns once it is committed), else undone (the exception is raised at once).

        ``bulk`` changes nothing here: every SQLite write locks the whole file.

        Group commit: the writes of this process's threads take turns, one block at a
        time, and a block that ends while others are waiting leaves the transaction open
        for them: the last block of the run commits for all (one fsync for many writes).
        A failed block is rolled back to its savepoint and takes no other block with it;
        if the commit fails, every block of the transaction raises its error.
        """
        if self.readonly:
            raise StoreReadonlyError(
                "the store is read-only; prematch cannot write to it", path=self.path
            )
        if self._writing == threading.get_ident():
            raise StoreError("cannot start a transaction within a transaction", path=self.path)
        batch = self._take_turn(now_iso)
        conn, tx = batch.conn, batch.tx
        self._writing = threading.get_ident()
        mark = tx.part(now_iso)
        try:
            conn.execute("SAVEPOINT prematch_write")
            yield tx
            conn.execute("RELEASE prematch_write")
        except BaseException as e:
            self._writing = None
            self._undo(batch, mark)
            self._end_turn(batch, wrote=False)
            if isinstance(e, sqlite3.Error):
                raise _translate(e, self.path, self.busy_timeout) from e
            raise
        self._writing = None
        self._end_turn(batch, wrote=True)

    def _take_turn(self, now_iso: str) -> _Batch:
        """Wait for this thread's turn (it is woken as soon as the block before it is
        done); join the open transaction, or begin one once it is this process's turn
        among the file's writers."""
        deadline = time.monotonic() + self.busy_timeout
        with self._turns:
            self._queued += 1
            try:
                while self._busy:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise StoreBusyError(
                            f"the store is locked by another thread (waited "
                            f"{self.busy_timeout:g} s); try again when it has finished",
                            path=self.path,
                        )
                    self._turns.wait(left)
            finally:
                self._queued -= 1
            self._busy = True
        try:
            if self._batch is None:
                conn = self._writer()
                turn = self._process_turn(deadline)
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    self._batch = _Batch(conn, SqliteTransaction(conn, now_iso), turn)
                except sqlite3.Error as e:
                    _rollback(conn)
                    raise _translate(e, self.path, self.busy_timeout) from e
                finally:
                    if self._batch is None and turn is not None:
                        os.close(turn)
            return self._batch
        except BaseException:
            with self._turns:
                self._busy = False
                self._turns.notify_all()
            raise

    def _process_turn(self, deadline: float) -> int | None:
        """This process's turn among the processes writing the file (see
        :mod:`prematch.engine._writers`): the descriptor to close after the commit."""
        try:
            return take_turn(self.file, max(0.0, deadline - time.monotonic()))
        except WriterTimeout:
            raise StoreBusyError(
                f"the store is locked by another process (waited {self.busy_timeout:g} s); "
                "try again when it has finished",
                path=self.path,
            ) from None

    def _undo(self, batch: _Batch, mark: Mark) -> None:
        """Roll a failed block back to its savepoint; a transaction SQLite itself ended
        (a full disk, an I/O error) fails every block of it."""
        try:
            if batch.conn.in_transaction:
                batch.conn.execute("ROLLBACK TO prematch_write")
                batch.conn.execute("RELEASE prematch_write")
            batch.tx.undo(mark)
        except sqlite3.Error as e:
            batch.error = _translate(e, self.path, self.busy_timeout)
        if not batch.conn.in_transaction and batch.error is None:
            batch.error = StoreError(
                "SQLite rolled the write transaction back; nothing of it was stored",
                path=self.path,
            )

    def _end_turn(self, batch: _Batch, *, wrote: bool) -> None:
        """Leave the transaction open for a waiting thread, or commit it; a block that
        wrote returns once its transaction is committed (or raises why it was not)."""
        with self._turns:
            if batch.error is None and self._queued:
                self._busy = False
                self._turns.notify_all()
                while wrote and not batch.finished:
                    self._turns.wait()
                if wrote and batch.error is not None:
                    raise batch.error
                return
            self._batch = None  # still busy: the threads that come now wait for the commit
        try:
            if batch.error is None:
                tx = batch.tx
                if tx.last_seq > tx.first_seq:
                    batch.conn.execute(
                        "INSERT INTO heads (seq, hash, written_at) VALUES (?, ?, ?)",
                        (tx.last_seq, tx.last_hash, tx.now_iso),
                    )
                batch.conn.execute("COMMIT")
            else:
                _rollback(batch.conn)
        except sqlite3.Error as e:
            _rollback(batch.conn)
            batch.error = _translate(e, self.path, self.busy_timeout)
        finally:
            if batch.turn is not None:
                os.close(batch.turn)  # the next process's turn
            with self._turns:
                batch.finished = True
                self._busy = False
                self._turns.notify_all()
        if wrote and batch.error is not None:
            raise batch.error

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[_SqliteSnapshot]:
        """One read transaction: every read in it sees the same version of the file."""
        self._guard(self._conn.execute, "BEGIN")
        try:
            yield _SqliteSnapshot(self)
        finally:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")

    def query(self, sql: str, args: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        """The rows of one query, streamed, with ``sqlite3`` errors translated."""
        try:
            yield from _rows(self._conn.execute(sql, args))
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e

    def seasons(self) -> list[str]:
        """Season ids in the order they were started."""
        return self._guard(_seasons, self._conn)

    def latest_season(self, season: str | None = None) -> str | None:
        """``season`` if stored, or the most recently started one (see the protocol)."""
        return self._guard(_latest_season, self._conn, season)

    def season_records(self, season: str, after_seq: int = 0) -> list[Record]:
        """Every record of ``season`` (with a seq above ``after_seq``), in ``seq`` order."""
        return self._guard(_season_records, self._conn, season, after_seq)

    def records(self, season: str | None = None) -> Iterator[Record]:
        """Every record (or one season's), in ``seq`` order, streamed."""
        sql = f"SELECT {RECORD_COLUMNS} FROM events"
        args: tuple[str, ...] = ()
        if season is not None:
            sql += " WHERE season = ?"
            args = (season,)
        return map(row_to_record, self.query(sql + " ORDER BY seq", args))

    def seasons_records(
        self, first: str | None = None, last: str | None = None, *, replay: bool = False
    ) -> Iterator[tuple[str, list[Record]]]:
        """Every season (with ids from ``first`` to ``last``, when both are given) with its
        records, one season at a time, in one streaming query ordered by season id (with
        ``replay``, without ``recorded_at`` and ``hash``: see the protocol)."""
        where, args = "", cast(tuple[str, ...], ())
        if first is not None and last is not None:
            where, args = " WHERE season BETWEEN ? AND ?", (first, last)
        columns, mapped = (REPLAY_COLUMNS, replay_rows_to_records) if replay else _FULL
        rows = self.query(f"SELECT {columns} FROM events{where} ORDER BY season, seq", args)
        for season, group in itertools.groupby(rows, key=_SEASON):
            yield season, mapped(group)

    def head(self) -> tuple[int, str]:
        """The newest event's seq and hash."""
        for seq, digest in self.query("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1", ()):
            return int(seq), str(digest)
        return 0, GENESIS_HASH

    def projected(self, key: str, seasons: Sequence[str]) -> Iterator[tuple[str, int, str | None]]:
        """Each season's newest seq and its projected findings if current (see the
        protocol): one query, a lookup in the (season, seq) index and in the projection's
        table per season (the seasons go in as a JSON array)."""
        found = self.query(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_FINDINGS,)
        )
        joined = bool(list(found))  # else a store no writable prematch opened since
        newest = "(SELECT MAX(seq) FROM events WHERE season = j.value)"
        # Read as bytes: a row whose text is not UTF-8 (a hand edit) is judged again.
        sql = (
            f"SELECT j.value, {newest}, p.last_seq, CAST(p.key AS BLOB), CAST(p.findings AS BLOB)"
            f" FROM json_each(?) AS j "
            f"LEFT JOIN {_FINDINGS} AS p ON p.season = j.value ORDER BY j.key"
            if joined
            else f"SELECT j.value, {newest}, NULL, NULL, NULL FROM json_each(?) AS j ORDER BY j.key"
        )
        current = key.encode()
        for season, last, seq, kept, text in self.query(sql, (json.dumps(list(seasons)),)):
            last = int(last or 0)
            yield season, last, _utf8(text) if seq == last and kept == current else None

    def project(self, rows: Iterable[ProjectedRow]) -> bool:
        """Keep ``rows`` in the findings projection (making its table if missing), in a
        ``BEGIN IMMEDIATE`` of its own that waits at most :data:`PROJECT_WAIT_MS` for
        another process's writer and never for this process's (its turn is taken only if
        free, see :meth:`write`); ``False`` (nothing kept) when read-only, busy or the
        disk is full."""
        if self.readonly or self._writing == threading.get_ident():
            return False
        with self._turns:
            if self._busy or self._batch is not None:  # a write of ours is under way
                return False
            self._busy = True
        try:
            conn = self._writer()
            conn.execute(f"PRAGMA busy_timeout = {PROJECT_WAIT_MS}")
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(_FINDINGS_TABLE)
                conn.executemany(_PROJECT, rows)
                conn.execute("COMMIT")
            finally:
                _rollback(conn)
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        except sqlite3.Error as e:
            error = _translate(e, self.path)
            if isinstance(error, StoreBusyError | StoreReadonlyError) or error.code == "store.full":
                return False
            raise error from e
        finally:
            with self._turns:
                self._busy = False
                self._turns.notify_all()
        return True

    def _guard(self, fn: Callable[..., _T], *args: Any) -> _T:
        try:
            return fn(*args)
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e


def _rollback(conn: sqlite3.Connection) -> None:
    """Undo the open transaction, if SQLite has not already (it rolls back by itself
    after a full disk or an I/O error)."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


_FULL_BELOW = 1 << 20
"""Free bytes in the store's folder under which an I/O error is taken for a full disk
(SQLite reports a write-ahead index it cannot grow as an I/O error, not as full)."""


def _disk_full(path: Path) -> bool:
    try:
        usage = os.statvfs(path.parent)
    except OSError:
        return False
    return usage.f_bavail * usage.f_frsize < _FULL_BELOW


def _translate(
    error: sqlite3.Error, path: Path, waited: float = BUSY_TIMEOUT_MS / 1000
) -> StoreError:
    """The prematch error for a ``sqlite3`` error, chosen by its (primary) SQLite result code."""
    code: int | None = getattr(error, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreBusyError(
            f"the store is locked by another process (waited {waited:g} s); "
            "try again when it has finished",
            path=path,
        )
    if primary == sqlite3.SQLITE_READONLY:
        return StoreReadonlyError("the store is read-only; prematch cannot write to it", path=path)
    if primary == sqlite3.SQLITE_FULL or (primary == sqlite3.SQLITE_IOERR and _disk_full(path)):
        return StoreError(
            "disk full: nothing was written; free some space and try again",
            path=path,
            code="store.full",
        )
    if primary == sqlite3.SQLITE_NOTADB:
        return IntegrityError("not a SQLite database", path=path)
    if isinstance(error, sqlite3.ProgrammingError) and "same thread" in str(error):
        # Only an embedder's connection (Store.from_connection) is tied to its thread.
        return StoreError(
            "the store's connection may only be used in the thread that made it; to share "
            "the store between threads, make the connection with "
            "sqlite3.connect(..., check_same_thread=False)",
            path=path,
        )
    if _undecodable(error):
        return IntegrityError(
            "an event's text is not UTF-8, which prematch never writes: the store was "
            "changed behind prematch's back",
            path=path,
            code="store.tampered",
        )
    return StoreError(str(error), path=path)
