"""A small web service over a prematch store, with the standard library alone.

    python examples/service.py --db season.db [--host 127.0.0.1] [--port 8000] [--workers N]

- ``GET /seasons``: every season at a glance (``Store.season_summaries``);
- ``GET /seasons/{id}/now``: what may be sent now (``now --json``'s shape);
- ``POST /seasons/{id}/events``: record one event; the body is one object as an import
  line gives it (``type``, ``program``, ``at``, ``override``, the payload fields). Answers
  201 with the recorded event and its findings (``Judged.to_json``).

Errors answer with ``{"error": PrematchError.to_json()}`` and a status chosen by the
error's ``code``. Connections are kept alive (HTTP/1.1). ``--workers N`` processes
(default: one per CPU) accept on the one listening socket, as a pre-forking server does:
Python runs one thread at a time per process, so a busy service needs processes to use
the machine's cores. Each process opens its own ``Store`` (after the fork: a database
connection must not cross one), shared by its request threads: a file store gives each
thread its own connection, and the writes of a process's threads share commits (group
commit); SQLite orders the processes' writes. Only public names of ``prematch`` are used.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prematch.engine import PrematchError, Season, Store
from prematch.policies import Rulebook

STATUS = {
    "input.invalid": 400,
    "season.unknown": 404,
    "program.unknown": 404,
    "state.invalid": 409,
    "policy.blocked": 409,
    "store.busy": 503,
    "store.readonly": 405,
}
"""The HTTP status of each error code (any other: 500)."""

ROUTE = re.compile(r"^/seasons/(?P<season>[^/]+)/(?P<what>now|events)$")


class Service(ThreadingHTTPServer):
    """An HTTP server on one store file: each process serving it opens its own ``Store``
    (see :meth:`serve`) and one rulebook for all its request threads."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], db: str) -> None:
        super().__init__(address, Handler)
        self.db = db
        self.rulebook = Rulebook()
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        """This process's store (opened by :meth:`serve`)."""
        if self._store is None:
            raise RuntimeError("the service is not serving")
        return self._store

    def serve(self) -> None:
        """Open this process's store and serve requests until stopped."""
        with Store.open(self.db, create=False) as self._store:
            self.serve_forever()

    def season(self, season_id: str) -> Season:
        """The season, or ``UnknownSeasonError`` (404)."""
        return Season.open(self.store, season_id, rulebook=self.rulebook)


class Handler(BaseHTTPRequestHandler):
    """``GET /seasons``, ``GET /seasons/{id}/now``, ``POST /seasons/{id}/events``."""

    server: Service
    protocol_version = "HTTP/1.1"  # keep connections alive: every answer has a length
    disable_nagle_algorithm = True  # or each answer's body waits for the headers' ACK

    def do_GET(self) -> None:
        if self.path == "/seasons":
            summaries = self.server.store.season_summaries()
            self.answer(200, {"seasons": [s.to_json() for s in summaries]})
            return
        route = ROUTE.match(self.path)
        if route is None or route["what"] != "now":
            self.answer(404, {"error": {"code": "route.unknown", "message": self.path}})
            return
        self.guarded(lambda: (200, self.server.season(route["season"]).what_now().to_json()))

    def do_POST(self) -> None:
        try:  # read the whole body first: the connection carries the next request after it
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
        except ValueError:
            self.close_connection = True
            self.answer(400, {"error": {"code": "input.invalid", "message": "bad Content-Length"}})
            return
        route = ROUTE.match(self.path)
        if route is None or route["what"] != "events":
            self.answer(404, {"error": {"code": "route.unknown", "message": self.path}})
            return
        try:
            event = json.loads(body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            self.answer(400, {"error": {"code": "input.invalid", "message": str(e)}})
            return
        if not isinstance(event, dict):
            message = "the body must be one JSON object (an event)"
            self.answer(400, {"error": {"code": "input.invalid", "message": message}})
            return
        self.guarded(lambda: (201, record(self.server.season(route["season"]), event)))

    def guarded(self, work: Any) -> None:
        """Answer with what ``work()`` returns, or with the prematch error it raised."""
        try:
            status, body = work()
        except PrematchError as e:
            self.answer(STATUS.get(e.code, 500), {"error": e.to_json()})
            return
        self.answer(status, body)

    def answer(self, status: int, body: Any) -> None:
        """Send ``body`` as JSON with ``status``."""
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a service logs as it likes."""


def record(season: Season, event: dict[str, Any]) -> dict[str, Any]:
    """Record one event given as an import line gives it; its ``Judged.to_json()``."""
    fields = dict(event)
    event_type = fields.pop("type", None)
    program = fields.pop("program", None)
    at = fields.pop("at", None)
    override = fields.pop("override", None)
    judged = season.record(event_type, program, at=at, override=override, **fields)
    return judged.to_json()


def main() -> None:
    """Serve until interrupted or terminated; print the address first (the port, when 0
    was asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="the prematch store (a SQLite file)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0: any free port")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes serving requests (default: one per CPU; 1 where there is no fork)",
    )
    args = parser.parse_args()
    Store.open(args.db, create=False).close()  # fail early, before forking, on a bad store
    server = Service((args.host, args.port), args.db)
    print(f"listening on http://{args.host}:{server.server_port}", flush=True)
    workers = [] if not hasattr(os, "fork") else [_fork(server) for _ in range(args.workers - 1)]
    signal.signal(signal.SIGTERM, lambda *_: _stop(workers))
    try:
        server.serve()
    except KeyboardInterrupt:
        _stop(workers)
    finally:
        server.server_close()


def _fork(server: Service) -> int:
    """A worker process serving ``server``'s socket until it is terminated; its pid."""
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it
        try:
            server.serve()
        finally:
            os._exit(0)
    return pid


def _stop(workers: list[int]) -> None:
    """Terminate the workers, wait for them, and leave."""
    for pid in workers:
        os.kill(pid, signal.SIGTERM)
    for pid in workers:
        os.waitpid(pid, 0)
    raise SystemExit(0)


if __name__ == "__main__":
    main()
