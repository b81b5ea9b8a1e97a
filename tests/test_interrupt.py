"""A fit that fails or is interrupted leaves the estimator as it was: unfitted, or the old model."""

import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skreg import RegularizedMLPClassifier, _base, _stopping_rules
from skreg._engines import compiled_engine

HAS_COMPILED = compiled_engine() is not None

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

rng = np.random.RandomState(0)
X_OLD, Y_OLD = rng.standard_normal((40, 2)), np.arange(40) % 2
# The refit sees other features (names and count) and other classes than the first fit.
X_NEW = pd.DataFrame(rng.standard_normal((30, 3)), columns=["a", "b", "c"])
Y_NEW = np.array(["x", "y", "z"])[np.arange(30) % 3]


@pytest.fixture
def interrupt_after(monkeypatch):
    """Make the training loss raise ``KeyboardInterrupt`` on its ``n``-th call during ``fit``.

    Only the NumPy engine calls these loss functions, so these tests ask for it; restoring the
    estimator after a failed fit does not depend on the engine.
    """

    def arm(n_calls):
        calls = []
        for name, loss in list(_base.LOSS_FUNCTIONS.items()):

            def interrupting(*args, loss=loss):
                calls.append(1)
                if len(calls) >= n_calls:
                    raise KeyboardInterrupt
                return loss(*args)

            monkeypatch.setitem(_base.LOSS_FUNCTIONS, name, interrupting)
        return calls

    return arm


def snapshot(model):
    """Every attribute, arrays (also inside lists) copied, to compare after the interruption."""

    def copy(value):
        if isinstance(value, np.ndarray):
            return value.copy()
        if isinstance(value, list):
            return [copy(v) for v in value]
        return value

    return {key: copy(value) for key, value in vars(model).items()}


def assert_same_state(model, state):
    assert vars(model).keys() == state.keys()
    for key, expected in state.items():
        actual = vars(model)[key]
        if isinstance(expected, list) and expected and isinstance(expected[0], np.ndarray):
            assert len(actual) == len(expected)
            for a, e in zip(actual, expected):
                np.testing.assert_array_equal(a, e)
        elif isinstance(expected, np.ndarray):
            np.testing.assert_array_equal(actual, expected)
        else:
            assert actual == expected, key


def test_interrupted_first_fit_leaves_the_estimator_unfitted(interrupt_after):
    model = RegularizedMLPClassifier(engine="numpy", max_iter=50, random_state=0)
    fresh = snapshot(model)
    calls = interrupt_after(10)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X_NEW, Y_NEW)
    assert len(calls) == 10  # the interruption came mid-training
    assert_same_state(model, fresh)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    with pytest.raises(NotFittedError):
        model.predict(X_NEW)


def test_interrupted_refit_keeps_the_previous_model_intact(interrupt_after):
    model = RegularizedMLPClassifier(engine="numpy", max_iter=50, random_state=0).fit(X_OLD, Y_OLD)
    before = snapshot(model)
    proba_before = model.predict_proba(X_OLD)
    interrupt_after(10)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X_NEW, Y_NEW)
    assert_same_state(model, before)
    np.testing.assert_array_equal(model.predict_proba(X_OLD), proba_before)


def test_failed_fit_leaves_the_estimator_as_it_was():
    model = RegularizedMLPClassifier(max_iter=50, random_state=1).fit(X_OLD, Y_OLD)
    before = snapshot(model)
    with pytest.raises(ValueError, match="Training diverged"):
        model.set_params(learning_rate=1e200).fit(X_NEW, Y_NEW)
    before["learning_rate"] = 1e200
    assert_same_state(model, before)

    fresh = RegularizedMLPClassifier(max_iter=50, learning_rate=1e200, random_state=1)
    with pytest.raises(ValueError, match="Training diverged"):
        fresh.fit(X_NEW, Y_NEW)
    with pytest.raises(NotFittedError):
        fresh.predict(X_NEW)


def test_fit_after_an_interruption_gives_the_uninterrupted_model(interrupt_after, monkeypatch):
    model = RegularizedMLPClassifier(engine="numpy", max_iter=50, random_state=0)
    expected = clone(model).fit(X_NEW, Y_NEW)
    interrupt_after(5)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X_NEW, Y_NEW)
    monkeypatch.undo()
    model.fit(X_NEW, Y_NEW)
    for a, b in zip(model.coefs_ + model.intercepts_, expected.coefs_ + expected.intercepts_):
        np.testing.assert_array_equal(a, b)


# -- the toolbox: partial_fit, early stopping, warm_start, mini-batches, L-BFGS -------------------


def fitted_state(model, X, y):
    """The model's attributes and its predictions, to compare after an interrupted call."""
    return snapshot(model), model.predict_proba(X)


