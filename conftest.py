"""Doctest collection of the package: without numba, its compiled engine cannot be imported."""

from importlib.util import find_spec

collect_ignore = [] if find_spec("numba") else ["skreg/_numba_engine.py"]
