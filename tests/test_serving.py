"""Serving: predictions of a few rows. The parameters are shared with the fitted model only where
that is safe, the path for inputs of one chunk gives the chunked path's results bit for bit, and
prediction leaves the estimator as it was."""

import gc
import pickle
import weakref

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor, _prediction
from skreg._base import RELU_BLOCK, logistic_proba, relu_inplace
from skreg._network import _SHARED_BUFFERS, Parameters

FLOAT64 = np.dtype(np.float64)


def fitted(hidden_layer_sizes=(8, 6), activation="relu", dtype=np.float64, **params):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((120, 5)).astype(dtype)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = RegularizedMLPClassifier(
        hidden_layer_sizes=hidden_layer_sizes, activation=activation, max_iter=30,
        random_state=0, **params,
    )  # fmt: skip
    return model.fit(X, y)


def parameters_of(model, dtype=FLOAT64):
    return Parameters.shared_or_copied(model.coefs_, model.intercepts_, dtype, model.activation)


def assert_holds(params, model):
    """``params`` holds the model's coefficients and intercepts, layer by layer."""
    for layer, W, b in zip(params.layers, model.coefs_, model.intercepts_):
        np.testing.assert_array_equal(layer[:-1], W)
        np.testing.assert_array_equal(layer[-1], b)


def shares_memory(params, model):
    return any(np.shares_memory(params.flat, W) for W in model.coefs_ + model.intercepts_)


# -- the parameters: shared only when safe ---------------------------------------------------------


def test_prediction_reads_a_fitted_models_parameters_where_they_are():
    model = fitted()
    params = parameters_of(model)
    assert_holds(params, model)
    for layer, W, b in zip(params.layers, model.coefs_, model.intercepts_):
        assert np.shares_memory(layer[:-1], W) and np.shares_memory(layer[-1], b)
    assert not params.flat.flags.writeable  # prediction never writes to them
    model.coefs_[0] *= 2  # a change in place is seen at once
    np.testing.assert_array_equal(parameters_of(model).layers[0][:-1], model.coefs_[0])


def test_a_float64_model_shares_its_parameters_with_float32_inputs():
    model = fitted()
    row = np.random.RandomState(1).standard_normal((1, 5))
    assert shares_memory(parameters_of(model, np.result_type(np.float32, FLOAT64)), model)
    np.testing.assert_array_equal(
        model.predict_proba(row.astype(np.float32)),
        model.predict_proba(row.astype(np.float32).astype(np.float64)),
    )


@pytest.mark.parametrize(
    "change",
    ["pickled", "new arrays", "swapped layers", "one new intercept", "dtype set in place"],
)
def test_parameters_that_are_not_laid_out_as_fitted_are_copied(change):
    model = fitted(hidden_layer_sizes=(6, 6, 6))
    parameters_of(model)  # an entry for the fitted layout, which must not be reused
    if change == "pickled":  # the arrays are separate copies
        model = pickle.loads(pickle.dumps(model))
    elif change == "new arrays":
        model.coefs_ = [W.copy() for W in model.coefs_]
    elif change == "swapped layers":  # views of the buffer, each where the other should be
        model.coefs_[1], model.coefs_[2] = model.coefs_[2], model.coefs_[1]
    elif change == "one new intercept":
        model.intercepts_[2] = model.intercepts_[2] + 1
    else:  # the same array object, its bits now read as integers
        model.intercepts_[1].dtype = np.int64
    params = parameters_of(model)
    assert not shares_memory(params, model)
    assert_holds(params, model)
    copied = Parameters.from_arrays(model.coefs_, model.intercepts_, FLOAT64, model.activation)
    np.testing.assert_array_equal(params.flat, copied.flat)


def test_a_float32_request_on_float64_parameters_is_a_copy():
    model = fitted()
    params = parameters_of(model, np.dtype(np.float32))
    assert params.flat.dtype == np.float32 and not shares_memory(params, model)
    np.testing.assert_array_equal(params.layers[0][:-1], model.coefs_[0].astype(np.float32))


def test_predictions_follow_parameters_changed_after_a_prediction():
    model = fitted(hidden_layer_sizes=(6, 6, 6))
    rows = np.random.RandomState(2).standard_normal((3, 5))
    model.predict_proba(rows)
    model.coefs_[1], model.coefs_[2] = model.coefs_[2], model.coefs_[1]
    model.intercepts_[0] += 0.5
    reference = pickle.loads(pickle.dumps(model))  # separate arrays: always copied
    np.testing.assert_array_equal(model.predict_proba(rows), reference.predict_proba(rows))
    np.testing.assert_array_equal(model.predict_proba(rows[:1]), reference.predict_proba(rows[:1]))


def test_shared_parameters_do_not_keep_a_model_alive():
    model = fitted()
    model.predict_proba(np.zeros((1, 5)))
    buffer, key = weakref.ref(model.coefs_[0].base), id(model.coefs_[0])
    assert key in _SHARED_BUFFERS._entries
    del model
    gc.collect()
    assert buffer() is None
    assert key not in _SHARED_BUFFERS._entries


# -- inputs of one chunk: the chunked path's results, bit for bit ---------------------------------


def chunks_of(monkeypatch, model, n_rows, dtype):
    """Make prediction's chunks hold ``n_rows`` rows of ``model``'s inputs."""
    row_bytes = model._prediction()._row_bytes(model.n_features_in_, np.dtype(dtype), None)
    monkeypatch.setattr(_prediction, "PREDICT_WORKING_MEMORY_MB", n_rows * row_bytes / 2**20)


