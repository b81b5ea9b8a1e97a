"""RegularizedMLPClassifier: the scikit-learn estimator around the network core."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils._chunking import get_chunk_n_rows
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import LOG_PROBA_FUNCTIONS, PROBA_FUNCTIONS
from ._network import forward, gradient_descent, init_parameters

# Prediction works in chunks of rows whose temporaries fit in this many MiB (see predict_proba).
PREDICT_WORKING_MEMORY_MB = 16


def _identity(logits):
    return logits


def _class_indices(logits):
    """Index in ``classes_`` of the predicted class: the sign of a single logit, else the argmax."""
    return (logits[:, 0] > 0).astype(np.intp) if logits.shape[1] == 1 else logits.argmax(axis=1)


def _validate_data(estimator, *args, **kwargs):
    """``validate_data`` to float64 or float32 arrays.

    Its finiteness check first sums ``X``: finite entries of both signs near the float range sum to
    ``inf - inf``, which would raise a spurious invalid-value RuntimeWarning before the exact check.
    """
    with np.errstate(invalid="ignore"):
        return validate_data(estimator, *args, dtype=(np.float64, np.float32), **kwargs)


class RegularizedMLPClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron classifier with L2 regularisation and inverted dropout.

    The network is LINEAR -> RELU for every hidden layer, then LINEAR -> SIGMOID for binary
    targets or LINEAR -> SOFTMAX for more than two classes, trained by full-batch gradient descent
    on the cross-entropy plus an L2 penalty on the weights. By default it is the network of the
    deep-learning course notebook this package comes from: hidden layers of 20 and 3 units,
    30000 iterations, learning rate 0.3.

    Like any network trained by gradient descent with a fixed learning rate, it needs inputs on a
    unit scale: put a :class:`~sklearn.preprocessing.StandardScaler` in front of it.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(20, 3)
        Number of units in each hidden layer; at least one layer, every size at least 1.

    lambd : float, default=0.0
        L2 regularisation strength ``lambda``, >= 0: the cost gains
        ``lambd / (2 * n_samples) * sum_l ||W_l||_F^2`` (intercepts are not penalised).

    keep_prob : float, default=1.0
        Probability of keeping a hidden unit under inverted dropout, in (0, 1]. During ``fit`` every
        hidden layer's output is multiplied by a fresh random 0/1 mask each iteration and divided by
        ``keep_prob``; prediction never drops units. ``1.0`` disables dropout.

    learning_rate : float, default=0.3
        Step size of gradient descent, > 0.

    max_iter : int, default=30000
        Number of full-batch gradient-descent iterations.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation and the dropout masks. Pass an int for reproducible
        results; ``random_state=3`` reproduces the course notebook's initial weights.

    verbose : int, default=0
        If > 0, print the cost every 1000 iterations.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    coefs_ : list of ndarray
        ``coefs_[i]`` is the weight matrix of shape ``(n_in, n_out)`` from layer ``i`` to ``i + 1``.

    intercepts_ : list of ndarray
        ``intercepts_[i]`` is the bias vector of layer ``i + 1``.

    loss_ : float
        Cost (cross-entropy plus penalty) at the last iteration.

    loss_curve_ : list of float
        Cost at each iteration, computed before that iteration's update; under dropout it is the
        cost of the thinned network that iteration trained.

    n_iter_ : int
        Number of iterations run.

    n_layers_ : int
        Number of layers, input and output layers included.

    n_outputs_ : int
        Number of output units: 1 for binary targets, ``n_classes`` otherwise.

    out_activation_ : str
        ``"logistic"`` for binary targets, ``"softmax"`` otherwise.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : scikit-learn's MLP (L2 via ``alpha``, no dropout).

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
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "lambd": [Interval(Real, 0, None, closed="left")],
        "keep_prob": [Interval(Real, 0, 1, closed="right")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(20, 3),
        lambd=0.0,
        keep_prob=1.0,
        learning_rate=0.3,
        max_iter=30000,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.lambd = lambd
        self.keep_prob = keep_prob
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the network to data ``X`` and target ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, finite values only.

        y : array-like of shape (n_samples,)
            Class labels, at least two distinct ones.

        Returns
        -------
        self : object
            The fitted estimator.

        Notes
        -----
        ``fit`` is all or nothing: when it raises (invalid input, divergence) or is interrupted
        (``KeyboardInterrupt``), the estimator is left as it was before the call, unfitted if it
        was, otherwise with its previous model intact; fitted attributes are never half-updated.
        """
        state_before = vars(self).copy()
        try:
            return self._fit(X, y)
        except BaseException:
            # validate_data records n_features_in_ (and feature names) before training starts.
            vars(self).clear()
            vars(self).update(state_before)
            raise

    def _fit(self, X, y):
        hidden_layer_sizes = self._validated_hidden_layer_sizes()
        X, y = _validate_data(self, X, y)
        check_classification_targets(y)
        binarizer = LabelBinarizer().fit(y)
        if len(binarizer.classes_) < 2:
            raise ValueError(
                "y must contain at least 2 classes to train a classifier; "
                f"got only one class: {binarizer.classes_.tolist()[0]!r}."
            )
        Y = binarizer.transform(y).astype(X.dtype, copy=False)

        rng = check_random_state(self.random_state)
        layer_units = [X.shape[1], *hidden_layer_sizes, Y.shape[1]]
        out_activation = "logistic" if Y.shape[1] == 1 else "softmax"
        params = init_parameters(layer_units, rng, X.dtype)
        n_hidden = len(hidden_layer_sizes)
        loss_curve = gradient_descent(
            X,
            Y,
            params,
            loss=out_activation,
            lambd=self.lambd,
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            keep_probs=(self.keep_prob,) * n_hidden,
            rng=rng,
            verbose=self.verbose,
        )

        if loss_curve[-1] > loss_curve[0]:
            warnings.warn(
                f"The cost rose during training, from {loss_curve[0]:.4g} to {loss_curve[-1]:.4g}: "
                f"learning_rate={self.learning_rate} is probably too large for this data (units "
                "whose ReLU input stays negative stop learning). Use a smaller learning_rate or "
                "scale the inputs.",
                ConvergenceWarning,
                stacklevel=2,
            )
        # Set attributes only once training has succeeded, so a failed fit leaves no half model.
        self.classes_ = binarizer.classes_
        self.coefs_ = params.coefs
        self.intercepts_ = params.intercepts
        self.loss_curve_ = loss_curve.tolist()
        self.loss_ = self.loss_curve_[-1]
        self.n_iter_ = self.max_iter
        self.n_layers_ = len(layer_units)
        self.n_outputs_ = Y.shape[1]
        self.out_activation_ = out_activation
        return self

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

    def _map_logits(self, X, output):
        """``output(logits)`` for the rows of ``X``, computed chunk of rows by chunk of rows.

        A chunk's temporaries (its scaled inputs, intercepts and activations, and those of
        ``output``) fit in ``PREDICT_WORKING_MEMORY_MB`` MiB, or in scikit-learn's
        ``working_memory`` if that is smaller, so memory beyond the result does not grow with
        the number of rows. The estimator must be fitted.
        """
        X = _validate_data(self, X, reset=False)
        dtype = np.result_type(X.dtype, self.coefs_[0].dtype)
        n_units = sum(b.shape[0] for b in self.intercepts_)
        row_bytes = dtype.itemsize * (2 * X.shape[1] + 2 * n_units + 8 * len(self.classes_))
        working_memory = min(PREDICT_WORKING_MEMORY_MB, get_config()["working_memory"])
        chunks = gen_batches(X.shape[0], get_chunk_n_rows(row_bytes, working_memory=working_memory))
        first = next(chunks)
        head = output(self._forward_at_safe_scale(X[first], dtype))
        result = np.empty((X.shape[0], *head.shape[1:]), dtype=head.dtype)
        result[first] = head
        for rows in chunks:
            result[rows] = output(self._forward_at_safe_scale(X[rows], dtype))
        return result

    def _forward_at_safe_scale(self, X, dtype):
        """Logits of the rows of ``X``, each row evaluated at a power-of-two scale that cannot
        overflow; logits beyond the float range saturate at the largest float.

        A ReLU network is positively homogeneous in its inputs and intercepts together,
        ``f(s x; s b) = s f(x; b)`` for ``s > 0``, and exactly so in floating point when ``s`` is a
        power of two. A row with entries beyond 1 in magnitude is scaled below 1, so huge inputs
        cannot make ``inf - inf = NaN`` inside the network, and its logits are scaled back; rows
        whose logits are representable get the very same bits as the unscaled evaluation.
        """
        _, exponents = np.frexp(np.abs(X).max(axis=1, keepdims=True))
        np.maximum(exponents, 0, out=exponents)
        scales = np.ldexp(np.ones(1, dtype=dtype), -exponents)
        intercepts = [scales * b for b in self.intercepts_]
        activations = [np.empty((X.shape[0], b.shape[0]), dtype=dtype) for b in self.intercepts_]
        # Only weights beyond any sensible scale can still overflow: a pre-activation at -inf is
        # clamped by ReLU to its exact limit 0, and one at +inf reaching a later layer as inf - inf
        # still raises the invalid-value warning.
        with np.errstate(over="ignore"):
            logits = forward(X * scales, self.coefs_, intercepts, activations)
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
        check_is_fitted(self)
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
        y : ndarray of shape (n_samples,)
            Predicted labels.
        """
        check_is_fitted(self)
        indices = self._map_logits(X, _class_indices)
        return self.classes_[indices]

    def predict_proba(self, X):
        """Class probabilities; dropout is never applied at prediction.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_``.

        Notes
        -----
        Rows are processed in chunks: beyond the returned array, the memory used is bounded by
        ``PREDICT_WORKING_MEMORY_MB`` = 16 MiB (or by scikit-learn's ``working_memory`` setting
        if smaller; at least one row's temporaries) whatever the number of rows, for ``X`` given
        as a float64 or float32 NumPy array (other inputs are first converted to one).
        """
        check_is_fitted(self)
        return self._map_logits(X, PROBA_FUNCTIONS[self.out_activation_])

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities, computed stably from the logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class, in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self._map_logits(X, LOG_PROBA_FUNCTIONS[self.out_activation_])
