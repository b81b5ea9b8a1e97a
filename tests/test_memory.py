"""Bounded memory: prediction works in row chunks whose temporaries do not grow with the rows;
training allocates dropout masks only when it drops units."""

import tracemalloc

import numpy as np
import pytest
from sklearn import config_context

from skreg import RegularizedMLPClassifier
from skreg._prediction import PREDICT_WORKING_MEMORY_MB

MiB = 2**20
N_ROWS = 2_000_000
# Python objects of the loop (chunk slices, list of activations...) on top of the array budget.
SLACK = 1 * MiB


def peak_extra_memory(function, *args):
    """Peak memory traced during ``function(*args)``, beyond what was allocated before it and
    beyond its result. NumPy reports its array buffers to tracemalloc."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = function(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - before - result.nbytes, result


@pytest.fixture(scope="module")
def training_data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 8))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "hidden_layer_sizes, binary", [((20, 3), True), ((20, 3), False), ((200, 100), False)]
)
def test_predict_proba_on_two_million_rows_has_bounded_extra_memory(
    training_data, hidden_layer_sizes, binary
):
    X, y = training_data
    y = (y > 0).astype(int) if binary else y
    model = RegularizedMLPClassifier(
        hidden_layer_sizes=hidden_layer_sizes, max_iter=5, random_state=0
    ).fit(X, y)
    X_big = np.random.RandomState(1).standard_normal((N_ROWS, X.shape[1]))

    extra, proba = peak_extra_memory(model.predict_proba, X_big)

    assert proba.shape == (N_ROWS, len(model.classes_))
    # Same values as a small batch, up to BLAS blocking (see test_properties.py).
    np.testing.assert_allclose(proba[-1000:], model.predict_proba(X_big[-1000:]), rtol=1e-12)
    # Whatever the number of rows: the logits of all rows alone would be 16 MB or more.
    assert extra <= PREDICT_WORKING_MEMORY_MB * MiB + SLACK, f"{extra / MiB:.1f} MiB"


@pytest.mark.slow
def test_a_smaller_working_memory_setting_is_honoured(training_data):
    X, y = training_data
    model = RegularizedMLPClassifier(max_iter=5, random_state=0).fit(X, y)
    X_big = np.random.RandomState(1).standard_normal((N_ROWS // 4, X.shape[1]))
    with config_context(working_memory=2):
        extra, _ = peak_extra_memory(model.predict_proba, X_big)
    assert extra <= 2 * MiB + SLACK, f"{extra / MiB:.1f} MiB"


@pytest.mark.parametrize("keep_prob", [1.0, 0.5])
def test_full_batch_training_buffers_are_activations_and_deltas_plus_masks_for_dropout(keep_prob):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((20_000, 4))
    model = RegularizedMLPClassifier(
        hidden_layer_sizes=(200, 100), keep_prob=keep_prob, max_iter=2, engine="numpy"
    )
    activation_bytes = X.shape[0] * (200 + 100 + 1) * X.itemsize
    hidden_bytes = X.shape[0] * (200 + 100) * X.itemsize

    extra, _ = peak_extra_memory(lambda: np.empty(0) + model.fit(X, X[:, 0] > 0).n_iter_)

    # Activations and deltas; with dropout, masks and the step's dropout words (4 bytes a unit).
    buffers = 2 * activation_bytes + (1.5 * hidden_bytes if keep_prob < 1 else 0)
    # Beyond them: a boolean temporary (the ReLU derivative), the targets, small objects.
    assert extra <= buffers + 0.2 * hidden_bytes, f"{extra / MiB:.1f} MiB"