def spy_on_one_chunk_path(monkeypatch):
    calls = []
    original = _prediction._dense_logits

    def spy(X, params):
        calls.append(X.shape[0])
        return original(X, params)

    monkeypatch.setattr(_prediction, "_dense_logits", spy)
    return calls


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity", "leaky_relu"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("chunk_rows", [1, 3])
def test_rows_predicted_alone_match_the_same_rows_in_chunks(
    monkeypatch, activation, dtype, chunk_rows
):
    model = fitted(activation=activation)
    rows = np.random.RandomState(3).standard_normal((24, 5)).astype(dtype) * 3
    largest = np.finfo(dtype).max  # rows that overflow (in float64: at a safe scale)
    rows[4, 2], rows[7] = largest / 2, -largest / 3
    chunks_of(monkeypatch, model, chunk_rows, np.float64)
    calls = spy_on_one_chunk_path(monkeypatch)
    methods = [model.predict_proba, model.decision_function, model.predict_log_proba]
    in_chunks = [method(rows) for method in methods]
    assert calls == []  # several chunks: the chunked path
    for method, batch in zip(methods, in_chunks):
        alone = [method(rows[i : i + chunk_rows]) for i in range(0, len(rows), chunk_rows)]
        np.testing.assert_array_equal(np.concatenate(alone), batch)
    assert calls == [chunk_rows] * (len(methods) * len(rows) // chunk_rows)


def test_a_regressors_row_predicted_alone_matches_the_row_in_chunks(monkeypatch):
    rng = np.random.RandomState(4)
    X = rng.standard_normal((100, 4))
    model = RegularizedMLPRegressor(hidden_layer_sizes=(7,), max_iter=30, random_state=0)
    model.fit(X, X @ [1.0, -2.0, 0.5, 0.0])
    rows = rng.standard_normal((10, 4))
    chunks_of(monkeypatch, model, 1, np.float64)
    calls = spy_on_one_chunk_path(monkeypatch)
    in_chunks = model.predict(rows)
    assert calls == []
    np.testing.assert_array_equal(
        np.concatenate([model.predict(row[None]) for row in rows]), in_chunks
    )
    assert calls == [1] * len(rows)


def test_one_chunk_of_rows_matches_the_chunk_evaluator():
    model = fitted()
    rows = np.random.RandomState(5).standard_normal((9, 5))
    params = parameters_of(model)
    evaluator = _prediction._ChunkEvaluator(rows, lambda logits: logits, params, len(rows))
    np.testing.assert_array_equal(
        _prediction._dense_logits(rows, params), evaluator(slice(0, len(rows)))
    )


def test_dropout_draws_and_sparse_rows_keep_the_chunk_evaluator(monkeypatch):
    model = fitted(keep_prob=0.8)
    calls = spy_on_one_chunk_path(monkeypatch)
    model.predict_proba(np.ones((1, 5)), return_std=True, n_draws=3)
    model.predict_proba(sp.csr_matrix(np.ones((1, 5))))
    assert calls == []


# -- the arithmetic of a call, made cheaper, gives the same bits -----------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_probabilities_are_the_logistic_of_each_sign_bit_for_bit(dtype):
    specials = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-310, 800.0, -40.0]
    logits = np.concatenate([specials, np.random.RandomState(7).standard_normal(50) * 20])
    logits = logits.astype(dtype)[:, np.newaxis]
    expected = np.hstack([expit(-logits), expit(logits)])
    proba = logistic_proba(logits)
    assert proba.dtype == expected.dtype and proba.flags.c_contiguous
    np.testing.assert_array_equal(proba.view(np.uint8), expected.view(np.uint8))


@pytest.mark.parametrize("n_units", [7, RELU_BLOCK + 5])
def test_relu_in_place_is_the_maximum_with_zeros_bit_for_bit(n_units):
    Z = np.random.RandomState(8).standard_normal((2, n_units))
    Z[0, :4] = [-0.0, 0.0, np.nan, -np.inf]
    expected = np.maximum(Z, np.zeros_like(Z))
    relu_inplace(Z)
    np.testing.assert_array_equal(Z.view(np.uint8), expected.view(np.uint8))


# -- the estimator is left as it was ------------------------------------------------------------


@pytest.mark.parametrize("n_rows", [1, 5, 3000])
def test_prediction_does_not_change_the_estimator(n_rows):
    model = fitted(keep_prob=0.9)
    rows = np.random.RandomState(6).standard_normal((n_rows, 5))
    before = dict(vars(model))
    model.predict(rows)
    model.predict_proba(rows)
    model.predict_proba(rows, return_std=True, n_draws=2)
    model.predict_log_proba(rows)
    model.decision_function(rows)
    assert vars(model).keys() == before.keys()
    assert all(vars(model)[name] is value for name, value in before.items())


def test_a_model_is_fitted_once_it_has_its_parameters():
    model = RegularizedMLPClassifier(max_iter=5)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    with pytest.raises(ValueError):
        model.fit(np.zeros((4, 2)), [0, 1, 0, np.nan])  # a failed fit sets nothing
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    model.n_features_in_ = 2  # an attribute of a fitted model, but no network
    with pytest.raises(NotFittedError):
        model.predict_proba(np.zeros((1, 2)))
    check_is_fitted(fitted())
