"""Concurrency: threads share no buffers, so concurrent use gives exactly the serial results."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn import config_context
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skreg import RegularizedMLPClassifier

N_THREADS = 8

rng = np.random.RandomState(0)
X = rng.standard_normal((300, 5))
Y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)


@pytest.fixture(scope="module")
def fitted_model():
    return RegularizedMLPClassifier(hidden_layer_sizes=(30, 10), max_iter=200, random_state=0).fit(
        X, Y
    )


def test_predict_proba_from_eight_threads_at_once(fitted_model):
    batches = [np.random.RandomState(seed).standard_normal((5000, 5)) for seed in range(16)]

    def predict(batch):
        # Small chunks: many chunk iterations interleave across the threads. (The chunk size is
        # the same as in the serial calls: it may change the last bits, see test_properties.py.)
        with config_context(working_memory=0.1):
            return fitted_model.predict_proba(batch)

    expected = [predict(batch) for batch in batches]

    with ThreadPoolExecutor(N_THREADS) as pool:
        results = list(pool.map(predict, batches * 2))
    for got, want in zip(results, expected * 2):
        np.testing.assert_array_equal(got, want)


GRID = {"lambd": [0.0, 0.5], "keep_prob": [1.0, 0.7], "hidden_layer_sizes": [(8,), (6, 4)]}


def grid_search(n_jobs):
    base = RegularizedMLPClassifier(max_iter=100, random_state=0)
    return GridSearchCV(base, GRID, cv=3, n_jobs=n_jobs, refit=False).fit(X, Y)


def test_grid_search_with_threads_matches_serial_fits():
    serial = grid_search(n_jobs=1)
    with parallel_backend("threading", n_jobs=N_THREADS):
        threaded = grid_search(n_jobs=N_THREADS)
    for key in [f"split{i}_test_score" for i in range(3)]:
        np.testing.assert_array_equal(threaded.cv_results_[key], serial.cv_results_[key])


def test_clones_fitted_in_threads_equal_serial_fits():
    models = [
        RegularizedMLPClassifier(max_iter=150, random_state=seed, keep_prob=0.8, lambd=0.1)
        for seed in range(N_THREADS)
    ]
    serial = [clone(model).fit(X, Y) for model in models]
    with ThreadPoolExecutor(N_THREADS) as pool:
        threaded = list(pool.map(lambda model: clone(model).fit(X, Y), models))
    for got, want in zip(threaded, serial):
        for a, b in zip(got.coefs_ + got.intercepts_, want.coefs_ + want.intercepts_):
            np.testing.assert_array_equal(a, b)
        assert got.loss_curve_ == want.loss_curve_
