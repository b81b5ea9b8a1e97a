"""Property-based tests: what holds for every dataset shape, label type and valid hyperparameter.

Datasets are drawn as a shape, a label kind, a dtype, a memory order and a seed; the values come
from that seed, so hypothesis shrinks towards small, simple datasets.
"""

import contextlib
import copy

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from sklearn.base import clone

from skreg import RegularizedMLPClassifier, _engines

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


#: fit's documented refusals of valid hyperparameters on some data: a diverging fit, and an
#: early-stopping split that the data cannot give (a class too small to stratify, too few rows).
DOCUMENTED_REFUSALS = (
    "Training diverged at iteration ",
    "early_stopping=True holds out a validation split stratified by class",
    "The validation set is too small",
)


@contextlib.contextmanager
def divergence_rejected():
    """Random valid hyperparameters (large steps, mini-batches of one row) may make training
    diverge, and early stopping may ask a small data set for a split it cannot give; fit reports
    both by their documented errors: such examples are not counted."""
    try:
        yield
    except ValueError as error:
        if not str(error).startswith(DOCUMENTED_REFUSALS):
            raise
        reject()


def fitted(params, X, y, **fit_params):
    with divergence_rejected():
        return RegularizedMLPClassifier(**params).fit(X, y, **fit_params)


def assert_same_model(first, second):
    for a, b in zip(first.coefs_ + first.intercepts_, second.coefs_ + second.intercepts_):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.classes_, second.classes_)
    assert first.loss_curve_ == second.loss_curve_
    assert first.n_iter_ == second.n_iter_
    assert first.validation_scores_ == second.validation_scores_


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
    if not params["warm_start"]:  # refitting the same object starts afresh
        assert_same_model(first, fitted(params, X, y).fit(X, y))


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


# -- sample weights, sparse input, partial_fit ---------------------------------------------------


def assert_close_models(first, second, rtol):
    """Same architecture and classes; weights and probabilities equal up to ``rtol`` of their
    scale (the two fits round differently, so the models agree only to rounding)."""
    np.testing.assert_array_equal(first.classes_, second.classes_)
    assert first.n_iter_ == second.n_iter_
    for a, b in zip(first.coefs_ + first.intercepts_, second.coefs_ + second.intercepts_):
        assert a.shape == b.shape and a.dtype == b.dtype
        scale = max(1.0, float(np.abs(a).max()))
        np.testing.assert_allclose(a, b, rtol=0, atol=rtol * scale)


# Sparse and dense products round differently and training amplifies that: compared in float64,
# L-BFGS (whose line search reacts to the last bits of the cost) over 5 iterations, and Adam over
# one full-batch step (its step is learning_rate * sign(gradient) for gradients near its epsilon,
# so over many steps rounding noise turns into whole steps).
SPARSE_TOLERANCE = 1e-6


@PROPERTY_SETTINGS
@given(data=datasets(), hyper=st.data(), seed=st.integers(0, 2**32 - 1))
def test_unit_sample_weights_give_the_unweighted_model(data, hyper, seed, valid_hyperparameters):
    X, y = data
    params = {**hyper.draw(valid_hyperparameters), "random_state": seed}
    ones = np.ones(len(X), dtype=X.dtype)
    assert_same_model(fitted(params, X, y, sample_weight=ones), fitted(params, X, y))


@PROPERTY_SETTINGS
@given(data=datasets(), hyper=st.data(), weight_seed=st.integers(0, 2**16))
def test_inputs_and_sample_weights_are_never_modified(
    data, hyper, weight_seed, valid_hyperparameters
):
    X, y = data
    sample_weight = np.random.RandomState(weight_seed).uniform(0.1, 3.0, len(X)).astype(X.dtype)
    copies = X.copy(order="K"), y.copy(), sample_weight.copy()
    model = fitted(hyper.draw(valid_hyperparameters), X, y, sample_weight=sample_weight)
    model.predict_proba(X)
    for array, before in zip((X, y, sample_weight), copies):
        np.testing.assert_array_equal(array, before)
        assert array.dtype == before.dtype
        assert array.flags.f_contiguous == before.flags.f_contiguous


@PROPERTY_SETTINGS
@given(
    data=datasets(),
    hyper=st.data(),
    seed=st.integers(0, 2**32 - 1),
    density=st.floats(0.0, 1.0),
    fmt=st.sampled_from([sp.csr_matrix, sp.csc_matrix, sp.csr_array]),
)
def test_sparse_X_gives_the_dense_model(data, hyper, seed, density, fmt, valid_hyperparameters):
    X, y = data
    X = X.astype(np.float64) * (np.random.RandomState(seed).uniform(size=X.shape) < density)
    # One engine for both (the engines agree to rounding, tested in test_engines): this compares
    # sparse with dense products alone.
    params = {
        **hyper.draw(valid_hyperparameters), "random_state": seed, "input_noise": 0.0,
        "engine": "numpy",
    }  # fmt: skip
    params.update(tol=None if not params["early_stopping"] else params["tol"])
    if params["solver"] == "lbfgs":
        params["max_iter"] = min(params["max_iter"], 5)
    if params["solver"] == "adam":
        params.update(max_iter=1, batch_size=None)
    dense = fitted(params, X, y)
    # Small sparse X is trained on as a dense copy: here it keeps its sparse products.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_engines, "DENSE_COPY_MAX_ENTRIES", 0)
        assert sp.issparse(_engines.training_matrix(fmt(X)))
        sparse = fitted(params, fmt(X), y)
    assert_close_models(sparse, dense, SPARSE_TOLERANCE)
    np.testing.assert_allclose(
        sparse.predict_proba(fmt(X)), dense.predict_proba(X), rtol=0, atol=SPARSE_TOLERANCE
    )


