import os

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from sklearn.datasets import make_blobs, make_moons
from sklearn.preprocessing import StandardScaler

from skreg._engines import compiled_engine
from skreg.datasets import load_football

# CI (.ci/run sets HYPOTHESIS_PROFILE=ci) explores the same examples on every run, so a red build
# always points at a reproducible failure; elsewhere each run draws new examples.
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def moons():
    """Two scaled, overlapping half-moons: a quick binary problem."""
    X, y = make_moons(n_samples=200, noise=0.25, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="session")
def three_blobs():
    """Three scaled blobs: a quick three-class problem."""
    X, y = make_blobs(n_samples=150, centers=3, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="session")
def football():
    """The course's football data, from ``SKREG_REFERENCE_DATA``; skips when it is not set."""
    path = os.environ.get("SKREG_REFERENCE_DATA")
    if not path:
        pytest.skip("SKREG_REFERENCE_DATA is not set")
    return load_football(path)


def pytest_runtest_setup(item):
    """Tests marked ``compiled`` skip where the compiled engine is not built."""
    if item.get_closest_marker("compiled") is not None and compiled_engine() is None:
        pytest.skip("the compiled engine is not built")


@pytest.fixture(params=["numpy", pytest.param("compiled", marks=pytest.mark.compiled)])
def engine(request):
    """Each training engine of RegularizedMLPClassifier; the compiled one where it is built."""
    return request.param


# -- hypothesis strategies of hyperparameters: the one place to list them ----------------------
# Add an entry to both tables for every new hyperparameter of RegularizedMLPClassifier.

VALID_HYPERPARAMETERS = {
    "hidden_layer_sizes": st.one_of(
        st.integers(1, 12), st.lists(st.integers(1, 12), min_size=1, max_size=3).map(tuple)
    ),
    "activation": st.sampled_from(["relu", "tanh", "logistic", "identity", "leaky_relu"]),
    "lambd": st.floats(0.0, 10.0),
    "penalty": st.sampled_from(["l2", "l1", "elasticnet"]),
    "l1_ratio": st.floats(0.0, 1.0),
    "keep_prob": st.floats(0.2, 1.0),  # or one per hidden layer: see valid_hyperparameter_sets
    "max_norm": st.one_of(st.none(), st.floats(0.1, 10.0)),
    "input_noise": st.one_of(st.just(0.0), st.floats(0.0, 1.0)),
    "solver": st.sampled_from(["gd", "momentum", "adam", "lbfgs"]),
    "batch_size": st.one_of(st.none(), st.integers(1, 64)),
    "learning_rate": st.floats(1e-4, 0.5),
    "momentum": st.floats(0.0, 0.99),
    "beta_1": st.floats(0.0, 0.99),
    "beta_2": st.floats(0.0, 0.9999),
    "epsilon": st.floats(1e-10, 1e-2),
    "learning_rate_schedule": st.sampled_from(["constant", "invscaling", "adaptive"]),
    "power_t": st.floats(0.0, 2.0),
    "nesterovs_momentum": st.booleans(),
    "shuffle": st.booleans(),
    # Small enough for fast examples: a mini-batch epoch of 200 rows may be 200 steps.
    "max_iter": st.integers(1, 40),
    "max_fun": st.integers(1, 20000),
    "early_stopping": st.booleans(),
    "scoring": st.sampled_from(["loss", None, "accuracy"]),
    "validation_fraction": st.floats(0.01, 0.5),  # at most half: always leaves rows to train on
    "n_iter_no_change": st.one_of(st.integers(1, 20), st.just(np.inf)),
    "tol": st.one_of(st.none(), st.floats(0.0, 0.1)),
    "class_weight": st.sampled_from([None, "balanced"]),  # dicts need the labels: see the tests
    "warm_start": st.booleans(),
    "random_state": st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    "verbose": st.sampled_from([0, False]),  # 1 prints the cost; its own test checks that
    # "compiled" only where it is built: elsewhere it raises (test_engines checks that).
    "engine": st.sampled_from(["auto", "numpy", *(["compiled"] if compiled_engine() else [])]),
}

