"""The estimators' shared core: parameters, validation, training, and prediction's entry.

:class:`BaseRegularizedMLP` holds everything a regularised network estimator does whatever its
targets: the hyperparameters of the network and of its training, input validation, the choice of
engine, the solvers, early stopping, ``warm_start`` and ``partial_fit``, and the call of
prediction in bounded memory (:mod:`skreg._prediction`). The classifier and the regressor add
only their targets (``_encoded_targets``), their sample weights (``_combined_sample_weight``),
their early-stopping score and their predictions.
"""

import warnings
from functools import update_wrapper
from numbers import Integral, Real
from types import MethodType

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer_names
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._base import ACTIVATIONS
from ._callbacks import CallbackStopper, CallbackSupportMixin, FitCallbacks, has_callbacks
from ._early_stopping import early_stopping_monitor, validation_split
from ._engines import training_function, training_matrix, warn_if_deprecated
from ._network import (
    Parameters,
    Penalty,
    init_parameters,
)
from ._optimizers import make_optimizer
from ._prediction import DropoutDraws, Prediction
from ._random import MIN_KEEP_PROB, training_stream
from ._stopping_rules import AdaptiveStepSize, TrainingLossStopper, ValidationStopper
from ._threads import (
    blas_threads_for_steps,
)
from ._training import Regularization, Rows, train_lbfgs

# What scikit-learn's callback support keeps on the estimator during a fit.
_CALLBACK_STATE = ("_callback_fit_ctx", "_skl_callbacks_to_teardown")

# What steps too large do to each hidden activation, for the warning of a rising cost.
_TOO_LARGE_STEPS = {
    "relu": "units whose ReLU input stays negative stop learning",
    "leaky_relu": "the steps overshoot the minimum and the cost oscillates or grows",
    "tanh": "units driven into the flat tails of tanh stop learning",
    "logistic": "units driven into the flat tails of the logistic function stop learning",
    "identity": "the steps overshoot the minimum and the cost oscillates or grows",
}

# Frames from fit's warnings up to the user's call: _warn_if_not_converged, _fit,
# _fit_or_restore, fit (or partial_fit) and the wrapper of _fit_context.
_FIT_WARNING_STACKLEVEL = 6


