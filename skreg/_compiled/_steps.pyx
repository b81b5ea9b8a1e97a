"""The building blocks of the compiled engine's steps: a batch's (or a shard's) draws, rows,
cost and gradient, the penalties' terms and the update (see :mod:`skreg._compiled._training`)."""

from cython cimport floating
from cython.parallel cimport threadid
from libc.math cimport INFINITY, isfinite

from ._common cimport Batch, Network, PenaltySums, Problem, Shards, StepRows, intp_t
from ._layers cimport backward, forward
from ._losses cimport loss_and_gradient
from ._random cimport fill_normals, fill_words
from ._updates cimport add_penalty_cost, constrain, penalty_sums, update


cdef void gather(const floating* source, intp_t n_columns, const intp_t* rows,
                 intp_t n_rows, floating* target) noexcept nogil:
    """``target[k, s] = source[rows[s], k]``: rows of a row-major array, units-major; 16 rows (a
    cache line of ``target``) at a time."""
    cdef intp_t block, end, k, s
    for block in range(0, n_rows, 16):
        end = min(block + 16, n_rows)
        for k in range(n_columns):
            for s in range(block, end):
                target[k * n_rows + s] = source[rows[s] * n_columns + k]


cdef void draw(Problem* p, intp_t n_rows) noexcept nogil:
    """The draws of a step of ``n_rows`` rows from the training stream: its dropout words, then
    its inputs' noise."""
    fill_words(&p.lanes, p.words, p.dropout.words_per_row * n_rows)
    if p.regularization.input_noise:
        fill_normals(&p.random, p.normals, n_rows * p.n_features)


cdef void add_noise(const Problem* p, const floating* inputs, const intp_t* rows,
                    intp_t n_rows, floating* noisy) noexcept nogil:
    """``noisy[s, k] = inputs[rows[s], k] + noise * normals[s, k]``, row-major (the normals are
    drawn rows-major), computed in double as NumPy adds the float64 noise."""
    cdef intp_t s, k, n_features = p.n_features
    for s in range(n_rows):
        for k in range(n_features):
            noisy[s * n_features + k] = <floating>(
                inputs[rows[s] * n_features + k]
                + p.regularization.input_noise * p.normals[s * n_features + k]
            )


cdef void add_noise_units_major(const Problem* p, const floating* XT, intp_t n_rows,
                                floating* noisy) noexcept nogil:
    """``noisy[k, s] = XT[k, s] + noise * normals[s, k]``: a step's units-major inputs (which
    ``noisy`` may be) with their noise, computed in double as :func:`add_noise` computes it."""
    cdef intp_t s, k, n_features = p.n_features
    for k in range(n_features):
        for s in range(n_rows):
            noisy[k * n_rows + s] = <floating>(
                XT[k * n_rows + s] + p.regularization.input_noise * p.normals[s * n_features + k]
            )


cdef inline floating* last_block(const Network* network, floating* buffer,
                                 intp_t n_rows) noexcept nogil:
    """The output layer's block of a batch's activations or deltas."""
    return buffer + network.unit_offsets[network.n_layers - 1] * n_rows


cdef double batch_cost(Problem* p, Batch* batch, const floating* flat, floating* grads,
                       floating inv_step_rows) noexcept nogil:
    """The data term of a batch's cost (its rows' mean loss, or their weighted sum) and its
    gradient into ``grads``; infinite when anything overflows."""
    cdef double cost
    if forward(&p.network, &p.dropout, batch, flat):
        return INFINITY
    cost = loss_and_gradient(
        &p.loss, last_block(&p.network, <floating*>batch.activations, batch.n_rows),
        <floating*>batch.YT, last_block(&p.network, <floating*>batch.deltas, batch.n_rows),
        p.n_outputs, batch.n_rows, inv_step_rows, <floating*>batch.weights,
    )
    if not isfinite(cost):
        return INFINITY
    backward(&p.network, &p.dropout, batch, flat, grads)
    return cost


cdef double with_penalty(Problem* p, double cost, const floating* flat,
                         floating* grads) noexcept nogil:
    """The cost plus the penalties' terms; L2's gradient added to ``grads``."""
    cdef PenaltySums sums = penalty_sums(
        &p.network, &p.regularization, flat, grads, 0, p.n_params
    )
    return add_penalty_cost(&p.regularization, cost, sums)


cdef void finish_step(Problem* p, floating* flat, floating* grads) noexcept nogil:
    """After a step's gradient: the update, then the constraints."""
    update(&p.optimizer, flat, grads, p.n_params)
    constrain(&p.network, &p.regularization, &p.optimizer, flat)


cdef Batch batch_of(Problem* p, intp_t n_rows, void* XT, void* YT, void* weights) noexcept nogil:
    return Batch(
        n_rows=n_rows, first_row=0, step_rows=n_rows, words=p.words, XT=XT, YT=YT,
        activations=p.activations, deltas=p.deltas, unmasked=p.unmasked, weights=weights,
    )


cdef double shard_cost(Problem* p, Shards* shards, const StepRows* step, intp_t first,
                       intp_t stop, const floating* flat, intp_t k) noexcept nogil:
    """Shard ``k``, rows ``first`` to ``stop`` of the ``step``: its part of the step's cost,
    and its gradient into the shards' gradients, on the calling thread's buffers."""
    cdef intp_t thread = threadid(), rows = stop - first, step_rows = step.n_rows
    cdef floating* weights = <floating*>step.weights
    cdef intp_t size = shards.max_rows * p.network.n_units
    cdef floating* XT = <floating*>shards.XT + thread * shards.max_rows * p.n_features
    cdef floating* YT = <floating*>shards.YT + thread * shards.max_rows * p.n_outputs
    cdef floating* unmasked = NULL
    cdef Batch batch
    cdef double cost
    if shards.unmasked != NULL:
        unmasked = <floating*>shards.unmasked + thread * size
    if weights != NULL:
        weights += first
    batch = Batch(
        n_rows=rows, first_row=first, step_rows=step_rows, words=p.words, XT=XT, YT=YT,
        activations=<floating*>shards.activations + thread * size,
        deltas=<floating*>shards.deltas + thread * size, unmasked=unmasked, weights=weights,
    )
    gather(<const floating*>step.inputs, p.n_features, step.input_rows + first, rows, XT)
    gather(<floating*>p.Y, p.n_outputs, step.target_rows + first, rows, YT)
    cost = batch_cost(
        p, &batch, flat, <floating*>shards.grads + k * p.n_params, <floating>(1.0 / step_rows)
    )
    # A weighted cost is already the shard's part (the weights sum to 1 over the step); a mean
    # over the shard's rows is not.
    return cost if weights != NULL else cost * rows / step_rows


cdef void sum_shards(const Shards* shards, intp_t n_shards, intp_t n_params, floating* grads,
                     intp_t start, intp_t stop) noexcept nogil:
    """``grads[start:stop]``: the shards' gradients summed in shard order."""
    cdef const floating* shard_grads = <floating*>shards.grads
    cdef intp_t shard, k
    for k in range(start, stop):
        grads[k] = shard_grads[k]
    for shard in range(1, n_shards):
        for k in range(start, stop):
            grads[k] += shard_grads[shard * n_params + k]
