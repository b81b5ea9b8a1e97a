"""When training stops: the rules called after each epoch with its cost and the parameters (a
plateau of the training cost, early stopping on held-out rows, the "adaptive" schedule), and the
scores early stopping rates held-out rows by. Plain NumPy, no scikit-learn glue."""

import math

import numpy as np

from ._base import loss_function
from ._network import LayerOutputs, forward, normalised, with_ones_column


class _Patience:
    """The count of a plateau: ``stopped`` once more than ``n_iter_no_change`` epochs in a row
    have not improved (by ``tol``, which each rule applies to its own measure)."""

    def _count(self, improved):
        self.no_improvement = 0 if improved else self.no_improvement + 1
        self.stopped = self.no_improvement > self.n_iter_no_change
        return self.stopped

    def count_anew(self):
        """Forget the epochs counted so far (the best value stays)."""
        self.no_improvement = 0
        self.stopped = False


class TrainingLossStopper(_Patience):
    """Stop when the training cost has not improved by ``tol`` for more than
    ``n_iter_no_change`` epochs."""

    def __init__(self, tol, n_iter_no_change):
        self.tol, self.n_iter_no_change = tol, n_iter_no_change
        self.best_loss = math.inf
        self.no_improvement = 0
        self.stopped = False

    def __call__(self, cost, params):
        improved = cost < self.best_loss - self.tol
        self.best_loss = min(self.best_loss, cost)
        return self._count(improved)

    def __eq__(self, other):  # equal counts: the same state of an optimizer that keeps one
        return type(other) is type(self) and vars(other) == vars(self)


class AdaptiveStepSize:
    """The stopping rule of the "adaptive" step-size schedule (scikit-learn's): where ``plateau``
    (a :class:`TrainingLossStopper` or :class:`ValidationStopper`) would stop, the optimizer's
    step size is divided by 5 and the plateau counted anew; training stops only when the step
    size is already at most 1e-6."""

    def __init__(self, plateau, optimizer):
        self.plateau, self.optimizer = plateau, optimizer

    def __call__(self, cost, params):
        if not self.plateau(cost, params) or not self.optimizer.reduce_step_size():
            return self.plateau.stopped
        self.plateau.count_anew()
        return False


class ValidationStopper(_Patience):
    """Early stopping on a score of a held-out validation set, keeping the best parameters.

    ``score(logits, Y, sample_weight)`` rates the network's outputs on the held-out rows, higher
    being better (the classifier's accuracy, :func:`accuracy_scorer`; the regressor's R²); it is
    weighted by ``sample_weight_val`` (the held-out rows' sample weights, times class weights)
    when given, as scikit-learn's MLP scores it. Stops when it has not exceeded the best one by
    more than ``tol`` for more than ``n_iter_no_change`` epochs (a plateau counts as no
    improvement); ``best_params`` is a copy of the flat parameters at the best score.
    """

    def __init__(self, X_val, Y_val, params, score, tol, n_iter_no_change, sample_weight_val=None):
        self.X_val1, self.Y_val, self.score = with_ones_column(X_val), Y_val, score
        self.sample_weight_val = sample_weight_val
        self.tol, self.n_iter_no_change = tol, n_iter_no_change
        self.outputs = LayerOutputs.allocate(X_val.shape[0], params.layer_units, params.flat.dtype)
        self.scores = []
        self.best_score = -math.inf
        self.best_params = params.flat.copy()
        self.best_loss = math.inf
        self.no_improvement = 0
        self.stopped = False

    def __call__(self, cost, params):
        score = self.validation_score(params)
        self.scores.append(score)
        improved = score > self.best_score + self.tol
        if score > self.best_score:
            self.best_score = score
            self.best_params[...] = params.flat
        self.best_loss = min(self.best_loss, cost)
        return self._count(improved)

    def validation_score(self, params):
        # Finite parameters can still overflow on held-out rows (float32, huge weights): the
        # scores then count those rows as wrong; training itself decides on divergence.
        with np.errstate(over="ignore", invalid="ignore"):
            logits = forward(self.X_val1, params.layers, self.outputs, activation=params.activation)
            return self.score(logits, self.Y_val, self.sample_weight_val)


def accuracy_scorer(loss):
    """A classifier's early-stopping score: :func:`accuracy` for the output ``loss``."""

    def score(logits, Y, sample_weight=None):
        return accuracy(logits, Y, loss, sample_weight)

    return score


def accuracy(logits, Y, loss, sample_weight=None):
    """Share of samples whose predicted label (all labels, for multilabel targets) is right,
    weighted by ``sample_weight`` when given."""
    if loss == "softmax":
        correct = logits.argmax(axis=1) == Y.argmax(axis=1)
    else:
        correct = ((logits > 0) == (Y > 0.5)).all(axis=1)
    return float(np.average(correct, weights=sample_weight))


def negative_loss_scorer(loss):
    """An early-stopping score for losses R² does not suit (a quantile's): minus the mean
    ``loss`` of the held-out rows, weighted by ``sample_weight`` when given, penalty excluded;
    ``-inf`` for outputs beyond the float range (as :func:`r2`)."""

    def score(logits, Y, sample_weight=None):
        gradient = np.empty_like(logits)  # the loss functions write one; unused here
        value = loss_function(loss)(logits, Y, gradient, normalised(sample_weight))
        return -value if math.isfinite(value) else -math.inf

    return score


def r2_scorer(output):
    """A regressor's early-stopping score: :func:`r2` of the predictions ``output(logits)``."""

    def score(logits, Y, sample_weight=None):
        return r2(output(logits), Y, sample_weight)

    return score


def r2(predictions, Y, sample_weight=None):
    """Coefficient of determination R², weighted by ``sample_weight`` when given, averaged
    uniformly over outputs, as ``sklearn.metrics.r2_score`` computes it (an output of constant
    ``Y`` scores 1 if predicted exactly, else 0); ``-inf`` for predictions beyond the float
    range."""
    predictions, Y = predictions.astype(np.float64), Y.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        residual = np.average((Y - predictions) ** 2, axis=0, weights=sample_weight)
    if not np.isfinite(residual).all():
        return -math.inf
    mean = np.average(Y, axis=0, weights=sample_weight)
    total = np.average((Y - mean) ** 2, axis=0, weights=sample_weight)
    scores = np.where(residual == 0, 1.0, 0.0)
    np.subtract(1.0, residual / np.where(total > 0, total, 1.0), out=scores, where=total > 0)
    return float(scores.mean())
