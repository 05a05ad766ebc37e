"""Each thread's own database connection, and none left open for a thread that has ended.

A store may be used from many threads (DESIGN §7; a web service's server starts a thread
per request): each gets a connection of its own on first use. A thread that ends leaves
its connection behind; :class:`ThreadConnections` closes those when the next one is
made, so the open files stay as many as the live threads, however many requests came.
"""

from __future__ import annotations

import threading
from typing import Generic, Protocol, TypeVar

__all__ = ["ThreadConnections"]


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


class ThreadConnections(Generic[C]):
    """The connections of a store's threads: this thread's, and every live one's."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._by_thread: dict[threading.Thread, C] = {}
        self._lock = threading.Lock()

    def get(self) -> C | None:
        """This thread's connection, if it has one."""
        conn: C | None = getattr(self._local, "conn", None)
        return conn

    def put(self, conn: C) -> C:
        """Make ``conn`` this thread's connection (and return it); close the connections
        of threads that have ended since."""
        self._local.conn = conn
        with self._lock:
            ended = [thread for thread in self._by_thread if not thread.is_alive()]
            gone = [self._by_thread.pop(thread) for thread in ended]
            self._by_thread[threading.current_thread()] = conn
        for old in gone:
            old.close()
        return conn

    def close_all(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            conns = list(self._by_thread.values())
            self._by_thread.clear()
        self._local = threading.local()
        for conn in conns:
            conn.close()
