"""The append-only SQLite event store (DESIGN §7).

One ``events`` table, written through sqlite-utils' ``Database`` on a plain
``sqlite3`` connection in autocommit mode, so that every write runs in an
explicit ``BEGIN IMMEDIATE`` transaction: two processes never interleave a
read-validate-append. ``BEFORE UPDATE``/``BEFORE DELETE`` triggers make the
table append-only; a per-stream version with a unique index gives optimistic
concurrency; ``seq`` is global and gapless; each ``hash`` chains SHA-256 over
the previous hash and the event's canonical JSON.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import operator
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from prematch.engine._errors import IntegrityError, StoreBusyError, StoreError
from prematch.engine._records import (
    GENESIS_HASH,
    SCHEMA_VERSION,
    Record,
    canonical_event_json,
    canonical_json,
    chain_hash,
    chain_hash_text,
    parse_json,
    parse_utc,
    utc_iso,
)

__all__ = [
    "STORE_FORMAT",
    "UPCASTERS",
    "Store",
    "Tamper",
    "Transaction",
]

STORE_FORMAT = 1
"""Version of the database layout (``PRAGMA user_version``)."""

BUSY_TIMEOUT_MS = 10_000
PAGE_SIZE = 16_384
"""Page size of newly created files (SQLite's default is 4096)."""

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""``(event type, schema_version) -> function`` turning that payload into the next version's.

Empty while every stored event is at version 1; each future schema change adds
an entry here (and a frozen database in ``fixtures/compat/``).
"""

_COLUMNS = (
    "seq, season, program, type, schema_version, occurred_at, recorded_at, payload, override, hash"
)

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
]


@dataclass(frozen=True, slots=True)
class Tamper:
    """The first place where the stored chain does not hold."""

    seq: int
    kind: str
    """``edited``, ``deleted``, ``inserted`` or ``reordered``."""
    detail: str


def _upcast(kind: str, version: int, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    while version < SCHEMA_VERSION:
        step = UPCASTERS.get((kind, version))
        if step is not None:
            payload = step(payload)
        version += 1
    return version, payload


_SEASON_COLUMN = operator.itemgetter(1)  # of _COLUMNS
_new_tuple = tuple.__new__


def row_to_record(row: tuple[Any, ...]) -> Record:
    """Turn a stored row (in ``_COLUMNS`` order) into a :class:`Record`, upcasting old shapes."""
    seq, season, program, kind, version, occurred, recorded, payload, override, digest = row
    data = {} if payload == "{}" else parse_json(payload)
    if version != SCHEMA_VERSION:
        version, data = _upcast(kind, version, data)
    at = parse_utc(occurred)
    # tuple.__new__ skips Record.__new__'s argument handling: this runs for every row read.
    return _new_tuple(
        Record, (seq, season, program, kind, version, at, recorded, data, override, digest)
    )


def _create_private(path: Path) -> None:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


class Transaction:
    """Reads and appends inside one ``BEGIN IMMEDIATE`` transaction (see :meth:`Store.write`)."""

    def __init__(self, conn: sqlite3.Connection, now_iso: str):
        self._conn = conn
        self._now = now_iso
        row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        self.first_seq: int = row[0] if row else 0
        """The newest seq when the transaction began."""
        self.last_seq: int = self.first_seq
        """The newest seq, counting what this transaction appended."""
        self.last_hash: str = row[1] if row else GENESIS_HASH
        """The hash of the event at :attr:`last_seq`."""
        self._fresh: set[str] = set()
        self._versions: dict[str, int] = {}  # each stream's latest version, once looked up

    def season_records(self, season: str) -> list[Record]:
        """Every record of ``season`` (including those appended in this transaction)."""
        return _season_records(self._conn, season)

    def seasons(self) -> list[str]:
        """Season ids in the order they were started."""
        return _seasons(self._conn)

    def season_starts(self) -> dict[str, dict[str, Any]]:
        """Each season's ``season_started`` payload, by season id."""
        rows = self._conn.execute(
            "SELECT season, payload FROM events WHERE type = 'season_started' ORDER BY seq"
        )
        return {season: json.loads(payload) for season, payload in rows}

    def append(self, records: Iterable[Record]) -> list[Record]:
        """Append records in order; return them as stored (seq, recorded_at and hash set).

        The records' own ``seq`` and ``hash`` are ignored (the store assigns them);
        an empty ``recorded_at`` becomes the transaction's now.
        """
        stored: list[Record] = []
        self.append_each(records, stored.append)
        return stored

    def append_each(
        self, records: Iterable[Record], each: Callable[[Record], object] | None = None
    ) -> int:
        """:meth:`append` for bulk work: rows are built while SQLite consumes them.

        Nothing is kept per record: ``each`` (if given) sees every record as stored.
        Returns how many were appended.
        """
        before = self.last_seq
        self._conn.executemany(
            f"INSERT INTO events ({_COLUMNS}, stream, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            self._rows(records, each),
        )
        return self.last_seq - before

    def _rows(
        self, records: Iterable[Record], each: Callable[[Record], object] | None
    ) -> Iterator[tuple[Any, ...]]:
        versions = self._versions
        for r in records:
            stream = f"{r.season}/{r.program or ''}"
            if r.type == "season_started":
                self._fresh.add(r.season)
            version = versions.get(stream)
            if version is None:
                # A season started in this transaction has no history to look up.
                version = 0 if r.season in self._fresh else self._version(stream)
            versions[stream] = version = version + 1
            seq = self.last_seq + 1
            recorded = r.recorded_at or self._now
            payload = canonical_json(r.payload) if r.payload else "{}"
            fields = (
                seq,
                r.season,
                r.program,
                r.type,
                r.schema_version,
                utc_iso(r.occurred_at),
                recorded,
                payload,
                r.override,
            )  # the order of _COLUMNS and canonical_event_json
            digest = chain_hash_text(self.last_hash, canonical_event_json(*fields))
            self.last_seq, self.last_hash = seq, digest
            if each is not None:
                each(r._replace(seq=seq, recorded_at=recorded, hash=digest))
            yield (*fields, digest, stream, version)

    def _version(self, stream: str) -> int:
        got = self._conn.execute(
            "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?", (stream,)
        ).fetchone()
        return int(got[0])


def _season_records(conn: sqlite3.Connection, season: str) -> list[Record]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM events WHERE season = ? ORDER BY seq", (season,)
    ).fetchall()
    return [row_to_record(r) for r in rows]


