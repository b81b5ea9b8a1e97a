"""RegularizedMLPRegressor: losses, outputs, parity with MLPRegressor, prediction intervals."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_diabetes, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_pinball_loss, mean_poisson_deviance, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skreg import RegularizedMLPRegressor
from skreg._stopping_rules import negative_loss_scorer, r2

LOSSES = ["squared_error", "poisson", "quantile"]


def regression_data(n_samples=200, n_outputs=1, seed=0, loss="squared_error"):
    """Standardised features and targets of unit scale (non-negative counts for Poisson)."""
    X, y = make_regression(
        n_samples=n_samples, n_features=5, n_informative=4, n_targets=n_outputs, noise=5.0,
        random_state=seed,
    )  # fmt: skip
    X = StandardScaler().fit_transform(X)
    y = y / y.std(axis=0)
    if loss == "poisson":
        y = np.random.RandomState(seed).poisson(np.exp(np.clip(y, -3, 2)))
    return X, y.astype(float)


def heteroscedastic(n_samples, seed):
    """``y = x + noise`` whose spread grows with ``|x|``: quantiles far from the mean's band."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(-2, 2, n_samples)
    y = x + (0.2 + 0.5 * np.abs(x)) * rng.standard_normal(n_samples)
    return x[:, np.newaxis], y


# -- outputs and shapes -------------------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_prediction_shape_follows_the_targets(loss, n_outputs, engine):
    X, y = regression_data(n_outputs=n_outputs, loss=loss)
    model = RegularizedMLPRegressor(loss=loss, max_iter=50, random_state=0, engine=engine)
    model.fit(X, y)
    assert model.n_outputs_ == n_outputs
    assert model.predict(X).shape == y.shape
    assert model.out_activation_ == ("exp" if loss == "poisson" else "identity")


def test_a_column_vector_target_predicts_a_vector_as_mlpregressor():
    X, y = regression_data()
    with pytest.warns(UserWarning, match="column-vector y"):
        model = RegularizedMLPRegressor(max_iter=20, random_state=0).fit(X, y[:, np.newaxis])
    assert model.predict(X).shape == (len(y),)


@pytest.mark.parametrize("loss", LOSSES)
def test_reported_cost_is_the_documented_loss(loss):
    """``loss_curve_`` records, before each step, the cost at the current weights: one step more
    from a fitted model reports the documented loss of that model's predictions."""
    X, y = regression_data(n_outputs=2, loss=loss)
    model = RegularizedMLPRegressor(
        loss=loss, quantile=0.3, lambd=0.0, max_iter=30, warm_start=True, random_state=0
    ).fit(X, y)
    predictions = model.predict(X)
    if loss == "squared_error":
        expected = 0.5 * ((y - predictions) ** 2).sum(axis=1).mean()
    elif loss == "poisson":
        expected = sum(mean_poisson_deviance(y[:, j], predictions[:, j]) / 2 for j in range(2))
    else:  # mean_pinball_loss averages over the 2 outputs
        expected = 2 * mean_pinball_loss(y, predictions, alpha=0.3)
    model.set_params(max_iter=1).fit(X, y)
    assert model.loss_curve_[-1] == pytest.approx(expected, rel=1e-12)


def test_squared_error_cost_includes_the_penalty_of_lambd():
    X, y = regression_data()
    model = RegularizedMLPRegressor(lambd=3.0, max_iter=30, warm_start=True, random_state=0)
    model.fit(X, y)
    squares = sum(float((W**2).sum()) for W in model.coefs_)
    expected = 0.5 * ((y - model.predict(X)) ** 2).mean() + 3.0 / (2 * len(y)) * squares
    model.set_params(max_iter=1).fit(X, y)
    assert model.loss_curve_[-1] == pytest.approx(expected, rel=1e-12)


# -- parity with scikit-learn's MLPRegressor ----------------------------------------------------


def california_like(seed=0):
    """5000 rows, 8 features, a non-linear target: shaped like the California housing data."""
    X, y = make_regression(
        n_samples=5000, n_features=8, n_informative=6, noise=20.0, random_state=seed
    )
    return X, y + 0.01 * y**2


