"""RegularizedMLPClassifier: the scikit-learn estimator around the network core."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils._chunking import get_chunk_n_rows
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
)
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._base import LOG_PROBA_FUNCTIONS, PROBA_FUNCTIONS
from ._engines import training_function, training_matrix
from ._network import (
    LayerOutputs,
    Parameters,
    Penalty,
    forward,
    init_parameters,
    with_ones_column,
)
from ._optimizers import make_optimizer
from ._random import training_stream
from ._training import (
    Regularization,
    TrainingLossStopper,
    ValidationStopper,
    train_lbfgs,
    weighted_set,
)

# Prediction works in chunks of rows whose temporaries fit in this many MiB (see predict_proba):
# small enough to stay in cache, large enough for efficient matrix products.
PREDICT_WORKING_MEMORY_MB = 4

# Frames from fit's warnings up to the user's call: _warn_if_not_converged, _fit,
# _fit_or_restore, fit and the wrapper of _fit_context.
_FIT_WARNING_STACKLEVEL = 6


def _validate_data(estimator, *args, **kwargs):
    """``validate_data`` without a spurious RuntimeWarning on finite inputs near the float range.

    Its finiteness check first sums ``X``: finite entries of both signs near the float range sum to
    ``inf - inf``, which would raise an invalid-value warning before the exact check.
    """
    with np.errstate(invalid="ignore"):
        return validate_data(estimator, *args, **kwargs)


def _probabilities(out_activation):
    """Probabilities from logits, computed in float64 so that ones too small for float32 stay
    positive."""
    proba = PROBA_FUNCTIONS[out_activation]

    def probabilities(logits):
        return proba(logits.astype(np.float64, copy=False))

    return probabilities


def _log_probabilities(out_activation):
    """Log-probabilities from logits, computed stably in float64, and ``-inf`` exactly where the
    probability underflows to 0, so that they are the logarithm of ``predict_proba``."""
    proba, log_proba = PROBA_FUNCTIONS[out_activation], LOG_PROBA_FUNCTIONS[out_activation]

    def log_probabilities(logits):
        logits = logits.astype(np.float64, copy=False)
        result = log_proba(logits)
        result[proba(logits) == 0] = -np.inf
        return result

    return log_probabilities


def _sorted_labels(labels, name):
    """The distinct labels, sorted; labels that cannot be sorted (strings mixed with numbers or
    None) are refused by ``name``."""
    try:
        return np.unique(labels)
    except TypeError as error:
        raise _unsortable_labels(name, error) from error


def _unsortable_labels(name, error):
    return TypeError(
        f"{name} mixes labels that cannot be compared, such as strings with numbers or None; "
        f"use labels of one type ({error})."
    )


def _identity(logits):
    return logits


class RegularizedMLPClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron classifier with L2/L1 penalties, dropout and other regularisers.

    The network is LINEAR -> RELU for every hidden layer, then LINEAR -> SIGMOID for binary (and
    multilabel) targets or LINEAR -> SOFTMAX for more than two classes, trained on the
    cross-entropy plus a weight penalty. By default it is the network of the deep-learning course
    notebook this package comes from: hidden layers of 20 and 3 units, full-batch gradient descent,
    30000 iterations, learning rate 0.3.

    Like any network trained by gradient descent with a fixed learning rate, it needs inputs on a
    unit scale: put a :class:`~sklearn.preprocessing.StandardScaler` in front of it.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(20, 3)
        Number of units in each hidden layer; at least one layer, every size at least 1.

    lambd : float, default=0.0
        Strength ``lambda`` >= 0 of the weight penalty. With ``m`` the number of training samples
        (their total weight when weighted) the cost gains ``lambd / (2 m) * sum_l ||W_l||_F^2`` for
        ``penalty="l2"``, ``lambd / m * sum_l |W_l|_1`` for ``penalty="l1"``, and for
        ``"elasticnet"`` the sum of both with strengths ``lambd * l1_ratio`` (L1) and
        ``lambd * (1 - l1_ratio)`` (L2). Intercepts are never penalised.

    penalty : {"l2", "l1", "elasticnet"}, default="l2"
        The weight penalty. L1 is applied by a proximal (soft-threshold) step after every update,
        so weights become exactly zero; :attr:`n_zero_coefs_` counts them. (An L0 penalty, the
        number of non-zero weights, is not offered: minimising it is NP-hard.)

    l1_ratio : float, default=0.5
        Share of L1 in the elastic-net penalty, in [0, 1]; used only with ``penalty="elasticnet"``.

    keep_prob : float or array-like of float, default=1.0
        Probability of keeping a hidden unit under inverted dropout, in (0, 1]: one value for every
        hidden layer, or one per hidden layer. During training each hidden layer's output is
        multiplied by a fresh random 0/1 mask at every step and divided by its ``keep_prob``;
        prediction never drops units. ``1.0`` disables dropout.

    max_norm : float or None, default=None
        If set, after every update each unit's vector of incoming weights is rescaled to an L2 norm
        of at most ``max_norm`` (the constraint Srivastava et al., 2014, recommend with dropout).

    input_noise : float, default=0.0
        Standard deviation of Gaussian noise added to the inputs at every training step (data
        augmentation for tabular data). Needs dense ``X``.

    solver : {"gd", "momentum", "adam", "lbfgs"}, default="gd"
        ``"gd"``: gradient descent (the course's); ``"momentum"``: with heavy-ball momentum;
        ``"adam"``: Adam; ``"lbfgs"``: SciPy's L-BFGS-B on the full-batch cost, often the best on
        small data but only for deterministic, smooth objectives (no dropout, no input noise, no L1,
        no max-norm).

    batch_size : int or None, default=None
        ``None`` trains on the full batch at every step (the course's algorithm); an int trains on
        mini-batches of that size, reshuffled every epoch. Ignored by ``"lbfgs"``.

    learning_rate : float, default=0.3
        Step size, > 0. The default suits ``"gd"``; Adam usually wants about 0.001 to 0.01.

    momentum : float, default=0.9
        Momentum of the ``"momentum"`` solver, in [0, 1).

    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of Adam's moment estimates, in [0, 1).

    epsilon : float, default=1e-8
        Adam's numerical-stability constant.

    max_iter : int, default=30000
        Maximum number of epochs: passes over the training data (one step each in full batch).
        For ``"lbfgs"``, maximum number of L-BFGS iterations.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified) and stop when its
        accuracy has not improved by ``tol`` for ``n_iter_no_change`` epochs; the weights of the
        best epoch are restored. Not used by ``partial_fit`` or ``"lbfgs"``.

    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping, in (0, 1).

    n_iter_no_change : int, default=100
        Patience, in epochs, of early stopping and of the ``tol`` stop. (Larger than
        scikit-learn's 10 because a full-batch epoch is a single small step.)

    tol : float or None, default=None
        Improvement threshold. With ``early_stopping``: of the validation accuracy (``None``
        counts any improvement). Without: if set, training stops once the training cost has not
        decreased by ``tol`` for ``n_iter_no_change`` epochs (for ``"lbfgs"``, it is the gradient
        tolerance); ``None`` always runs ``max_iter`` epochs, as the course does.

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the cost, as in scikit-learn's linear models; ``"balanced"``
        weighs classes inversely to their frequency, ``n / (n_classes * n_c)``, where ``n`` and
        ``n_c`` are total sample weights (so a sample of weight ``k`` counts as ``k`` samples);
        ``partial_fit`` balances each chunk by its own totals. Multiplies ``sample_weight``.

    warm_start : bool, default=False
        If True, ``fit`` starts from the previous fit's weights (and optimizer state) instead of a
        new initialisation.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation and the validation split, and through them the training
        stream (one SFC64 generator, described in the user guide) that draws the dropout masks, the
        input noise and the mini-batch order, identically in both engines. Pass an int for
        reproducible results; ``random_state=3`` reproduces the course notebook's initial
        weights.

    verbose : int, default=0
        If > 0, print the cost every 1000 epochs.

    engine : {"auto", "numpy", "numba"}, default="auto"
        Implementation of the training loop; both train the same model, every option included,
        up to rounding. ``"numpy"`` is pure NumPy; ``"numba"`` runs the training steps as
        compiled code (much faster on small data and with mini-batches; a sparse ``X`` is
        trained on as a dense copy) and needs the optional dependency numba
        (``pip install "skreg[numba]"``). numba compiles it once per environment (15 to 25 s,
        then cached), so ``"auto"`` compiles only fits long enough to repay that: those the
        NumPy engine would take about 30 s or more to train, estimated from the size of the
        problem (epochs, rows per step, units and weights), never from the other parameters;
        and never full-batch steps over ``10**7`` products (``n_samples * n_weights``), where
        both engines spend their time in the same matrix products, nor sparse ``X`` of more
        than ``2**16`` entries, which keeps its sparse products. A first fit is thus never
        slower for having numba installed; for many short fits (a grid search on small data),
        ``"numba"`` pays the compilation once and then trains several times faster (see the
        user guide).
        Ignored by ``"lbfgs"``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (for multilabel targets, the label indices).

    coefs_ : list of ndarray
        ``coefs_[i]`` is the weight matrix of shape ``(n_in, n_out)`` from layer ``i`` to ``i + 1``.

    intercepts_ : list of ndarray
        ``intercepts_[i]`` is the bias vector of layer ``i + 1``.

    loss_ : float
        Cost (cross-entropy plus penalty) at the last epoch.

    loss_curve_ : list of float
        Cost at each epoch, computed before that epoch's update in full batch (the mean over its
        mini-batches otherwise); under dropout, the cost of the thinned networks that trained.

    best_loss_ : float or None
        Lowest cost of ``loss_curve_``; ``None`` with early stopping.

    validation_scores_ : list of float or None
        Validation accuracy at each epoch with early stopping, else ``None``.

    best_validation_score_ : float or None
        Best validation accuracy with early stopping (its weights are the fitted ones), else
        ``None``.

    n_iter_ : int
        Number of epochs run (L-BFGS iterations for ``"lbfgs"``).

    n_layers_ : int
        Number of layers, input and output layers included.

    n_outputs_ : int
        Number of output units: 1 for binary targets, ``n_classes`` otherwise.

    out_activation_ : str
        ``"logistic"`` for binary and multilabel targets, ``"softmax"`` otherwise.

    optimizer_ : object or None
        The optimizer and its state (velocities, Adam moments), which ``partial_fit`` and
        ``warm_start`` continue from; ``None`` for ``"lbfgs"``.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : scikit-learn's MLP (L2 via ``alpha``, no dropout).

    Notes
    -----
    ``fit`` sets the fitted attributes only once training has succeeded: if it fails or is
    interrupted (``KeyboardInterrupt``), the estimator keeps the previous fit's model, or stays
    unfitted.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skreg import RegularizedMLPClassifier
    >>> X, y = make_moons(n_samples=200, noise=0.2, random_state=0)
    >>> clf = make_pipeline(
    ...     StandardScaler(),
    ...     RegularizedMLPClassifier(lambd=0.1, keep_prob=0.9, max_iter=2000, random_state=0),
    ... )
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)

    An L1 penalty makes weights exactly zero:

    >>> sparse_net = RegularizedMLPClassifier(
    ...     penalty="l1", lambd=1.0, max_iter=2000, random_state=0
    ... ).fit(StandardScaler().fit_transform(X), y)
    >>> sparse_net.n_zero_coefs_ > 0
    True

    Adam on mini-batches, with early stopping:

    >>> adam = RegularizedMLPClassifier(
    ...     solver="adam", learning_rate=0.01, batch_size=32, early_stopping=True, random_state=0
    ... ).fit(StandardScaler().fit_transform(X), y)
    >>> adam.n_iter_ < adam.max_iter
    True
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "lambd": [Interval(Real, 0, None, closed="left")],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"})],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "keep_prob": [Interval(Real, 0, 1, closed="right"), "array-like"],
        "max_norm": [None, Interval(Real, 0, None, closed="neither")],
        "input_noise": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"gd", "momentum", "adam", "lbfgs"})],
        "batch_size": [None, Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [None, Interval(Real, 0, None, closed="left")],
        "class_weight": [None, StrOptions({"balanced"}), dict],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "engine": [StrOptions({"auto", "numpy", "numba"})],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(20, 3),
        lambd=0.0,
        penalty="l2",
        l1_ratio=0.5,
        keep_prob=1.0,
        max_norm=None,
        input_noise=0.0,
        solver="gd",
        batch_size=None,
        learning_rate=0.3,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_iter=30000,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=100,
        tol=None,
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        engine="auto",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.lambd = lambd
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.keep_prob = keep_prob
        self.max_norm = max_norm
        self.input_noise = input_noise
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.engine = engine

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to data ``X`` and target ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, finite values only; float32 data is trained in float32.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (at least two distinct ones), or a 0/1 indicator matrix of labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights: the cost becomes the weighted mean of the samples' losses.

        Returns
        -------
        self : object
            The fitted estimator.

        Notes
        -----
        ``fit`` is all or nothing: when it raises (invalid input, divergence) or is interrupted
        (``KeyboardInterrupt``), the estimator is left as it was before the call, unfitted if it
        was, otherwise with its previous model intact; fitted attributes are never half-updated.
        The same holds for ``partial_fit``.
        """
        return self._fit_or_restore(X, y, sample_weight, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on ``X, y``, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Its targets.

        classes : array-like of shape (n_classes,), default=None
            All the classes, required at the first call (unless ``y`` is a multilabel indicator
            matrix); later calls may omit it.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the chunk's samples.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if self.solver == "lbfgs":
            raise ValueError(
                "partial_fit is not available with solver='lbfgs', which optimises the whole "
                "data at once; use solver='gd', 'momentum' or 'adam'."
            )
        return self._fit_or_restore(X, y, sample_weight, incremental=True, classes=classes)

    def _fit_or_restore(self, *args, **kwargs):
        """``_fit``, or on any exception the estimator's state from before the call."""
        state_before = vars(self).copy()
        try:
            return self._fit(*args, **kwargs)
        except BaseException:
            # validate_data records n_features_in_ (and feature names) before training starts.
            vars(self).clear()
            vars(self).update(state_before)
            raise

    def _fit(self, X, y, sample_weight, *, incremental, classes=None):
        continuing = hasattr(self, "coefs_") and (incremental or self.warm_start)
        hidden_layer_sizes = self._validated_hidden_layer_sizes()
        keep_probs = self._validated_keep_probs(len(hidden_layer_sizes))
        if isinstance(self.batch_size, bool):  # an Integral to scikit-learn's validation
            raise TypeError(f"batch_size must be an int >= 1 or None; got {self.batch_size!r}.")
        X, y = _validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            dtype=self.coefs_[0].dtype if continuing else (np.float64, np.float32),
            multi_output=True,
            reset=not continuing,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        classes_, Y, loss = self._encoded_targets(y, classes, continuing, incremental)
        Y = Y.astype(X.dtype, copy=False)
        regularization = self._regularization(keep_probs, X)
        X = training_matrix(X)
        sample_weight = self._validated_sample_weight(sample_weight, X)
        if self._trains_on_a_weighted_set(X, regularization):
            rows, sample_weight = weighted_set(X, Y, sample_weight)
            X, Y, y = X[rows], Y[rows], y[rows]
        sample_weight = self._combined_sample_weight(sample_weight, X, y, classes_, incremental)

        rng = check_random_state(self.random_state)
        layer_units = [X.shape[1], *hidden_layer_sizes, Y.shape[1]]
        if continuing:
            params = Parameters.from_arrays(self.coefs_, self.intercepts_)
            if params.layer_units != layer_units:
                raise ValueError(
                    f"Cannot continue training a network with layers {params.layer_units} on "
                    f"data and parameters that need layers {layer_units}."
                )
        else:
            params = init_parameters(layer_units, rng, X.dtype)

        if self.solver == "lbfgs":
            loss_curve, n_iter, optimizer, stopper = self._train_lbfgs(
                X, Y, params, loss, regularization, sample_weight
            )
        else:
            loss_curve, n_iter, optimizer, stopper = self._train_epochs(
                X, Y, y, params, loss, regularization, sample_weight, rng, incremental, continuing
            )
        self._warn_if_not_converged(loss_curve, stopper, incremental)
        if continuing:
            loss_curve, n_iter = self.loss_curve_ + loss_curve, self.n_iter_ + n_iter

        # Set attributes only once training has succeeded, so a failed fit leaves no half model.
        early = isinstance(stopper, ValidationStopper)
        self.classes_ = classes_
        self.coefs_ = params.coefs
        self.intercepts_ = params.intercepts
        self.loss_curve_ = loss_curve
        self.loss_ = loss_curve[-1]
        self.best_loss_ = None if early else min(loss_curve)
        self.validation_scores_ = stopper.scores if early else None
        self.best_validation_score_ = stopper.best_score if early else None
        self.n_iter_ = n_iter
        self.optimizer_ = optimizer
        self.n_layers_ = len(layer_units)
        self.n_outputs_ = Y.shape[1]
        self.out_activation_ = loss
        return self

    def _trains_on_a_weighted_set(self, X, regularization):
        """Whether training is deterministic and full-batch, so that it sees only the weighted
        set of distinct rows (see ``weighted_set``): no dropout, no input noise."""
        full_batch = self.solver == "lbfgs" or self.batch_size is None
        full_batch = full_batch or self.batch_size >= X.shape[0]
        return full_batch and not (regularization.dropout or regularization.input_noise)

    def _validated_hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, np.ndarray):
            sizes = sizes.tolist()
        # Taken element by element: a nested or ragged sequence is refused, not flattened.
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not sizes or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a non-empty sequence of integers >= 1 (or one such "
                f"integer); got {self.hidden_layer_sizes!r}."
            )
        return [int(s) for s in sizes]

    def _validated_keep_probs(self, n_hidden):
        if isinstance(self.keep_prob, Real):
            return (float(self.keep_prob),) * n_hidden
        try:
            keep_probs = np.asarray(self.keep_prob, dtype=float)
        except (TypeError, ValueError):
            keep_probs = np.empty(0)
        if keep_probs.shape != (n_hidden,) or not ((keep_probs > 0) & (keep_probs <= 1)).all():
            raise ValueError(
                "keep_prob must be a float in (0, 1] or a sequence of such floats, one per "
                f"hidden layer ({n_hidden} here); got {self.keep_prob!r}."
            )
        return tuple(keep_probs.tolist())

    def _encoded_targets(self, y, classes, continuing, incremental):
        """``classes_``, the 0/1 target matrix ``Y`` (one column for binary targets) and the
        output activation (and loss): "logistic" for binary and multilabel, else "softmax"."""
        try:
            check_classification_targets(y)
            target_type = type_of_target(y)
        except TypeError as error:  # its first step sorts the labels
            raise _unsortable_labels("y", error) from error
        if target_type == "multiclass-multioutput":
            raise ValueError(
                "y must be 1-D class labels or a 0/1 multilabel indicator matrix; "
                "multiclass-multioutput targets are not supported."
            )
        if target_type == "multilabel-indicator":
            classes_ = np.arange(y.shape[1])
        elif classes is not None:
            classes_ = _sorted_labels(classes, "classes")
        elif continuing and incremental:
            classes_ = self.classes_
        elif incremental:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: later chunks may "
                "contain classes this one lacks."
            )
        else:
            classes_ = _sorted_labels(y, "y")
        if continuing and not np.array_equal(classes_, self.classes_):
            raise ValueError(
                f"classes {classes_.tolist()} differ from those of the previous fit, "
                f"{self.classes_.tolist()}: warm_start and partial_fit continue training on the "
                "same classes."
            )
        if target_type == "multilabel-indicator":
            return classes_, np.asarray(y, dtype=float), "logistic"
        unknown = np.setdiff1d(_sorted_labels(y, "y"), classes_, assume_unique=True)
        if unknown.size:
            raise ValueError(f"y contains labels not in classes: {unknown.tolist()}.")
        if len(classes_) < 2:
            raise ValueError(
                "y must contain at least 2 classes to train a classifier; "
                f"got only one class: {classes_.tolist()[0]!r}."
            )
        Y = LabelBinarizer().fit(classes_).transform(y).astype(float)
        return classes_, Y, "logistic" if len(classes_) == 2 else "softmax"

    def _validated_sample_weight(self, sample_weight, X):
        """``sample_weight`` checked and in the dtype of ``X``; None if not given."""
        if sample_weight is None:
            return None
        try:
            return _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
        except (TypeError, ValueError) as error:
            if "sample_weight" in str(error) or "Sample weights" in str(error):
                raise
            raise type(error)(f"sample_weight is not an array of numbers: {error}") from error

    def _combined_sample_weight(self, sample_weight, X, y, classes_, incremental):
        """Per-sample weights from ``sample_weight`` and ``class_weight``; None if all are 1.

        ``"balanced"`` class weights come from the classes' total sample weights, so that a
        weight of ``k`` counts as ``k`` repeated rows. ``fit`` needs two classes of positive
        weight; a chunk of ``partial_fit`` may hold one."""
        if self.class_weight is None:
            weights = sample_weight
        elif y.ndim == 2:  # multilabel: one weight per label column, multiplied
            self._check_class_weight(classes_)
            class_weights = compute_sample_weight(self.class_weight, y).astype(X.dtype)
            weights = class_weights if sample_weight is None else sample_weight * class_weights
        else:
            self._check_class_weight(classes_)
            indices = np.searchsorted(classes_, y)
            if self.class_weight == "balanced":
                totals = np.bincount(indices, weights=sample_weight, minlength=len(classes_))
                per_class = np.zeros(len(classes_))  # a class of no weight weighs nothing
                np.divide(totals.sum(), len(classes_) * totals, out=per_class, where=totals > 0)
            else:
                per_class = np.array([self.class_weight.get(c, 1.0) for c in classes_.tolist()])
            class_weights = per_class.astype(X.dtype)[indices]
            with np.errstate(over="ignore"):  # an infinite product fails the check below
                weights = class_weights if sample_weight is None else sample_weight * class_weights
        if weights is None:
            return None
        with np.errstate(over="ignore"):
            total = weights.sum()
        if not 0 < total < np.inf:
            raise ValueError(
                "sample_weight (times class_weight) must have a positive sum, finite in "
                f"{X.dtype}; got {total}. Divide the weights by a constant."
            )
        if not incremental and y.ndim == 1 and np.unique(y[weights > 0]).size < 2:
            raise ValueError(
                "Only one class has samples of positive sample_weight (times class_weight): "
                f"{y[weights > 0][0]!r}. A classifier needs at least 2 classes to train on."
            )
        return None if (weights == 1).all() else weights

    def _check_class_weight(self, classes_):
        if not isinstance(self.class_weight, dict):
            return
        unknown = [label for label in self.class_weight if label not in set(classes_.tolist())]
        if unknown:
            raise ValueError(
                f"class_weight has labels that are not classes: {unknown!r}; the classes are "
                f"{classes_.tolist()!r}."
            )
        if not all(
            isinstance(w, Real) and np.isfinite(w) and w >= 0 for w in self.class_weight.values()
        ):
            raise ValueError(
                f"class_weight values must be finite numbers >= 0; got {self.class_weight!r}."
            )

    def _regularization(self, keep_probs, X):
        l1_share = {"l2": 0.0, "l1": 1.0, "elasticnet": self.l1_ratio}[self.penalty]
        penalty = Penalty(l2=self.lambd * (1 - l1_share), l1=self.lambd * l1_share)
        if self.input_noise and sp.issparse(X):
            raise ValueError(
                "input_noise needs dense X: noise on every entry would make sparse X dense. "
                "Convert X with X.toarray() if it fits in memory, or set input_noise=0."
            )
        regularization = Regularization(penalty, keep_probs, self.input_noise, self.max_norm)
        if self.solver == "lbfgs":
            reasons = [
                reason
                for reason, present in [
                    ("keep_prob < 1 (dropout is random)", regularization.dropout),
                    ("input_noise > 0 (noise is random)", self.input_noise > 0),
                    ("an L1 penalty (not differentiable at 0)", penalty.l1 > 0),
                    ("max_norm (a constraint, not a cost)", self.max_norm is not None),
                ]
                if present
            ]
            if reasons:
                raise ValueError(
                    "solver='lbfgs' minimises a deterministic, smooth cost, which rules out "
                    f"{'; '.join(reasons)}. Use solver='gd', 'momentum' or 'adam'."
                )
        return regularization

    def _optimizer(self, params, previous):
        hyperparameters = {
            "gd": {},
            "momentum": {"momentum": self.momentum},
            "adam": {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon},
        }[self.solver]
        return make_optimizer(
            self.solver,
            params.flat.size,
            params.flat.dtype,
            previous,
            learning_rate=self.learning_rate,
            **hyperparameters,
        )

    def _train_epochs(
        self, X, Y, y, params, loss, regularization, sample_weight, rng, incremental, continuing
    ):
        optimizer = self._optimizer(params, self.optimizer_ if continuing else None)
        stopper = None
        if self.early_stopping and not incremental:
            X, X_val, Y, Y_val, sample_weight, sample_weight_val = self._validation_split(
                X, Y, y, sample_weight, rng
            )
            stopper = ValidationStopper(
                X_val, Y_val, params, loss, self.tol or 0.0, self.n_iter_no_change,
                sample_weight_val,
            )  # fmt: skip
        elif self.tol is not None and not incremental:
            stopper = TrainingLossStopper(self.tol, self.n_iter_no_change)
        max_iter = 1 if incremental else self.max_iter
        train = training_function(self.engine, X, params.layer_units, self.batch_size, max_iter)
        loss_curve = train(
            X,
            Y,
            params,
            optimizer,
            loss=loss,
            regularization=regularization,
            max_iter=max_iter,
            stream=training_stream(rng),
            sample_weight=sample_weight,
            batch_size=self.batch_size,
            stopper=stopper,
            verbose=self.verbose,
        )
        if isinstance(stopper, ValidationStopper):
            params.flat[...] = stopper.best_params
        return loss_curve, len(loss_curve), optimizer, stopper

    def _validation_split(self, X, Y, y, sample_weight, rng):
        """Hold out ``validation_fraction`` of the data, stratified when every class can be;
        returns the training and validation data and their sample weights (None if unweighted).
        """
        n_val = int(np.ceil(self.validation_fraction * X.shape[0]))
        if n_val >= X.shape[0]:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} holds out all {X.shape[0]} "
                "samples for early stopping and leaves none to train on; use a smaller "
                "validation_fraction or more data."
            )
        _, counts = np.unique(y, return_counts=True)
        can_stratify = y.ndim == 1 and counts.min() >= 2 and n_val >= len(counts)
        arrays = [X, Y] if sample_weight is None else [X, Y, sample_weight]
        X, X_val, Y, Y_val, *weights = train_test_split(
            *arrays,
            test_size=n_val,
            stratify=y if can_stratify else None,
            random_state=rng,
        )
        if not weights:
            return X, X_val, Y, Y_val, None, None
        for part, name in [(weights[0], "training"), (weights[1], "validation")]:
            if not part.sum() > 0:
                raise ValueError(
                    f"early_stopping left the {name} split with no sample of positive "
                    "sample_weight (times class_weight); use another validation_fraction, "
                    "another random_state or positive weights."
                )
        return X, X_val, Y, Y_val, *weights

    def _train_lbfgs(self, X, Y, params, loss, regularization, sample_weight):
        loss_curve, result = train_lbfgs(
            X,
            Y,
            params,
            loss=loss,
            penalty=regularization.penalty,
            max_iter=self.max_iter,
            tol=self.tol,
            sample_weight=sample_weight,
        )
        n_iter = max(_check_optimize_result("lbfgs", result, self.max_iter), 1)
        return loss_curve or [float(result.fun)], n_iter, None, None

    def _warn_if_not_converged(self, loss_curve, stopper, incremental):
        if incremental or self.solver == "lbfgs":
            return
        if stopper is not None and not stopper.stopped:
            warnings.warn(
                f"Training ran all max_iter={self.max_iter} epochs without meeting its stopping "
                "criterion (tol / early stopping); increase max_iter.",
                ConvergenceWarning,
                stacklevel=_FIT_WARNING_STACKLEVEL,
            )
        if loss_curve[-1] > loss_curve[0]:
            warnings.warn(
                f"The cost rose during training, from {loss_curve[0]:.4g} to {loss_curve[-1]:.4g}: "
                f"learning_rate={self.learning_rate} is probably too large for this data (units "
                "whose ReLU input stays negative stop learning). Use a smaller learning_rate or "
                "scale the inputs.",
                ConvergenceWarning,
                stacklevel=_FIT_WARNING_STACKLEVEL,
            )

    @property
    def n_zero_coefs_(self):
        """Number of weights (coefficients, not intercepts) that are exactly zero.

        An L1 or elastic-net penalty makes weights exactly zero; L2 only makes them small.
        """
        check_is_fitted(self)
        return int(sum(np.count_nonzero(W == 0) for W in self.coefs_))

    def _map_logits(self, X, output):
        """``output(logits)`` for the rows of ``X``, computed chunk of rows by chunk of rows.

        A chunk's temporaries (its inputs, activations and those of ``output``) fit in
        ``PREDICT_WORKING_MEMORY_MB`` MiB, or in scikit-learn's ``working_memory`` if that is
        smaller, so memory beyond the result does not grow with the number of rows.
        """
        check_is_fitted(self)
        X = _validate_data(
            self, X, reset=False, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32)
        )
        if sp.issparse(X):
            X = X.tocsr()
        dtype = np.result_type(X.dtype, self.coefs_[0].dtype)
        params = Parameters.from_arrays(self.coefs_, self.intercepts_, dtype)
        n_units = sum(b.shape[0] + 1 for b in self.intercepts_)
        row_bytes = dtype.itemsize * (2 * X.shape[1] + 2 + 2 * n_units) + 8 * 8 * len(self.classes_)
        working_memory = min(PREDICT_WORKING_MEMORY_MB, get_config()["working_memory"])
        chunk_rows = min(get_chunk_n_rows(row_bytes, working_memory=working_memory), X.shape[0])
        # Buffers reused by every chunk: the inputs with their column of ones, the layer outputs.
        X1 = None if sp.issparse(X) else np.ones((chunk_rows, X.shape[1] + 1), dtype=dtype)
        outputs = LayerOutputs.allocate(chunk_rows, params.layer_units, dtype)

        def chunk_output(rows):
            n_rows = rows.stop - rows.start
            if X1 is None:
                inputs = with_ones_column(X[rows])
            else:
                inputs = X1[:n_rows]
                inputs[:, :-1] = X[rows]
            return output(self._chunk_logits(inputs, params, outputs.rows(n_rows)))

        chunks = gen_batches(X.shape[0], chunk_rows)
        first = next(chunks)
        head = chunk_output(first)
        result = np.empty((X.shape[0], *head.shape[1:]), dtype=head.dtype)
        result[first] = head
        for rows in chunks:
            result[rows] = chunk_output(rows)
        return result

    def _chunk_logits(self, X1, params, outputs):
        """Logits of the rows of ``X1`` (inputs with their column of ones), in ``outputs``; rows
        whose evaluation overflows are evaluated again at a safe scale (see
        ``_logits_at_safe_scale``)."""
        with np.errstate(over="ignore", invalid="ignore"):
            logits = forward(X1, params.layers, outputs)
            # One cheap pass in the common case; a sum that overflows only sends the chunk to
            # the row-by-row check below.
            if np.isfinite(logits.sum()):
                return logits
        overflowed = ~np.isfinite(logits).all(axis=1)
        if overflowed.any():
            rows = X1[overflowed][:, :-1]
            rows = rows.toarray() if sp.issparse(rows) else rows
            logits[overflowed] = self._logits_at_safe_scale(rows, params)
        return logits

    def _logits_at_safe_scale(self, X, params):
        """Logits of the rows of ``X``, each row evaluated at a power-of-two scale that cannot
        overflow; logits beyond the float range saturate at the largest float.

        A ReLU network is positively homogeneous in its inputs and intercepts together,
        ``f(s x; s b) = s f(x; b)`` for ``s > 0``, and exactly so in floating point when ``s`` is a
        power of two. A row with entries beyond 1 in magnitude is scaled below 1, so huge inputs
        cannot make ``inf - inf = NaN`` inside the network, and its logits are scaled back.
        """
        dtype = params.flat.dtype
        _, exponents = np.frexp(np.abs(X).max(axis=1, keepdims=True))
        np.maximum(exponents, 0, out=exponents)
        scales = np.ldexp(np.ones(1, dtype=dtype), -exponents)
        # The intercepts are scaled too: every layer's column of ones holds the row's scale.
        X1 = with_ones_column(X * scales)
        outputs = LayerOutputs.allocate(X.shape[0], params.layer_units, dtype)
        for inputs in [X1, *outputs.hidden]:
            inputs[:, -1:] = scales
        # Only weights beyond any sensible scale can still overflow: a pre-activation at -inf is
        # clamped by ReLU to its exact limit 0, and one at +inf reaching a later layer as inf - inf
        # still raises the invalid-value warning.
        with np.errstate(over="ignore"):
            logits = forward(X1, params.layers, outputs)
            logits = np.ldexp(logits, exponents)
        largest = np.finfo(dtype).max
        return np.clip(logits, -largest, largest, out=logits)

    def decision_function(self, X):
        """Logits of the output layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For binary targets, the logit of ``classes_[1]`` (positive means ``classes_[1]``);
            otherwise one logit per class. Logits beyond the floating-point range (from inputs
            of the order of the range itself) saturate at the largest finite float.
        """
        logits = self._map_logits(X, _identity)
        return logits.ravel() if self.n_outputs_ == 1 else logits

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels (a 0/1 indicator matrix for multilabel targets).
        """
        indices = self._map_logits(X, self._predicted_indices)
        if self.out_activation_ == "logistic" and self.n_outputs_ > 1:
            return indices  # multilabel: the indicator matrix itself
        return self.classes_[indices]

    def _predicted_indices(self, logits):
        """Index in ``classes_`` of each row's class (argmax, or the sign of the one logit); for
        multilabel targets, the 0/1 indicator row."""
        if self.out_activation_ == "softmax":
            return logits.argmax(axis=1)
        if self.n_outputs_ > 1:
            return (logits > 0).astype(int)
        return (logits[:, 0] > 0).astype(np.intp)

    def predict_proba(self, X):
        """Class probabilities; dropout is never applied at prediction.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_``, in float64 whatever the
            dtype of ``X``.

        Notes
        -----
        Rows are processed in chunks: beyond the returned array, the memory used is bounded by
        ``PREDICT_WORKING_MEMORY_MB`` = 4 MiB (or by scikit-learn's ``working_memory`` setting
        if smaller; at least one row's temporaries) whatever the number of rows, for ``X`` given
        as a float64 or float32 array or CSR matrix (other inputs are first converted to one).
        """
        check_is_fitted(self)
        return self._map_logits(X, _probabilities(self.out_activation_))

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities, computed stably from the logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class, in the order of ``classes_``, in float64;
            ``-inf`` where ``predict_proba`` underflows to 0 (log-probabilities below about
            -745), so that it is the logarithm of ``predict_proba``.
        """
        check_is_fitted(self)
        return self._map_logits(X, _log_probabilities(self.out_activation_))