def _seasons(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT season FROM events WHERE type = 'season_started' ORDER BY seq"
    ).fetchall()
    return [r[0] for r in rows]


class Store:
    """A prematch database file. Create or open it with :meth:`open`."""

    def __init__(self, path: Path, conn: sqlite3.Connection, busy_timeout: float):
        self.path = path
        self._conn = conn
        self.busy_timeout = busy_timeout

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        busy_timeout: float = BUSY_TIMEOUT_MS / 1000,
    ) -> Store:
        """Open (and, if ``create``, create with mode 0600) the store at ``path``.

        ``busy_timeout`` is how many seconds a write waits for another writer's
        lock before it fails with :class:`StoreBusyError`.
        """
        p = Path(path).expanduser()
        if p.is_dir():
            raise StoreError(f"{p} is a directory; --db needs a database file path")
        if not p.exists():
            if not create:
                raise StoreError(f"no prematch database at {p}; run `prematch init` first")
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"cannot create {p}: {p.parent} is not a folder") from e
            try:
                _create_private(p)
            except FileExistsError:
                pass  # another process created it first: open theirs
            except OSError as e:
                raise StoreError(f"cannot create {p}: {e.strerror}") from e
        elif not os.access(p, os.R_OK):
            raise StoreError(f"{p} is not readable by this user")
        try:
            conn = sqlite3.connect(
                p, isolation_level=None, timeout=busy_timeout, check_same_thread=True
            )
        except sqlite3.Error as e:
            raise StoreError(f"cannot open {p}: {e}") from e
        store = cls(p, conn, busy_timeout)
        try:
            store._prepare()
        except sqlite3.DatabaseError as e:
            conn.close()
            if "not a database" in str(e) or "file is encrypted" in str(e):
                raise IntegrityError(f"{p} is not a SQLite database (is --db right?)") from e
            raise _translate(e, p) from e
        except BaseException:
            conn.close()
            raise
        return store

    def _prepare(self) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > STORE_FORMAT:
            raise IntegrityError(
                f"{self.path} was written by a newer prematch (store format {version}, "
                f"this one reads up to {STORE_FORMAT}); upgrade prematch"
            )
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if version == STORE_FORMAT and "events" in tables:
            return
        import sqlite_utils  # only to create the schema

        db = sqlite_utils.Database(conn)
        events = db.table("events")
        if tables and "events" not in tables:
            raise IntegrityError(f"{self.path} is a SQLite database but not a prematch store")
        if not tables:
            # Before the first table (and WAL) fixes it. 16 KiB pages instead of 4: bulk
            # imports and whole-store audits touch a quarter as many pages (measured: about
            # 8 % less time per imported event).
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        if (
            os.access(self.path, os.W_OK)
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
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def write(self, now_iso: str) -> Iterator[Transaction]:
        """A ``BEGIN IMMEDIATE`` transaction: commit if the block ends normally, else roll back."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise _translate(e, self.path, self.busy_timeout) from e
        try:
            tx = Transaction(self._conn, now_iso)
            yield tx
            if tx.last_seq > tx.first_seq:
                self._conn.execute(
                    "INSERT INTO heads (seq, hash, written_at) VALUES (?, ?, ?)",
                    (tx.last_seq, tx.last_hash, now_iso),
                )
        except sqlite3.Error as e:
            self._conn.execute("ROLLBACK")
            raise _translate(e, self.path, self.busy_timeout) from e
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as e:
            self._conn.execute("ROLLBACK")
            raise _translate(e, self.path, self.busy_timeout) from e

    def seasons(self) -> list[str]:
        """Season ids in the order they were started."""
        seasons: list[str] = _guard(self.path, _seasons, self._conn)
        return seasons

    def season_records(self, season: str) -> list[Record]:
        """Every record of ``season``, in ``seq`` order."""
        records: list[Record] = _guard(self.path, _season_records, self._conn, season)
        return records

    def rows(self, season: str | None = None) -> Iterator[Record]:
        """Every record (or one season's), in ``seq`` order, streamed."""
        sql = f"SELECT {_COLUMNS} FROM events"
        args: tuple[Any, ...] = ()
        if season is not None:
            sql += " WHERE season = ?"
            args = (season,)
        return self._stream(sql + " ORDER BY seq", args)

    def seasons_records(
        self, first: str | None = None, last: str | None = None
    ) -> Iterator[tuple[str, list[Record]]]:
        """Every season (with ids from ``first`` to ``last``, when given) with its records,
        one season at a time, in one streaming query ordered by season id."""
        where, args = "", cast(tuple[str, ...], ())
        if first is not None and last is not None:
            where, args = " WHERE season BETWEEN ? AND ?", (first, last)
        rows = self._rows(f"SELECT {_COLUMNS} FROM events{where} ORDER BY season, seq", args)
        for season, group in itertools.groupby(rows, key=_SEASON_COLUMN):
            yield season, list(map(row_to_record, group))

    def _stream(self, sql: str, args: tuple[Any, ...]) -> Iterator[Record]:
        return map(row_to_record, self._rows(sql, args))

    def _rows(self, sql: str, args: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        try:
            yield from self._conn.execute(sql, args)
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e

    def raw_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every stored row as written (no upcasting), in ``seq`` order."""
        try:
            yield from self._conn.execute(f"SELECT {_COLUMNS} FROM events ORDER BY seq")
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e

    def verify(self, expected_head: tuple[int, str] | None = None) -> tuple[int, Tamper | None]:
        """Check gapless ``seq`` and the hash chain; return (events checked, first problem).

        The file alone cannot show that its newest events were cut off together with
        their ``heads`` rows; ``expected_head`` (a seq and hash noted earlier from
        :meth:`head`) closes that gap.

        A problem is classified as ``deleted`` (a seq gap, events missing at the end,
        or fewer events than were committed), ``inserted`` (an event no prematch
        commit wrote), ``reordered`` (an event whose hash belongs at another seq) or
        ``edited`` (content that no longer matches its hash).
        """
        heads = self._heads()
        committed = max(heads, default=0)
        previous = GENESIS_HASH
        count = 0
        for row in self.raw_rows():
            count += 1
            seq, digest = row[0], row[9]
            if seq != count:
                return count, Tamper(
                    seq, "deleted", f"seq {count}..{seq - 1} missing before seq {seq}"
                )
            fields = _hashed_fields(row)
            if fields is None:
                return count, Tamper(seq, "edited", "payload is not valid JSON")
            if seq > committed:
                return count, Tamper(seq, "inserted", "no prematch commit wrote this event")
            if chain_hash(previous, fields) != digest:
                return count, self._classify(seq, previous, committed)
            if heads.get(seq, digest) != digest:
                return count, Tamper(seq, "edited", "its hash was rewritten after commit")
            previous = digest
        if committed > count:
            detail = f"seq {count + 1}..{committed} missing at the end (a commit wrote them)"
            return count, Tamper(count + 1, "deleted", detail)
        if expected_head is not None:
            return count, self._check_anchor(expected_head, count)
        return count, None

    def _check_anchor(self, expected: tuple[int, str], count: int) -> Tamper | None:
        seq, digest = expected
        if seq > count:
            detail = f"seq {count + 1}..{seq} missing at the end (the noted head is seq {seq})"
            return Tamper(count + 1, "deleted", detail)
        row = self._row(seq)
        if row is None or row[9] != digest:
            return Tamper(seq, "edited", "does not match the head you noted")
        return None

    def head(self) -> tuple[int, str]:
        """The newest event's seq and hash (note them elsewhere to anchor the chain)."""
        row = self._conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        found = row.fetchone()
        return (int(found[0]), str(found[1])) if found else (0, GENESIS_HASH)

    def _heads(self) -> dict[int, str]:
        try:
            return dict(self._conn.execute("SELECT seq, hash FROM heads").fetchall())
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e

    def _row(self, seq: int) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._conn.execute(
            f"SELECT {_COLUMNS} FROM events WHERE seq = ?", (seq,)
        ).fetchone()
        return row

    def _classify(self, seq: int, previous: str, committed: int) -> Tamper:
        total = self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        if total < committed:
            return Tamper(
                seq,
                "deleted",
                f"{committed - total} events missing (later seqs renumbered to hide it)",
            )
        moved_from = self._moved_from(seq)
        if moved_from is None:
            following = self._row(seq + 1)
            fields = _hashed_fields(following) if following is not None else None
            if (
                following is not None
                and fields is not None
                and chain_hash(previous, {**fields, "seq": seq}) == following[9]
            ):
                return Tamper(seq, "inserted", "a foreign event sits here; later seqs shifted")
        if moved_from is not None:
            return Tamper(seq, "reordered", f"this event was committed as seq {moved_from}")
        return Tamper(seq, "edited", "content does not match its hash")

    def _moved_from(self, seq: int, window: int = 50) -> int | None:
        row = self._row(seq)
        fields = _hashed_fields(row) if row is not None else None
        if row is None or fields is None:
            return None
        nearby = self._conn.execute(
            "SELECT seq, hash FROM events WHERE seq BETWEEN ? AND ?",
            (seq - window, seq + window),
        ).fetchall()
        predecessors = [h for _, h in nearby] + ([GENESIS_HASH] if seq <= window + 1 else [])
        for candidate, _ in nearby:
            if candidate == seq:
                continue
            moved = {**fields, "seq": candidate}
            if any(chain_hash(p, moved) == row[9] for p in predecessors):
                return int(candidate)
        return None


def _hashed_fields(row: tuple[Any, ...]) -> dict[str, Any] | None:
    seq, season, program, kind, version, occurred, recorded, payload, override, _ = row
    try:
        data = json.loads(payload)
    except (TypeError, ValueError):
        return None
    return {
        "seq": seq,
        "season": season,
        "program": program,
        "type": kind,
        "schema_version": version,
        "occurred_at": occurred,
        "recorded_at": recorded,
        "payload": data,
        "override": override,
    }


def _guard(path: Path, fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except sqlite3.Error as e:
        raise _translate(e, path) from e


def _translate(
    error: sqlite3.Error, path: Path, waited: float = BUSY_TIMEOUT_MS / 1000
) -> StoreError:
    text = str(error)
    if "locked" in text or "busy" in text:
        return StoreBusyError(
            f"{path} is locked by another process (waited {waited:g} s); "
            "try again when it has finished"
        )
    if "readonly" in text or "read-only" in text:
        return StoreError(f"{path} is read-only; prematch cannot write to it")
    if "append-only" in text:
        return StoreError(f"{path}: {text}")
    if "not a database" in text:
        return IntegrityError(f"{path} is not a SQLite database (is --db right?)")
    return StoreError(f"{path}: {text}")
