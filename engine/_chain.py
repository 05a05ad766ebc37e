"""The hash chain: how appends extend it and how :func:`verify` checks it (DESIGN §7).

Each event's ``hash`` is SHA-256 over the previous event's hash and the event's
:func:`~prematch.engine._mapper.hashed_json`; each committed write also notes its
head. :class:`ChainedTransaction` is the append side every recorder shares;
:func:`verify` reads one consistent :class:`~prematch.engine._recorder.Snapshot` of
any recorder and names the first place where the chain does not hold (a
:class:`Tamper`).

An append stores the canonical text it hashed, and every backend gives it back as
stored, so :func:`verify` hashes each event's stored text as it stands; it decodes an
event (re-encoding its payload canonically) only when that text does not give its hash,
to tell the same JSON written differently from an edit, and to say what is wrong.

Where the package was compiled with it, ``_chain_accel`` (C: CPython's API and OpenSSL's
SHA-256) runs the quick part of that check: it passes the events that plainly hold and
hands every other one to the Python walk here, which alone judges; without it the whole
check runs in Python, with the same verdicts.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from prematch.engine._mapper import StoredEvent, hashed_json, stored_fields, stored_hashed_json
from prematch.engine._recorder import Recorder, Snapshot
from prematch.engine._records import Record

__all__ = [
    "CHAIN_COLUMNS",
    "GENESIS_HASH",
    "TAMPER_KINDS",
    "ChainedTransaction",
    "Mark",
    "Span",
    "SpanChecker",
    "Tamper",
    "Verification",
    "check_span",
    "link_hash",
    "verify",
]

GENESIS_HASH = "0" * 64
"""The ``previous hash`` of the first event in a store."""

CHAIN_COLUMNS = ", ".join(StoredEvent._fields[:10])
"""The columns :func:`verify` reads of every event, in :class:`StoredEvent` order: the nine
the chain hash covers (``seq`` .. ``override``) and the ``hash`` (a backend's
:meth:`~prematch.engine._recorder.Snapshot.chained`)."""

_new_tuple = tuple.__new__
_sha256 = hashlib.sha256

_SkipHolding = Callable[
    [Iterator[tuple[Any, ...]], int, str, dict[int, str], int],
    tuple[int, str, tuple[Any, ...] | None],
]


def _compiled_pass() -> _SkipHolding | None:
    try:
        from prematch.engine._chain_accel import skip_holding
    except ImportError:  # built without a C compiler or OpenSSL's headers: verify in Python
        return None
    return skip_holding


_skip_holding = _compiled_pass()
ACCELERATED = _skip_holding is not None
"""Whether :func:`verify`'s quick pass is compiled (``prematch.engine._chain_accel``):
the same verdicts either way, the compiled pass at about 1.5× the rate."""


def link_hash(previous: str, hashed: str) -> str:
    """The chain hash of an event: SHA-256 over the previous event's hash and the
    event's :func:`~prematch.engine._mapper.hashed_json`."""
    return _sha256(f"{previous}\n{hashed}".encode()).hexdigest()


class Mark(NamedTuple):
    """Where a :class:`ChainedTransaction` stood before one writer's part of it."""

    last_seq: int
    last_hash: str
    versions: dict[str, int]
    fresh: frozenset[str]


