"""Prediction: a fitted network's outputs for the rows of ``X``, in bounded memory, on the
threads allowed, and finite for any finite input. Plain NumPy on the network core
(:mod:`skreg._network`); the estimators validate ``X`` and call :meth:`Prediction.map`."""

import math
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.utils import gen_batches
from sklearn.utils._chunking import get_chunk_n_rows

from ._base import ACTIVATIONS, BOUNDED_ACTIVATIONS
from ._network import (
    LayerOutputs,
    Parameters,
    draw_dropout_masks,
    forward,
    with_ones_column,
)
from ._threads import allowed_threads, run_side_by_side, single_threaded_blas

# Prediction works in chunks of rows whose temporaries fit in this many MiB (see Prediction.map):
# small enough to stay in cache, large enough for efficient matrix products.
PREDICT_WORKING_MEMORY_MB = 4
# Float64 temporaries an output function (probabilities, their logarithm, Monte-Carlo moments)
# is counted to make per output column of a row, generously: it sizes the chunks.
OUTPUT_TEMPORARIES = 8


class Prediction:
    """The outputs of a network of ``coefs`` and ``intercepts`` (a fitted estimator's) with
    hidden ``activation``, whose ``output`` functions return at most ``n_output_columns``
    columns of float64 per row (for the chunks' size)."""

    def __init__(self, coefs, intercepts, activation, n_output_columns):
        self.coefs, self.intercepts, self.activation = coefs, intercepts, activation
        self.n_output_columns = n_output_columns

    def chunk_rows(self, n_features, dtype, dropout=None):
        """Rows of the input per chunk: its temporaries (its inputs, activations and those of
        ``output``) fit in ``PREDICT_WORKING_MEMORY_MB`` MiB, or in scikit-learn's
        ``working_memory`` if that is smaller."""
        row_bytes = self._row_bytes(n_features, dtype, dropout)
        return get_chunk_n_rows(row_bytes, working_memory=self._working_memory())

    def map(self, X, output, dropout=None):
        """``output(logits)`` for the rows of ``X`` (validated; CSR if sparse), computed chunk
        of rows by chunk of rows, so memory beyond the result does not grow with the number of
        rows. With ``dropout`` (:class:`DropoutDraws`), each chunk's rows are evaluated
        ``dropout.n_draws`` times in one pass, each copy under fresh dropout masks, and
        ``output`` receives the logits of the copies stacked copy after copy.

        Dense inputs of several chunks are predicted on every thread allowed (see
        :mod:`skreg._threads`), chunks side by side, each thread with buffers of its own: the
        result is the serial loop's, bit for bit, and the temporaries take that many chunks.
        """
        dtype = np.promote_types(X.dtype, self.coefs[0].dtype)
        params = Parameters.shared_or_copied(self.coefs, self.intercepts, dtype, self.activation)
        copies = 1 if dropout is None else dropout.n_draws
        n_rows = X.shape[0]
        # Inputs of one chunk skip the chunks' bookkeeping; one row always is one chunk.
        one_chunk = n_rows == 1 or n_rows * self._row_bytes(X.shape[1], dtype, dropout) <= (
            self._working_memory() * 2**20
        )
        if one_chunk and dropout is None and isinstance(X, np.ndarray):
            return output(_dense_logits(X, params))
        if one_chunk:
            return _ChunkEvaluator(X, output, params, copies * n_rows, dropout)(slice(0, n_rows))
        chunk_rows = min(self.chunk_rows(X.shape[1], dtype, dropout), n_rows)
        chunks = list(gen_batches(n_rows, chunk_rows))
        workers = 1
        if dropout is None and not sp.issparse(X):
            workers = min(len(chunks), allowed_threads())
        evaluators = [
            _ChunkEvaluator(X, output, params, copies * chunk_rows, dropout) for _ in range(workers)
        ]
        # Threads share the chunks on single-threaded BLAS (which BLAS's own threads might round
        # differently): the first chunk too, which sizes the result.
        parallel = workers > 1
        with (
            single_threaded_blas() if parallel else nullcontext(),
            ThreadPoolExecutor(workers) if parallel else nullcontext() as pool,
        ):
            head = evaluators[0](chunks[0])
            result = np.empty((n_rows, *head.shape[1:]), dtype=head.dtype)
            result[chunks[0]] = head

            def fill(rows, evaluate):
                result[rows] = evaluate(rows)

            run_side_by_side(pool, fill, chunks[1:], evaluators)
        return result

    def _row_bytes(self, n_features, dtype, dropout):
        copies = 1 if dropout is None else dropout.n_draws
        n_units = sum(b.shape[0] + 1 for b in self.intercepts)
        row_bytes = dtype.itemsize * (2 * n_features + 2 + 2 * n_units)
        row_bytes += np.dtype(np.float64).itemsize * OUTPUT_TEMPORARIES * self.n_output_columns
        if dropout is not None:  # each unit's mask and 32-bit dropout word
            row_bytes += (dtype.itemsize + 4) * n_units
            if self.activation in BOUNDED_ACTIVATIONS:  # and its output before the mask
                row_bytes += dtype.itemsize * n_units
        return copies * row_bytes

    @staticmethod
    def _working_memory():
        return min(PREDICT_WORKING_MEMORY_MB, get_config()["working_memory"])


