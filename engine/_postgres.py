"""The PostgreSQL recorder: the event log in a database that many app servers share
(DESIGN §7). Needs psycopg 3 (``pip install 'prematch[postgres]'``), imported only here.

The tables (``events``, ``heads``, ``chain``, ``prematch_store``, and the findings
projection's ``prematch_findings``, a cache beside the log) live in the first
schema of the connection's ``search_path``; prematch creates them (:meth:`PostgresRecorder.open`
with ``create``, i.e. ``prematch init`` or ``prematch migrate``). The server enforces
what the SQLite file does: triggers refuse ``UPDATE``, ``DELETE`` and ``TRUNCATE`` of
``events`` and ``heads``; a unique index on (stream, version), where a stream is
``season/program``, refuses a second event claiming a stream version; ``heads`` notes
each commit's chain head.

**Concurrency.** A write is one ``READ COMMITTED`` transaction. Reading a season in it
(:meth:`PostgresTransaction.season_records`, ``season_last_seq``) or appending to it
first takes a transaction-scoped advisory lock on that season, so writers of one
season are serialized from their first read to their commit (the single-intent race
has one winner), while writers of different seasons read and validate side by side.
Those writers hold one more lock, over every season, shared; a bulk write (an import,
which may touch any number of seasons: one lock each would overflow the server's lock
table at tens of thousands) holds that one alone, and no season lock.
The global ``seq`` and the hash chain are one sequence for the whole store: they are
taken from the one-row ``chain`` table, locked ``FOR UPDATE`` when the transaction
first needs them (it reads :attr:`~PostgresTransaction.last_seq` or appends) and until
it commits. A sequence would leave gaps on rollback; this lock is the trade-off: the
appends and commits of all seasons take turns (the validation before them does not).
A transaction other than a bulk write that appends to a second season while it holds
the chain can deadlock with a writer of that season; the server then aborts one of them,
which fails with :class:`~prematch.engine._errors.StoreBusyError` (try again).

:meth:`PostgresRecorder.snapshot` is one ``REPEATABLE READ`` transaction, so ``verify``
sees one consistent log. psycopg errors are translated by their SQLSTATE.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import operator
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from prematch.engine._chain import CHAIN_COLUMNS, GENESIS_HASH, ChainedTransaction
from prematch.engine._errors import (
    IntegrityError,
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

if TYPE_CHECKING:
    import psycopg

__all__ = ["PG_FORMAT", "PostgresRecorder", "PostgresTransaction"]

PG_FORMAT = 1
"""Version of the PostgreSQL layout (the row of ``prematch_store``)."""

PAGE = 2000
"""How many rows one query of a streamed read fetches."""

_INSERT = (
    f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join(['%s'] * len(StoredEvent._fields))})"
)
_SEASON = operator.itemgetter(1)  # of RECORD_COLUMNS and REPLAY_COLUMNS
_FULL = (RECORD_COLUMNS, rows_to_records)

PROJECT_WAIT_MS = 200
"""How long keeping the findings projection waits for a lock (then skips it)."""

_FINDINGS_TABLE = """CREATE TABLE IF NOT EXISTS prematch_findings (
    season text PRIMARY KEY, last_seq bigint NOT NULL, key text NOT NULL, findings text NOT NULL)"""
_PROJECT = """INSERT INTO prematch_findings (season, last_seq, key, findings)
    VALUES (%s, %s, %s, %s) ON CONFLICT (season) DO UPDATE SET
    last_seq = excluded.last_seq, key = excluded.key, findings = excluded.findings
    WHERE excluded.last_seq >= prematch_findings.last_seq"""

_SCHEMA = [
    "CREATE TABLE prematch_store (format integer NOT NULL)",
    f"INSERT INTO prematch_store VALUES ({PG_FORMAT})",
    """CREATE TABLE events (
        seq bigint PRIMARY KEY,
        season text NOT NULL,
        program text,
        type text NOT NULL,
        schema_version integer NOT NULL,
        occurred_at text NOT NULL,
        recorded_at text NOT NULL,
        payload text NOT NULL,
        override text,
        hash text NOT NULL,
        stream text NOT NULL,
        version integer NOT NULL)""",
    "CREATE UNIQUE INDEX events_stream_version ON events (stream, version)",
    "CREATE INDEX events_season_seq ON events (season, seq)",
    "CREATE INDEX events_season_started ON events (seq) WHERE type = 'season_started'",
    # One row per committed write: the chain's head then (see _sqlite).
    "CREATE TABLE heads (seq bigint PRIMARY KEY, hash text NOT NULL, written_at text NOT NULL)",
    # The newest seq and hash: locked FOR UPDATE to take the next seq (never a gap).
    """CREATE TABLE chain (
        id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL, hash text NOT NULL)""",
    f"INSERT INTO chain VALUES (1, 0, '{GENESIS_HASH}')",
    _FINDINGS_TABLE,
    """CREATE FUNCTION prematch_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'prematch events are append-only'; END $$""",
    *(
        f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION prematch_append_only()"""
        for table in ("events", "heads")
    ),
    *(
        f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION prematch_append_only()"""
        for table in ("events", "heads")
    ),
]

_GUARDS = tuple(
    f"{table}_{kind}" for table in ("events", "heads") for kind in ("append_only", "no_truncate")
)
"""The triggers that make the log append-only on the server (``verify`` checks each)."""

_T = TypeVar("_T")

_ALL_SEASONS = "hashtextextended('prematch-all-seasons', 0)"
"""The advisory lock key over every season: a write holds it shared, a bulk write alone."""
_LOCK_SEASON = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
_LOCK_FIRST_SEASON = (
    f"SELECT pg_advisory_xact_lock_shared({_ALL_SEASONS}), "
    "pg_advisory_xact_lock(hashtextextended(%s, 0))"
)
_LOCK_ALL_SEASONS = f"SELECT pg_advisory_xact_lock({_ALL_SEASONS})"


@contextlib.contextmanager
def _committed(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """One transaction on ``conn``: committed if the block ends normally, else rolled back
    (a failed rollback hides nothing: the block's own error is raised)."""
    import psycopg

    conn.execute("BEGIN")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(psycopg.Error):
            conn.execute("ROLLBACK")
        raise


def label(url: str) -> str:
    """``url`` without its password: how messages name the database."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{netloc}"))


class PostgresTransaction(ChainedTransaction):
    """Reads and appends inside one write transaction of a :class:`PostgresRecorder`.

    :attr:`first_seq`, :attr:`last_seq` and :attr:`last_hash` lock the chain row on
    first use (see the module docstring): from then on, this transaction takes the
    next seqs.
    """

    def __init__(self, conn: psycopg.Connection[Any], now_iso: str, *, bulk: bool = False):
        self._conn = conn
        self._locked: set[str] = set()
        self._bulk = bulk
        if bulk:
            conn.execute(_LOCK_ALL_SEASONS)
        self._chained = False
        self._first = self._last = 0
        self._hash = GENESIS_HASH
        super().__init__(now_iso, 0, GENESIS_HASH)

    def _chain(self) -> None:
        if not self._chained:
            row = self._conn.execute("SELECT seq, hash FROM chain WHERE id = 1 FOR UPDATE")
            seq, digest = row.fetchone() or (0, GENESIS_HASH)
            self._first = self._last = int(seq)
            self._hash = str(digest)
            self._chained = True

    @property
    def first_seq(self) -> int:
        """The newest seq when this transaction took the chain."""
        self._chain()
        return self._first

    @first_seq.setter
    def first_seq(self, value: int) -> None:
        self._first = value

    @property
    def last_seq(self) -> int:
        """The newest seq, counting what this transaction appended."""
        self._chain()
        return self._last

    @last_seq.setter
    def last_seq(self, value: int) -> None:
        self._last = value

    @property
    def last_hash(self) -> str:
        """The hash of the event at :attr:`last_seq`."""
        self._chain()
        return self._hash

    @last_hash.setter
    def last_hash(self, value: str) -> None:
        self._hash = value

    def lock_season(self, season: str) -> None:
        """Take ``season``'s lock (held until the transaction ends); the first also takes
        the lock over every season, shared. A bulk write holds that one alone instead."""
        if season not in self._locked and not self._bulk:
            lock = _LOCK_SEASON if self._locked else _LOCK_FIRST_SEASON
            self._conn.execute(lock, (f"prematch-season:{season}",))
            self._locked.add(season)

    def season_records(self, season: str, after_seq: int = 0) -> list[Record]:
        """Every record of ``season`` with a seq above ``after_seq`` (including those
        appended in this transaction)."""
        self.lock_season(season)
        return rows_to_records(_pages(self._conn, season=season, after=after_seq))

    def season_last_seq(self, season: str) -> int:
        """The seq of the newest record of ``season`` (0 if it has none)."""
        self.lock_season(season)
        row = self._conn.execute("SELECT MAX(seq) FROM events WHERE season = %s", (season,))
        return int((row.fetchone() or (0,))[0] or 0)

    def seasons(self) -> list[str]:
        """Season ids in the order they were started."""
        return _seasons(self._conn)

    def season_start(self, season: str) -> dict[str, Any] | None:
        """``season``'s ``season_started`` payload (``None`` if there is no such season),
        after taking the season's lock: a concurrent start of the same season waits, then
        finds it."""
        self.lock_season(season)
        # A season's first event is its season_started: the (season, seq) index finds it.
        # Asked for its type too, the planner would also scan the partial index of every
        # season_started (one read per season in the store, per season imported).
        row = self._conn.execute(
            "SELECT type, payload FROM events WHERE season = %s ORDER BY seq LIMIT 1", (season,)
        ).fetchone()
        if row is None:
            return None
        if row[0] != "season_started":  # not so in a well-formed log; look further
            row = self._conn.execute(
                "SELECT type, payload FROM events WHERE season = %s AND type = 'season_started' "
                "ORDER BY seq LIMIT 1",
                (season,),
            ).fetchone()
        return None if row is None else cast(dict[str, Any], json.loads(row[1]))

    def append_each(
        self, records: Iterable[Record], each: Callable[[Record], object] | None = None
    ) -> int:
        """:meth:`ChainedTransaction.append_each`, taking each season's lock first."""
        return super().append_each(self._locking(records), each)

    def _locking(self, records: Iterable[Record]) -> Iterator[Record]:
        for record in records:
            self.lock_season(record.season)
            yield record

    def _stored_version(self, stream: str) -> int:
        row = self._conn.execute(
            "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = %s", (stream,)
        )
        return int((row.fetchone() or (0,))[0])

    def _insert(self, events: Iterator[StoredEvent]) -> None:
        # The unique (stream, version) index refuses a version already taken.
        with self._conn.cursor() as cur:
            while batch := list(itertools.islice(events, PAGE)):
                cur.executemany(_INSERT, batch)

    def finish(self, now_iso: str) -> None:
        """Note the new head (if anything was appended), before the commit."""
        if self._chained and self._last > self._first:
            self._conn.execute(
                "INSERT INTO heads (seq, hash, written_at) VALUES (%s, %s, %s)",
                (self._last, self._hash, now_iso),
            )
            self._conn.execute(
                "UPDATE chain SET seq = %s, hash = %s WHERE id = 1", (self._last, self._hash)
            )


def _seasons(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute("SELECT season FROM events WHERE type = 'season_started' ORDER BY seq")
    return [r[0] for r in rows]


def _latest_season(conn: psycopg.Connection[Any], season: str | None) -> str | None:
    if season is None:  # the partial index of season_started rows, newest first
        row = conn.execute(
            "SELECT season FROM events WHERE type = 'season_started' ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    else:  # any event of the season (its first is its season_started): (season, seq)
        row = conn.execute("SELECT season FROM events WHERE season = %s LIMIT 1", (season,))
        row = row.fetchone()
    return None if row is None else str(row[0])


def _pages(
    conn: psycopg.Connection[Any],
    *,
    season: str | None = None,
    after: int = 0,
    last: int | None = None,
    columns: str = RECORD_COLUMNS,
) -> Iterator[tuple[Any, ...]]:
    """Rows in ``seq`` order (of ``season``, above ``after``, up to ``last``), fetched a
    page per query: nothing stays open on the connection between pages.

    ``last`` bounds the page's size (seqs are distinct integers), never the query: with
    ``seq <= last`` in it, the planner took a bitmap scan of the whole range and a sort
    for every page of a freshly imported table (a span of ``verify --jobs`` read its
    150,000 rows 7× slower than all 300,000 without a bound)."""
    where = "seq > %s"
    args: list[Any] = []
    if season is not None:
        where += " AND season = %s"
        args.append(season)
    sql = f"SELECT {columns} FROM events WHERE {where} ORDER BY seq LIMIT %s"
    while last is None or after < last:
        size = PAGE if last is None else min(PAGE, last - after)
        rows = conn.execute(sql, (after, *args, size)).fetchall()
        if last is not None and rows and rows[-1][0] > last:  # past a gap in the seqs
            rows = [row for row in rows if row[0] <= last]
            yield from rows
            return
        yield from rows
        if len(rows) < size:
            return
        after = rows[-1][0]


class _PostgresSnapshot:
    """Reads inside one ``REPEATABLE READ`` transaction: one version of the log."""

    def __init__(self, conn: psycopg.Connection[Any]):
        self._conn = conn

    def events(self, first: int | None = None, last: int | None = None) -> Iterator[StoredEvent]:
        rows = _pages(
            self._conn, after=0 if first is None else first - 1, last=last, columns=EVENT_COLUMNS
        )
        return map(StoredEvent._make, rows)

    def chained(self, first: int = 1, last: int | None = None) -> Iterator[tuple[Any, ...]]:
        return _pages(self._conn, after=first - 1, last=last, columns=CHAIN_COLUMNS)

    def count(self) -> int:
        row = self._conn.execute("SELECT COUNT(*) FROM events").fetchone()
        return int(row[0]) if row else 0

    def heads(self, first: int = 1, last: int | None = None) -> dict[int, str]:
        rows = self._conn.execute(
            "SELECT seq, hash FROM heads WHERE seq >= %s AND (%s::bigint IS NULL OR seq <= %s)",
            (first, last, last),
        )
        return {int(s): str(h) for s, h in rows}

    def missing_guards(self) -> list[str]:
        present = {
            str(name)
            for (name,) in self._conn.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'"
                " AND tgrelid IN ('events'::regclass, 'heads'::regclass)"
            )
        }
        return [name for name in _GUARDS if name not in present]


class PostgresRecorder:
    """The event log in a PostgreSQL database; open one with :meth:`open`.

    Threads: each thread gets its own connection (made on its first use, all closed by
    :meth:`close`); the server orders the writers, of this process and of others.
    """

    def __init__(self, url: str, busy_timeout: float, *, readonly: bool = False):
        self.url = url
        """The connection URL, as given."""
        self.path = label(url)
        """The URL without its password, as messages name the database."""
        self.busy_timeout = busy_timeout
        """Seconds a write waits for another writer's lock."""
        self.readonly = readonly
        """Whether the database was opened read-only (then :meth:`write` raises)."""
        self._conns: ThreadConnections[psycopg.Connection[Any]] = ThreadConnections()
        self._local = threading.local()  # whether this thread is in a write transaction

    @classmethod
    def open(
        cls, url: str, *, create: bool, busy_timeout: float, readonly: bool = False
    ) -> PostgresRecorder:
        """Connect to the database at ``url``; create prematch's tables there if
        ``create`` (and not ``readonly``) and they are missing."""
        recorder = cls(url, busy_timeout, readonly=readonly)
        try:
            recorder._prepare(create=create and not readonly)
        except BaseException:
            recorder.close()
            raise
        return recorder

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            import psycopg
        except ImportError as e:
            raise StoreError(
                "a postgresql:// database needs psycopg: pip install 'prematch[postgres]'",
                path=self.path,
            ) from e
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.Error as e:
            raise _translate(e, self.path, self.busy_timeout) from e
        conn.execute(f"SET lock_timeout = {max(1, int(self.busy_timeout * 1000))}")
        if self.readonly:
            conn.execute("SET default_transaction_read_only = on")
        return conn

    @property
    def _conn(self) -> psycopg.Connection[Any]:
        conn = self._conns.get()
        if conn is None:
            conn = self._conns.put(self._connect())
        return conn

    def _prepare(self, *, create: bool) -> None:
        import psycopg

        conn = self._conn
        try:
            version = self._format(conn)
            if version is None and self._has_table(conn, "events"):
                raise IntegrityError("an events table that is not a prematch store", path=self.path)
            if version is None and create:
                with _committed(conn):
                    # Two processes creating the schema at once: one does, one finds it.
                    conn.execute(_LOCK_SEASON, ("prematch-schema",))
                    if self._format(conn) is None:
                        for statement in _SCHEMA:
                            conn.execute(statement)
                version = self._format(conn)
            elif version is not None and create and not self._has_table(conn, "prematch_findings"):
                self.project(())  # a store of an older prematch: add the cache
        except psycopg.Error as e:
            raise _translate(e, self.path, self.busy_timeout) from e
        if version is None:
            raise StoreError(
                "no prematch store in this database", path=self.path, code="store.missing"
            )
        if version > PG_FORMAT:
            raise newer_store(version, PG_FORMAT, self.path)

    @staticmethod
    def _has_table(conn: psycopg.Connection[Any], name: str) -> bool:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
        return bool(row and row[0])

    def _format(self, conn: psycopg.Connection[Any]) -> int | None:
        if not self._has_table(conn, "prematch_store"):
            return None
        row = conn.execute("SELECT MAX(format) FROM prematch_store").fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def close(self) -> None:
        """Close every thread's connection."""
        self._conns.close_all()

    @contextlib.contextmanager
    def write(self, now_iso: str, *, bulk: bool = False) -> Iterator[PostgresTransaction]:
        """A ``READ COMMITTED`` transaction: commit (noting the new head) if the block
        ends normally, else roll back. See the module docstring for its locks."""
        import psycopg

        if self.readonly:
            raise StoreReadonlyError(
                "the store is read-only; prematch cannot write to it", path=self.path
            )
        if getattr(self._local, "writing", False):
            raise StoreError("cannot start a transaction within a transaction", path=self.path)
        conn = self._conn
        self._local.writing = True
        try:
            with _committed(conn):
                tx = PostgresTransaction(conn, now_iso, bulk=bulk)
                yield tx
                tx.finish(now_iso)
        except psycopg.Error as e:
            raise _translate(e, self.path, self.busy_timeout) from e
        finally:
            self._local.writing = False

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[_PostgresSnapshot]:
        """One ``REPEATABLE READ`` read-only transaction: every read sees the same log."""
        import psycopg

        if getattr(self._local, "writing", False):  # its ROLLBACK would end the write
            raise StoreError("cannot take a snapshot within a write transaction", path=self.path)
        conn = self._conn
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield _PostgresSnapshot(conn)
            finally:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
        except psycopg.Error as e:
            raise _translate(e, self.path, self.busy_timeout) from e

    def _rows(self, rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        import psycopg

        try:
            yield from rows
        except psycopg.Error as e:
            raise _translate(e, self.path, self.busy_timeout) from e

    def _guard(self, fn: Callable[..., _T], *args: Any) -> _T:
        import psycopg

        try:
            return fn(*args)
        except psycopg.Error as e:
            raise _translate(e, self.path, self.busy_timeout) from e

    def seasons(self) -> list[str]:
        """Season ids in the order they were started."""
        return self._guard(_seasons, self._conn)

    def latest_season(self, season: str | None = None) -> str | None:
        """``season`` if stored, or the most recently started one (see the protocol)."""
        return self._guard(_latest_season, self._conn, season)

    def season_records(self, season: str, after_seq: int = 0) -> list[Record]:
        """Every record of ``season`` (with a seq above ``after_seq``), in ``seq`` order."""
        return rows_to_records(self._rows(_pages(self._conn, season=season, after=after_seq)))

    def records(self, season: str | None = None) -> Iterator[Record]:
        """Every record (or one season's), in ``seq`` order, streamed a page at a time."""
        return map(row_to_record, self._rows(_pages(self._conn, season=season)))

    def seasons_records(
        self, first: str | None = None, last: str | None = None, *, replay: bool = False
    ) -> Iterator[tuple[str, list[Record]]]:
        """Every season (ids from ``first`` to ``last``, when both are given) with its
        records, one season at a time, in season-id order, streamed a page at a time (with
        ``replay``, without ``recorded_at`` and ``hash``: see the protocol)."""
        columns, mapped = (REPLAY_COLUMNS, replay_rows_to_records) if replay else _FULL
        rows = self._rows(self._by_season(first, last, columns))
        for season, group in itertools.groupby(rows, key=_SEASON):
            yield season, mapped(group)

    def _by_season(
        self, first: str | None, last: str | None, columns: str
    ) -> Iterator[tuple[Any, ...]]:
        conn = self._conn
        where, args = "", cast(tuple[str, ...], ())
        if first is not None and last is not None:
            where, args = " AND season BETWEEN %s AND %s", (first, last)
        sql = (
            f"SELECT {columns} FROM events WHERE (season, seq) > (%s, %s){where} "
            f"ORDER BY season, seq LIMIT {PAGE}"
        )
        after: tuple[str, int] = ("", 0)
        while True:
            rows = conn.execute(sql, (*after, *args)).fetchall()
            yield from rows
            if len(rows) < PAGE:
                return
            after = (rows[-1][1], rows[-1][0])

    def head(self) -> tuple[int, str]:
        """The newest event's seq and hash."""
        row = self._guard(_head, self._conn)
        return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)

    def projected(self, key: str, seasons: Sequence[str]) -> Iterator[tuple[str, int, str | None]]:
        """Each season's newest seq and its projected findings if current (see the
        protocol): one query, a lookup per season (the seasons go in as an array)."""
        conn = self._conn
        joined = self._guard(self._has_table, conn, "prematch_findings")
        newest = "(SELECT MAX(seq) FROM events WHERE season = j.season)"
        sql = (
            f"SELECT j.season, {newest}, p.last_seq, p.key, p.findings "
            "FROM unnest(%s::text[]) WITH ORDINALITY AS j (season, n) "
            "LEFT JOIN prematch_findings AS p ON p.season = j.season ORDER BY j.n"
            if joined
            else f"SELECT j.season, {newest}, NULL, NULL, NULL "
            "FROM unnest(%s::text[]) WITH ORDINALITY AS j (season, n) ORDER BY j.n"
        )
        rows = self._guard(lambda: conn.execute(sql, (list(seasons),)).fetchall())
        for season, last, seq, kept, text in rows:
            newest_seq = int(last or 0)
            current = seq is not None and int(seq) == newest_seq and kept == key
            yield str(season), newest_seq, str(text) if current else None

    def project(self, rows: Iterable[ProjectedRow]) -> bool:
        """Keep ``rows`` in the findings projection (making its table if missing), in a
        transaction of its own that waits at most :data:`PROJECT_WAIT_MS` for a lock;
        ``False`` (nothing kept) when read-only, busy, or not allowed to make the table."""
        import psycopg

        if self.readonly or getattr(self._local, "writing", False):
            return False
        conn = self._conn
        try:
            with _committed(conn):
                conn.execute(f"SET LOCAL lock_timeout = {PROJECT_WAIT_MS}")
                if not self._has_table(conn, "prematch_findings"):
                    conn.execute(_LOCK_SEASON, ("prematch-schema",))
                    conn.execute(_FINDINGS_TABLE)
                with conn.cursor() as cur:
                    cur.executemany(_PROJECT, list(rows))
        except psycopg.Error as e:
            error = _translate(e, self.path, PROJECT_WAIT_MS / 1000)
            # 42501: not allowed to make the table (a role without CREATE on the schema).
            if isinstance(error, StoreBusyError | StoreReadonlyError) or getattr(
                e, "sqlstate", None
            ) in ("42501", "23505"):
                return False
            raise error from e
        return True


def _head(conn: psycopg.Connection[Any]) -> tuple[Any, ...] | None:
    return conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()


def _translate(error: Exception, path: str, waited: float) -> StoreError:
    """The prematch error for a psycopg error, chosen by its SQLSTATE."""
    state: str = getattr(error, "sqlstate", None) or ""
    if state in ("55P03", "40P01", "40001", "57014"):
        # lock_not_available (lock_timeout), deadlock_detected, serialization_failure,
        # query_canceled
        return StoreBusyError(
            f"the store is locked by another writer (waited up to {waited:g} s); "
            "try again when it has finished",
            path=path,
        )
    if state == "25006":  # read_only_sql_transaction
        return StoreReadonlyError("the store is read-only; prematch cannot write to it", path=path)
    if state == "23505":  # unique_violation: (stream, version) or seq already taken
        return StoreError(
            "another event already holds this stream version or seq (a concurrent writer?); "
            "try again",
            path=path,
        )
    if state == "P0001":  # raise_exception: the append-only triggers
        return StoreError("prematch events are append-only", path=path)
    if state == "42P01":  # undefined_table
        return StoreError("no prematch store in this database", path=path, code="store.missing")
    if state.startswith("08") or not state:
        # A failed connection carries no SQLSTATE (libpq reports it as text): say what
        # the server or libpq said, after its "FATAL:" or "failed:".
        said = " ".join(str(error).split())
        for mark in ("FATAL:", "failed:"):
            said = said.rsplit(mark, 1)[-1].strip()
        return StoreError(
            f"cannot connect to the database: {said or type(error).__name__}; "
            "check the URL (host, port, user, password, database name)",
            path=path,
        )
    return StoreError(f"the database refused the operation (SQLSTATE {state})", path=path)
