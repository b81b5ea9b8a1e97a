# The output losses of skreg._base, computed from the logits, and their gradients with respect
# to them, operation for operation as skreg._base computes them.
#
# Arrays are units-major, (n_outputs, n_rows) row-major. Each loss returns the rows' mean loss as
# a double (with sample weights, which sum to 1 over the step, the weighted sum) and writes its
# gradient, times 1 / (rows of the step) or times the row's weight, into delta. The sums run in
# double and the per-element arithmetic in the parameters' dtype, where
# NumPy's element-wise operations would compute it.

from libc.math cimport log

from ._math cimport abs_of, exp_nonpositive, exp_of, log1p_unit, log_of

from ._common cimport (
    LOSS_LOGISTIC, LOSS_POISSON, LOSS_SOFTMAX, LOSS_SQUARED_ERROR, Loss, intp_t,
)

cdef enum:
    # Rows whose 1 + exp(-|z|) factors, each in (1, 2], are multiplied before one logarithm.
    LOG_PRODUCT_SAMPLES = 64


cdef double loss_and_gradient(const Loss* loss, const floating* logits, const floating* YT,
                              floating* delta, intp_t n_outputs, intp_t n_rows,
                              floating inv_step_rows, const floating* weights) noexcept nogil:
    if loss.code == LOSS_SOFTMAX:
        return softmax_loss(logits, YT, delta, n_outputs, n_rows, inv_step_rows, weights)
    if loss.code == LOSS_LOGISTIC:
        if weights != NULL:
            return weighted_logistic_loss(logits, YT, delta, n_outputs, n_rows, weights)
        return logistic_loss(logits, YT, delta, n_outputs, n_rows, inv_step_rows)
    if loss.code == LOSS_SQUARED_ERROR:
        return squared_error_loss(logits, YT, delta, n_outputs, n_rows, inv_step_rows, weights)
    if loss.code == LOSS_POISSON:
        return poisson_loss(logits, YT, delta, n_outputs, n_rows, inv_step_rows, weights)
    return pinball_loss(
        logits, YT, delta, n_outputs, n_rows, inv_step_rows, weights, <floating> loss.quantile
    )


cdef inline double max_of(double a, double b) noexcept nogil:
    # Python's max(a, b).
    return b if b > a else a


