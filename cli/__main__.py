"""``python -m prematch.cli``: the same as the ``prematch`` console script."""

from prematch.cli import run

run()
