"""The queue of the processes writing one SQLite store: an exclusive ``flock`` on a file
beside it, ``<store>-writers``.

SQLite orders writers with its own lock, and a writer that finds it taken polls, sleeping
1, 2, 5, 10 … up to 100 ms between tries: with a write holding the lock for a fraction of a
millisecond, sixteen writer processes spend most of their time asleep while the lock is
free. A writer of prematch first takes an exclusive ``flock`` on ``<store>-writers``, which
the kernel hands to the next waiter the moment it is released; it then begins its
transaction, and closes the descriptor after the commit.

Never a lock on the store's own file: closing *any* descriptor of a file drops every POSIX
lock the process holds on it, SQLite's included (its shared lock on the database, which
tells a closing connection elsewhere that it is not the last one and must not checkpoint
and delete the WAL under this process's feet). A descriptor of the store's file opened and
closed around each write lost committed writes when many processes wrote and closed the
store at once. ``<store>-writers`` is a file SQLite never opens: an empty file, made 0600
by the first writer, and left in place (as SQLite leaves ``-shm``).

``flock`` locks do not touch SQLite's POSIX record locks (on Linux and the BSDs they are
separate kinds of lock; a store in WAL mode cannot live on a network filesystem, where they
might not be). Other programs writing the file without this lock are still ordered by
SQLite's. Where there is no ``flock`` (Windows), or the file beside the store cannot be
made or locked, SQLite's lock alone orders the writers.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: SQLite's lock alone
    fcntl = None  # type: ignore[assignment]

__all__ = ["WriterTimeout", "take_turn", "writers_file"]


class WriterTimeout(Exception):
    """Another process held the store's writer lock for the whole wait."""


def writers_file(path: Path) -> Path:
    """The file whose ``flock`` queues the processes writing the store at ``path``."""
    return path.with_name(f"{path.name}-writers")


def take_turn(path: Path, timeout: float) -> int | None:
    """Wait (at most ``timeout`` seconds) for this process's turn to write the store at
    ``path``: an open descriptor of :func:`writers_file` holding the lock (close it to pass
    the turn on), or ``None`` where there is no such lock. Raises :class:`WriterTimeout`."""
    if fcntl is None:
        return None
    if not path.exists():  # an embedder's in-memory database: no file to queue beside
        return None
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(writers_file(path), flags, 0o600)
    except OSError:  # a folder this process cannot make files in: SQLite's lock alone
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        pass
    except OSError:  # a filesystem without flock
        os.close(fd)
        return None
    wait = _Wait(fd)
    threading.Thread(target=wait.run, name="prematch-writer-turn", daemon=True).start()
    if wait.taken(timeout):
        return fd
    raise WriterTimeout(path)


class _Wait:
    """A blocking ``flock`` in a thread of its own, so that the writer can stop waiting
    after its timeout (a blocking ``flock`` cannot be given one); a turn that comes after
    the writer stopped waiting is passed on at once."""

    def __init__(self, fd: int):
        self._fd = fd
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._got = False
        self._abandoned = False

    def run(self) -> None:
        # A descriptor that cannot be locked after all: the writer goes on with SQLite's
        # lock alone.
        with contextlib.suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        with self._lock:
            if self._abandoned:
                os.close(self._fd)
                return
            self._got = True
            self._done.notify_all()

    def taken(self, timeout: float) -> bool:
        """Whether the turn came within ``timeout`` seconds (if not, it is given up)."""
        with self._lock:
            self._done.wait_for(lambda: self._got, timeout)
            if not self._got:
                self._abandoned = True
            return self._got
