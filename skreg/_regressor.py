"""RegularizedMLPRegressor: the shared estimator core (:mod:`skreg._estimator`) with real-valued
targets, the squared-error, Poisson and quantile losses, and their predictions."""

from numbers import Real

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import identity
from ._estimator import BaseRegularizedMLP, available_if, partial_fit_available
from ._stopping_rules import negative_loss_scorer, r2_scorer

#: The output activation of each loss: the identity, or for the Poisson loss the exponential
#: (the log link), as in scikit-learn's MLPRegressor.
OUT_ACTIVATIONS = {"squared_error": "identity", "quantile": "identity", "poisson": "exp"}


class RegularizedMLPRegressor(RegressorMixin, BaseRegularizedMLP):
    """Multi-layer perceptron regressor with L2/L1 penalties, dropout and other regularisers.

    The network is LINEAR -> ACTIVATION (ReLU by default) for every hidden layer, then LINEAR
    with an identity output (or an exponential one for ``loss="poisson"``), trained on the mean
    loss plus a weight penalty: the same network, regularisers, solvers and engines as
    :class:`~skreg.RegularizedMLPClassifier`, for one or several real-valued targets.

    Its defaults differ from the classifier's, which reproduce a course notebook (full-batch
    gradient descent at learning rate 0.3 for 30000 steps, hidden layers of 20 and 3 units, no
    penalty). They aim at a good model without tuning on standardised data, in a second or so
    on thousands of rows: one hidden layer of 100 units and Adam, as scikit-learn's
    :class:`~sklearn.neural_network.MLPRegressor`, for 1000 full-batch epochs at learning rate
    0.01 (full batches keep a fit deterministic, and a sample weight of ``k`` exactly ``k``
    repeated rows), with an L2 penalty ``lambd=10``: unpenalised, such a network overfits small
    data sets (a test R² of -0.46 to -0.06 on :func:`~sklearn.datasets.load_diabetes`, 0.34 to
    0.44 with the penalty, for 0.91 to 0.94 either way on 2000 rows of
    :func:`~sklearn.datasets.make_regression` or :func:`~sklearn.datasets.make_friedman1`).
    The penalty is divided by the number of samples, so it fades as the data grows. Tune it for
    quantile fits at tail levels: the pinball loss is flatter than the squared error (its slope
    at level 0.95 is 0.05 on most samples), so the same ``lambd`` regularises them more. On
    small, noisy data (``load_diabetes``) ``lambd=10`` gives 0.05 and 0.95 fits whose interval
    holds 87 to 94 % of held-out targets, and ``lambd=0.1`` overfits (about 50 %); on 1000 rows
    of a smooth one-dimensional curve ``lambd=10`` flattens the interval and ``lambd=0.1`` fits
    it.

    Put a :class:`~sklearn.preprocessing.StandardScaler` in front of it, and for the
    squared-error loss scale the targets too, with
    :class:`~sklearn.compose.TransformedTargetRegressor`: Adam's steps have a fixed size of
    about ``learning_rate``, so targets in the hundreds need thousands of epochs just to reach
    their scale. The Poisson and quantile losses are not invariant to such a transformation:
    divide ``y`` by a constant at most (the quantiles of ``y / c`` are those of ``y`` divided
    by ``c``).

    Parameters
    ----------
    loss : {"squared_error", "poisson", "quantile"}, default="squared_error"
        The loss, summed over outputs and averaged over samples (weighted by
        ``sample_weight``):

        - ``"squared_error"``: half the squared error, ``(y - f(x))**2 / 2``, as in
          MLPRegressor (the half makes its gradient the residual); fits the mean of ``y``.
        - ``"poisson"``: half the Poisson deviance, ``y log(y / mu) - y + mu`` with
          ``mu = exp(f(x))`` (an exponential output, the log link), as in MLPRegressor; fits
          the mean of counts or rates, so ``y`` must be non-negative.
        - ``"quantile"``: the pinball loss ``max(q r, (q - 1) r)`` of the residual
          ``r = y - f(x)`` at level ``q = quantile``; fits the ``q``-quantile of ``y``. Two fits,
          at 0.05 and 0.95 say, give a 90 % prediction interval. Not differentiable where a
          prediction meets its target, so not available with ``solver="lbfgs"``.

    quantile : float, default=0.5
        The level ``q`` in (0, 1) of ``loss="quantile"`` (0.5: the median); ignored by the other
        losses.

    hidden_layer_sizes : array-like of int, default=(100,)
        Number of units in each hidden layer; at least one layer, every size at least 1.

    activation : {"relu", "tanh", "logistic", "identity", "leaky_relu"}, default="relu"
        Activation of every hidden layer, as in scikit-learn's MLPRegressor: ``"relu"``,
        ``max(z, 0)``; ``"tanh"``; ``"logistic"``, ``1 / (1 + exp(-z))``; ``"identity"``, ``z``
        (the network is then a linear model); and ``"leaky_relu"``, ``z`` for ``z > 0`` and
        ``0.01 z`` otherwise, a ReLU whose units cannot die. The output layer is the identity
        (``exp`` for ``loss="poisson"``) whatever the activation.

    lambd : float, default=10.0
        Strength ``lambda`` >= 0 of the weight penalty. With ``m`` the number of training samples
        (their total weight when weighted) the cost gains ``lambd / (2 m) * sum_l ||W_l||_F^2`` for
        ``penalty="l2"``, ``lambd / m * sum_l |W_l|_1`` for ``penalty="l1"``, and for
        ``"elasticnet"`` the sum of both with strengths ``lambd * l1_ratio`` (L1) and
        ``lambd * (1 - l1_ratio)`` (L2). Intercepts are never penalised. With full batches,
        ``lambd`` is MLPRegressor's ``alpha``.

    penalty : {"l2", "l1", "elasticnet"}, default="l2"
        The weight penalty. L1 is applied by a proximal (soft-threshold) step after every update,
        so weights become exactly zero; :attr:`n_zero_coefs_` counts them.

    l1_ratio : float, default=0.5
        Share of L1 in the elastic-net penalty, in [0, 1]; used only with ``penalty="elasticnet"``.

    keep_prob : float or array-like of float, default=1.0
        Probability of keeping a hidden unit under inverted dropout, in [2**-32, 1]: one value
        for every hidden layer, or one per hidden layer. ``1.0`` disables dropout.

    max_norm : float or None, default=None
        If set, after every update each unit's vector of incoming weights is rescaled to an L2 norm
        of at most ``max_norm``.

    input_noise : float, default=0.0
        Standard deviation of Gaussian noise added to the inputs at every training step. Needs
        dense ``X``.

    solver : {"gd", "momentum", "adam", "lbfgs"}, default="adam"
        ``"gd"``: gradient descent; ``"momentum"``: with heavy-ball momentum; ``"adam"``: Adam;
        ``"lbfgs"``: SciPy's L-BFGS-B on the full-batch cost, often the best on small data but
        only for deterministic, smooth objectives (no dropout, no input noise, no L1, no
        max-norm, no quantile loss).

    batch_size : int or None, default=None
        ``None`` trains on the full batch at every step; an int trains on mini-batches of that
        size, reshuffled every epoch (faster progress per epoch on large data). Ignored by
        ``"lbfgs"``.

    learning_rate : float, default=0.01
        Step size, > 0. The default suits ``"adam"``; ``"gd"`` on standardised data takes about
        0.01 to 0.1.

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
        decreasing (the validation score increasing, with ``early_stopping``); each time
        ``n_iter_no_change + 1`` epochs in a row fail to improve it by ``tol`` (``tol=None``
        counts as 0), the step size is divided by 5, and training stops when it is already at
        most 1e-6. Applies to every solver but ``"lbfgs"``, Adam included (which scikit-learn
        does not schedule: keep ``"constant"`` to reproduce its Adam). ``warm_start`` and
        ``partial_fit`` continue the schedule.

    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule, >= 0.

    nesterovs_momentum : bool, default=False
        Whether the ``"momentum"`` solver takes Nesterov's step, as scikit-learn's does, rather
        than the heavy-ball step. Only used by ``"momentum"``.

    shuffle : bool, default=True
        Whether mini-batches are reshuffled every epoch; False takes them in the data's order
        and draws nothing from the training stream for it. Only used with mini-batches.

    max_iter : int, default=1000
        Maximum number of epochs: passes over the training data (one step each in full batch).
        For ``"lbfgs"``, maximum number of L-BFGS iterations.

    max_fun : int, default=15000
        Maximum number of evaluations of the cost (and its gradient) by ``"lbfgs"``, as in
        scikit-learn's MLPRegressor; ignored by the other solvers.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (at least 2 rows) and stop when
        its score (see ``scoring``) has not improved by ``tol`` for more than
        ``n_iter_no_change`` epochs; the weights of the best epoch are restored. Not used by
        ``"lbfgs"``; ``partial_fit`` is not available with it.

    scoring : str, callable or None, default=None
        The score early stopping monitors on the held-out rows, weighted by their sample
        weights, higher being better. ``None``: the R² (averaged uniformly over outputs) as
        MLPRegressor scores it, but for ``loss="quantile"`` minus the mean pinball loss (R²
        would rate a quantile as a fit of the mean). ``"loss"``: minus the mean held-out loss
        (no penalty). A scorer name (``"neg_mean_absolute_error"``, ...; see
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
        early.

    tol : float or None, default=None
        Improvement threshold. With ``early_stopping``: of the validation score (``None`` counts
        any improvement). Without: if set, training stops once the training cost has not
        decreased by ``tol`` for more than ``n_iter_no_change`` epochs (for ``"lbfgs"``, it is the
        gradient tolerance); ``None`` runs all ``max_iter`` epochs (``"lbfgs"``: until SciPy's
        default gradient tolerance).

    warm_start : bool, default=False
        If True, ``fit`` starts from the previous fit's weights (and optimizer state) instead of a
        new initialisation.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation and the validation split, and through them the training
        stream that draws the dropout masks, the input noise and the mini-batch order,
        identically in both engines. Pass an int for reproducible results.

    verbose : int, default=0
        If > 0, print the cost every 1000 epochs (not with ``"lbfgs"``).

    engine : {"auto", "compiled", "numpy"}, default="auto"
        Implementation of the training loop, as in :class:`~skreg.RegularizedMLPClassifier`:
        both train the same model, every option and loss included, up to rounding; ``"auto"``
        trains on the compiled engine wherever it is built. Ignored by ``"lbfgs"``.

    Attributes
    ----------
    coefs_ : list of ndarray
        ``coefs_[i]`` is the weight matrix of shape ``(n_in, n_out)`` from layer ``i`` to ``i + 1``.

    intercepts_ : list of ndarray
        ``intercepts_[i]`` is the bias vector of layer ``i + 1``.

    loss_ : float
        Cost (the loss above plus penalty) at the last epoch.

    loss_curve_ : list of float
        Cost at each epoch, computed before that epoch's update in full batch (the mean over its
        mini-batches otherwise; for ``"lbfgs"``, the cost after each iteration). With
        ``warm_start`` and ``partial_fit``, the history of every fit continued from, as in
        scikit-learn: the last ``n_iter_`` entries are those of the epochs since ``fit``.

    best_loss_ : float or None
        Lowest cost of ``loss_curve_``; ``None`` with early stopping.

    validation_scores_ : list of float or None
        Validation score (see ``scoring``) at each epoch with early stopping, else ``None``; like
        ``loss_curve_``, the history of every fit continued from.

    best_validation_score_ : float or None
        Best validation score of the latest fit with early stopping (its weights are the fitted
        ones), else ``None``.

    n_iter_ : int
        Number of epochs run by the latest call to ``fit`` (L-BFGS iterations for
        ``"lbfgs"``), as in scikit-learn, plus one for each ``partial_fit`` since.

    n_layers_ : int
        Number of layers, input and output layers included.

    n_outputs_ : int
        Number of outputs: the columns of ``y`` (1 for 1-D ``y``).

    out_activation_ : str
        ``"identity"``, or ``"exp"`` for ``loss="poisson"``.

    keep_probs_ : ndarray of shape (n_hidden_layers,)
        Keep probability of each hidden layer in the latest training call (``keep_prob`` as
        fitted): Monte-Carlo dropout (``return_std=True``) draws its masks with these.

    optimizer_ : object or None
        The optimizer and its state, which ``partial_fit`` and ``warm_start`` continue from;
        ``None`` for ``"lbfgs"``.

    t_ : int or float
        Number of training samples the solver has seen, over the epochs of every fit continued
        from, as MLPRegressor's ``t_`` (the "invscaling" schedule reads it): their total sample
        weight when weighted; 0 for ``"lbfgs"``.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    RegularizedMLPClassifier : The classifier with the same network and regularisers.
    sklearn.neural_network.MLPRegressor : scikit-learn's MLP (L2 via ``alpha``, no dropout).

    Notes
    -----
    ``fit`` sets the fitted attributes only once training has succeeded: if it fails or is
    interrupted, the estimator keeps the previous fit's model, or stays unfitted.

    Examples
    --------
    >>> from sklearn.compose import TransformedTargetRegressor
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skreg import RegularizedMLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=10, random_state=0)
    >>> model = TransformedTargetRegressor(
    ...     make_pipeline(StandardScaler(), RegularizedMLPRegressor(random_state=0)),
    ...     transformer=StandardScaler(),
    ... )
    >>> model.fit(X, y).score(X, y) > 0.95
    True

    A 90 % prediction interval from two quantile fits:

    >>> X_scaled = StandardScaler().fit_transform(X)
    >>> low, high = (
    ...     RegularizedMLPRegressor(loss="quantile", quantile=q, lambd=0.1, random_state=0)
    ...     .fit(X_scaled, y / y.std())
    ...     .predict(X_scaled) * y.std()
    ...     for q in (0.05, 0.95)
    ... )
    >>> bool(0.8 < ((low <= y) & (y <= high)).mean() < 1.0)
    True
    """

    _parameter_constraints: dict = {
        **BaseRegularizedMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson", "quantile"})],
        "quantile": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(
        self,
        *,
        loss="squared_error",
        quantile=0.5,
        hidden_layer_sizes=(100,),
        activation="relu",
        lambd=10.0,
        penalty="l2",
        l1_ratio=0.5,
        keep_prob=1.0,
        max_norm=None,
        input_noise=0.0,
        solver="adam",
        batch_size=None,
        learning_rate=0.01,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        learning_rate_schedule="constant",
        power_t=0.5,
        nesterovs_momentum=False,
        shuffle=True,
        max_iter=1000,
        max_fun=15000,
        early_stopping=False,
        scoring=None,
        validation_fraction=0.1,
        n_iter_no_change=100,
        tol=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        engine="auto",
    ):
        self.loss = loss
        self.quantile = quantile
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
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.engine = engine

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to data ``X`` and targets ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, finite values only; float32 data is trained in float32.

        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_outputs)
            Finite real targets, non-negative for ``loss="poisson"`` (a sparse matrix is
            trained as its dense copy).

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights: the cost becomes the weighted mean of the samples' losses.

        Returns
        -------
        self : object
            The fitted estimator.

        Notes
        -----
        ``fit`` is all or nothing, as the classifier's: when it raises or is interrupted, the
        estimator is left as it was before the call. The same holds for ``partial_fit``.
        """
        return self._fit_or_restore(X, y, sample_weight, incremental=False)

    @available_if(partial_fit_available)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch on ``X, y``, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Its targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the chunk's samples.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit_or_restore(X, y, sample_weight, incremental=True)

    def _encoded_targets(self, y, classes, continuing, incremental):
        """No target attributes; ``y`` as a 2-D float matrix; the loss (``("quantile", q)`` for
        the pinball loss)."""
        try:
            Y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"y must hold real numbers for a regressor: {error}") from error
        if not np.isfinite(Y).all():  # (None in an object y becomes NaN here)
            raise ValueError(
                "y must hold finite real numbers for a regressor; it has "
                f"{np.count_nonzero(~np.isfinite(Y))} missing or infinite values (None, NaN, inf)."
            )
        if self.loss == "poisson" and (Y < 0).any():
            raise ValueError(
                "loss='poisson' needs non-negative targets (counts, rates), and y has negative "
                "values; use loss='squared_error', or shift y."
            )
        loss = ("quantile", float(self.quantile)) if self.loss == "quantile" else self.loss
        return {}, Y.reshape(len(Y), -1), loss

    def _combined_sample_weight(self, sample_weight, X, y, targets, incremental):
        return self._checked_total_weight(sample_weight, X)

    def _validation_score(self, loss):
        """R², as MLPRegressor scores; for a quantile, whose fit R² would rate as a fit of the
        mean, minus the pinball loss."""
        if self.loss == "quantile":
            return negative_loss_scorer(loss)
        return r2_scorer(_predictions(OUT_ACTIVATIONS[self.loss]))

    def _out_activation(self, loss):
        return OUT_ACTIVATIONS[self.loss]

    def _reasons_against_lbfgs(self):
        if self.loss == "quantile":
            return ["loss='quantile' (not differentiable where a prediction meets its target)"]
        return []

    def predict(self, X, *, return_std=False, n_draws=100, random_state=0):
        """Predict with the network; dropout is off unless ``return_std=True`` samples it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        return_std : bool, default=False
            If False, the network's deterministic predictions (every unit kept). If True,
            Monte-Carlo dropout (Gal and Ghahramani, 2016): ``n_draws`` forward passes, each
            under fresh dropout masks drawn with the fitted ``keep_prob``; returns the mean of
            their predictions and their standard deviation, an estimate of the model's
            uncertainty about each prediction (not of the noise of ``y``: for a prediction
            interval of the targets, fit two ``loss="quantile"`` models). Needs a model fitted
            with ``keep_prob < 1``.

        n_draws : int, default=100
            Number of stochastic passes with ``return_std=True`` (at least 2).

        random_state : int, RandomState instance or None, default=0
            Seeds the dropout masks of ``return_std=True``: the same seed gives the same draws
            for the same ``X`` (and the same ``working_memory`` setting, which sets the chunks of
            rows the masks are drawn for).

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predictions, 1-D when the network was fitted on 1-D ``y`` (or a single column),
            in the dtype of the weights and ``X`` combined (float32 when both are); with
            ``return_std=True``, their mean over the draws. Predictions beyond the
            floating-point range saturate at the largest finite float (of either sign; with
            ``loss="poisson"``, ``exp`` of large outputs), never ``inf``; those of
            ``loss="poisson"`` below the smallest positive float are 0.

        y_std : ndarray of the shape of ``y``
            Only with ``return_std=True``: the standard deviation of the predictions over the
            draws.

        Notes
        -----
        Rows are processed in chunks, in bounded memory, as the classifier's ``predict_proba``;
        with ``return_std=True`` each chunk's rows are evaluated ``n_draws`` times in one
        batched pass.

        Examples
        --------
        >>> import numpy as np
        >>> from skreg import RegularizedMLPRegressor
        >>> X = np.linspace(-1, 1, 200)[:, None]
        >>> y = np.sin(3 * X[:, 0])
        >>> reg = RegularizedMLPRegressor(keep_prob=0.9, lambd=0.1, random_state=0).fit(X, y)
        >>> mean, std = reg.predict(X[:5], return_std=True, n_draws=50)
        >>> mean.shape, std.shape
        ((5,), (5,))
        """
        check_is_fitted(self)
        output = _predictions(self.out_activation_)
        if not return_std:
            return self._one_dimensional(self._map_logits(X, output))
        mean, std = self._dropout_mean_and_std(X, output, n_draws, random_state)
        return self._one_dimensional(mean), self._one_dimensional(std)

    def _one_dimensional(self, predictions):
        """1-D predictions for a network fitted on one target."""
        return predictions.ravel() if self.n_outputs_ == 1 else predictions


def _predictions(out_activation):
    """Predictions from logits: the identity, or the exponential saturating at the largest
    float."""
    if out_activation == "identity":
        return identity
    return _saturating_exp


def _saturating_exp(logits):
    with np.errstate(over="ignore"):
        mean = np.exp(logits)
    return np.minimum(mean, np.finfo(mean.dtype).max, out=mean)
