"""Activation and loss tables of the network, in the style of ``sklearn.neural_network._base``.

The hidden layers' activations (:data:`ACTIVATIONS`) work in place, and their derivatives
(:data:`DERIVATIVES`) multiply a delta, in place, by the derivative expressed from the
activation's *output*, as scikit-learn's do, so that backpropagation needs no pre-activations.

Losses are computed from the output *logits* (the output layer's pre-activations), never from
probabilities or predictions, so no ``log(0)`` can occur. Each loss function returns the mean loss
(summed over outputs, averaged over samples) and writes its gradient with respect to the logits
into ``delta`` (the ``1/m`` of the mean included), ready for backpropagation. The gradient is
computed in the dtype of the logits; the loss's sums run in float64, as the compiled engine's do
(see :func:`in_double`).
"""

from functools import partial

import numpy as np
from scipy.special import expit, xlogy

#: Slope of ``activation="leaky_relu"`` for negative inputs: ``f(z) = z`` if ``z > 0``, else
#: ``LEAKY_RELU_SLOPE * z`` (the usual 0.01 of Maas et al., 2013).
LEAKY_RELU_SLOPE = 0.01


def in_double(array):
    """``array`` for a sum that runs in float64: itself if float64, else a float64 copy. Sums over
    float32 arrays would round to float32's 1e-7, and overflow past 3.4e38 while their mean is
    finite; the cost would then stall on float32 ties (stopping rules see no improvement) and
    diverge where the compiled engine's double sums do not."""
    return array.astype(np.float64, copy=False)


#: Elements per call of :func:`relu_inplace`, and the size of its arrays of zeros.
RELU_BLOCK = 2**17


def _read_only_zeros(dtype):
    zeros = np.zeros(RELU_BLOCK, dtype=dtype)
    zeros.flags.writeable = False  # shared by every call, in every thread
    return zeros


_ZEROS = {np.dtype(dtype): _read_only_zeros(dtype) for dtype in (np.float32, np.float64)}


def relu_inplace(Z):
    """Rectified linear unit, in place.

    A C-contiguous float ``Z`` is compared with an array of zeros, in blocks of ``RELU_BLOCK``
    elements, rather than with the scalar 0: NumPy's vectorised loop skips a broadcast scalar,
    and the array is faster, in float64 and float32.
    """
    zeros = _ZEROS.get(Z.dtype)
    if zeros is None or not Z.flags.c_contiguous:
        np.maximum(Z, 0, out=Z)
        return
    flat = Z.reshape(-1)  # a view: Z is C-contiguous
    if flat.size <= RELU_BLOCK:
        np.maximum(flat, zeros[: flat.size], out=flat)
        return
    for start in range(0, flat.size, RELU_BLOCK):
        block = flat[start : start + RELU_BLOCK]
        np.maximum(block, zeros[: block.size], out=block)


def tanh_inplace(Z):
    """Hyperbolic tangent, in place."""
    np.tanh(Z, out=Z)


def logistic_inplace(Z):
    """Logistic sigmoid ``1 / (1 + exp(-z))``, in place."""
    expit(Z, out=Z)


def identity_inplace(Z):
    """Identity: nothing to do."""


def leaky_relu_inplace(Z):
    """Leaky rectified linear unit, in place: ``max(z, LEAKY_RELU_SLOPE * z)``.

    A C-contiguous ``Z`` is done in blocks of ``RELU_BLOCK`` elements, with one block's
    temporary (a masked multiplication, ``where=Z < 0``, is several times slower).
    """
    if not Z.flags.c_contiguous:
        np.maximum(Z, Z * LEAKY_RELU_SLOPE, out=Z)
        return
    flat = Z.reshape(-1)
    scaled = np.empty(min(flat.size, RELU_BLOCK), dtype=Z.dtype)
    for start in range(0, flat.size, RELU_BLOCK):
        block = flat[start : start + RELU_BLOCK]
        part = scaled[: block.size]
        np.multiply(block, LEAKY_RELU_SLOPE, out=part)
        np.maximum(block, part, out=block)


