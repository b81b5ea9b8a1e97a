"""The NumPy and compiled engines train the same model (the compiled engine's tests skip where it
is not built), and ``engine="auto"`` chooses between them."""

import re
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from importlib.machinery import EXTENSION_SUFFIXES

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_blobs, make_moons, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor, _codes, _engines, _training
from skreg._base import ACTIVATIONS, LOSS_FUNCTIONS
from skreg._network import Penalty, init_parameters
from skreg._optimizers import make_optimizer
from skreg._random import training_stream
from skreg._stopping_rules import AdaptiveStepSize, TrainingLossStopper
from skreg._training import Regularization


def compiled_engine():
    from skreg import _compiled_engine

    return _compiled_engine


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
    "compiled": the compiled one) from the reference initialisation; full-batch gradient descent
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
    train_epochs = (
        compiled_engine().train_epochs if engine == "compiled" else _training.train_epochs
    )
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


#: Loss curves of up to a few hundred steps agree to this: the NumPy engine's own roundings (its
#: sums, its exponentials) differ between NumPy releases by a few units of 1e-12 over 200 steps.
CURVE_RTOL = 1e-10


def assert_engines_agree(*args, **options):
    """The engines' weights and loss curves agree to rounding for ``train(engine, *args)``."""
    expected, expected_curve = train("numpy", *args, **options)
    weights, curve = train("compiled", *args, **options)
    np.testing.assert_allclose(weights, expected, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(curve, expected_curve, rtol=1e-12)


def blas_min_weights():
    from skreg._compiled._layers import blas_min_weights

    return blas_min_weights()


def relative_difference(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(a)


@pytest.mark.compiled
@pytest.mark.parametrize(
    "lambd, keep_prob, max_iter, seed",
    [
        (0.0, 1.0, 30000, 3),
        (0.7, 1.0, 30000, 3),
        *((0.0, 0.86, 5000, seed) for seed in range(6)),
    ],
)
def test_weights_agree_on_the_reference_workload(football, lambd, keep_prob, max_iter, seed):
    """The reference runs agree to 1e-9. The difference depends on BLAS's kernel, which sums
    the NumPy engine's products in its own order: without regularisation, 1.6e-11 with
    OpenBLAS's SkylakeX kernel, 3e-11 with Haswell's or Zen's, 1.0e-10 with Core2's or
    Prescott's (forced with OPENBLAS_CORETYPE); 5.4e-15 with L2, at most 5e-13 with dropout.

    Dropout makes the run chaotic: rounding differences grow about 1000-fold every 5000
    iterations, at a pace that depends on the masks drawn. Moving one of the NumPy engine's own
    initial weights by one ulp moves its weights after the full 30000 iterations by 0.7%, and the
    engines, which sum in different orders, then differ by 1%; after 10000 iterations they
    differ by 1e-15 to 1e-9 depending on the seed. So the dropout runs are compared over their
    first 5000 iterations, for several seeds.
    """
    X_train, _, y_train, _ = football
    X, Y = np.asarray(X_train, dtype=np.float64), np.asarray(y_train, dtype=np.float64)[:, None]
    keep_probs = (keep_prob, keep_prob)
    args = (X, Y, [2, 20, 3, 1], max_iter, lambd, keep_probs)
    expected, expected_curve = train("numpy", *args, seed=seed)
    weights, curve = train("compiled", *args, seed=seed)
    assert relative_difference(expected, weights) < 1e-9
    np.testing.assert_allclose(curve, expected_curve, rtol=1e-9)


@pytest.mark.compiled
@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("lambd", [0.0, 0.5])
@pytest.mark.parametrize("keep_probs", [(1.0, 1.0, 1.0), (0.7, 1.0, 0.9)])
def test_engines_agree_step_by_step(n_classes, lambd, keep_probs):
    """Same masks, same gradients: a short run agrees to rounding, whatever the options."""
    X, Y = synthetic(n_classes)
    layer_units = [X.shape[1], 9, 6, 5, Y.shape[1]]
    for max_iter in (1, 200):
        expected, expected_curve = train("numpy", X, Y, layer_units, max_iter, lambd, keep_probs)
        weights, curve = train("compiled", X, Y, layer_units, max_iter, lambd, keep_probs)
        np.testing.assert_allclose(weights, expected, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(curve, expected_curve, rtol=CURVE_RTOL)


@pytest.mark.compiled
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


@pytest.mark.compiled
@pytest.mark.parametrize("batch_size", [None, 40])
def test_stopping_rule_stops_both_engines_at_the_same_epoch(batch_size):
    X, Y = synthetic(2)
    curves = []
    for engine in ("numpy", "compiled"):
        stopper = TrainingLossStopper(tol=1e-3, n_iter_no_change=3)
        _, curve = train(engine, X, Y, [2, 5, 3, 1], 10_000, stopper=stopper, batch_size=batch_size)
        assert stopper.stopped
        curves.append(curve)
    assert len(curves[0]) < 10_000
    np.testing.assert_allclose(curves[1], curves[0], rtol=1e-12)


@pytest.mark.compiled
@pytest.mark.parametrize("solver", ["momentum", "adam"])
def test_optimizer_state_continues_alike(solver):
    """Velocity, moments and Adam's step count come out of the compiled loop as the NumPy
    optimizer leaves them, and so does the random stream."""
    X, Y = synthetic(2)
    optimizers, streams = {}, {}
    for engine in ("numpy", "compiled"):
        rng = np.random.RandomState(0)
        params = init_parameters([2, 5, 3, 1], rng)
        optimizer = make_optimizer(
            solver, params.flat.size, np.float64, learning_rate=0.01, **OPTIMIZERS[solver]
        )
        stream = training_stream(rng)
        train_epochs = (
            compiled_engine().train_epochs if engine == "compiled" else _training.train_epochs
        )
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
            getattr(optimizers["compiled"], name), getattr(optimizers["numpy"], name), rtol=1e-12
        )
    if solver == "adam":
        assert optimizers["compiled"].t == optimizers["numpy"].t == 2 * 4 * 3  # 3 batches an epoch
    np.testing.assert_array_equal(streams["compiled"].random(3), streams["numpy"].random(3))


@pytest.mark.compiled
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_large_layers_go_through_blas_and_agree(activation):
    """ReLU's kernels agree to 1e-11 elementwise. NumPy's tanh is its own (vectorised) one, a few
    ulps off the compiled engine's, for a quarter of the inputs: there Adam, which
    divides each gradient by its own magnitude, turns the gradients' rounding into relative
    differences of up to ~1e-9 on a few weights, so the other activations are compared as the
    equivalence matrix compares them."""
    X, Y = synthetic(3)
    layer_units = [X.shape[1], 64, 40, Y.shape[1]]  # 64 * 40 weights: above BLAS_MIN_WEIGHTS
    assert 64 * 40 >= blas_min_weights()
    for options in ({}, {"solver": "adam", "batch_size": 32}):
        args = (X, Y, layer_units, 3 if options else 50, 0.1, (0.8, 0.9))
        if activation == "relu":
            assert_engines_agree(*args, **options)
            continue
        expected, expected_curve = train("numpy", *args, activation=activation, **options)
        weights, curve = train("compiled", *args, activation=activation, **options)
        assert relative_difference(expected, weights) < 1e-10
        np.testing.assert_allclose(curve, expected_curve, rtol=1e-11)


@pytest.mark.parametrize("loss", sorted(LOSS_FUNCTIONS))
def test_float32_losses_are_summed_in_float64(loss):
    """Per-entry losses whose float32 sum would overflow (the NumPy engine summed in float32,
    where the compiled engine's sums run in double): the loss of the float64 inputs, to float32's
    rounding of the per-entry terms."""
    rng = np.random.RandomState(0)
    n_outputs = 1 if loss in ("logistic", "squared_error", "poisson") else 3
    if loss in ("logistic", "softmax"):
        classes = rng.randint(max(n_outputs, 2), size=100)
        Y = np.eye(n_outputs)[classes] if n_outputs > 1 else classes[:, None].astype(float)
        logits = -np.where(Y > 0, 1, -1) * 1e37 * rng.uniform(1, 2, size=Y.shape)
    else:
        Y = (1e36 if loss == "quantile" else 1e35) * rng.uniform(1, 2, size=(100, n_outputs))
        logits = np.zeros_like(Y) if loss == "poisson" else -Y
    function = LOSS_FUNCTIONS[loss]
    expected = function(logits, Y, np.empty_like(Y))
    Y32, logits32 = Y.astype(np.float32), logits.astype(np.float32)
    with np.errstate(over="raise"):
        loss32 = function(logits32, Y32, np.empty_like(Y32))
    assert 1e35 < expected < np.inf
    assert loss32 == pytest.approx(expected, rel=1e-6)


@pytest.mark.compiled
@pytest.mark.parametrize("loss", ["squared_error", "quantile"])
def test_float32_costs_near_the_float_range_agree(loss):
    """Both engines sum the cost in float64: a float32 fit whose mean loss is finite but whose
    float32 sum would overflow trains on both (the NumPy engine summed in float32 and called it a
    divergence), with the same loss curve."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((100, 3)).astype(np.float32)
    y = {"squared_error": 3e18, "quantile": 1e37}[loss] * (1 + rng.uniform(size=100))
    curves = {}
    for engine in ("numpy", "compiled"):
        model = RegularizedMLPRegressor(
            loss=loss, hidden_layer_sizes=(5,), max_iter=2, random_state=0, engine=engine
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            curves[engine] = model.fit(X, y).loss_curve_
    assert np.isfinite(curves["numpy"]).all() and curves["numpy"][0] > 1e36
    np.testing.assert_allclose(curves["compiled"], curves["numpy"], rtol=1e-6)


@pytest.mark.compiled
@pytest.mark.parametrize("n_classes", [2, 3])
def test_float32_stays_float32_and_agrees(n_classes):
    X, y = synthetic(n_classes, np.float32)
    y = y.argmax(axis=1) if n_classes > 2 else y[:, 0]
    models = {
        engine: RegularizedMLPClassifier(
            max_iter=300, keep_prob=0.9, lambd=0.1, random_state=0, engine=engine
        ).fit(X, y)
        for engine in ("numpy", "compiled")
    }
    for W, W_numpy in zip(models["compiled"].coefs_, models["numpy"].coefs_):
        assert W.dtype == np.float32
        np.testing.assert_allclose(W, W_numpy, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        models["compiled"].loss_curve_, models["numpy"].loss_curve_, rtol=1e-5
    )


@pytest.mark.compiled
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("batch_size", [None, 40])
def test_divergence_raises_the_same_error(n_classes, batch_size):
    X, Y = synthetic(n_classes)
    messages = []
    for engine in ("numpy", "compiled"):
        with pytest.raises(ValueError, match="Training diverged at iteration") as error:
            train(
                engine, X, Y, [X.shape[1], 5, 3, Y.shape[1]], 100, learning_rate=1e200,
                batch_size=batch_size,
            )  # fmt: skip
        messages.append(str(error.value))
    assert messages[0] == messages[1]


@pytest.mark.compiled
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("batch_size", [None, 32])
@pytest.mark.parametrize(
    "solver", [{"solver": "adam"}, {"solver": "momentum"}, {"nesterovs_momentum": True}]
)
@pytest.mark.parametrize("learning_rate", [1e100, 1e200])
def test_an_overflowing_update_is_a_divergence_on_both_engines(
    seed, batch_size, solver, learning_rate
):
    """An update that overflows (Adam's squared gradient, a velocity) stops training at the
    same epoch on both engines: Adam's step from an infinite second moment is 0, which once left
    the compiled engine's weights frozen, finite, and the fit "successful". (Without overflow,
    momentum at such a step kills every ReLU unit, finite: both engines then fit that.)"""
    X, y = make_blobs(120, centers=3, n_features=4, random_state=seed)
    params = {"solver": "momentum", **solver, "batch_size": batch_size, "max_iter": 30}
    outcomes = []
    for engine in ("numpy", "compiled"):
        model = RegularizedMLPClassifier(
            engine=engine, learning_rate=learning_rate, random_state=seed, **params
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                outcomes.append(model.fit(X, y).loss_curve_)
        except ValueError as error:
            assert "Training diverged at iteration" in str(error)
            outcomes.append(str(error))
    if solver.get("solver") == "adam":  # its squared gradient overflows
        assert isinstance(outcomes[0], str)
    if isinstance(outcomes[0], str):
        assert outcomes[1] == outcomes[0]
    else:
        # The engines sum in different orders (and BLAS's order differs by CPU): rounding only.
        np.testing.assert_allclose(outcomes[1], outcomes[0], rtol=1e-9)


@pytest.mark.compiled
def test_verbose_output_matches(capsys):
    X, Y = synthetic(2)
    lines = []
    for engine in ("numpy", "compiled"):
        train(engine, X, Y, [2, 5, 3, 1], 2501, verbose=1)
        lines.append(capsys.readouterr().out.splitlines())
    pattern = re.compile(r"Cost after iteration (\d+): (\S+)")
    parsed = [[pattern.fullmatch(line).groups() for line in out] for out in lines]
    assert [i for i, _ in parsed[0]] == [i for i, _ in parsed[1]] == ["0", "1000", "2000"]
    costs = np.array([[float(cost) for _, cost in engine_lines] for engine_lines in parsed])
    # Same digits up to the last few: the two engines sum in different orders.
    np.testing.assert_allclose(costs[1], costs[0], rtol=1e-12)


@pytest.mark.compiled
def test_engines_fit_the_same_classifier():
    X, y = make_moons(n_samples=100, noise=0.2, random_state=1)
    models = [
        RegularizedMLPClassifier(max_iter=500, random_state=0, engine=engine).fit(X, y)
        for engine in ("numpy", "compiled", "auto")
    ]
    for model in models[1:]:
        for W, W_numpy in zip(model.coefs_, models[0].coefs_):
            np.testing.assert_allclose(W, W_numpy, rtol=1e-10, atol=1e-12)
    # "auto" trains it on the compiled engine: the same model, bit for bit.
    np.testing.assert_array_equal(models[1].coefs_[0], models[2].coefs_[0])


@pytest.mark.compiled
def test_engines_fit_the_same_minibatch_classifier_with_early_stopping():
    X, y = make_blobs(n_samples=300, centers=3, n_features=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    params = dict(
        solver="adam", batch_size=32, learning_rate=0.01, early_stopping=True, keep_prob=0.9,
        lambd=0.1, max_iter=200, n_iter_no_change=5, random_state=0,
    )  # fmt: skip
    models = [RegularizedMLPClassifier(engine=e, **params).fit(X, y) for e in ("numpy", "compiled")]
    assert models[0].n_iter_ == models[1].n_iter_ < 200
    # (the held-out losses, which the engines round alike up to the order of their sums)
    np.testing.assert_allclose(models[1].validation_scores_, models[0].validation_scores_,
                               rtol=1e-10)  # fmt: skip
    for W, W_numpy in zip(models[1].coefs_, models[0].coefs_):
        np.testing.assert_allclose(W, W_numpy, rtol=1e-10, atol=1e-12)
    assert models[1].optimizer_.t == models[0].optimizer_.t


@pytest.mark.compiled
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
    models = [RegularizedMLPRegressor(engine=e, **params).fit(X, Y) for e in ("numpy", "compiled")]
    assert models[0].n_iter_ == models[1].n_iter_ < 200
    np.testing.assert_allclose(models[1].validation_scores_, models[0].validation_scores_,
                               rtol=1e-10)  # fmt: skip
    for W, W_numpy in zip(models[1].coefs_, models[0].coefs_):
        np.testing.assert_allclose(W, W_numpy, rtol=1e-10, atol=1e-12)


@pytest.fixture
def without_compiled_engine(monkeypatch):
    """As if the compiled engine were not built; the warning of its absence not yet given."""
    monkeypatch.setattr(_engines, "compiled_engine", lambda: None)
    monkeypatch.setitem(_engines._missing_warning, "given", False)


def test_without_the_compiled_engine_auto_trains_on_numpy_and_says_so_once(
    without_compiled_engine,
):
    X, y = make_moons(n_samples=50, random_state=0)
    with pytest.warns(_engines.CompiledEngineMissingWarning, match="apt-get install gcc") as record:
        auto = RegularizedMLPClassifier(max_iter=50, random_state=0).fit(X, y)
        RegularizedMLPClassifier(max_iter=5).fit(X, y)
    assert len(record) == 1  # once per process
    assert record[0].filename == __file__  # pointing at the user's call
    numpy = RegularizedMLPClassifier(max_iter=50, random_state=0, engine="numpy").fit(X, y)
    np.testing.assert_array_equal(auto.coefs_[0], numpy.coefs_[0])


def test_without_the_compiled_engine_first_fits_in_threads_say_so_once(without_compiled_engine):
    X, y = make_moons(n_samples=50, random_state=0)
    with pytest.warns(_engines.CompiledEngineMissingWarning) as record:
        with ThreadPoolExecutor(4) as pool:
            for _ in pool.map(
                lambda seed: RegularizedMLPClassifier(max_iter=5, random_state=seed).fit(X, y),
                range(8),
            ):
                pass
    assert len(record) == 1


def test_without_the_compiled_engine_compiled_is_a_clear_error(without_compiled_engine):
    X, y = make_moons(n_samples=50, random_state=0)
    with pytest.raises(ImportError, match='engine="compiled" needs the compiled engine.*gcc'):
        RegularizedMLPClassifier(max_iter=5, engine="compiled").fit(X, y)


def test_a_source_tree_imported_before_an_installed_engine_is_named_in_the_advice(tmp_path):
    """``python -m skreg`` in a checkout imports the checkout's sources, without the compiled
    engine, before the installed skreg: the advice says so instead of asking for a compiler."""
    checkout = tmp_path / "checkout" / "skreg"
    checkout.mkdir(parents=True)
    (checkout / "__init__.py").touch()
    installed = tmp_path / "site-packages" / "skreg"
    (installed / "_compiled").mkdir(parents=True)
    path = [str(tmp_path / "checkout"), str(tmp_path / "site-packages")]
    assert _engines.missing_advice(checkout, path) == _engines.MISSING_ADVICE  # not built there
    (installed / "_compiled" / f"_training{EXTENSION_SUFFIXES[0]}").touch()
    advice = _engines.missing_advice(checkout, path)
    assert str(checkout) in advice and str(installed) in advice and "pip install -e ." in advice
    assert _engines.missing_advice(checkout, path[:1]) == _engines.MISSING_ADVICE


def test_skreg_imports_and_fits_without_the_compiled_engine():
    code = (
        "import sys, warnings\n"
        "for build in ('_compiled', '_compiled_avx2'):\n"
        "    sys.modules[f'skreg.{build}._training'] = None\n"
        "from skreg import RegularizedMLPClassifier\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    model = RegularizedMLPClassifier(max_iter=20).fit([[0.0], [1.0]], [0, 1])\n"
        "assert 'skreg._compiled_engine' not in sys.modules\n"
        "print(model.n_iter_, [type(w.message).__name__ for w in caught])\n"
        "print(caught[0].message)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    summary, message = result.stdout.strip().split("\n")
    assert summary == "20 ['CompiledEngineMissingWarning']"
    # The import's own error is in the message: a partial build would show there.
    assert "Importing it failed: import of skreg._compiled" in message


@pytest.mark.compiled
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_numba_is_a_deprecated_alias_of_compiled():
    X, y = make_moons(n_samples=50, random_state=0)
    compiled = RegularizedMLPClassifier(max_iter=50, random_state=0, engine="compiled").fit(X, y)
    with pytest.warns(FutureWarning, match='engine="numba" is deprecated') as record:
        numba = RegularizedMLPClassifier(max_iter=50, random_state=0, engine="numba").fit(X, y)
    assert record[0].filename == __file__
    for solver in ("lbfgs", "adam"):  # every solver, and partial_fit, say it
        model = RegularizedMLPClassifier(max_iter=5, solver=solver, engine="numba")
        with pytest.warns(FutureWarning, match='engine="numba" is deprecated') as record:
            model.partial_fit(X, y, classes=[0, 1]) if solver == "adam" else model.fit(X, y)
        assert record[0].filename == __file__
    np.testing.assert_array_equal(numba.coefs_[0], compiled.coefs_[0])


@pytest.mark.compiled
def test_the_codes_table_is_the_compiled_enums():
    from skreg._compiled._build import enum_codes

    assert enum_codes() == {
        "losses": _codes.LOSS_CODES,
        "activations": _codes.ACTIVATION_CODES,
        "solvers": _codes.SOLVER_CODES,
    }
    assert set(_codes.ACTIVATIONS) == set(ACTIVATIONS)
    assert set(_codes.LOSSES) == set(LOSS_FUNCTIONS)


@pytest.mark.compiled
def test_multilabel_targets_agree():
    X, Y = make_multilabel_classification(n_samples=120, n_features=5, n_classes=3, random_state=0)
    X = StandardScaler().fit_transform(X)
    models = [
        RegularizedMLPClassifier(max_iter=300, keep_prob=0.8, lambd=0.2, random_state=0, engine=e)
        for e in ("numpy", "compiled")
    ]
    for model in models:
        model.fit(X, Y)
    assert models[1].coefs_[-1].shape == (3, 3)
    for W, W_numpy in zip(models[1].coefs_, models[0].coefs_):
        np.testing.assert_allclose(W, W_numpy, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(models[1].loss_curve_, models[0].loss_curve_, rtol=1e-12)


@pytest.mark.compiled
def test_partial_fit_and_warm_start_continue_alike():
    X, y = make_moons(n_samples=100, noise=0.2, random_state=1)
    models = {}
    for engine in ("numpy", "compiled"):
        model = RegularizedMLPClassifier(
            max_iter=100, keep_prob=0.9, warm_start=True, random_state=0, engine=engine
        )
        model.fit(X, y).fit(X, y)
        for _ in range(3):
            model.partial_fit(X, y)
        models[engine] = model
    assert models["compiled"].n_iter_ == models["numpy"].n_iter_ == 103  # the last fit's and 3
    for W, W_numpy in zip(models["compiled"].coefs_, models["numpy"].coefs_):
        np.testing.assert_allclose(W, W_numpy, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        models["compiled"].loss_curve_, models["numpy"].loss_curve_, rtol=1e-12
    )


@pytest.mark.compiled
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"keep_prob": 0.8, "lambd": 0.3, "max_norm": 2.0},
        {"activation": "tanh", "keep_prob": 0.9, "input_noise": 0.1},
        {"activation": "logistic", "solver": "adam", "batch_size": 16, "penalty": "l1"},
        {"activation": "leaky_relu", "solver": "momentum", "nesterovs_momentum": True},
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_avx2_build_trains_the_baseline_model_bit_for_bit(monkeypatch, options, dtype):
    """Where the CPU has AVX2, the engine runs the AVX2 build of the kernels: the same sources,
    wider vectors, and the same model, bit for bit, as the baseline build."""
    from skreg import _compiled_engine

    try:
        from skreg._compiled import _training as baseline
        from skreg._compiled_avx2 import _training as avx2
    except ImportError:
        pytest.skip("no AVX2 build on this platform")
    if not _compiled_engine._cpu_has_avx2():
        pytest.skip("this CPU has no AVX2")
    assert _compiled_engine.Trainer is avx2.Trainer
    X, y = make_blobs(n_samples=150, centers=3, n_features=5, random_state=0)
    X = StandardScaler().fit_transform(X).astype(dtype)
    models = []
    for kernels in (baseline, avx2):
        monkeypatch.setattr(_compiled_engine, "Trainer", kernels.Trainer)
        model = RegularizedMLPClassifier(
            hidden_layer_sizes=(40, 36), max_iter=60, learning_rate=0.05, random_state=0,
            engine="compiled", **options,
        )  # fmt: skip
        models.append(model.fit(X, y))
    for W, W_baseline in zip(models[1].coefs_ + models[1].intercepts_,
                             models[0].coefs_ + models[0].intercepts_):  # fmt: skip
        np.testing.assert_array_equal(W, W_baseline)
    assert models[1].loss_curve_ == models[0].loss_curve_


# -- which engine trains ------------------------------------------------------------------------

# Every training option of the estimator: "auto" never looks at them.
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
def compiled_calls(monkeypatch):
    """Counts the fits the compiled engine trains."""
    engine = compiled_engine()
    calls = []

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return compiled(*args, **kwargs)

    compiled = engine.train_epochs
    monkeypatch.setattr(engine, "train_epochs", spy)
    return calls


@pytest.mark.compiled
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # (stopping rules)
@pytest.mark.parametrize("params", OPTIONS)
def test_auto_trains_every_option_on_the_compiled_engine(compiled_calls, params):
    X, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    weights = np.arange(1.0, len(y) + 1)
    for engine in ("auto", "compiled", "numpy"):
        RegularizedMLPClassifier(max_iter=20, engine=engine, **params).fit(X, y)
    RegularizedMLPClassifier(max_iter=20, **params).fit(X, y, sample_weight=weights)
    assert len(compiled_calls) == 3


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


@pytest.mark.compiled
def test_auto_leaves_large_sparse_input_to_numpy_but_compiled_takes_it(compiled_calls, monkeypatch):
    X, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    monkeypatch.setattr(_engines, "DENSE_COPY_MAX_ENTRIES", X.size - 1)
    numpy = RegularizedMLPClassifier(max_iter=20, random_state=0).fit(sp.csr_matrix(X), y)
    assert compiled_calls == []
    compiled = RegularizedMLPClassifier(max_iter=20, random_state=0, engine="compiled")
    compiled.fit(sp.csr_matrix(X), y)
    assert len(compiled_calls) == 1
    for W, W_numpy in zip(compiled.coefs_, numpy.coefs_):
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
    "sparse": {"sparse": True},  # the NumPy engine's sparse products; a dense copy compiled
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


@pytest.mark.compiled
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
    weights, curve = train("compiled", *args, **options)
    single = dtype == np.float32
    assert relative_difference(expected, weights) < (1e-4 if single else 1e-9)
    # float32: the NumPy engine takes the logistic loss as softplus(z).sum() - y.z in float32,
    # two sums of up to ~1e3 whose difference is ~1: its rounding is ~1e-6 absolute.
    np.testing.assert_allclose(
        curve, expected_curve, rtol=1e-5 if single else 1e-10, atol=5e-6 if single else 0
    )


# -- weighted = repeated, over many seeds --------------------------------------------------------


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
    max_iter = 5000 if engine == "compiled" else 2000
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
