"""Training loops over the network core: epochs of (mini-)batch steps with any optimizer, early
stopping, and L-BFGS. Plain NumPy/SciPy, no scikit-learn glue."""

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize

from ._network import (
    LayerOutputs,
    Penalty,
    Workspace,
    apply_max_norm,
    cost_and_gradients,
    draw_dropout_masks,
    forward,
    print_cost,
    raise_divergence,
    with_ones_column,
)


@dataclass
class Regularization:
    """Everything that regularises training besides the data: penalty, dropout, noise, max-norm."""

    penalty: Penalty = field(default_factory=Penalty)
    keep_probs: tuple = ()
    input_noise: float = 0.0
    max_norm: float | None = None

    @property
    def dropout(self):
        return any(p < 1 for p in self.keep_probs)


def train_epochs(
    X,
    Y,
    params,
    optimizer,
    *,
    loss,
    regularization,
    max_iter,
    rng,
    sample_weight=None,
    batch_size=None,
    stopper=None,
    verbose=0,
):
    """Train ``params`` in place for up to ``max_iter`` epochs; returns the loss curve.

    Each epoch is one step on the whole data (``batch_size=None``: full-batch, as the course
    notebook trains) or one pass over shuffled mini-batches. The loss-curve entry of an epoch is
    the cost before its update (full batch), or the weighted mean of its batches' costs, each
    computed before that batch's update and on that step's dropout masks and noise. ``stopper``,
    when given, is called after each epoch with the epoch's cost and ``params`` and returns True to
    stop. Raises ``ValueError`` as soon as a cost or the parameters stop being finite.
    """
    n_samples = X.shape[0]
    batch_size = n_samples if batch_size is None else min(batch_size, n_samples)
    workspace = Workspace(
        batch_size, params.layer_units, params.flat.dtype, dropout=regularization.dropout
    )
    m = n_samples if sample_weight is None else float(sample_weight.sum())
    step = _Step(params, optimizer, workspace, loss, regularization, m, rng)
    X1 = with_ones_column(X)
    loss_curve = []
    # Overflow only comes with divergence, so any overflow is one: even a pre-activation at -inf,
    # which ReLU would clamp to 0 while the cost stays finite.
    with np.errstate(over="raise", invalid="ignore"):
        for epoch in range(max_iter):
            try:
                if batch_size == n_samples:
                    cost = step(X1, Y, _normalised(sample_weight))
                else:
                    cost = _minibatch_epoch(step, X1, Y, sample_weight, batch_size, m, rng)
            except FloatingPointError:
                cost = math.inf
            if not math.isfinite(cost):
                raise_divergence(epoch, cost, optimizer.learning_rate)
            loss_curve.append(cost)
            if verbose and epoch % 1000 == 0:
                print_cost(epoch, cost)
            if stopper is not None and stopper(cost, params):
                break
    if not np.isfinite(params.flat).all():
        raise_divergence(len(loss_curve), math.nan, optimizer.learning_rate)
    return loss_curve


class _Step:
    """One training step on a batch: masks, noise, cost and gradients, update, constraints."""

    def __init__(self, params, optimizer, workspace, loss, regularization, m, rng):
        self.params, self.optimizer, self.workspace = params, optimizer, workspace
        self.loss, self.reg, self.m, self.rng = loss, regularization, m, rng
        self.grads = workspace.grads.flat
        self.dropout = regularization.dropout

    def __call__(self, X1, Y, weights):
        """Step on the batch ``X1`` (with its column of ones), ``Y``; returns the cost."""
        reg, params = self.reg, self.params
        buffers = self.workspace.rows(X1.shape[0])
        masks = None
        if self.dropout:
            masks = buffers.masks
            draw_dropout_masks(self.rng, reg.keep_probs, masks)
        if reg.input_noise:  # dense X only
            X1 = X1.copy()
            X1[:, :-1] += reg.input_noise * self.rng.standard_normal(X1[:, :-1].shape)
        cost = cost_and_gradients(
            X1, Y, params, buffers, self.loss, reg.penalty, self.m, masks, weights
        )
        if math.isfinite(cost):
            self.optimizer.step(params.flat, self.grads)
            reg.penalty.proximal_step(params, self.optimizer.effective_learning_rate(), self.m)
            if reg.max_norm is not None:
                apply_max_norm(params, reg.max_norm)
        return cost