cdef double logistic_loss(const floating* logits, const floating* Y, floating* delta,
                          intp_t n_outputs, intp_t n_rows, floating inv_m) noexcept nogil:
    # log(1 + exp(z)) - y z summed over outputs, mean over rows; (sigmoid(z) - y) / m into
    # delta. log(1 + exp(z)) = max(z, 0) + log(1 + e) with e = exp(-|z|), and the log(1 + e)
    # terms are summed as the logarithm of their product, one logarithm per 64 rows: 64 factors
    # in (1, 2] cannot overflow, and their roundings move the mean by at most 2**-52. Products
    # and sums run in four interleaved chains, of the rows 0 to 3 modulo 4, which the CPU
    # overlaps.
    cdef intp_t j, s, k, chunk, first, stop, stop4, row
    cdef double total = 0.0
    cdef double products[4]
    cdef double linears[4]
    cdef floating z, e, p, one = 1
    for j in range(n_outputs):
        row = j * n_rows
        for s in range(row, row + n_rows):  # the exponentials first, in a loop of their own
            delta[s] = <floating> exp_nonpositive(-abs_of(<double> logits[s]))
        for chunk in range((n_rows + LOG_PRODUCT_SAMPLES - 1) // LOG_PRODUCT_SAMPLES):
            first = row + chunk * LOG_PRODUCT_SAMPLES
            stop = min(first + LOG_PRODUCT_SAMPLES, row + n_rows)
            stop4 = stop - (stop - first) % 4
            for k in range(4):
                products[k] = 1.0
                linears[k] = 0.0
            for s in range(first, stop4, 4):
                for k in range(4):
                    z = logits[s + k]
                    products[k] *= 1.0 + <double> delta[s + k]
                    linears[k] += max_of(z, 0.0) - <double> (Y[s + k] * z)
            for s in range(stop4, stop):
                z = logits[s]
                products[0] *= 1.0 + <double> delta[s]
                linears[0] += max_of(z, 0.0) - <double> (Y[s] * z)
            total += ((linears[0] + linears[1]) + (linears[2] + linears[3])) + log(
                (products[0] * products[1]) * (products[2] * products[3])
            )
        for s in range(row, row + n_rows):
            z = logits[s]
            e = delta[s]
            p = (one if z >= 0 else e) / (one + e)
            delta[s] = (p - Y[s]) * inv_m
    return total / n_rows


cdef double weighted_logistic_loss(const floating* logits, const floating* Y, floating* delta,
                                   intp_t n_outputs, intp_t n_rows,
                                   const floating* weights) noexcept nogil:
    # logistic_loss with sample weights summing to 1: the weighted sum of the rows' losses, and
    # (sigmoid(z) - y) * weight into delta.
    cdef intp_t j, s, k
    cdef double total = 0.0
    cdef floating z, e, p, one = 1
    for j in range(n_outputs):
        for s in range(n_rows):
            k = j * n_rows + s
            z = logits[k]
            e = <floating> exp_nonpositive(-abs_of(<double> z))
            total += weights[s] * (
                max_of(z, 0.0) + <double> <floating> log1p_unit(e) - <double> (Y[k] * z)
            )
            p = (one if z >= 0 else e) / (one + e)
            delta[k] = (p - Y[k]) * weights[s]
    return total


cdef double softmax_loss(const floating* logits, const floating* Y, floating* delta,
                         intp_t n_classes, intp_t n_rows, floating inv_m,
                         const floating* weights) noexcept nogil:
    # Categorical cross-entropy, mean over rows (weighted sum with weights); (softmax(z) - y) / m
    # (times the weight) into delta.
    cdef bint weighted = weights != NULL
    cdef intp_t j, s, k
    cdef double total = 0.0, true_logit, loss
    cdef floating top, shifted, normaliser, scale
    for s in range(n_rows):
        top = logits[s]
        for j in range(1, n_classes):
            k = j * n_rows + s
            top = logits[k] if logits[k] > top else top
        true_logit = 0.0
        normaliser = top - top
        for j in range(n_classes):
            k = j * n_rows + s
            shifted = logits[k] - top
            true_logit += Y[k] * shifted
            delta[k] = <floating> exp_nonpositive(<double> shifted)
            normaliser += delta[k]
        scale = weights[s] if weighted else inv_m
        loss = log_of(normaliser) - true_logit
        total += weights[s] * loss if weighted else loss
        for j in range(n_classes):
            k = j * n_rows + s
            delta[k] = (delta[k] / normaliser - Y[k]) * scale
    return total if weighted else total / n_rows


cdef double squared_error_loss(const floating* logits, const floating* Y, floating* delta,
                               intp_t n_outputs, intp_t n_rows, floating inv_m,
                               const floating* weights) noexcept nogil:
    # Half the squared error, summed over outputs; (z - y) / m (times the weight) into delta.
    cdef bint weighted = weights != NULL
    cdef intp_t j, s, k
    cdef double total = 0.0, square
    cdef floating residual, scale
    for j in range(n_outputs):
        for s in range(n_rows):
            k = j * n_rows + s
            residual = logits[k] - Y[k]
            square = 0.5 * <double> residual * <double> residual
            scale = weights[s] if weighted else inv_m
            total += scale * square if weighted else square
            delta[k] = residual * scale
    return total if weighted else total / n_rows


cdef double poisson_loss(const floating* logits, const floating* Y, floating* delta,
                         intp_t n_outputs, intp_t n_rows, floating inv_m,
                         const floating* weights) noexcept nogil:
    # Half the Poisson deviance of exp(z), exp(z) - y z + y log y - y (0 log 0 = 0); (exp(z) - y)
    # / m (times the weight) into delta. An overflowing exp(z) makes the cost infinite.
    cdef bint weighted = weights != NULL
    cdef intp_t j, s, k
    cdef double total = 0.0, y_log_y, deviance
    cdef floating z, y, mean, scale
    for j in range(n_outputs):
        for s in range(n_rows):
            k = j * n_rows + s
            z = logits[k]
            y = Y[k]
            mean = exp_of(z)
            y_log_y = <double> y * log(<double> y) if y > 0 else 0.0
            deviance = <double> mean - <double> y * <double> z + y_log_y - <double> y
            scale = weights[s] if weighted else inv_m
            total += scale * deviance if weighted else deviance
            delta[k] = (mean - y) * scale
    return total if weighted else total / n_rows


cdef double pinball_loss(const floating* logits, const floating* Y, floating* delta,
                         intp_t n_outputs, intp_t n_rows, floating inv_m,
                         const floating* weights, floating quantile) noexcept nogil:
    # Pinball loss at level quantile (in the parameters' dtype), max(q r, (q - 1) r) with
    # r = y - z; (1 - q) / m where z > y, else -q / m (times the weight), into delta.
    cdef bint weighted = weights != NULL
    cdef intp_t j, s, k
    cdef double total = 0.0, q = quantile, residual, loss
    cdef floating z, y, scale, one = 1
    cdef floating above = one - quantile, below = -quantile
    for j in range(n_outputs):
        for s in range(n_rows):
            k = j * n_rows + s
            z = logits[k]
            y = Y[k]
            residual = <double> y - <double> z
            loss = max_of(q * residual, (q - 1.0) * residual)
            scale = weights[s] if weighted else inv_m
            total += scale * loss if weighted else loss
            delta[k] = (above if z > y else below) * scale
    return total if weighted else total / n_rows


def exp_nonpositive_values(double[::1] y, double[::1] out):
    """The compiled engine's exp of each ``y <= 0`` (as the losses compute it) into ``out``: for
    the tests."""
    cdef intp_t i
    for i in range(y.shape[0]):
        out[i] = exp_nonpositive(y[i])


def log1p_unit_values(double[::1] e, double[::1] out):
    """The compiled engine's log(1 + e) of each ``e`` in [0, 1] (as the weighted logistic loss
    computes it) into ``out``: for the tests."""
    cdef intp_t i
    for i in range(e.shape[0]):
        out[i] = log1p_unit(e[i])