class BaseRegularizedMLP(CallbackSupportMixin, BaseEstimator):
    """Shared core of :class:`~skreg.RegularizedMLPClassifier` and
    :class:`~skreg.RegularizedMLPRegressor`; not an estimator of its own.

    Subclasses define ``__init__`` (listing every parameter, as scikit-learn requires),
    ``fit``/``partial_fit`` (calling ``_fit_or_restore``) and the hooks ``_encoded_targets``,
    ``_combined_sample_weight`` and ``_validation_score``; they may override
    ``_stratification``, ``_n_output_columns``, ``_out_activation`` and
    ``_reasons_against_lbfgs``.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "lambd": [Interval(Real, 0, None, closed="left")],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"})],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "keep_prob": [Interval(Real, MIN_KEEP_PROB, 1, closed="both"), "array-like"],
        "max_norm": [None, Interval(Real, 0, None, closed="neither")],
        "input_noise": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"gd", "momentum", "adam", "lbfgs"})],
        "batch_size": [None, Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_schedule": [StrOptions({"constant", "invscaling", "adaptive"})],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "shuffle": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "scoring": [None, StrOptions({"loss", *get_scorer_names()}), callable],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "tol": [None, Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "engine": [StrOptions({"auto", "numpy", "compiled", "numba"}, deprecated={"numba"})],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def __sklearn_is_fitted__(self):
        """Fitted once a fit has set the network's parameters (what ``check_is_fitted`` asks,
        faster than its scan of every attribute's name)."""
        return hasattr(self, "coefs_")

    def _fit_or_restore(self, *args, **kwargs):
        """``_fit``, or on any exception the estimator's state from before the call."""
        state_before = vars(self).copy()
        try:
            return self._fit(*args, **kwargs)
        except BaseException:
            # validate_data records n_features_in_ (and feature names) before training starts.
            # The callback context stays until the callbacks' teardown, after this call.
            callback_state = {k: v for k, v in vars(self).items() if k in _CALLBACK_STATE}
            vars(self).clear()
            vars(self).update(state_before | callback_state)
            raise

    def _fit(self, X, y, sample_weight, *, incremental, classes=None):
        """Validate, train and, once training has succeeded, set the fitted attributes."""
        continuing = hasattr(self, "coefs_") and (incremental or self.warm_start)
        hidden_layer_sizes = self._validated_hidden_layer_sizes()
        keep_probs = self._validated_keep_probs(len(hidden_layer_sizes))
        self._refuse_booleans_as_counts()
        warn_if_deprecated(self.engine, stacklevel=_FIT_WARNING_STACKLEVEL - 1)  # from _fit
        X, y = _validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            dtype=self._continued_dtype() if continuing else (np.float64, np.float32),
            multi_output=True,
            reset=not continuing,
        )
        if sp.issparse(y):  # a sparse multilabel indicator or multi-output target: trained dense
            y = y.toarray()
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        callback_data = (X, y, sample_weight)  # as given, for the callbacks' hooks
        targets, Y, loss = self._encoded_targets(y, classes, continuing, incremental)
        Y = in_training_dtype(Y, X.dtype, "y")
        regularization = self._regularization(keep_probs, X)
        X = training_matrix(X)
        rows = Rows(X, Y, y, self._validated_sample_weight(sample_weight, X))
        if self._trains_on_a_weighted_set(X, regularization):
            rows = rows.as_weighted_set()
        rows.sample_weight = self._combined_sample_weight(
            rows.sample_weight, rows.X, rows.y, targets, incremental
        )

        rng = check_random_state(self.random_state)
        layer_units = [X.shape[1], *hidden_layer_sizes, Y.shape[1]]
        params = self._initial_parameters(layer_units, rng, X.dtype, continuing)
        max_epochs = 1 if incremental else self.max_iter
        model = {"targets": targets, "loss": loss, "keep_probs": keep_probs}
        callbacks = self._fit_callbacks(callback_data, params, model, max_epochs)
        if self.solver == "lbfgs":
            loss_curve, n_iter, optimizer, stopper = self._train_lbfgs(
                rows, params, loss, regularization, callbacks
            )
        else:
            loss_curve, n_iter, optimizer, stopper = self._train_epochs(
                rows, params, model, regularization, rng, callbacks,
                incremental=incremental, continuing=continuing,
            )  # fmt: skip
        stopped_by_callback = callbacks is not None and callbacks.stop_requested
        if callbacks is not None:
            callbacks.end_fit(params.flat)
        if not stopped_by_callback:  # (a callback that stops training knows why)
            self._warn_if_not_converged(loss_curve, stopper, incremental)
        # Set attributes only once training has succeeded, so a failed fit leaves no half model.
        for name, value in self._model_attributes(params, **model).items():
            setattr(self, name, value)
        self._set_history(loss_curve, n_iter, stopper, continuing, incremental)
        self.optimizer_ = optimizer
        return self

    def _continued_dtype(self):
        """The dtype a continued fit trains in: that of the fitted coefficients."""
        dtype = np.asarray(self.coefs_[0]).dtype
        if dtype not in (np.float32, np.float64):
            raise ValueError(
                f"coefs_ holds {dtype} arrays: training continues in the dtype of the fitted "
                "network, float32 or float64. Cast coefs_ and intercepts_ to one of them."
            )
        return dtype

    def _initial_parameters(self, layer_units, rng, dtype, continuing):
        """The network training starts from: the fitted one when continuing, else drawn."""
        if not continuing:
            return init_parameters(layer_units, rng, dtype, self.activation)
        params = Parameters.from_arrays(self.coefs_, self.intercepts_, activation=self.activation)
        if params.layer_units != layer_units:
            raise ValueError(
                f"Cannot continue training a network with layers {params.layer_units} on "
                f"data and parameters that need layers {layer_units}."
            )
        return params

    def _set_history(self, loss_curve, n_iter, stopper, continuing, incremental):
        """The fitted attributes of training's history. The histories (``loss_curve_``,
        ``validation_scores_``) span every fit continued from; ``n_iter_`` counts the epochs
        since the last call to ``fit``, as in scikit-learn. (A model a callback was handed
        during a fit has the network's attributes only, no history.)"""
        early = isinstance(stopper, ValidationStopper)
        scores = stopper.scores if early else None
        if continuing:
            loss_curve = getattr(self, "loss_curve_", []) + loss_curve
            if early and getattr(self, "validation_scores_", None) is not None:
                scores = self.validation_scores_ + scores
            if incremental:
                n_iter += getattr(self, "n_iter_", 0)
        self.loss_curve_ = loss_curve
        self.loss_ = loss_curve[-1]
        self.best_loss_ = None if early else min(loss_curve)
        self.validation_scores_ = scores
        self.best_validation_score_ = stopper.best_score if early else None
        self.n_iter_ = n_iter

    def _model_attributes(self, params, targets, loss, keep_probs):
        """The fitted attributes that prediction reads: the network, its targets and its
        dropout (for Monte-Carlo dropout)."""
        return {
            **targets,
            "coefs_": params.coefs,
            "intercepts_": params.intercepts,
            "n_layers_": len(params.layer_units),
            "n_outputs_": params.layer_units[-1],
            "out_activation_": self._out_activation(loss),
            "keep_probs_": np.array(keep_probs),
        }

    def _fit_callbacks(self, data, params, model, max_epochs):
        """The callback context of this fit (see :mod:`skreg._callbacks`), or None without
        callbacks."""
        if not has_callbacks(self):
            return None
        layer_units, dtype = params.layer_units, params.flat.dtype

        def fitted_attributes(flat):
            snapshot = Parameters(layer_units, dtype, params.activation)
            snapshot.flat[...] = flat
            return self._model_attributes(snapshot, **model)

        X, y, sample_weight = data
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        return FitCallbacks(self, X, y, metadata, max_epochs, fitted_attributes)

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

    def _refuse_booleans_as_counts(self):
        """A bool is an Integral to scikit-learn's validation, but ``max_iter=True`` is a
        mistake, not 1 epoch."""
        for name, constraints in self._parameter_constraints.items():
            value = getattr(self, name)
            counts = any(isinstance(c, Interval) and c.type is Integral for c in constraints)
            if counts and isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be an int, not a bool; got {value!r}.")

    def _validated_keep_probs(self, n_hidden):
        if isinstance(self.keep_prob, Real):
            return (float(self.keep_prob),) * n_hidden
        try:
            keep_probs = np.asarray(self.keep_prob, dtype=float)
        except (TypeError, ValueError):
            keep_probs = np.empty(0)
        in_range = (keep_probs >= MIN_KEEP_PROB) & (keep_probs <= 1)
        if keep_probs.shape != (n_hidden,) or not in_range.all():
            raise ValueError(
                "keep_prob must be a float in [2**-32, 1] (the dropout words resolve no smaller "
                f"probability) or a sequence of such floats, one per hidden layer ({n_hidden} "
                f"here); got {self.keep_prob!r}."
            )
        return tuple(keep_probs.tolist())

    def _validated_sample_weight(self, sample_weight, X):
        """``sample_weight`` checked and in the dtype of ``X``; None if not given."""
        if sample_weight is None:
            return None
        try:
            with np.errstate(over="ignore"):  # (weights beyond float32's range: refused below)
                weights = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        except (TypeError, ValueError) as error:
            if "sample_weight" in str(error) or "Sample weights" in str(error):
                raise
            raise type(error)(f"sample_weight is not an array of numbers: {error}") from error
        if not np.isfinite(weights).all():  # (a scalar NaN or inf is not checked by scikit-learn)
            raise ValueError(f"sample_weight must be finite; got {sample_weight!r}.")
        weights = in_training_dtype(weights, X.dtype, "sample_weight")
        if not weights.any():  # (newer scikit-learn refuses this itself)
            raise ValueError("sample_weight must not be all zeros: nothing would be learned.")
        return weights

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
            ] + self._reasons_against_lbfgs()
            if reasons:
                raise ValueError(
                    "solver='lbfgs' minimises a deterministic, smooth cost, which rules out "
                    f"{'; '.join(reasons)}. Use solver='gd', 'momentum' or 'adam'."
                )
        return regularization

    def _optimizer(self, params, previous):
        hyperparameters = {
            "gd": {},
            "momentum": {"momentum": self.momentum, "nesterov": self.nesterovs_momentum},
            "adam": {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon},
        }[self.solver]
        return make_optimizer(
            self.solver,
            params.flat.size,
            params.flat.dtype,
            previous,
            learning_rate=self.learning_rate,
            schedule=self.learning_rate_schedule,
            power_t=self.power_t,
            **hyperparameters,
        )

    def _adaptive_step_size(self, stopper, optimizer, incremental):
        """The "adaptive" schedule's rule over ``stopper``, or without one over a training-loss
        plateau rule by ``tol`` (None counting as 0), which ``partial_fit`` keeps in the optimizer
        from call to call."""
        plateau = stopper
        if incremental:
            plateau = optimizer.plateau or TrainingLossStopper(
                self.tol or 0.0, self.n_iter_no_change
            )
            optimizer.plateau = plateau
        elif plateau is None:
            plateau = TrainingLossStopper(0.0, self.n_iter_no_change)
        return AdaptiveStepSize(plateau, optimizer)

    def _train_epochs(
        self, rows, params, model, regularization, rng, callbacks, *, incremental, continuing
    ):
        # (A model a callback was handed during a fit has no optimizer_ or loss_curve_.)
        previous_optimizer = getattr(self, "optimizer_", None) if continuing else None
        epochs_before = len(getattr(self, "loss_curve_", [])) if continuing else 0
        optimizer = self._optimizer(params, previous_optimizer)
        stopper = None
        if self.early_stopping and not incremental:
            stratify = self._stratification(rows.y)
            rows, held_out = validation_split(rows, self.validation_fraction, stratify, rng)
            stopper = early_stopping_monitor(self, held_out, params, model)
        elif self.tol is not None and not incremental:
            stopper = TrainingLossStopper(self.tol, self.n_iter_no_change)
        max_iter = 1 if incremental else self.max_iter
        rule = stopper
        if self.learning_rate_schedule == "adaptive":
            rule = self._adaptive_step_size(stopper, optimizer, incremental)
        if callbacks is not None:
            rule = CallbackStopper(callbacks, rule, params, max_iter)
        train = training_function(self.engine, rows.X)
        rows_per_step = min(self.batch_size or rows.X.shape[0], rows.X.shape[0])
        with blas_threads_for_steps(rows_per_step):
            loss_curve = train(
                rows.X,
                rows.Y,
                params,
                optimizer,
                loss=model["loss"],
                regularization=regularization,
                max_iter=max_iter,
                stream=training_stream(rng, epochs_before),
                sample_weight=rows.sample_weight,
                batch_size=self.batch_size,
                stopper=rule,
                verbose=self.verbose,
                shuffle=self.shuffle,
            )
        # Early stopping restores its best weights, unless a callback stopped training: then
        # the weights are those of that moment.
        stopped_by_callback = callbacks is not None and callbacks.stop_requested
        if isinstance(stopper, ValidationStopper) and not stopped_by_callback:
            params.flat[...] = stopper.best_params
        return loss_curve, len(loss_curve), optimizer, stopper

    def _train_lbfgs(self, rows, params, loss, regularization, callbacks):
        stopper = None
        if callbacks is not None:  # each L-BFGS iteration is a subtask
            stopper = CallbackStopper(callbacks, None, params, self.max_iter)
        with blas_threads_for_steps(rows.X.shape[0]):
            loss_curve, result = train_lbfgs(
                rows.X,
                rows.Y,
                params,
                loss=loss,
                penalty=regularization.penalty,
                max_iter=self.max_iter,
                max_fun=self.max_fun,
                tol=self.tol,
                sample_weight=rows.sample_weight,
                stopper=stopper,
            )
        if callbacks is not None and callbacks.stop_requested:
            n_iter = max(result.nit, 1)  # stopped on request: no convergence warning
        else:
            n_iter = max(_check_optimize_result("lbfgs", result, self.max_iter), 1)
        return loss_curve or [float(result.fun)], n_iter, None, None

    @staticmethod
    def _checked_total_weight(weights, X, name="sample_weight"):
        """``weights`` (None: all 1), refused unless their sum is positive and finite in the
        dtype of ``X``; None if all are 1."""
        if weights is None:
            return None
        with np.errstate(over="ignore"):
            total = weights.sum()
        if not 0 < total < np.inf:
            raise ValueError(
                f"{name} must have a positive sum, finite in {X.dtype}; got {total}. Divide "
                "the weights by a constant."
            )
        return None if (weights == 1).all() else weights

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
            first, last = _distinct_costs(loss_curve[0], loss_curve[-1])
            warnings.warn(
                f"The cost rose during training, from {first} to {last}: "
                f"learning_rate={self.learning_rate} is probably too large for this data "
                f"({_TOO_LARGE_STEPS[self.activation]}). Use a smaller learning_rate or scale the "
                "inputs.",
                ConvergenceWarning,
                stacklevel=_FIT_WARNING_STACKLEVEL,
            )

    @property
    def t_(self):
        """Number of training samples the solver has seen, over every epoch of every fit
        continued from (MLPClassifier's ``t_``, which the "invscaling" schedule reads): their
        total sample weight when weighted; 0 with ``solver="lbfgs"``."""
        check_is_fitted(self)
        optimizer = getattr(self, "optimizer_", None)  # (a callback's snapshot has none)
        if optimizer is None:
            return 0
        seen = optimizer.samples_seen
        return int(seen) if float(seen).is_integer() else float(seen)

    @property
    def n_zero_coefs_(self):
        """Number of weights (coefficients, not intercepts) that are exactly zero.

        An L1 or elastic-net penalty makes weights exactly zero; L2 only makes them small.
        """
        check_is_fitted(self)
        return int(sum(np.count_nonzero(W == 0) for W in self.coefs_))

    # -- hooks of the subclasses ---------------------------------------------------------------

    def _encoded_targets(self, y, classes, continuing, incremental):
        """``(target attributes, Y, loss)``: the fitted attributes that describe the targets (set
        once training succeeds), the 2-D float target matrix and the output's loss name."""
        raise NotImplementedError

    def _combined_sample_weight(self, sample_weight, X, y, targets, incremental):
        """The per-sample weights training uses (None if all are 1)."""
        raise NotImplementedError

    def _stratification(self, y):
        """Labels to stratify the early-stopping split by, or None."""
        return None

    def _validation_score(self, loss):
        """``score(logits, Y, sample_weight)``, the early-stopping score (higher is better)."""
        raise NotImplementedError

    def _out_activation(self, loss):
        """The ``out_activation_`` of a network trained on ``loss``."""
        return loss

    def _reasons_against_lbfgs(self):
        """Why ``solver="lbfgs"`` cannot train this estimator's loss (none by default)."""
        return []

    def _n_output_columns(self):
        """Columns of the largest array prediction computes per row (for the chunk size)."""
        return self.n_outputs_

    def _map_logits(self, X, output, dropout=None):
        """``output(logits)`` for the rows of ``X`` of a fitted estimator, in bounded memory, on
        the threads allowed (:meth:`skreg._prediction.Prediction.map`)."""
        X = _validate_data(
            self, X, reset=False, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32)
        )
        if sp.issparse(X):
            X = X.tocsr()
        return self._prediction().map(X, output, dropout)

    def _prediction_chunk_rows(self, n_features, dtype, dropout=None):
        """Rows of the input per chunk of prediction (:meth:`Prediction.chunk_rows`)."""
        return self._prediction().chunk_rows(n_features, dtype, dropout)

    def _prediction(self):
        return Prediction(self.coefs_, self.intercepts_, self.activation, self._n_output_columns())

    def _dropout_mean_and_std(self, X, output, n_draws, random_state):
        """Monte-Carlo dropout: the mean and standard deviation of ``output(logits)`` over
        ``n_draws`` forward passes, each under fresh dropout masks drawn as in training (with
        the fitted ``keep_probs_``) from a stream seeded by ``random_state``."""
        keep_probs = tuple(self.keep_probs_.tolist())
        if all(p == 1 for p in keep_probs):
            raise ValueError(
                "return_std=True samples predictions under dropout (Monte-Carlo dropout), but "
                "this model was fitted with keep_prob=1.0: without dropout there is nothing to "
                "sample, and every draw would be the deterministic prediction. Fit with "
                "keep_prob < 1."
            )
        if isinstance(n_draws, bool) or not isinstance(n_draws, Integral) or n_draws < 2:
            raise ValueError(f"n_draws must be an integer >= 2; got {n_draws!r}.")
        stream = training_stream(check_random_state(random_state))
        draws = DropoutDraws(int(n_draws), keep_probs, stream)

        def mean_and_std(logits):
            values = output(logits)
            values = values.reshape(n_draws, -1, values.shape[1])
            # Draws beyond 1 are divided by a power of 2 (exactly) to at most 2, so that neither
            # the sum nor the squares overflow near the float range.
            exponent = np.frexp(np.abs(values).max(axis=0))[1]
            scale = np.ldexp(0.5, np.maximum(exponent, 1)).astype(values.dtype)
            values = values / scale
            return np.hstack([values.mean(axis=0) * scale, values.std(axis=0) * scale])

        result = self._map_logits(X, mean_and_std, draws)
        n_columns = result.shape[1] // 2
        return result[:, :n_columns], result[:, n_columns:]


