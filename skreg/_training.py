"""Training loops over the network core: epochs of (mini-)batch steps with any optimizer, and
L-BFGS; a stopping rule (:mod:`skreg._stopping_rules`) decides after each epoch. What a fit trains
on: its rows and its regularization. Plain NumPy/SciPy, no scikit-learn glue."""

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize

from ._network import (
    PRINT_EPOCHS,
    Penalty,
    Workspace,
    apply_max_norm,
    cost_and_gradients,
    draw_dropout_masks,
    normalised,
    print_cost,
    raise_divergence,
    with_ones_column,
)
from ._random import standard_normals

# Where models saved before the stopping rules had a module of their own find the rule that
# partial_fit keeps in an "adaptive" optimizer (docs/persistence.rst).
from ._stopping_rules import TrainingLossStopper  # noqa: F401
from ._weighted_set import weighted_set


@dataclass
class Rows:
    """The rows a fit trains or validates on: inputs ``X`` (dense, or sparse CSR), encoded
    targets ``Y``, targets ``y`` and sample weights (None if unweighted); ``merged_from``: the
    number of samples given when the rows are their weighted set of distinct rows, else None."""

    X: object
    Y: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None = None
    merged_from: int | None = None

    def as_weighted_set(self):
        """These rows as their canonical weighted set of distinct rows (:func:`weighted_set`)."""
        kept, weights = weighted_set(self.X, self.Y, self.sample_weight)
        X, Y, y = self.X[kept], self.Y[kept], self.y[kept]
        return Rows(X, Y, y, weights, merged_from=self.X.shape[0])


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
    stream,
    sample_weight=None,
    batch_size=None,
    stopper=None,
    verbose=0,
    shuffle=True,
):
    """Train ``params`` in place for up to ``max_iter`` epochs; returns the loss curve.

    Each epoch is one step on the whole data (``batch_size=None``: full-batch, as the course
    notebook trains) or one pass over mini-batches, reshuffled every epoch if ``shuffle`` (else
    taken in the data's order, drawing nothing from ``stream``). After each epoch the optimizer
    counts the epoch's samples and updates its scheduled step size. The loss-curve entry of an
    epoch is the cost before its update (full batch), or the weighted mean of its batches' costs,
    each computed before that batch's update and on that step's dropout masks and noise.
    ``stopper``, when given, is called after each epoch with the epoch's cost and ``params`` and
    returns True to stop. Raises ``ValueError`` as soon as a cost or the parameters stop being
    finite.
    """
    n_samples = X.shape[0]
    batch_size = n_samples if batch_size is None else min(batch_size, n_samples)
    workspace = Workspace(
        batch_size, params.layer_units, params.flat.dtype, dropout=regularization.dropout,
        activation=params.activation,
    )  # fmt: skip
    m = n_samples if sample_weight is None else float(sample_weight.sum())
    step = _Step(params, optimizer, workspace, loss, regularization, m, stream)
    X1 = with_ones_column(X)
    full_batch_weights = normalised(sample_weight)
    loss_curve = []
    # Overflow only comes with divergence, so any overflow is one: even a pre-activation at -inf,
    # which ReLU would clamp to 0 (and tanh or the logistic function saturate) while the cost
    # stays finite.
    with np.errstate(over="raise", invalid="ignore"):
        for epoch in range(max_iter):
            try:
                if batch_size == n_samples:
                    cost = step(X1, Y, full_batch_weights)
                else:
                    cost = _minibatch_epoch(
                        step, X1, Y, sample_weight, batch_size, m, stream if shuffle else None
                    )
            except FloatingPointError:
                cost = math.inf
            if not math.isfinite(cost):  # (a NaN cost comes from an overflow too: inf - inf)
                raise_divergence(epoch, math.inf, optimizer.learning_rate)
            loss_curve.append(cost)
            optimizer.epoch_ends(m)
            if verbose and epoch % PRINT_EPOCHS == 0:
                print_cost(epoch, cost)
            if stopper is not None and stopper(cost, params):
                break
    if not np.isfinite(params.flat).all():
        raise_divergence(len(loss_curve), math.nan, optimizer.learning_rate)
    return loss_curve