def _dense_logits(X, params):
    """Logits of the rows of a dense ``X``, all in one chunk: what a ``_ChunkEvaluator`` computes
    for them, without the buffers it reuses from chunk to chunk."""
    X1 = with_ones_column(X, dtype=params.flat.dtype)
    outputs = LayerOutputs.allocate(X.shape[0], params.layer_units, params.flat.dtype)
    return chunk_logits(X1, params, outputs)


def chunk_logits(X1, params, outputs, masks=None):
    """Logits of the rows of ``X1`` (inputs with their column of ones), in ``outputs``, under
    dropout ``masks`` if given; rows whose evaluation overflows, or for a bounded activation
    may overflow, are evaluated again at a safe scale (see ``logits_at_safe_scale``)."""
    # A bounded activation (tanh, logistic) saturates an infinite pre-activation to a finite
    # output, so a first-layer sum that overflowed to the wrong sign would pass unseen: rows
    # whose first-layer sums could overflow at all are sent to the safe scale.
    at_risk = None
    if params.activation in BOUNDED_ACTIVATIONS:
        at_risk = _first_layer_may_overflow(X1, params.layers[0])
    with np.errstate(over="ignore", invalid="ignore"):
        logits = forward(X1, params.layers, outputs, masks, params.activation)
        # One cheap pass in the common case; a sum that overflows only sends the chunk to
        # the row-by-row check below.
        if math.isfinite(logits.sum()) and (at_risk is None or not at_risk.any()):
            return logits
    overflowed = ~np.isfinite(logits).all(axis=1)
    if at_risk is not None:
        overflowed |= at_risk
    if overflowed.any():
        rows = X1[overflowed][:, :-1]
        rows = rows.toarray() if sp.issparse(rows) else rows
        row_masks = None if masks is None else [M[overflowed] for M in masks]
        logits[overflowed] = logits_at_safe_scale(rows, params, row_masks)
    return logits


def logits_at_safe_scale(X, params, masks=None):
    """Logits of the rows of ``X``, each row evaluated at a power-of-two scale that cannot
    overflow; logits beyond the float range saturate at the largest float.

    A network of ReLU, leaky ReLU or identity units is positively homogeneous in its inputs
    and intercepts together, ``f(s x; s b) = s f(x; b)`` for ``s > 0``, and exactly so in
    floating point when ``s`` is a power of two. A row with entries beyond 1 in magnitude is
    scaled below 1, so huge inputs cannot make ``inf - inf = NaN`` inside the network, and its
    logits are scaled back. Dropout ``masks`` multiply hidden outputs, which keeps the
    network homogeneous.

    tanh and the logistic function are not homogeneous, but they are bounded: only the first
    layer's sums can overflow, and beyond the float range they saturate. So only the first
    layer is evaluated at the safe scale; its pre-activations are scaled back, to infinity
    where they exceed the float range, which the activation maps to its exact limits, and the
    other layers see bounded inputs.
    """
    dtype = params.flat.dtype
    _, exponents = np.frexp(np.abs(X).max(axis=1, keepdims=True))
    np.maximum(exponents, 0, out=exponents)
    scales = np.ldexp(np.ones(1, dtype=dtype), -exponents)
    # The intercepts are scaled too: every layer's column of ones holds the row's scale.
    X1 = with_ones_column(X * scales)
    X1[:, -1:] = scales
    outputs = _layer_outputs(X.shape[0], params, masks is not None)
    if params.activation in BOUNDED_ACTIVATIONS:
        return _bounded_logits_at_safe_scale(X1, exponents, params, outputs, masks)
    for inputs in outputs.hidden:
        inputs[:, -1:] = scales
    # Only weights beyond any sensible scale can still overflow: a pre-activation at -inf is
    # clamped by ReLU to its exact limit 0, and one at +inf reaching a later layer as inf - inf
    # still raises the invalid-value warning.
    with np.errstate(over="ignore"):
        logits = forward(X1, params.layers, outputs, masks, params.activation)
        logits = np.ldexp(logits, exponents)
    largest = np.finfo(dtype).max
    return np.clip(logits, -largest, largest, out=logits)


