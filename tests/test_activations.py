"""The hidden layers' ``activation``, as the estimator's users meet it."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import InvalidParameterError

from skreg import RegularizedMLPClassifier
from skreg._base import ACTIVATIONS as skreg_activations
from skreg._engines import compiled_engine
from skreg._network import LayerOutputs, Parameters, forward, init_parameters, with_ones_column
from skreg._stopping_rules import ValidationStopper, accuracy_scorer

ACTIVATIONS = ["relu", "tanh", "logistic", "identity", "leaky_relu"]
NONLINEAR = ["relu", "tanh", "logistic", "leaky_relu"]


def test_relu_is_the_default_and_activation_follows_hidden_layer_sizes():
    assert RegularizedMLPClassifier().activation == "relu"
    names = list(RegularizedMLPClassifier.__init__.__code__.co_varnames)
    assert names.index("activation") == names.index("hidden_layer_sizes") + 1


def test_an_explicit_relu_is_the_default_bit_for_bit(moons):
    X, y = moons
    default = RegularizedMLPClassifier(max_iter=300, keep_prob=0.8, random_state=0).fit(X, y)
    relu = RegularizedMLPClassifier(
        activation="relu", max_iter=300, keep_prob=0.8, random_state=0
    ).fit(X, y)
    for a, b in zip(default.coefs_ + default.intercepts_, relu.coefs_ + relu.intercepts_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("activation", ["sigmoid", "ReLU", "softmax", "", None, 1])
def test_an_unknown_activation_is_a_clear_error(moons, activation):
    X, y = moons
    model = RegularizedMLPClassifier(activation=activation, max_iter=5)
    with pytest.raises(InvalidParameterError, match=r"The 'activation' parameter of "
                       r"RegularizedMLPClassifier must be a str among .*'leaky_relu'"):  # fmt: skip
        model.fit(X, y)


@pytest.mark.parametrize("activation", NONLINEAR)
def test_every_nonlinear_activation_learns_the_moons(moons, activation, engine):
    X, y = moons
    model = RegularizedMLPClassifier(
        activation=activation, max_iter=3000, random_state=0, engine=engine
    ).fit(X, y)
    assert model.score(X, y) > 0.9


def test_identity_hidden_layers_make_a_linear_classifier(moons):
    """Identity units compose affine maps: the network is logistic regression (its weights
    factored), whatever the hidden layers; it separates the moons no better than a line."""
    X, y = moons
    model = RegularizedMLPClassifier(activation="identity", max_iter=3000, random_state=0)
    model.fit(X, y)
    rng = np.random.RandomState(0)
    a, b, t = X[rng.permutation(len(X))], X, rng.uniform(size=(len(X), 1))
    np.testing.assert_allclose(
        model.decision_function(t * a + (1 - t) * b),
        t[:, 0] * model.decision_function(a) + (1 - t[:, 0]) * model.decision_function(b),
        rtol=1e-9, atol=1e-9,
    )  # fmt: skip
    linear = LogisticRegression().fit(X, y).score(X, y)
    assert abs(model.score(X, y) - linear) <= 0.02


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_prediction_uses_the_activation(three_blobs, activation):
    """``decision_function`` is the forward pass with the model's activation."""
    X, y = three_blobs
    model = RegularizedMLPClassifier(activation=activation, max_iter=200, random_state=0)
    model.fit(X, y)
    params = Parameters.from_arrays(model.coefs_, model.intercepts_, activation=activation)
    outputs = LayerOutputs.allocate(len(X), params.layer_units, np.float64)
    expected = forward(with_ones_column(X), params.layers, outputs, activation=activation)
    np.testing.assert_allclose(model.decision_function(X), expected, rtol=1e-12)
    if activation != "relu":
        relu = Parameters.from_arrays(model.coefs_, model.intercepts_)
        relu_logits = forward(with_ones_column(X), relu.layers, outputs)
        assert not np.allclose(model.decision_function(X), relu_logits)


@pytest.mark.parametrize("activation", ["tanh", "leaky_relu"])
def test_early_stopping_scores_the_network_with_its_activation(three_blobs, activation):
    X, y = three_blobs
    Y = np.eye(3)[y]
    params = init_parameters([2, 6, 3], np.random.RandomState(0), activation=activation)
    stopper = ValidationStopper(X, Y, params, accuracy_scorer("softmax"), 0.0, 5)
    outputs = LayerOutputs.allocate(len(X), params.layer_units, np.float64)
    logits = forward(with_ones_column(X), params.layers, outputs, activation=activation)
    assert stopper.validation_score(params) == np.mean(logits.argmax(axis=1) == y)
    model = RegularizedMLPClassifier(
        activation=activation, early_stopping=True, scoring=None, max_iter=500, random_state=0
    ).fit(X, y)
    assert model.best_validation_score_ == max(model.validation_scores_) > 0.8


@pytest.mark.parametrize("activation", ["tanh", "logistic"])
def test_warm_start_and_partial_fit_continue_with_the_activation(moons, activation):
    """Two warm-started fits of 100 full-batch epochs are one fit of 200."""
    X, y = moons
    once = RegularizedMLPClassifier(activation=activation, max_iter=200, random_state=0)
    once.fit(X, y)
    twice = RegularizedMLPClassifier(
        activation=activation, max_iter=100, warm_start=True, random_state=0
    )
    twice.fit(X, y).fit(X, y)
    for a, b in zip(once.coefs_ + once.intercepts_, twice.coefs_ + twice.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    before = twice.loss_curve_[-1]
    twice.partial_fit(X, y)
    assert twice.loss_curve_[-1] < before


RISING_COST_REASONS = {
    "relu": "units whose ReLU input stays negative stop learning",
    "leaky_relu": "the steps overshoot the minimum",
    "tanh": "units driven into the flat tails of tanh stop learning",
    "logistic": "flat tails of the logistic function",
    "identity": "the steps overshoot the minimum",
}


def test_these_tests_cover_every_activation():
    assert sorted(ACTIVATIONS) == sorted(skreg_activations)
    assert sorted(RISING_COST_REASONS) == sorted(skreg_activations)


@pytest.mark.parametrize("activation, reason", RISING_COST_REASONS.items())
def test_the_rising_cost_warning_explains_it_for_the_activation(activation, reason):
    model = RegularizedMLPClassifier(activation=activation, learning_rate=50.0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model._warn_if_not_converged([0.7, 3.5], stopper=None, incremental=False)
    [warning] = record
    assert issubclass(warning.category, ConvergenceWarning)
    message = str(warning.message)
    assert message.startswith("The cost rose during training, from 0.7 to 3.5")
    assert "learning_rate=50.0 is probably too large" in message and reason in message
    if activation != "relu":
        assert "ReLU" not in message


@pytest.mark.skipif(compiled_engine() is None, reason="the compiled engine is not built")
@pytest.mark.parametrize("activation", ["tanh", "logistic", "leaky_relu"])
def test_engines_fit_the_same_model_for_every_activation(three_blobs, activation):
    X, y = three_blobs
    params = dict(
        activation=activation, solver="adam", batch_size=32, learning_rate=0.01, keep_prob=0.8,
        lambd=0.1, early_stopping=True, n_iter_no_change=5, max_iter=100, random_state=0,
    )  # fmt: skip
    models = [RegularizedMLPClassifier(engine=e, **params).fit(X, y) for e in ("numpy", "compiled")]
    assert models[0].n_iter_ == models[1].n_iter_
    for W, W_numpy in zip(models[1].coefs_, models[0].coefs_):
        np.testing.assert_allclose(W, W_numpy, rtol=1e-8, atol=1e-10)
