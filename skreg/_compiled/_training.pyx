"""The compiled engine's training loops: full-batch epochs and epochs of mini-batches, each step
the NumPy engine's (:func:`skreg._training.train_epochs`), option for option.

A :class:`Trainer` holds one fit's state in typed records (:mod:`skreg._compiled._common`): the
network, loss, regularization, dropout, optimizer and random stream, and the buffers of a step.
Large steps run in shards of rows (how many, from the sizes only: see
:mod:`skreg._compiled_engine`), each shard's gradient computed on an OpenMP thread with buffers of
its own, then summed in shard order over slices of the parameters, side by side: the model is the
same, bit for bit, on any number of threads. The loops run without the GIL.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY, isfinite
from libc.stdint cimport int64_t, uint32_t, uint64_t

from ._common cimport (
    ActivationCode, Batch, DROPOUT_LANES, Dropout, DropoutLanes, Loss, LossCode, Network,
    Optimizer, PenaltySums, Problem, RandomState, Regularization, Shards, SolverCode,
    SOLVER_ADAM, StepRows, intp_t,
)
from ._steps cimport (
    add_noise, add_noise_units_major, batch_cost, batch_of, draw, finish_step, gather,
    shard_cost, sum_shards, with_penalty,
)
from ._updates cimport (
    add_penalty_cost, constrain, count_adam_step, end_epoch, penalty_sums, update_overflowed,
    update_slice,
)


# -- full batches ----------------------------------------------------------------------------

cdef double full_batch_cost(Problem* p, const floating* flat, floating* grads) noexcept nogil:
    """One full-batch step's draws, its cost and its gradient, on the units-major data."""
    cdef intp_t n = p.n_samples
    cdef floating* XT = <floating*>p.XT
    cdef floating* noisy = <floating*>p.noisy
    cdef Batch batch
    draw(p, n)
    if p.regularization.input_noise:
        add_noise_units_major(p, XT, n, noisy)
        XT = noisy
    batch = batch_of(p, n, XT, p.YT, p.weights)
    return with_penalty(p, batch_cost(p, &batch, flat, grads, <floating>(1.0 / n)), flat, grads)


cdef double sharded_full_batch_cost(Problem* p, Shards* shards, const floating* flat,
                                    floating* grads, int n_threads) noexcept nogil:
    """:func:`full_batch_cost` in shards, side by side on ``n_threads`` threads."""
    cdef intp_t n = p.n_samples, k, u
    cdef StepRows step = StepRows(
        inputs=p.X, input_rows=shards.identity, target_rows=shards.identity, n_rows=n,
        weights=p.weights,
    )
    cdef double cost = 0.0
    draw(p, n)
    if p.regularization.input_noise:
        add_noise(p, <floating*>p.X, shards.identity, n, <floating*>p.noisy)
        step.inputs = p.noisy
    for k in prange(shards.n_shards, num_threads=n_threads, schedule="dynamic", chunksize=1):
        shards.costs[k] = shard_cost(
            p, shards, &step, shards.bounds[k], shards.bounds[k + 1], flat, k
        )
    for u in prange(shards.n_slices, num_threads=n_threads, schedule="dynamic", chunksize=1):
        sum_shards(shards, shards.n_shards, p.n_params, grads, shards.slices[u],
                   shards.slices[u + 1])
    for k in range(shards.n_shards):  # in shard order
        cost += shards.costs[k]
    if not isfinite(cost):
        return INFINITY
    return with_penalty(p, cost, flat, grads)


cdef double full_batch_step_cost(Problem* p, Shards* shards, const floating* flat,
                                 floating* grads, int n_threads) noexcept nogil:
    """A full-batch step's cost and gradient: in ``shards`` on ``n_threads`` threads, or whole
    if ``shards`` is NULL."""
    if shards == NULL:
        return full_batch_cost(p, flat, grads)
    return sharded_full_batch_cost(p, shards, flat, grads, n_threads)