def _minibatch_epoch(step, X1, Y, sample_weight, batch_size, m, rng):
    # Shuffle once per epoch, then take contiguous slices: cheap for dense and CSR rows alike.
    order = rng.permutation(X1.shape[0])
    X1, Y = X1[order], Y[order]
    sample_weight = None if sample_weight is None else sample_weight[order]
    total = 0.0
    for start in range(0, X1.shape[0], batch_size):
        rows = slice(start, start + batch_size)
        weights = None if sample_weight is None else sample_weight[rows]
        batch_weight = Y[rows].shape[0] if weights is None else float(weights.sum())
        if batch_weight == 0:
            continue  # only zero-weight rows: nothing to learn from
        cost = step(X1[rows], Y[rows], _normalised(weights))
        if not math.isfinite(cost):
            return cost
        total += batch_weight * cost
    return total / m


def _normalised(weights):
    return None if weights is None else weights / weights.sum()


class TrainingLossStopper:
    """Stop when the training cost has not improved by ``tol`` for ``n_iter_no_change`` epochs."""

    def __init__(self, tol, n_iter_no_change):
        self.tol, self.n_iter_no_change = tol, n_iter_no_change
        self.best_loss = math.inf
        self.no_improvement = 0
        self.stopped = False

    def __call__(self, cost, params):
        self.no_improvement = self.no_improvement + 1 if cost >= self.best_loss - self.tol else 0
        self.best_loss = min(self.best_loss, cost)
        self.stopped = self.no_improvement > self.n_iter_no_change
        return self.stopped


class ValidationStopper:
    """Early stopping on the accuracy of a held-out validation set, keeping the best parameters.

    Stops when the validation accuracy has not exceeded the best one by more than ``tol`` for
    ``n_iter_no_change`` epochs (a plateau counts as no improvement); ``best_params`` is a copy
    of the flat parameters at the best score.
    """

    def __init__(self, X_val, Y_val, params, loss, tol, n_iter_no_change):
        self.X_val1, self.Y_val, self.loss = with_ones_column(X_val), Y_val, loss
        self.tol, self.n_iter_no_change = tol, n_iter_no_change
        self.outputs = LayerOutputs.allocate(X_val.shape[0], params.layer_units, params.flat.dtype)
        self.scores = []
        self.best_score = -math.inf
        self.best_params = params.flat.copy()
        self.best_loss = math.inf
        self.no_improvement = 0
        self.stopped = False

    def __call__(self, cost, params):
        score = self.accuracy(params)
        self.scores.append(score)
        self.no_improvement = self.no_improvement + 1 if score <= self.best_score + self.tol else 0
        if score > self.best_score:
            self.best_score = score
            self.best_params[...] = params.flat
        self.best_loss = min(self.best_loss, cost)
        self.stopped = self.no_improvement > self.n_iter_no_change
        return self.stopped

    def accuracy(self, params):
        logits = forward(self.X_val1, params.layers, self.outputs)
        return accuracy(logits, self.Y_val, self.loss)


def accuracy(logits, Y, loss):
    """Share of samples whose predicted label (all labels, for multilabel targets) is right."""
    if loss == "softmax":
        return float(np.mean(logits.argmax(axis=1) == Y.argmax(axis=1)))
    return float(np.mean(((logits > 0) == (Y > 0.5)).all(axis=1)))


def train_lbfgs(X, Y, params, *, loss, penalty, max_iter, tol, sample_weight=None):
    """Minimise the full-batch cost with SciPy's L-BFGS-B; returns (loss curve, SciPy result).

    For deterministic objectives only: no dropout, no noise, no L1 (it is not differentiable).
    """
    workspace = Workspace(X.shape[0], params.layer_units, params.flat.dtype, dropout=False)
    buffers = workspace.rows(X.shape[0])
    X1 = with_ones_column(X)
    m = X.shape[0] if sample_weight is None else float(sample_weight.sum())
    weights = _normalised(sample_weight)

    def cost_and_gradient(flat):
        params.flat[...] = flat
        cost = cost_and_gradients(X1, Y, params, buffers, loss, penalty, m, weights=weights)
        return cost, buffers.grads.flat.astype(np.float64)

    loss_curve = []
    with np.errstate(over="ignore", invalid="ignore"):
        result = scipy.optimize.minimize(
            cost_and_gradient,
            params.flat.astype(np.float64),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": max_iter, "maxfun": 15000 + max_iter}
            | ({} if tol is None else {"gtol": tol}),
            callback=lambda intermediate_result: loss_curve.append(float(intermediate_result.fun)),
        )
    params.flat[...] = result.x
    if not np.isfinite(params.flat).all():
        raise_divergence(result.nit, result.fun, "not used by L-BFGS")
    return loss_curve, result
