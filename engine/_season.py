"""The Season: the public face of the engine for one applicant's season.

Writes go through :meth:`Season.record` (and the helpers built on it), each in
one ``BEGIN IMMEDIATE`` transaction: read the season, admit the new event
(:func:`prematch.engine._admission.admit`), append, commit. Reads replay the log.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from prematch.engine._actions import ACTIONS
from prematch.engine._admission import admit, admit_next, goes_last, retraction_problem
from prematch.engine._clock import Clock, TimeReading, read_instant, system_clock
from prematch.engine._errors import InputError, PrematchError, UnknownSeasonError, located
from prematch.engine._intake import (
    Intake,
    Pending,
    normalize_event_type,
    place_dates,
    program_zones,
)
from prematch.engine._queries import (
    AuditReport,
    NowReport,
    SeasonSummary,
    StatusReport,
    audit_records,
    judge_action,
    program_status,
    summarize,
    what_now,
)
from prematch.engine._records import Record, utc_iso
from prematch.engine._replay import FOUNDING, in_replay_order, phase, replay, retracted_seqs
from prematch.engine._rulebook import RulebookProtocol
from prematch.engine._state import SeasonState
from prematch.engine._store import SeasonSnapshot, Store, Transaction
from prematch.engine._verdicts import Finding, Judged, Verdict

__all__ = [
    "PREVIEWED",
    "HistoryEntry",
    "Preview",
    "Season",
    "history_entries",
    "normalize_event_type",
]

PREVIEWED = "previewed: what if it were sent anyway"
"""The override a blocked event of :meth:`Season.preview` is kept with (never written)."""


class Preview(NamedTuple):
    """What :meth:`Season.preview` found: recording the events would give this."""

    findings: tuple[tuple[Finding, ...], ...]
    """What the rulebook says about each event, in the order given (a block means it
    would be refused without an override)."""
    state: SeasonState
    """The season's state with the events, as of the latest of them (or of ``at``)."""
    now: NowReport
    """:meth:`Season.what_now` with the events, as of that instant."""

    def to_json(self) -> dict[str, Any]:
        """``{"findings": [[finding, ...] per event], "state": SeasonState.to_json(),
        "now": NowReport.to_json()}``."""
        return {
            "findings": [[f.to_json() for f in found] for found in self.findings],
            "state": self.state.to_json(),
            "now": self.now.to_json(),
        }


_FACTS = phase("note_added")
"""The replay phase of the events after the founding ones (those ``at`` may leave out)."""

_LATEST = dt.datetime(9999, 12, 30, tzinfo=dt.UTC)
"""The clock a preview's intake reads against: a preview may look into the future."""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One record in replay order, and whether a later retraction cancelled it."""

    record: Record
    retracted: bool

    def to_json(self) -> dict[str, Any]:
        """The ``history --json`` event shape of DESIGN §6."""
        r = self.record
        return {
            "seq": r.seq,
            "type": r.type,
            "program": r.program,
            "occurred_at": utc_iso(r.occurred_at),
            "recorded_at": r.recorded_at,
            "payload": r.payload,
            "override": r.override,
            "retracted": self.retracted,
        }


def history_entries(records: Sequence[Record], at: dt.datetime) -> list[HistoryEntry]:
    """:meth:`Season.history` of a season's ``records`` (in ``seq`` order) as of ``at``."""
    gone = retracted_seqs(records)
    visible = [r for r in records if r.occurred_at <= at or r.type in FOUNDING]
    return [HistoryEntry(r, r.seq in gone) for r in in_replay_order(visible)]