def in_training_dtype(values, dtype, name):
    """``values`` (finite) in ``dtype``, the dtype of ``X`` in which training computes; refused,
    naming them ``name``, where they exceed its range."""
    with np.errstate(over="ignore"):
        cast = values.astype(dtype, copy=False)
    if not np.isfinite(cast).all():
        raise ValueError(
            f"{name} has values beyond the range of {np.dtype(dtype)}, the dtype of X in which "
            f"training computes (largest {np.finfo(dtype).max:.4g}): scale {name}, or pass X as "
            "float64."
        )
    return cast


def _distinct_costs(first, last):
    """``first`` and ``last`` (``first < last``) formatted with the fewest significant digits,
    4 at least, that tell them apart."""
    for digits in range(4, 18):
        texts = f"{first:.{digits}g}", f"{last:.{digits}g}"
        if texts[0] != texts[1]:
            return texts
    return texts


def _validate_data(estimator, *args, **kwargs):
    """``validate_data`` without a spurious RuntimeWarning on finite inputs near the float range.

    Its finiteness check first sums ``X``: finite entries of both signs near the float range sum to
    ``inf - inf``, which would raise an invalid-value warning before the exact check.
    """
    with np.errstate(invalid="ignore"):
        return validate_data(estimator, *args, **kwargs)


