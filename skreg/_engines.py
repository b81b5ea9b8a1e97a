"""Which engine trains a fit: the rule of ``engine="auto"``, and what a fit says when the
compiled engine is missing.

The compiled engine (:mod:`skreg._compiled_engine`) is built by ``pip install .`` where a C
compiler is available. ``"auto"`` trains every fit on it, whatever its options, except on large
sparse data, whose sparse products only the NumPy engine has; without it, on NumPy, saying once
per process what to install. ``"compiled"`` insists on it; ``"numba"``, its former name, is a
deprecated alias.
"""

import sys
import threading
import warnings
from functools import cache
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import scipy.sparse as sp

from ._training import train_epochs

#: Sparse X of at most this many entries (n_samples * n_features) is trained on as a dense copy, by
#: either engine: there per-call overheads dominate the sparse products. Larger sparse X keeps its
#: sparse products, which only the NumPy engine has: "auto" leaves it to NumPy.
DENSE_COPY_MAX_ENTRIES = 2**16

MISSING_ADVICE = (
    "skreg's compiled engine is not built in this installation (it is compiled by "
    "`pip install skreg` where a C compiler is available). Install a C compiler (gcc or clang; "
    "on Debian or Ubuntu: apt-get install gcc python3-dev), then reinstall skreg: "
    "pip install --force-reinstall --no-deps skreg."
)


def missing_advice(package=Path(__file__).parent, path=None):
    """What to do without the compiled engine: build it, or, when ``package`` (this skreg) is a
    source tree imported before an installed skreg that has the engine (``python -m skreg`` run
    in a checkout: Python looks in the working directory first), run from elsewhere."""
    installed = shadowed_installation(package, sys.path if path is None else path)
    if installed is None:
        return MISSING_ADVICE
    return (
        f"this skreg ({package}) is a source tree without the compiled engine, imported instead "
        f"of the skreg installed in {installed}, which has it, because Python looks in the "
        "working directory first. Run from another directory (or run the demo with the "
        "skreg-demo command), or build the engine in this tree: pip install -e ."
    )


def shadowed_installation(package, path):
    """The first skreg package on ``path`` (``sys.path``), other than ``package``, that has the
    compiled engine built; None if there is none."""
    for entry in path:
        candidate = Path(entry or ".", "skreg")
        if candidate.resolve() == Path(package).resolve():
            continue
        if any((candidate / "_compiled" / f"_training{s}").is_file() for s in EXTENSION_SUFFIXES):
            return candidate
    return None


class CompiledEngineMissingWarning(UserWarning):
    """``engine="auto"`` trains on NumPy because the compiled engine is not built."""


def training_matrix(X):
    """``X`` as training reads it: a dense copy of a small sparse ``X``, else ``X`` (CSR if
    sparse: mini-batches and chunks take rows)."""
    if not sp.issparse(X):
        return X
    if X.shape[0] * X.shape[1] <= DENSE_COPY_MAX_ENTRIES:
        return X.toarray()
    return X.tocsr()


@cache
def compiled_engine():
    """The compiled engine's driver module, or None when the engine is not built (or does not
    import: :func:`missing_engine` says why)."""
    try:
        from . import _compiled_engine
    except ImportError as error:
        _import_failure.append(error)
        return None
    return _compiled_engine


_import_failure = []


def missing_engine():
    """What a fit says without the compiled engine: :func:`missing_advice`, and the error of its
    import (a partial build, a missing OpenMP runtime show there)."""
    failure = f" (Importing it failed: {_import_failure[-1]}.)" if _import_failure else ""
    return missing_advice() + failure


_missing_warning = {"given": False}
_missing_warning_lock = threading.Lock()


def _warn_missing_once():
    """The warning of the compiled engine's absence, once per process (fits in threads too)."""
    with _missing_warning_lock:
        if _missing_warning["given"]:
            return
        _missing_warning["given"] = True
    warnings.warn(
        f"Training on the NumPy engine, several times slower: {missing_engine()}",
        CompiledEngineMissingWarning,
        stacklevel=8,  # the user's fit: through training_function, the estimator's fit
    )


def warn_if_deprecated(engine, stacklevel):
    """The deprecation warning of ``engine="numba"``, pointing ``stacklevel`` frames up."""
    if engine == "numba":
        warnings.warn(
            'engine="numba" is deprecated: skreg\'s compiled engine is now built at install '
            'time and no longer uses numba. Use engine="compiled" (or "auto").',
            FutureWarning,
            stacklevel=stacklevel + 1,
        )


def training_function(engine, X):
    """The ``train_epochs`` of the engine that trains this fit (see ``engine``; the deprecated
    ``"numba"`` is ``"compiled"``)."""
    if engine == "numba":
        engine = "compiled"
    if engine == "numpy" or (engine == "auto" and sp.issparse(X)):
        return train_epochs
    compiled = compiled_engine()
    if compiled is None:
        if engine == "compiled":
            raise ImportError(f'engine="compiled" needs the compiled engine. {missing_engine()}')
        _warn_missing_once()
        return train_epochs
    return compiled.train_epochs
