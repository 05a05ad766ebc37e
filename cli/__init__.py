"""The ``prematch`` command line: a thin click adapter over ``engine`` and ``policies``."""
