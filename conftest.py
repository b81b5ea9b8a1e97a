"""Doctest collection of the package: where the compiled engine is not built, its Python driver
cannot be imported."""

from importlib.util import find_spec

collect_ignore = [] if find_spec("skreg._compiled._training") else ["skreg/_compiled_engine.py"]
