"""The one compiled part: verify's quick pass (engine/_chain_accel.c, CPython's API and
OpenSSL's SHA-256). Everything else about the package is in pyproject.toml.

The extension is optional: without a C compiler or OpenSSL's headers the build goes on,
and verify runs in Python with the same verdicts (docs/store.md).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "prematch.engine._chain_accel",
            sources=["engine/_chain_accel.c"],
            libraries=["crypto"],
            optional=True,
        )
    ]
)
