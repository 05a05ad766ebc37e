"""Files prematch writes for the applicant (``--out``): whole or not at all, private.

Every writer (export, sheet export, calendar, HTML audit) goes through
:func:`write_file`: the content goes to a temporary file created with mode 0600 in the
target's folder, is flushed to disk, then renamed over the target. A reader never sees
half a file, and a failure (a full disk, a missing folder) leaves an existing file as it
was: a backup is never truncated.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from prematch.engine._errors import InputError

__all__ = ["write_file"]


def write_file(path: Path, content: bytes | Iterable[bytes]) -> None:
    """Write ``content`` (bytes, or chunks of bytes as they come) to ``path`` atomically,
    with mode 0600.

    Raises :class:`InputError` saying what to do when the folder is missing, the target
    is a folder, the disk is full or writing is not permitted; ``path`` is then as it was.
    """
    folder = path.parent
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as e:
        raise _problem(path, e) from None
    try:
        with os.fdopen(handle, "wb") as f:
            if isinstance(content, bytes):
                f.write(content)
            else:
                f.writelines(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except OSError as e:
        Path(temporary).unlink(missing_ok=True)
        raise _problem(path, e) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Flush the rename to disk where the system allows opening a folder."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _problem(path: Path, error: OSError) -> InputError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return InputError(f"disk full: nothing was written to {path}; free some space and retry")
    if error.errno == errno.ENOENT:
        return InputError(
            f"cannot write {path}: the folder {path.parent} does not exist; create it first"
        )
    if error.errno == errno.EISDIR:
        return InputError(f"cannot write {path}: it is a folder; give a file name")
    if error.errno == errno.ENOTDIR:
        return InputError(f"cannot write {path}: {path.parent} is not a folder")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return InputError(
            f"cannot write {path}: permission denied; choose a folder you may write to"
        )
    return InputError(f"cannot write {path}: {error.strerror or error}")