def assert_unchanged(model, X, state):
    attributes, proba = state
    assert_same_state(model, attributes)
    np.testing.assert_array_equal(model.predict_proba(X), proba)


def assert_same_optimizer(model, optimizer_state):
    for name, value in optimizer_state.items():
        np.testing.assert_array_equal(getattr(model.optimizer_, name), value)


@pytest.mark.parametrize("solver", ["gd", "momentum", "adam"])
def test_interrupted_partial_fit_keeps_the_previous_state(interrupt_after, solver):
    model = RegularizedMLPClassifier(
        solver=solver, learning_rate=0.01, batch_size=4, random_state=0, engine="numpy"
    )
    for _ in range(3):
        model.partial_fit(X_OLD, Y_OLD, classes=[0, 1])
    state = fitted_state(model, X_OLD, Y_OLD)
    optimizer_state = {k: np.copy(v) for k, v in vars(model.optimizer_).items()}
    calls = interrupt_after(5)  # within the chunk's fourth mini-batch step
    with pytest.raises(KeyboardInterrupt):
        model.partial_fit(X_OLD, Y_OLD)
    assert len(calls) == 5
    assert_unchanged(model, X_OLD, state)
    assert_same_optimizer(model, optimizer_state)  # its moments are copies, not shared


def test_interrupted_first_partial_fit_leaves_the_estimator_unfitted(interrupt_after):
    model = RegularizedMLPClassifier(batch_size=4, random_state=0, engine="numpy")
    fresh = snapshot(model)
    interrupt_after(3)
    with pytest.raises(KeyboardInterrupt):
        model.partial_fit(X_NEW, Y_NEW, classes=["x", "y", "z"])
    assert_same_state(model, fresh)
    with pytest.raises(NotFittedError):
        model.predict(X_NEW)


@pytest.fixture
def interrupt_validation_after(monkeypatch):
    """Make early stopping's validation score raise ``KeyboardInterrupt`` at its n-th call."""

    def arm(n_calls):
        calls = []
        validation_score = _stopping_rules.ValidationStopper.validation_score

        def interrupting(self, params):
            calls.append(1)
            if len(calls) >= n_calls:
                raise KeyboardInterrupt
            return validation_score(self, params)

        monkeypatch.setattr(_stopping_rules.ValidationStopper, "validation_score", interrupting)
        return calls

    return arm


@pytest.mark.parametrize("where", ["training step", "validation"])
@pytest.mark.parametrize("warm_start", [False, True])
def test_interrupted_early_stopping_fit_keeps_the_previous_model(
    interrupt_after, interrupt_validation_after, where, warm_start
):
    model = RegularizedMLPClassifier(
        solver="adam",
        learning_rate=0.01,
        batch_size=8,
        early_stopping=True,
        n_iter_no_change=1000,
        max_iter=30,
        warm_start=warm_start,
        random_state=0,
        # The interruption in validation also comes between the compiled engine's epochs.
        engine="numpy" if where == "training step" or not HAS_COMPILED else "compiled",
    ).fit(X_OLD, Y_OLD)
    state = fitted_state(model, X_OLD, Y_OLD)
    optimizer_state = {k: np.copy(v) for k, v in vars(model.optimizer_).items()}
    calls = (interrupt_after if where == "training step" else interrupt_validation_after)(12)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X_OLD, Y_OLD)
    assert len(calls) == 12
    assert_unchanged(model, X_OLD, state)
    assert_same_optimizer(model, optimizer_state)


def test_interrupted_lbfgs_fit_keeps_the_previous_model(interrupt_after):
    model = RegularizedMLPClassifier(solver="lbfgs", max_iter=30, random_state=0).fit(X_OLD, Y_OLD)
    state = fitted_state(model, X_OLD, Y_OLD)
    interrupt_after(8)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X_OLD, Y_OLD)
    assert_unchanged(model, X_OLD, state)


@pytest.mark.compiled
@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_ctrl_c_interrupts_a_long_compiled_fit_at_once():
    """The compiled engine trains without the GIL, in calls of a fraction of a second: Python
    raises ``KeyboardInterrupt`` between two calls, not only at the end of the fit."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("Python raises KeyboardInterrupt in the main thread only")
    model = RegularizedMLPClassifier(engine="compiled", max_iter=5 * 10**6, random_state=0)
    ctrl_c = threading.Timer(
        0.3, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT)
    )
    started = time.perf_counter()
    ctrl_c.start()
    with pytest.raises(KeyboardInterrupt):
        model.fit(X_OLD, Y_OLD)
    # The whole fit takes several times as long (seconds on any machine).
    assert time.perf_counter() - started < 2.0
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