class ChainedTransaction(ABC):
    """The append side of a write transaction, shared by the recorders: assigns ``seq``,
    ``recorded_at``, the chain hash and each stream's next version.

    A recorder subclasses it with the reads of :class:`~prematch.engine._recorder.Transaction`,
    :meth:`_stored_version` and :meth:`_insert`.
    """

    def __init__(self, now_iso: str, last_seq: int, last_hash: str):
        self._now = now_iso
        self.first_seq: int = last_seq
        """The newest seq when the transaction began."""
        self.last_seq: int = last_seq
        """The newest seq, counting what this transaction appended."""
        self.last_hash: str = last_hash
        """The hash of the event at :attr:`last_seq`."""
        self._fresh: set[str] = set()
        self._versions: dict[str, int] = {}  # each stream's latest version, once looked up
        self.watch: Callable[[Record], object] | None = None
        """Called with each record as stored (the store sets it when it has hooks)."""

    @property
    def now_iso(self) -> str:
        """The instant an appended record without ``recorded_at`` is recorded at."""
        return self._now

    def part(self, now_iso: str) -> Mark:
        """Start one writer's part of a transaction several writers share (SQLite's group
        commit): its now for ``recorded_at``, no watcher yet, and the mark that
        :meth:`undo` returns to if the part fails."""
        self._now = now_iso
        self.watch = None
        return Mark(self.last_seq, self.last_hash, dict(self._versions), frozenset(self._fresh))

    def undo(self, mark: Mark) -> None:
        """Forget what was appended since ``mark`` (its rows were rolled back)."""
        self.last_seq, self.last_hash = mark.last_seq, mark.last_hash
        self._versions, self._fresh = dict(mark.versions), set(mark.fresh)

    def append(self, records: Iterable[Record]) -> list[Record]:
        """Append records in order; return them as stored (seq, recorded_at and hash set).

        The records' own ``seq`` and ``hash`` are ignored (the recorder assigns them);
        an empty ``recorded_at`` becomes the transaction's now.
        """
        stored: list[Record] = []
        self.append_each(records, stored.append)
        return stored

    def append_each(
        self, records: Iterable[Record], each: Callable[[Record], object] | None = None
    ) -> int:
        """:meth:`append` for bulk work: rows are built while the recorder consumes them.

        Nothing is kept per record: ``each`` (if given) sees every record as stored.
        Returns how many were appended.
        """
        before = self.last_seq
        self._insert(self._events(records, each))
        return self.last_seq - before

    def _events(
        self, records: Iterable[Record], each: Callable[[Record], object] | None
    ) -> Iterator[StoredEvent]:
        versions = self._versions
        for r in records:
            stream = f"{r.season}/{r.program or ''}"
            if r.type == "season_started":
                self._fresh.add(r.season)
            version = versions.get(stream)
            if version is None:
                # A season started in this transaction has no history to look up.
                version = 0 if r.season in self._fresh else self._stored_version(stream)
            versions[stream] = version = version + 1
            seq = self.last_seq + 1
            recorded = r.recorded_at or self._now
            fields = stored_fields(r, seq, recorded)
            digest = link_hash(self.last_hash, hashed_json(*fields))
            self.last_seq, self.last_hash = seq, digest
            if each is not None or self.watch is not None:
                stored = r._replace(seq=seq, recorded_at=recorded, hash=digest)
                if each is not None:
                    each(stored)
                if self.watch is not None:
                    self.watch(stored)
            yield _new_tuple(StoredEvent, (*fields, digest, stream, version))

    @abstractmethod
    def _stored_version(self, stream: str) -> int:
        """The latest version of ``stream`` already stored (0 if none)."""

    @abstractmethod
    def _insert(self, events: Iterator[StoredEvent]) -> None:
        """Store ``events`` in this transaction, refusing a (stream, version) already taken."""


TAMPER_KINDS = ("edited", "deleted", "inserted", "reordered", "unguarded")
"""Every :attr:`Tamper.kind` ``verify`` reports."""


@dataclass(frozen=True, slots=True)
class Tamper:
    """The first place where the stored chain does not hold."""

    seq: int
    kind: str
    """``edited``, ``deleted``, ``inserted``, ``reordered``, or ``unguarded`` (the chain
    holds, but the guards that refuse edits and deletions were removed)."""
    detail: str

    def to_json(self) -> dict[str, Any]:
        """``{"seq", "kind", "detail"}``."""
        return {"seq": self.seq, "kind": self.kind, "detail": self.detail}


class _Checked(NamedTuple):
    events: int
    """How many events were checked."""
    problem: Tamper | None
    """The first place the chain does not hold, or ``None``."""


class Verification(_Checked):
    """What :meth:`~prematch.engine.Store.verify` found: unpacks as (and equals)
    ``events, problem``, with the :attr:`head` it checked besides."""

    head: tuple[int, str] | None = None
    """The head the chain holds up to (the seq and hash of the newest event), to note and
    give back as ``expected_head`` later; ``None`` if the chain is broken or the store
    is empty."""

    def __new__(
        cls, events: int, problem: Tamper | None, head: tuple[int, str] | None = None
    ) -> Verification:
        """``events, problem`` and the ``head`` checked."""
        self = super().__new__(cls, events, problem)
        self.head = head
        return self

    def __getnewargs__(self) -> tuple[Any, ...]:
        """What a copy (or a pickle) is made from: the head too."""
        return (self.events, self.problem, self.head)

    @property
    def ok(self) -> bool:
        """Whether the chain holds."""
        return self.problem is None

    def to_json(self) -> dict[str, Any]:
        """The ``verify --json`` shape: ``{"events", "ok", "problem", "head"}``, the head
        as ``verify`` prints it (``SEQ:SHA256``) or ``null``."""
        return {
            "events": self.events,
            "ok": self.ok,
            "problem": None if self.problem is None else self.problem.to_json(),
            "head": None if self.head is None else f"{self.head[0]}:{self.head[1]}",
        }


