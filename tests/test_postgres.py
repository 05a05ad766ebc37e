"""What the PostgreSQL recorder does beyond the conformance suite (``test_recorder.py``):
the server's own guarantees (triggers, the unique stream version), the schema prematch
creates, read-only opening, error translation by SQLSTATE, and the URL in messages."""

from __future__ import annotations

import psycopg

NOW = "2027-01-01T00:00:00.000000+00:00"


def test_the_test_server_answers(pg_server):
    with psycopg.connect(pg_server) as conn:
        (version,) = conn.execute("SHOW server_version_num").fetchone()
    assert int(version) >= 120000
