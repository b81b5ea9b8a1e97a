"""Doctest collection of the package: without numba, its compiled engine (and the atomics it
uses) cannot be imported."""

from importlib.util import find_spec

NUMBA_MODULES = ["skreg/_numba_engine.py", "skreg/_numba_atomics.py"]
collect_ignore = [] if find_spec("numba") else NUMBA_MODULES