class Season:
    """One season of one applicant in a :class:`~prematch.engine._store.Store`.

    ``rulebook`` judges actions and events: an explicit choice, ``policies.Rulebook()``
    or ``NoRules()`` (then only the state machine applies). ``clock`` returns the
    current aware instant.
    """

    def __init__(
        self,
        store: Store,
        season_id: str,
        *,
        rulebook: RulebookProtocol,
        clock: Clock = system_clock,
    ):
        self.store = store
        self.id = season_id
        self.rulebook = rulebook
        self.clock = clock
        self._timezone: str | None = None

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        store: Store,
        season_id: str | None = None,
        *,
        rulebook: RulebookProtocol,
        clock: Clock = system_clock,
    ) -> Season:
        """The named season, or (``None``) the most recently started one."""
        if season_id is not None and not isinstance(season_id, str):
            raise InputError("the season id must be text", field="season")
        found = store.latest_season(season_id)  # a lookup: no listing of every season
        if found is None and (season_id is None or store.latest_season() is None):
            raise UnknownSeasonError("the store holds no season yet", season=season_id)
        if found is None:
            raise UnknownSeasonError(f"no season {season_id!r}", season=season_id)
        return cls(store, found, rulebook=rulebook, clock=clock)

    @classmethod
    def start(
        cls,
        store: Store,
        season_id: str,
        *,
        at: dt.datetime | str | None = None,
        rulebook: RulebookProtocol,
        clock: Clock = system_clock,
        **fields: Any,
    ) -> Season:
        """Write ``season_started`` for a new season and return it.

        ``fields`` are the payload of DESIGN §2: ``match_year``, ``specialty``,
        ``timezone``, ``visa``, ``applicant_name``, optional ``aamc_id``, ``ecfmg_id``.
        """
        now = clock()
        _check_text(season_id, "season", "the season id")
        pending = Intake({}, now).from_fields(
            "season_started",
            None,
            season=season_id,
            at=None if at is None else _checked_at(at),
            override=None,
            payload=fields,
        )
        season = cls(store, season_id, rulebook=rulebook, clock=clock)
        with store.write(utc_iso(now)) as tx:
            if tx.season_last_seq(season_id):  # a lookup (and, on a server, the season's lock)
                raise InputError(f"season {season_id!r} already exists", field="season")
            record = pending.record(tx.last_seq + 1)
            state = SeasonState.start(record)  # the calendar must load
            rulebook.for_season(state)  # so must the season's settings, for this rulebook
            tx.append([record])
        return season

    # -- reading -------------------------------------------------------------------------

    def records(self) -> list[Record]:
        """Every stored record of this season, in ``seq`` order."""
        return self.store.season_records(self.id)

    @property
    def timezone(self) -> str:
        """The season's IANA timezone."""
        if self._timezone is None:
            # The store's cached snapshot: a Season opened per request reads no old record.
            records = self.store.snapshot(self.id).records
            if not records:
                raise UnknownSeasonError(f"season {self.id!r} holds no events", season=self.id)
            self._timezone = str(records[0].payload["timezone"])
        return self._timezone

    def instant(self, value: dt.datetime | str | None) -> dt.datetime:
        """The instant a question is asked at: a datetime, an ISO string (without an offset,
        or a date = its midnight, in the season's timezone), or now. Unlike an event's time,
        it may be in the future."""
        return self.clock() if value is None else read_instant(_checked_at(value), self.timezone)

    def state(self, at: dt.datetime | str | None = None) -> SeasonState:
        """The season's state as of ``at`` (default: the clock's now)."""
        state = replay(self.records(), self.instant(at))
        if state is None:
            raise UnknownSeasonError(f"season {self.id!r} holds no events", season=self.id)
        return state

    def history(self, at: dt.datetime | str | None = None) -> list[HistoryEntry]:
        """Every record up to ``at`` in replay order, retracted ones flagged (the season's
        founding records, ``season_started`` and ``program_added``, at every instant)."""
        return history_entries(self.records(), self.instant(at))

    # -- questions -----------------------------------------------------------------------

    def check(self, action: str, program: str, at: dt.datetime | str | None = None) -> Verdict:
        """The verdict on sending ``action`` to ``program`` at ``at`` (default now)."""
        _check_text(action, "action", "an action")
        _check_text(program, "program", "a program id")
        if action not in ACTIONS:
            raise InputError(
                f"unknown action {action!r}; actions: {', '.join(ACTIONS)}", field="action"
            )
        moment = self.instant(at)
        state = self._state_to_ask(moment)
        return judge_action(state, program, action, moment, self.rulebook.for_season(state))

    def what_now(self, at: dt.datetime | str | None = None) -> NowReport:
        """Per program: what may be sent now, what is due, what opens later, what is blocked."""
        moment = self.instant(at)
        state = self._state_to_ask(moment)
        return what_now(state, moment, self.rulebook.for_season(state))

    def _state_to_ask(self, moment: dt.datetime, snap: SeasonSnapshot | None = None) -> SeasonState:
        """The state as of ``moment`` for a question (only read, never changed): the store's
        cached snapshot (``snap``, when the caller has it) when no event of the season
        happened after ``moment`` (then the two are the same; a service asking ``now``
        replays nothing), else replayed."""
        if snap is None:
            snap = self.store.snapshot(self.id)
        key = snap.last_key
        if snap.state is not None and (key is None or key[0] < _FACTS or key[1] <= moment):
            return snap.state
        return self.state(moment)

    def status(self, at: dt.datetime | str | None = None) -> StatusReport:
        """One row per program as of ``at`` (default now): state, interview, last message,
        the next thing to do and by when, findings; most urgent first (DESIGN §6)."""
        return program_status(*self._overview(at))

    def summary(self, at: dt.datetime | str | None = None) -> SeasonSummary:
        """The season in one line as of ``at`` (default now): blocks, warns, the next
        deadline, programs per state (``audit --all --summary``)."""
        return self.summary_and_audit(at)[0]

    def summary_and_audit(
        self, at: dt.datetime | str | None = None
    ) -> tuple[SeasonSummary, AuditReport]:
        """:meth:`summary` and :meth:`audit` as of ``at``, from one audit (an advisor's page
        shows both)."""
        moment = self.instant(at)
        snap = self.store.snapshot(self.id)
        state = self._state_to_ask(moment, snap)
        judge = self.rulebook.for_season(state)
        audit = audit_records(self.id, snap.records, self.rulebook, at=moment)
        return summarize(state, moment, judge, audit), audit

    def _overview(self, at: dt.datetime | str | None) -> tuple[SeasonState, NowReport, AuditReport]:
        """The state, ``now`` and the audit as of ``at``, from one read of the season."""
        moment = self.instant(at)
        snap = self.store.snapshot(self.id)
        state = self._state_to_ask(moment, snap)
        now = what_now(state, moment, self.rulebook.for_season(state))
        return state, now, audit_records(self.id, snap.records, self.rulebook, at=moment)

    def audit(self, at: dt.datetime | str | None = None) -> AuditReport:
        """Every finding over the whole history, each tied to its event seq, and the
        checklist of what is still undone as of ``at`` (default now)."""
        return audit_records(self.id, self.records(), self.rulebook, at=self.instant(at))

    def preview(
        self, events: Sequence[Mapping[str, Any]], *, at: dt.datetime | str | None = None
    ) -> Preview:
        """What recording ``events`` (in order) would give, written nowhere: "what if I
        send this on that date". It works on any store, a read-only one too.

        Each event is an object as an import line gives it (``type``, ``program``, ``at``,
        ``override``, the payload fields); ``at`` may be in the future and defaults to
        now. An event the rulebook blocks is kept as if sent anyway (its findings say
        so), so the events after it are judged with it; one the state machine does not
        allow raises :class:`StructuralError`, bad input :class:`InputError` (with the
        event's position, from 1, as its ``line``). The state and the what-now report
        are as of ``at``, by default the latest event's instant (or now, if later).
        """
        now = self.clock()
        intake = Intake(
            {self.id: self.timezone},
            _LATEST,
            current=self.id,
            programs=lambda _: program_zones(self.store.snapshot(self.id).records),
        )
        if isinstance(events, str | Mapping) or not isinstance(events, Sequence):
            raise InputError("preview takes a list of events (objects of fields)")
        pending: list[Pending] = []
        for line, event in enumerate(events, start=1):
            if not isinstance(event, Mapping):
                raise InputError("each event must be an object of fields", line=line)
            fields = {"at": now, **event}
            with located(line=line):
                fields["at"] = _checked_at(fields["at"])
            if fields.get("season", self.id) != self.id:
                raise InputError(
                    "a preview's events belong to its season", field="season", line=line
                )
            pending.append(intake.from_object(fields, line))
        intake.settle()
        existing = self.records()
        place_dates(existing, pending, _LATEST)
        first = max(self.store.head()[0], existing[-1].seq if existing else 0) + 1
        candidates = [p.record(first + n) for n, p in enumerate(pending)]
        admitted = admit(existing, candidates, self.rulebook, blocked_override=PREVIEWED)
        moment = (
            self.instant(at) if at is not None else max([now, *(r.occurred_at for r in candidates)])
        )
        state = replay([*existing, *(j.record for j in admitted)], moment)
        if state is None:
            raise UnknownSeasonError("the season holds no events", season=self.id)
        return Preview(
            tuple(j.findings for j in admitted),
            state,
            what_now(state, moment, self.rulebook.for_season(state)),
        )

    # -- writing -------------------------------------------------------------------------

    def record(
        self,
        event_type: str,
        program: str | None = None,
        *,
        at: dt.datetime | str | None = None,
        override: str | None = None,
        **fields: Any,
    ) -> Judged:
        """Validate, judge and append one event; refuse (raise) and write nothing if not allowed.

        ``at`` is an aware datetime, ISO text, or ``None`` (now). Text without an offset is
        read in the program's timezone for events at the program, else in the season's
        (:meth:`reading` says which); a date alone is placed within that day, after the
        day's events recorded before it (:func:`~prematch.engine._intake.place_dates`).
        """
        _check_text(event_type, "type", "an event type")
        if normalize_event_type(event_type) == "season_started":
            raise InputError(
                "a season has one season_started, written when it starts", field="type"
            )
        pending = self._intake().from_fields(
            event_type,
            program,
            season=self.id,
            at=None if at is None else _checked_at(at),
            override=override,
            payload=fields,
        )
        return self._append(pending, happens_now=at is None)

    def record_many(
        self,
        event_type: str,
        programs: Sequence[str],
        *,
        at: dt.datetime | str | None = None,
        override: str | None = None,
        **fields: Any,
    ) -> tuple[Judged, ...]:
        """One ``event_type`` event per program of ``programs`` (each with the same ``at``,
        ``override`` and fields), judged together and appended in one transaction: every
        one is recorded, or (one refused) none. Returns them in the order given."""
        _check_text(event_type, "type", "an event type")
        if isinstance(programs, str) or not isinstance(programs, Sequence) or not programs:
            raise InputError("record_many takes a non-empty list of program ids", field="program")
        for program in programs:
            _check_text(program, "program", "a program id")
        twice = sorted({p for p in programs if programs.count(p) > 1})
        if twice:
            raise InputError(f"a program is named twice: {', '.join(twice)}", field="program")
        if normalize_event_type(event_type) == "season_started":
            raise InputError(
                "a season has one season_started, written when it starts", field="type"
            )
        intake = self._intake()
        when = None if at is None else _checked_at(at)
        pending = [
            intake.from_fields(
                event_type, p, season=self.id, at=when, override=override, payload=dict(fields)
            )
            for p in programs
        ]
        now = self.clock()
        with self.store.write(utc_iso(now)) as tx:
            existing = tx.season_records(self.id)
            place_dates(existing, pending, now)
            first = tx.last_seq + 1
            candidates = [p.record(first + n) for n, p in enumerate(pending)]
            admitted = admit(existing, candidates, self.rulebook)
            stored = _append_checked(tx, [j.record for j in admitted])
        return tuple(Judged(s, j.findings) for s, j in zip(stored, admitted, strict=True))

    def reading(self, event_type: str, program: str | None, at: str) -> TimeReading:
        """How :meth:`record` reads ``at`` for this event: in which zone (the program's for
        events at the program, when it has one; else the season's), and whether it is a
        date alone (then :meth:`record` places it within that day)."""
        _check_text(event_type, "type", "an event type")
        _check_text(at, "at", "ISO text")
        return self._intake().reading(event_type, self.id, program, at)

    def _intake(self) -> Intake:
        return Intake(
            {self.id: self.timezone},
            self.clock(),
            current=self.id,
            programs=lambda _: program_zones(self.store.snapshot(self.id).records),
        )

    def add_program(self, program: str, name: str, **fields: Any) -> Judged:
        """Add a program to the season (``program_added``)."""
        return self.record("program_added", program, name=name, **fields)

    def certify(
        self,
        order: Sequence[str],
        *,
        at: dt.datetime | str | None = None,
        override: str | None = None,
    ) -> Judged:
        """Record a certified rank order list (first = most preferred)."""
        if isinstance(order, str) or not isinstance(order, Sequence):
            raise InputError("the rank order must be a list of program ids", field="order")
        return self.record("rank_certified", at=at, override=override, order=list(order))

    def retract(
        self,
        seq: int,
        reason: str,
        *,
        at: dt.datetime | str | None = None,
        override: str | None = None,
    ) -> Judged:
        """Retract an earlier event of this season (it is skipped on replay from then on).

        A retraction that makes another event break a rule (say, the connection an
        inquiry relied on) is refused unless ``override`` gives the reason to record it.
        """
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise InputError(f"the seq must be an integer, got {seq!r}", field="seq")
        records = self.records()
        target = next((r for r in records if r.seq == seq), None)
        problem = retraction_problem(self.id, seq, target, retracted_seqs(records))
        if problem is not None or target is None:
            raise InputError(problem or f"no event with seq {seq}", field="seq")
        return self.record(
            "event_retracted", target.program, at=at, override=override, retracts=seq, reason=reason
        )

    def _append(self, pending: Pending, *, happens_now: bool = False) -> Judged:
        """Judge ``pending`` against the season's cached snapshot before taking the write
        lock; in the lock, check that the season is still at that version and append. If
        another writer recorded into the season meanwhile, the snapshot catches up on
        those records and the new one is judged again, in the lock: either way only the
        new record is judged (a write into another season only moves its seq). A record
        that does not go after every other in replay order (a back-filled event, a
        retraction) may change how existing ones are judged:
        :func:`admit` judges it against the whole season, in the lock. An event that
        happens now (no ``at``) and met another writer's event (one of a later instant, or
        stored since the snapshot) is recorded at the clock's reading in the lock: it
        still happens after every event of the season."""
        now = self.clock()
        snap = self.store.snapshot(self.id)
        judged = self._judge_next(pending, snap, now, max(self.store.head()[0], snap.last_seq))
        with self.store.write(utc_iso(now)) as tx:
            if judged is None or tx.season_last_seq(self.id) != snap.last_seq:
                snap = self.store.snapshot(self.id, tx)  # and the writes it joins
                if happens_now:
                    pending = copy.copy(pending)
                    pending.at = self.clock().astimezone(dt.UTC)
                    pending.recorded_at = utc_iso(pending.at)
                judged = self._judge_next(pending, snap, now, tx.last_seq)
            elif tx.last_seq != judged[2] - 1:
                # Only other seasons were written meanwhile: the findings stand (a rule
                # never reads the seq of the event it judges); the record takes the next
                # seq, and the state after it is worked out once it is stored.
                admitted, _, _ = judged
                record = admitted.record._replace(seq=tx.last_seq + 1)
                judged = Judged(record, admitted.findings), None, record.seq
            if judged is None:
                existing = tx.season_records(self.id)
                place_dates(existing, [pending], now)
                candidate = pending.record(tx.last_seq + 1)
                (admitted,) = admit(existing, [candidate], self.rulebook)
                (stored,) = _append_checked(tx, [admitted.record])
                return Judged(stored, admitted.findings)
            admitted, after, _ = judged
            (stored,) = _append_checked(tx, [admitted.record])
        self.store.remember(self.id, snap.then(stored, after))
        return Judged(stored, admitted.findings)

    def _judge_next(
        self, pending: Pending, snap: SeasonSnapshot, now: dt.datetime, last_seq: int
    ) -> tuple[Judged, SeasonState | None, int] | None:
        """``pending`` admitted at seq ``last_seq + 1`` against ``snap`` alone, the state
        after it and that seq; ``None`` if it does not go after every record of the season."""
        mine = copy.copy(pending)  # place_dates moves it; each judgement starts afresh
        place_dates(snap.records, [mine], now)
        candidate = mine.record(last_seq + 1)
        if snap.state is None or not goes_last(snap.last_key, candidate):
            return None
        admitted, after = admit_next(snap.state, self.rulebook.for_season(snap.state), candidate)
        return admitted, after, candidate.seq


def _checked_at(value: object) -> dt.datetime | str:
    """``value`` if it can be an instant (an aware datetime is checked later), else
    :class:`InputError` (a date alone, a number)."""
    if isinstance(value, dt.datetime | str):
        return value
    if isinstance(value, dt.date):
        raise InputError(
            f"a date alone ({value.isoformat()}) is not an instant: give it as text "
            f"({value.isoformat()!r}: during that day, or its midnight for a question) "
            "or as an aware datetime",
            field="at",
        )
    raise InputError(
        f"at must be an aware datetime or ISO text, not {type(value).__name__}", field="at"
    )


def _check_text(value: object, field: str, what: str) -> None:
    """:class:`InputError` on ``field`` unless ``value`` is text."""
    if not isinstance(value, str):
        raise InputError(f"{what} must be text, not {type(value).__name__}", field=field)


def _append_checked(tx: Transaction, records: Sequence[Record]) -> list[Record]:
    stored = tx.append(records)
    for want, got in zip(records, stored, strict=True):
        if want.seq != got.seq:
            raise PrematchError(f"internal: seq {got.seq} written where {want.seq} was judged")
    return stored
