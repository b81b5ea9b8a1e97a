"""Numerical extremes: training converges or raises the documented divergence error, and the
probabilities are never NaN, at fit time and at predict time (pytest turns RuntimeWarning into
errors, so no overflow or invalid-value warning escapes either)."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.special
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor
from skreg._network import LayerOutputs, Parameters, forward, with_ones_column

DIVERGENCE = r"Training diverged at iteration \d+"

rng = np.random.RandomState(0)
X_BASE = rng.standard_normal((60, 4))
Y_BINARY = (X_BASE[:, 0] + X_BASE[:, 1] > 0).astype(int)
Y_MULTI = np.digitize(X_BASE[:, 0], [-0.5, 0.5])

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def assert_valid_proba(model, X):
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), len(model.classes_))
    assert np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=0, atol=1e-6)
    assert not np.isnan(model.predict_log_proba(X)).any()
    assert not np.isnan(model.decision_function(X)).any()
    assert set(model.predict(X)) <= set(model.classes_)
    return proba


def fit_or_diverge(model, X, y):
    """Fit; when training diverges it must say so and leave no model. Returns the model or None."""
    try:
        return model.fit(X, y)
    except ValueError as error:
        assert error.args[0].startswith("Training diverged at iteration "), error
        with pytest.raises(NotFittedError):
            check_is_fitted(model)
        return None


@pytest.mark.parametrize(
    "dtype, scale",
    [(dtype, scale) for dtype in (np.float64, np.float32) for scale in (1e8, 1e-8, 1e30, 1e-30)]
    + [(np.float64, 1e150), (np.float64, 1e-150)],
)
@pytest.mark.parametrize("y", [Y_BINARY, Y_MULTI], ids=["sigmoid", "softmax"])
def test_badly_scaled_features(scale, y, dtype):
    X = (X_BASE * scale).astype(dtype)
    model = fit_or_diverge(RegularizedMLPClassifier(max_iter=300, random_state=0), X, y)
    if model is not None:
        assert_valid_proba(model, X)


def test_tiny_features_still_train():
    """At 1e-8 the network sees ~0: it must still fit (the intercepts learn the class prior)."""
    model = RegularizedMLPClassifier(max_iter=300, random_state=0).fit(X_BASE * 1e-8, Y_MULTI)
    proba = assert_valid_proba(model, X_BASE * 1e-8)
    prior = np.bincount(Y_MULTI) / len(Y_MULTI)
    np.testing.assert_allclose(proba.mean(axis=0), prior, atol=0.05)


@pytest.mark.parametrize("value", [0.0, 1.0, -1e8, 1e8])
def test_constant_features(value):
    X = np.full_like(X_BASE, value)
    model = fit_or_diverge(RegularizedMLPClassifier(max_iter=300, random_state=0), X, Y_MULTI)
    if model is not None:
        proba = assert_valid_proba(model, X)
        np.testing.assert_array_equal(proba, proba[:1].repeat(len(X), axis=0))
    X = X_BASE.copy()
    X[:, 2] = value  # one constant column among informative ones
    model = fit_or_diverge(RegularizedMLPClassifier(max_iter=300, random_state=0), X, Y_MULTI)
    if model is not None:
        assert_valid_proba(model, X)


def test_duplicated_rows_and_contradictory_labels():
    X = np.repeat(X_BASE[:5], 20, axis=0)
    model = RegularizedMLPClassifier(max_iter=300, random_state=0).fit(X, np.arange(100) % 2)
    proba = assert_valid_proba(model, X)
    np.testing.assert_allclose(proba[::20], proba[1::20])  # same row, same prediction


@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_one_sample_per_class(n_classes):
    X = np.random.RandomState(1).standard_normal((n_classes, 3))
    model = RegularizedMLPClassifier(max_iter=500, random_state=0).fit(X, np.arange(n_classes))
    assert_valid_proba(model, X)


def test_one_hundred_classes():
    X = np.random.RandomState(2).standard_normal((300, 5))
    y = np.arange(300) % 100
    model = RegularizedMLPClassifier(hidden_layer_sizes=(30,), max_iter=200, random_state=0).fit(
        X, y
    )
    assert model.n_outputs_ == 100
    proba = assert_valid_proba(model, X)
    assert proba.shape == (300, 100)


@pytest.mark.parametrize("y", [Y_BINARY, Y_MULTI], ids=["sigmoid", "softmax"])
@pytest.mark.parametrize("learning_rate", [5.0, 1e3, 1e100])
def test_logits_that_overflow_exp_during_training(y, learning_rate):
    """Large steps drive the logits far beyond log(max float) ~ 709: exp would overflow."""
    model = RegularizedMLPClassifier(max_iter=50, learning_rate=learning_rate, random_state=0)
    model = fit_or_diverge(model, X_BASE * 30, y)
    if model is not None:
        assert np.isfinite(model.loss_curve_).all()
        assert_valid_proba(model, X_BASE * 30)


@pytest.mark.parametrize(
    "scale, y, learning_rate", [(30, Y_MULTI, 1e200), (1e30, Y_BINARY, 0.3)], ids=["lr", "scale"]
)
def test_training_never_returns_a_model_whose_forward_pass_overflows(scale, y, learning_rate):
    """Pre-activations that overflow to -inf are zeroed by ReLU, so the cost can stay finite
    while the weights blow up (to ~1e200, or until every ReLU dies and the cost falls back to
    0.69): every overflow during training is divergence."""
    X = X_BASE * scale
    model = RegularizedMLPClassifier(max_iter=300, learning_rate=learning_rate, random_state=0)
    model = fit_or_diverge(model, X, y)
    if model is not None:
        params = Parameters.from_arrays(model.coefs_, model.intercepts_)
        outputs = LayerOutputs.allocate(len(X), params.layer_units, params.flat.dtype)
        with np.errstate(over="raise"):
            forward(with_ones_column(X), params.layers, outputs)


# -- logits that overflow at predict time --------------------------------------------------------


@pytest.fixture(scope="module", params=["sigmoid", "softmax"])
def unit_scale_model(request):
    y = Y_BINARY if request.param == "sigmoid" else Y_MULTI
    return RegularizedMLPClassifier(hidden_layer_sizes=(50, 50), max_iter=300, random_state=0).fit(
        X_BASE, y
    )


LARGEST_SCALE = np.finfo(np.float64).max / np.abs(X_BASE).max()  # the largest finite inputs


@pytest.mark.parametrize("scale", [1e300, 1e307, LARGEST_SCALE])
def test_huge_inputs_at_predict_give_saturated_valid_probabilities(unit_scale_model, scale):
    """The network is piecewise linear: far from the origin the logits grow like the input and the
    probabilities saturate to the same one-hot rows, however far out; never NaN."""
    proba = assert_valid_proba(unit_scale_model, X_BASE * scale)
    saturated = unit_scale_model.predict_proba(X_BASE * 1e250)
    np.testing.assert_array_equal(proba, saturated)
    assert set(np.unique(saturated)) <= {0.0, 1.0}
    np.testing.assert_array_equal(
        unit_scale_model.predict(X_BASE * scale), unit_scale_model.predict(X_BASE * 1e250)
    )


def test_huge_inputs_at_predict_in_float32(unit_scale_model):
    X = (X_BASE * (np.finfo(np.float32).max / np.abs(X_BASE).max())).astype(np.float32)
    assert_valid_proba(unit_scale_model, X)


def test_finite_inputs_of_both_signs_near_the_float_range_pass_validation_silently():
    """sklearn's finiteness check sums X first: +1e308 + -1e308 ... must not warn (inf - inf)."""
    X = np.tile([[1e308, -1e308], [-1e308, 1e308]], (10, 1))
    y = np.arange(20) % 2
    model = RegularizedMLPClassifier(max_iter=5, learning_rate=1e-3, random_state=0)
    fit_or_diverge(model, X, y)
    fitted = RegularizedMLPClassifier(max_iter=5, random_state=0).fit(X * 1e-300, y)
    with pytest.raises(ValueError, match="Input X contains NaN"):  # the exact check still runs
        fitted.predict(np.vstack([X, [[np.nan, 0.0]]]))


