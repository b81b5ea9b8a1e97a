"""The compiled engine's Python driver: the NumPy engine's training loop
(:func:`skreg._training.train_epochs`), option for option, run by the Cython kernels of
:mod:`skreg._compiled` that ``pip install .`` builds.

:func:`train_epochs` lays a fit out for the kernels (a :class:`Setup`: flat C-contiguous buffers in
the :class:`~skreg._network.Parameters` layout, a batch's activations and deltas units-major) and
calls them a block of epochs at a time: full-batch epochs in calls of about :data:`CALL_SECONDS`
each (so that Ctrl-C interrupts a fit at once), one a call when someone listens between epochs (a
stopping rule, a callback); and mini-batch epochs one a call, after the epoch's shuffle, which
draws from the training stream through NumPy's ``Generator.permutation``. The kernels draw the rest
of the stream (dropout words, input noise) natively, so both engines train on the same random
numbers, and run without the GIL.

A full batch of more than :data:`SHARD_ROWS` rows is split into shards of rows (how, by its size
only); so is a mini-batch of at least twice :data:`BATCH_SHARD_ROWS` rows. Each step, the
shards' gradients are computed side by side on OpenMP threads, each on single-threaded BLAS in
cache-sized buffers of its own, then summed in shard order over slices of the parameters: the
model is the same, bit for bit, on any number of threads. Sharded mini-batches run a segment of
batches at a time on all the threads allowed or on one, whichever :class:`_Pace` last measured
faster: on a busy machine a thread lent to another process makes the others wait.
"""

import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._base import BOUNDED_ACTIVATIONS, LEAKY_RELU_SLOPE
from ._codes import ACTIVATION_CODES, LOSS_CODES, SOLVER_CODES
from ._network import PRINT_EPOCHS, normalised, print_cost, raise_divergence
from ._optimizers import Adam, GradientDescent, Momentum
from ._random import (
    DROPOUT_LANES,
    keep_threshold,
    lane_states,
    set_lane_states,
    set_sfc64_state,
    sfc64_state,
)
from ._threads import allowed_threads, single_threaded_blas


def _openmp_build():
    """The compiled module that tells how the engine was built (OpenMP and its limits)."""
    from ._compiled import _build

    return _build


# GNU OpenMP's threads do not survive fork(): a child forked after this process ran a team of
# them would wait for them forever at its first parallel region.
_fork_state = {"ran_threads": False, "inherited_threads": False}


def _after_fork_in_child():
    _fork_state["inherited_threads"] = _fork_state["ran_threads"]


if hasattr(os, "register_at_fork"):  # (not on Windows, which does not fork)
    os.register_at_fork(after_in_child=_after_fork_in_child)


def openmp_threads():
    """The OpenMP threads a step's shards may use: those allowed (``allowed_threads``) within
    OpenMP's own limit; one in a process forked from one whose fits ran OpenMP threads."""
    if _fork_state["inherited_threads"]:
        return 1
    return max(1, min(allowed_threads(), _openmp_build().openmp_max_threads()))


def _kernels():
    """The compiled training module for this CPU: the AVX2 build where the CPU has AVX2 and it
    was built (x86-64), else the baseline one. Both compute the same bits from the same sources
    (see ``setup.py``); the AVX2 build's element-wise loops run on wider vectors."""
    if _cpu_has_avx2():
        try:
            from ._compiled_avx2 import _training
        except ImportError:
            pass
        else:
            return _training
    from ._compiled import _training

    return _training