@st.composite
def incremental_hyperparameters(draw, valid_hyperparameters):
    """Valid hyperparameters that partial_fit accepts: no L-BFGS, no early stopping, no
    "balanced" class weights."""
    params = draw(valid_hyperparameters)
    solver = draw(st.sampled_from(["gd", "momentum", "adam"]))
    return {**params, "solver": solver, "class_weight": None, "early_stopping": False}


@PROPERTY_SETTINGS
@given(data=datasets(), hyper=st.data(), seed=st.integers(0, 2**32 - 1), n_chunks=st.integers(1, 4))
def test_partial_fit_is_reproducible_and_updates_all_attributes_together(
    data, hyper, seed, n_chunks, valid_hyperparameters
):
    X, y = data
    params = {
        **hyper.draw(incremental_hyperparameters(valid_hyperparameters)),
        "random_state": seed,
    }
    classes = np.unique(y)
    chunks = np.array_split(np.arange(len(X)), n_chunks)

    def trained():
        model = RegularizedMLPClassifier(**params)
        for chunk in chunks:
            if len(chunk):
                with divergence_rejected():
                    model.partial_fit(X[chunk], y[chunk], classes=classes)
                assert model.n_iter_ == len(model.loss_curve_)
                assert model.loss_ == model.loss_curve_[-1]
                assert model.coefs_[0].shape == (X.shape[1], model.intercepts_[0].shape[0])
        return model

    first = trained()
    assert first.n_iter_ == sum(1 for chunk in chunks if len(chunk))
    np.testing.assert_array_equal(first.classes_, classes)
    assert_same_model(first, trained())


@PROPERTY_SETTINGS
@given(
    data=datasets(),
    hyper=st.data(),
    bad=st.sampled_from(["nan", "features", "label", "classes", "weights"]),
)
def test_a_failed_partial_fit_leaves_the_model_as_it_was(data, hyper, bad, valid_hyperparameters):
    X, y = data
    model = RegularizedMLPClassifier(
        **hyper.draw(incremental_hyperparameters(valid_hyperparameters))
    )
    with divergence_rejected():
        model.partial_fit(X, y, classes=np.unique(y))
    state = {key: copy.deepcopy(value) for key, value in vars(model).items()}
    X_bad, y_bad, kwargs = X.copy(), y.copy(), {}
    if bad == "nan":
        X_bad[-1, -1] = np.nan
    elif bad == "features":
        X_bad = np.hstack([X, X[:, :1]])
    elif bad == "label":  # a label outside classes
        y_bad = y.astype(int) if y.dtype.kind == "b" else y_bad
        y_bad[-1] = "zzz" if y.dtype.kind == "U" else y_bad.max() + 1
    elif bad == "classes":
        kwargs["classes"] = np.unique(y)[:-1]
    else:
        kwargs["sample_weight"] = -np.ones(len(X))
    with pytest.raises((ValueError, TypeError)):
        model.partial_fit(X_bad, y_bad, **kwargs)
    assert vars(model).keys() == state.keys()
    for key, before in state.items():
        after = vars(model)[key]
        if isinstance(before, list) and before and isinstance(before[0], np.ndarray):
            for a, b in zip(after, before):
                np.testing.assert_array_equal(a, b)
        elif not isinstance(before, np.ndarray) and hasattr(before, "__dict__"):
            assert type(after) is type(before)  # the optimizer: compare its state
            for name, value in vars(before).items():
                np.testing.assert_array_equal(getattr(after, name), value)
        else:
            np.testing.assert_array_equal(after, before)


@PROPERTY_SETTINGS
@given(data=datasets(), hyper=st.data(), n_labels=st.integers(2, 5), seed=st.integers(0, 2**16))
def test_multilabel_targets_get_valid_independent_probabilities(
    data, hyper, n_labels, seed, valid_hyperparameters
):
    X, _ = data
    Y = (np.random.RandomState(seed).uniform(size=(len(X), n_labels)) < 0.5).astype(int)
    Y[0], Y[-1] = 0, 1  # every label both present and absent (X has at least 2 rows)
    params = {**hyper.draw(valid_hyperparameters), "class_weight": None}  # a dict per label
    model = fitted(params, X, Y)
    proba = model.predict_proba(X)
    assert proba.shape == Y.shape and proba.dtype == np.float64
    assert np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all()
    np.testing.assert_array_equal(model.classes_, np.arange(n_labels))
    decision = model.decision_function(X).reshape(len(X), -1)
    np.testing.assert_array_equal(model.predict(X), (decision > 0).astype(int))
