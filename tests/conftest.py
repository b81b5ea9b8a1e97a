import os

import numpy as np
import pytest
from hypothesis import strategies as st

from skreg.datasets import load_football


@pytest.fixture(scope="session")
def football():
    """The course's football data, from ``SKREG_REFERENCE_DATA``; skips when it is not set."""
    path = os.environ.get("SKREG_REFERENCE_DATA")
    if not path:
        pytest.skip("SKREG_REFERENCE_DATA is not set")
    return load_football(path)


# -- hypothesis strategies of hyperparameters: the one place to list them ----------------------
# Add an entry to both tables for every new hyperparameter of RegularizedMLPClassifier.

VALID_HYPERPARAMETERS = {
    "hidden_layer_sizes": st.one_of(
        st.integers(1, 12), st.lists(st.integers(1, 12), min_size=1, max_size=3).map(tuple)
    ),
    "lambd": st.floats(0.0, 10.0),
    "keep_prob": st.floats(0.2, 1.0),
    "learning_rate": st.floats(1e-4, 0.5),
    "max_iter": st.integers(1, 200),
    "random_state": st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    "verbose": st.sampled_from([0, False, 1]),
}

_NON_FINITE = st.sampled_from([np.nan, np.inf, -np.inf])
_WRONG_TYPES = st.sampled_from(["0.5", b"1", [1], {"a": 1}, object()])

INVALID_HYPERPARAMETERS = {
    "hidden_layer_sizes": st.one_of(
        st.sampled_from(
            [(), [], np.array([], dtype=int), None, "big", 2.5, True, [[1, 2], [3]], [[3, 4]]]
        ),
        st.lists(st.integers(-5, 0), min_size=1, max_size=3).map(tuple),  # zeros, negatives
        st.lists(st.integers(1, 5), min_size=1, max_size=3).map(lambda s: (*s, 0)),
        st.lists(st.sampled_from([2.5, "3", None, np.nan, True]), min_size=1, max_size=3),
    ),
    "lambd": st.one_of(st.floats(max_value=-1e-300), _NON_FINITE, _WRONG_TYPES),
    "keep_prob": st.one_of(
        st.floats(max_value=0.0),
        st.floats(min_value=1.0, exclude_min=True),
        _NON_FINITE,
        _WRONG_TYPES,
    ),
    "learning_rate": st.one_of(st.floats(max_value=0.0), _NON_FINITE, _WRONG_TYPES),
    "max_iter": st.one_of(st.integers(max_value=0), st.floats(1.5, 100), _NON_FINITE, _WRONG_TYPES),
    "random_state": st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=2**32),
        st.just(1.5),
        _WRONG_TYPES,
        st.just(np.random.default_rng(0)),
    ),
    "verbose": st.one_of(st.integers(max_value=-1), st.just(np.nan), _WRONG_TYPES),
}


@pytest.fixture(scope="session")
def valid_hyperparameters():
    """Strategy of keyword arguments for ``RegularizedMLPClassifier``, every value valid."""
    return st.fixed_dictionaries(VALID_HYPERPARAMETERS)


@pytest.fixture(scope="session")
def invalid_hyperparameter():
    """Strategy of ``(name, value)``: one hyperparameter set to a value ``fit`` must reject."""
    return st.sampled_from(sorted(INVALID_HYPERPARAMETERS)).flatmap(
        lambda name: st.tuples(st.just(name), INVALID_HYPERPARAMETERS[name])
    )