_NON_FINITE = st.sampled_from([np.nan, np.inf, -np.inf])
_WRONG_TYPES = st.sampled_from(["0.5", b"1", [1], {"a": 1}, object()])
_NOT_BOOLEANS = st.sampled_from([0, 1, "True", None, 1.0, [True]])


def _outside_unit_interval(closed_at_one):
    """Floats outside [0, 1] ([0, 1) if not ``closed_at_one``), non-finite values, wrong types."""
    above_one = st.floats(min_value=1.0, exclude_min=closed_at_one)
    return st.one_of(
        st.floats(max_value=0.0, exclude_max=True), above_one, _NON_FINITE, _WRONG_TYPES
    )


def _unknown_strings(known):
    """Strings outside ``known`` (case and spaces matter) and non-strings, None among them
    unless None is valid."""
    wrong = [1, ["l2"], "L2", " gd", "Balanced"] + ([] if None in known else [None])
    return st.one_of(st.text(max_size=8).filter(lambda s: s not in known), st.sampled_from(wrong))


INVALID_HYPERPARAMETERS = {
    "hidden_layer_sizes": st.one_of(
        st.sampled_from(
            [(), [], np.array([], dtype=int), None, "big", 2.5, True, [[1, 2], [3]], [[3, 4]]]
        ),
        st.lists(st.integers(-5, 0), min_size=1, max_size=3).map(tuple),  # zeros, negatives
        st.lists(st.integers(1, 5), min_size=1, max_size=3).map(lambda s: (*s, 0)),
        st.lists(st.sampled_from([2.5, "3", None, np.nan, True]), min_size=1, max_size=3),
    ),
    "activation": st.one_of(
        _unknown_strings({"relu", "tanh", "logistic", "identity", "leaky_relu"}),
        st.sampled_from(["ReLU", "sigmoid", "softmax", "leaky-relu", "elu"]),
    ),
    "lambd": st.one_of(st.floats(max_value=-1e-300), _NON_FINITE, _WRONG_TYPES),
    "penalty": _unknown_strings({"l2", "l1", "elasticnet"}),
    "l1_ratio": _outside_unit_interval(closed_at_one=True),
    "keep_prob": st.one_of(
        st.floats(max_value=0.0),
        st.floats(0.0, 2.0**-32, exclude_min=True, exclude_max=True),  # no dropout word resolves
        st.floats(min_value=1.0, exclude_min=True),
        _NON_FINITE,
        _WRONG_TYPES,
        # Sequences: the default network has 2 hidden layers.
        st.lists(st.floats(0.1, 1.0), min_size=0, max_size=5).filter(lambda s: len(s) != 2),
        st.tuples(st.floats(0.1, 1.0), st.one_of(st.floats(max_value=0.0), _NON_FINITE)),
        st.tuples(st.floats(min_value=1.0, exclude_min=True), st.floats(0.1, 1.0)),
        st.sampled_from([["a", 0.5], [[0.5], [0.5]], [None, 0.5], np.ones((2, 1))]),
    ),
    "max_norm": st.one_of(st.floats(max_value=0.0), _NON_FINITE, _WRONG_TYPES),
    "input_noise": st.one_of(st.floats(max_value=-1e-300), _NON_FINITE, _WRONG_TYPES),
    "solver": _unknown_strings({"gd", "momentum", "adam", "lbfgs"}),
    "batch_size": st.one_of(
        st.integers(max_value=0), st.floats(1.5, 100), st.just(True), _NON_FINITE, _WRONG_TYPES
    ),
    "learning_rate": st.one_of(st.floats(max_value=0.0), _NON_FINITE, _WRONG_TYPES),
    "momentum": _outside_unit_interval(closed_at_one=False),
    "beta_1": _outside_unit_interval(closed_at_one=False),
    "beta_2": _outside_unit_interval(closed_at_one=False),
    "epsilon": st.one_of(st.floats(max_value=0.0), _NON_FINITE, _WRONG_TYPES),
    "learning_rate_schedule": _unknown_strings({"constant", "invscaling", "adaptive"}),
    "power_t": st.one_of(st.floats(max_value=-1e-300), _NON_FINITE, _WRONG_TYPES),
    "nesterovs_momentum": _NOT_BOOLEANS,
    "shuffle": _NOT_BOOLEANS,
    "max_iter": st.one_of(
        st.integers(max_value=0), st.floats(1.5, 100), st.just(True), _NON_FINITE, _WRONG_TYPES
    ),
    "max_fun": st.one_of(
        st.integers(max_value=0), st.floats(1.5, 100), st.just(True), _NON_FINITE, _WRONG_TYPES
    ),
    "early_stopping": _NOT_BOOLEANS,
    "scoring": st.one_of(
        st.sampled_from(["Loss", "accuracyy", "", 1, ["loss"], b"loss"]),
        st.text(alphabet="XYZ -", max_size=8),  # no scorer's name has capitals
    ),
    "validation_fraction": st.one_of(
        st.floats(max_value=0.0), st.floats(min_value=1.0), _NON_FINITE, _WRONG_TYPES
    ),
    "n_iter_no_change": st.one_of(
        st.integers(max_value=0),
        st.floats(1.5, 100),
        st.just(True),
        st.sampled_from([np.nan, -np.inf]),
        _WRONG_TYPES,
    ),
    "tol": st.one_of(st.floats(max_value=-1e-300), _NON_FINITE, _WRONG_TYPES),
    "class_weight": st.one_of(
        _unknown_strings({"balanced", None}),
        # Labels the data (0, 1, 2) lacks, with or without the real ones.
        st.dictionaries(st.integers(3, 9), st.floats(0.1, 10.0), min_size=1, max_size=3),
        st.dictionaries(st.integers(3, 9), st.floats(0.1, 10.0), min_size=1).map(
            lambda d: {0: 1.0, 1: 1.0, 2: 1.0, **d}
        ),
        # Weights that are not finite numbers >= 0.
        st.one_of(st.floats(max_value=-1e-300), _NON_FINITE, st.sampled_from(["1", None, [1]])).map(
            lambda w: {0: 1.0, 1: w, 2: 1.0}
        ),
    ),
    "warm_start": _NOT_BOOLEANS,
    "random_state": st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=2**32),
        st.just(1.5),
        _WRONG_TYPES,
        st.just(np.random.default_rng(0)),
    ),
    "verbose": st.one_of(st.integers(max_value=-1), st.just(np.nan), _WRONG_TYPES),
    "engine": st.one_of(st.sampled_from(["Numba", "cython", "", None]), _WRONG_TYPES),
}


