"""The bytes of a database file and its write-ahead log: "nothing was written" checks."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path


def db_files(db: Path) -> dict[str, bytes]:
    """The bytes of the database and of any write-ahead log beside it, as they are."""
    files = [db, db.with_name(db.name + "-wal")]
    return {p.name: p.read_bytes() for p in files if p.exists()}


def settled_db_files(db: Path) -> dict[str, bytes]:
    """:func:`db_files` after checkpointing the log into the file (separate connection)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0
    return db_files(db)