#: The hidden layers' activations, in place.
ACTIVATIONS = {
    "relu": relu_inplace,
    "tanh": tanh_inplace,
    "logistic": logistic_inplace,
    "identity": identity_inplace,
    "leaky_relu": leaky_relu_inplace,
}

#: Bounded activations: their derivative depends on the output's value, not only on its sign (so
#: under dropout backpropagation needs their outputs before the mask), they are not positively
#: homogeneous (``f(s z) != s f(z)``) and they do not map 1 to 1. The others are piecewise linear
#: through 0 with slope 1 for positive inputs.
BOUNDED_ACTIVATIONS = frozenset({"tanh", "logistic"})


def relu_derivative(Z, delta):
    """``delta *= relu'(z)``, from the output ``Z = relu(z)``: 1 where ``Z > 0``, else 0."""
    delta *= Z > 0


def tanh_derivative(Z, delta):
    """``delta *= 1 - Z**2``, from the output ``Z = tanh(z)``."""
    factor = np.square(Z)
    np.subtract(1, factor, out=factor)
    delta *= factor


def logistic_derivative(Z, delta):
    """``delta *= Z * (1 - Z)``, from the output ``Z = expit(z)``."""
    delta *= Z
    delta *= 1 - Z


def identity_derivative(Z, delta):
    """The identity's derivative is 1: nothing to do."""


def leaky_relu_derivative(Z, delta):
    """``delta *= 1`` where ``Z > 0``, else ``LEAKY_RELU_SLOPE`` (``Z`` and ``z`` share signs)."""
    one, slope = np.array([1, LEAKY_RELU_SLOPE], dtype=delta.dtype)  # (a np.where of scalars)
    delta *= np.where(Z > 0, one, slope)


#: Derivatives of :data:`ACTIVATIONS` from their outputs: ``DERIVATIVES[name](Z, delta)``
#: multiplies ``delta`` in place by the derivative at the pre-activation whose output is ``Z``.
DERIVATIVES = {
    "relu": relu_derivative,
    "tanh": tanh_derivative,
    "logistic": logistic_derivative,
    "identity": identity_derivative,
    "leaky_relu": leaky_relu_derivative,
}


def logistic_log_loss(logits, Y, delta, weights=None):
    """Cross-entropy of independent sigmoid outputs; ``d loss / d logits`` into ``delta``.

    Uses ``log(1 + exp(z)) - y z``, exact and finite for every finite logit. The loss is summed over
    outputs (one for binary targets, one per label for multilabel targets) and averaged over
    samples, uniformly or with ``weights`` (one per sample, summing to 1).
    """
    softplus = in_double(np.logaddexp(0, logits, out=delta))  # delta is free until the gradient
    if weights is None:
        loss = (softplus.sum() - np.vdot(in_double(Y), in_double(logits))) / Y.shape[0]
    else:
        per_sample = (softplus - in_double(Y) * in_double(logits)).sum(axis=1)
        loss = in_double(weights) @ per_sample
    expit(logits, out=delta)
    _gradient_of_cross_entropy(delta, Y, weights)
    return float(loss)


def softmax_log_loss(logits, Y, delta, weights=None):
    """Categorical cross-entropy of softmax outputs; ``d loss / d logits`` into ``delta``."""
    np.subtract(logits, logits.max(axis=1, keepdims=True), out=delta)
    true_logit = np.einsum("ij,ij->i", Y, delta)
    np.exp(delta, out=delta)
    normaliser = delta.sum(axis=1, keepdims=True)
    per_sample = in_double(np.log(normaliser[:, 0]) - true_logit)
    loss = per_sample.mean() if weights is None else in_double(weights) @ per_sample
    delta /= normaliser
    _gradient_of_cross_entropy(delta, Y, weights)
    return float(loss)


def _gradient_of_cross_entropy(probabilities, Y, weights):
    # For a sigmoid or softmax output with cross-entropy, d loss_i / d z_i = p_i - y_i.
    probabilities -= Y
    _average_gradient(probabilities, weights)