def verify(
    recorder: Recorder,
    expected_head: tuple[int, str] | None = None,
    spans: SpanChecker | None = None,
    parts: int = 1,
) -> Verification:
    """Check gapless ``seq`` and the hash chain of one consistent snapshot of ``recorder``;
    return (events checked, first problem). See :meth:`prematch.engine.Store.verify`.

    With ``parts`` > 1 and ``spans`` (which runs :func:`check_span` on each :class:`Span`,
    in other processes, and yields its results in order), the events are checked in
    ``parts`` spans at once; from the first span that does not pass, the check goes on
    here one event at a time, so the verdict is the one a single pass gives.
    """
    with recorder.snapshot() as snapshot:
        events, problem = _verify(snapshot, expected_head, spans, parts)
        newest = _event(snapshot, events) if problem is None and events else None
        return Verification(events, problem, None if newest is None else (events, newest[_HASH]))


class Span(NamedTuple):
    """A run of seqs checked on its own: from ``first`` to ``last`` (``None``: the end of
    the log), chained to ``previous``, the stored hash of the event before ``first``."""

    first: int
    last: int | None
    previous: str


SpanChecker = Callable[[list[Span], int], Iterable[tuple[int, bool]]]
"""Runs :func:`check_span` on each span (given the newest committed seq), each in a
snapshot of its own, and yields the results in order."""


def check_span(snapshot: Snapshot, span: Span, committed: int) -> tuple[int, bool]:
    """The quick check of one span, ``committed`` being the newest seq a commit noted when
    the whole check began: the seq the span reached and whether every event in it holds
    as stored (an event that needs a closer look does not)."""
    heads = snapshot.heads(span.first, span.last)
    rows = snapshot.chained(span.first, span.last)
    count, _, odd, _ = _walk(rows, span.first - 1, span.previous, heads, committed)
    return count, odd is None and (span.last is None or count == span.last)


def _walk(
    rows: Iterable[tuple[Any, ...]],
    count: int,
    previous: str,
    heads: dict[int, str],
    committed: int,
) -> tuple[int, str, tuple[Any, ...] | None, bool]:
    """Check ``rows`` while each holds as stored; stop at the first that does not and
    return it (``None``: all held) and whether its stored text gives its hash, with the
    seq reached and the hash it chains to.

    The compiled quick pass (when built) skips the rows that plainly hold; each row it
    hands back is judged by :func:`_walk_each`, so the verdict is always this module's.
    """
    if _skip_holding is None:
        return _walk_each(rows, count, previous, heads, committed)
    rest = iter(rows)
    while True:
        count, previous, row = _skip_holding(rest, count, previous, heads, committed)
        if row is None:
            return count, previous, None, True
        count, previous, odd, intact = _walk_each((row,), count, previous, heads, committed)
        if odd is not None:
            return count, previous, odd, intact


def _walk_each(
    rows: Iterable[tuple[Any, ...]],
    count: int,
    previous: str,
    heads: dict[int, str],
    committed: int,
) -> tuple[int, str, tuple[Any, ...] | None, bool]:
    """:func:`_walk` in Python, one row at a time."""
    for row in rows:
        seq, season, program, kind, version, occurred, recorded, payload, override, digest = row
        if seq != count + 1:
            return count, previous, row, False
        # The append hashed the text it stored: hash that text as it stands.
        try:
            hashed = hashed_json(
                seq, season, program, kind, version, occurred, recorded, payload, override
            )
            intact = link_hash(previous, hashed) == digest and isinstance(version, int)
        except TypeError:  # a field that lost its stored type (a number where text belongs)
            intact = False
        if not intact or seq > committed or heads.get(seq, digest) != digest:
            return count, previous, row, intact
        count, previous = seq, digest
    return count, previous, None, True


def _verify(
    snapshot: Snapshot,
    expected_head: tuple[int, str] | None,
    spans: SpanChecker | None,
    parts: int,
) -> tuple[int, Tamper | None]:
    heads = snapshot.heads()
    committed = max(heads, default=0)
    count, previous = 0, GENESIS_HASH
    if spans is not None and min(parts, committed) > 1:
        count, previous = _by_spans(snapshot, committed, min(parts, committed), spans)
    rows = snapshot.chained(count + 1)
    while True:
        count, previous, row, intact = _walk(rows, count, previous, heads, committed)
        if row is None:
            break
        # A closer look at the event the quick check stopped at: only an event whose
        # stored text does not give its hash is decoded (its payload re-encoded).
        seq, digest = row[0], row[9]
        count += 1
        if seq != count:
            return count, Tamper(seq, "deleted", f"seq {count}..{seq - 1} missing before seq {seq}")
        if not intact:
            problem = _decoded(snapshot, row, previous, committed)
            if problem is not None:
                return count, problem
        elif seq > committed:
            return count, Tamper(seq, "inserted", "no prematch commit wrote this event")
        if heads.get(seq, digest) != digest:
            return count, Tamper(seq, "edited", "its hash was rewritten after commit")
        previous = digest
    if committed > count:
        detail = f"seq {count + 1}..{committed} missing at the end (a commit wrote them)"
        return count, Tamper(count + 1, "deleted", detail)
    if expected_head is not None and (anchored := _check_anchor(snapshot, expected_head, count)):
        return count, anchored
    missing = snapshot.missing_guards()
    if missing:
        detail = (
            f"the guard{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"{'are' if len(missing) > 1 else 'is'} gone: the file no longer refuses edits "
            "and deletions (someone changed it behind prematch's back); compare it with a backup"
        )
        return count, Tamper(count, "unguarded", detail)
    return count, None