def available_if(check):
    """scikit-learn's ``available_if``: the decorated method exists on an instance only where
    ``check(instance)`` passes; but the error is the one ``check`` raises (an AttributeError,
    so that ``hasattr`` is False), which says why, instead of "has no attribute"."""
    return lambda method: _ConditionalMethod(method, check)


class _ConditionalMethod:
    def __init__(self, method, check):
        self.method, self.check = method, check
        update_wrapper(self, method)

    def __get__(self, instance, owner=None):
        if instance is None:
            return self.method
        self.check(instance)
        return MethodType(self.method, instance)


class PartialFitUnavailable(AttributeError, ValueError):
    """``partial_fit`` cannot run with these settings: an AttributeError, so that ``hasattr``
    hides the method, and a ValueError, which scikit-learn's MLP raises for
    ``early_stopping=True``."""


def partial_fit_available(estimator):
    """Whether ``partial_fit`` can run (the check of :func:`available_if`); raises
    :class:`PartialFitUnavailable`, saying why, when it cannot."""
    if estimator.solver == "lbfgs":
        raise PartialFitUnavailable(
            "partial_fit is not available with solver='lbfgs', which optimises the whole data "
            "at once; use solver='gd', 'momentum' or 'adam'."
        )
    if estimator.early_stopping:
        raise PartialFitUnavailable(
            "partial_fit does not support early_stopping=True: one epoch on a chunk holds out "
            "no validation split. Set early_stopping=False to train incrementally."
        )
    return True