def squared_error_loss(logits, Y, delta, weights=None):
    """Half the squared error ``(z - y)**2 / 2`` of identity outputs, summed over outputs;
    ``d loss / d logits = z - y`` (divided by ``m``, or times the weights) into ``delta``."""
    np.subtract(logits, Y, out=delta)
    residuals = in_double(delta)
    if weights is None:
        loss = 0.5 * float(np.vdot(residuals, residuals)) / Y.shape[0]
    else:
        loss = 0.5 * float(in_double(weights) @ np.einsum("ij,ij->i", residuals, residuals))
    _average_gradient(delta, weights)
    return loss


def poisson_loss(logits, Y, delta, weights=None):
    """Half the Poisson deviance of ``mu = exp(z)`` (the log link), ``y log(y / mu) - y + mu``
    with ``0 log 0 = 0``, summed over outputs; ``d loss / d logits = mu - y`` into ``delta``.

    Written in the logits, ``mu - y z + y log y - y``: no logarithm of a prediction."""
    np.exp(logits, out=delta)
    per_entry = delta - Y * logits
    per_entry += xlogy(Y, Y)
    per_entry -= Y
    loss = _mean_over_samples(per_entry, weights)
    delta -= Y
    _average_gradient(delta, weights)
    return loss


def pinball_loss(logits, Y, delta, weights=None, quantile=0.5):
    """Pinball loss of identity outputs at level ``quantile``, ``max(q r, (q - 1) r)`` with
    ``r = y - z``, summed over outputs; its derivative ``1 - q`` where ``z > y``, else ``-q``
    (a subgradient at ``z = y``), into ``delta``. Minimised by the ``quantile`` of ``y``."""
    residual = Y - logits
    per_entry = np.maximum(quantile * residual, (quantile - 1) * residual)
    loss = _mean_over_samples(per_entry, weights)
    np.greater(logits, Y, out=delta)
    delta -= quantile
    _average_gradient(delta, weights)
    return loss


def _mean_over_samples(per_entry, weights):
    per_entry = in_double(per_entry)
    if weights is None:
        return float(per_entry.sum()) / per_entry.shape[0]
    return float(in_double(weights) @ per_entry.sum(axis=1))


def _average_gradient(delta, weights):
    if weights is None:
        delta *= 1.0 / delta.shape[0]
    else:
        delta *= weights[:, np.newaxis]


LOSS_FUNCTIONS = {
    "logistic": logistic_log_loss,
    "softmax": softmax_log_loss,
    "squared_error": squared_error_loss,
    "poisson": poisson_loss,
    "quantile": pinball_loss,
}


def loss_function(loss):
    """The function of ``loss``: a name in ``LOSS_FUNCTIONS``, or ``("quantile", q)`` for the
    pinball loss at level ``q``."""
    if isinstance(loss, str):
        return LOSS_FUNCTIONS[loss]
    name, quantile = loss
    return partial(LOSS_FUNCTIONS[name], quantile=quantile)


def logistic_proba(logits):
    """Two-column probabilities ``[P(class 0), P(class 1)]`` from one logit column; with several
    columns (multilabel targets), the probability of each label."""
    if logits.shape[1] > 1:
        return expit(logits)
    return expit(np.concatenate([-logits, logits], axis=1))


def softmax_proba(logits):
    """Softmax of each row of ``logits`` (a new array).

    What ``scipy.special.softmax(logits, axis=1)`` computes, written out because prediction calls
    it on every chunk: with few classes, NumPy's reductions along short rows cost more than the
    exponentials, so the row maximum is taken column by column and the row sums by a
    matrix-vector product.
    """
    top = logits[:, 0].copy()
    for j in range(1, logits.shape[1]):
        np.maximum(top, logits[:, j], out=top)
    # Logits far apart (up to the largest float each) overflow when shifted by the row maximum, to
    # -inf, whose exponential is the exact limit 0.
    with np.errstate(over="ignore"):
        proba = logits - top[:, np.newaxis]
    np.exp(proba, out=proba)
    proba /= proba @ np.ones((proba.shape[1], 1), dtype=proba.dtype)
    return proba


PROBA_FUNCTIONS = {"logistic": logistic_proba, "softmax": softmax_proba}


def identity(logits):
    """The logits themselves: the decision function, and the regressor's identity output."""
    return logits
