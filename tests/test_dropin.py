"""scikit-learn's MLP semantics that skreg shares (issue 23): ``n_iter_`` under ``warm_start``,
the early-stopping split, ``partial_fit``'s availability, log-probabilities, ``max_fun``,
``n_iter_no_change=np.inf`` and the early-stopping monitor ``scoring``."""

import inspect
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import balanced_accuracy_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks
from sklearn.utils._param_validation import InvalidParameterError

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor
from skreg._estimator import _distinct_costs

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_IRIS = StandardScaler().fit_transform(X_IRIS)
ESTIMATORS = [RegularizedMLPClassifier, RegularizedMLPRegressor]
ADAM = {"solver": "adam", "learning_rate": 0.01, "hidden_layer_sizes": (10,), "random_state": 0}


def quietly(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


# -- 1. n_iter_ counts the epochs of the latest fit ---------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", ["gd", "adam", "lbfgs"])
def test_warm_start_n_iter_counts_the_latest_fit(Estimator, solver):
    model = Estimator(**{**ADAM, "solver": solver}, max_iter=3, warm_start=True)
    quietly(lambda: model.fit(X_IRIS, Y_IRIS))
    first_curve = list(model.loss_curve_)
    quietly(lambda: model.fit(X_IRIS, Y_IRIS))
    assert model.n_iter_ == 3
    assert model.loss_curve_[:3] == first_curve and len(model.loss_curve_) == 6


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_warm_start_with_early_stopping_keeps_the_histories_aligned(Estimator):
    model = Estimator(**ADAM, max_iter=10, early_stopping=True, warm_start=True)
    model.set_params(n_iter_no_change=100)
    quietly(lambda: model.fit(X_IRIS, Y_IRIS))
    quietly(lambda: model.set_params(max_iter=20).fit(X_IRIS, Y_IRIS))
    assert model.n_iter_ == 20
    assert len(model.validation_scores_) == len(model.loss_curve_) == 30
    assert model.best_validation_score_ == max(model.validation_scores_[-20:])


def test_partial_fit_adds_its_epoch_to_those_since_fit():
    model = RegularizedMLPClassifier(**ADAM, max_iter=5).fit(X_IRIS, Y_IRIS)
    model.partial_fit(X_IRIS, Y_IRIS).partial_fit(X_IRIS, Y_IRIS)
    assert model.n_iter_ == 7 == len(model.loss_curve_)


def test_n_iter_no_change_may_be_infinite_and_then_runs_max_iter():
    model = RegularizedMLPClassifier(**ADAM, max_iter=10, tol=1.0, n_iter_no_change=np.inf)
    with pytest.warns(ConvergenceWarning, match="max_iter=10"):
        model.fit(X_IRIS, Y_IRIS)
    assert model.n_iter_ == 10
    with pytest.raises(InvalidParameterError, match="n_iter_no_change"):
        RegularizedMLPClassifier(n_iter_no_change=-np.inf).fit(X_IRIS, Y_IRIS)


# -- 2, 3. the early-stopping split -------------------------------------------------------------


def test_early_stopping_refuses_a_class_it_cannot_stratify():
    X, y = [[1, 2], [2, 3], [3, 4], [4, 5]], [0, 0, 0, 1]
    with pytest.raises(ValueError, match=r"The least populated class.* 1 member"):
        RegularizedMLPClassifier(early_stopping=True, validation_fraction=0.5).fit(X, y)
    # Too few held-out rows for the classes: one row cannot hold both.
    X, y = np.arange(12.0).reshape(-1, 1), [0, 1] * 6
    with pytest.raises(ValueError, match="early_stopping=True holds out a validation split"):
        RegularizedMLPClassifier(early_stopping=True, validation_fraction=0.05).fit(X, y)


@pytest.mark.parametrize("n_samples", [2, 10])
def test_a_validation_set_of_one_row_is_refused(n_samples):
    X, y = make_regression(n_samples=n_samples, n_features=5, random_state=0)
    with pytest.raises(ValueError, match="The validation set is too small"):
        RegularizedMLPRegressor(early_stopping=True, random_state=0).fit(X, y)
    if n_samples == 10:  # two held-out rows suffice
        model = RegularizedMLPRegressor(early_stopping=True, validation_fraction=0.2, max_iter=5)
        quietly(lambda: model.fit(X, y))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_a_split_of_merged_repeated_rows_says_how_many_rows_it_split(Estimator):
    """Full-batch training splits the distinct rows (no copy of a validation row is trained on):
    1000 samples of 8 distinct rows are too few, and the message says why."""
    X = np.random.RandomState(0).randint(0, 2, (1000, 3)).astype(float)
    y = (X.sum(axis=1) > 1).astype(int)
    message = "of 8 distinct rows of positive weight, of 1000 samples"
    with pytest.raises(ValueError, match=message):
        Estimator(early_stopping=True, random_state=0).fit(X, y)


# -- 4, 6. partial_fit exists only where it can run ---------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "params, message",
    [
        ({"solver": "lbfgs"}, "partial_fit is not available with solver='lbfgs'"),
        ({"early_stopping": True}, "partial_fit does not support early_stopping=True"),
    ],
)
def test_partial_fit_is_hidden_where_it_cannot_run(Estimator, params, message):
    assert hasattr(Estimator(), "partial_fit")
    model = Estimator(**params)
    assert not hasattr(model, "partial_fit")
    with pytest.raises(ValueError, match=message):
        model.partial_fit(X_IRIS, Y_IRIS)
    # After a fit too, which scikit-learn's MLP refuses as well.
    quietly(lambda: model.set_params(max_iter=5).fit(X_IRIS, Y_IRIS))
    with pytest.raises(ValueError, match=message):
        model.partial_fit(X_IRIS, Y_IRIS)
    assert Estimator.partial_fit.__doc__.startswith("Train for one epoch")


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("seed", range(3))
def test_a_sparse_multilabel_or_multi_output_y_trains_the_model_of_its_dense_copy(
    Estimator, fmt, seed
):
    """As scikit-learn's MLPClassifier takes a sparse label indicator matrix."""
    X, Y = make_multilabel_classification(n_samples=60, n_classes=4, random_state=seed)
    X = StandardScaler().fit_transform(X)
    params = {**ADAM, "keep_prob": 0.8, "max_iter": 20, "random_state": seed}
    Y_sparse = getattr(sp, f"{fmt}_matrix")(Y)
    sparse_model = quietly(lambda: Estimator(**params).fit(X, Y_sparse))
    dense_model = quietly(lambda: Estimator(**params).fit(X, Y))
    for sparse_W, dense_W in zip(sparse_model.coefs_, dense_model.coefs_):
        np.testing.assert_array_equal(sparse_W, dense_W)
    np.testing.assert_array_equal(sparse_model.predict(X), dense_model.predict(X))


