"""The network core: plain functions on NumPy arrays, free of scikit-learn glue.

Layout, as in scikit-learn: activations are samples-major, ``(n_samples, n_units)``, and
``coefs[i]`` has shape ``(n_in, n_out)``. All parameters live in one flat buffer, coefficients first
and intercepts after them; ``coefs`` and ``intercepts`` are views into it, so the gradient step is a
single in-place operation and the L2 penalty acts on one contiguous block. The training loop works
in buffers allocated once per fit.
"""

import math

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


class Workspace:
    """Buffers for one training run: activations, deltas, dropout masks and gradients."""

    def __init__(self, n_samples, layer_units, dtype):
        self.activations = [np.empty((n_samples, n), dtype=dtype) for n in layer_units[1:]]
        self.deltas = [np.empty_like(A) for A in self.activations]
        self.masks = [np.ones_like(A) for A in self.activations[:-1]]
        self.grads = Parameters(layer_units, dtype)
        self.ones = np.ones((1, n_samples), dtype=dtype)  # sums deltas over samples by matmul


def forward(X, coefs, intercepts, activations, masks=None):
    """Forward pass LINEAR -> RELU (-> dropout) ... -> LINEAR into ``activations``.

    ``activations[i]`` receives the output of layer ``i + 1``; the last holds the output logits,
    which are returned. ``masks[i]``, when given, multiplies hidden layer ``i`` after its ReLU.
    """
    A = X
    last = len(activations) - 1
    for i, (W, b, Z) in enumerate(zip(coefs, intercepts, activations)):
        np.matmul(A, W, out=Z)
        Z += b
        if i < last:
            relu_inplace(Z)
            if masks is not None:
                Z *= masks[i]
        A = Z
    return A


def backward(X, coefs, workspace, masks=None):
    """Backpropagate ``workspace.deltas[-1]`` (d loss / d logits) into ``workspace.grads``.

    Uses the activations and masks of the forward pass that produced ``deltas[-1]``; the gradients
    are those of the data term only.
    """
    activations, deltas, grads = workspace.activations, workspace.deltas, workspace.grads
    for i in range(len(deltas) - 1, -1, -1):
        A_in = X if i == 0 else activations[i - 1]
        np.matmul(A_in.T, deltas[i], out=grads.coefs[i])
        np.matmul(workspace.ones, deltas[i], out=grads.intercepts[i][np.newaxis])
        if i > 0:
            D = deltas[i - 1]
            np.matmul(deltas[i], coefs[i].T, out=D)
            if masks is not None:
                D *= masks[i - 1]
            # ReLU derivative; a dropped unit has activation 0, so its mask is already applied.
            D *= activations[i - 1] > 0


def l2_penalty(params, lambd, n_samples):
    """``lambd / (2 m) * sum_l ||W_l||_F^2``; intercepts are not penalised."""
    w = params.coef_block
    return 0.5 * lambd / n_samples * float(np.dot(w, w))


def add_l2_gradient(grads, params, lambd, n_samples):
    """Add the gradient of :func:`l2_penalty`, ``lambd / m * W``, to ``grads``."""
    grads.coef_block += (lambd / n_samples) * params.coef_block


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


def cost_and_gradients(X, Y, params, workspace, loss, lambd, masks=None):
    """Cost (data term plus L2 penalty) at ``params``; its gradient goes to ``workspace.grads``."""
    n_samples = X.shape[0]
    logits = forward(X, params.coefs, params.intercepts, workspace.activations, masks)
    cost = LOSS_FUNCTIONS[loss](logits, Y, workspace.deltas[-1])
    backward(X, params.coefs, workspace, masks)
    if lambd:
        cost += l2_penalty(params, lambd, n_samples)
        add_l2_gradient(workspace.grads, params, lambd, n_samples)
    return cost


def gradient_descent(
    X, Y, params, *, loss, lambd, learning_rate, max_iter, keep_probs, rng, verbose=0
):
    """Full-batch gradient descent, updating ``params`` in place.

    Returns the loss curve: the cost at each iteration, computed before that iteration's update
    (on that iteration's dropout masks). Raises ``ValueError`` as soon as the cost or the parameters
    stop being finite.
    """
    layer_units = [X.shape[1]] + [b.shape[0] for b in params.intercepts]
    workspace = Workspace(X.shape[0], layer_units, params.flat.dtype)
    masks = workspace.masks if any(p < 1 for p in keep_probs) else None
    grads = workspace.grads.flat
    loss_curve = np.empty(max_iter)
    # Overflow only comes with divergence, which the finiteness checks below turn into an error.
    with np.errstate(over="ignore", invalid="ignore"):
        for iteration in range(max_iter):
            if masks is not None:
                draw_dropout_masks(rng, keep_probs, masks)
            cost = cost_and_gradients(X, Y, params, workspace, loss, lambd, masks)
            if not math.isfinite(cost):
                raise_divergence(iteration, cost, learning_rate)
            loss_curve[iteration] = cost
            if verbose and iteration % 1000 == 0:
                print(f"Cost after iteration {iteration}: {cost}")
            grads *= learning_rate
            params.flat -= grads
    if not np.isfinite(params.flat).all():
        raise_divergence(max_iter, math.nan, learning_rate)
    return loss_curve


def raise_divergence(iteration, cost, learning_rate):
    raise ValueError(
        f"Training diverged at iteration {iteration}: the cost became {cost}. "
        f"Use a smaller learning_rate (got {learning_rate}) or scale the inputs, "
        "for example with sklearn.preprocessing.StandardScaler."
    )
