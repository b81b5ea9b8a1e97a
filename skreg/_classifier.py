"""RegularizedMLPClassifier: the shared estimator core (:mod:`skreg._estimator`) with class
targets, class weights and class predictions."""

from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.preprocessing import label_binarize
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted

from ._base import PROBA_FUNCTIONS, identity
from ._estimator import (
    BaseRegularizedMLP,
    available_if,
    in_training_dtype,
    partial_fit_available,
)
from ._stopping_rules import accuracy_scorer


class RegularizedMLPClassifier(ClassifierMixin, BaseRegularizedMLP):
    """Multi-layer perceptron classifier with L2/L1 penalties, dropout and other regularisers.

    The network is LINEAR -> ACTIVATION (ReLU by default) for every hidden layer, then
    LINEAR -> SIGMOID for binary (and multilabel) targets or LINEAR -> SOFTMAX for more than two
    classes, trained on the cross-entropy plus a weight penalty. By default it is the network of
    the deep-learning course notebook this package comes from: hidden layers of 20 and 3 units,
    full-batch gradient descent, 30000 iterations, learning rate 0.3.

    Like any network trained by gradient descent with a fixed learning rate, it needs inputs on a
    unit scale: put a :class:`~sklearn.preprocessing.StandardScaler` in front of it.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(20, 3)
        Number of units in each hidden layer; at least one layer, every size at least 1.

    activation : {"relu", "tanh", "logistic", "identity", "leaky_relu"}, default="relu"
        Activation of every hidden layer, as in scikit-learn's MLPClassifier: ``"relu"``,
        ``max(z, 0)`` (the course's); ``"tanh"``; ``"logistic"``, ``1 / (1 + exp(-z))``;
        ``"identity"``, ``z`` (the network is then a linear classifier); and ``"leaky_relu"``,
        ``z`` for ``z > 0`` and ``0.01 z`` otherwise (the slope is
        ``skreg._base.LEAKY_RELU_SLOPE``), a ReLU whose units cannot die. The output layer is
        sigmoid or softmax whatever the activation. Every activation starts from the same
        initialisation, the course's; the user guide compares it with others.

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
        Probability of keeping a hidden unit under inverted dropout, in [2**-32, 1]: one value
        for every hidden layer, or one per hidden layer. During training each hidden layer's
        output is multiplied by a fresh random 0/1 mask at every step and divided by its
        ``keep_prob``; prediction never drops units. ``1.0`` disables dropout.

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
        mini-batches of that size, reshuffled every epoch (see ``shuffle``). Ignored by
        ``"lbfgs"``.

    learning_rate : float, default=0.3
        Step size, > 0. The default suits ``"gd"``; Adam usually wants about 0.001 to 0.01.

    momentum : float, default=0.9
        Momentum of the ``"momentum"`` solver, in [0, 1).

    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of Adam's moment estimates, in [0, 1).

    epsilon : float, default=1e-8
        Adam's numerical-stability constant.

    learning_rate_schedule : {"constant", "invscaling", "adaptive"}, default="constant"
        How the step size changes during training (scikit-learn's ``learning_rate`` schedules;
        here ``learning_rate`` stays the initial step size). ``"constant"``: ``learning_rate``
        throughout. ``"invscaling"``: after each epoch, ``learning_rate / (t + 1) ** power_t``,
        where ``t`` is the number of training samples seen so far (their total weight when
        weighted). ``"adaptive"``: ``learning_rate`` as long as the training cost keeps
        decreasing (the validation score, see ``scoring``, increasing, with
        ``early_stopping``); each time
        ``n_iter_no_change + 1`` epochs in a row fail to improve it by ``tol`` (``tol=None``
        counts as 0), the step size is divided by 5, and training stops when it is already at
        most 1e-6. Applies to every solver but ``"lbfgs"``, Adam included (which scikit-learn
        does not schedule: keep ``"constant"`` to reproduce its Adam). The step size and the
        samples seen are optimizer state: ``warm_start`` and ``partial_fit`` continue the
        schedule (it restarts from the new settings if ``learning_rate``, the schedule or
        ``power_t`` changed).

    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule, >= 0.

    nesterovs_momentum : bool, default=False
        Whether the ``"momentum"`` solver takes Nesterov's step, as scikit-learn's does
        (``params += momentum * v - step_size * gradient`` with the updated velocity ``v``)
        rather than the heavy-ball step ``params += v``. Only used by ``"momentum"``.

    shuffle : bool, default=True
        Whether mini-batches are reshuffled every epoch; False takes them in the data's order
        and draws nothing from the training stream for it. Only used with mini-batches.

    max_iter : int, default=30000
        Maximum number of epochs: passes over the training data (one step each in full batch).
        For ``"lbfgs"``, maximum number of L-BFGS iterations.

    max_fun : int, default=15000
        Maximum number of evaluations of the cost (and its gradient) by ``"lbfgs"``, as in
        scikit-learn's MLPClassifier; ignored by the other solvers.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data, stratified by class (each class
        needs at least 2 samples, and the held-out rows at least 2 and as many as the classes),
        and stop when its score (see ``scoring``) has not improved by ``tol`` for more than
        ``n_iter_no_change`` epochs; the weights of the best epoch are restored. Not used by
        ``"lbfgs"``; ``partial_fit`` is not available with it.

    scoring : str, callable or None, default="loss"
        The score early stopping monitors on the held-out rows, weighted by their sample (and
        class) weights, higher being better. ``"loss"``: minus their mean cross-entropy (no
        penalty), as :class:`~sklearn.ensemble.HistGradientBoostingClassifier` monitors by
        default. Unlike the accuracy it keeps improving while the predicted probabilities do:
        it stops later and, in the user guide's comparison, at an equal or better test
        accuracy, and it serves strongly weighted classes, whose weighted accuracy saturates
        once the heavy classes are right. ``None``: the accuracy, as MLPClassifier's early
        stopping. A scorer name (``"balanced_accuracy"``, ``"roc_auc"``, ...; see
        :func:`sklearn.metrics.get_scorer_names`) or a callable ``scorer(estimator, X, y)``
        rates the estimator with each epoch's weights, at the cost of a prediction per epoch
        (a callable with a ``sample_weight`` keyword receives the held-out rows' weights); a
        score of NaN stops the fit with a ValueError.

    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping, in (0, 1): of the distinct rows
        when full-batch training merges repeated ones (see the user guide), so that no copy of
        a validation row is trained on.

    n_iter_no_change : int or np.inf, default=100
        Patience, in epochs, of early stopping and of the ``tol`` stop; ``np.inf`` never stops
        early. (Larger than scikit-learn's 10 because a full-batch epoch is a single small
        step.)

    tol : float or None, default=None
        Improvement threshold. With ``early_stopping``: of the validation score (see
        ``scoring``; ``None`` counts any improvement). Without: if set, training stops once the
        training cost has not decreased by ``tol`` for more than ``n_iter_no_change`` epochs (for
        ``"lbfgs"``, it is the gradient tolerance); ``None`` runs all ``max_iter`` epochs, as the
        course does (``"lbfgs"``: until SciPy's default gradient tolerance).

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the cost, as in scikit-learn's linear models; ``"balanced"``
        weighs classes inversely to their frequency, ``n / (n_classes * n_c)``, where ``n`` and
        ``n_c`` are total sample weights (so a sample of weight ``k`` counts as ``k`` samples);
        ``partial_fit`` balances each chunk by its own totals. Multiplies ``sample_weight``.
        For multilabel targets, ``"balanced"`` balances each label's 0s and 1s and multiplies
        the weights of the labels (a dict is refused there).

    warm_start : bool, default=False
        If True, ``fit`` starts from the previous fit's weights (and optimizer state) instead of a
        new initialisation.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation and the validation split, and through them the training
        stream (SFC64 generators, described in the user guide) that draws the dropout masks, the
        input noise and the mini-batch order, identically in both engines. Pass an int for
        reproducible results; ``random_state=3`` reproduces the course notebook's initial
        weights.

    verbose : int, default=0
        If > 0, print the cost every 1000 epochs (not with ``"lbfgs"``). For a progress bar or a
        score per epoch, use scikit-learn's callbacks (scikit-learn 1.9 and later):
        ``set_callbacks`` with ``sklearn.callback.ProgressBar`` or ``ScoringMonitor`` (see the
        user guide).

    engine : {"auto", "compiled", "numpy"}, default="auto"
        Implementation of the training loop; both train the same model, every option included,
        up to rounding, from the same random numbers. ``"compiled"`` runs it as compiled code
        built when skreg is installed (several times faster; a sparse ``X`` is trained on as a
        dense copy); ``"numpy"`` is pure NumPy, the reference. ``"auto"`` trains on the compiled
        engine whenever it is built, whatever the other parameters, except on sparse ``X`` of
        more than ``2**16`` entries, which keeps its sparse products on NumPy; where the
        compiled engine is not built (no C compiler at install time), ``"auto"`` trains on
        NumPy and warns once, and ``"compiled"`` raises. ``"numba"``, the compiled engine's
        former name, is a deprecated alias of ``"compiled"``.
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
        mini-batches otherwise); under dropout, the cost of the thinned networks that trained;
        for ``"lbfgs"``, the cost after each iteration. With ``warm_start`` and ``partial_fit``,
        the history of every fit continued from, as in scikit-learn: the last ``n_iter_`` entries
        are those of the epochs since ``fit``.

    best_loss_ : float or None
        Lowest cost of ``loss_curve_``; ``None`` with early stopping.

    validation_scores_ : list of float or None
        Validation score (see ``scoring``) at each epoch with early stopping, else ``None``;
        like ``loss_curve_``, the history of every fit continued from.

    best_validation_score_ : float or None
        Best validation score of the latest fit with early stopping (its weights are the fitted
        ones), else ``None``.

    n_iter_ : int
        Number of epochs run by the latest call to ``fit`` (L-BFGS iterations for
        ``"lbfgs"``), as in scikit-learn, plus one for each ``partial_fit`` since.

    n_layers_ : int
        Number of layers, input and output layers included.

    n_outputs_ : int
        Number of output units: 1 for binary targets, ``n_classes`` otherwise.

    out_activation_ : str
        ``"logistic"`` for binary and multilabel targets, ``"softmax"`` otherwise.

    keep_probs_ : ndarray of shape (n_hidden_layers,)
        Keep probability of each hidden layer in the latest training call (``keep_prob`` as
        fitted): Monte-Carlo dropout (``return_std=True``) draws its masks with these.

    optimizer_ : object or None
        The optimizer and its state (velocities, Adam moments, the current ``step_size`` and the
        ``samples_seen``), which ``partial_fit`` and ``warm_start`` continue from; ``None`` for
        ``"lbfgs"``.

    t_ : int or float
        Number of training samples the solver has seen, over the epochs of every fit continued
        from, as MLPClassifier's ``t_`` (the "invscaling" schedule reads it): their total sample
        weight when weighted; 0 for ``"lbfgs"``.

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
        **BaseRegularizedMLP._parameter_constraints,
        "class_weight": [None, StrOptions({"balanced"}), dict],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(20, 3),
        activation="relu",
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
        learning_rate_schedule="constant",
        power_t=0.5,
        nesterovs_momentum=False,
        shuffle=True,
        max_iter=30000,
        max_fun=15000,
        early_stopping=False,
        scoring="loss",
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
        self.activation = activation
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
        self.learning_rate_schedule = learning_rate_schedule
        self.power_t = power_t
        self.nesterovs_momentum = nesterovs_momentum
        self.shuffle = shuffle
        self.max_iter = max_iter
        self.max_fun = max_fun
        self.early_stopping = early_stopping
        self.scoring = scoring
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
        tags.classifier_tags.multi_label = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to data ``X`` and target ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, finite values only; float32 data is trained in float32.

        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_labels)
            Class labels (at least two distinct ones), or a 0/1 indicator matrix of labels
            (dense or sparse; the predictions are dense).

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

    @available_if(partial_fit_available)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for one epoch on ``X, y``, continuing from the current weights.

        The arguments are in MLPClassifier's order: ``sample_weight``, then ``classes``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Its targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the chunk's samples.

        classes : array-like of shape (n_classes,), default=None
            All the classes, required at the first call (unless ``y`` is a multilabel indicator
            matrix); later calls may omit it, or repeat them (``classes_`` keeps the first
            call's array).

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit_or_restore(X, y, sample_weight, incremental=True, classes=classes)

    def _encoded_targets(self, y, classes, continuing, incremental):
        """``{"classes_": classes_}``, the 0/1 target matrix ``Y`` (one column for binary
        targets) and the output activation (and loss): "logistic" for binary and multilabel,
        else "softmax"."""
        labels = _sorted_labels(y, "y")  # first: it refuses unsortable labels by name
        check_classification_targets(y)
        target_type = type_of_target(y)
        if target_type == "multiclass-multioutput":
            raise ValueError(
                "y must be 1-D class labels or a 0/1 multilabel indicator matrix; "
                "multiclass-multioutput targets are not supported."
            )
        if target_type == "multilabel-indicator":
            labels = None
        if labels is None:
            classes_ = np.arange(y.shape[1])
        elif classes is not None:
            classes_ = _validated_classes(classes)
        elif continuing and incremental:
            classes_ = self.classes_
        elif incremental:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: later chunks may "
                "contain classes this one lacks."
            )
        else:
            classes_ = labels
        if continuing and not np.array_equal(classes_, self.classes_):
            raise ValueError(
                f"classes {classes_.tolist()} differ from those of the previous fit, "
                f"{self.classes_.tolist()}: warm_start and partial_fit continue training on the "
                "same classes."
            )
        if continuing:
            classes_ = self.classes_  # equal values; the fitted array (and dtype) stays
        if labels is None:
            return {"classes_": classes_}, np.asarray(y, dtype=float), "logistic"
        unknown = np.setdiff1d(labels, classes_, assume_unique=True)
        if unknown.size:
            raise ValueError(f"y contains labels not in classes: {unknown.tolist()}.")
        if len(classes_) < 2:
            raise ValueError(
                "y must contain at least 2 classes to train a classifier; "
                f"got only one class: {classes_.tolist()[0]!r}."
            )
        Y = label_binarize(y, classes=classes_)  # integers: the caller casts to the data's dtype
        return {"classes_": classes_}, Y, "logistic" if len(classes_) == 2 else "softmax"

    def _class_weights(self, y, classes_, sample_weight):
        """Each row's weight under ``class_weight`` (float64)."""
        if y.ndim == 2:  # multilabel: each label's 0s and 1s balanced, weights multiplied
            class_weights = np.ones(len(y))
            for column in y.T.astype(np.intp):
                totals = np.bincount(column, weights=sample_weight, minlength=2)
                with np.errstate(over="ignore"):  # refused below
                    class_weights *= _balanced(totals, np.count_nonzero(totals))[column]
        else:
            self._check_class_weight(classes_)
            indices = np.searchsorted(classes_, y)
            if self.class_weight == "balanced":
                totals = np.bincount(indices, weights=sample_weight, minlength=len(classes_))
                per_class = _balanced(totals, len(classes_))
            else:
                per_class = np.array([self.class_weight.get(c, 1.0) for c in classes_.tolist()])
            class_weights = per_class[indices]
        if not np.isfinite(class_weights).all():
            raise ValueError(
                "class_weight='balanced' weighs each class by the inverse of its total "
                "sample_weight, and those totals differ here beyond the float range: balanced "
                "weights depend only on their ratios, so raise the smallest sample weights."
            )
        return class_weights

    def _combined_sample_weight(self, sample_weight, X, y, targets, incremental):
        """Per-sample weights from ``sample_weight`` and ``class_weight``; None if all are 1.

        ``"balanced"`` class weights come from the classes' total sample weights, so that a
        weight of ``k`` counts as ``k`` repeated rows. ``fit`` needs two classes of positive
        weight; a chunk of ``partial_fit`` may hold one."""
        classes_ = targets["classes_"]
        if self.class_weight is None:
            weights = sample_weight
        elif y.ndim == 2 and isinstance(self.class_weight, dict):
            raise ValueError(
                "class_weight as a dict weighs the classes of 1-D targets; for a multilabel "
                "indicator y, use class_weight='balanced' (each label balanced on its own) "
                f"or None. Got {self.class_weight!r}."
            )
        else:
            class_weights = in_training_dtype(
                self._class_weights(y, classes_, sample_weight), X.dtype, "class_weight"
            )
            with np.errstate(over="ignore"):  # an infinite product fails the check below
                weights = class_weights if sample_weight is None else sample_weight * class_weights
        weights = self._checked_total_weight(weights, X, "sample_weight (times class_weight)")
        # (Rows of zero weight are gone from a full batch's weighted set, which may leave no
        # weights to check: then every row left has weight.)
        positive = y if weights is None else y[weights > 0]
        if not incremental and y.ndim == 1 and not (positive != positive[0]).any():
            raise ValueError(
                "Only one class has samples of positive sample_weight (times class_weight): "
                f"{positive[0]!r}. A classifier needs at least 2 classes to train on."
            )
        return weights

    def _stratification(self, y):
        """Stratify the early-stopping split by class, but for multilabel targets."""
        return y if y.ndim == 1 else None

    def _validation_score(self, loss):
        return accuracy_scorer(loss)

    def _n_output_columns(self):
        return len(self.classes_)

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
        logits = self._map_logits(X, identity)
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
        check_is_fitted(self)
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

    def predict_proba(self, X, *, return_std=False, n_draws=100, random_state=0):
        """Class probabilities; dropout is off unless ``return_std=True`` samples it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        return_std : bool, default=False
            If False, the network's deterministic probabilities (every unit kept, as dropout's
            weight scaling intends). If True, Monte-Carlo dropout (Gal and Ghahramani, 2016):
            ``n_draws`` forward passes, each under fresh dropout masks drawn with the fitted
            ``keep_prob``; returns the mean of their probabilities and their standard
            deviation, an estimate of the model's uncertainty. Needs a model fitted with
            ``keep_prob < 1``.

        n_draws : int, default=100
            Number of stochastic passes with ``return_std=True`` (at least 2); the standard
            error of the mean shrinks as ``1 / sqrt(n_draws)``.

        random_state : int, RandomState instance or None, default=0
            Seeds the dropout masks of ``return_std=True``: the same seed gives the same draws
            for the same ``X`` (and the same ``working_memory`` setting, which sets the chunks of
            rows the masks are drawn for).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_``, in float64 whatever the
            dtype of ``X``; with ``return_std=True``, the mean over the draws.

        proba_std : ndarray of shape (n_samples, n_classes)
            Only with ``return_std=True``: the standard deviation of each probability over the
            draws.

        Notes
        -----
        Rows are processed in chunks: beyond the returned array, the memory used is bounded by
        ``PREDICT_WORKING_MEMORY_MB`` = 4 MiB (or by scikit-learn's ``working_memory`` setting
        if smaller; at least one row's temporaries, ``n_draws`` times with ``return_std=True``)
        per thread, whatever the number of rows, for ``X`` given as a float64 or float32 array
        or CSR matrix (other inputs are first converted to one). A dense ``X`` of several chunks
        is predicted on every thread allowed (``threadpoolctl`` limits and the CPUs; see the user
        guide), chunks side by side, giving bit for bit the result computed on one thread. With
        ``return_std=True`` each chunk's rows are evaluated ``n_draws`` times in one batched
        pass, on one thread.

        Examples
        --------
        >>> from sklearn.datasets import make_moons
        >>> from skreg import RegularizedMLPClassifier
        >>> X, y = make_moons(n_samples=200, noise=0.2, random_state=0)
        >>> clf = RegularizedMLPClassifier(keep_prob=0.8, max_iter=2000, random_state=0).fit(X, y)
        >>> mean, std = clf.predict_proba(X[:3], return_std=True, n_draws=200)
        >>> mean.shape, std.shape
        ((3, 2), (3, 2))
        >>> bool((std >= 0).all() and abs(mean.sum(axis=1) - 1).max() < 1e-12)
        True
        """
        check_is_fitted(self)
        probabilities = _probabilities(self.out_activation_)
        if not return_std:
            return self._map_logits(X, probabilities)
        return self._dropout_mean_and_std(X, probabilities, n_draws, random_state)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities: the logarithm of ``predict_proba``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class, in the order of ``classes_``, in float64: the
            logarithm of the float64 probabilities of ``predict_proba``, so that the two rank
            the classes (and labels) alike, ties included; ``-inf`` where ``predict_proba``
            underflows to 0, and 0 where it rounds to 1.
        """
        check_is_fitted(self)
        return self._map_logits(X, _log_probabilities(self.out_activation_))


def _probabilities(out_activation):
    """Probabilities from logits, computed in float64 so that ones too small for float32 stay
    positive."""
    proba = PROBA_FUNCTIONS[out_activation]

    def probabilities(logits):
        return proba(logits.astype(np.float64, copy=False))

    return probabilities


def _log_probabilities(out_activation):
    """Log-probabilities from logits: the logarithm of ``predict_proba``'s float64
    probabilities. (The log-sigmoid of a large logit would tell apart labels whose probabilities
    both round to 1, and rank them unlike ``predict_proba``.)"""
    probabilities = _probabilities(out_activation)

    def log_probabilities(logits):
        with np.errstate(divide="ignore"):  # log(0) = -inf, where a probability underflows
            return np.log(probabilities(logits))

    return log_probabilities


def _sorted_labels(labels, name):
    """The distinct labels, sorted; labels that cannot be sorted (strings mixed with numbers or
    None) are refused by ``name``."""
    try:
        return np.unique(labels)
    except TypeError as error:
        raise _unsortable_labels(name, error) from error


def _balanced(totals, n_classes):
    """The "balanced" class weights ``n / (n_classes * n_c)``, from the classes' total sample
    weights ``n_c`` (``n`` their sum); a class of no weight weighs nothing."""
    per_class = np.zeros(len(totals))
    with np.errstate(over="ignore"):  # (beyond the float range: refused by the caller)
        np.divide(totals.sum(), n_classes * totals, out=per_class, where=totals > 0)
    return per_class


def _validated_classes(classes):
    """``partial_fit``'s ``classes``, sorted: 1-D, finite class labels of one type."""
    try:
        one_dimensional = np.ndim(classes) == 1
    except ValueError:  # ragged nested sequences
        one_dimensional = False
    if not one_dimensional:
        raise ValueError(f"classes must be a 1-D array-like of class labels; got {classes!r}.")
    if len({isinstance(label, str) for label in classes}) > 1:  # NumPy would make all strings
        raise _unsortable_labels("classes", f"strings with others: {classes!r}")
    classes_ = _sorted_labels(classes, "classes")
    if classes_.dtype.kind in "fc" and not np.isfinite(classes_).all():
        raise ValueError(f"classes must be finite labels; got {classes_.tolist()}.")
    target_type = type_of_target(classes_, input_name="classes")
    if target_type not in ("binary", "multiclass"):
        raise ValueError(
            f"classes must be class labels (integers or strings); got {target_type} values "
            f"{classes_.tolist()}."
        )
    return classes_


def _unsortable_labels(name, error):
    return TypeError(
        f"{name} mixes labels that cannot be compared, such as strings with numbers or None; "
        f"use labels of one type ({error})."
    )
