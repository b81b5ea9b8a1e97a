"""Training loops over the network core: epochs of (mini-)batch steps with any optimizer, early
stopping, and L-BFGS. Plain NumPy/SciPy, no scikit-learn glue."""

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from ._base import loss_function
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
from ._random import standard_normals
from ._threads import allowed_threads

#: Rows hashed at a time by _row_keys.
HASH_CHUNK_ROWS = 4096


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
            if not math.isfinite(cost):
                raise_divergence(epoch, cost, optimizer.learning_rate)
            loss_curve.append(cost)
            optimizer.epoch_ends(m)
            if verbose and epoch % 1000 == 0:
                print_cost(epoch, cost)
            if stopper is not None and stopper(cost, params):
                break
    if not np.isfinite(params.flat).all():
        raise_divergence(len(loss_curve), math.nan, optimizer.learning_rate)
    return loss_curve


def weighted_set(X, Y, sample_weight):
    """The rows of a deterministic full-batch fit as a canonical weighted set of distinct rows:
    returns the indices of the rows to train on, in order, and their weights (``None`` when every
    one weighs 1).

    Full-batch training without dropout or noise sees only the weighted set of ``(x, y)`` rows:
    rows repeated ``k`` times are one row of weight ``k``, zero-weight rows contribute nothing,
    and the order of the rows does not matter. The rows are merged and put in a canonical order
    (by a hash of their content, :func:`_row_keys`) accordingly, so that the fitted model depends
    on the data, not on how it is written: integer weights give exactly the model of repeated
    rows, and a shuffled or sparse copy of the data the same model, on any engine, bit for bit.
    (Otherwise sums taken in another order round differently, and the chaotic phases of
    gradient descent can amplify that until two such fits part ways.)
    """
    keys = _row_keys(X, Y)
    order = np.lexsort(keys[::-1])
    keys = keys[:, order]
    first = np.r_[True, (keys[:, 1:] != keys[:, :-1]).any(axis=0)]
    weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight[order]
    weights = np.bincount(np.cumsum(first) - 1, weights=weights)
    rows = order[first][weights > 0]
    weights = weights[weights > 0]
    return rows, None if (weights == 1).all() else weights.astype(X.dtype)


def _row_keys(X, Y):
    """Two 64-bit hashes of each row of ``[X, Y]``, shape ``(2, n_rows)``: rows equal in value
    (``-0.0`` equal to ``0.0``, dense or sparse) get equal keys; different rows equal keys with
    probability ``2**-128``. Each is a sum, modulo ``2**64``, over the row's non-zero entries of a
    mix of the entry's bits with its column, so that zeros, stored or not, add nothing."""
    n_rows, n_features = X.shape
    if sp.issparse(X) and not X.has_canonical_format:  # duplicate entries add up
        X = X.copy()
        X.sum_duplicates()
    keys = np.zeros((2, n_rows), dtype=np.uint64)
    seeds = (0x9E3779B97F4A7C15, 0xD1B54A32D192ED03)
    columns = [_mix(np.arange(n_features + Y.shape[1], dtype=np.uint64) + np.uint64(seed))
               for seed in seeds]  # fmt: skip
    if sp.issparse(X):
        for k in range(2):
            terms = _entry_terms(X.data, columns[k][X.indices])
            sums = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(terms)])
            keys[k] = sums[X.indptr[1:]] - sums[X.indptr[:-1]]
    else:
        # Chunks of rows, whose terms stay in cache, side by side on the threads allowed: sums
        # modulo 2**64 are exact in any order.
        def add_chunk(rows):
            for k in range(2):
                keys[k, rows] += _entry_terms(X[rows], columns[k][:n_features]).sum(axis=1)

        chunks = [slice(i, i + HASH_CHUNK_ROWS) for i in range(0, n_rows, HASH_CHUNK_ROWS)]
        with ThreadPoolExecutor(max(1, min(len(chunks), allowed_threads()))) as pool:
            for _ in pool.map(add_chunk, chunks):
                pass
    for k in range(2):
        for j in range(Y.shape[1]):
            keys[k] += _entry_terms(Y[:, j], columns[k][n_features + j])
    return keys


def _entry_terms(values, column_keys):
    bits = (values.astype(np.float64) + 0.0).view(np.uint64)  # + 0.0: -0.0 becomes 0.0
    return np.where(bits != 0, _mix(bits ^ column_keys), np.uint64(0))


def _mix(z):
    """SplitMix64's finaliser, on uint64 arrays (wrapping)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


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


def normalised(weights):
    """Sample weights scaled to sum to 1 (None stays None), as every step weighs its rows."""
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
        self.plateau.no_improvement = 0
        self.plateau.stopped = False
        return False


class ValidationStopper:
    """Early stopping on a score of a held-out validation set, keeping the best parameters.

    ``score(logits, Y, sample_weight)`` rates the network's outputs on the held-out rows, higher
    being better (the classifier's accuracy, :func:`accuracy_score`; the regressor's R²); it is
    weighted by ``sample_weight_val`` (the held-out rows' sample weights, times class weights)
    when given, as scikit-learn's MLP scores it. Stops when it has not exceeded the best one by
    more than ``tol`` for ``n_iter_no_change`` epochs (a plateau counts as no improvement);
    ``best_params`` is a copy of the flat parameters at the best score.
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
        self.no_improvement = self.no_improvement + 1 if score <= self.best_score + self.tol else 0
        if score > self.best_score:
            self.best_score = score
            self.best_params[...] = params.flat
        self.best_loss = min(self.best_loss, cost)
        self.stopped = self.no_improvement > self.n_iter_no_change
        return self.stopped

    def validation_score(self, params):
        # Finite parameters can still overflow on held-out rows (float32, huge weights): the
        # scores then count those rows as wrong; training itself decides on divergence.
        with np.errstate(over="ignore", invalid="ignore"):
            logits = forward(self.X_val1, params.layers, self.outputs, activation=params.activation)
            return self.score(logits, self.Y_val, self.sample_weight_val)


def accuracy_score(loss):
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


def negative_loss_score(loss):
    """An early-stopping score for losses R² does not suit (a quantile's): minus the mean
    ``loss`` of the held-out rows, weighted by ``sample_weight`` when given, penalty excluded."""

    def score(logits, Y, sample_weight=None):
        gradient = np.empty_like(logits)  # the loss functions write one; unused here
        return -loss_function(loss)(logits, Y, gradient, normalised(sample_weight))

    return score


def r2_score(output):
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
    if not np.isfinite(params.flat).all():
        raise_divergence(result.nit, result.fun, "not used by L-BFGS")
    return loss_curve, result
