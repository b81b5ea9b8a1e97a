"""The network core: plain functions on NumPy arrays, free of scikit-learn glue.

Layout, as in scikit-learn: activations are samples-major, ``(n_samples, n_units)``, and
``coefs[i]`` has shape ``(n_in, n_out)``. All parameters live in one flat buffer, coefficients first
and intercepts after them; ``coefs`` and ``intercepts`` are views into it, so an optimizer step is a
few in-place operations on whole buffers and the weight penalties act on one contiguous block.
Training works in buffers allocated once per fit. Only the input ``X`` may be a scipy.sparse matrix.
"""

from dataclasses import dataclass

import numpy as np

from ._base import LOSS_FUNCTIONS, relu_inplace


class Parameters:
    """Coefficients and intercepts of a network, as views into one flat buffer.

    Parameters
    ----------
    layer_units : sequence of int
        Units per layer, input and output layers included.
    dtype : numpy dtype
        Floating dtype of the buffer.
    """

    def __init__(self, layer_units, dtype):
        self.layer_units = list(layer_units)
        shapes = list(zip(layer_units[:-1], layer_units[1:]))
        self.n_coefs = sum(n_in * n_out for n_in, n_out in shapes)
        self.flat = np.zeros(self.n_coefs + sum(layer_units[1:]), dtype=dtype)
        self.coefs, self.intercepts = [], []
        start = 0
        for n_in, n_out in shapes:
            self.coefs.append(self.flat[start : start + n_in * n_out].reshape(n_in, n_out))
            start += n_in * n_out
        for n_out in layer_units[1:]:
            self.intercepts.append(self.flat[start : start + n_out])
            start += n_out
        # All coefficients (no intercepts) as one flat view: what the weight penalties act on.
        self.coef_block = self.flat[: self.n_coefs]

    @classmethod
    def from_arrays(cls, coefs, intercepts):
        """Parameters holding copies of ``coefs`` and ``intercepts`` (e.g. a fitted model's)."""
        layer_units = [coefs[0].shape[0]] + [b.shape[0] for b in intercepts]
        params = cls(layer_units, coefs[0].dtype)
        for target, source in zip(params.coefs + params.intercepts, coefs + intercepts):
            target[...] = source
        return params


def init_parameters(layer_units, rng, dtype=np.float64):
    """Reference initialisation, layer by layer: ``W = randn(n_out, n_in) / sqrt(n_in)``, ``b = 0``.

    ``W`` is drawn units-out-major, as in the course notebook, and stored transposed, so a given
    ``RandomState`` yields the notebook's weights exactly.
    """
    params = Parameters(layer_units, dtype)
    for W in params.coefs:
        n_in, n_out = W.shape
        W[...] = (rng.randn(n_out, n_in) / np.sqrt(n_in)).T
    return params


@dataclass
class Buffers:
    """Per-step buffers for a batch of rows: activations, deltas, dropout masks, gradients."""

    activations: list
    deltas: list
    masks: list
    grads: Parameters
    ones: np.ndarray  # a row of ones: sums deltas over samples by one matmul


class Workspace:
    """Buffers for one training run, allocated once for the largest batch.

    ``rows(n)`` gives the buffers for a batch of ``n`` rows, as views of the first ``n`` rows (the
    last mini-batch of an epoch may be smaller). All batch sizes share the gradient buffers.
    Dropout masks, as large as the hidden activations, are allocated only if ``dropout``.
    """

    def __init__(self, max_rows, layer_units, dtype, dropout=True):
        activations = [np.empty((max_rows, n), dtype=dtype) for n in layer_units[1:]]
        self._full = Buffers(
            activations=activations,
            deltas=[np.empty_like(A) for A in activations],
            masks=[np.ones_like(A) for A in activations[:-1]] if dropout else [],
            grads=Parameters(layer_units, dtype),
            ones=np.ones((1, max_rows), dtype=dtype),
        )
        self._views = {max_rows: self._full}

    @property
    def grads(self):
        return self._full.grads

    def rows(self, n):
        if n not in self._views:
            full = self._full
            self._views[n] = Buffers(
                activations=[A[:n] for A in full.activations],
                deltas=[D[:n] for D in full.deltas],
                masks=[M[:n] for M in full.masks],
                grads=full.grads,
                ones=full.ones[:, :n],
            )
        return self._views[n]


def forward(X, coefs, intercepts, activations, masks=None):
    """Forward pass LINEAR -> RELU (-> dropout) ... -> LINEAR into ``activations``.

    ``activations[i]`` receives the output of layer ``i + 1``; the last holds the output logits,
    which are returned. ``masks[i]``, when given, multiplies hidden layer ``i`` after its ReLU.
    """
    A = X
    last = len(activations) - 1
    sparse_input = not isinstance(X, np.ndarray)  # (sp.issparse costs microseconds per call)
    for i, (W, b, Z) in enumerate(zip(coefs, intercepts, activations)):
        if i == 0 and sparse_input:
            Z[...] = A @ W
        else:
            np.matmul(A, W, out=Z)
        Z += b
        if i < last:
            relu_inplace(Z)
            if masks is not None:
                Z *= masks[i]
        A = Z
    return A