def _cpu_has_avx2():
    """Whether this CPU, and its operating system, run AVX2 code (as NumPy detected it)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_features__
    return bool(__cpu_features__.get("AVX2"))


KERNELS = _kernels()
Trainer = KERNELS.Trainer

#: A compiled call runs full-batch epochs for about this many seconds at most (its first call,
#: FIRST_CALL_EPOCHS epochs, measures their pace), so that Python handles signals such as
#: Ctrl-C (``KeyboardInterrupt``) and prints ``verbose``'s lines between calls.
CALL_SECONDS = 0.1
FIRST_CALL_EPOCHS = 16
#: A full batch of more rows than this is split into shards of at most about as many rows...
SHARD_ROWS = 2048
#: ... but into at most this many shards, whose gradients take at most SHARD_GRADIENT_BYTES.
MAX_SHARDS = 64
SHARD_GRADIENT_BYTES = 2**27
#: A mini-batch of at least twice this many rows is split into shards of about as many rows.
BATCH_SHARD_ROWS = 128
#: The sum of the shards' gradients and the update run in slices of about this many parameters
#: (at most MAX_SLICES), side by side.
SLICE_PARAMS = 2048
MAX_SLICES = 64
#: Sharded mini-batches run in segments of this many batches, on all the threads allowed or on
#: one (see _Pace); the other is tried on PROBE_BATCHES batches once the chosen count has run
#: PROBE_SPACING times as long as the other's last trial took, so that trials take a small share
#: of the time however slow the other is (on a busy machine, a batch on all threads waits for a
#: thread lent to another process).
SEGMENT_BATCHES = 16
PROBE_BATCHES = 2
PROBE_SPACING = 32


def train_epochs(
    X, Y, params, optimizer, *, loss, regularization, max_iter, stream, sample_weight=None,
    batch_size=None, stopper=None, verbose=0, shuffle=True,
):  # fmt: skip
    """Train ``params`` in place for up to ``max_iter`` epochs, in compiled code.

    Takes the arguments of :func:`skreg._training.train_epochs` and returns what it returns, the
    loss curve; a sparse ``X`` is trained on as a dense copy. ``stream`` (the training stream) is
    advanced as the NumPy engine advances it, and the optimizer's state (velocity, moments, step
    count, step size, samples seen) is updated in place. Raises ``ValueError`` as soon as a cost
    or the parameters stop being finite.
    """
    if sp.issparse(X):
        X = X.toarray()  # the kernels take dense rows
    n_samples = X.shape[0]
    batch_size = n_samples if batch_size is None else min(batch_size, n_samples)
    setup = Setup.of(
        X, Y, params, optimizer, loss, regularization, sample_weight, batch_size, stream
    )
    trainer = Trainer(setup)
    run = _Run(trainer, setup, optimizer, stopper, verbose)
    try:
        with single_threaded_blas() if setup.shards is not None else nullcontext():
            if batch_size == n_samples:
                loss_curve = run.full_batch_epochs(max_iter)
            else:
                loss_curve = run.minibatch_epochs(max_iter, stream if shuffle else None)
    finally:
        run.store_schedule()
        set_sfc64_state(stream, np.array(trainer.random_state, dtype=np.uint64))
        set_lane_states(stream, trainer.lane_states)
    if not np.isfinite(params.flat).all():
        raise_divergence(len(loss_curve), math.nan, optimizer.learning_rate)
    return loss_curve


def cost_and_gradients(X, Y, params, *, loss, regularization, stream, sample_weight=None):
    """Cost at ``params`` and its gradient (flat, in the ``Parameters`` layout), as a compiled
    full-batch step computes them, with the dropout masks and noise it draws from ``stream``; for
    the gradient check."""
    optimizer = GradientDescent(params.flat.size, params.flat.dtype, learning_rate=1.0)
    setup = Setup.of(
        X, Y, params, optimizer, loss, regularization, sample_weight, X.shape[0], stream
    )
    trainer = Trainer(setup)
    with single_threaded_blas() if setup.shards is not None else nullcontext():
        cost = trainer.cost_and_gradients(setup.threads)
    return cost, setup.grads.copy()


class _Run:
    """The epochs of one fit: compiled calls, and between them what Python decides (printing,
    the stopping rule, a mini-batch epoch's shuffle)."""

    def __init__(self, trainer, setup, optimizer, stopper, verbose):
        self.trainer, self.setup, self.optimizer = trainer, setup, optimizer
        self.stopper, self.verbose = stopper, verbose
        self.threads = setup.threads

    def full_batch_epochs(self, max_iter):
        """Blocks of epochs per compiled call: one at a time for a stopping rule, else about
        ``CALL_SECONDS``' worth (see :func:`_epochs_per_call`)."""
        loss_curve = np.empty(max_iter)
        start, block = 0, 1 if self.stopper is not None else FIRST_CALL_EPOCHS
        while start < max_iter:
            stop = min(start + block, max_iter)
            began = time.perf_counter()
            done = self.trainer.full_batch_epochs(loss_curve, start, stop, self.threads)
            self.print_costs(loss_curve, start, done)
            if done < stop:
                raise_divergence(done, float(loss_curve[done]), self.optimizer.learning_rate)
            if self.stopper is not None:
                if self.stops(float(loss_curve[start])):
                    return loss_curve[:stop].tolist()
            else:
                block = _epochs_per_call(stop - start, time.perf_counter() - began)
            start = stop
        return loss_curve.tolist()

    def minibatch_epochs(self, max_iter, stream):
        """One epoch at a time, after its shuffle (none if ``stream`` is None: the batches then
        take the rows in order)."""
        loss_curve = np.empty(max_iter)
        order = np.arange(self.setup.n_samples, dtype=np.intp)
        pace = _Pace(self.threads) if self.setup.shards is not None else None
        for epoch in range(max_iter):
            if stream is not None:
                order = self.shuffle(stream)
            if pace is None:
                cost = self.trainer.minibatch_epoch(order)
            else:
                cost = self.sharded_epoch(order, pace)
            if not np.isfinite(cost):
                raise_divergence(epoch, cost, self.optimizer.learning_rate)
            loss_curve[epoch] = cost
            self.print_costs(loss_curve, epoch, epoch + 1)
            if self.stopper is not None and self.stops(float(cost)):
                return loss_curve[: epoch + 1].tolist()
        return loss_curve.tolist()

    def shuffle(self, stream):
        """The epoch's order of the rows, drawn from the training stream."""
        set_sfc64_state(stream, np.array(self.trainer.random_state, dtype=np.uint64))
        order = stream.permutation(self.setup.n_samples).astype(np.intp, copy=False)
        self.trainer.random_state = sfc64_state(stream).tolist()
        return order

    def sharded_epoch(self, order, pace):
        """An epoch of sharded mini-batches, a segment at a time on the threads ``pace``
        chooses: its cost, or the first that is not finite."""
        n_batches = -(-self.setup.n_samples // self.setup.batch_size)
        self.trainer.begin_sharded_epoch()
        batch = 0
        while batch < n_batches:
            threads, length = pace.next_segment()
            stop = min(batch + length, n_batches)
            began = time.perf_counter()
            cost = self.trainer.sharded_batches(order, batch, stop, threads)
            pace.record(threads, time.perf_counter() - began, stop - batch)
            if not np.isfinite(cost):
                return cost
            batch = stop
        return self.trainer.end_sharded_epoch()

    def print_costs(self, loss_curve, start, stop):
        if self.verbose:
            first = -(-start // PRINT_EPOCHS) * PRINT_EPOCHS
            for epoch in range(first, stop, PRINT_EPOCHS):
                print_cost(epoch, float(loss_curve[epoch]))

    def store_schedule(self):
        """Write the optimizer's step count, step size and samples seen back to ``optimizer``."""
        if isinstance(self.optimizer, Adam):
            self.optimizer.t = int(self.trainer.adam_steps)
        self.optimizer.step_size = float(self.trainer.step_size)
        self.optimizer.samples_seen = float(self.trainer.samples_seen)

    def stops(self, cost):
        """The stopping rule between epochs, with the optimizer's state up to date: the
        "adaptive" schedule's rule may change its step size, which the next epochs then use."""
        self.store_schedule()
        stopping = self.stopper(cost, self.setup.params)
        self.trainer.step_size = self.optimizer.step_size
        return stopping


@dataclass
class OptimizerSetup:
    """The optimizer's settings and state for the kernels' ``Optimizer`` record; ``first`` and
    ``second`` are the optimizer's own state arrays, updated in place."""

    solver: int
    step_size: float
    last_step_size: float
    learning_rate: float
    invscaling: bool
    power_t: float
    samples_seen: float
    momentum: float = 0.0
    beta_1: float = 0.0
    beta_2: float = 0.0
    epsilon: float = 0.0
    t: int = 0
    first: np.ndarray = None
    second: np.ndarray = None

    @classmethod
    def of(cls, optimizer, flat):
        """The setup of ``optimizer``, whose state arrays the kernels read and write in place as
        vectors of the parameters ``flat`` (their dtype, their size): anything else is refused."""
        for name in getattr(optimizer, "state_names", ()):
            state = getattr(optimizer, name, None)
            if isinstance(state, np.ndarray) and not (
                state.dtype == flat.dtype and state.shape == flat.shape
                and state.flags.c_contiguous and state.flags.writeable
            ):  # fmt: skip
                raise ValueError(
                    f"The optimizer's {name} is a {state.dtype} array of shape {state.shape}; "
                    f"the compiled engine needs a writeable {flat.dtype} vector of the "
                    f"parameters' size {flat.shape}."
                )
        settings = dict(
            step_size=optimizer.step_size,
            last_step_size=optimizer.effective_learning_rate(),
            learning_rate=optimizer.learning_rate,
            invscaling=optimizer.schedule == "invscaling",
            power_t=optimizer.power_t,
            samples_seen=optimizer.samples_seen,
        )
        if isinstance(optimizer, Momentum):
            solver = "nesterov" if optimizer.nesterov else "momentum"
            settings.update(momentum=optimizer.momentum, first=optimizer.velocity)
        elif isinstance(optimizer, Adam):
            solver = "adam"
            settings.update(
                beta_1=optimizer.beta_1, beta_2=optimizer.beta_2, epsilon=optimizer.epsilon,
                t=optimizer.t, first=optimizer.first_moment, second=optimizer.second_moment,
            )  # fmt: skip
        else:
            solver = "gd"
        return cls(solver=SOLVER_CODES[solver], **settings)


@dataclass
class ShardSetup:
    """A step's shards: their bounds (a full batch's), each thread's buffers, the shards'
    gradients and costs, and the parameters' slices."""

    n_shards: int
    rows_per_shard: int
    max_rows: int
    bounds: np.ndarray
    XT: np.ndarray
    YT: np.ndarray
    activations: np.ndarray
    deltas: np.ndarray
    unmasked: np.ndarray
    grads: np.ndarray
    costs: np.ndarray
    slices: np.ndarray
    partials: np.ndarray
    identity: np.ndarray

    @classmethod
    def allocate(cls, setup, n_shards, max_rows, threads, bounds=None, identity_rows=0):
        dtype, n_params = setup.flat.dtype, setup.flat.size
        n_units = int(setup.units[1:].sum())
        n_slices = min(max(1, n_params // SLICE_PARAMS), MAX_SLICES)
        return cls(
            n_shards=n_shards,
            rows_per_shard=BATCH_SHARD_ROWS,
            max_rows=max_rows,
            bounds=np.asarray(bounds if bounds is not None else [0], dtype=np.intp),
            XT=np.empty(threads * setup.X.shape[1] * max_rows, dtype),
            YT=np.empty(threads * setup.Y.shape[1] * max_rows, dtype),
            activations=np.empty(threads * n_units * max_rows, dtype),
            deltas=np.empty(threads * n_units * max_rows, dtype),
            unmasked=np.empty(threads * n_units * max_rows if setup.bounded_dropout else 0, dtype),
            grads=np.empty((n_shards, n_params), dtype),
            costs=np.zeros(n_shards),
            slices=np.linspace(0, n_params, n_slices + 1).astype(np.intp),
            partials=np.zeros((n_slices, 2)),  # PenaltySums: squares, absolute
            identity=np.arange(identity_rows, dtype=np.intp),
        )


@dataclass
class Setup:
    """A fit laid out for the kernels (:class:`skreg._compiled._training.Trainer` reads these
    attributes by name): the network's layout, loss, penalty, dropout, optimizer, random state,
    data and buffers."""

    params: object
    units: np.ndarray
    coef_offsets: np.ndarray
    intercept_offsets: np.ndarray
    unit_offsets: np.ndarray
    activation: int
    leaky_slope: float
    loss: int
    quantile: float
    l2: float
    l1: float
    m: float
    input_noise: float
    max_norm: float
    word_offsets: np.ndarray
    thresholds: np.ndarray
    scales: np.ndarray
    words_per_row: int
    bounded_dropout: bool  # the outputs of dropped layers are kept before their masks
    optimizer: OptimizerSetup
    random_state: np.ndarray
    lane_states: np.ndarray
    n_samples: int
    batch_size: int
    flat: np.ndarray
    grads: np.ndarray
    X: np.ndarray
    Y: np.ndarray
    XT: np.ndarray = None
    YT: np.ndarray = None
    noisy: np.ndarray = None
    sample_weight: np.ndarray = None
    weights: np.ndarray = None
    activations: np.ndarray = None
    deltas: np.ndarray = None
    unmasked: np.ndarray = None
    words: np.ndarray = None
    normals: np.ndarray = None
    shards: ShardSetup = None
    threads: int = 1  # the shards' (steps kept whole run on one)

    @classmethod
    def of(cls, X, Y, params, optimizer, loss, regularization, sample_weight, batch_size, stream):
        dtype = params.flat.dtype
        if dtype not in (np.float32, np.float64):
            raise ValueError(
                f"The compiled engine trains float32 or float64 parameters; got {dtype}."
            )
        n_samples = X.shape[0]
        units = np.array(params.layer_units, dtype=np.intp)
        weights = units[:-1] * units[1:]
        blocks = weights + units[1:]
        coef_offsets = np.cumsum(blocks) - blocks
        keep_probs = np.asarray(regularization.keep_probs, dtype=np.float64)
        dropped = np.where(keep_probs < 1, units[1:-1], 0).astype(np.int64)
        loss_name, quantile = (loss, 0.5) if isinstance(loss, str) else loss
        penalty = regularization.penalty
        setup = cls(
            params=params,
            units=units,
            coef_offsets=coef_offsets.astype(np.intp),
            intercept_offsets=(coef_offsets + weights).astype(np.intp),
            unit_offsets=(np.cumsum(units[1:]) - units[1:]).astype(np.intp),
            activation=ACTIVATION_CODES[params.activation],
            leaky_slope=LEAKY_RELU_SLOPE,
            loss=LOSS_CODES[loss_name],
            quantile=quantile,
            l2=penalty.l2,
            l1=penalty.l1,
            m=n_samples if sample_weight is None else float(sample_weight.sum()),
            input_noise=regularization.input_noise,
            max_norm=regularization.max_norm or 0.0,
            word_offsets=np.where(keep_probs < 1, np.cumsum(dropped) - dropped, -1).astype(
                np.int64
            ),
            thresholds=np.array([keep_threshold(p) for p in keep_probs], dtype=np.uint32),
            scales=1.0 / keep_probs,
            words_per_row=int(dropped.sum()),
            bounded_dropout=regularization.dropout and params.activation in BOUNDED_ACTIVATIONS,
            optimizer=OptimizerSetup.of(optimizer, params.flat),
            random_state=sfc64_state(stream),
            lane_states=lane_states(stream),
            n_samples=n_samples,
            batch_size=batch_size,
            flat=params.flat,
            grads=np.empty_like(params.flat),
            X=np.ascontiguousarray(X, dtype),
            Y=np.ascontiguousarray(Y, dtype),
        )
        setup.lay_out_steps(sample_weight)
        return setup

    def lay_out_steps(self, sample_weight):
        """The buffers of a step: whole, or each thread's for shards."""
        dtype, n_samples, batch_size = self.flat.dtype, self.n_samples, self.batch_size
        n_features, n_units = self.X.shape[1], int(self.units[1:].sum())
        full_batch = batch_size == n_samples
        noised = self.input_noise != 0
        if sample_weight is not None:
            self.sample_weight = np.ascontiguousarray(sample_weight, dtype)
            self.weights = (
                normalised(sample_weight).astype(dtype, copy=False) if full_batch
                else np.empty(batch_size, dtype)
            )  # fmt: skip
        # The dropout words of a step, in whole rounds of the stream's lanes (see skreg._random)
        round_words = 2 * DROPOUT_LANES
        words = -(-self.words_per_row * batch_size // round_words) * round_words
        self.words = np.empty(max(words, round_words), dtype=np.uint32)
        self.normals = np.empty(n_features * batch_size if noised else 0)
        shards = self.shards_of_steps()
        if shards is not None:
            n_shards, max_rows, bounds = shards
            workers = min(openmp_threads(), n_shards)
            _fork_state["ran_threads"] |= workers > 1
            self.threads = workers
            self.shards = ShardSetup.allocate(
                self, n_shards, max_rows, workers, bounds, identity_rows=batch_size
            )
            if noised:  # the step's inputs with their noise, row-major
                self.noisy = np.empty((batch_size, n_features), dtype)
            return
        rows = batch_size
        if full_batch:  # the batch is the data, units-major, once and for all
            self.XT = np.array(self.X.T, dtype=dtype, order="C")
            self.YT = np.array(self.Y.T, dtype=dtype, order="C")
            if noised:
                self.noisy = np.empty(n_features * n_samples, dtype)
        else:  # each batch's rows are gathered, units-major, into these
            self.XT = np.empty(n_features * rows, dtype)
            self.YT = np.empty(self.Y.shape[1] * rows, dtype)
        self.activations = np.empty(rows * n_units, dtype)
        self.deltas = np.empty_like(self.activations)
        if self.bounded_dropout:
            self.unmasked = np.empty_like(self.activations)

    def shards_of_steps(self):
        """``(n_shards, max_rows, bounds)`` of the steps' shards, or None for steps kept whole:
        from the sizes only, never from the threads."""
        n_params, itemsize = self.flat.size, self.flat.dtype.itemsize
        if self.batch_size == self.n_samples:
            bounds = shard_bounds(self.n_samples, n_params, itemsize)
            if bounds is None:
                return None
            return len(bounds) - 1, max(np.diff(bounds)), bounds
        n_shards = batch_shard_count(self.batch_size, n_params, itemsize)
        if n_shards is None:
            return None
        last_rows = self.n_samples - (-(-self.n_samples // self.batch_size) - 1) * self.batch_size
        max_rows = max(
            -(-size // max(1, min(n_shards, size // BATCH_SHARD_ROWS)))
            for size in (self.batch_size, last_rows)
        )
        return n_shards, max_rows, None


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


def batch_shard_count(batch_size, n_params, itemsize):
    """How many shards a mini-batch of ``batch_size`` rows is split into: about
    :data:`BATCH_SHARD_ROWS` rows each, as many as :data:`MAX_SHARDS` and
    :data:`SHARD_GRADIENT_BYTES` allow; None for batches kept whole (fewer than 2). From the
    sizes only, never from the threads."""
    n_shards = min(
        batch_size // BATCH_SHARD_ROWS, MAX_SHARDS, SHARD_GRADIENT_BYTES // (n_params * itemsize)
    )
    return n_shards if n_shards >= 2 else None


def _epochs_per_call(epochs, seconds):
    """Epochs for the next compiled call, after a call ran ``epochs`` in ``seconds``: about
    ``CALL_SECONDS``' worth, at most 8 times as many as that call's (a first call can run fast
    for other reasons than its work: caches, the scheduler)."""
    if seconds * 8 <= CALL_SECONDS:
        return epochs * 8
    return max(1, int(epochs * CALL_SECONDS / seconds))


class _Pace:
    """How many threads to train the next mini-batches on: all those allowed, or one, whichever
    trained faster when last measured (the model is the same either way). Each is first tried
    on a few batches; then the faster runs segments of batches, and the other is tried again on
    a few batches once the faster has run PROBE_SPACING times as long as that trial took, or at
    once if the faster becomes slower than the other was."""

    def __init__(self, workers):
        self.workers = workers
        self.seconds = {}  # per batch, as last measured, by number of threads
        self.choice = workers
        self.trial_seconds = 0.0  # how long the other's last trial took
        self.since_trial = 0.0  # seconds run on the choice since then

    def next_segment(self):
        """``(threads, batches)`` for the next segment."""
        if self.workers == 1:
            return 1, SEGMENT_BATCHES
        if len(self.seconds) < 2:
            return (self.workers if not self.seconds else 1), PROBE_BATCHES
        if self.since_trial >= PROBE_SPACING * self.trial_seconds:
            return self._other(), PROBE_BATCHES
        return self.choice, SEGMENT_BATCHES

    def record(self, workers, seconds, batches):
        """The segment just run: ``batches`` batches on ``workers`` threads in ``seconds``."""
        self.seconds[workers] = seconds / batches
        if len(self.seconds) < 2:
            return
        if workers == self.choice:
            self.since_trial += seconds
            if self.seconds[workers] > self.seconds[self._other()]:  # try the other at once
                self.since_trial = PROBE_SPACING * self.trial_seconds
            return
        # After a trial of the other (or the first two segments): the faster, and what trying
        # the slower again would take.
        self.choice = min(self.seconds, key=self.seconds.get)
        self.trial_seconds = PROBE_BATCHES * self.seconds[self._other()]
        self.since_trial = 0.0

    def _other(self):
        return 1 if self.choice == self.workers else self.workers
