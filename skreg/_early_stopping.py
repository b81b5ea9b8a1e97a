"""Early stopping's monitor (``scoring``) and when ``partial_fit`` is available: the
scikit-learn glue of :class:`~skreg._stopping_rules.ValidationStopper`."""

import copy
import inspect
from functools import update_wrapper
from types import MethodType

import numpy as np
from sklearn.metrics import check_scoring

from ._stopping_rules import ValidationStopper, negative_loss_scorer


def early_stopping_monitor(estimator, X_val, Y_val, y_val, sample_weight_val, params, model):
    """The :class:`ValidationStopper` of ``estimator.early_stopping``, scoring the held-out rows
    (``X_val`` with encoded targets ``Y_val``, targets ``y_val`` and sample weights
    ``sample_weight_val``) as ``estimator.scoring`` says; ``model``: the keyword arguments of
    ``estimator._model_attributes`` besides the parameters (targets, loss, dropout)."""
    settings = (estimator.tol or 0.0, estimator.n_iter_no_change, sample_weight_val)
    scoring = estimator.scoring
    if scoring is None:
        score = estimator._validation_score(model["loss"])
    elif isinstance(scoring, str) and scoring == "loss":
        score = negative_loss_scorer(model["loss"])
    else:
        scorer = check_scoring(estimator, scoring=scoring)
        epoch_model = EpochModel(estimator, model)
        return ScorerStopper(epoch_model, scorer, y_val, X_val, Y_val, params, None, *settings)
    return ValidationStopper(X_val, Y_val, params, score, *settings)


class EpochModel:
    """Copies of an estimator in the middle of its fit that predict with given parameters."""

    def __init__(self, estimator, model):
        self.estimator, self.model = estimator, model

    def __call__(self, params):
        model = copy.copy(self.estimator)
        vars(model).update(self.estimator._model_attributes(params, **self.model))
        vars(model).pop("feature_names_in_", None)  # the held-out rows are an array
        return model


class ScorerStopper(ValidationStopper):
    """Early stopping on a scikit-learn scorer: each epoch, ``scorer`` rates the estimator with
    that epoch's parameters (``model(params)``) on the held-out rows ``X_val``, ``y_val``."""

    def __init__(self, model, scorer, y_val, X_val, *args):
        super().__init__(X_val, *args)
        self.model, self.scorer, self.X_val, self.y_val = model, scorer, X_val, y_val
        self.weighted = _takes_sample_weight(scorer)

    def validation_score(self, params):
        weights = self.sample_weight_val
        kwargs = {} if weights is None or not self.weighted else {"sample_weight": weights}
        with np.errstate(over="ignore", invalid="ignore"):
            return float(self.scorer(self.model(params), self.X_val, self.y_val, **kwargs))


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


def _takes_sample_weight(scorer):
    """Whether ``scorer`` takes a ``sample_weight`` keyword (scikit-learn's scorers do)."""
    parameters = inspect.signature(scorer).parameters.values()
    return any(p.name == "sample_weight" or p.kind == p.VAR_KEYWORD for p in parameters)


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