cdef intp_t full_batch_epochs(Problem* p, Shards* shards, floating* flat, floating* grads,
                              double* loss_curve, intp_t start, intp_t stop,
                              int n_threads) noexcept nogil:
    """Full-batch epochs ``start`` to ``stop`` (see :func:`full_batch_step_cost`); returns the
    first whose cost is not finite, or ``stop``."""
    cdef intp_t epoch
    for epoch in range(start, stop):
        loss_curve[epoch] = full_batch_step_cost(p, shards, flat, grads, n_threads)
        if not isfinite(loss_curve[epoch]):
            return epoch
        finish_step(p, flat, grads)
        if update_overflowed(&p.optimizer, flat, p.n_params):
            loss_curve[epoch] = INFINITY
            return epoch
        end_epoch(&p.optimizer, p.regularization.m)
    return stop




# -- mini-batches ----------------------------------------------------------------------------

cdef double batch_weights(const floating* sample_weight, const intp_t* rows, intp_t n_rows,
                          floating* weights) noexcept nogil:
    """The weights of a batch's ``rows`` into ``weights``, normalised to sum to 1 (unless they
    sum to 0); returns their sum, summed in their dtype."""
    cdef floating summed = 0
    cdef intp_t s
    for s in range(n_rows):
        weights[s] = sample_weight[rows[s]]
        summed += weights[s]
    if summed != 0:
        for s in range(n_rows):
            weights[s] /= summed
    return summed


cdef double minibatch_epoch(Problem* p, floating* flat, floating* grads,
                            const intp_t* order) noexcept nogil:
    """One epoch of mini-batches over the rows in ``order``; returns its cost, the weighted mean
    of its batches' costs, or the first cost that is not finite. Each batch's rows are gathered
    from the data, units-major; a batch of zero-weight rows only is skipped before any draw."""
    cdef intp_t batch_index, start, rows, n_features = p.n_features
    cdef intp_t n_batches = (p.n_samples + p.batch_size - 1) // p.batch_size
    cdef double total = 0.0, batch_weight, cost
    cdef floating* weights
    cdef floating* XT = <floating*>p.XT
    cdef Batch batch
    for batch_index in range(n_batches):
        start = batch_index * p.batch_size
        rows = min(p.batch_size, p.n_samples - start)
        batch_weight = rows
        weights = NULL
        if p.sample_weight != NULL:
            weights = <floating*>p.weights
            batch_weight = batch_weights(<floating*>p.sample_weight, order + start, rows, weights)
            if batch_weight == 0:
                continue
        gather(<floating*>p.X, n_features, order + start, rows, XT)
        gather(<floating*>p.Y, p.n_outputs, order + start, rows, <floating*>p.YT)
        draw(p, rows)
        if p.regularization.input_noise:
            add_noise_units_major(p, XT, rows, XT)
        batch = batch_of(p, rows, XT, p.YT, weights)
        cost = with_penalty(
            p, batch_cost(p, &batch, flat, grads, <floating>(1.0 / rows)), flat, grads
        )
        if not isfinite(cost):
            return cost
        total += batch_weight * cost
        finish_step(p, flat, grads)
        if update_overflowed(&p.optimizer, flat, p.n_params):
            return INFINITY
    end_epoch(&p.optimizer, p.regularization.m)
    return total / p.regularization.m