class _Step:
    """One training step on a batch: masks, noise, cost and gradients, update, constraints."""

    def __init__(self, params, optimizer, workspace, loss, regularization, m, stream):
        self.params, self.optimizer, self.workspace = params, optimizer, workspace
        self.loss, self.reg, self.m, self.stream = loss, regularization, m, stream
        self.grads = workspace.grads.flat
        self.dropout = regularization.dropout

    def __call__(self, X1, Y, weights):
        """Step on the batch ``X1`` (with its column of ones), ``Y``; returns the cost."""
        reg, params = self.reg, self.params
        buffers = self.workspace.rows(X1.shape[0])
        masks = None
        if self.dropout:
            masks = buffers.masks
            draw_dropout_masks(self.stream, reg.keep_probs, masks)
        if reg.input_noise:  # dense X only
            X1 = X1.copy()
            X1[:, :-1] += reg.input_noise * standard_normals(self.stream, X1[:, :-1].shape)
        cost = cost_and_gradients(
            X1, Y, params, buffers, self.loss, reg.penalty, self.m, masks, weights
        )
        if math.isfinite(cost):
            self.optimizer.step(params.flat, self.grads)
            reg.penalty.proximal_step(params, self.optimizer.effective_learning_rate(), self.m)
            if reg.max_norm is not None:
                apply_max_norm(params, reg.max_norm)
        return cost


def _minibatch_epoch(step, X1, Y, sample_weight, batch_size, m, stream):
    """One pass over mini-batches: shuffled by ``stream``, or in order if it is None."""
    if stream is not None:
        # Shuffle once per epoch, then take contiguous slices: cheap for dense and CSR rows alike.
        order = stream.permutation(X1.shape[0])
        X1, Y = X1[order], Y[order]
        sample_weight = None if sample_weight is None else sample_weight[order]
    total = 0.0
    for start in range(0, X1.shape[0], batch_size):
        rows = slice(start, start + batch_size)
        weights = None if sample_weight is None else sample_weight[rows]
        batch_weight = Y[rows].shape[0] if weights is None else float(weights.sum())
        if batch_weight == 0:
            continue  # only zero-weight rows: nothing to learn from
        cost = step(X1[rows], Y[rows], normalised(weights))
        if not math.isfinite(cost):
            return cost
        total += batch_weight * cost
    return total / m


def train_lbfgs(
    X, Y, params, *, loss, penalty, max_iter, tol, max_fun=15000, sample_weight=None, stopper=None
):
    """Minimise the full-batch cost with SciPy's L-BFGS-B, for at most ``max_iter`` iterations
    and ``max_fun`` evaluations of the cost; returns (loss curve, SciPy result).

    For deterministic objectives only: no dropout, no noise, no L1 (it is not differentiable).
    ``stopper``, when given, is called after each iteration with its cost and ``params`` at the
    iterate, and returns True to stop.
    """
    workspace = Workspace(X.shape[0], params.layer_units, params.flat.dtype, dropout=False)
    buffers = workspace.rows(X.shape[0])
    X1 = with_ones_column(X)
    m = X.shape[0] if sample_weight is None else float(sample_weight.sum())
    weights = normalised(sample_weight)

    def cost_and_gradient(flat):
        params.flat[...] = flat
        cost = cost_and_gradients(X1, Y, params, buffers, loss, penalty, m, weights=weights)
        return cost, buffers.grads.flat.astype(np.float64)

    loss_curve = []

    def after_iteration(intermediate_result):
        loss_curve.append(float(intermediate_result.fun))
        if stopper is not None:
            params.flat[...] = intermediate_result.x
            if stopper(loss_curve[-1], params):
                raise StopIteration  # SciPy ends the minimisation there

    with np.errstate(over="ignore", invalid="ignore"):
        result = scipy.optimize.minimize(
            cost_and_gradient,
            params.flat.astype(np.float64),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": max_iter, "maxfun": max_fun}
            | ({} if tol is None else {"gtol": tol}),
            callback=after_iteration,
        )
    params.flat[...] = result.x
    if not (math.isfinite(result.fun) and np.isfinite(params.flat).all()):
        raise_divergence(result.nit, float(result.fun))
    return loss_curve, result