def _by_spans(
    snapshot: Snapshot, committed: int, parts: int, spans: SpanChecker
) -> tuple[int, str]:
    """Check the log in ``parts`` spans at once (the last open-ended); return where the
    one-by-one check goes on: after the last span, or at the start of the first span
    that did not pass, with the hash it chains to."""
    firsts = [1 + committed * k // parts for k in range(parts)]
    todo = [Span(1, None, GENESIS_HASH)]
    for first in firsts[1:]:
        before = _event(snapshot, first - 1)
        if before is None:  # a gap: the one-by-one check names it
            return 0, GENESIS_HASH
        todo[-1] = todo[-1]._replace(last=first - 1)
        todo.append(Span(first, None, before[_HASH]))
    reached = 0
    for span, (reached, held) in zip(todo, spans(todo, committed), strict=True):  # noqa: B007
        if not held:
            return span.first - 1, span.previous
    end = _event(snapshot, reached)  # the last span's end
    return (reached, end[_HASH]) if end is not None else (0, GENESIS_HASH)


def _decoded(
    snapshot: Snapshot, row: tuple[Any, ...], previous: str, committed: int
) -> Tamper | None:
    """The check of one event whose stored text does not give its hash, on its decoded
    fields: ``None`` if its payload, re-encoded canonically, does (the same JSON
    written differently), else what is wrong with it."""
    seq = row[0]
    hashed = stored_hashed_json(row)
    if hashed is None:
        if any(isinstance(value, bytes) for value in row):
            return Tamper(seq, "edited", "a field holds bytes, not UTF-8 text")
        return Tamper(seq, "edited", "payload is not valid JSON, or a field lost its stored type")
    if seq > committed:
        return Tamper(seq, "inserted", "no prematch commit wrote this event")
    if link_hash(previous, hashed) != row[9]:
        return _classify(snapshot, seq, previous, committed)
    return None


_HASH = 9
"""The stored hash's place in a row of :meth:`Snapshot.chained` (``CHAIN_COLUMNS``)."""


def _event(snapshot: Snapshot, seq: int) -> tuple[Any, ...] | None:
    """The event at ``seq`` as :meth:`Snapshot.chained` reads it (so even with text a
    backend cannot decode, as bytes), or ``None``."""
    return next(snapshot.chained(seq, seq), None)


def _check_anchor(snapshot: Snapshot, expected: tuple[int, str], count: int) -> Tamper | None:
    seq, digest = expected
    if seq > count:
        detail = f"seq {count + 1}..{seq} missing at the end (the noted head is seq {seq})"
        return Tamper(count + 1, "deleted", detail)
    event = _event(snapshot, seq)
    if event is None or event[_HASH] != digest:
        return Tamper(seq, "edited", "does not match the head you noted")
    return None


def _classify(snapshot: Snapshot, seq: int, previous: str, committed: int) -> Tamper:
    total = snapshot.count()
    if total < committed:
        return Tamper(
            seq,
            "deleted",
            f"{committed - total} event{'s' if committed - total != 1 else ''} missing "
            "(later seqs renumbered to hide it)",
        )
    moved_from = _moved_from(snapshot, seq)
    if moved_from is not None:
        return Tamper(seq, "reordered", f"this event was committed as seq {moved_from}")
    following = _event(snapshot, seq + 1)
    if following is not None:
        hashed = stored_hashed_json(following, seq)
        if hashed is not None and link_hash(previous, hashed) == following[_HASH]:
            return Tamper(seq, "inserted", "a foreign event sits here; later seqs shifted")
    return Tamper(seq, "edited", "content does not match its hash")


def _moved_from(snapshot: Snapshot, seq: int, window: int = 50) -> int | None:
    event = _event(snapshot, seq)
    if event is None:
        return None
    nearby: list[tuple[int, str]] = [
        (e[0], e[_HASH]) for e in snapshot.chained(max(1, seq - window), seq + window)
    ]
    predecessors = [h for _, h in nearby] + ([GENESIS_HASH] if seq <= window + 1 else [])
    for candidate, _ in nearby:
        if candidate == seq:
            continue
        moved = stored_hashed_json(event, candidate)
        if moved is None:
            return None
        if any(link_hash(p, moved) == event[_HASH] for p in predecessors):
            return candidate
    return None
