"""The ``eventsourcing`` library on the bench's workload (DESIGN §9: prematch's import and
cold audit against its import and replay).

The same JSONL file prematch imports (``tests/synth.py`` seasons) is stored through an
``eventsourcing`` :class:`Application` on its SQLite recorder: one aggregate per season,
one domain event per line carrying the line's payload as it is (its type, time, program
and other fields). Import saves each season's aggregate as it is complete (one transaction
per season, the library's unit of consistency); replay reconstructs every aggregate
through the application's repository, each event applied by a small mutator (the
program's last event type), as prematch's fold does per program.

Installed for the bench only (``pip install -e '.[bench]'``, which ``make bench`` does).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

VERSION_PIN = "9.5.6"
"""The version pyproject's ``bench`` extra pins (printed beside the figures)."""


class SeasonLog(Aggregate):
    """One season: its ``season_started`` line, then every later line as one event."""

    @staticmethod
    def create_id(season: str, started: dict[str, Any]) -> uuid.UUID:
        """The same id for the same season, so replay can name every aggregate."""
        return season_id(season)

    @event("Started")
    def __init__(self, season: str, started: dict[str, Any]) -> None:
        self.season = season
        self.started = started
        self.last: dict[str | None, str] = {}

    @event("Recorded")
    def record(self, type: str, at: str, program: str | None, payload: dict[str, Any]) -> None:
        """Apply one line: the program's (or the season's) latest event type."""
        self.last[program] = type


class Seasons(Application[uuid.UUID]):
    """The application whose SQLite recorder holds the seasons."""


def season_id(season: str) -> uuid.UUID:
    """The aggregate id of a season."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"prematch-season:{season}")


def open_app(path: Path) -> Seasons:
    """The application on the SQLite file at ``path`` (created if missing)."""
    return Seasons(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)})


def import_file(app: Seasons, lines: Iterable[bytes | str]) -> tuple[int, list[uuid.UUID]]:
    """Store every line (seasons one after another, as ``synth.lines`` writes them):
    the number of events stored and the aggregate ids, in order."""
    events, ids = 0, []
    current: SeasonLog | None = None
    for line in lines:
        obj = json.loads(line)
        kind, season, at = obj.pop("type"), obj.pop("season"), obj.pop("at")
        program = obj.pop("program", None)
        if kind == "season_started":
            if current is not None:
                app.save(current)
            obj["at"] = at
            current = SeasonLog(season=season, started=obj)
            ids.append(current.id)
        elif current is None or current.season != season:
            raise ValueError(f"line for {season} outside its season's run of lines")
        else:
            current.record(type=kind, at=at, program=program, payload=obj)
        events += 1
    if current is not None:
        app.save(current)
    return events, ids


def replay(app: Seasons, ids: Iterable[uuid.UUID]) -> int:
    """Reconstruct every aggregate from its stored events: how many events were applied."""
    events = 0
    for aggregate_id in ids:
        events += app.repository.get(aggregate_id).version
    return events