def parity_scores(X, y, seed, full_batch):
    """Test R² of both estimators on the same split, scaled the same way, with the same
    algorithm: ReLU, one hidden layer of 100, Adam, the same L2 penalty (``lambd = alpha`` on
    full batches, ``alpha * n_samples / batch_size`` on mini-batches: see the comparison page)
    and the same stopping rule. Full batch: the regressor's defaults."""
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
    x_scaler, y_scaler = StandardScaler().fit(X_train), StandardScaler().fit(y_train[:, None])
    X_train, X_test = x_scaler.transform(X_train), x_scaler.transform(X_test)
    y_train = y_scaler.transform(y_train[:, None]).ravel()
    if full_batch:
        ours = RegularizedMLPRegressor(random_state=seed)
        theirs = MLPRegressor(
            alpha=10.0, learning_rate_init=0.01, batch_size=len(y_train), shuffle=False,
            max_iter=1000, tol=0, n_iter_no_change=1000, random_state=seed,
        )  # fmt: skip
    else:
        common = dict(batch_size=200, max_iter=200, tol=1e-4, n_iter_no_change=10)
        ours = RegularizedMLPRegressor(
            lambd=1e-4 * len(y_train) / 200, learning_rate=1e-3, random_state=seed, **common
        )
        theirs = MLPRegressor(alpha=1e-4, learning_rate_init=1e-3, random_state=seed, **common)
    scores = []
    for model in (ours, theirs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        predictions = y_scaler.inverse_transform(model.predict(X_test)[:, None]).ravel()
        scores.append(r2_score(y_test, predictions))
    return scores


@pytest.mark.parametrize("seed", [0, 1])
def test_parity_with_mlpregressor_on_diabetes(seed):
    """Measured: 0.3440 and 0.3436, 0.4345 and 0.4355 (seeds 0 and 1)."""
    X, y = load_diabetes(return_X_y=True)
    ours, theirs = parity_scores(X, y, seed, full_batch=True)
    assert abs(ours - theirs) < 0.02, (ours, theirs)


def test_parity_with_mlpregressor_on_a_california_shaped_problem():
    """Mini-batches of 200; measured: 0.9618 and 0.9635."""
    ours, theirs = parity_scores(*california_like(), seed=0, full_batch=False)
    assert theirs > 0.9
    assert abs(ours - theirs) < 0.02, (ours, theirs)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_defaults_give_a_good_model_on_standardised_data(seed):
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
    scaler, mean, std = StandardScaler().fit(X_train), y_train.mean(), y_train.std()
    model = RegularizedMLPRegressor(random_state=seed)
    model.fit(scaler.transform(X_train), (y_train - mean) / std)
    predictions = model.predict(scaler.transform(X_test)) * std + mean
    assert r2_score(y_test, predictions) > 0.3


# -- quantile and Poisson -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quantile_fits_at_5_and_95_percent_cover_about_90_percent(seed):
    X, y = heteroscedastic(1500, seed)
    X_test, y_test = heteroscedastic(2000, seed + 100)
    low, high = (
        RegularizedMLPRegressor(loss="quantile", quantile=q, hidden_layer_sizes=(20,),
                                random_state=seed).fit(X, y).predict(X_test)
        for q in (0.05, 0.95)
    )  # fmt: skip
    covered = (low <= y_test) & (y_test <= high)
    assert 0.85 < covered.mean() < 0.95
    # The band follows the spread: wider at |x| > 1.5 than at |x| < 0.5.
    width = high - low
    assert width[np.abs(X_test[:, 0]) > 1.5].mean() > 2 * width[np.abs(X_test[:, 0]) < 0.5].mean()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_median_fit_is_robust_to_outliers(seed):
    X, y = heteroscedastic(500, seed)
    y_outliers = y.copy()
    y_outliers[::10] += 50.0
    median = RegularizedMLPRegressor(loss="quantile", random_state=seed).fit(X, y_outliers)
    mean = RegularizedMLPRegressor(random_state=seed).fit(X, y_outliers)
    truth = X[:, 0]
    assert np.abs(median.predict(X) - truth).mean() < 0.5 * np.abs(mean.predict(X) - truth).mean()


def test_poisson_refuses_negative_targets():
    X, y = regression_data()
    with pytest.raises(ValueError, match="loss='poisson' needs non-negative targets"):
        RegularizedMLPRegressor(loss="poisson").fit(X, y)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_poisson_predictions_are_positive_and_fit_counts(seed):
    X, y = regression_data(n_samples=400, loss="poisson", seed=seed)
    y[:50] = 0
    model = RegularizedMLPRegressor(loss="poisson", random_state=seed).fit(X, y)
    predictions = model.predict(X)
    assert (predictions > 0).all()
    constant = np.full_like(predictions, y.mean())
    assert mean_poisson_deviance(y, predictions) < 0.5 * mean_poisson_deviance(y, constant)


def test_poisson_predictions_saturate_at_the_largest_float_without_warnings():
    X, y = regression_data(loss="poisson")
    model = RegularizedMLPRegressor(loss="poisson", max_iter=5, random_state=0).fit(X, y)
    model.intercepts_[-1][...] = 800.0  # exp(800) overflows float64
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        predictions = model.predict(np.vstack([X[:3], 1e300 * X[:1]]))
    assert (predictions == np.finfo(np.float64).max).all()


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_lbfgs_trains_the_smooth_losses(loss):
    X, y = regression_data(loss=loss)
    network = dict(loss=loss, hidden_layer_sizes=(20,), max_iter=100, random_state=0)
    model = RegularizedMLPRegressor(solver="lbfgs", **network)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    adam = RegularizedMLPRegressor(**network).fit(X, y)
    assert model.loss_ < adam.loss_


def test_lbfgs_refuses_the_quantile_loss():
    X, y = regression_data()
    model = RegularizedMLPRegressor(loss="quantile", solver="lbfgs")
    with pytest.raises(ValueError, match="loss='quantile' \\(not differentiable"):
        model.fit(X, y)


@pytest.mark.parametrize(
    "params",
    [{"quantile": 0.0}, {"quantile": 1.0}, {"quantile": np.nan}, {"quantile": "0.5"},
     {"loss": "absolute"}, {"loss": None}],
)  # fmt: skip
def test_invalid_loss_parameters_are_refused(params):
    X, y = regression_data()
    with pytest.raises(InvalidParameterError, match="quantile|loss"):
        RegularizedMLPRegressor(**params).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_targets_and_weights_are_refused(bad):
    X, y = regression_data(n_samples=10)
    y[3] = bad
    with pytest.raises(ValueError, match="Input y contains"):
        RegularizedMLPRegressor().fit(X, y)
    huge = np.full(10, np.finfo(np.float64).max)
    with pytest.raises(ValueError, match="sample_weight must have a positive sum, finite in"):
        RegularizedMLPRegressor().fit(X, np.ones(10), sample_weight=huge)


SOLVERS_AND_ENGINES = [
    {"engine": "numpy"},
    pytest.param({"engine": "compiled"}, marks=pytest.mark.compiled),
    {"solver": "lbfgs"},
]


@pytest.mark.parametrize("params", SOLVERS_AND_ENGINES)
def test_none_in_y_is_refused_by_name(params):
    """An object y holding None became NaN targets: a "diverged, use a smaller learning_rate"
    error, or with L-BFGS a fitted model of NaN loss."""
    X, y = regression_data(n_samples=10)
    y = np.array([None, *y[1:]], dtype=object)
    model = RegularizedMLPRegressor(max_iter=20, **params)
    with pytest.raises(ValueError, match=r"y must hold finite real numbers .* 1 missing"):
        model.fit(X, y)
    assert not hasattr(model, "coefs_")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("params", SOLVERS_AND_ENGINES)
def test_targets_beyond_the_float32_range_of_float32_inputs_are_refused_by_name(params):
    """Training computes in the dtype of X: float64 targets beyond float32's range overflowed in
    the cast (a RuntimeWarning), then "diverged", or with L-BFGS fitted a model of NaN loss."""
    X, y = regression_data(n_samples=10)
    model = RegularizedMLPRegressor(max_iter=20, **params)
    with pytest.raises(ValueError, match="y has values beyond the range of float32, the dtype"):
        model.fit(X.astype(np.float32), y * 1e39)
    model.fit(X.astype(np.float32), y)  # (a RuntimeWarning would fail the test)
    assert model.coefs_[0].dtype == np.float32


def test_non_numeric_targets_are_refused():
    X, _ = regression_data(n_samples=4)
    with pytest.raises(ValueError, match="y must hold real numbers"):
        RegularizedMLPRegressor().fit(X, np.array(["a", "b", "c", "d"], dtype=object))


# -- the toolbox ------------------------------------------------------------------------------

TOOLBOX = [
    {"penalty": "l1", "lambd": 1.0},
    {"penalty": "elasticnet", "lambd": 1.0, "l1_ratio": 0.3},
    {"keep_prob": (0.8,), "max_norm": 2.0, "input_noise": 0.1},
    {"solver": "gd", "learning_rate": 0.05},
    {"solver": "momentum", "learning_rate": 0.005},
    {"batch_size": 32, "early_stopping": True, "n_iter_no_change": 10},
    {"tol": 1e-4, "n_iter_no_change": 5},
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("params", TOOLBOX)
def test_every_tool_trains_every_loss(loss, params):
    X, y = regression_data(n_outputs=2, loss=loss)
    model = RegularizedMLPRegressor(loss=loss, max_iter=200, random_state=0, **params).fit(X, y)
    assert np.isfinite(model.predict(X)).all()
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_early_stopping_scores_r2_on_the_held_out_split():
    X, y = regression_data(n_samples=300)
    model = RegularizedMLPRegressor(
        early_stopping=True, batch_size=32, n_iter_no_change=5, random_state=0
    ).fit(X, y)
    assert model.n_iter_ < model.max_iter
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert 0.9 < model.best_validation_score_ <= 1.0
    assert model.best_loss_ is None


def test_early_stopping_scores_a_quantile_by_minus_its_pinball_loss():
    X, y = heteroscedastic(400, 0)
    weights = np.random.RandomState(0).uniform(0.5, 2, len(y))
    model = RegularizedMLPRegressor(
        loss="quantile", quantile=0.9, early_stopping=True, batch_size=32, n_iter_no_change=5,
        random_state=0,
    ).fit(X, y, sample_weight=weights)  # fmt: skip
    assert all(score < 0 for score in model.validation_scores_)
    assert model.best_validation_score_ == max(model.validation_scores_)
    rng = np.random.RandomState(1)
    Y, logits = rng.standard_normal((50, 2)), rng.standard_normal((50, 2))
    score = negative_loss_scorer(("quantile", 0.9))(logits, Y, weights[:50])
    expected = 2 * mean_pinball_loss(Y, logits, alpha=0.9, sample_weight=weights[:50])
    assert score == pytest.approx(-expected, rel=1e-12)


@pytest.mark.parametrize("loss", ["squared_error", "poisson", ("quantile", 0.9)])
def test_minus_the_loss_of_outputs_beyond_the_float_range_is_minus_inf(loss):
    """Held-out rows can overflow a network whose parameters are finite: such outputs score
    -inf, the worst score (as r2 scores them), not NaN, which compares with no other score."""
    Y = np.ones((3, 1))
    for bad in [np.inf, -np.inf, np.nan]:
        logits = np.array([[bad], [0.5], [0.0]])
        with np.errstate(over="ignore", invalid="ignore"):
            assert negative_loss_scorer(loss)(logits, Y) == -np.inf
    assert np.isfinite(negative_loss_scorer(loss)(np.zeros((3, 1)), Y))


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_r2_is_sklearns_weighted_uniform_average(n_outputs):
    rng = np.random.RandomState(0)
    Y = rng.standard_normal((40, n_outputs))
    predictions = Y + 0.5 * rng.standard_normal(Y.shape)
    weights = rng.uniform(0, 2, 40)
    for sample_weight in (None, weights):
        expected = r2_score(Y, predictions, sample_weight=sample_weight)
        assert r2(predictions, Y, sample_weight) == pytest.approx(expected, rel=1e-12)
    constant = np.ones((5, 2))
    exact = constant.copy()
    exact[:, 1] += 0.1  # the first column predicted exactly, the second not
    assert r2(exact, constant) == r2_score(constant, exact) == 0.5
    assert r2(np.full((5, 1), np.finfo(float).max), np.zeros((5, 1))) == -np.inf


def test_partial_fit_and_warm_start_continue_training(engine):
    X, y = regression_data()
    model = RegularizedMLPRegressor(max_iter=30, warm_start=True, random_state=0, engine=engine)
    model.fit(X, y).fit(X, y)
    for _ in range(3):
        model.partial_fit(X, y)
    assert model.n_iter_ == 33 and len(model.loss_curve_) == 63  # epochs since the last fit
    assert model.loss_curve_[-1] < model.loss_curve_[30] < model.loss_curve_[0]
    incremental = RegularizedMLPRegressor(random_state=0, engine=engine)
    for chunk in np.array_split(np.arange(len(y)), 4):
        incremental.partial_fit(X[chunk], y[chunk])
    assert incremental.n_iter_ == 4


def test_partial_fit_refuses_lbfgs():
    X, y = regression_data()
    with pytest.raises(ValueError, match="partial_fit is not available with solver='lbfgs'"):
        RegularizedMLPRegressor(solver="lbfgs").partial_fit(X, y)


def test_float32_stays_float32_and_sparse_is_dense(engine):
    X, y = regression_data()
    X[::3, 1] = 0.0
    model = RegularizedMLPRegressor(max_iter=30, random_state=0, engine=engine)
    single = clone(model).fit(X.astype(np.float32), y)
    assert single.coefs_[0].dtype == np.float32 and single.predict(X).dtype == np.float64
    assert single.predict(X.astype(np.float32)).dtype == np.float32
    dense, sparse = clone(model).fit(X, y), clone(model).fit(sp.csr_matrix(X), y)
    for W, W_dense in zip(sparse.coefs_, dense.coefs_):
        np.testing.assert_array_equal(W, W_dense)
    np.testing.assert_allclose(sparse.predict(sp.csr_matrix(X)), dense.predict(X), rtol=1e-12)


@pytest.mark.parametrize("loss", LOSSES)
def test_integer_weights_give_the_model_of_repeated_rows(loss, engine):
    """Full-batch deterministic fits (Adam, the defaults; L-BFGS) see only the weighted set of
    rows: integer weights give the repeated rows' model, bit for bit, on each engine."""
    rng = np.random.RandomState(0)
    X, y = regression_data(n_samples=30, n_outputs=2, loss=loss)
    weights = rng.randint(0, 4, len(y))
    order = rng.permutation(len(y))
    solvers = ["adam", "gd"] if loss == "quantile" else ["adam", "lbfgs"]
    for seed, solver in enumerate(solvers):
        model = RegularizedMLPRegressor(
            loss=loss, solver=solver, hidden_layer_sizes=(10,), max_iter=100, random_state=seed,
            engine=engine,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            repeated = clone(model).fit(X.repeat(weights, axis=0), y.repeat(weights, axis=0))
            weighted = clone(model).fit(X[order], y[order], sample_weight=weights[order])
        for W, W_repeated in zip(
            weighted.coefs_ + weighted.intercepts_, repeated.coefs_ + repeated.intercepts_
        ):
            np.testing.assert_array_equal(W, W_repeated)


def test_same_random_state_same_model_and_pickle_round_trip():
    X, y = regression_data()
    params = dict(keep_prob=0.8, batch_size=16, max_iter=20, random_state=7)
    first = RegularizedMLPRegressor(**params).fit(X, y)
    second = RegularizedMLPRegressor(**params).fit(X, y)
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    loaded = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(loaded.predict(X), first.predict(X))


def test_regressor_tags():
    tags = RegularizedMLPRegressor().__sklearn_tags__()
    assert tags.estimator_type == "regressor"
    assert tags.target_tags.multi_output and tags.target_tags.single_output
    assert tags.input_tags.sparse


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("params", [{}, {"keep_prob": 0.8, "batch_size": 16, "input_noise": 0.1}])
def test_inputs_targets_and_weights_are_never_modified(loss, params, engine):
    X, y = regression_data(n_samples=60, n_outputs=2, loss=loss)
    weights = np.random.RandomState(0).uniform(0, 2, len(y))
    copies = X.copy(), y.copy(), weights.copy()
    model = RegularizedMLPRegressor(loss=loss, max_iter=5, random_state=0, engine=engine, **params)
    model.fit(X, y, sample_weight=weights).partial_fit(X, y, sample_weight=weights)
    model.predict(X)
    for array, copy in zip((X, y, weights), copies):
        np.testing.assert_array_equal(array, copy)
