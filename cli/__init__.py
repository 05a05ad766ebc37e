"""The ``prematch`` command line: a thin click adapter over ``prematch.engine`` and
``prematch.policies``. :data:`main` is the click group; :func:`run` the console script.

The app module (:mod:`prematch.cli._app`: the group, its context, the shared options)
knows no command; each command module imports it, and this package adds their commands
to the group. The CLI imports only the public names of ``prematch.engine``,
``prematch.engine.io`` and ``prematch.policies`` (``tests/test_exports.py`` holds it).
"""

from prematch.cli import _messages, _read, _record, _stores
from prematch.cli._app import main, run

for _command in (*_record.COMMANDS, *_read.COMMANDS, *_messages.COMMANDS, *_stores.COMMANDS):
    main.add_command(_command)
_record.program.add_command(_read.status, "list")  # `prematch program list` = `prematch status`

__all__ = ["main", "run"]
