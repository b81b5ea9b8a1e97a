"""The NumPy and numba engines train the same model (the numba tests skip without numba)."""

import re
import subprocess
import sys
import warnings
from importlib.util import find_spec

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_blobs, make_moons, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier, _classifier
from skreg._network import Penalty, init_parameters
from skreg._optimizers import GradientDescent
from skreg._training import Regularization, train_epochs

needs_numba = pytest.mark.skipif(find_spec("numba") is None, reason="numba is not installed")


def numba_engine():
    from skreg import _numba_engine

    return _numba_engine


def train(engine, X, Y, layer_units, max_iter, lambd=0.0, keep_probs=None, seed=0, **kwargs):
    """Weights and loss curve of full-batch gradient descent with ``engine`` ("numpy": the NumPy
    training loop, "numba": the compiled one) from the reference initialisation."""
    rng = np.random.RandomState(seed)
    params = init_parameters(layer_units, rng, X.dtype)
    loss = "logistic" if Y.shape[1] == 1 else "softmax"
    keep_probs = keep_probs or (1.0,) * (len(layer_units) - 2)
    learning_rate = kwargs.pop("learning_rate", 0.3)
    if engine == "numba":
        curve = numba_engine().gradient_descent(
            X, Y, params, loss=loss, lambd=lambd, learning_rate=learning_rate,
            max_iter=max_iter, keep_probs=keep_probs, rng=rng, **kwargs,
        )  # fmt: skip
    else:
        optimizer = GradientDescent(params.flat.size, X.dtype, learning_rate=learning_rate)
        curve = train_epochs(
            X, Y, params, optimizer, loss=loss, max_iter=max_iter, rng=rng,
            regularization=Regularization(Penalty(l2=lambd), keep_probs), **kwargs,
        )  # fmt: skip
    return params.flat, np.asarray(curve)


def synthetic(n_classes, dtype=np.float64):
    if n_classes == 2:
        X, y = make_moons(n_samples=120, noise=0.3, random_state=0)
        Y = y[:, np.newaxis]
    else:
        X, y = make_blobs(n_samples=120, centers=n_classes, n_features=3, random_state=0)
        Y = np.eye(n_classes)[y]
    return StandardScaler().fit_transform(X).astype(dtype), Y.astype(dtype)