# -- the toolbox: Adam, momentum and mini-batches on extreme scales, L1 that zeroes everything ----


@pytest.mark.parametrize("scale", [1e-8, 1e8, 1e30, 1e150])
@pytest.mark.parametrize(
    "params",
    [
        {"solver": "adam", "learning_rate": 0.01},
        {"solver": "adam", "learning_rate": 0.01, "batch_size": 7, "epsilon": 1e-300},
        {"solver": "momentum", "learning_rate": 0.1, "batch_size": 16},
        {"solver": "lbfgs"},
    ],
    ids=["adam", "adam-minibatch-tiny-epsilon", "momentum-minibatch", "lbfgs"],
)
@pytest.mark.parametrize("y", [Y_BINARY, Y_MULTI], ids=["sigmoid", "softmax"])
def test_toolbox_solvers_on_badly_scaled_features(scale, params, y):
    X = X_BASE * scale
    model = RegularizedMLPClassifier(max_iter=100, random_state=0, **params)
    model = fit_or_diverge(model, X, y)
    if model is not None:
        assert np.isfinite(model.loss_curve_).all()
        assert_valid_proba(model, X)


def test_adam_on_tiny_features_still_learns_the_class_prior():
    """Adam normalises its steps, so even gradients of ~1e-8 move the weights by learning_rate."""
    X = X_BASE * 1e-8
    model = RegularizedMLPClassifier(
        solver="adam", learning_rate=0.01, max_iter=300, random_state=0
    )
    proba = assert_valid_proba(model.fit(X, Y_MULTI), X)
    np.testing.assert_allclose(proba.mean(axis=0), np.bincount(Y_MULTI) / len(Y_MULTI), atol=0.05)


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
@pytest.mark.parametrize("solver", ["gd", "momentum", "adam"])
@pytest.mark.parametrize("y", [Y_BINARY, Y_MULTI], ids=["sigmoid", "softmax"])
def test_l1_that_zeroes_every_weight_leaves_a_working_constant_model(penalty, solver, y):
    """A huge L1 penalty sets every weight exactly to zero: the network then predicts the same
    finite probabilities for every input, the ones its intercepts learned."""
    model = RegularizedMLPClassifier(
        penalty=penalty,
        l1_ratio=1.0,
        lambd=1e6,
        solver=solver,
        learning_rate=0.05,
        max_iter=200,
        random_state=0,
    ).fit(X_BASE, y)
    assert model.n_zero_coefs_ == sum(W.size for W in model.coefs_)
    for X in (X_BASE, X_BASE * 1e300, np.zeros((3, 4))):
        proba = assert_valid_proba(model, X)
        np.testing.assert_array_equal(proba, np.broadcast_to(proba[0], proba.shape))
    assert len(set(model.predict(X_BASE))) == 1