def backward(X, coefs, buffers, masks=None):
    """Backpropagate ``buffers.deltas[-1]`` (d loss / d logits) into ``buffers.grads``.

    Uses the activations and masks of the forward pass that produced ``deltas[-1]``; the gradients
    are those of the data term only.
    """
    activations, deltas, grads = buffers.activations, buffers.deltas, buffers.grads
    sparse_input = not isinstance(X, np.ndarray)  # (sp.issparse costs microseconds per call)
    for i in range(len(deltas) - 1, -1, -1):
        A_in = X if i == 0 else activations[i - 1]
        if i == 0 and sparse_input:
            grads.coefs[i][...] = A_in.T @ deltas[i]
        else:
            np.matmul(A_in.T, deltas[i], out=grads.coefs[i])
        np.matmul(buffers.ones, deltas[i], out=grads.intercepts[i][np.newaxis])
        if i > 0:
            D = deltas[i - 1]
            np.matmul(deltas[i], coefs[i].T, out=D)
            if masks is not None:
                D *= masks[i - 1]
            # ReLU derivative; a dropped unit has activation 0, so its mask is already applied.
            D *= activations[i - 1] > 0


@dataclass(frozen=True)
class Penalty:
    """Weight penalty ``l2 / (2 m) * sum W**2 + l1 / m * sum |W|`` on the coefficients.

    ``m`` is the total sample weight of the training set (the number of samples when unweighted),
    whatever the batch, so mini-batch and full-batch training minimise the same objective.
    Intercepts are not penalised. The L1 term is not differentiable at 0: training applies it by a
    proximal (soft-threshold) step after each gradient step, which sets weights exactly to zero.
    """

    l2: float = 0.0
    l1: float = 0.0

    def cost(self, params, m):
        w = params.coef_block
        cost = 0.0
        if self.l2:
            cost += 0.5 * self.l2 / m * float(np.dot(w, w))
        if self.l1:
            cost += self.l1 / m * float(np.abs(w).sum())
        return cost

    def add_smooth_gradient(self, grads, params, m):
        """Add the gradient of the L2 term, ``l2 / m * W``, to ``grads``."""
        if self.l2:
            grads.coef_block += (self.l2 / m) * params.coef_block

    def proximal_step(self, params, step_size, m):
        """Soft-threshold the coefficients by ``step_size * l1 / m`` (the L1 proximal operator)."""
        if self.l1:
            w = params.coef_block
            shrunk = np.abs(w)
            shrunk -= step_size * self.l1 / m
            np.maximum(shrunk, 0, out=shrunk)
            np.copysign(shrunk, w, out=w)


def apply_max_norm(params, max_norm):
    """Rescale each unit's incoming weights (a column of ``W``) to norm at most ``max_norm``."""
    for W in params.coefs:
        norms = np.sqrt(np.einsum("ij,ij->j", W, W))
        W *= max_norm / np.maximum(norms, max_norm)


def draw_dropout_masks(rng, keep_probs, masks):
    """Fresh inverted-dropout masks: ``1 / keep_prob`` with probability ``keep_prob``, else 0.

    Uniforms are drawn units-major, as the course notebook draws them, then used samples-major.
    Layers with ``keep_prob == 1`` keep their all-ones mask and consume no random numbers.
    """
    for mask, keep_prob in zip(masks, keep_probs):
        if keep_prob < 1:
            uniform = rng.random_sample(mask.shape[::-1]).T
            np.less(uniform, keep_prob, out=mask)
            mask *= 1.0 / keep_prob


def cost_and_gradients(X, Y, params, buffers, loss, penalty, m, masks=None, weights=None):
    """Cost at ``params`` on the batch ``X, Y``; its smooth part's gradient into ``buffers.grads``.

    The cost is the batch's mean loss (``weights``, summing to 1, make it a weighted mean) plus
    the full penalty; the L1 part of the penalty has no gradient here (see :class:`Penalty`).
    """
    logits = forward(X, params.coefs, params.intercepts, buffers.activations, masks)
    cost = LOSS_FUNCTIONS[loss](logits, Y, buffers.deltas[-1], weights)
    backward(X, params.coefs, buffers, masks)
    penalty.add_smooth_gradient(buffers.grads, params, m)
    return cost + penalty.cost(params, m)


def raise_divergence(iteration, cost, learning_rate):
    raise ValueError(
        f"Training diverged at iteration {iteration}: the cost became {cost}. "
        f"Use a smaller learning_rate (got {learning_rate}) or scale the inputs, "
        "for example with sklearn.preprocessing.StandardScaler."
    )