def relative_difference(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(a)


@needs_numba
@pytest.mark.parametrize(
    "lambd, keep_prob, max_iter", [(0.0, 1.0, 30000), (0.7, 1.0, 30000), (0.0, 0.86, 10000)]
)
def test_weights_agree_on_the_reference_workload(football, lambd, keep_prob, max_iter):
    """The reference runs agree to 1e-10 (measured: 2.7e-11, 4.4e-15 and 8.0e-12).

    Dropout makes the run chaotic: rounding differences grow about 1000-fold every 5000
    iterations. Moving one of the NumPy engine's own initial weights by one ulp moves its weights
    after the full 30000 iterations by 0.7%, and the engines, which sum in different orders, then
    differ by 1%; so the dropout run is compared over its first 10000 iterations.
    """
    X_train, _, y_train, _ = football
    X, Y = np.asarray(X_train, dtype=np.float64), np.asarray(y_train, dtype=np.float64)[:, None]
    keep_probs = (keep_prob, keep_prob)
    args = (X, Y, [2, 20, 3, 1], max_iter, lambd, keep_probs)
    expected, expected_curve = train("numpy", *args, seed=3)
    weights, curve = train("numba", *args, seed=3)
    assert relative_difference(expected, weights) < 1e-10
    np.testing.assert_allclose(curve, expected_curve, rtol=1e-10)


@needs_numba
@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("lambd", [0.0, 0.5])
@pytest.mark.parametrize("keep_probs", [(1.0, 1.0, 1.0), (0.7, 1.0, 0.9)])
def test_engines_agree_step_by_step(n_classes, lambd, keep_probs):
    """Same masks, same gradients: a short run agrees to rounding, whatever the options."""
    X, Y = synthetic(n_classes)
    layer_units = [X.shape[1], 9, 6, 5, Y.shape[1]]
    for max_iter in (1, 200):
        expected, expected_curve = train("numpy", X, Y, layer_units, max_iter, lambd, keep_probs)
        weights, curve = train("numba", X, Y, layer_units, max_iter, lambd, keep_probs)
        np.testing.assert_allclose(weights, expected, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(curve, expected_curve, rtol=1e-12)


@needs_numba
def test_large_layers_go_through_blas_and_agree():
    X, Y = synthetic(3)
    layer_units = [X.shape[1], 64, 40, Y.shape[1]]  # 64 * 40 weights: above BLAS_MIN_WEIGHTS
    assert 64 * 40 >= numba_engine().BLAS_MIN_WEIGHTS
    expected, expected_curve = train("numpy", X, Y, layer_units, 50, 0.1, (0.8, 0.9))
    weights, curve = train("numba", X, Y, layer_units, 50, 0.1, (0.8, 0.9))
    np.testing.assert_allclose(weights, expected, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(curve, expected_curve, rtol=1e-12)


@needs_numba
def test_dropout_blocks_follow_the_random_stream(monkeypatch):
    """Uniforms drawn a few iterations at a time are those the NumPy engine draws one by one."""
    monkeypatch.setattr(numba_engine(), "MAX_UNIFORMS_PER_BLOCK", 1000)
    X, Y = synthetic(2)
    expected, _ = train("numpy", X, Y, [2, 8, 4, 1], 30, keep_probs=(0.6, 0.8))
    weights, _ = train("numba", X, Y, [2, 8, 4, 1], 30, keep_probs=(0.6, 0.8))
    np.testing.assert_allclose(weights, expected, rtol=1e-11, atol=1e-13)


@needs_numba
@pytest.mark.parametrize("n_classes", [2, 3])
def test_float32_stays_float32_and_agrees(n_classes):
    X, y = synthetic(n_classes, np.float32)
    y = y.argmax(axis=1) if n_classes > 2 else y[:, 0]
    models = {
        engine: RegularizedMLPClassifier(
            max_iter=300, keep_prob=0.9, lambd=0.1, random_state=0, engine=engine
        ).fit(X, y)
        for engine in ("numpy", "numba")
    }
    for W, W_numpy in zip(models["numba"].coefs_, models["numpy"].coefs_):
        assert W.dtype == np.float32
        np.testing.assert_allclose(W, W_numpy, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(models["numba"].loss_curve_, models["numpy"].loss_curve_, rtol=1e-5)


@needs_numba
@pytest.mark.parametrize("n_classes", [2, 3])
def test_divergence_raises_the_same_error(n_classes):
    X, Y = synthetic(n_classes)
    messages = []
    for engine in ("numpy", "numba"):
        with pytest.raises(ValueError, match="Training diverged at iteration") as error:
            train(engine, X, Y, [X.shape[1], 5, 3, Y.shape[1]], 100, learning_rate=1e200)
        messages.append(str(error.value))
    assert messages[0] == messages[1]


@needs_numba
def test_verbose_output_matches(capsys):
    X, Y = synthetic(2)
    lines = []
    for engine in ("numpy", "numba"):
        train(engine, X, Y, [2, 5, 3, 1], 2501, verbose=1)
        lines.append(capsys.readouterr().out.splitlines())
    pattern = re.compile(r"Cost after iteration (\d+): (\S+)")
    parsed = [[pattern.fullmatch(line).groups() for line in out] for out in lines]
    assert [i for i, _ in parsed[0]] == [i for i, _ in parsed[1]] == ["0", "1000", "2000"]
    costs = np.array([[float(cost) for _, cost in engine_lines] for engine_lines in parsed])
    # Same digits up to the last few: the two engines sum in different orders.
    np.testing.assert_allclose(costs[1], costs[0], rtol=1e-12)


@needs_numba
def test_engines_fit_the_same_classifier():
    X, y = make_moons(n_samples=100, noise=0.2, random_state=1)
    models = [
        RegularizedMLPClassifier(max_iter=500, random_state=0, engine=engine).fit(X, y)
        for engine in ("numpy", "numba", "auto")
    ]
    for model in models[1:]:
        for W, W_numpy in zip(model.coefs_, models[0].coefs_):
            np.testing.assert_allclose(W, W_numpy, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(models[1].coefs_[0], models[2].coefs_[0])  # auto is numba


def test_numba_engine_without_numba_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.setitem(sys.modules, "skreg._numba_engine", None)
    X, y = make_moons(n_samples=50, random_state=0)
    with pytest.raises(ImportError, match=re.escape('pip install "skreg[numba]"')):
        RegularizedMLPClassifier(max_iter=5, engine="numba").fit(X, y)
    auto = RegularizedMLPClassifier(max_iter=50, random_state=0).fit(X, y)
    numpy = RegularizedMLPClassifier(max_iter=50, random_state=0, engine="numpy").fit(X, y)
    np.testing.assert_array_equal(auto.coefs_[0], numpy.coefs_[0])


def test_skreg_imports_and_fits_without_numba():
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "from skreg import RegularizedMLPClassifier\n"
        "model = RegularizedMLPClassifier(max_iter=20).fit([[0.0], [1.0]], [0, 1])\n"
        "assert 'skreg._numba_engine' not in sys.modules\n"
        "print(model.n_iter_)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "20"


@needs_numba
def test_multilabel_targets_agree():
    X, Y = make_multilabel_classification(n_samples=120, n_features=5, n_classes=3, random_state=0)
    X = StandardScaler().fit_transform(X)
    models = [
        RegularizedMLPClassifier(max_iter=300, keep_prob=0.8, lambd=0.2, random_state=0, engine=e)
        for e in ("numpy", "numba")
    ]
    for model in models:
        model.fit(X, Y)
    assert models[1].coefs_[-1].shape == (3, 3)
    for W, W_numpy in zip(models[1].coefs_, models[0].coefs_):
        np.testing.assert_allclose(W, W_numpy, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(models[1].loss_curve_, models[0].loss_curve_, rtol=1e-12)


@needs_numba
def test_partial_fit_and_warm_start_continue_alike():
    X, y = make_moons(n_samples=100, noise=0.2, random_state=1)
    models = {}
    for engine in ("numpy", "numba"):
        model = RegularizedMLPClassifier(
            max_iter=100, keep_prob=0.9, warm_start=True, random_state=0, engine=engine
        )
        model.fit(X, y).fit(X, y)
        for _ in range(3):
            model.partial_fit(X, y)
        models[engine] = model
    assert models["numba"].n_iter_ == 203
    for W, W_numpy in zip(models["numba"].coefs_, models["numpy"].coefs_):
        np.testing.assert_allclose(W, W_numpy, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(models["numba"].loss_curve_, models["numpy"].loss_curve_, rtol=1e-12)


# -- which engine trains ------------------------------------------------------------------------

SUPPORTED = [
    {},
    {"lambd": 0.5, "keep_prob": 0.8},
    {"batch_size": 500},  # at least n_samples: full batch
    {"penalty": "l1", "lambd": 0.0},
]
UNSUPPORTED = [
    ({"solver": "adam"}, "solver='adam'"),
    ({"solver": "momentum"}, "solver='momentum'"),
    ({"batch_size": 16}, "batch_size=16"),
    ({"penalty": "l1", "lambd": 0.1}, "penalty='l1'"),
    ({"penalty": "elasticnet", "lambd": 0.1}, "penalty='elasticnet'"),
    ({"input_noise": 0.1}, "input_noise=0.1"),
    ({"max_norm": 2.0}, "max_norm=2.0"),
    # (balanced classes would give unit weights, which are no weights at all)
    ({"class_weight": {0: 1.0, 1: 2.0}}, "class_weight"),
    ({"early_stopping": True}, "early_stopping=True"),
    ({"tol": 1e-4}, "tol"),
]


@pytest.fixture
def numba_calls(monkeypatch):
    """Counts the fits the compiled loop trains."""
    engine = numba_engine()
    calls = []

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return compiled(*args, **kwargs)

    compiled = engine.gradient_descent
    monkeypatch.setattr(engine, "gradient_descent", spy)
    return calls


@needs_numba
@pytest.mark.parametrize("params", SUPPORTED)
def test_auto_and_numba_use_the_compiled_loop_when_it_implements_the_fit(numba_calls, params):
    X, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    for engine in ("auto", "numba"):
        RegularizedMLPClassifier(max_iter=20, engine=engine, **params).fit(X, y)
    RegularizedMLPClassifier(max_iter=20, engine="numpy", **params).fit(X, y)
    assert len(numba_calls) == 2


@needs_numba
def test_auto_leaves_large_steps_to_numpy_but_numba_takes_them(numba_calls, monkeypatch):
    X, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    n_weights = 2 * 20 + 20 * 3 + 3 * 1  # the default hidden layers (20, 3) on two features
    monkeypatch.setattr(_classifier, "AUTO_NUMBA_MAX_STEP_SIZE", 60 * n_weights - 1)
    RegularizedMLPClassifier(max_iter=20).fit(X, y)
    assert numba_calls == []
    RegularizedMLPClassifier(max_iter=20, engine="numba").fit(X, y)
    monkeypatch.setattr(_classifier, "AUTO_NUMBA_MAX_STEP_SIZE", 60 * n_weights)
    RegularizedMLPClassifier(max_iter=20).fit(X, y)
    assert len(numba_calls) == 2


@needs_numba
@pytest.mark.parametrize("params, option", UNSUPPORTED)
def test_auto_falls_back_to_numpy_and_numba_names_the_option(numba_calls, params, option):
    X, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    params = {"max_iter": 20, "n_iter_no_change": 5, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        auto = RegularizedMLPClassifier(random_state=0, **params).fit(X, y)
        numpy = RegularizedMLPClassifier(random_state=0, engine="numpy", **params).fit(X, y)
    assert numba_calls == []
    np.testing.assert_array_equal(auto.coefs_[0], numpy.coefs_[0])
    model = RegularizedMLPClassifier(engine="numba", **params)
    with pytest.raises(ValueError, match=re.escape(option) + '.*Use engine="numpy"'):
        model.fit(X, y)
    assert not hasattr(model, "coefs_")


@needs_numba
def test_sparse_input_and_sample_weight_need_numpy(numba_calls):
    X, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    model = RegularizedMLPClassifier(max_iter=20, engine="numba")
    with pytest.raises(ValueError, match="sparse X"):
        model.fit(sp.csr_matrix(X), y)
    weights = np.arange(1.0, len(y) + 1)  # unit weights would be no weights at all
    with pytest.raises(ValueError, match="sample_weight"):
        model.fit(X, y, sample_weight=weights)
    RegularizedMLPClassifier(max_iter=20).fit(sp.csr_matrix(X), y, sample_weight=weights)
    assert numba_calls == []