@pytest.mark.filterwarnings("always::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "params", [{"learning_rate": 50.0}, {"tol": 0.0, "n_iter_no_change": 100}], ids=["rise", "tol"]
)
def test_fit_warnings_point_at_the_callers_line(params):
    """Warnings name the user's call to fit, not a line inside skreg (where the default filter
    would also show them only once for all fits)."""
    model = RegularizedMLPClassifier(max_iter=20, random_state=0, **params)
    with pytest.warns(ConvergenceWarning) as record:
        fit_or_diverge(model, X_BASE * 30, Y_BINARY)
    assert {warning.filename for warning in record} == {__file__}


@pytest.mark.parametrize(
    "dtype, weight, class_weight, fits",
    [
        (np.float32, 1e38, None, False),  # their sum overflows float32
        (np.float32, 1e30, {0: 1e10, 1: 1.0}, False),  # so does their product
        (np.float64, 1e306, None, True),  # 60 rows: a sum of 6e307
        (np.float64, 1e-320, None, True),  # subnormal
        (np.float32, 1e-44, None, True),
    ],
)
def test_sample_weights_near_the_float_range(dtype, weight, class_weight, fits):
    """Weights train as long as their sum is finite, and are refused by name beyond: never a
    RuntimeWarning or an infinite total weight that silently zeroes every gradient."""
    X = X_BASE.astype(dtype)
    model = RegularizedMLPClassifier(max_iter=50, class_weight=class_weight, random_state=0)
    weights = np.full(len(X), weight)
    if fits:  # uniform weights: the unweighted model up to rounding
        model.fit(X, Y_BINARY, sample_weight=weights)
        unweighted = RegularizedMLPClassifier(max_iter=50, random_state=0).fit(X, Y_BINARY)
        np.testing.assert_allclose(model.predict_proba(X), unweighted.predict_proba(X), rtol=1e-4)
    else:
        with pytest.raises(ValueError, match=r"sample_weight \(times class_weight\) must have a"):
            model.fit(X, Y_BINARY, sample_weight=weights)
        with pytest.raises(NotFittedError):
            check_is_fitted(model)