@pytest.mark.parametrize(
    ("Estimator", "MLP"),
    [(RegularizedMLPClassifier, MLPClassifier), (RegularizedMLPRegressor, MLPRegressor)],
)
def test_partial_fit_takes_its_arguments_in_the_mlps_order(Estimator, MLP):
    """Code written for MLPClassifier passes sample weights third, by position: they weigh the
    chunk (they were taken as ``classes``, and 0/1 weights trained unweighted, silently). The
    MLPs' order since scikit-learn 1.7, which gave their ``partial_fit`` sample weights."""
    names = list(inspect.signature(Estimator.partial_fit).parameters)
    extra = ["classes"] if Estimator is RegularizedMLPClassifier else []
    assert names == ["self", "X", "y", "sample_weight", *extra]
    mlp_names = list(inspect.signature(MLP.partial_fit).parameters)
    if "sample_weight" in mlp_names:
        assert names == mlp_names
    y = Y_IRIS if Estimator is RegularizedMLPClassifier else X_IRIS[:, 0]
    weights = (np.arange(len(y)) % 2).astype(float)
    first = {"classes": np.unique(Y_IRIS)} if Estimator is RegularizedMLPClassifier else {}
    by_position, by_name = Estimator(**ADAM), Estimator(**ADAM)
    by_position.partial_fit(X_IRIS, y, **first)
    by_name.partial_fit(X_IRIS, y, **first)
    by_position.partial_fit(X_IRIS, y, weights)
    by_name.partial_fit(X_IRIS, y, sample_weight=weights)
    unweighted = Estimator(**ADAM)
    unweighted.partial_fit(X_IRIS, y, **first)
    unweighted.partial_fit(X_IRIS, y)
    for a, b in zip(by_position.coefs_, by_name.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(by_position.coefs_[0], unweighted.coefs_[0])


@pytest.mark.parametrize("continue_with", ["partial_fit", "warm_start"])
def test_classes_keep_the_first_fits_array(continue_with):
    """Equal classes in another dtype continue training, as in MLPClassifier, and leave
    ``classes_`` (so the dtype of predictions) as the first fit set it."""
    y = Y_IRIS.astype(np.int64)
    model = RegularizedMLPClassifier(**ADAM, max_iter=2, warm_start=continue_with == "warm_start")
    if continue_with == "partial_fit":
        model.partial_fit(X_IRIS, y, classes=np.array([0, 1, 2]))
        model.partial_fit(X_IRIS, y.astype(float), classes=np.array([0.0, 1.0, 2.0]))
    else:
        quietly(lambda: model.fit(X_IRIS, y))
        quietly(lambda: model.fit(X_IRIS, y.astype(float)))
    assert model.classes_.dtype == np.int64
    assert model.predict(X_IRIS).dtype == np.int64


@pytest.mark.parametrize(
    "params",
    [
        {"solver": "gd", "max_iter": 7},
        {"solver": "adam", "batch_size": 32, "max_iter": 3},
        {"solver": "adam", "batch_size": 32, "max_iter": 3, "early_stopping": True},
        {"solver": "lbfgs", "max_iter": 5},
    ],
)
def test_t_counts_the_samples_the_solver_saw_as_mlpclassifiers(params):
    sklearn_params = dict(params, tol=0, n_iter_no_change=100, random_state=0)
    if params["solver"] == "gd":
        sklearn_params |= {"solver": "sgd", "momentum": 0, "batch_size": len(Y_IRIS)}
    model = quietly(lambda: RegularizedMLPClassifier(**params, random_state=0).fit(X_IRIS, Y_IRIS))
    mlp = quietly(lambda: MLPClassifier(**sklearn_params).fit(X_IRIS, Y_IRIS))
    assert model.t_ == mlp.t_ and isinstance(model.t_, int)
    if params["solver"] != "lbfgs":
        model.set_params(warm_start=True)
        quietly(lambda: model.fit(X_IRIS, Y_IRIS))
        assert model.t_ == 2 * mlp.t_
    assert not hasattr(RegularizedMLPClassifier(), "t_")


# -- 5. log-probabilities are the logarithm of the probabilities --------------------------------


def test_multilabel_log_proba_ranks_labels_as_predict_proba():
    X, Y = make_multilabel_classification(n_samples=50, random_state=0)
    model = RegularizedMLPClassifier(
        solver="lbfgs", hidden_layer_sizes=(30,), lambd=1e-4, max_iter=200, random_state=0
    )
    quietly(lambda: model.fit(X, Y))
    proba, log_proba = model.predict_proba(X), model.predict_log_proba(X)
    np.testing.assert_array_equal(proba > 0.5, Y)
    np.testing.assert_array_equal(log_proba.argmax(axis=1), proba.argmax(axis=1))
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(log_proba, np.log(proba))


# -- 6. max_fun ---------------------------------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_max_fun_bounds_the_evaluations_of_lbfgs(Estimator):
    model = Estimator(solver="lbfgs", hidden_layer_sizes=(50,), max_iter=150, max_fun=10)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        model.fit(X_IRIS, Y_IRIS)
    assert model.n_iter_ <= 10
    with pytest.raises(InvalidParameterError, match="max_fun"):
        Estimator(solver="lbfgs", max_fun=0).fit(X_IRIS, Y_IRIS)


# -- early stopping's monitor -------------------------------------------------------------------


def early_stopped(**params):
    settings = {**ADAM, "early_stopping": True, "max_iter": 60, "n_iter_no_change": 100}
    return quietly(lambda: RegularizedMLPClassifier(**settings, **params).fit(X_IRIS, Y_IRIS))


def test_a_scorer_scores_each_epoch_as_the_builtin_monitors_do():
    accuracy, scored = early_stopped(scoring=None), early_stopped(scoring="accuracy")
    assert accuracy.validation_scores_ == scored.validation_scores_
    loss = early_stopped(scoring="loss", class_weight={0: 2.0, 1: 1.0, 2: 1.0})
    log_loss = early_stopped(scoring="neg_log_loss", class_weight={0: 2.0, 1: 1.0, 2: 1.0})
    np.testing.assert_allclose(loss.validation_scores_, log_loss.validation_scores_, rtol=1e-9)
    assert max(loss.validation_scores_) < 0


def test_a_callable_scorer_rates_the_weights_of_each_epoch():
    rated = []

    def balanced(estimator, X, y):
        rated.append(estimator.coefs_[0].copy())
        return balanced_accuracy_score(y, estimator.predict(X))

    model = early_stopped(scoring=balanced)
    assert len(rated) == model.n_iter_ == 60
    assert not np.array_equal(rated[0], rated[-1])
    assert model.best_validation_score_ == max(model.validation_scores_) > 0.8


def test_a_scorer_sees_no_feature_names_and_raises_no_warning():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(X_IRIS, columns=["a", "b", "c", "d"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = RegularizedMLPClassifier(**ADAM, early_stopping=True, scoring="f1_macro")
        model.set_params(max_iter=300, n_iter_no_change=10).fit(X, Y_IRIS)
    assert list(model.feature_names_in_) == ["a", "b", "c", "d"]


def test_an_unknown_scoring_is_refused_by_name():
    with pytest.raises(InvalidParameterError, match="'scoring' parameter"):
        RegularizedMLPClassifier(early_stopping=True, scoring="acuracy").fit(X_IRIS, Y_IRIS)


@pytest.mark.parametrize("seed", range(4))
def test_the_loss_monitor_serves_strong_class_weights(monkeypatch, seed):
    """scikit-learn's check_class_weight_classifiers (class weights 1000 : 0.0001) on mini-batch
    Adam with early stopping, at several seeds: the weighted accuracy would saturate in the
    first epochs and stop training before the weights move the boundary."""
    monkeypatch.setattr(
        estimator_checks, "set_random_state", lambda model: model.set_params(random_state=seed)
    )
    model = RegularizedMLPClassifier(
        solver="adam", batch_size=32, early_stopping=True, learning_rate=0.01
    )
    quietly(lambda: estimator_checks.check_class_weight_classifiers("MLP", model))


# -- quiet warnings -----------------------------------------------------------------------------


def test_a_rising_cost_is_reported_with_digits_that_tell_the_costs_apart():
    assert _distinct_costs(0.69314718, 0.69314720) == ("0.69314718", "0.6931472")
    assert _distinct_costs(0.5, 2.0) == ("0.5", "2")
    model = RegularizedMLPClassifier()
    with pytest.warns(ConvergenceWarning, match="from 0.69314718 to 0.6931472: learning_rate"):
        model._warn_if_not_converged([0.69314718, 0.6931, 0.69314720], None, incremental=False)
