"""After a step's gradient: the optimizers' updates, the step-size schedule, the penalties' terms
and the constraints (L1's proximal step, max-norm), rounded as the NumPy engine's in-place
operations round them (:mod:`skreg._optimizers`, :class:`skreg._network.Penalty`)."""

from libc.math cimport copysign, fabs, isfinite, pow, sqrt

from ._common cimport (
    Network, Optimizer, PenaltySums, Regularization, SOLVER_ADAM, SOLVER_GD, SOLVER_MOMENTUM,
    SOLVER_NESTEROV, intp_t,
)


cdef void update(Optimizer* optimizer, floating* flat, floating* grads, intp_t n) noexcept nogil:
    """One optimizer step on the ``n`` parameters (Adam's step count advanced first)."""
    if optimizer.solver == SOLVER_ADAM:
        count_adam_step(optimizer)
    update_slice(optimizer, flat, grads, 0, n)


cdef void count_adam_step(Optimizer* optimizer) noexcept nogil:
    """Adam's next step: its count, and the bias-corrected step size its update uses."""
    optimizer.t += 1
    optimizer.last_step_size = adam_step_size(optimizer, optimizer.t)


cdef double adam_step_size(const Optimizer* optimizer, long long steps) noexcept nogil:
    """``Adam.effective_learning_rate`` at step ``steps``."""
    return (
        optimizer.step_size * sqrt(1 - pow(optimizer.beta_2, steps))
        / (1 - pow(optimizer.beta_1, steps))
    )


cdef void update_slice(const Optimizer* optimizer, floating* flat, const floating* grads,
                       intp_t start, intp_t stop) noexcept nogil:
    """The update of the parameters ``start`` to ``stop`` (Adam's step already counted)."""
    cdef floating learning_rate = <floating>optimizer.step_size
    cdef floating momentum = <floating>optimizer.momentum
    cdef floating* first = <floating*>optimizer.first
    cdef floating* second = <floating*>optimizer.second
    cdef floating velocity, step, g, moment, square
    cdef floating beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, epsilon, adam_step
    cdef intp_t k
    if optimizer.solver == SOLVER_GD:
        for k in range(start, stop):
            flat[k] -= learning_rate * grads[k]
    elif optimizer.solver == SOLVER_MOMENTUM:
        for k in range(start, stop):
            velocity = first[k] * momentum - learning_rate * grads[k]
            first[k] = velocity
            flat[k] += velocity
    elif optimizer.solver == SOLVER_NESTEROV:
        for k in range(start, stop):
            step = learning_rate * grads[k]
            velocity = first[k] * momentum - step
            first[k] = velocity
            flat[k] += velocity * momentum - step
    else:
        beta_1, one_minus_beta_1 = <floating>optimizer.beta_1, <floating>(1 - optimizer.beta_1)
        beta_2, one_minus_beta_2 = <floating>optimizer.beta_2, <floating>(1 - optimizer.beta_2)
        epsilon, adam_step = <floating>optimizer.epsilon, <floating>optimizer.last_step_size
        for k in range(start, stop):
            g = grads[k]
            moment = first[k] * beta_1 + one_minus_beta_1 * g
            square = second[k] * beta_2 + one_minus_beta_2 * (g * g)
            first[k] = moment
            second[k] = square
            flat[k] -= moment / (<floating>sqrt(square) + epsilon) * adam_step


cdef bint update_overflowed(const Optimizer* optimizer, const floating* flat,
                            intp_t n) noexcept nogil:
    """Whether the update left a parameter, or Adam's second moment, not finite: an overflow,
    which the NumPy engine stops at. (Adam's step from an infinite moment is 0: its weights would
    stay in place, finite.)"""
    if not all_finite(flat, n):
        return True
    return optimizer.solver == SOLVER_ADAM and not all_finite(<const floating*>optimizer.second, n)


cdef inline bint all_finite(const floating* values, intp_t n) noexcept nogil:
    cdef intp_t k
    cdef int not_finite = 0
    for k in range(n):
        not_finite |= not isfinite(values[k])
    return not not_finite


cdef void end_epoch(Optimizer* optimizer, double n_samples) noexcept nogil:
    """Count an epoch's samples (total weight); "invscaling" sets the next step size
    (:meth:`skreg._optimizers.GradientDescent.epoch_ends`)."""
    optimizer.samples_seen += n_samples
    if optimizer.invscaling:
        optimizer.step_size = optimizer.learning_rate / pow(
            optimizer.samples_seen + 1, optimizer.power_t
        )
        if optimizer.solver != SOLVER_ADAM:
            optimizer.last_step_size = optimizer.step_size


cdef void constrain(const Network* network, const Regularization* regularization,
                    const Optimizer* optimizer, floating* flat) noexcept nogil:
    """After an update: L1's soft-threshold by ``last step size * l1 / m``, then each unit's
    incoming weights rescaled to norm at most ``max_norm``."""
    cdef floating threshold, zero = 0, limit, squares, factor, w
    cdef intp_t i, j, k, n_in, n_out, first
    if regularization.l1 > 0:
        threshold = <floating>(optimizer.last_step_size * regularization.l1 / regularization.m)
        for i in range(network.n_layers):
            for k in range(network.coef_offsets[i], network.intercept_offsets[i]):
                w = flat[k]
                flat[k] = copysign(max(fabs(w) - threshold, zero), w)
    if regularization.max_norm > 0:
        limit = <floating>regularization.max_norm
        for i in range(network.n_layers):
            n_in, n_out = network.units[i], network.units[i + 1]
            first = network.coef_offsets[i]
            for j in range(n_out):
                squares = 0
                for k in range(n_in):
                    w = flat[first + k * n_out + j]
                    squares += w * w
                factor = limit / max(<floating>sqrt(squares), limit)
                for k in range(n_in):
                    flat[first + k * n_out + j] *= factor


cdef PenaltySums penalty_sums(const Network* network, const Regularization* penalty,
                              const floating* flat, floating* grads, intp_t start,
                              intp_t stop) noexcept nogil:
    """Over the parameters ``start`` to ``stop``: the coefficients' sums of squares (if L2) and
    of absolute values (if L1), in double, and L2's gradient ``l2 / m * W`` added to ``grads``."""
    cdef floating lambd_over_m = <floating>(penalty.l2 / penalty.m)
    cdef intp_t i, k, first, last
    cdef double square_sum = 0.0, absolute_sum = 0.0
    for i in range(network.n_layers):
        first = max(network.coef_offsets[i], start)  # layer i's coefficients
        last = min(network.intercept_offsets[i], stop)
        if penalty.l2:
            for k in range(first, last):
                square_sum += flat[k] * flat[k]
                grads[k] += lambd_over_m * flat[k]
        if penalty.l1:
            for k in range(first, last):
                absolute_sum += fabs(flat[k])
    return PenaltySums(squares=square_sum, absolute=absolute_sum)


cdef double add_penalty_cost(const Regularization* penalty, double cost,
                             PenaltySums sums) noexcept nogil:
    """The cost plus the penalties' terms, from :func:`penalty_sums`'."""
    if penalty.l2:
        cost += 0.5 * penalty.l2 / penalty.m * sums.squares
    if penalty.l1:
        cost += penalty.l1 / penalty.m * sums.absolute
    return cost