@pytest.mark.parametrize("target", ["labels", "huge y"])
def test_lbfgs_refuses_a_cost_that_is_not_finite(target):
    """L-BFGS checked only its parameters: on inputs near 1e200 (or targets near 1e200) the first
    cost is NaN, SciPy stops at once, and the initial network came back as a fitted model of
    NaN loss."""
    if target == "labels":
        model, X, y = RegularizedMLPClassifier(solver="lbfgs"), X_BASE * 1e200, Y_BINARY
    else:
        model, X, y = RegularizedMLPRegressor(solver="lbfgs"), X_BASE, X_BASE[:, 0] * 1e200
    with pytest.raises(ValueError, match=DIVERGENCE + ": the cost became nan. Scale the inputs"):
        model.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


@pytest.mark.parametrize("multilabel", [False, True])
def test_balanced_class_weights_beyond_the_float_range_are_refused_with_the_way_out(multilabel):
    """Class totals of sample weight 1e-300 against 1e10: the balanced weight of the light class
    overflowed (a RuntimeWarning), and the error then advised dividing the weights by a constant,
    which changes no ratio."""
    y = np.c_[Y_BINARY, 1 - Y_BINARY] if multilabel else Y_BINARY
    weights = np.where(Y_BINARY == 0, 1e-300, 1e10)
    model = RegularizedMLPClassifier(class_weight="balanced", max_iter=5)
    with pytest.raises(ValueError, match="their ratios, so raise the smallest sample weights"):
        model.fit(X_BASE, y, sample_weight=weights)
    model.fit(X_BASE, y, sample_weight=np.where(Y_BINARY == 0, 1e-100, 1e10))  # 1e110: trains


def test_sample_weights_beyond_the_float32_range_are_refused_by_name():
    model = RegularizedMLPClassifier(max_iter=5)
    X = X_BASE.astype(np.float32)
    with pytest.raises(ValueError, match="sample_weight has values beyond the range of float32"):
        model.fit(X, Y_BINARY, sample_weight=np.full(len(X), 1e39))


# -- every hidden activation at predict time ----------------------------------------------------

ACTIVATIONS = ["relu", "tanh", "logistic", "identity", "leaky_relu"]


@pytest.fixture(
    scope="module",
    params=[(output, act) for output in ("sigmoid", "softmax") for act in ACTIVATIONS],
    ids=lambda param: "-".join(param),
)
def activation_model(request):
    output, activation = request.param
    y = Y_BINARY if output == "sigmoid" else Y_MULTI
    return RegularizedMLPClassifier(
        hidden_layer_sizes=(50, 50), activation=activation, max_iter=300, random_state=0
    ).fit(X_BASE, y)


@pytest.mark.parametrize("scale", [1e300, 1e307, LARGEST_SCALE])
def test_every_activation_predicts_huge_inputs_finitely_and_silently(activation_model, scale):
    """Huge inputs, up to the float range: valid probabilities, no warning (pytest turns every
    RuntimeWarning into an error), the same as at 1e250 where nothing overflows. Piecewise-linear
    networks saturate to one-hot probabilities; tanh and logistic networks saturate their first
    layer, whose units then sit at the activation's limits."""
    model = activation_model
    proba = assert_valid_proba(model, X_BASE * scale)
    saturated = model.predict_proba(X_BASE * 1e250)
    logits = model.decision_function(X_BASE * scale).reshape(len(X_BASE), -1)
    assert np.isfinite(logits).all()
    # Rows whose logits went beyond the float range saturate at the largest float, where two
    # classes may tie; the others are those at 1e250. (Bounded activations: the rows at risk of
    # overflow are evaluated apart, in products whose rounding may differ in the last bit.)
    kept = (np.abs(logits) < np.finfo(np.float64).max).all(axis=1)
    assert kept.any()
    np.testing.assert_allclose(proba[kept], saturated[kept], rtol=1e-13, atol=0)
    np.testing.assert_array_equal(
        model.predict(X_BASE * scale)[kept], model.predict(X_BASE * 1e250)[kept]
    )
    if model.activation in ("tanh", "logistic"):
        signs = np.sign(X_BASE @ model.coefs_[0])
        first = signs if model.activation == "tanh" else (signs > 0).astype(float)
        rest = Parameters.from_arrays(
            model.coefs_[1:], model.intercepts_[1:], activation=model.activation
        )
        outputs = LayerOutputs.allocate(len(X_BASE), rest.layer_units, np.float64)
        logits = forward(with_ones_column(first), rest.layers, outputs, activation=model.activation)
        np.testing.assert_allclose(model.decision_function(X_BASE * scale).reshape(logits.shape),
                                   logits, rtol=1e-12)  # fmt: skip
    else:
        assert set(np.unique(saturated)) <= {0.0, 1.0}


