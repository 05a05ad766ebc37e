"""prematch: keep a residency-Match season as an event log and judge every message.

The distribution has one import name. Embedders use :mod:`prematch.engine` (the log,
the state machine, replay and queries) and :mod:`prematch.policies` (the rulebook);
:mod:`prematch.cli` is the ``prematch`` command line.
"""

__version__ = "0.2.0"
"""The version of prematch (``pyproject.toml`` reads it from here)."""

__all__ = ["__version__"]
