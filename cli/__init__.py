"""The ``prematch`` command line: a thin click adapter over ``prematch.engine`` and
``prematch.policies``. :data:`main` is the click group; :func:`run` the console script."""

from prematch.cli.main import main, run

__all__ = ["main", "run"]
