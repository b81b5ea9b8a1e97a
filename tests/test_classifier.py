"""RegularizedMLPClassifier as a scikit-learn user meets it."""

import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, PredefinedSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier


def small(**params):
    """A quick model for tests that do not need the full 30000 iterations."""
    return RegularizedMLPClassifier(**{"max_iter": 1500, "random_state": 0, **params})


def test_fitted_attributes_follow_mlpclassifier(moons):
    X, y = moons
    model = small(hidden_layer_sizes=(7, 4)).fit(X, y)
    assert [W.shape for W in model.coefs_] == [(2, 7), (7, 4), (4, 1)]
    assert [b.shape for b in model.intercepts_] == [(7,), (4,), (1,)]
    assert model.n_layers_ == 4 and model.n_outputs_ == 1
    assert model.out_activation_ == "logistic"
    assert model.n_iter_ == 1500 == len(model.loss_curve_)
    assert model.loss_ == model.loss_curve_[-1] < model.loss_curve_[0]
    np.testing.assert_array_equal(model.classes_, [0, 1])
    assert model.score(X, y) > 0.9


def test_three_classes_use_softmax(three_blobs):
    X, y = three_blobs
    model = small().fit(X, y)
    assert model.out_activation_ == "softmax" and model.n_outputs_ == 3
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(model.predict_log_proba(X), np.log(proba), atol=1e-12)
    assert model.score(X, y) > 0.9


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("data", ["moons", "three_blobs"])
def test_log_proba_is_the_log_of_proba_even_where_proba_underflows(data, dtype, request):
    X, y = request.getfixturevalue(data)
    model = small(max_iter=200).fit(X.astype(dtype), y)
    model.coefs_[-1] *= 1e4  # logits of the order of 1e4: most probabilities underflow to 0
    proba, log_proba = model.predict_proba(X), model.predict_log_proba(X)
    assert proba.dtype == log_proba.dtype == np.float64
    underflowed = proba == 0
    assert underflowed.any() and not underflowed.all(axis=1).any()
    np.testing.assert_array_equal(np.isneginf(log_proba), underflowed)
    np.testing.assert_allclose(np.exp(log_proba), proba, rtol=1e-12, atol=0)


def test_string_labels(three_blobs):
    X, y = three_blobs
    names = np.array(["keeper", "defender", "striker"])[y]
    model = small().fit(X, names)
    np.testing.assert_array_equal(model.classes_, ["defender", "keeper", "striker"])
    assert set(model.predict(X)) <= set(names)
    assert model.score(X, names) > 0.9


def test_binary_predict_follows_the_sign_of_the_decision_function(moons):
    X, y = moons
    model = small().fit(X, y + 5)
    scores = model.decision_function(X)
    assert scores.shape == (len(X),)
    np.testing.assert_array_equal(model.predict(X), np.where(scores > 0, 6, 5))
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], 1 / (1 + np.exp(-scores)))