cdef double sharded_batch(Problem* p, Shards* shards, floating* flat, floating* grads,
                          const intp_t* order, intp_t start, int n_threads,
                          double* batch_weight) noexcept nogil:
    """The mini-batch of the rows ``order[start:]`` in shards, side by side on ``n_threads``
    threads: the shards' gradients, then over slices of the parameters their sum, the
    penalty's terms and the update; returns the batch's cost (NaN for a batch skipped for its
    zero weights), its weight into ``batch_weight``."""
    cdef intp_t rows = min(p.batch_size, p.n_samples - start), n_shards, k, u
    cdef StepRows step = StepRows(
        inputs=p.X, input_rows=order + start, target_rows=order + start, n_rows=rows,
        weights=NULL,
    )
    cdef PenaltySums sums = PenaltySums(squares=0.0, absolute=0.0)
    cdef double cost = 0.0
    batch_weight[0] = rows
    if p.sample_weight != NULL:
        step.weights = p.weights
        batch_weight[0] = batch_weights(
            <floating*>p.sample_weight, order + start, rows, <floating*>p.weights
        )
        if batch_weight[0] == 0:
            return 0.0 * INFINITY
    draw(p, rows)
    if p.regularization.input_noise:
        add_noise(p, <floating*>p.X, order + start, rows, <floating*>p.noisy)
        step.inputs, step.input_rows = p.noisy, shards.identity
    n_shards = max(1, min(shards.n_shards, rows // shards.rows_per_shard))
    for k in prange(n_shards, num_threads=n_threads, schedule="dynamic", chunksize=1):
        shards.costs[k] = shard_cost(
            p, shards, &step, k * rows // n_shards, (k + 1) * rows // n_shards, flat, k
        )
    for k in range(n_shards):  # in shard order
        cost += shards.costs[k]
    if not isfinite(cost):
        return cost
    if p.optimizer.solver == SOLVER_ADAM:
        count_adam_step(&p.optimizer)
    for u in prange(shards.n_slices, num_threads=n_threads, schedule="dynamic", chunksize=1):
        sum_shards(shards, n_shards, p.n_params, grads, shards.slices[u], shards.slices[u + 1])
        shards.partials[u] = penalty_sums(
            &p.network, &p.regularization, flat, grads, shards.slices[u], shards.slices[u + 1]
        )
        update_slice(&p.optimizer, flat, grads, shards.slices[u], shards.slices[u + 1])
    for u in range(shards.n_slices):  # in slice order
        sums.squares += shards.partials[u].squares
        sums.absolute += shards.partials[u].absolute
    cost = add_penalty_cost(&p.regularization, cost, sums)
    if isfinite(cost):
        constrain(&p.network, &p.regularization, &p.optimizer, flat)
        if update_overflowed(&p.optimizer, flat, p.n_params):
            return INFINITY
    return cost


cdef double sharded_batches(Problem* p, Shards* shards, floating* flat, floating* grads,
                            const intp_t* order, intp_t first_batch, intp_t stop_batch,
                            int n_threads, double* total) noexcept nogil:
    """Mini-batches ``first_batch`` to ``stop_batch`` of an epoch, in shards; adds their
    weighted costs to ``total``; returns the first cost that is not finite, else 0."""
    cdef intp_t batch
    cdef double cost, batch_weight
    for batch in range(first_batch, stop_batch):
        cost = sharded_batch(
            p, shards, flat, grads, order, batch * p.batch_size, n_threads, &batch_weight
        )
        if batch_weight == 0:
            continue
        if not isfinite(cost):
            return cost
        total[0] += batch_weight * cost
    return 0.0


# -- the fit's state, for the Python driver ---------------------------------------------------

cdef void* address(object array):
    """Where a C-contiguous array's data starts; NULL for None or an empty array."""
    if array is None or array.size == 0:
        return NULL
    return <void*><size_t>array.__array_interface__["data"][0]


cdef class Trainer:
    """One fit's compiled training, from a :class:`skreg._compiled_engine.Setup` (whose arrays
    it keeps alive and trains in place: the parameters, the optimizer's state). Each method
    runs without the GIL; ``n_threads`` is how many OpenMP threads a step's shards may use."""

    cdef Problem problem
    cdef Shards shards
    cdef bint double_precision
    cdef bint sharded
    cdef double total
    cdef object setup

    def __init__(self, setup):
        cdef Problem* p = &self.problem
        self.setup = setup
        self.double_precision = setup.flat.dtype.itemsize == 8
        p.network = Network(
            n_layers=setup.units.shape[0] - 1, units=<intp_t*>address(setup.units),
            coef_offsets=<intp_t*>address(setup.coef_offsets),
            intercept_offsets=<intp_t*>address(setup.intercept_offsets),
            unit_offsets=<intp_t*>address(setup.unit_offsets), n_units=setup.units[1:].sum(),
            activation=<ActivationCode>setup.activation, leaky_slope=setup.leaky_slope,
        )
        p.loss = Loss(code=<LossCode>setup.loss, quantile=setup.quantile)
        p.regularization = Regularization(
            l2=setup.l2, l1=setup.l1, m=setup.m, input_noise=setup.input_noise,
            max_norm=setup.max_norm,
        )
        p.dropout = Dropout(
            word_offsets=<int64_t*>address(setup.word_offsets),
            thresholds=<uint32_t*>address(setup.thresholds), scales=<double*>address(setup.scales),
            words_per_row=setup.words_per_row, unmasked=setup.bounded_dropout,
        )
        optimizer = setup.optimizer
        p.optimizer = Optimizer(
            solver=<SolverCode>optimizer.solver, step_size=optimizer.step_size,
            last_step_size=optimizer.last_step_size, momentum=optimizer.momentum,
            beta_1=optimizer.beta_1, beta_2=optimizer.beta_2, epsilon=optimizer.epsilon,
            t=optimizer.t, invscaling=optimizer.invscaling,
            learning_rate=optimizer.learning_rate, power_t=optimizer.power_t,
            samples_seen=optimizer.samples_seen, first=address(optimizer.first),
            second=address(optimizer.second),
        )
        self.random_state = setup.random_state
        self.lane_states = setup.lane_states
        p.n_samples, p.n_features = setup.X.shape[0], setup.X.shape[1]
        p.n_outputs, p.n_params = setup.Y.shape[1], setup.flat.shape[0]
        p.batch_size = setup.batch_size
        p.flat, p.grads = address(setup.flat), address(setup.grads)
        p.X, p.Y, p.XT, p.YT = (
            address(setup.X), address(setup.Y), address(setup.XT), address(setup.YT)
        )
        p.noisy = address(setup.noisy)
        p.sample_weight, p.weights = address(setup.sample_weight), address(setup.weights)
        p.activations, p.deltas = address(setup.activations), address(setup.deltas)
        p.unmasked = address(setup.unmasked)
        p.words, p.normals = <uint32_t*>address(setup.words), <double*>address(setup.normals)
        self.sharded = setup.shards is not None
        if self.sharded:
            self._set_shards(setup.shards)

    def _set_shards(self, shards):
        self.shards = Shards(
            n_shards=shards.n_shards, rows_per_shard=shards.rows_per_shard,
            max_rows=shards.max_rows, bounds=<intp_t*>address(shards.bounds),
            XT=address(shards.XT), YT=address(shards.YT),
            activations=address(shards.activations), deltas=address(shards.deltas),
            unmasked=address(shards.unmasked), grads=address(shards.grads),
            costs=<double*>address(shards.costs), n_slices=shards.slices.shape[0] - 1,
            slices=<intp_t*>address(shards.slices),
            partials=<PenaltySums*>address(shards.partials),
            identity=<intp_t*>address(shards.identity),
        )

    def full_batch_epochs(self, double[::1] loss_curve, intp_t start, intp_t stop,
                          int n_threads=1):
        """Full-batch epochs ``start`` to ``stop``, their costs into ``loss_curve``; returns the
        first whose cost is not finite, else ``stop``."""
        cdef Problem* p = &self.problem
        cdef Shards* shards = &self.shards if self.sharded else NULL
        cdef double* curve = &loss_curve[0]
        with nogil:
            if self.double_precision:
                stop = full_batch_epochs(
                    p, shards, <double*>p.flat, <double*>p.grads, curve, start, stop, n_threads
                )
            else:
                stop = full_batch_epochs(
                    p, shards, <float*>p.flat, <float*>p.grads, curve, start, stop, n_threads
                )
        return stop

    def cost_and_gradients(self, int n_threads=1):
        """A full-batch step's cost and its gradient (into the setup's ``grads``), without the
        update: for the gradient check."""
        cdef Problem* p = &self.problem
        cdef Shards* shards = &self.shards if self.sharded else NULL
        cdef double cost
        with nogil:
            if self.double_precision:
                cost = full_batch_step_cost(
                    p, shards, <double*>p.flat, <double*>p.grads, n_threads
                )
            else:
                cost = full_batch_step_cost(p, shards, <float*>p.flat, <float*>p.grads, n_threads)
        return cost

    def minibatch_epoch(self, const intp_t[::1] order):
        """An epoch of mini-batches (kept whole) over the rows in ``order``: its cost, or the
        first cost that is not finite."""
        cdef Problem* p = &self.problem
        cdef double cost
        with nogil:
            if self.double_precision:
                cost = minibatch_epoch(p, <double*>p.flat, <double*>p.grads, &order[0])
            else:
                cost = minibatch_epoch(p, <float*>p.flat, <float*>p.grads, &order[0])
        return cost

    def begin_sharded_epoch(self):
        self.total = 0.0

    def sharded_batches(self, const intp_t[::1] order, intp_t first_batch, intp_t stop_batch,
                        int n_threads=1):
        """Mini-batches ``first_batch`` to ``stop_batch`` of the epoch over the rows in ``order``,
        in shards; returns the first cost that is not finite, else 0."""
        cdef Problem* p = &self.problem
        cdef double cost
        with nogil:
            if self.double_precision:
                cost = sharded_batches(
                    p, &self.shards, <double*>p.flat, <double*>p.grads, &order[0], first_batch,
                    stop_batch, n_threads, &self.total,
                )
            else:
                cost = sharded_batches(
                    p, &self.shards, <float*>p.flat, <float*>p.grads, &order[0], first_batch,
                    stop_batch, n_threads, &self.total,
                )
        return cost

    def end_sharded_epoch(self):
        """The epoch's cost, after its last batch; counts its samples."""
        end_epoch(&self.problem.optimizer, self.problem.regularization.m)
        return self.total / self.problem.regularization.m

    @property
    def step_size(self):
        return self.problem.optimizer.step_size

    @step_size.setter
    def step_size(self, double value):
        """A new scheduled step size (the "adaptive" schedule's); except for Adam, whose steps
        bias-correct it, also the proximal step's."""
        self.problem.optimizer.step_size = value
        if self.problem.optimizer.solver != SOLVER_ADAM:
            self.problem.optimizer.last_step_size = value

    @property
    def adam_steps(self):
        return self.problem.optimizer.t

    @property
    def samples_seen(self):
        return self.problem.optimizer.samples_seen

    @property
    def random_state(self):
        """The training stream's SFC64 state, as four words."""
        cdef RandomState* r = &self.problem.random
        return [r.a, r.b, r.c, r.counter]

    @random_state.setter
    def random_state(self, words):
        self.problem.random = RandomState(a=words[0], b=words[1], c=words[2], counter=words[3])

    @property
    def lane_states(self):
        """The SFC64 states of the stream's dropout lanes, four words each."""
        cdef DropoutLanes* lanes = &self.problem.lanes
        return [
            [lanes.a[k], lanes.b[k], lanes.c[k], lanes.counter[k]] for k in range(DROPOUT_LANES)
        ]

    @lane_states.setter
    def lane_states(self, states):
        cdef DropoutLanes* lanes = &self.problem.lanes
        cdef intp_t k
        for k in range(DROPOUT_LANES):
            lanes.a[k], lanes.b[k], lanes.c[k], lanes.counter[k] = states[k]