@pytest.mark.parametrize("Estimator", [RegularizedMLPClassifier, RegularizedMLPRegressor])
@pytest.mark.parametrize("activation", ["tanh", "logistic"])
def test_monte_carlo_dropout_of_one_bounded_hidden_layer_predicts_huge_inputs(
    Estimator, activation
):
    """The rows evaluated at a safe scale under dropout masks: with a single hidden layer no
    masks remain after the first, which raised an internal error on finite inputs near the
    float range. The first layer saturates at 1e300 as at 1e250, under the same masks."""
    y = Y_BINARY if Estimator is RegularizedMLPClassifier else X_BASE[:, 0]
    model = Estimator(hidden_layer_sizes=(5,), activation=activation, keep_prob=0.5, max_iter=30)
    model.fit(X_BASE, y)
    predict = model.predict_proba if Estimator is RegularizedMLPClassifier else model.predict
    near_the_range = X_BASE * (LARGEST_SCALE / 4)
    mean, std = predict(near_the_range, return_std=True, n_draws=8)
    assert np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).any()
    expected = predict(X_BASE * 1e250, return_std=True, n_draws=8)
    np.testing.assert_allclose(mean, expected[0], rtol=1e-12)
    np.testing.assert_allclose(std, expected[1], rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_predicts_huge_float32_inputs(activation):
    model = RegularizedMLPClassifier(activation=activation, max_iter=100, random_state=0)
    model.fit(X_BASE.astype(np.float32), Y_MULTI)
    X = (X_BASE * (np.finfo(np.float32).max / np.abs(X_BASE).max())).astype(np.float32)
    assert_valid_proba(model, X)


@pytest.mark.parametrize("activation", ["tanh", "logistic"])
@pytest.mark.parametrize("sparse", [False, True])
def test_a_first_layer_sum_that_overflows_midway_is_not_saturated_to_the_wrong_limit(
    activation, sparse
):
    """The first unit's pre-activation is 1e308 + 1e308 - 1.5e308 - 1.5e308 = -1e308, within the
    float range, but summed in this order it overflows to +inf on the way: a bounded activation
    would map that to its upper limit, and the logits would stay finite and wrong. Rows whose
    first-layer sums could overflow are evaluated at a safe scale, where none does."""
    model = RegularizedMLPClassifier(
        hidden_layer_sizes=(3,), activation=activation, max_iter=20, random_state=0
    ).fit(X_BASE, Y_BINARY)
    model.coefs_[0][:, 0] = 1.0
    model.intercepts_[0][0] = 0.0
    model.coefs_[1][...] = [[5.0], [0.0], [0.0]]  # the logit is 5 times the first unit's output
    model.intercepts_[1][...] = 0.0
    X = np.array([[1e308, 1e308, -1.5e308, -1.5e308], [1.0, 1.0, -1.5, -1.5]])
    with np.errstate(over="ignore"):
        assert np.isinf(X[0, 0] + X[0, 1] + X[0, 2] + X[0, 3])  # the overflow is real
    logits = model.decision_function(sp.csr_matrix(X) if sparse else X)
    f = {"tanh": np.tanh, "logistic": scipy.special.expit}[activation]
    np.testing.assert_allclose(logits, [5 * f(-1e308), 5 * f(-1.0)], rtol=1e-15)
    assert logits[0] == (-5.0 if activation == "tanh" else 0.0)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("scale", [1e30, 1e150])
def test_every_activation_trains_or_diverges_on_huge_features(activation, scale):
    X = X_BASE * scale
    model = RegularizedMLPClassifier(activation=activation, max_iter=100, random_state=0)
    model = fit_or_diverge(model, X, Y_MULTI)
    if model is not None:
        assert np.isfinite(model.loss_curve_).all()
        assert_valid_proba(model, X)
