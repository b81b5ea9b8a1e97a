"""The NumPy and numba engines train the same model (the numba tests skip without numba)."""

import re
import subprocess
import sys
import warnings
from importlib.util import find_spec

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_blobs, make_moons, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor, _engines, _training
from skreg._base import ACTIVATIONS
from skreg._network import Penalty, init_parameters
from skreg._optimizers import make_optimizer
from skreg._random import training_stream
from skreg._training import AdaptiveStepSize, Regularization, TrainingLossStopper

needs_numba = pytest.mark.skipif(find_spec("numba") is None, reason="numba is not installed")


def numba_engine():
    from skreg import _numba_engine

    return _numba_engine


OPTIMIZERS = {
    "gd": {},
    "momentum": {"momentum": 0.9},
    "adam": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8},
}


def train(
    engine, X, Y, layer_units, max_iter, lambd=0.0, keep_probs=None, seed=0, solver="gd",
    regularization=None, **kwargs,
):  # fmt: skip
    """Weights and loss curve of training with ``engine`` ("numpy": the NumPy training loop,
    "numba": the compiled one) from the reference initialisation; full-batch gradient descent
    with an L2 penalty ``lambd`` and dropout ``keep_probs`` unless ``solver``, ``batch_size`` and
    ``regularization`` say otherwise. ``schedule``, ``power_t`` and ``nesterov`` set the
    optimizer's step-size schedule and Nesterov momentum; ``adaptive_tol``, the "adaptive"
    schedule with a training-loss plateau rule of that ``tol`` (patience 2); ReLU hidden layers
    unless ``activation`` says otherwise."""
    rng = np.random.RandomState(seed)
    params = init_parameters(layer_units, rng, X.dtype, kwargs.pop("activation", "relu"))
    loss = kwargs.pop("loss", "logistic" if Y.shape[1] == 1 else "softmax")
    keep_probs = keep_probs or (1.0,) * (len(layer_units) - 2)
    if regularization is None:
        regularization = Regularization(Penalty(l2=lambd), keep_probs)
    hyperparameters = {name: kwargs.pop(name) for name in ("schedule", "power_t") if name in kwargs}
    hyperparameters.update(OPTIMIZERS[solver])
    if kwargs.pop("nesterov", False):
        hyperparameters["nesterov"] = True
    adaptive_tol = kwargs.pop("adaptive_tol", None)
    if adaptive_tol is not None:
        hyperparameters["schedule"] = "adaptive"
    optimizer = make_optimizer(
        solver, params.flat.size, X.dtype, learning_rate=kwargs.pop("learning_rate", 0.3),
        **hyperparameters,
    )  # fmt: skip
    if adaptive_tol is not None:
        kwargs["stopper"] = AdaptiveStepSize(TrainingLossStopper(adaptive_tol, 2), optimizer)
    train_epochs = numba_engine().train_epochs if engine == "numba" else _training.train_epochs
    curve = train_epochs(
        X, Y, params, optimizer, loss=loss, max_iter=max_iter, stream=training_stream(rng),
        regularization=regularization, **kwargs,
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


def assert_engines_agree(*args, **options):
    """The engines' weights and loss curves agree to rounding for ``train(engine, *args)``."""
    expected, expected_curve = train("numpy", *args, **options)
    weights, curve = train("numba", *args, **options)
    np.testing.assert_allclose(weights, expected, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(curve, expected_curve, rtol=1e-12)


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
@pytest.mark.parametrize("solver", ["gd", "momentum", "adam"])
@pytest.mark.parametrize("batch_size", [None, 32, 50])
@pytest.mark.parametrize("lambd, keep_probs", [(0.0, (1.0, 1.0)), (0.5, (0.7, 0.9))])
def test_engines_agree_with_every_solver_and_batch_size(solver, batch_size, lambd, keep_probs):
    """Same shuffles, masks and optimizer steps; 120 samples in batches of 32 leave a shorter
    last batch, in batches of 50 a last batch of 20."""
    X, Y = synthetic(3)
    assert_engines_agree(
        X, Y, [X.shape[1], 9, 6, Y.shape[1]], 30, lambd, keep_probs,
        solver=solver, batch_size=batch_size, learning_rate=0.01,
    )  # fmt: skip


@needs_numba
@pytest.mark.parametrize("batch_size", [None, 40])
def test_stopping_rule_stops_both_engines_at_the_same_epoch(batch_size):
    X, Y = synthetic(2)
    curves = []
    for engine in ("numpy", "numba"):
        stopper = TrainingLossStopper(tol=1e-3, n_iter_no_change=3)
        _, curve = train(engine, X, Y, [2, 5, 3, 1], 10_000, stopper=stopper, batch_size=batch_size)
        assert stopper.stopped
        curves.append(curve)
    assert len(curves[0]) < 10_000
    np.testing.assert_allclose(curves[1], curves[0], rtol=1e-12)


@needs_numba
@pytest.mark.parametrize("solver", ["momentum", "adam"])
def test_optimizer_state_continues_alike(solver):
    """Velocity, moments and Adam's step count come out of the compiled loop as the NumPy
    optimizer leaves them, and so does the random stream."""
    X, Y = synthetic(2)
    optimizers, streams = {}, {}
    for engine in ("numpy", "numba"):
        rng = np.random.RandomState(0)
        params = init_parameters([2, 5, 3, 1], rng)
        optimizer = make_optimizer(
            solver, params.flat.size, np.float64, learning_rate=0.01, **OPTIMIZERS[solver]
        )
        stream = training_stream(rng)
        train_epochs = numba_engine().train_epochs if engine == "numba" else _training.train_epochs
        for _ in range(2):
            train_epochs(
                X, Y, params, optimizer, loss="logistic", max_iter=4, stream=stream,
                regularization=Regularization(Penalty(l2=0.1), (0.9, 1)), batch_size=50,
            )  # fmt: skip
        optimizers[engine], streams[engine] = optimizer, stream
    for name in optimizers["numpy"].state_names:
        if name == "plateau":  # ("adaptive" partial_fit's rule, None here)
            continue
        np.testing.assert_allclose(
            getattr(optimizers["numba"], name), getattr(optimizers["numpy"], name), rtol=1e-12
        )
    if solver == "adam":
        assert optimizers["numba"].t == optimizers["numpy"].t == 2 * 4 * 3  # 3 batches an epoch
    np.testing.assert_array_equal(streams["numba"].random(3), streams["numpy"].random(3))


@needs_numba
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_large_layers_go_through_blas_and_agree(activation):
    """ReLU's kernels agree to 1e-11 elementwise. NumPy's tanh is its own (vectorised) one, a few
    ulps off the C library's that numba calls, for a quarter of the inputs: there Adam, which
    divides each gradient by its own magnitude, turns the gradients' rounding into relative
    differences of up to ~1e-9 on a few weights, so the other activations are compared as the
    equivalence matrix compares them."""
    X, Y = synthetic(3)
    layer_units = [X.shape[1], 64, 40, Y.shape[1]]  # 64 * 40 weights: above BLAS_MIN_WEIGHTS
    assert 64 * 40 >= numba_engine().BLAS_MIN_WEIGHTS
    for options in ({}, {"solver": "adam", "batch_size": 32}):
        args = (X, Y, layer_units, 3 if options else 50, 0.1, (0.8, 0.9))
        if activation == "relu":
            assert_engines_agree(*args, **options)
            continue
        expected, expected_curve = train("numpy", *args, activation=activation, **options)
        weights, curve = train("numba", *args, activation=activation, **options)
        assert relative_difference(expected, weights) < 1e-10
        np.testing.assert_allclose(curve, expected_curve, rtol=1e-11)


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
@pytest.mark.parametrize("batch_size", [None, 40])
def test_divergence_raises_the_same_error(n_classes, batch_size):
    X, Y = synthetic(n_classes)
    messages = []
    for engine in ("numpy", "numba"):
        with pytest.raises(ValueError, match="Training diverged at iteration") as error:
            train(
                engine, X, Y, [X.shape[1], 5, 3, Y.shape[1]], 100, learning_rate=1e200,
                batch_size=batch_size,
            )  # fmt: skip
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
    # A fit this short is not worth compiling for: auto trains it with NumPy.
    np.testing.assert_array_equal(models[0].coefs_[0], models[2].coefs_[0])


@needs_numba
def test_engines_fit_the_same_minibatch_classifier_with_early_stopping():
    X, y = make_blobs(n_samples=300, centers=3, n_features=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    params = dict(
        solver="adam", batch_size=32, learning_rate=0.01, early_stopping=True, keep_prob=0.9,
        lambd=0.1, max_iter=200, n_iter_no_change=5, random_state=0,
    )  # fmt: skip
    models = [RegularizedMLPClassifier(engine=e, **params).fit(X, y) for e in ("numpy", "numba")]
    assert models[0].n_iter_ == models[1].n_iter_ < 200
    assert models[0].validation_scores_ == models[1].validation_scores_
    for W, W_numpy in zip(models[1].coefs_, models[0].coefs_):
        np.testing.assert_allclose(W, W_numpy, rtol=1e-10, atol=1e-12)
    assert models[1].optimizer_.t == models[0].optimizer_.t


@needs_numba
@pytest.mark.parametrize("loss", ["squared_error", "poisson", "quantile"])
def test_engines_fit_the_same_minibatch_regressor_with_early_stopping(loss):
    """Same split, same R² scores epoch by epoch, same stop, same weights, for each loss."""
    X, y = make_blobs(n_samples=300, centers=3, n_features=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    Y = regression_targets(X, loss, 2)
    params = dict(
        loss=loss, quantile=0.8, batch_size=32, early_stopping=True, keep_prob=0.9, lambd=0.1,
        max_iter=200, n_iter_no_change=5, random_state=0,
    )  # fmt: skip
    models = [RegularizedMLPRegressor(engine=e, **params).fit(X, Y) for e in ("numpy", "numba")]
    assert models[0].n_iter_ == models[1].n_iter_ < 200
    np.testing.assert_allclose(models[1].validation_scores_, models[0].validation_scores_,
                               rtol=1e-10)  # fmt: skip
    for W, W_numpy in zip(models[1].coefs_, models[0].coefs_):
        np.testing.assert_allclose(W, W_numpy, rtol=1e-10, atol=1e-12)


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

# Every training option of the estimator: "auto" chooses the engine from the size alone.
OPTIONS = [
    {},
    {"lambd": 0.5, "keep_prob": 0.8},
    {"batch_size": 500},  # at least n_samples: full batch
    {"penalty": "l1", "lambd": 0.1},
    {"penalty": "elasticnet", "lambd": 0.1, "l1_ratio": 0.3},
    {"input_noise": 0.1},
    {"max_norm": 2.0},
    {"class_weight": {0: 1.0, 1: 2.0}},
    {"class_weight": "balanced"},
    {"solver": "adam"},
    {"solver": "momentum", "early_stopping": True},
    {"tol": 1e-4},
    {"learning_rate_schedule": "adaptive"},
    {"solver": "momentum", "nesterovs_momentum": True, "learning_rate_schedule": "invscaling"},
    {"batch_size": 16, "shuffle": False},
]


@pytest.fixture
def numba_calls(monkeypatch):
    """Counts the fits the compiled loop trains."""
    engine = numba_engine()
    calls = []

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return compiled(*args, **kwargs)

    compiled = engine.train_epochs
    monkeypatch.setattr(engine, "train_epochs", spy)
    return calls


def estimated_seconds_saved(X, max_iter, batch_size=None, hidden=(20, 3)):
    units = [X.shape[1], *hidden, 1]
    return _engines.estimated_seconds_saved(X.shape[0], units, batch_size, max_iter)


@needs_numba
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # (stopping rules)
@pytest.mark.parametrize("params", OPTIONS)
def test_auto_chooses_the_same_engine_whatever_the_options(numba_calls, monkeypatch, params):
    X, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    weights = np.arange(1.0, len(y) + 1)

    def fits():
        for engine in ("auto", "numba", "numpy"):
            RegularizedMLPClassifier(max_iter=20, engine=engine, **params).fit(X, y)
        RegularizedMLPClassifier(max_iter=20, **params).fit(X, y, sample_weight=weights)

    fits()  # too short to repay compiling: only the explicit "numba" compiles
    assert len(numba_calls) == 1
    monkeypatch.setattr(_engines, "AUTO_COMPILE_MIN_SECONDS", 0.0)
    fits()  # every fit worth compiling: both "auto" fits compile, whatever the options
    assert len(numba_calls) == 4


@needs_numba
def test_auto_compiles_fits_estimated_to_save_the_compile_time(numba_calls, monkeypatch):
    """The threshold compares the time compiling is estimated to save, from the number of epochs,
    rows and units, with ``AUTO_COMPILE_MIN_SECONDS``: longer fits, more rows or wider layers
    compile."""
    X, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    X_more = np.vstack([X, X + 0.01])
    seconds = estimated_seconds_saved(X, max_iter=20)
    assert estimated_seconds_saved(X, 21) > seconds
    assert estimated_seconds_saved(X_more, 20) > seconds
    assert estimated_seconds_saved(X, 20, hidden=(21, 3)) > seconds
    assert estimated_seconds_saved(X, 20, batch_size=16) > seconds  # more steps, more overhead
    monkeypatch.setattr(_engines, "AUTO_COMPILE_MIN_SECONDS", seconds * (1 + 1e-9))
    RegularizedMLPClassifier(max_iter=20).fit(X, y)
    assert numba_calls == []
    RegularizedMLPClassifier(max_iter=21).fit(X, y)
    RegularizedMLPClassifier(max_iter=20).fit(X_more, np.concatenate([y, y]))
    RegularizedMLPClassifier(max_iter=20, hidden_layer_sizes=(21, 3)).fit(X, y)
    RegularizedMLPClassifier(max_iter=20, solver="adam", batch_size=16).fit(X, y)
    assert len(numba_calls) == 4


def test_the_reference_workload_is_not_worth_compiling_in_a_new_environment():
    """The default fit on the course's 211 samples: the NumPy engine takes about 1.5 s, less than
    compiling the engine (so a first fit is never slower for having numba installed)."""
    X = np.zeros((211, 2))
    numpy_seconds = _engines.estimated_numpy_seconds(211, [2, 20, 3, 1], None, 30000)
    assert 1.0 < numpy_seconds < _engines.AUTO_COMPILE_MIN_SECONDS
    assert estimated_seconds_saved(X, max_iter=30000) < numpy_seconds
    assert not _engines.auto_compiles(X, [2, 20, 3, 1], None, 30000)


def test_long_fits_whose_time_goes_to_matrix_products_are_not_worth_compiling():
    """W2's mini-batches (100000 x 64, hidden (256, 128), batch 256), 200 epochs: the NumPy
    engine takes a minute and a half, but the compiled engine would save only its per-step
    overhead and a part of the element-wise passes (measured: 1.24 s against 1.43 s for 3
    epochs), less than compiling costs; 3000 epochs would save more."""
    X, units = np.empty((100_000, 64), dtype=np.float32), [64, 256, 128, 10]
    numpy_seconds = _engines.estimated_numpy_seconds(len(X), units, 256, 200)
    assert numpy_seconds > 2 * _engines.AUTO_COMPILE_MIN_SECONDS
    assert not _engines.auto_compiles(X, units, 256, 200)
    assert _engines.auto_compiles(X, units, 256, 3000)


@needs_numba
def test_auto_leaves_large_full_batch_steps_to_numpy_but_numba_takes_them(numba_calls, monkeypatch):
    X, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    n_weights = 2 * 20 + 20 * 3 + 3 * 1  # the default hidden layers (20, 3) on two features
    monkeypatch.setattr(_engines, "AUTO_COMPILE_MIN_SECONDS", 0.0)
    monkeypatch.setattr(_engines, "AUTO_NUMBA_MAX_STEP_SIZE", 60 * n_weights - 1)
    RegularizedMLPClassifier(max_iter=20).fit(X, y)
    RegularizedMLPClassifier(max_iter=20, max_norm=1.0).fit(X, y, sample_weight=np.arange(1.0, 61))
    assert numba_calls == []
    RegularizedMLPClassifier(max_iter=20, engine="numba").fit(X, y)
    # Mini-batches: the compiled loop saves the per-step overhead whatever the size.
    RegularizedMLPClassifier(max_iter=2, solver="adam", batch_size=16).fit(X, y)
    monkeypatch.setattr(_engines, "AUTO_NUMBA_MAX_STEP_SIZE", 60 * n_weights)
    RegularizedMLPClassifier(max_iter=20).fit(X, y)
    assert len(numba_calls) == 3


@pytest.mark.parametrize("engine", ["numpy", pytest.param("numba", marks=needs_numba)])
def test_small_sparse_input_trains_as_dense_on_either_engine(engine):
    """Sparsity is a property of the data: sparse X whose dense copy is small trains as that
    copy, on either engine (the model is the dense one, bit for bit: same rows, same weighted
    set, same products); larger sparse X keeps its sparse products."""
    X, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    X[::3, 0] = 0.0
    models = [
        RegularizedMLPClassifier(max_iter=20, random_state=0, engine=engine).fit(data, y)
        for data in (X, sp.csr_matrix(X), sp.csc_array(X))
    ]
    for model in models[1:]:
        for W, W_dense in zip(model.coefs_, models[0].coefs_):
            np.testing.assert_array_equal(W, W_dense)
    assert isinstance(_engines.training_matrix(sp.csc_matrix(X)), np.ndarray)
    large = sp.random(300, 300, density=0.01, format="csc", random_state=0)
    assert large.shape[0] * large.shape[1] > _engines.DENSE_COPY_MAX_ENTRIES
    assert sp.issparse(_engines.training_matrix(large))
    assert _engines.training_matrix(large).format == "csr"


@needs_numba
def test_auto_leaves_large_sparse_input_to_numpy_but_numba_takes_it(numba_calls, monkeypatch):
    X, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    monkeypatch.setattr(_engines, "AUTO_COMPILE_MIN_SECONDS", 0.0)
    monkeypatch.setattr(_engines, "DENSE_COPY_MAX_ENTRIES", X.size - 1)
    numpy = RegularizedMLPClassifier(max_iter=20, random_state=0).fit(sp.csr_matrix(X), y)
    assert numba_calls == []
    numba = RegularizedMLPClassifier(max_iter=20, random_state=0, engine="numba")
    numba.fit(sp.csr_matrix(X), y)
    assert len(numba_calls) == 1
    for W, W_numpy in zip(numba.coefs_, numpy.coefs_):
        np.testing.assert_allclose(W, W_numpy, rtol=1e-10, atol=1e-12)


# -- the equivalence matrix: every option x solver x batching x dtype ---------------------------

MATRIX_OPTIONS = {
    "plain": {},
    "sample_weight": {"sample_weight": True},
    "l2": {"penalty": Penalty(l2=0.5)},
    "l1": {"penalty": Penalty(l1=0.3)},
    "elasticnet": {"penalty": Penalty(l2=0.2, l1=0.2)},
    "dropout": {"keep_probs": (0.7, 0.9)},
    "max_norm": {"max_norm": 0.8},
    "input_noise": {"input_noise": 0.2},
    "multilabel": {"multilabel": True},
    "weighted_multilabel": {"multilabel": True, "sample_weight": True},
    "sparse": {"sparse": True},  # the NumPy engine's sparse products; numba's dense copy
    "everything": {
        "sample_weight": True, "penalty": Penalty(l2=0.1, l1=0.1), "keep_probs": (0.8, 1.0),
        "max_norm": 1.5, "input_noise": 0.1,
    },
    "invscaling": {"schedule": "invscaling", "power_t": 0.3},
    "invscaling_l1": {"schedule": "invscaling", "penalty": Penalty(l1=0.3), "sample_weight": True},
    "adaptive": {"adaptive_tol": 1e-3},  # plateaus of 3 epochs divide the step size by 5
    "adaptive_l1": {"adaptive_tol": 1e-3, "penalty": Penalty(l1=0.3)},
    "nesterov": {"nesterov": True},  # (the momentum solver's)
    "nesterov_invscaling": {"nesterov": True, "schedule": "invscaling", "keep_probs": (0.7, 0.9)},
    "no_shuffle": {"shuffle": False},
    "no_shuffle_dropout": {"shuffle": False, "keep_probs": (0.7, 0.9), "sample_weight": True},
    # The other hidden activations; under dropout, tanh and the logistic function backpropagate
    # through their outputs before the masks.
    "tanh": {"activation": "tanh"},
    "tanh_dropout": {"activation": "tanh", "keep_probs": (0.7, 0.9)},
    "tanh_multilabel": {"activation": "tanh", "multilabel": True},
    "logistic": {"activation": "logistic"},
    "logistic_everything": {
        "activation": "logistic", "sample_weight": True, "penalty": Penalty(l2=0.1, l1=0.1),
        "keep_probs": (0.8, 1.0), "max_norm": 1.5, "input_noise": 0.1,
    },
    "identity": {"activation": "identity"},
    "leaky_relu": {"activation": "leaky_relu", "keep_probs": (0.7, 0.9)},
}  # fmt: skip
# The regression losses: two outputs, then one output with every option.
for _loss in ("squared_error", "poisson", ("quantile", 0.3)):
    _name = _loss if isinstance(_loss, str) else _loss[0]
    MATRIX_OPTIONS[_name] = {"loss": _loss, "n_outputs": 2}
    MATRIX_OPTIONS[f"{_name}_everything"] = {
        **MATRIX_OPTIONS["everything"], "loss": _loss, "n_outputs": 1,
    }  # fmt: skip


def regression_targets(X, loss, n_outputs):
    """Smooth non-linear targets of ``X``, of unit scale; Poisson counts of their exponential."""
    Y = np.column_stack([X[:, 0] + 0.5 * X[:, 1] ** 2, np.sin(2 * X[:, 2])])[:, :n_outputs]
    if loss == "poisson":
        Y = np.random.RandomState(0).poisson(np.exp(Y / 2))
    return Y.astype(X.dtype)


#: MATRIX_OPTIONS entries that set the optimizer or the training loop, not the regularisation.
TRAINING_OPTIONS = ("schedule", "power_t", "adaptive_tol", "nesterov", "shuffle")


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [None, 32])
@pytest.mark.parametrize("solver", ["gd", "momentum", "adam"])
@pytest.mark.parametrize("option", list(MATRIX_OPTIONS))
def test_engines_agree_on_every_option(option, solver, batch_size, dtype):
    """200 steps (full batch; 50 epochs of 4 batches, the last shorter, on mini-batches): the
    weights agree to 1e-9 relative and the loss curves to 1e-10 in float64, to float32's rounding
    in float32 (1e-4 on the weights; 1e-5 relative or 5e-6 absolute on the curves). Each option
    consumes the random stream, rounds and weights as the NumPy engine does; a drift in any of
    them would show far beyond rounding."""
    settings = dict(MATRIX_OPTIONS[option])
    if settings.get("nesterov") and solver != "momentum":
        pytest.skip("Nesterov momentum is the momentum solver's")
    training = {name: settings.pop(name) for name in TRAINING_OPTIONS if name in settings}
    rng = np.random.RandomState(1)
    X, y = make_blobs(n_samples=120, centers=3, n_features=4, random_state=1)
    X = StandardScaler().fit_transform(X).astype(dtype)
    if "loss" in settings:
        loss = settings.pop("loss")
        Y = regression_targets(X, loss if isinstance(loss, str) else "quantile",
                               settings.pop("n_outputs"))  # fmt: skip
    elif settings.pop("multilabel", False):
        Y = np.column_stack([y == 0, y != 1]).astype(dtype)
        loss = "logistic"
    else:
        Y = np.eye(3, dtype=dtype)[y]
        loss = "softmax"
    if settings.pop("sparse", False):
        X = sp.csr_matrix(X)
    activation = settings.pop("activation", "relu")
    sample_weight = None
    if settings.pop("sample_weight", False):
        sample_weight = rng.uniform(0, 2, len(y)).astype(dtype)
        sample_weight[:40:3] = 0
    regularization = Regularization(
        settings.pop("penalty", Penalty()), settings.pop("keep_probs", (1.0, 1.0)), **settings
    )
    args = (X, Y, [4, 7, 5, Y.shape[1]], 200 if batch_size is None else 50)
    # The pinball loss's minimisers interpolate some of the targets: there, an output within
    # rounding of its target can take either side's gradient, and float32 runs part ways; a
    # smaller step keeps 200 steps away from that regime.
    learning_rate = 0.01 if solver == "adam" or isinstance(loss, tuple) else 0.1
    options = dict(
        regularization=regularization, solver=solver, batch_size=batch_size, loss=loss,
        sample_weight=sample_weight, learning_rate=learning_rate, activation=activation,
        **training,
    )  # fmt: skip
    expected, expected_curve = train("numpy", *args, **options)
    weights, curve = train("numba", *args, **options)
    single = dtype == np.float32
    assert relative_difference(expected, weights) < (1e-4 if single else 1e-9)
    # float32: the NumPy engine takes the logistic loss as softplus(z).sum() - y.z in float32,
    # two sums of up to ~1e3 whose difference is ~1: its rounding is ~1e-6 absolute.
    np.testing.assert_allclose(
        curve, expected_curve, rtol=1e-5 if single else 1e-10, atol=5e-6 if single else 0
    )


# -- weighted = repeated, over many seeds --------------------------------------------------------


@pytest.mark.parametrize("engine", ["numpy", pytest.param("numba", marks=needs_numba)])
def test_integer_weights_give_the_model_of_repeated_rows_for_every_seed(engine):
    """The defaults (full-batch steps at learning rate 0.3, unscaled inputs; 5000 steps, 2000 on
    the slower NumPy engine, through the chaotic phase), 20 seeds on a random 24 x 12, 3-class
    problem, rows shuffled: the weighted fit is the repeated fit, bit for bit. (Trained on the
    rows as written, the two sum in different orders, and the chaotic phases of gradient descent
    amplify that rounding until, for some seeds, one of the networks dies and the other does
    not.)"""
    rng = np.random.RandomState(42)
    X, y, weights = rng.rand(24, 12), rng.randint(0, 3, 24), rng.randint(0, 5, 24)
    X_repeated, y_repeated = X.repeat(weights, axis=0), y.repeat(weights)
    order = rng.permutation(24)
    max_iter = 5000 if engine == "numba" else 2000
    for seed in range(20):
        model = RegularizedMLPClassifier(random_state=seed, engine=engine, max_iter=max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # (dead networks)
            repeated = clone(model).fit(X_repeated, y_repeated)
            weighted = clone(model).fit(X[order], y[order], sample_weight=weights[order])
        for W, W_repeated in zip(
            weighted.coefs_ + weighted.intercepts_, repeated.coefs_ + repeated.intercepts_
        ):
            np.testing.assert_array_equal(W, W_repeated)
        np.testing.assert_array_equal(weighted.predict_proba(X), repeated.predict_proba(X))
