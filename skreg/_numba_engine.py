"""Compiled training engine: the NumPy engine's training loop (:mod:`skreg._training`), option
for option, in numba.

:func:`train_epochs` trains as :func:`skreg._training.train_epochs` does: gradient descent,
momentum or Adam, full-batch or on shuffled mini-batches, with sample weights, L2, L1 and
elastic-net penalties (the proximal step), dropout, input noise and max-norm, in float32 or
float64, for binary, multiclass and multilabel targets and the regression losses (squared error,
Poisson, quantile). It gives the same loss curve
and weights up to rounding (sums run in another order), the same printing, errors and stopping,
and draws the same random numbers: the training stream (:mod:`skreg._random`), whose SFC64 bit
generator the compiled steps advance natively. The training steps run inside compiled functions,
in buffers allocated once per fit; Python only shuffles (``Generator.permutation``) and calls the
stopping rule between epochs.

A full batch of more than :data:`SHARD_ROWS` rows is split into shards of rows (how, by its size
only): each step, the shards' gradients are computed side by side on the threads allowed (see
:mod:`skreg._threads`), the compiled code releasing the GIL, each shard on single-threaded BLAS
and in cache-sized buffers of its thread's, then summed in shard order. So every core works on
the products and on the element-wise passes alike, and the model is the same, bit for bit, on any
number of threads. A mini-batch of at least twice :data:`BATCH_SHARD_ROWS` rows is split into
shards too: the threads take its shards, then slices of the parameters (the shards' gradients
summed, the update), from one queue of tasks in compiled code (:func:`_train_batch_range`), a
segment of batches at a time, on all the threads allowed or on one, whichever :class:`_Pace`
last measured faster. Smaller batches run whole, on one thread.

Everything lives in flat, C-contiguous buffers: the parameters, their gradients and the optimizer's
state in the :class:`~skreg._network.Parameters` layout (layer after layer, its coefficients
``(n_in, n_out)`` row-major, then its intercepts), a batch's activations and deltas of layer ``i``
as consecutive ``(n_units, n_rows)`` blocks. Small matrix products (the reference network's) run as
loops, large ones through BLAS.

Every hidden activation of :data:`skreg._base.ACTIVATIONS` is compiled, its code the last entry
of ``layout``: ReLU keeps its fused kernels; the others run the products, then an element-wise
pass of the activation forward, and backward the products, the dropout mask, then an element-wise
pass of the derivative, in the NumPy engine's order.

numba is an optional dependency: import this module only when the numba engine is asked for.
"""

import math
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from numba import njit

from ._base import BOUNDED_ACTIVATIONS, LEAKY_RELU_SLOPE
from ._network import print_cost, raise_divergence
from ._numba_atomics import fetch_add, load_acquire, spin_pause
from ._optimizers import Adam, GradientDescent, Momentum
from ._random import keep_threshold, set_sfc64_state, sfc64_state
from ._threads import allowed_threads, run_side_by_side, single_threaded_blas
from ._training import normalised

#: Full-batch epochs per compiled call, at most (also the verbose printing period).
BLOCK_ITERATIONS = 1000
#: Matrix products with at least this many weights go to BLAS; smaller ones run as loops.
BLAS_MIN_WEIGHTS = 1024
#: A full batch of more rows than this is split into shards of at most about as many rows...
SHARD_ROWS = 2048
#: ... but into at most this many shards, whose gradients take at most SHARD_GRADIENT_BYTES.
MAX_SHARDS = 64
SHARD_GRADIENT_BYTES = 2**27
#: A mini-batch of at least twice this many rows is split into shards of about as many rows.
BATCH_SHARD_ROWS = 128
#: The update after a sharded mini-batch runs in slices of about this many parameters (at most
#: MAX_SLICES), side by side.
SLICE_PARAMS = 2048
MAX_SLICES = 64
#: Sharded mini-batches run in segments of this many batches, on all the threads allowed or on
#: one (see _Pace); the other is tried on PROBE_BATCHES batches after FIRST_PROBE_INTERVAL
#: segments, then after twice as many each time it loses clearly (takes CLEAR_LOSS times as
#: long), up to MAX_PROBE_INTERVAL.
SEGMENT_BATCHES = 16
PROBE_BATCHES = 4
FIRST_PROBE_INTERVAL = 2
MAX_PROBE_INTERVAL = 64
CLEAR_LOSS = 1.5

_OPTIMIZER_KINDS = {GradientDescent: 0, Momentum: 1, Adam: 2}

#: The losses' codes in the compiled functions (``loss[0]``; see :func:`_loss_arguments`).
LOGISTIC, SOFTMAX, SQUARED_ERROR, POISSON, QUANTILE = range(5)
_LOSS_CODES = {
    "logistic": LOGISTIC,
    "softmax": SOFTMAX,
    "squared_error": SQUARED_ERROR,
    "poisson": POISSON,
    "quantile": QUANTILE,
}
# The hidden activations' codes in the compiled functions (the last entry of ``layout``).
RELU, TANH, SIGMOID, IDENTITY, LEAKY_RELU = range(5)
_ACTIVATION_CODES = {
    "relu": RELU, "tanh": TANH, "logistic": SIGMOID, "identity": IDENTITY,
    "leaky_relu": LEAKY_RELU,
}  # fmt: skip


def train_epochs(
    X, Y, params, optimizer, *, loss, regularization, max_iter, stream, sample_weight=None,
    batch_size=None, stopper=None, verbose=0, shuffle=True,
):  # fmt: skip
    """Train ``params`` in place for up to ``max_iter`` epochs, in compiled code.

    Takes the arguments of :func:`skreg._training.train_epochs` and returns what it returns, the
    loss curve; a sparse ``X`` is trained on as a dense copy. ``stream`` (the training stream) is
    advanced as the NumPy engine advances it, and the optimizer's state (velocity, moments, step
    count) is updated in place. Raises ``ValueError`` as soon as a cost or the parameters stop
    being finite.
    """
    if sp.issparse(X):
        X = X.toarray()  # the compiled steps take dense rows
    n_samples = X.shape[0]
    batch_size = n_samples if batch_size is None else min(batch_size, n_samples)
    problem = _Problem(
        X, Y, params, optimizer, loss, regularization, sample_weight, batch_size, stream
    )
    if batch_size == n_samples:
        with _Shards.of(problem) as shards:
            loss_curve = _full_batch_epochs(problem, shards, params, max_iter, stopper, verbose)
    else:
        with _BatchShards.of(problem) as shards:
            loss_curve = _minibatch_epochs(
                problem, shards, params, max_iter, stream if shuffle else None, stopper, verbose
            )
    problem.store_states(optimizer, stream)
    if not np.isfinite(params.flat).all():
        raise_divergence(len(loss_curve), math.nan, optimizer.learning_rate)
    return loss_curve


def _full_batch_epochs(problem, shards, params, max_iter, stopper, verbose):
    """Blocks of epochs per compiled call (one with a stopper, which decides after each); with
    ``shards`` (a :class:`_Shards`), a step at a time, its shards side by side."""
    block = 1 if stopper is not None else BLOCK_ITERATIONS
    loss_curve = np.empty(max_iter)
    for start in range(0, max_iter, block):
        stop = min(start + block, max_iter)
        if shards is None:
            done = _train_block(*problem.arguments(params), loss_curve, start, stop)
        else:
            done = _train_sharded_block(problem, shards, params, loss_curve, start, stop)
        _print_costs(loss_curve, start, done, verbose)
        if done < stop:
            raise_divergence(done, float(loss_curve[done]), problem.learning_rate)
        if stopper is not None and problem.stops(stopper, float(loss_curve[start]), params):
            return loss_curve[:stop].tolist()
    return loss_curve.tolist()


def _minibatch_epochs(problem, shards, params, max_iter, stream, stopper, verbose):
    """One compiled call per epoch, after the epoch's shuffle (none if ``stream`` is None: the
    batches then take the rows in order); with ``shards`` (a :class:`_BatchShards`), a segment
    of batches per call, their shards side by side."""
    loss_curve = np.empty(max_iter)
    order = np.arange(problem.n_samples)
    for epoch in range(max_iter):
        if stream is not None:
            set_sfc64_state(stream, problem.random_state)  # the shuffle draws from the stream too
            order = stream.permutation(problem.n_samples)
            problem.random_state[...] = sfc64_state(stream)
        if shards is None:
            cost = _train_batches(*problem.arguments(params), problem.X, problem.Y, order)
        else:
            cost = shards.epoch(problem, params, order)
        if not np.isfinite(cost):
            raise_divergence(epoch, cost, problem.learning_rate)
        loss_curve[epoch] = cost
        _print_costs(loss_curve, epoch, epoch + 1, verbose)
        if stopper is not None and problem.stops(stopper, float(loss_curve[epoch]), params):
            return loss_curve[: epoch + 1].tolist()
    return loss_curve.tolist()


