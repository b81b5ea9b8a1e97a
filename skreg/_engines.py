"""Which engine trains a fit: the rule of ``engine="auto"``.

The compiled engine must be compiled once per environment (25 to 35 seconds per dtype on the
benchmark machine, before numba caches it), so ``"auto"`` compiles only fits in which compiled
code is estimated to save more than that, ``AUTO_COMPILE_MIN_SECONDS``, even in a new
environment. What it saves is the NumPy engine's per-step overhead and part of its element-wise
passes, not the matrix products, which both engines run through the same BLAS: a long fit of a
wide network, whose time goes to products, stays with NumPy. A first fit is then never slower
for having numba installed. The rule reads the number of steps, the rows per step, the units
and the weights, never the fit's other options (weights, penalties, constraints, noise,
solver): two fits that differ only in those run on the same engine.
"""

import math

import scipy.sparse as sp

from ._training import train_epochs

#: "auto" compiles fits in which compiled code is estimated to save at least this (in seconds of
#: the benchmark machine's core): compiling in a new environment costs 25-35 s there.
AUTO_COMPILE_MIN_SECONDS = 40.0

# The NumPy engine's time per training step, measured on one core of the benchmark machine: a
# fixed cost (the Python calls of a step), plus for each row of the step a cost per unit
# (element-wise passes) and per weight (matrix products; float32's rate, about twice float64's).
# benchmarks/run.py prints the estimate next to the measured time of each workload.
NUMPY_STEP_SECONDS = 40e-6
NUMPY_UNIT_ROW_SECONDS = 3.3e-9
NUMPY_WEIGHT_ROW_SECONDS = 0.06e-9
# What the compiled engine saves of them, at least (so that the estimate errs towards NumPy, never
# towards a compilation that does not pay): most of the fixed cost (W1: 50 us a step against
# 10 us), a part of the element-wise passes (W1: about 1.6e-9 s per unit and row; the mini-batches
# of W2, whose products dominate: 0.35e-9 to 1.35e-9 in two benchmark runs), nothing of the
# products.
SAVED_STEP_SECONDS = 30e-6
SAVED_UNIT_ROW_SECONDS = 0.3e-9

#: ... but never full-batch steps over this many products (n_samples * n_weights): there both
#: engines spend their time in the same BLAS products, and the compiled engine would hold a
#: units-major copy of the data.
AUTO_NUMBA_MAX_STEP_SIZE = 10**7

#: Sparse X of at most this many entries (n_samples * n_features) is trained on as a dense copy, by
#: either engine: there per-call overheads dominate the sparse products. Measured on the compiled
#: engine: the dense copy is 5x faster at 4000 entries, 1.6x at 20000, even around 1e5, and 2.5x
#: to 15x slower from 2e5 to 1e7 entries at 0.5% to 2% density. Larger sparse X keeps its sparse
#: products, which only the NumPy engine has: "auto" leaves it to NumPy.
DENSE_COPY_MAX_ENTRIES = 2**16


def training_matrix(X):
    """``X`` as training reads it: a dense copy of a small sparse ``X``, else ``X`` (CSR if
    sparse: mini-batches and chunks take rows)."""
    if not sp.issparse(X):
        return X
    if X.shape[0] * X.shape[1] <= DENSE_COPY_MAX_ENTRIES:
        return X.toarray()
    return X.tocsr()


def _steps_and_rows(n_samples, batch_size, max_iter):
    rows = n_samples if batch_size is None else min(batch_size, n_samples)
    return max_iter * math.ceil(n_samples / rows), rows


def estimated_numpy_seconds(n_samples, layer_units, batch_size, max_iter):
    """Estimated time of a NumPy-engine fit of ``max_iter`` epochs (see the constants above)."""
    steps, rows = _steps_and_rows(n_samples, batch_size, max_iter)
    n_units = sum(layer_units[1:])
    n_weights = sum(a * b for a, b in zip(layer_units[:-1], layer_units[1:]))
    row_seconds = n_units * NUMPY_UNIT_ROW_SECONDS + n_weights * NUMPY_WEIGHT_ROW_SECONDS
    return steps * (NUMPY_STEP_SECONDS + rows * row_seconds)


def estimated_seconds_saved(n_samples, layer_units, batch_size, max_iter):
    """Estimated time that the compiled engine saves on a fit of ``max_iter`` epochs, at least."""
    steps, rows = _steps_and_rows(n_samples, batch_size, max_iter)
    n_units = sum(layer_units[1:])
    return steps * (SAVED_STEP_SECONDS + rows * n_units * SAVED_UNIT_ROW_SECONDS)


def auto_compiles(X, layer_units, batch_size, max_iter):
    """Whether ``engine="auto"`` trains this fit on the compiled engine (if numba is installed)."""
    if sp.issparse(X):  # large (see training_matrix): its sparse products are NumPy's
        return False
    n_samples = X.shape[0]
    full_batch = batch_size is None or batch_size >= n_samples
    n_weights = sum(a * b for a, b in zip(layer_units[:-1], layer_units[1:]))
    if full_batch and n_samples * n_weights > AUTO_NUMBA_MAX_STEP_SIZE:
        return False
    seconds = estimated_seconds_saved(n_samples, layer_units, batch_size, max_iter)
    return seconds >= AUTO_COMPILE_MIN_SECONDS


def training_function(engine, X, layer_units, batch_size, max_iter):
    """The ``train_epochs`` of the engine that trains this fit (see ``engine``)."""
    if engine == "numpy":
        return train_epochs
    if engine == "auto" and not auto_compiles(X, layer_units, batch_size, max_iter):
        return train_epochs
    try:
        from ._numba_engine import train_epochs as compiled_train_epochs
    except ImportError as error:
        if engine == "auto":
            return train_epochs
        raise ImportError(
            'engine="numba" needs numba: install it with pip install "skreg[numba]", or use '
            'engine="numpy".'
        ) from error
    return compiled_train_epochs
