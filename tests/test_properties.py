"""Property-based tests: what holds for every dataset shape, label type and valid hyperparameter.

Datasets are drawn as a shape, a label kind, a dtype, a memory order and a seed; the values come
from that seed, so hypothesis shrinks towards small, simple datasets.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from skreg import RegularizedMLPClassifier

PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Rows of a probability matrix sum to 1 up to this many machine epsilons of its dtype.
SUM_ULPS = 64

pytestmark = pytest.mark.filterwarnings(
    # Random learning rates may make the cost rise, which fit reports as a ConvergenceWarning.
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


def labels_of_kind(kind, n_classes, rng):
    if kind == "int":
        return np.sort(rng.choice(np.arange(-1000, 1000), n_classes, replace=False))
    if kind == "str":
        return np.array([f"classé_{i}" for i in range(n_classes)])
    return np.array([False, True])


@st.composite
def datasets(draw, max_classes=10):
    """``(X, y)``: 2-200 samples, 1-50 features, 2-10 classes, every class present."""
    kind = draw(st.sampled_from(["int", "str", "bool"]))
    n_classes = 2 if kind == "bool" else draw(st.integers(2, max_classes))
    n_samples = draw(st.integers(n_classes, 200))
    n_features = draw(st.integers(1, 50))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    order = draw(st.sampled_from(["C", "F"]))
    rng = np.random.RandomState(draw(st.integers(0, 2**32 - 1)))
    X = np.asarray(rng.standard_normal((n_samples, n_features)), dtype=dtype, order=order)
    codes = rng.permutation(
        np.r_[np.arange(n_classes), rng.randint(n_classes, size=n_samples - n_classes)]
    )
    y = labels_of_kind(kind, n_classes, rng)[codes]
    return X, y


def fitted(params, X, y):
    return RegularizedMLPClassifier(**params).fit(X, y)


def assert_same_model(first, second):
    for a, b in zip(first.coefs_ + first.intercepts_, second.coefs_ + second.intercepts_):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.classes_, second.classes_)
    assert first.loss_curve_ == second.loss_curve_


@PROPERTY_SETTINGS
@given(data=datasets(), hyper=st.data())
def test_probabilities_are_valid_and_predict_is_their_argmax(data, hyper, valid_hyperparameters):
    X, y = data
    X_before, y_before = X.copy(order="K"), y.copy()
    model = fitted(hyper.draw(valid_hyperparameters), X, y)
    proba = model.predict_proba(X)

    assert proba.shape == (len(X), len(np.unique(y)))
    assert np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all()
    eps = np.finfo(proba.dtype).eps
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=0, atol=SUM_ULPS * eps)
    # predict is the argmax of the logits. Two logits that differ in their last bits may give
    # probabilities that round to the same float, and argmax then takes the first: so predict
    # equals classes_[argmax proba] wherever the largest probability is unique, and otherwise
    # predicts one of the classes tied at the largest probability.
    predicted = np.searchsorted(model.classes_, model.predict(X))
    np.testing.assert_array_equal(model.classes_[predicted], model.predict(X))
    np.testing.assert_array_equal(proba[np.arange(len(X)), predicted], proba.max(axis=1))
    unique_max = (proba == proba.max(axis=1, keepdims=True)).sum(axis=1) == 1
    np.testing.assert_array_equal(predicted[unique_max], proba.argmax(axis=1)[unique_max])
    assert not np.isnan(model.predict_log_proba(X)).any()
    # Inputs never modified.
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


@PROPERTY_SETTINGS
@given(data=datasets(), hyper=st.data(), seed=st.integers(0, 2**32 - 1))
def test_same_random_state_and_clone_refit_give_the_same_model(
    data, hyper, seed, valid_hyperparameters
):
    X, y = data
    params = {**hyper.draw(valid_hyperparameters), "random_state": seed}
    first = fitted(params, X, y)
    assert_same_model(first, fitted(params, X, y))
    assert_same_model(first, clone(first).fit(X, y))
    refit = fitted(params, X, y).fit(X, y)  # refitting the same object starts afresh
    assert_same_model(first, refit)


# A row's logits are computed by matrix products whose BLAS kernel and summation order depend on
# the number of rows in the batch (GEMV for one row, blocked GEMM otherwise, chunk boundaries), so
# they may differ in the last bits: we allow ROW_ULPS machine epsilons of the dtype times the
# largest logit magnitude (at least 1). Observed on 120 random models: at most 2.5.
ROW_ULPS = 64


@PROPERTY_SETTINGS
@given(data=datasets(), hyper=st.data(), n_new=st.integers(1, 300), seed=st.integers(0, 2**16))
def test_a_row_is_predicted_independently_of_its_batch(
    data, hyper, n_new, seed, valid_hyperparameters
):
    X, y = data
    model = fitted(hyper.draw(valid_hyperparameters), X, y)
    rng = np.random.RandomState(seed)
    X_new = rng.standard_normal((n_new, X.shape[1])).astype(X.dtype)
    logits = model.decision_function(X_new)
    tolerance = ROW_ULPS * np.finfo(logits.dtype).eps * max(1.0, np.abs(logits).max())

    order = rng.permutation(n_new)
    np.testing.assert_allclose(
        model.decision_function(X_new[order]), logits[order], rtol=0, atol=tolerance
    )
    row = rng.randint(n_new)
    np.testing.assert_allclose(
        model.decision_function(X_new[row : row + 1]), logits[row : row + 1], rtol=0, atol=tolerance
    )
    np.testing.assert_allclose(
        model.predict_proba(X_new[row : row + 1]),
        model.predict_proba(X_new)[row : row + 1],
        rtol=0,
        atol=tolerance,
    )


def test_the_strategies_cover_what_they_claim():
    """Guard the generator itself: label kinds, dtypes and orders all occur, every class present."""
    seen = set()

    @settings(max_examples=200, deadline=None)
    @given(data=datasets())
    def collect(data):
        X, y = data
        assert 2 <= len(np.unique(y)) <= 10 and 2 <= len(X) <= 200 and 1 <= X.shape[1] <= 50
        seen.add(
            (
                y.dtype.kind,
                X.dtype,
                "F" if X.flags.f_contiguous and X.ndim > 1 and X.shape[1] > 1 else "C",
            )
        )

    collect()
    kinds = {kind for kind, _, _ in seen}
    assert kinds == {"i", "U", "b"}
    assert {dtype for _, dtype, _ in seen} == {np.dtype(np.float32), np.dtype(np.float64)}
    assert {order for _, _, order in seen} == {"C", "F"}