def _print_costs(loss_curve, start, stop, verbose):
    if verbose:
        for epoch in range(-(-start // 1000) * 1000, stop, 1000):
            print_cost(epoch, float(loss_curve[epoch]))


def cost_and_gradients(X, Y, params, *, loss, regularization, stream, sample_weight=None):
    """Cost at ``params`` and its gradient (flat, in the ``Parameters`` layout), as a compiled
    full-batch step computes them, with the dropout masks and noise it draws from ``stream``; for
    the gradient check."""
    optimizer = GradientDescent(params.flat.size, params.flat.dtype, learning_rate=1.0)
    problem = _Problem(
        X, Y, params, optimizer, loss, regularization, sample_weight, X.shape[0], stream
    )
    n_words = problem.random[1].shape[0] - 1
    with _Shards.of(problem) as shards:
        if shards is not None:
            inputs = _draw_rows_step(problem.X, problem.random, n_words, problem.penalty[3])
            return shards.cost_and_gradients(inputs, problem, params.flat), problem.grads.copy()
    arguments = problem.arguments(params)
    inputs = _draw_step(problem.XT, problem.random, n_words, problem.penalty[3])
    step = (problem.random[1],) + problem.dropout + (0, X.shape[0])
    cost = _cost_and_gradients(inputs, *arguments[1:9], problem.scalars[0], step, problem.weights)
    return cost, problem.grads.copy()


class _Problem:
    """The compiled functions' arguments for one training run: units-major batch buffers (the full
    batch's holds the data, unless it is in shards, which take their rows from the row-major
    data as the mini-batches do), layout, penalties, dropout, random stream, weights, optimizer."""

    def __init__(self, X, Y, params, optimizer, loss, regularization, sample_weight, batch_size,
                 stream):  # fmt: skip
        dtype = params.flat.dtype
        self.n_samples, self.batch_size = X.shape[0], batch_size
        full_batch = batch_size == self.n_samples
        units = np.array(params.layer_units, dtype=np.int64)
        self.layout = _layout(units, batch_size, _ACTIVATION_CODES[params.activation])
        dropout, self.words_per_row = _dropout(units[1:-1], regularization.keep_probs, dtype)
        self.shard_bounds = None
        if full_batch:
            self.shard_bounds = shard_bounds(self.n_samples, params.flat.size, dtype.itemsize)
        whole_rows = 0 if self.shard_bounds else batch_size  # rows of a step's own buffers
        if full_batch and whole_rows:  # the batch is the data, once and for all
            self.XT = np.array(X.T, dtype=dtype, order="C")
            self.YT = np.array(Y.T, dtype=dtype, order="C")
        else:  # each batch's (or shard's) rows are gathered, units-major, into the start of these
            self.X, self.Y = np.ascontiguousarray(X, dtype), np.ascontiguousarray(Y, dtype)
            self.XT = np.empty(X.shape[1] * whole_rows, dtype=dtype)
            self.YT = np.empty(Y.shape[1] * whole_rows, dtype=dtype)
        self.activations = np.empty(whole_rows * units[1:].sum(), dtype=dtype)
        self.deltas = np.empty_like(self.activations)
        # Under dropout, a bounded activation's derivative needs its outputs before the masks.
        self.unmasked = regularization.dropout and params.activation in BOUNDED_ACTIVATIONS
        self.dropout = dropout + (
            np.empty(self.activations.size if self.unmasked else 0, dtype),
        )  # fmt: skip
        self.grads = np.empty_like(params.flat)
        self.loss = _loss_arguments(loss, dtype)
        penalty = regularization.penalty
        m = self.n_samples if sample_weight is None else float(sample_weight.sum())
        max_norm = regularization.max_norm
        # float64: l2, l1, m, input_noise, max_norm (0: none); then, in the parameters' dtype, the
        # L1 threshold of the last step and max_norm, rounded as NumPy's operations round them.
        self.penalty = np.array(
            [penalty.l2, penalty.l1, m, regularization.input_noise, max_norm or 0.0]
        )
        self.rounded = np.array([0.0, max_norm or 0.0], dtype=dtype)
        # Scalars in the parameters' dtype, as the NumPy engine's in-place operations round them:
        # for a full batch, and for the shorter last batch of an epoch.
        last_rows = self.n_samples - (-(-self.n_samples // batch_size) - 1) * batch_size
        self.scalars = np.array(
            [[penalty.l2 / m, 1.0 / rows, LEAKY_RELU_SLOPE] for rows in (batch_size, last_rows)],
            dtype=dtype,
        )
        # Sample weights: normalised once for the full batch; per batch, from a gathered copy.
        if sample_weight is None:
            self.weights = np.empty(0, dtype=dtype)
        elif full_batch:  # as the NumPy engine normalises them
            self.weights = normalised(sample_weight).astype(dtype, copy=False)
        else:
            self.weights = np.empty(batch_size, dtype=dtype)
        self.sample_weight = (
            np.empty(0, dtype=dtype) if sample_weight is None
            else np.ascontiguousarray(sample_weight, dtype)
        )  # fmt: skip
        self.random_state = sfc64_state(stream)
        n_noisy = X.shape[1] * batch_size if regularization.input_noise else 0
        self.random = (
            self.random_state,
            np.empty(self.words_per_row * batch_size + 1, dtype=np.uint32),  # see _fill_words
            np.empty(n_noisy),
            np.empty(n_noisy if full_batch else 0, dtype=dtype),
        )
        self.learning_rate = optimizer.learning_rate
        self.python_optimizer = optimizer
        self.optimizer = _optimizer_arguments(optimizer, dtype)

    def arguments(self, params):
        """Arguments of :func:`_train_block` and :func:`_train_batches` up to ``weights``."""
        return (
            self.XT, self.YT, params.flat, self.grads, self.activations, self.deltas,
            self.layout, self.loss, self.penalty, self.rounded, self.scalars, self.dropout,
            self.random, self.optimizer, self.weights, self.sample_weight,
        )  # fmt: skip

    def store_states(self, optimizer, stream):
        """Write back the optimizer's step count, step size and samples seen, and the random
        stream's state."""
        self.store_schedule(optimizer)
        set_sfc64_state(stream, self.random_state)

    def store_schedule(self, optimizer):
        kind, hyper, _, _, _, t, schedule = self.optimizer
        if kind == 2:
            optimizer.t = int(t[0])
        optimizer.step_size = float(hyper[0])
        optimizer.samples_seen = float(schedule[3])

    def stops(self, stopper, cost, params):
        """``stopper(cost, params)`` between epochs, with the optimizer's state up to date: the
        "adaptive" schedule's rule may change its step size, which the next epochs then use."""
        optimizer = self.python_optimizer
        self.store_schedule(optimizer)
        stopping = stopper(cost, params)
        _set_step_size(self.optimizer, optimizer.step_size)
        return stopping


def _loss_arguments(loss, dtype):
    """``(code, level)``: the loss (a name, or ``("quantile", q)``, as the NumPy engine takes it)
    for :func:`_loss`; ``level`` holds the quantile level in the parameters' dtype, as the NumPy
    engine's in-place operations round it (unused by the other losses)."""
    name, level = (loss, 0.5) if isinstance(loss, str) else loss
    return _LOSS_CODES[name], np.array([level], dtype=dtype)


def _optimizer_arguments(optimizer, dtype):
    """``(kind, float64 hyperparameters, hyperparameters in dtype, first state, second state,
    step count, schedule)``: the optimizer for :func:`_update` and :func:`_epoch_ends`; its state
    arrays are the optimizer's own, updated in place. ``kind`` is 0 for gradient descent, 1 for
    momentum, 2 for Adam, 3 for Nesterov momentum. The first float64 hyperparameter is the current
    step size; the last, the step size of the last step (Adam's is bias-corrected), which the L1
    proximal step uses. ``schedule`` is ``(invscaling, learning_rate, power_t, samples_seen)``."""
    kind = _OPTIMIZER_KINDS[type(optimizer)]
    empty = np.empty(0, dtype=dtype)
    step_size = optimizer.step_size
    if kind == 0:
        hyper, first, second, t = [step_size], empty, empty, 0
    elif kind == 1:
        hyper, first, second, t = [step_size, optimizer.momentum], optimizer.velocity, empty, 0
        kind = 3 if optimizer.nesterov else 1
    else:
        b1, b2 = optimizer.beta_1, optimizer.beta_2
        hyper = [step_size, b1, 1 - b1, b2, 1 - b2, optimizer.epsilon]
        first, second, t = optimizer.first_moment, optimizer.second_moment, optimizer.t
    hyper = np.array(hyper + [optimizer.effective_learning_rate()], dtype=np.float64)
    invscaling = float(optimizer.schedule == "invscaling")
    schedule = np.array(
        [invscaling, optimizer.learning_rate, optimizer.power_t, optimizer.samples_seen]
    )
    # The NumPy engine's in-place operations round each Python float to the arrays' dtype.
    t = np.array([t], dtype=np.int64)
    return kind, hyper, hyper.astype(dtype), first, second, t, schedule


def _set_step_size(optimizer, step_size):
    """Set the current step size in :func:`_optimizer_arguments`' arrays, in float64 and rounded;
    except for Adam, whose steps bias-correct it, it is also the proximal step's."""
    kind, hyper, scalars = optimizer[0], optimizer[1], optimizer[2]
    hyper[0] = step_size
    scalars[0] = hyper[0]
    if kind != 2:
        hyper[-1] = hyper[0]
        scalars[-1] = hyper[0]


def _layout(units, n_samples, activation):
    """``(units, coef_offsets, intercept_offsets, activation_offsets, n_samples, activation)``:
    where each layer's coefficients and intercepts start in the parameter buffer, and its
    activations (or deltas) in theirs; and the code of the hidden layers' activation."""
    weights = units[:-1] * units[1:]
    block_sizes = weights + units[1:]
    coef_offsets = np.cumsum(block_sizes) - block_sizes
    unit_offsets = np.cumsum(units[1:]) - units[1:]
    return (
        units, coef_offsets, coef_offsets + weights, n_samples * unit_offsets, n_samples,
        activation,
    )  # fmt: skip


def _dropout(hidden_units, keep_probs, dtype):
    """``(unit_offsets, thresholds, scales)`` per hidden layer, and the dropout words per row.

    A step's words hold each dropped layer's ``(n_units, n_rows)`` block in layer order (see
    :mod:`skreg._random`): a layer's block starts at ``unit_offset * n_rows``. ``unit_offsets``
    is -1 for a layer without dropout.
    """
    keep_probs = np.asarray(keep_probs, dtype=np.float64)
    dropped = np.where(keep_probs < 1, hidden_units, 0).astype(np.int64)
    offsets = np.where(keep_probs < 1, np.cumsum(dropped) - dropped, -1)
    thresholds = np.array([keep_threshold(p) for p in keep_probs], dtype=np.uint32)
    scales = (1.0 / keep_probs).astype(dtype)
    return (offsets.astype(np.int64), thresholds, scales), int(dropped.sum())


@njit(cache=True)
def _train_block(
    XT, YT, flat, grads, activations, deltas, layout, loss, penalty, rounded, scalars, dropout,
    random, optimizer, weights, sample_weight, loss_curve, start, stop,
):  # fmt: skip
    """Full-batch epochs ``start`` to ``stop``; returns the first with a non-finite cost, else
    ``stop``."""
    step = (random[1],) + dropout + (0, layout[4])
    n_words = random[1].shape[0] - 1
    for iteration in range(start, stop):
        inputs = _draw_step(XT, random, n_words, penalty[3])
        cost = _cost_and_gradients(
            inputs, YT, flat, grads, activations, deltas, layout, loss, penalty, scalars[0],
            step, weights,
        )  # fmt: skip
        loss_curve[iteration] = cost
        if not np.isfinite(cost):
            return iteration
        _finish_step(flat, grads, layout, penalty, rounded, optimizer)
    return stop


@njit(cache=True)
def _finish_step(flat, grads, layout, penalty, rounded, optimizer):
    """After a full-batch step's gradient: the update, the constraints, the epoch's end."""
    _update(flat, grads, optimizer)
    _constrain(flat, layout, penalty, rounded, optimizer[1])
    _epoch_ends(optimizer, penalty[2])


def _train_sharded_block(problem, shards, params, loss_curve, start, stop):
    """:func:`_train_block` for a full batch in shards: the same steps, each step's gradient
    summed from its shards' (:meth:`_Shards.cost_and_gradients`)."""
    n_words = problem.random[1].shape[0] - 1
    for iteration in range(start, stop):
        inputs = _draw_rows_step(problem.X, problem.random, n_words, problem.penalty[3])
        cost = shards.cost_and_gradients(inputs, problem, params.flat)
        loss_curve[iteration] = cost
        if not np.isfinite(cost):
            return iteration
        _finish_step(
            params.flat, problem.grads, problem.layout, problem.penalty, problem.rounded,
            problem.optimizer,
        )  # fmt: skip
    return stop


def shard_bounds(n_rows, n_params, itemsize):
    """Where the shards of a full batch of ``n_rows`` rows start and stop (``n_shards + 1``
    bounds), or None for a batch kept whole: from the sizes only, never from the threads, so
    the model does not depend on how many threads train it."""
    n_shards = min(
        -(-n_rows // SHARD_ROWS), MAX_SHARDS, SHARD_GRADIENT_BYTES // (n_params * itemsize)
    )
    if n_shards < 2:
        return None
    return [k * n_rows // n_shards for k in range(n_shards + 1)]


class _Shards:
    """A full batch in shards of rows: a step's gradient is the sum of its shards' gradients, in
    shard order, the shards computed side by side on the threads allowed (see
    :mod:`skreg._threads`), each on single-threaded BLAS in buffers of its own (a shard's
    activations stay in cache). The sums, and so the model, are the same on any number of
    threads, bit for bit."""

    @classmethod
    @contextmanager
    def of(cls, problem):
        """The shards of ``problem``'s full batch, their threads running for the block; None if
        the batch is kept whole."""
        bounds = problem.shard_bounds
        if bounds is None:
            yield None
            return
        workers = min(allowed_threads(), len(bounds) - 1)
        with single_threaded_blas(), ThreadPoolExecutor(workers) as pool:
            yield cls(problem, bounds, workers, pool if workers > 1 else None)

    def __init__(self, problem, bounds, workers, pool):
        self.bounds, self.pool = bounds, pool
        dtype = problem.grads.dtype
        rows = max(stop - start for start, stop in zip(bounds, bounds[1:]))
        self.layout = _layout(problem.layout[0], rows, problem.layout[5])
        buffers = _thread_buffers(problem, rows, workers)
        self.buffers = [tuple(buffer[w] for buffer in buffers) for w in range(workers)]
        self.grads = np.empty((len(bounds) - 1, problem.grads.size), dtype)
        self.costs = np.empty(len(bounds) - 1)
        self.rows = np.arange(problem.n_samples)  # the step's rows are the data's, in order
        self.penalty = _shard_penalty(problem)
        # The sum of the shards' gradients, in slices of the parameters, one per thread.
        slices = np.linspace(0, problem.grads.size, workers + 1).astype(int)
        self.slices = list(zip(slices[:-1], slices[1:]))

    def cost_and_gradients(self, inputs, problem, flat):
        """The full batch's cost at ``flat`` and its gradient into ``problem.grads``, from the
        step's row-major ``inputs`` (the data, or with the step's input noise) and dropout
        words."""
        dropout = problem.dropout[:3]

        def shard(k, buffers):
            XT, YT, activations, deltas, unmasked = buffers
            step = (problem.random[1], *dropout, unmasked, self.bounds[k], problem.n_samples)
            self.costs[k] = _shard_cost_and_gradients(
                inputs, self.rows, problem.Y, self.rows, self.bounds[k], self.bounds[k + 1], flat,
                self.grads[k], XT, YT, activations, deltas, self.layout, problem.loss,
                self.penalty, problem.scalars[0], step, problem.weights,
            )  # fmt: skip

        def add(bounds, _):
            _sum_shards(self.grads, problem.grads, *bounds)

        run_side_by_side(self.pool, shard, range(len(self.costs)), self.buffers)
        run_side_by_side(self.pool, add, self.slices, self.buffers)
        cost = 0.0
        for shard_cost in self.costs:  # in shard order
            cost += shard_cost
        return _add_penalty(
            cost, flat, problem.grads, problem.layout, problem.penalty, problem.scalars[0][0]
        )


def _thread_buffers(problem, rows, workers):
    """Each thread's buffers for a shard of up to ``rows`` rows, one row of each array per
    thread: its inputs and targets units-major, its activations and deltas, and (if needed) its
    activations before the dropout masks."""
    dtype = problem.grads.dtype
    n_units = int(problem.layout[0][1:].sum())
    return (
        np.empty((workers, problem.X.shape[1] * rows), dtype),
        np.empty((workers, problem.Y.shape[1] * rows), dtype),
        np.empty((workers, n_units * rows), dtype),
        np.empty((workers, n_units * rows), dtype),
        np.empty((workers, n_units * rows if problem.unmasked else 0), dtype),
    )


def _shard_penalty(problem):
    """``problem.penalty`` for the shards: their gradients are the data term's, and the L2 and
    L1 terms are added once, to their sum."""
    penalty = problem.penalty.copy()
    penalty[:2] = 0
    return penalty


def batch_shard_count(batch_size, n_params, itemsize):
    """How many shards a mini-batch of ``batch_size`` rows is split into: about
    :data:`BATCH_SHARD_ROWS` rows each, as many as :data:`MAX_SHARDS` and
    :data:`SHARD_GRADIENT_BYTES` allow; None for batches kept whole (fewer than 2). From the
    sizes only, never from the threads."""
    n_shards = min(
        batch_size // BATCH_SHARD_ROWS, MAX_SHARDS, SHARD_GRADIENT_BYTES // (n_params * itemsize)
    )
    return n_shards if n_shards >= 2 else None


class _BatchShards:
    """Mini-batches in shards of rows, trained by :func:`_train_batch_range` on the threads
    allowed, each with buffers of its own (a shard's activations stay in cache) and
    single-threaded BLAS. The batches are trained a segment at a time, on all those threads or
    on one, whichever :class:`_Pace` finds faster: on a busy machine a thread lent to another
    process makes the others wait for the task it holds."""

    @classmethod
    @contextmanager
    def of(cls, problem):
        """The shards of ``problem``'s mini-batches, their threads running for the block; None
        if its batches are kept whole."""
        flat = problem.grads
        n_shards = batch_shard_count(problem.batch_size, flat.size, flat.dtype.itemsize)
        if n_shards is None:
            yield None
            return
        workers = min(allowed_threads(), n_shards)
        with single_threaded_blas(), ThreadPoolExecutor(max(1, workers - 1)) as pool:
            yield cls(problem, n_shards, workers, pool)

    def __init__(self, problem, n_shards, workers, pool):
        self.pool, self.pace = pool, _Pace(workers)
        dtype = problem.grads.dtype
        batch_size, n_params = problem.batch_size, problem.grads.size
        # The largest shard: of a whole batch or of the shorter last one.
        last_rows = problem.n_samples - (-(-problem.n_samples // batch_size) - 1) * batch_size
        rows = max(
            -(-size // max(1, min(n_shards, size // BATCH_SHARD_ROWS)))
            for size in (batch_size, last_rows)
        )
        n_features = problem.X.shape[1]
        n_slices = min(max(1, n_params // SLICE_PARAMS), MAX_SLICES)
        noised = problem.penalty[3] != 0
        state = np.zeros(6, dtype=np.int64)
        state[ROWS_PER_SHARD] = BATCH_SHARD_ROWS
        self.shards = (
            *_thread_buffers(problem, rows, workers),
            _layout(problem.layout[0], rows, problem.layout[5]),
            _shard_penalty(problem),
            np.empty((n_shards, n_params), dtype),
            np.zeros(n_shards),
            np.zeros((n_slices, 2)),
            np.linspace(0, n_params, n_slices + 1).astype(np.int64),
            np.arange(batch_size),
            np.empty((batch_size if noised else 0, n_features), dtype),
            state,
            np.zeros(4),
            np.zeros(1, dtype),
        )
        self.sync = np.zeros(16, dtype=np.int64)
        self.warm = False

    def epoch(self, problem, params, order):
        """:func:`_train_batches` in shards: the epoch's cost, or the first that is not
        finite."""
        state, results = self.shards[13], self.shards[14]
        results[TOTAL] = 0.0
        arguments = problem.arguments(params)
        arguments = (self.shards, *arguments[2:4], *arguments[6:11], problem.dropout[:3],
                     *arguments[12:], problem.X, problem.Y, order)  # fmt: skip
        n_batches = -(-problem.n_samples // problem.batch_size)
        if not self.warm:  # start the pool's threads: an empty range, which has nothing to do
            for worker in range(1, self.pace.workers):
                self.pool.submit(_train_batch_range, worker, self.sync, 0, 0, *arguments).result()
            self.warm = True
        batch = 0
        while batch < n_batches:
            workers, length = self.pace.next_segment()
            stop = min(batch + length, n_batches)
            began = time.perf_counter()
            self.sync[:] = 0
            futures = [
                self.pool.submit(_train_batch_range, worker, self.sync, batch, stop, *arguments)
                for worker in range(1, workers)
            ]
            _train_batch_range(0, self.sync, batch, stop, *arguments)
            for future in futures:
                future.result()
            self.pace.record(workers, (time.perf_counter() - began) / (stop - batch))
            if state[STOPPED]:
                return results[STOP_COST]
            batch = stop
        _epoch_ends(problem.optimizer, problem.penalty[2])
        return results[TOTAL] / problem.penalty[2]


class _Pace:
    """How many threads to train the next mini-batches on: all those allowed, or one, whichever
    trained faster when last measured (the model is the same either way). Each is first tried
    on a few batches; then the faster runs segments of batches and the other is tried again on
    a few batches now and then (less often while it keeps losing), or at once if the faster
    becomes slower than the other was."""

    def __init__(self, workers):
        self.workers = workers
        self.seconds = {}  # per batch, as last measured, by number of threads
        self.choice = workers
        self.interval = self.countdown = FIRST_PROBE_INTERVAL

    def next_segment(self):
        """``(threads, batches)`` for the next segment."""
        if self.workers == 1:
            return 1, SEGMENT_BATCHES
        if len(self.seconds) < 2:
            return (self.workers if not self.seconds else 1), PROBE_BATCHES
        if self.countdown <= 0:
            return self._other(), PROBE_BATCHES
        return self.choice, SEGMENT_BATCHES

    def record(self, workers, seconds_per_batch):
        """How long a batch took in the segment just run on ``workers`` threads."""
        self.seconds[workers] = seconds_per_batch
        if len(self.seconds) < 2:
            return
        if workers == self.choice and self.countdown > 0:  # a segment of the faster
            faster = seconds_per_batch <= self.seconds[self._other()]
            self.countdown = self.countdown - 1 if faster else 0
            return
        best = min(self.seconds, key=self.seconds.get)
        clear = max(self.seconds.values()) > CLEAR_LOSS * self.seconds[best]
        if best == self.choice and clear:
            self.interval = min(2 * self.interval, MAX_PROBE_INTERVAL)
        else:  # a close call (or a change) is tried again soon: it cost little
            self.choice, self.interval = best, FIRST_PROBE_INTERVAL
        self.countdown = self.interval

    def _other(self):
        return 1 if self.choice == self.workers else self.workers


@njit(cache=True, nogil=True, inline="always")
def _shard_cost_and_gradients(
    inputs, input_rows, Y, target_rows, first, stop, flat, grads, XT_buffer, YT_buffer,
    activations, deltas, layout, loss, penalty, scalars, step, weights,
):  # fmt: skip
    """A shard's part of a step's cost (as float64), and its gradient into ``grads``: the step's
    rows ``first`` to ``stop``, row ``s`` being ``inputs[input_rows[s]], Y[target_rows[s]]``
    (row-major), copied units-major into the shard's buffers (in cache, on the shard's thread);
    ``layout`` is laid out for the largest shard, ``penalty`` has no L2 or L1 term and ``step``
    says where the shard starts among the step's rows."""
    rows = stop - first
    n_features, n_outputs = inputs.shape[1], Y.shape[1]
    XT = XT_buffer[: n_features * rows].reshape((n_features, rows))
    YT = YT_buffer[: n_outputs * rows].reshape((n_outputs, rows))
    for block in range(0, rows, 16):  # a transposition, 16 rows (a cache line of XT) at a time
        end = min(block + 16, rows)
        for k in range(n_features):
            for s in range(block, end):
                XT[k, s] = inputs[input_rows[first + s], k]
        for k in range(n_outputs):
            for s in range(block, end):
                YT[k, s] = Y[target_rows[first + s], k]
    shard_layout = (layout[0], layout[1], layout[2], layout[3], rows, layout[5])
    weighted = weights.shape[0] > 0
    cost = _cost_and_gradients(
        XT, YT, flat, grads, activations, deltas, shard_layout, loss, penalty, scalars, step,
        weights[first:stop] if weighted else weights,
    )  # fmt: skip
    # A weighted cost is already the shard's part (the weights sum to 1 over the batch); a mean
    # over the shard's rows is not.
    return cost if weighted else cost * rows / step[6]


@njit(cache=True, nogil=True)
def _sum_shards(shard_grads, grads, start, stop):
    """``grads[start:stop]``: the shards' gradients summed in shard order."""
    # Views from 0 (see _update_slice), and no slice assignment, which numba does not vectorise:
    # copying the first shard with ``grads[:] = ...`` made the sum of two shards 3x slower.
    grads = grads[start:stop]
    first = shard_grads[0, start:stop]
    if shard_grads.shape[0] == 1:
        for k in range(grads.shape[0]):
            grads[k] = first[k]
        return
    second = shard_grads[1, start:stop]
    for k in range(grads.shape[0]):
        grads[k] = first[k] + second[k]
    for shard in range(2, shard_grads.shape[0]):
        shard_grad = shard_grads[shard, start:stop]
        for k in range(grads.shape[0]):
            grads[k] += shard_grad[k]


@njit(cache=True)
def _draw_step(XT, random, n_words, noise_std):
    """A step's draws from the training stream: ``n_words`` dropout words, then the input noise.
    Returns the step's inputs: ``XT``, or with noise ``XT`` plus noise, in the noisy buffer if
    there is one (full batch: ``XT`` is the data), else in place (a gathered mini-batch)."""
    n_features, n_rows = XT.shape
    normals = _draw(random, n_words, n_features * n_rows if noise_std else 0)
    if noise_std == 0:
        return XT
    noisy = random[3]
    inputs = noisy[: n_features * n_rows].reshape((n_features, n_rows)) if noisy.size else XT
    for k in range(n_features):  # the normals are drawn rows-major
        for s in range(n_rows):
            inputs[k, s] = XT[k, s] + noise_std * normals[s * n_features + k]
    return inputs


@njit(cache=True)
def _draw_rows_step(X, random, n_words, noise_std):
    """:func:`_draw_step` for a full batch in shards, whose inputs are row-major: ``X``, or with
    noise ``X`` plus noise, in the noisy buffer."""
    n_rows, n_features = X.shape
    normals = _draw(random, n_words, n_rows * n_features if noise_std else 0)
    if noise_std == 0:
        return X
    inputs = random[3][: n_rows * n_features].reshape((n_rows, n_features))
    for s in range(n_rows):
        for k in range(n_features):
            inputs[s, k] = X[s, k] + noise_std * normals[s * n_features + k]
    return inputs


@njit(cache=True)
def _draw(random, n_words, n_normals):
    """The next ``n_words`` dropout words, then ``n_normals`` standard normals, from the training
    stream ``random``; returns the normals."""
    state, words, normals = random[0], random[1], random[2][:n_normals]
    _fill_words(state, words, n_words)
    _fill_normals(state, normals)
    return normals


@njit(cache=True)
def _fill_words(state, words, n):
    """The next ``n`` dropout words into ``words``: SFC64 outputs (NumPy's ``random_raw``), two
    32-bit words each, low half first; advances ``state``."""
    a, b, c, counter = state[0], state[1], state[2], state[3]
    for i in range(0, n, 2):  # (words has room for an even count: no branch in the loop)
        output, a, b, c, counter = _sfc64(a, b, c, counter)
        words[i] = np.uint32(output & np.uint64(0xFFFFFFFF))
        words[i + 1] = np.uint32(output >> np.uint64(32))
    state[0], state[1], state[2], state[3] = a, b, c, counter


@njit(cache=True)
def _fill_normals(state, normals):
    """Standard normals into ``normals``, in pairs by Marsaglia's polar method from SFC64 outputs,
    as :func:`skreg._random.standard_normals` makes them; advances ``state``."""
    a, b, c, counter = state[0], state[1], state[2], state[3]
    n, i = normals.shape[0], 0
    while i < n:
        output, a, b, c, counter = _sfc64(a, b, c, counter)
        u = float(output >> np.uint64(32)) * 2.0**-31 - 1.0
        v = float(output & np.uint64(0xFFFFFFFF)) * 2.0**-31 - 1.0
        s = u * u + v * v
        if s >= 1.0 or s == 0.0:
            continue
        factor = math.sqrt(-2.0 * math.log(s) / s)
        normals[i] = u * factor
        if i + 1 < n:
            normals[i + 1] = v * factor
        i += 2
    state[0], state[1], state[2], state[3] = a, b, c, counter


@njit(cache=True)
def _sfc64(a, b, c, counter):
    """One step of SFC64 (as NumPy's ``sfc64_next``): the output and the next state."""
    output = a + b + counter
    rotated = (c << np.uint64(24)) | (c >> np.uint64(40))
    return (
        output,
        b ^ (b >> np.uint64(11)),
        c + (c << np.uint64(3)),
        rotated + output,
        counter + np.uint64(1),
    )


@njit(cache=True)
def _train_batches(
    XT_buffer, YT_buffer, flat, grads, activations, deltas, layout, loss, penalty, rounded,
    scalars, dropout, random, optimizer, weights, sample_weight, X, Y, order,
):  # fmt: skip
    """One epoch of mini-batches over the rows of ``X, Y`` in ``order``; returns the epoch's cost,
    the weighted mean of its batches' costs, or the first cost that is not finite.

    Each batch's rows are gathered straight from ``X``: a shuffled copy of ``X`` per epoch would
    cost more time (and memory). A batch whose rows all have zero weight is skipped, before any
    draw, as the NumPy engine skips it."""
    n_samples, batch_size = X.shape[0], layout[4]
    n_features, n_outputs = X.shape[1], Y.shape[1]
    weighted = sample_weight.shape[0] > 0
    words_per_row = (random[1].shape[0] - 1) // batch_size
    total = 0.0
    for start in range(0, n_samples, batch_size):
        rows = min(batch_size, n_samples - start)
        batch_weight = float(rows)
        batch_weights = weights[:0]
        if weighted:
            batch_weights = weights[:rows]
            batch_weight = _batch_weights(sample_weight, order[start : start + rows], batch_weights)
            if batch_weight == 0:
                continue  # only zero-weight rows: nothing to learn from
        XT = XT_buffer[: n_features * rows].reshape((n_features, rows))
        YT = YT_buffer[: n_outputs * rows].reshape((n_outputs, rows))
        for k in range(n_features):  # (the rows stay in cache from one feature to the next)
            for s in range(rows):
                XT[k, s] = X[order[start + s], k]
        for k in range(n_outputs):
            for s in range(rows):
                YT[k, s] = Y[order[start + s], k]
        batch_layout = (layout[0], layout[1], layout[2], layout[3], rows, layout[5])
        inputs = _draw_step(XT, random, words_per_row * rows, penalty[3])
        step = (random[1],) + dropout + (0, rows)
        cost = _cost_and_gradients(
            inputs, YT, flat, grads, activations, deltas, batch_layout, loss, penalty,
            scalars[0 if rows == batch_size else 1], step, batch_weights,
        )  # fmt: skip
        if not np.isfinite(cost):
            return cost
        total += batch_weight * cost
        _update(flat, grads, optimizer)
        _constrain(flat, layout, penalty, rounded, optimizer[1])
    _epoch_ends(optimizer, penalty[2])
    return total / penalty[2]


# State of the batch in progress, shared by the threads of _train_batch_range: int64 entries...
STOPPED, START, ROWS, SHARDS, SKIPPED, ROWS_PER_SHARD = range(6)
# ... and float64 entries.
TOTAL, STOP_COST, BATCH_WEIGHT, ADAM_STEP_SIZE = range(4)
# The counters of _train_batch_range, a cache line apart: tasks taken, tasks done.
TAKEN, DONE = 0, 8


@njit(cache=True, nogil=True)
def _train_batch_range(
    worker, sync, first_batch, stop_batch, shards, flat, grads, layout, loss, penalty, rounded,
    scalars, dropout, random, optimizer, weights, sample_weight, X, Y, order,
):  # fmt: skip
    """Mini-batches ``first_batch`` to ``stop_batch`` of the epoch over ``X, Y`` in ``order``, in
    shards, run by any number of threads at once (``worker`` numbers this one's buffers in
    ``shards``, see :class:`_BatchShards`); the epoch's cost adds up in ``shards``' results.

    The work is a sequence of tasks which the threads take in turn from the counter
    ``sync[TAKEN]``, each waiting until ``sync[DONE]`` says the tasks it depends on are done.
    Per batch: one task begins it (ends the one before: its cost, the constraints; then the
    batch's weights and random draws), one per shard computes the shard's gradient, one per slice
    of the parameters sums the shards' gradients there and updates them. A thread that is slow or
    descheduled holds up at most the task it took; the others take the rest. Which thread runs a
    task changes nothing in the arithmetic: the model is the same on any number of threads."""
    (
        XT_buffers, YT_buffers, activation_buffers, delta_buffers, unmasked_buffers,
        shard_layout, shard_penalty, shard_grads, costs, partials, slices, identity, noisy,
        state, results, adam_step_size,
    ) = shards  # fmt: skip
    max_shards, n_slices = shard_grads.shape[0], slices.shape[0] - 1
    per_batch = 1 + max_shards + n_slices
    n_batches = stop_batch - first_batch
    n_tasks = n_batches * per_batch + 1  # and a last task, which ends the last batch
    while True:
        task = fetch_add(sync, TAKEN, 1)
        if task >= n_tasks:
            return
        j, part = task // per_batch, task % per_batch
        ready = j * per_batch + (0 if part == 0 else 1 if part <= max_shards else 1 + max_shards)
        while load_acquire(sync, DONE) < ready:
            spin_pause()
        if state[STOPPED] == 0:
            if part == 0:
                if j > 0:
                    _end_batch(costs, partials, state, results, flat, layout, penalty, rounded,
                               optimizer)  # fmt: skip
                if j < n_batches:
                    _begin_batch(first_batch + j, max_shards, state, results, noisy,
                                 adam_step_size, layout, penalty, random, optimizer, weights,
                                 sample_weight, X, order)  # fmt: skip
            elif state[SKIPPED] == 0 and part <= max_shards:
                k = part - 1
                if k < state[SHARDS]:
                    costs[k] = _batch_shard(
                        k, worker, shards, flat, layout[4], loss, scalars, dropout, random,
                        weights, sample_weight, X, Y, order,
                    )  # fmt: skip
            elif state[SKIPPED] == 0:
                u = part - 1 - max_shards
                n_shards = state[SHARDS]
                _sum_shards(shard_grads[:n_shards], grads, slices[u], slices[u + 1])
                partials[u, 0], partials[u, 1] = _penalty_sums(
                    flat, grads, layout, penalty, scalars[0][0], slices[u], slices[u + 1]
                )
                if np.isfinite(costs[:n_shards].sum()):
                    _update_slice(flat, grads, optimizer, adam_step_size[0], slices[u],
                                  slices[u + 1])  # fmt: skip
        fetch_add(sync, DONE, 1)


@njit(cache=True)
def _begin_batch(
    batch, max_shards, state, results, noisy, adam_step_size, layout, penalty, random, optimizer,
    weights, sample_weight, X, order,
):  # fmt: skip
    """A batch's weights (skipped if they sum to 0), random draws (noisy inputs, if input noise,
    into ``noisy``), number of shards, and Adam's step size for its update."""
    batch_size = layout[4]
    start = batch * batch_size
    rows = min(batch_size, X.shape[0] - start)
    state[START], state[ROWS], state[SKIPPED] = start, rows, 0
    results[BATCH_WEIGHT] = rows
    if sample_weight.shape[0] > 0:
        results[BATCH_WEIGHT] = _batch_weights(
            sample_weight, order[start : start + rows], weights[:rows]
        )
        if results[BATCH_WEIGHT] == 0:
            state[SKIPPED] = 1  # only zero-weight rows: nothing to learn from
            return
    n_features, noise_std = X.shape[1], penalty[3]
    words_per_row = (random[1].shape[0] - 1) // batch_size
    normals = _draw(random, words_per_row * rows, n_features * rows if noise_std else 0)
    if noise_std:
        for s in range(rows):
            for k in range(n_features):
                noisy[s, k] = X[order[start + s], k] + noise_std * normals[s * n_features + k]
    state[SHARDS] = max(1, min(max_shards, rows // state[ROWS_PER_SHARD]))
    kind, hyper, _, _, _, t, _ = optimizer
    if kind == 2:
        results[ADAM_STEP_SIZE] = _adam_step_size(hyper, t[0] + 1)
        adam_step_size[0] = results[ADAM_STEP_SIZE]


@njit(cache=True, inline="always")
def _batch_shard(
    k, worker, shards, flat, batch_size, loss, scalars, dropout, random, weights, sample_weight,
    X, Y, order,
):  # fmt: skip
    """Shard ``k`` of the batch in progress: its cost, its gradient into ``shards``' gradients,
    in ``worker``'s buffers."""
    (
        XT_buffers, YT_buffers, activation_buffers, delta_buffers, unmasked_buffers,
        shard_layout, shard_penalty, shard_grads, _, _, _, identity, noisy, state, _,
        _,
    ) = shards  # fmt: skip
    start, rows, n_shards = state[START], state[ROWS], state[SHARDS]
    batch_rows = order[start : start + rows]
    noised = noisy.shape[0] > 0
    inputs = noisy if noised else X
    input_rows = identity[:rows] if noised else batch_rows
    step = (random[1],) + dropout + (unmasked_buffers[worker], k * rows // n_shards, rows)
    return _shard_cost_and_gradients(
        inputs, input_rows, Y, batch_rows, k * rows // n_shards, (k + 1) * rows // n_shards,
        flat, shard_grads[k], XT_buffers[worker], YT_buffers[worker], activation_buffers[worker],
        delta_buffers[worker], shard_layout, loss, shard_penalty,
        scalars[0 if rows == batch_size else 1], step,
        weights[:rows] if sample_weight.shape[0] > 0 else weights,
    )  # fmt: skip


@njit(cache=True)
def _end_batch(costs, partials, state, results, flat, layout, penalty, rounded, optimizer):
    """After a batch's update: its cost (the shards' in shard order, plus the penalty's terms
    from the slices', in slice order), Adam's step count, the constraints; stops at a cost that
    is not finite."""
    if state[SKIPPED]:
        return
    cost = 0.0
    for k in range(state[SHARDS]):
        cost += costs[k]
    if np.isfinite(cost):
        squares = absolute = 0.0
        for u in range(partials.shape[0]):
            squares += partials[u, 0]
            absolute += partials[u, 1]
        cost = _penalty_cost(cost, penalty, squares, absolute)
    if not np.isfinite(cost):
        state[STOPPED] = 1
        results[STOP_COST] = cost
        return
    kind, hyper, scalars, _, _, t, _ = optimizer
    if kind == 2:
        t[0] += 1
        hyper[6] = results[ADAM_STEP_SIZE]
        scalars[6] = hyper[6]
    _constrain(flat, layout, penalty, rounded, hyper)
    results[TOTAL] += results[BATCH_WEIGHT] * cost


@njit(cache=True)
def _batch_weights(sample_weight, rows, weights):
    """The weights of the batch's ``rows`` into ``weights``, normalised to sum to 1 (unless they
    sum to 0); returns their sum (as float64), summed in their dtype as the NumPy engine sums
    them."""
    summed = sample_weight[rows[0]] - sample_weight[rows[0]]  # 0 in their dtype
    for s in range(rows.shape[0]):
        weights[s] = sample_weight[rows[s]]
        summed += weights[s]
    if summed != 0:
        for s in range(rows.shape[0]):
            weights[s] /= summed
    return float(summed)


@njit(cache=True)
def _epoch_ends(optimizer, n_samples):
    """:meth:`skreg._optimizers.GradientDescent.epoch_ends`: count the epoch's ``n_samples``
    (total weight) and, for "invscaling", set the step size, computed in float64 as
    :func:`skreg._optimizers.scheduled_step_size` computes it."""
    kind, hyper, scalars, schedule = optimizer[0], optimizer[1], optimizer[2], optimizer[6]
    schedule[3] += n_samples
    if schedule[0]:
        hyper[0] = schedule[1] / (schedule[3] + 1) ** schedule[2]
        scalars[0] = hyper[0]
        if kind != 2:
            hyper[hyper.shape[0] - 1] = hyper[0]
            scalars[scalars.shape[0] - 1] = hyper[0]


@njit(cache=True)
def _update(flat, grads, optimizer):
    """One optimizer step on ``flat`` from ``grads``, rounded as the NumPy optimizers round it:
    ``kind`` 0 is gradient descent, 1 momentum, 2 Adam, 3 Nesterov momentum (see
    :func:`_optimizer_arguments`)."""
    kind, hyper, scalars, _, _, t, _ = optimizer
    if kind == 2:
        t[0] += 1
        hyper[6] = _adam_step_size(hyper, t[0])
        scalars[6] = hyper[6]
    _update_slice(flat, grads, optimizer, scalars[scalars.shape[0] - 1], 0, flat.shape[0])


@njit(cache=True)
def _adam_step_size(hyper, steps):
    """Adam.effective_learning_rate at step ``steps``, in float64."""
    return hyper[0] * math.sqrt(1 - hyper[3] ** steps) / (1 - hyper[1] ** steps)


# error_model="numpy": a division is IEEE's, not Python's, which checks for zero and keeps the loop
# from being vectorised (7x slower here).
@njit(cache=True, error_model="numpy")
def _update_slice(flat, grads, optimizer, adam_step_size, start, stop):
    """:func:`_update` of the parameters ``start`` to ``stop``, Adam's step count already
    advanced and its step size (in the parameters' dtype) given (unused by the others)."""
    kind, _, scalars, first, second, _, _ = optimizer
    # Loops over views from 0: with indices from ``start``, which might be negative as far as
    # LLVM knows, numba's wraparound check stays in the loop and keeps it from being vectorised
    # (10x slower).
    flat, grads = flat[start:stop], grads[start:stop]
    learning_rate = scalars[0]
    if kind == 0:
        for k in range(flat.shape[0]):
            flat[k] -= learning_rate * grads[k]
    elif kind == 1:
        first, momentum = first[start:stop], scalars[1]
        for k in range(flat.shape[0]):
            velocity = first[k] * momentum - learning_rate * grads[k]
            first[k] = velocity
            flat[k] += velocity
    elif kind == 3:
        first, momentum = first[start:stop], scalars[1]
        for k in range(flat.shape[0]):
            step = learning_rate * grads[k]
            velocity = first[k] * momentum - step
            first[k] = velocity
            flat[k] += velocity * momentum - step
    else:
        first, second = first[start:stop], second[start:stop]
        beta_1, one_minus_beta_1, beta_2, one_minus_beta_2 = (
            scalars[1], scalars[2], scalars[3], scalars[4]
        )  # fmt: skip
        epsilon = scalars[5]
        for k in range(flat.shape[0]):
            g = grads[k]
            moment = first[k] * beta_1 + one_minus_beta_1 * g
            square = second[k] * beta_2 + one_minus_beta_2 * (g * g)
            first[k], second[k] = moment, square
            flat[k] -= moment / (np.sqrt(square) + epsilon) * adam_step_size


@njit(cache=True)
def _constrain(flat, layout, penalty, rounded, hyper):
    """After an update: the L1 proximal step (soft-threshold by ``step_size * l1 / m``), then the
    max-norm rescaling of each unit's incoming weights; as :class:`skreg._network.Penalty` and
    :func:`skreg._network.apply_max_norm` do, thresholds rounded to the parameters' dtype."""
    l1, m, max_norm = penalty[1], penalty[2], penalty[4]
    n_layers = layout[0].shape[0] - 1
    if l1 > 0:
        rounded[0] = hyper[hyper.shape[0] - 1] * l1 / m
        threshold = rounded[0]
        zero = threshold - threshold
        for i in range(n_layers):
            for k in range(layout[1][i], layout[2][i]):  # the coefficients of layer i
                w = flat[k]
                flat[k] = math.copysign(max(abs(w) - threshold, zero), w)
    if max_norm > 0:
        limit = rounded[1]
        for i in range(n_layers):
            W, _ = _parameters(flat, layout, i)
            for j in range(W.shape[1]):
                squares = limit - limit
                for k in range(W.shape[0]):
                    squares += W[k, j] * W[k, j]
                factor = limit / max(np.sqrt(squares), limit)
                for k in range(W.shape[0]):
                    W[k, j] *= factor


@njit(cache=True)
def _cost_and_gradients(
    XT, YT, flat, grads, activations, deltas, layout, loss, penalty, scalars, step, weights
):
    """Cost (as float64) on the batch ``XT, YT`` at ``flat``, its gradient into ``grads``.

    ``layout`` is ``(units, coef_offsets, intercept_offsets, activation_offsets, n_rows,
    activation)``, with the batch's number of rows and the code of the hidden activation;
    ``loss`` is ``(code, level)`` (see :func:`_loss_arguments`); ``penalty`` is
    ``(l2, l1, m, ...)`` with ``m`` the training set's total weight, which the penalty divides
    by, and ``scalars`` is ``(l2 / m, 1 / n_rows, LEAKY_RELU_SLOPE)`` in the parameters' dtype.
    ``step`` is ``(words, unit_offsets, thresholds, scales, unmasked, first_row, step_rows)``:
    this step's dropout words, then one entry per hidden layer, then a buffer laid out as
    ``activations`` for the outputs of dropped layers before their masks (empty unless the
    activation is bounded), then where the batch's rows start among the ``step_rows`` rows the
    words were drawn for (a shard of a step's rows starts after the others).
    ``weights``, if not empty, are the batch's sample weights, summing to 1.
    """
    lambd_over_m, inv_rows, slope = scalars[0], scalars[1], scalars[2]
    zero = inv_rows - inv_rows  # in the parameters' dtype
    n_layers = layout[0].shape[0] - 1
    activation = layout[5]
    unmasked = step[4]

    A = XT
    nonfinite = 0
    for i in range(n_layers):
        Z = _block(activations, layout, i)
        W, b = _parameters(flat, layout, i)
        if i < n_layers - 1:
            if activation == RELU:
                nonfinite += _linear_relu(W, b, A, Z, zero)
            else:
                nonfinite += _linear_activation(W, b, A, Z, zero, activation, slope)
            if unmasked.size > 0 and step[1][i] >= 0:
                _block(unmasked, layout, i)[...] = Z
            _apply_dropout(Z, step, i)
        else:
            _linear(W, b, A, Z)
        A = Z
    # Any overflow is divergence, as in the NumPy engine (which runs under errstate(over="raise")),
    # even a pre-activation at -inf that ReLU would clamp to 0 (or tanh saturate): report it as
    # an infinite cost.
    if nonfinite:
        return np.inf

    D = _block(deltas, layout, n_layers - 1)
    cost = _loss(A, YT, D, inv_rows, weights, loss)
    if not np.isfinite(cost):
        return np.inf

    for i in range(n_layers - 1, -1, -1):
        D = _block(deltas, layout, i)
        A_in = XT if i == 0 else _block(activations, layout, i - 1)
        G, g = _parameters(grads, layout, i)
        _weight_gradients(A_in, D, G, g, zero)
        if i > 0:
            W, _ = _parameters(flat, layout, i)
            D_in = _block(deltas, layout, i - 1)
            if activation == RELU:
                _backpropagate(W, D, D_in, A_in, zero)
                _apply_dropout(D_in, step, i - 1)  # the chain rule through the mask
            else:  # in the NumPy engine's order: the product, the mask, the derivative
                _backpropagate_linear(W, D, D_in, zero)
                _apply_dropout(D_in, step, i - 1)
                dropped = unmasked.size > 0 and step[1][i - 1] >= 0
                outputs = _block(unmasked, layout, i - 1) if dropped else A_in
                _activation_gradient(D_in, outputs, zero, activation, slope)

    return _add_penalty(cost, flat, grads, layout, penalty, lambd_over_m)


@njit(cache=True)
def _add_penalty(cost, flat, grads, layout, penalty, lambd_over_m):
    """The L2 and L1 penalties' terms: the cost plus them, and the L2 term's gradient added to
    ``grads`` (the L1 term's is the proximal step of :func:`_constrain`)."""
    squares, absolute = _penalty_sums(flat, grads, layout, penalty, lambd_over_m, 0, flat.shape[0])
    return _penalty_cost(cost, penalty, squares, absolute)


@njit(cache=True)
def _penalty_sums(flat, grads, layout, penalty, lambd_over_m, start, stop):
    """Over the parameters ``start`` to ``stop``: the sums of the coefficients' squares (if L2)
    and absolute values (if L1), as float64, and the L2 term's gradient added to ``grads``."""
    lambd, l1 = penalty[0], penalty[1]
    n_layers = layout[0].shape[0] - 1
    squares = absolute = 0.0
    for i in range(n_layers):
        first, last = max(layout[1][i], start), min(layout[2][i], stop)  # layer i's coefficients
        if lambd:
            for k in range(first, last):
                squares += flat[k] * flat[k]
                grads[k] += lambd_over_m * flat[k]
        if l1:
            for k in range(first, last):
                absolute += abs(flat[k])
    return squares, absolute


@njit(cache=True)
def _penalty_cost(cost, penalty, squares, absolute):
    """The cost plus the L2 and L1 penalties' terms, from :func:`_penalty_sums`'."""
    lambd, l1, m = penalty[0], penalty[1], penalty[2]
    if lambd:
        cost += 0.5 * lambd / m * squares
    if l1:
        cost += l1 / m * absolute
    return cost


@njit(cache=True)
def _parameters(flat, layout, i):
    """Views ``(W, b)`` of layer ``i`` in a parameter-layout buffer; ``W`` is ``(n_in, n_out)``."""
    units, coef_offsets, intercept_offsets = layout[0], layout[1], layout[2]
    n_in, n_out = units[i], units[i + 1]
    W = flat[coef_offsets[i] : coef_offsets[i] + n_in * n_out].reshape((n_in, n_out))
    b = flat[intercept_offsets[i] : intercept_offsets[i] + n_out]
    return W, b


@njit(cache=True)
def _block(buffer, layout, i):
    """View ``(n_units, n_samples)`` of layer ``i``'s activations or deltas."""
    n_samples, n_units, start = layout[4], layout[0][i + 1], layout[3][i]
    return buffer[start : start + n_units * n_samples].reshape((n_units, n_samples))


@njit(cache=True, fastmath={"contract"})
def _linear(W, b, A, Z):
    """``Z = W.T @ A + b[:, None]``: layer outputs from inputs, units-major."""
    if W.size >= BLAS_MIN_WEIGHTS:
        np.dot(W.T, A, Z)
        for j in range(Z.shape[0]):
            for s in range(Z.shape[1]):
                Z[j, s] += b[j]
        return
    for j in range(Z.shape[0]):
        _combine(W.T, j, A, b[j], Z)


@njit(cache=True, fastmath={"contract"})
def _backpropagate(W, D, D_in, A_in, zero):
    """``D_in = (W @ D) * (A_in > 0)``: the delta of a hidden layer's output from the delta of
    the next layer's, through the ReLU (``A_in`` holds the hidden layer's activations)."""
    if W.size >= BLAS_MIN_WEIGHTS:
        np.dot(W, D, D_in)
        _relu_gradient(D_in, A_in, zero)
    elif D.shape[0] <= 4:
        _backpropagate_narrow(W, D, D_in, A_in, zero)
    else:
        for k in range(D_in.shape[0]):
            _combine(W, k, D, zero, D_in)
        _relu_gradient(D_in, A_in, zero)


@njit(cache=True, fastmath={"contract"})
def _backpropagate_narrow(W, D, D_in, A_in, zero):
    """:func:`_backpropagate` for ``D`` of at most four rows: one pass per row of ``D_in``, the
    sum written as :func:`_combine` writes it, gated by the ReLU in the same pass."""
    n_rows = D.shape[0]
    for k in range(D_in.shape[0]):
        w0 = W[k, 0]
        w1 = W[k, 1] if n_rows > 1 else zero
        w2 = W[k, 2] if n_rows > 2 else zero
        w3 = W[k, 3] if n_rows > 3 else zero
        if n_rows == 1:
            for s in range(D_in.shape[1]):
                D_in[k, s] = zero + w0 * D[0, s] if A_in[k, s] > 0 else zero
        elif n_rows == 2:
            for s in range(D_in.shape[1]):
                total = zero + w0 * D[0, s] + w1 * D[1, s]
                D_in[k, s] = total if A_in[k, s] > 0 else zero
        elif n_rows == 3:
            for s in range(D_in.shape[1]):
                total = zero + w0 * D[0, s] + w1 * D[1, s] + w2 * D[2, s]
                D_in[k, s] = total if A_in[k, s] > 0 else zero
        else:
            for s in range(D_in.shape[1]):
                total = zero + w0 * D[0, s] + w1 * D[1, s] + w2 * D[2, s] + w3 * D[3, s]
                D_in[k, s] = total if A_in[k, s] > 0 else zero


@njit(cache=True, fastmath={"contract"})
def _combine(weights, j, rows, initial, out):
    """``out[j] = initial + sum_k weights[j, k] * rows[k]``, in order of ``k``.

    Up to four rows per pass over ``out[j]``: these loops are bound by loads and stores. The
    kernels index 2-D arrays rather than slicing rows, as each view costs reference counting.
    """
    n_rows = rows.shape[0]
    for k in range(0, n_rows, 4):
        if n_rows - k >= 4:
            _add_four_rows(weights, j, rows, k, initial, out)
        elif n_rows - k == 3:
            _add_three_rows(weights, j, rows, k, initial, out)
        elif n_rows - k == 2:
            _add_two_rows(weights, j, rows, k, initial, out)
        else:
            _add_one_row(weights, j, rows, k, initial, out)


@njit(cache=True, fastmath={"contract"})
def _add_four_rows(weights, j, rows, k, initial, out):
    """Rows ``k`` to ``k + 3`` into ``out[j]``, which starts at ``initial`` when ``k == 0``."""
    w0, w1, w2, w3 = weights[j, k], weights[j, k + 1], weights[j, k + 2], weights[j, k + 3]
    if k == 0:  # two loops: a select inside one would become slow masked loads
        for s in range(out.shape[1]):
            out[j, s] = (
                initial + w0 * rows[k, s] + w1 * rows[k + 1, s] + w2 * rows[k + 2, s]
                + w3 * rows[k + 3, s]
            )  # fmt: skip
    else:
        for s in range(out.shape[1]):
            out[j, s] = (
                out[j, s] + w0 * rows[k, s] + w1 * rows[k + 1, s] + w2 * rows[k + 2, s]
                + w3 * rows[k + 3, s]
            )  # fmt: skip


@njit(cache=True, fastmath={"contract"})
def _add_three_rows(weights, j, rows, k, initial, out):
    w0, w1, w2 = weights[j, k], weights[j, k + 1], weights[j, k + 2]
    if k == 0:
        for s in range(out.shape[1]):
            out[j, s] = initial + w0 * rows[k, s] + w1 * rows[k + 1, s] + w2 * rows[k + 2, s]
    else:
        for s in range(out.shape[1]):
            out[j, s] = out[j, s] + w0 * rows[k, s] + w1 * rows[k + 1, s] + w2 * rows[k + 2, s]


@njit(cache=True, fastmath={"contract"})
def _add_two_rows(weights, j, rows, k, initial, out):
    w0, w1 = weights[j, k], weights[j, k + 1]
    if k == 0:
        for s in range(out.shape[1]):
            out[j, s] = initial + w0 * rows[k, s] + w1 * rows[k + 1, s]
    else:
        for s in range(out.shape[1]):
            out[j, s] = out[j, s] + w0 * rows[k, s] + w1 * rows[k + 1, s]


@njit(cache=True, fastmath={"contract"})
def _add_one_row(weights, j, rows, k, initial, out):
    w0 = weights[j, k]
    if k == 0:
        for s in range(out.shape[1]):
            out[j, s] = initial + w0 * rows[k, s]
    else:
        for s in range(out.shape[1]):
            out[j, s] = out[j, s] + w0 * rows[k, s]


@njit(cache=True, fastmath={"contract", "reassoc"})
def _weight_gradients(A_in, D, G, g, zero):
    """``G = A_in @ D.T`` and ``g = D.sum(axis=1)``: sums over samples, vectorised."""
    if G.size >= BLAS_MIN_WEIGHTS:
        np.dot(A_in, D.T, G)
        for j in range(g.shape[0]):
            total = D[j, 0]
            for s in range(1, D.shape[1]):
                total += D[j, s]
            g[j] = total
        return
    n_in = A_in.shape[0]
    for j in range(G.shape[1]):
        # Up to four input rows per pass over D[j]; the first pass also sums D[j] for g.
        for k in range(0, n_in, 4):
            rows = min(4, n_in - k)
            if rows == 4:
                total = _four_products(A_in, D, G, j, k, zero)
            elif rows == 3:
                total = _three_products(A_in, D, G, j, k, zero)
            elif rows == 2:
                total = _two_products(A_in, D, G, j, k, zero)
            else:
                total = _one_product(A_in, D, G, j, k, zero)
            if k == 0:
                g[j] = total


@njit(cache=True, fastmath={"contract", "reassoc"})
def _four_products(A_in, D, G, j, k, zero):
    """``G[k:k+4, j] = A_in[k:k+4] @ D[j]``; returns ``D[j].sum()``."""
    t0, t1, t2, t3, total = zero, zero, zero, zero, zero
    for s in range(D.shape[1]):
        d = D[j, s]
        t0 += A_in[k, s] * d
        t1 += A_in[k + 1, s] * d
        t2 += A_in[k + 2, s] * d
        t3 += A_in[k + 3, s] * d
        total += d
    G[k, j], G[k + 1, j], G[k + 2, j], G[k + 3, j] = t0, t1, t2, t3
    return total


@njit(cache=True, fastmath={"contract", "reassoc"})
def _three_products(A_in, D, G, j, k, zero):
    t0, t1, t2, total = zero, zero, zero, zero
    for s in range(D.shape[1]):
        d = D[j, s]
        t0 += A_in[k, s] * d
        t1 += A_in[k + 1, s] * d
        t2 += A_in[k + 2, s] * d
        total += d
    G[k, j], G[k + 1, j], G[k + 2, j] = t0, t1, t2
    return total


@njit(cache=True, fastmath={"contract", "reassoc"})
def _two_products(A_in, D, G, j, k, zero):
    t0, t1, total = zero, zero, zero
    for s in range(D.shape[1]):
        d = D[j, s]
        t0 += A_in[k, s] * d
        t1 += A_in[k + 1, s] * d
        total += d
    G[k, j], G[k + 1, j] = t0, t1
    return total


@njit(cache=True, fastmath={"contract", "reassoc"})
def _one_product(A_in, D, G, j, k, zero):
    t0, total = zero, zero
    for s in range(D.shape[1]):
        d = D[j, s]
        t0 += A_in[k, s] * d
        total += d
    G[k, j] = t0
    return total


@njit(cache=True, fastmath={"contract"})
def _linear_relu(W, b, A, Z, zero):
    """``Z = relu(W.T @ A + b[:, None])``, units-major: a hidden layer's activations.

    Returns the number of pre-activations that are not finite (overflow). Through BLAS, the
    intercepts are added in the ReLU's pass; for at most four inputs, one pass per unit: the sum
    written as :func:`_combine` writes it, then the ReLU.
    """
    n_in, n_samples = A.shape[0], A.shape[1]
    nonfinite = 0
    if W.size >= BLAS_MIN_WEIGHTS:
        np.dot(W.T, A, Z)
        for j in range(Z.shape[0]):
            nonfinite += _relu_row(Z, j, b[j], zero)
        return nonfinite
    if n_in > 4:
        _linear(W, b, A, Z)
        for j in range(Z.shape[0]):
            nonfinite += _relu_row(Z, j, zero, zero)
        return nonfinite
    for j in range(Z.shape[0]):
        w0 = W[0, j]
        w1 = W[1, j] if n_in > 1 else zero
        w2 = W[2, j] if n_in > 2 else zero
        w3 = W[3, j] if n_in > 3 else zero
        initial = b[j]
        # "+ zero" keeps the stores unconditional: LLVM would otherwise emit masked stores, which
        # are slow on some CPUs.
        if n_in == 1:
            for s in range(n_samples):
                total = initial + w0 * A[0, s]
                nonfinite += total * zero != zero
                Z[j, s] = max(total, zero) + zero
        elif n_in == 2:
            for s in range(n_samples):
                total = initial + w0 * A[0, s] + w1 * A[1, s]
                nonfinite += total * zero != zero
                Z[j, s] = max(total, zero) + zero
        elif n_in == 3:
            for s in range(n_samples):
                total = initial + w0 * A[0, s] + w1 * A[1, s] + w2 * A[2, s]
                nonfinite += total * zero != zero
                Z[j, s] = max(total, zero) + zero
        else:
            for s in range(n_samples):
                total = initial + w0 * A[0, s] + w1 * A[1, s] + w2 * A[2, s] + w3 * A[3, s]
                nonfinite += total * zero != zero
                Z[j, s] = max(total, zero) + zero
    return nonfinite


@njit(cache=True)
def _relu_row(Z, j, intercept, zero):
    """``Z[j] = relu(Z[j] + intercept)``; returns the number of its inputs that are not finite."""
    nonfinite = 0
    for s in range(Z.shape[1]):
        z = Z[j, s] + intercept
        nonfinite += z * zero != zero
        Z[j, s] = max(z, zero) + zero
    return nonfinite


@njit(cache=True)
def _apply_dropout(Z, step, i):
    """``Z *= mask`` with hidden layer ``i``'s inverted-dropout mask, if it has dropout: on its
    activations forward, on their deltas backward."""
    words, offset, threshold, scale = step[0], step[1][i], step[2][i], step[3][i]
    if offset < 0:
        return
    n_rows, first_row, step_rows = Z.shape[1], step[5], step[6]
    zero = scale - scale
    # The same loop twice: with the words of consecutive units n_rows apart, LLVM vectorises it
    # (the general form took W1 with dropout from 0.36 s to 0.47 s).
    if step_rows == n_rows:  # the whole step's rows
        for u in range(Z.shape[0]):
            first = (offset + u) * n_rows
            for s in range(n_rows):
                Z[u, s] *= scale if words[first + s] < threshold else zero
        return
    for u in range(Z.shape[0]):  # a shard of them
        first = (offset + u) * step_rows + first_row
        for s in range(n_rows):
            Z[u, s] *= scale if words[first + s] < threshold else zero


@njit(cache=True)
def _relu_gradient(D, A, zero):
    """Chain rule through a ReLU: ``D *= A > 0``."""
    one = zero + 1
    for u in range(D.shape[0]):
        for s in range(D.shape[1]):
            D[u, s] *= one if A[u, s] > 0 else zero


@njit(cache=True, fastmath={"contract"})
def _linear_activation(W, b, A, Z, zero, activation, slope):
    """``Z = f(W.T @ A + b[:, None])``, units-major, for an activation ``f`` other than ReLU:
    the products (the intercepts added, through BLAS, in the activation's pass), then the
    activation. Returns the number of pre-activations that are not finite."""
    nonfinite = 0
    if W.size >= BLAS_MIN_WEIGHTS:
        np.dot(W.T, A, Z)
        for j in range(Z.shape[0]):
            nonfinite += _activation_row(Z, j, b[j], zero, activation, slope)
        return nonfinite
    _linear(W, b, A, Z)
    for j in range(Z.shape[0]):
        nonfinite += _activation_row(Z, j, zero, zero, activation, slope)
    return nonfinite


# error_model="numpy": IEEE divisions, which vectorise (see _update).
@njit(cache=True, error_model="numpy")
def _activation_row(Z, j, intercept, zero, activation, slope):
    """``Z[j] = f(Z[j] + intercept)`` for the activation of code ``activation`` (not ReLU), as
    :data:`skreg._base.ACTIVATIONS` computes it; returns the number of its inputs that are not
    finite. One loop per activation: the branch stays outside the loops."""
    nonfinite = 0
    one = zero + 1
    if activation == TANH:
        for s in range(Z.shape[1]):
            z = Z[j, s] + intercept
            nonfinite += z * zero != zero
            Z[j, s] = _tanh(z)
    elif activation == SIGMOID:
        for s in range(Z.shape[1]):
            z = Z[j, s] + intercept
            nonfinite += z * zero != zero
            Z[j, s] = one / (one + np.exp(-z))  # scipy.special.expit's formula
    elif activation == LEAKY_RELU:
        for s in range(Z.shape[1]):
            z = Z[j, s] + intercept
            nonfinite += z * zero != zero
            Z[j, s] = z if z >= zero else slope * z
    else:  # identity
        for s in range(Z.shape[1]):
            z = Z[j, s] + intercept
            nonfinite += z * zero != zero
            Z[j, s] = z
    return nonfinite


# tanh as arithmetic the loops vectorise (the C library's tanh, one call per element, costs 7 times
# as much): Cephes' rational function below 0.625, ``(1 - e) / (1 + e)`` with ``e = exp(-2 |z|)``
# above, the exponential by Cephes' Cody-Waite reduction and Pade form, its power of two built by
# multiplications. Within 2 ulps in float64 (tests/test_network.py); float32 is computed in
# float64 and rounded. NumPy's own vectorised tanh differs from it, as from the C library's, in the
# last bits of some results.
_TANH_P0, _TANH_P1, _TANH_P2 = (
    -9.64399179425052238628e-1,
    -9.92877231001918586564e1,
    -1.61468768441708447952e3,
)
_TANH_Q0, _TANH_Q1, _TANH_Q2 = (
    1.12811678491632931402e2,
    2.23548839060100448583e3,
    4.84406305325125486048e3,
)
_EXP_P0, _EXP_P1, _EXP_P2 = (
    1.26177193074810590878e-4,
    3.02994407707441961300e-2,
    9.99999999999999999910e-1,
)
_EXP_Q0, _EXP_Q1, _EXP_Q2, _EXP_Q3 = (
    3.00198505138664455042e-6,
    2.52448340349684104192e-3,
    2.27265548208155028766e-1,
    2.00000000000000000009e0,
)
_LOG2E, _LN2_HIGH, _LN2_LOW = 1.4426950408889634, 6.93145751953125e-1, 1.42860682030941723212e-6


@njit(cache=True, inline="always", error_model="numpy")
def _tanh(z):
    """tanh(z) in float64, without a call: see the constants above."""
    x = abs(float(z))
    w = x * x
    small = x + x * w * (
        ((_TANH_P0 * w + _TANH_P1) * w + _TANH_P2)
        / (((w + _TANH_Q0) * w + _TANH_Q1) * w + _TANH_Q2)
    )
    # e = exp(y), y = -2 x in [-40, -0.6]: 2**n exp(r) with |r| <= ln(2) / 2 (beyond 20, tanh
    # rounds to 1 whatever e; below 0.625, e is not used).
    y = -2.0 * min(max(x, 0.3), 20.0)
    n = math.floor(_LOG2E * y + 0.5)
    r = y - n * _LN2_HIGH
    r = r - n * _LN2_LOW
    rr = r * r
    odd = r * ((_EXP_P0 * rr + _EXP_P1) * rr + _EXP_P2)
    e = 1.0 + 2.0 * (odd / ((((_EXP_Q0 * rr + _EXP_Q1) * rr + _EXP_Q2) * rr + _EXP_Q3) - odd))
    bits = np.int64(-n)  # 2**n, 1 <= -n <= 58, exactly: a product of 2**-(2**k) over its bits
    e *= 0.5 if bits & 1 else 1.0
    e *= 0.25 if bits & 2 else 1.0
    e *= 0.0625 if bits & 4 else 1.0
    e *= 2.0**-8 if bits & 8 else 1.0
    e *= 2.0**-16 if bits & 16 else 1.0
    e *= 2.0**-32 if bits & 32 else 1.0
    large = (1.0 - e) / (1.0 + e)
    return math.copysign(small if x < 0.625 else large, z)


@njit(cache=True, fastmath={"contract"})
def _backpropagate_linear(W, D, D_in, zero):
    """``D_in = W @ D``: the delta of a hidden layer's output from the delta of the next layer's,
    before the chain rule through the mask and the activation."""
    if W.size >= BLAS_MIN_WEIGHTS:
        np.dot(W, D, D_in)
        return
    for k in range(D_in.shape[0]):
        _combine(W, k, D, zero, D_in)


@njit(cache=True)
def _activation_gradient(D, A, zero, activation, slope):
    """Chain rule through an activation other than ReLU: ``D *= f'(z)``, expressed from the
    outputs ``A = f(z)`` as :data:`skreg._base.DERIVATIVES` computes it (no contraction into
    fused multiply-adds, which would round ``1 - a * a`` otherwise)."""
    one = zero + 1
    if activation == TANH:
        for u in range(D.shape[0]):
            for s in range(D.shape[1]):
                a = A[u, s]
                D[u, s] *= one - a * a
    elif activation == SIGMOID:
        for u in range(D.shape[0]):
            for s in range(D.shape[1]):
                a = A[u, s]
                D[u, s] = D[u, s] * a * (one - a)
    elif activation == LEAKY_RELU:
        for u in range(D.shape[0]):
            for s in range(D.shape[1]):
                D[u, s] *= one if A[u, s] > 0 else slope
    # identity: a factor 1


#: Samples whose ``1 + exp(-|z|)`` factors, each in (1, 2], are multiplied before one logarithm.
LOG_PRODUCT_SAMPLES = 64


# reassoc: the sums and products vectorise; error_model="numpy": so do the divisions.
@njit(cache=True, fastmath={"reassoc", "contract"}, error_model="numpy")
def _logistic_loss(logits, Y, delta, inv_m, weights):
    """``log(1 + exp(z)) - y z`` summed over outputs, mean over samples (as float64);
    ``(sigmoid(z) - y) / m`` into ``delta``. Arrays are ``(n_outputs, n_samples)``.

    ``log(1 + exp(z)) = max(z, 0) + log(1 + e)`` with ``e = exp(-|z|)``, and the ``log(1 + e)``
    terms are summed as the logarithm of their product, one logarithm per 64 samples instead of
    one per sample: 64 factors in (1, 2] cannot overflow, and the roundings (two per factor, each
    below ``2**-53`` relative) move the mean cost by at most ``2**-52``.
    """
    one = inv_m / inv_m
    if weights.shape[0]:
        return _weighted_logistic_loss(logits, Y, delta, weights, one)
    n_samples = logits.shape[1]
    total = 0.0
    for j in range(logits.shape[0]):
        for s in range(n_samples):  # the exponentials first, in a loop of their own
            delta[j, s] = np.exp(-abs(logits[j, s]))
        for first in range(0, n_samples, LOG_PRODUCT_SAMPLES):
            product, linear = 1.0, 0.0
            for s in range(first, min(first + LOG_PRODUCT_SAMPLES, n_samples)):
                z = logits[j, s]
                product *= 1.0 + delta[j, s]
                linear += max(z, 0.0) - Y[j, s] * z
            total += linear + np.log(product)
        for s in range(n_samples):
            z, e = logits[j, s], delta[j, s]
            p = (one if z >= 0 else e) / (one + e)
            delta[j, s] = (p - Y[j, s]) * inv_m
    return total / n_samples


@njit(cache=True, error_model="numpy")
def _weighted_logistic_loss(logits, Y, delta, weights, one):
    """:func:`_logistic_loss` with sample ``weights`` summing to 1: the weighted sum of the
    samples' losses, and ``(sigmoid(z) - y) * weight`` into ``delta``."""
    total = 0.0
    for j in range(logits.shape[0]):
        for s in range(logits.shape[1]):
            z = logits[j, s]
            e = np.exp(-abs(z))
            total += weights[s] * (max(z, 0.0) + np.log1p(e) - Y[j, s] * z)
            p = (one if z >= 0 else e) / (one + e)
            delta[j, s] = (p - Y[j, s]) * weights[s]
    return total


@njit(cache=True, error_model="numpy")
def _softmax_loss(logits, Y, delta, inv_m, weights):
    """Mean categorical cross-entropy (as float64); ``(softmax(z) - y) / m`` into ``delta``. With
    sample ``weights`` (summing to 1, if not empty), the weighted sum of the samples' losses and
    ``(softmax(z) - y) * weight``. Arrays are ``(n_classes, n_samples)``.
    """
    weighted = weights.shape[0] > 0
    total = 0.0
    for s in range(logits.shape[1]):
        top = logits[0, s]
        for j in range(1, logits.shape[0]):
            top = max(top, logits[j, s])
        true_logit = 0.0
        normaliser = top - top
        for j in range(logits.shape[0]):
            shifted = logits[j, s] - top
            true_logit += Y[j, s] * shifted
            delta[j, s] = np.exp(shifted)
            normaliser += delta[j, s]
        scale = weights[s] if weighted else inv_m
        loss = np.log(normaliser) - true_logit
        total += weights[s] * loss if weighted else loss
        for j in range(logits.shape[0]):
            delta[j, s] = (delta[j, s] / normaliser - Y[j, s]) * scale
    return total if weighted else total / logits.shape[1]


@njit(cache=True)
def _loss(logits, Y, delta, inv_m, weights, loss):
    """The batch's mean loss (as float64) and its gradient into ``delta``, for the loss ``loss``
    (``(code, level)``, see :func:`_loss_arguments`): one branch per step, none in the loops."""
    code = loss[0]
    if code == SOFTMAX:
        return _softmax_loss(logits, Y, delta, inv_m, weights)
    if code == LOGISTIC:
        return _logistic_loss(logits, Y, delta, inv_m, weights)
    if code == SQUARED_ERROR:
        return _squared_error_loss(logits, Y, delta, inv_m, weights)
    if code == POISSON:
        return _poisson_loss(logits, Y, delta, inv_m, weights)
    return _pinball_loss(logits, Y, delta, inv_m, weights, loss[1][0])


@njit(cache=True, error_model="numpy")
def _squared_error_loss(logits, Y, delta, inv_m, weights):
    """Half the squared error, summed over outputs, mean (or weighted mean, with ``weights``
    summing to 1) over samples; ``(z - y) / m`` (or times the weight) into ``delta``."""
    weighted = weights.shape[0] > 0
    total = 0.0
    for j in range(logits.shape[0]):
        for s in range(logits.shape[1]):
            residual = logits[j, s] - Y[j, s]
            square = 0.5 * float(residual) * float(residual)
            total += weights[s] * square if weighted else square
            delta[j, s] = residual * (weights[s] if weighted else inv_m)
    return total if weighted else total / logits.shape[1]


@njit(cache=True, error_model="numpy")
def _poisson_loss(logits, Y, delta, inv_m, weights):
    """Half the Poisson deviance of ``exp(z)``, ``exp(z) - y z + y log y - y`` (``0 log 0 = 0``);
    ``(exp(z) - y) / m`` (or times the weight) into ``delta``. An overflowing ``exp(z)`` makes
    the cost infinite: divergence, as in the NumPy engine."""
    weighted = weights.shape[0] > 0
    total = 0.0
    for j in range(logits.shape[0]):
        for s in range(logits.shape[1]):
            z, y = logits[j, s], Y[j, s]
            mean = np.exp(z)
            y_log_y = float(y) * np.log(float(y)) if y > 0 else 0.0
            deviance = float(mean) - float(y) * float(z) + y_log_y - float(y)
            total += weights[s] * deviance if weighted else deviance
            delta[j, s] = (mean - y) * (weights[s] if weighted else inv_m)
    return total if weighted else total / logits.shape[1]


@njit(cache=True, error_model="numpy")
def _pinball_loss(logits, Y, delta, inv_m, weights, quantile):
    """Pinball loss at level ``quantile`` (in the parameters' dtype), ``max(q r, (q - 1) r)``
    with ``r = y - z``; ``(1 - q) / m`` where ``z > y``, else ``-q / m`` (or times the weight),
    into ``delta``."""
    weighted = weights.shape[0] > 0
    above, below = inv_m / inv_m - quantile, -quantile  # in the parameters' dtype
    q = float(quantile)
    total = 0.0
    for j in range(logits.shape[0]):
        for s in range(logits.shape[1]):
            z, y = logits[j, s], Y[j, s]
            residual = float(y) - float(z)
            loss = max(q * residual, (q - 1.0) * residual)
            total += weights[s] * loss if weighted else loss
            delta[j, s] = (above if z > y else below) * (weights[s] if weighted else inv_m)
    return total if weighted else total / logits.shape[1]