def test_pipeline_and_cross_val_score(moons):
    X, y = moons
    pipe = make_pipeline(StandardScaler(), small(lambd=0.1))
    scores = cross_val_score(pipe, X * 50 + 3, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8


def test_grid_search_tunes_lambd_and_keep_prob_on_a_dev_set(moons):
    X, y = moons
    dev_fold = np.where(np.arange(len(y)) < 150, -1, 0)  # last 50 samples are the dev set
    search = GridSearchCV(
        small(), {"lambd": [0.0, 0.5, 5.0], "keep_prob": [1.0, 0.8]}, cv=PredefinedSplit(dev_fold)
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 6
    assert search.best_score_ > 0.85
    # The refit model is the one the best parameters train (clone and set_params keep them all).
    refit = small(**search.best_params_).fit(X, y)
    np.testing.assert_array_equal(search.best_estimator_.coefs_[0], refit.coefs_[0])


def test_l2_shrinks_the_weights(moons):
    X, y = moons
    norms = [sum(np.sum(W**2) for W in small(lambd=lambd).fit(X, y).coefs_) for lambd in (0, 1, 10)]
    assert norms[0] > norms[1] > norms[2]


def test_same_random_state_same_model(moons, engine):
    X, y = moons
    first = small(keep_prob=0.7, engine=engine).fit(X, y)
    second = clone(first).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    different = small(keep_prob=0.7).set_params(random_state=1).fit(X, y)
    assert not np.array_equal(first.predict_proba(X), different.predict_proba(X))


def test_dropout_changes_training_but_not_prediction(moons):
    X, y = moons
    model = small(keep_prob=0.5).fit(X, y)
    assert not np.array_equal(model.coefs_[0], small().fit(X, y).coefs_[0])
    proba = model.predict_proba(X)
    np.testing.assert_array_equal(model.predict_proba(X), proba)  # no random units dropped
    model.set_params(keep_prob=0.1)
    np.testing.assert_array_equal(model.predict_proba(X), proba)


def test_pickle_round_trip(three_blobs):
    X, y = three_blobs
    model = small().fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


def test_verbose_prints_the_cost_like_the_notebook(moons, capsys, engine):
    X, y = moons
    model = small(max_iter=2001, verbose=1, engine=engine).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"Cost after iteration {i}: {model.loss_curve_[i]}" for i in (0, 1000, 2000)]


def test_inputs_are_not_modified(moons, engine):
    X, y = moons
    X_copy, y_copy = X.copy(), y.copy()
    model = small(keep_prob=0.8, lambd=0.3, engine=engine).fit(X, y)
    model.predict_proba(X)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_float32_input_trains_in_float32(moons, engine):
    X, y = moons
    model = small(engine=engine).fit(X.astype(np.float32), y)
    assert all(W.dtype == np.float32 for W in model.coefs_)
    assert model.score(X, y) > 0.9


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X_is_rejected(moons, bad):
    X, y = moons
    X = X.copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        small().fit(X, y)
    model = small(max_iter=5).fit(moons[0], y)
    with pytest.raises(ValueError, match="Input X contains"):
        model.predict(X)


def test_wrong_number_of_features_at_predict(moons):
    X, y = moons
    model = small(max_iter=5).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 2 features"):
        model.predict(np.ones((4, 3)))


def test_one_class_only():
    with pytest.raises(ValueError, match="at least 2 classes.*only one class: 1"):
        small().fit(np.ones((5, 2)), np.ones(5, dtype=int))


def test_continuous_target():
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        small().fit(np.ones((5, 2)), np.linspace(0, 1, 5))


def test_empty_X():
    with pytest.raises(ValueError, match="0 sample"):
        small().fit(np.empty((0, 2)), np.empty(0))


@pytest.mark.parametrize(
    "param, value, message",
    [
        ("lambd", -0.1, "'lambd' parameter .* must be a float in the range [0.0, inf)"),
        ("lambd", np.nan, "'lambd' parameter"),
        ("keep_prob", 0.0, "'keep_prob' parameter .* in the range [2.3283064365386963e-10, 1.0]"),
        ("keep_prob", 1.5, "'keep_prob' parameter .* in the range [2.3283064365386963e-10, 1.0]"),
        ("learning_rate", 0.0, "'learning_rate' parameter .* in the range (0.0, inf)"),
        ("max_iter", 0, "'max_iter' parameter"),
        ("hidden_layer_sizes", (20, 0), "hidden_layer_sizes must be a non-empty sequence"),
        ("hidden_layer_sizes", (), "hidden_layer_sizes must be a non-empty sequence"),
        ("hidden_layer_sizes", (3.5,), "hidden_layer_sizes must be a non-empty sequence"),
        ("hidden_layer_sizes", "big", "'hidden_layer_sizes' parameter"),
    ],
)
def test_out_of_range_hyperparameters(moons, param, value, message):
    X, y = moons
    with pytest.raises(ValueError, match=re.escape(message).replace(r"\.\*", ".*")):
        small(**{param: value}).fit(X, y)


def test_diverging_learning_rate_raises_and_leaves_no_model(moons, engine):
    X, y = moons
    model = small(learning_rate=1e200, engine=engine)
    with pytest.raises(ValueError, match=r"diverged at iteration \d+.*smaller learning_rate"):
        model.fit(X, y)
    assert not hasattr(model, "coefs_")


def test_too_large_learning_rate_that_kills_the_network_warns(moons, engine):
    X, y = moons
    with pytest.warns(ConvergenceWarning, match="cost rose .* smaller learning_rate"):
        small(learning_rate=100.0, engine=engine).fit(X, y)