@st.composite
def valid_hyperparameter_sets(draw):
    """Keyword arguments drawn from the whole toolbox, every value valid and every combination
    accepted: keep_prob is sometimes one value per hidden layer, and "lbfgs" gets only what it
    supports (no dropout, noise, L1 or max-norm)."""
    params = draw(st.fixed_dictionaries(VALID_HYPERPARAMETERS))
    sizes = params["hidden_layer_sizes"]
    n_hidden = 1 if isinstance(sizes, int) else len(sizes)
    if draw(st.booleans()):
        keep_probs = st.lists(st.floats(0.2, 1.0), min_size=n_hidden, max_size=n_hidden)
        params["keep_prob"] = draw(keep_probs.map(tuple))
    if params["solver"] == "lbfgs":
        params.update(keep_prob=1.0, input_noise=0.0, max_norm=None, penalty="l2")
    if params["solver"] == "momentum":  # its steps grow to learning_rate / (1 - momentum)
        params["learning_rate"] *= 1 - params["momentum"]
    return params


@pytest.fixture(scope="session")
def valid_hyperparameters():
    """Strategy of keyword arguments for ``RegularizedMLPClassifier``, every value valid."""
    return valid_hyperparameter_sets()


@pytest.fixture(scope="session")
def invalid_hyperparameter():
    """Strategy of ``(name, value)``: one hyperparameter set to a value ``fit`` must reject."""
    return st.sampled_from(sorted(INVALID_HYPERPARAMETERS)).flatmap(
        lambda name: st.tuples(st.just(name), INVALID_HYPERPARAMETERS[name])
    )


@pytest.fixture(scope="session")
def hyperparameter_tables():
    """The names listed by the valid and by the invalid table."""
    return set(VALID_HYPERPARAMETERS), set(INVALID_HYPERPARAMETERS)
