"""Early stopping's scikit-learn glue: the held-out split of the rows and the monitor
(``scoring``), a :class:`~skreg._stopping_rules.ValidationStopper`."""

import copy
import inspect
import math

import numpy as np
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split

from ._stopping_rules import ValidationStopper, negative_loss_scorer
from ._training import Rows


def validation_split(rows, fraction, stratify, rng):
    """Hold out ``fraction`` of ``rows`` (:class:`~skreg._training.Rows`), stratified by the
    labels ``stratify`` when given (as scikit-learn's MLP stratifies a classifier of one output),
    shuffled by ``rng``; returns the rows to train on and the held-out rows."""
    n_rows = rows.X.shape[0]
    described = f"{n_rows} samples"
    if rows.merged_from is not None and rows.merged_from != n_rows:
        described = (
            f"{n_rows} distinct rows of positive weight, of {rows.merged_from} samples "
            "(full-batch training merges repeated rows before the split, so that no copy "
            "of a validation row is trained on)"
        )
    n_val = int(np.ceil(fraction * n_rows))
    if n_val >= n_rows:
        raise ValueError(
            f"validation_fraction={fraction} of {described} holds out all of them for early "
            "stopping and leaves none to train on; use a smaller validation_fraction or more data."
        )
    weighted = rows.sample_weight is not None
    arrays = [rows.X, rows.Y, rows.y] + ([rows.sample_weight] if weighted else [])
    try:
        parts = train_test_split(*arrays, test_size=n_val, stratify=stratify, random_state=rng)
    except ValueError as error:  # classes too small to stratify
        raise ValueError(
            "early_stopping=True holds out a validation split stratified by class, which "
            "needs at least 2 rows of every class and at least as many held-out rows as "
            f"classes; validation_fraction={fraction} of {described} holds out {n_val} "
            f"({error}). Use more data, a larger validation_fraction or early_stopping=False."
        ) from error
    if n_val < 2:
        raise ValueError(
            f"The validation set is too small: validation_fraction={fraction} of {described} "
            f"holds out {n_val} for early stopping, which needs at least 2. Increase "
            "'validation_fraction' or the size of your dataset."
        )
    training, held_out = Rows(*parts[0::2]), Rows(*parts[1::2])
    for part, name in [(training, "training"), (held_out, "validation")]:
        if weighted and not part.sample_weight.sum() > 0:
            raise ValueError(
                f"early_stopping left the {name} split with no sample of positive "
                "sample_weight; use another validation_fraction, "
                "another random_state or positive weights."
            )
    return training, held_out


def early_stopping_monitor(estimator, held_out, params, model):
    """The :class:`ValidationStopper` of ``estimator.early_stopping``, scoring the ``held_out``
    rows (:class:`~skreg._training.Rows`) as ``estimator.scoring`` says; ``model``: the keyword
    arguments of ``estimator._model_attributes`` besides the parameters (targets, loss,
    dropout)."""
    patience = (estimator.tol or 0.0, estimator.n_iter_no_change)
    scoring = estimator.scoring
    if scoring is None:
        score = estimator._validation_score(model["loss"])
    elif isinstance(scoring, str) and scoring == "loss":
        score = negative_loss_scorer(model["loss"])
    else:
        scorer = check_scoring(estimator, scoring=scoring)
        return ScorerStopper(EpochModel(estimator, model), scorer, held_out, params, *patience)
    X, Y, weights = held_out.X, held_out.Y, held_out.sample_weight
    return ValidationStopper(X, Y, params, score, *patience, sample_weight_val=weights)


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
    that epoch's parameters (``model(params)``) on the ``held_out`` rows."""

    def __init__(self, model, scorer, held_out, params, tol, n_iter_no_change):
        X, Y, weights = held_out.X, held_out.Y, held_out.sample_weight
        super().__init__(X, Y, params, None, tol, n_iter_no_change, sample_weight_val=weights)
        self.model, self.scorer, self.X_val, self.y_val = model, scorer, X, held_out.y
        self.weighted = _takes_sample_weight(scorer)

    def validation_score(self, params):
        weights = self.sample_weight_val
        kwargs = {} if weights is None or not self.weighted else {"sample_weight": weights}
        with np.errstate(over="ignore", invalid="ignore"):
            score = float(self.scorer(self.model(params), self.X_val, self.y_val, **kwargs))
        if math.isnan(score):
            raise ValueError(
                f"The early-stopping scorer {self.scorer!r} gave NaN for the held-out rows after "
                f"epoch {len(self.scores) + 1}: early stopping compares scores, and NaN compares "
                "with none. Use a scoring that gives a number for every model, or "
                "early_stopping=False."
            )
        return score


def _takes_sample_weight(scorer):
    """Whether ``scorer`` takes a ``sample_weight`` keyword (scikit-learn's scorers do)."""
    parameters = inspect.signature(scorer).parameters.values()
    return any(p.name == "sample_weight" or p.kind == p.VAR_KEYWORD for p in parameters)