def _layer_outputs(n_rows, params, masked):
    """Buffers of the layers' outputs for ``n_rows`` rows; under dropout masks with a bounded
    activation, also of its outputs before the masks, which :func:`forward` keeps for them."""
    unmasked = masked and params.activation in BOUNDED_ACTIVATIONS
    return LayerOutputs.allocate(n_rows, params.layer_units, params.flat.dtype, unmasked)


class _ChunkEvaluator:
    """``output(logits)`` of chunks of rows of ``X``, in buffers of its own (one per thread)."""

    def __init__(self, X, output, params, max_rows, dropout=None):
        self.X, self.output, self.params = X, output, params
        self.dropout = dropout
        dtype = params.flat.dtype
        # Buffers reused by every chunk: the inputs with their column of ones, the layer outputs.
        self.X1 = None if sp.issparse(X) else np.ones((max_rows, X.shape[1] + 1), dtype)
        self.outputs = _layer_outputs(max_rows, params, dropout is not None)
        if dropout is not None:
            dropout.allocate(max_rows, params.layer_units, dtype)

    def __call__(self, rows):
        copies = 1 if self.dropout is None else self.dropout.n_draws
        n_rows = copies * (rows.stop - rows.start)
        if self.X1 is None:
            inputs = with_ones_column(self.X[rows])
            inputs = inputs if copies == 1 else sp.vstack([inputs] * copies, format="csr")
        else:
            inputs = self.X1[:n_rows]
            inputs.reshape(copies, -1, self.X1.shape[1])[:, :, :-1] = self.X[rows]
        masks = None if self.dropout is None else self.dropout.masks(n_rows)
        logits = chunk_logits(inputs, self.params, self.outputs.rows(n_rows), masks)
        return self.output(logits)


def _first_layer_may_overflow(X1, layer):
    """Rows of ``X1`` (with its column of ones) whose products with the first layer's block
    ``layer`` might overflow, in any order of summation: a row's pre-activations are bounded by
    its largest entry in magnitude times the largest column sum of ``|layer|``, and rounding
    cannot take any partial sum beyond four times that bound."""
    if sp.issparse(X1):
        largest = np.asarray(abs(X1).max(axis=1).todense()).ravel()
    else:
        largest = np.maximum(X1.max(axis=1), -X1.min(axis=1))
    column_sums = np.abs(layer).sum(axis=0, dtype=np.float64).max()
    with np.errstate(over="ignore"):
        bounds = largest.astype(np.float64) * column_sums
    return ~(bounds < np.finfo(layer.dtype).max / 4)


def _bounded_logits_at_safe_scale(X1, exponents, params, outputs, masks=None):
    """``logits_at_safe_scale`` for a bounded activation: ``X1`` holds the rows scaled by
    ``2**-exponents``, their column of ones too; ``masks``, dropout masks if given."""
    first = outputs.activations[0]
    np.matmul(X1, params.layers[0], out=first)
    with np.errstate(over="ignore"):
        first[...] = np.ldexp(first, exponents)  # beyond the float range: +-inf, exactly saturated
    ACTIVATIONS[params.activation](first)
    if masks is not None:
        first *= masks[0]
    rest = LayerOutputs(outputs.activations[1:], outputs.hidden[1:], outputs.unmasked[1:])
    rest_masks = None if masks is None or len(masks) == 1 else masks[1:]
    with np.errstate(over="ignore"):  # only weights beyond any sensible scale overflow here
        logits = forward(outputs.hidden[0], params.layers[1:], rest, rest_masks, params.activation)
    largest = np.finfo(params.flat.dtype).max
    return np.clip(logits, -largest, largest, out=logits)


class DropoutDraws:
    """Dropout masks for Monte-Carlo prediction: ``n_draws`` copies of a chunk's rows, each under
    fresh masks drawn from ``stream`` as training draws them (:func:`draw_dropout_masks`)."""

    def __init__(self, n_draws, keep_probs, stream):
        self.n_draws, self.keep_probs, self.stream = n_draws, keep_probs, stream
        self._masks = []

    def allocate(self, max_rows, layer_units, dtype):
        self._masks = [np.ones((max_rows, n), dtype=dtype) for n in layer_units[1:-1]]

    def masks(self, n_rows):
        masks = [M[:n_rows] for M in self._masks]
        draw_dropout_masks(self.stream, self.keep_probs, masks)
        return masks
