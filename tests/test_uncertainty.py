"""Monte-Carlo dropout: predictions averaged over stochastic passes, with their spread."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import config_context
from sklearn.datasets import make_moons
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor

from .test_memory import SLACK, MiB, peak_extra_memory


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(n_samples=200, noise=0.25, random_state=0)
    return StandardScaler().fit_transform(X), y


def fitted(X, y, keep_prob, seed=0, **params):
    return RegularizedMLPClassifier(
        keep_prob=keep_prob, max_iter=1500, random_state=seed, **params
    ).fit(X, y)


def test_same_seed_same_draws_other_seed_other_draws(moons):
    X, y = moons
    model = fitted(X, y, keep_prob=0.7)
    plain = model.predict_proba(X)
    first = model.predict_proba(X, return_std=True, n_draws=30, random_state=5)
    again = model.predict_proba(X, return_std=True, n_draws=30, random_state=5)
    other = model.predict_proba(X, return_std=True, n_draws=30, random_state=6)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], other[1])
    # The model is untouched: plain predictions are those of before the draws.
    np.testing.assert_array_equal(model.predict_proba(X), plain)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_draws_are_valid_probabilities_with_a_spread(moons, activation):
    X, y = moons
    model = fitted(X, y, keep_prob=0.6, hidden_layer_sizes=(30, 10), activation=activation)
    mean, std = model.predict_proba(X, return_std=True, n_draws=50)
    assert mean.shape == std.shape == (len(X), 2)
    np.testing.assert_allclose(mean.sum(axis=1), 1.0, rtol=1e-12)
    assert ((mean >= 0) & (mean <= 1)).all() and (std >= 0).all()
    # Both classes' probabilities move together: p and 1 - p have the same spread.
    np.testing.assert_allclose(std[:, 0], std[:, 1], rtol=1e-9, atol=1e-15)
    assert std.max() > 0.01  # dropout on 40% of units moves the predictions
    # Rows whose sums could overflow are evaluated at a safe scale, under the same masks.
    huge = np.vstack([X[:5], 1e300 * X[:5]])
    mean, std = model.predict_proba(huge, return_std=True, n_draws=50)
    assert np.isfinite(mean).all() and np.isfinite(std).all()
    np.testing.assert_allclose(mean.sum(axis=1), 1.0, rtol=1e-12)


def test_the_std_is_the_spread_of_independent_passes(moons):
    """The batched draws agree with their definition: predictions of the same rows under masks
    drawn one pass at a time (here: the batched draws of single rows, n_draws=2 repeated)."""
    X, y = moons
    model = fitted(X, y, keep_prob=0.7)
    mean, std = model.predict_proba(X[:1], return_std=True, n_draws=4000, random_state=1)
    means = [
        model.predict_proba(X[:1], return_std=True, n_draws=2, random_state=seed)[0]
        for seed in range(2000)
    ]
    # Means of pairs of draws: their mean is the overall mean, their spread std / sqrt(2).
    np.testing.assert_allclose(np.mean(means, axis=0), mean, atol=5 * std.max() / np.sqrt(4000))
    np.testing.assert_allclose(np.std(means, axis=0), std / np.sqrt(2), rtol=0.1)


@pytest.mark.parametrize("seed", range(3))
def test_the_mean_approaches_the_deterministic_prediction_as_keep_prob_tends_to_1(moons, seed):
    X, y = moons
    gaps = []
    for keep_prob in (0.6, 0.9, 0.99, 0.999):
        model = fitted(X, y, keep_prob, seed=seed)
        mean, _ = model.predict_proba(X, return_std=True, n_draws=100, random_state=seed)
        gaps.append(np.abs(mean - model.predict_proba(X)).mean())
    # The mean gap shrinks with the share of dropped units (measured: about 0.1, 0.02, 0.006,
    # 0.0015); each step of keep_prob towards 1 brings the mean closer.
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 0.05 * gaps[0]


def test_without_dropout_there_is_nothing_to_sample(moons):
    X, y = moons
    model = fitted(X, y, keep_prob=1.0)
    with pytest.raises(ValueError, match="nothing to sample"):
        model.predict_proba(X, return_std=True)


@pytest.mark.parametrize(
    "changed", [{"keep_prob": 0.2}, {"keep_prob": 1.0}, {"hidden_layer_sizes": 7}]
)
def test_draws_use_the_fitted_keep_prob_not_a_later_setting(moons, changed):
    X, y = moons
    model = fitted(X, y, keep_prob=0.8, hidden_layer_sizes=(20, 3))
    assert model.keep_probs_.tolist() == [0.8, 0.8]
    before = model.predict_proba(X[:20], return_std=True, random_state=0)
    model.set_params(**changed)  # not fitted: the model is the same
    after = model.predict_proba(X[:20], return_std=True, random_state=0)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n_draws", [1, 0, 2.5, True, "10"])
def test_n_draws_must_be_an_integer_of_at_least_two(moons, n_draws):
    X, y = moons
    model = fitted(X, y, keep_prob=0.8)
    with pytest.raises(ValueError, match="n_draws must be an integer >= 2"):
        model.predict_proba(X, return_std=True, n_draws=n_draws)


def test_sparse_and_dense_inputs_draw_the_same_masks(moons):
    X, y = moons
    model = fitted(X, y, keep_prob=0.7)
    dense = model.predict_proba(X, return_std=True, n_draws=20)
    sparse = model.predict_proba(sp.csr_matrix(X), return_std=True, n_draws=20)
    for a, b in zip(dense, sparse):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_a_pipeline_passes_return_std_through(moons):
    X, y = moons
    pipe = make_pipeline(
        StandardScaler(), RegularizedMLPClassifier(keep_prob=0.7, max_iter=500, random_state=0)
    ).fit(X, y)
    mean, std = pipe.predict_proba(X, return_std=True, n_draws=10)
    assert mean.shape == std.shape == (len(X), 2)


def test_multiclass_draws_for_every_class():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((150, 3))
    y = np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])
    model = fitted(X, y, keep_prob=[0.7, 1.0])  # dropout on the first hidden layer only
    mean, std = model.predict_proba(X, return_std=True, n_draws=25)
    assert mean.shape == std.shape == (150, 3)
    np.testing.assert_allclose(mean.sum(axis=1), 1.0, rtol=1e-12)
    assert std.max() > 0


def test_monte_carlo_prediction_has_bounded_extra_memory():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 8))
    model = fitted(X, X[:, 0] > 0, keep_prob=0.8, hidden_layer_sizes=(50, 20))
    X_big = rng.standard_normal((20_000, 8))
    with config_context(working_memory=2):
        extra, (mean, std) = peak_extra_memory(
            lambda: np.stack(model.predict_proba(X_big, return_std=True, n_draws=30))
        )
    # 30 passes over 20000 rows of 70 units would be over 300 MiB at once.
    assert extra <= 2 * MiB + SLACK, f"{extra / MiB:.1f} MiB"
    assert mean.shape == (20_000, 2)


# -- the regressor: predict(X, return_std=True) -------------------------------------------------


@pytest.fixture(scope="module")
def curve():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (200, 1))
    return X, np.sin(3 * X[:, 0]) + 0.1 * rng.standard_normal(200)


@pytest.mark.parametrize("seed", range(5))
def test_the_spread_grows_away_from_the_training_data(curve, seed):
    """Inside [-1, 1], where the data are, the draws agree; far outside they scatter (measured:
    about 11 to 13 times more)."""
    X, y = curve
    model = RegularizedMLPRegressor(keep_prob=0.8, lambd=0.1, random_state=seed).fit(X, y)
    _, inside = model.predict(np.linspace(-1, 1, 50)[:, None], return_std=True)
    _, outside = model.predict(np.linspace(3, 5, 50)[:, None], return_std=True)
    assert outside.mean() > 5 * inside.mean()
    assert (inside > 0).all()


def test_regressor_draws_are_reproducible_and_shaped_like_predict(curve):
    X, y = curve
    Y = np.column_stack([y, -2 * y])
    model = RegularizedMLPRegressor(keep_prob=0.8, lambd=0.1, random_state=0)
    for targets in (y, Y):
        model.fit(X, targets)
        mean, std = model.predict(X, return_std=True, n_draws=20, random_state=3)
        assert mean.shape == std.shape == model.predict(X).shape
        again = model.predict(X, return_std=True, n_draws=20, random_state=3)
        np.testing.assert_array_equal(mean, again[0])
        np.testing.assert_array_equal(std, again[1])


def test_the_regressor_mean_approaches_the_deterministic_prediction(curve):
    X, y = curve
    gaps = []
    for keep_prob in (0.7, 0.95, 0.999):
        model = RegularizedMLPRegressor(keep_prob=keep_prob, lambd=0.1, random_state=0).fit(X, y)
        mean, _ = model.predict(X, return_std=True)
        gaps.append(np.abs(mean - model.predict(X)).mean())
    # Measured: about 0.010, 0.004, 0.001 (the last mostly the draws' own noise).
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 0.2 * gaps[0]


def test_a_regressor_without_dropout_has_nothing_to_sample(curve):
    X, y = curve
    model = RegularizedMLPRegressor(max_iter=50, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="nothing to sample"):
        model.predict(X, return_std=True)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_regressors_spread_is_finite_and_scales_with_predictions_near_the_float_range(
    curve, seed, dtype
):
    """Far out, a ReLU network is linear in its input (the biases vanish beside it): draws at
    ``c x`` are ``c / c'`` times those at ``c' x``, up to the float range, without overflow."""
    X, y = curve
    model = RegularizedMLPRegressor(keep_prob=0.7, max_iter=50, random_state=seed)
    model.fit(X.astype(dtype), y)
    far = np.array([[1.0], [-1.0]], dtype=dtype)
    moderate, huge = (1e10, 1e300) if dtype == np.float64 else (1e10, 1e36)
    mean, std = model.predict(huge * far, return_std=True, random_state=0)
    reference = model.predict(moderate * far, return_std=True, random_state=0)
    assert np.isfinite(mean).all() and np.isfinite(std).all()
    np.testing.assert_allclose(mean / huge, reference[0] / moderate, rtol=1e-4)
    np.testing.assert_allclose(std / huge, reference[1] / moderate, rtol=1e-4)


@pytest.mark.parametrize("loss", ["poisson", "quantile"])
def test_the_spread_of_other_losses_is_finite_near_the_float_range(curve, loss):
    X, y = curve
    model = RegularizedMLPRegressor(keep_prob=0.7, max_iter=50, loss=loss, random_state=0)
    model.fit(X, np.abs(y))
    mean, std = model.predict(np.array([[1e300], [-1e300], [1e160]]), return_std=True)
    assert np.isfinite(mean).all() and np.isfinite(std).all() and (std >= 0).all()
