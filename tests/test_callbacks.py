"""scikit-learn's callback API (scikit-learn 1.9 and later): one subtask per epoch."""

import subprocess
import sys
from importlib.util import find_spec

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_moons
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier

callback = pytest.importorskip("sklearn.callback")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def data():
    X, y = make_moons(n_samples=120, noise=0.25, random_state=0)
    return StandardScaler().fit_transform(X), y


class Recorder:
    """Records the epochs it hears of; asks to stop at the end of epoch ``stop_at`` (1-based)."""

    def __init__(self, stop_at=None):
        self.stop_at, self.begun, self.ended, self.teardowns = stop_at, [], [], 0
        self.coefs, self.fitted_estimators = [], []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        self.teardowns += 1

    def on_fit_task_begin(self, estimator, context):
        self.begun.append(context.task_name)

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.ended.append(context.task_name)
        if context.task_name == "epoch" and fitted_estimator is not None:
            self.coefs.append(fitted_estimator.coefs_[0].copy())
            self.fitted_estimators.append(fitted_estimator)
            return self.stop_at is not None and len(self.coefs) >= self.stop_at
        return False


SETTINGS = [
    {},
    {"solver": "adam", "batch_size": 16, "learning_rate": 0.01},
    {"keep_prob": 0.8, "early_stopping": True, "n_iter_no_change": 1000},
]


@pytest.mark.parametrize("params", SETTINGS)
def test_every_epoch_is_a_subtask_and_the_model_is_unchanged(data, engine, params):
    X, y = data
    model = RegularizedMLPClassifier(max_iter=25, random_state=0, engine=engine, **params)
    plain = clone(model).fit(X, y)
    recorder = Recorder()
    with_callbacks = model.set_callbacks(recorder).fit(X, y)
    assert recorder.begun == ["fit"] + ["epoch"] * 25
    assert recorder.ended == ["epoch"] * 25 + ["fit"]
    assert recorder.teardowns == 1
    for W, W_plain in zip(with_callbacks.coefs_, plain.coefs_, strict=True):
        np.testing.assert_array_equal(W, W_plain)
    # Each epoch's fitted copy has the weights of that epoch: the last one is the model's
    # (without early stopping, which restores its best epoch).
    if not params.get("early_stopping"):
        np.testing.assert_array_equal(recorder.coefs[-1], with_callbacks.coefs_[0])
    assert not np.array_equal(recorder.coefs[0], recorder.coefs[-1])


@pytest.mark.parametrize("params", SETTINGS)
def test_a_callback_that_stops_leaves_the_weights_of_that_epoch(data, engine, params):
    X, y = data
    recorder = Recorder(stop_at=7)
    model = RegularizedMLPClassifier(max_iter=40, random_state=0, engine=engine, **params)
    model.set_callbacks(recorder).fit(X, y)
    assert model.n_iter_ == 7 and len(model.loss_curve_) == 7
    np.testing.assert_array_equal(model.coefs_[0], recorder.coefs[-1])
    if params.get("early_stopping"):
        return  # (early stopping holds rows out: a 7-epoch fit without it is another model)
    # The same as training for exactly 7 epochs (the same draws, the same steps).
    shorter = RegularizedMLPClassifier(max_iter=7, random_state=0, engine=engine, **params)
    for W, W_short in zip(model.coefs_, shorter.fit(X, y).coefs_, strict=True):
        np.testing.assert_array_equal(W, W_short)


@pytest.mark.parametrize("continue_with", ["partial_fit", "warm_start"])
def test_an_epochs_fitted_copy_predicts_like_the_model_and_trains_further(data, continue_with):
    X, y = data
    recorder = Recorder()
    model = RegularizedMLPClassifier(max_iter=5, keep_prob=0.8, random_state=0)
    model.set_callbacks(recorder).fit(X, y)
    copy = recorder.fitted_estimators[-1]
    np.testing.assert_array_equal(copy.keep_probs_, model.keep_probs_)
    # The last epoch's copy has the model's weights and dropout: the same Monte-Carlo draws.
    for got, expected in zip(
        copy.predict_proba(X[:5], return_std=True, n_draws=20),
        model.predict_proba(X[:5], return_std=True, n_draws=20),
        strict=True,
    ):
        np.testing.assert_array_equal(got, expected)
    copy.set_callbacks()
    if continue_with == "partial_fit":
        copy.partial_fit(X, y)
        assert copy.n_iter_ == 1
    else:
        copy.set_params(warm_start=True, max_iter=3).fit(X, y)
        assert copy.n_iter_ == 3
    assert len(copy.loss_curve_) == copy.n_iter_
    assert not np.array_equal(copy.coefs_[0], model.coefs_[0])  # trained on from its weights


def test_lbfgs_iterations_are_subtasks_and_a_callback_can_stop_them(data):
    X, y = data
    recorder = Recorder(stop_at=4)
    model = RegularizedMLPClassifier(solver="lbfgs", max_iter=50, random_state=0)
    model.set_callbacks(recorder).fit(X, y)
    assert model.n_iter_ == 4
    np.testing.assert_array_equal(model.coefs_[0], recorder.coefs[-1])


def test_scoring_monitor_logs_a_score_per_epoch(data):
    X, y = data
    monitor = callback.ScoringMonitor(scoring="accuracy")
    RegularizedMLPClassifier(max_iter=30, random_state=0).set_callbacks(monitor).fit(X, y)
    epochs = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    assert [row["task_id"] for row in epochs] == list(range(30))
    assert all(0 <= row["accuracy"] <= 1 for row in epochs)
    assert epochs[-1]["accuracy"] > epochs[0]["accuracy"]


class PropagatedRecorder(Recorder):
    """Set on a meta-estimator, propagated to the estimators it fits (as ProgressBar is)."""

    max_propagation_depth = None

    def on_fit_task_end(self, estimator, context):
        self.ended.append((context.estimator_name, context.task_name))


def test_callbacks_propagate_from_a_search_through_a_pipeline(data):
    X, y = data
    recorder = PropagatedRecorder()
    pipeline = make_pipeline(StandardScaler(), RegularizedMLPClassifier(max_iter=10))
    search = GridSearchCV(pipeline, {"regularizedmlpclassifier__lambd": [0.0, 1.0]}, cv=2)
    search.set_callbacks(recorder).fit(X, y)
    ours = [task for name, task in recorder.ended if name == "RegularizedMLPClassifier"]
    # 2 candidates x 2 folds, and the refit: 5 fits of 10 epochs.
    assert ours == (["epoch"] * 10 + ["fit"]) * 5
    assert recorder.teardowns == 1


def test_a_search_without_callbacks_trains_without_hooks(data, engine, monkeypatch):
    """scikit-learn gives each fit of a search a callback context even when no callback is set
    anywhere: such a fit trains with no rule to call between epochs (one compiled call), as
    fast as alone; with a callback set on the search, every fit hears of every epoch."""
    from skreg import _engines, _estimator

    stoppers = []
    train = _engines.training_function(engine, data[0])

    def spy(*args, **kwargs):
        stoppers.append(kwargs["stopper"])
        return train(*args, **kwargs)

    monkeypatch.setattr(_estimator, "training_function", lambda *args: spy)
    pipeline = make_pipeline(StandardScaler(), RegularizedMLPClassifier(max_iter=20, engine=engine))
    grid = {"regularizedmlpclassifier__lambd": [0.0, 1.0]}
    GridSearchCV(pipeline, grid, cv=2).fit(*data)
    assert len(stoppers) == 5 and stoppers == [None] * 5
    stoppers.clear()
    GridSearchCV(pipeline, grid, cv=2).set_callbacks(PropagatedRecorder()).fit(*data)
    assert len(stoppers) == 5 and all(stopper is not None for stopper in stoppers)


def test_a_failed_fit_still_tears_the_callbacks_down(data):
    X, y = data
    recorder = Recorder()
    model = RegularizedMLPClassifier(max_iter=50, learning_rate=1e200, random_state=0)
    with pytest.raises(ValueError, match="diverged"):
        model.set_callbacks(recorder).fit(X, y)
    assert recorder.teardowns == 1
    assert not hasattr(model, "coefs_") and not hasattr(model, "_callback_fit_ctx")


@pytest.mark.skipif(find_spec("rich") is None, reason="ProgressBar needs rich")
def test_progress_bar_runs(data):
    X, y = data
    model = RegularizedMLPClassifier(max_iter=50, random_state=0)
    model.set_callbacks(callback.ProgressBar()).fit(X, y)
    assert model.n_iter_ == 50


def test_without_the_callback_api_the_estimator_works_without_set_callbacks():
    code = (
        "import sys, sklearn.preprocessing, sklearn.linear_model, sklearn.model_selection\n"
        "sys.modules['sklearn.callback'] = None  # as before scikit-learn 1.9\n"
        "from skreg import RegularizedMLPClassifier\n"
        "model = RegularizedMLPClassifier(max_iter=5).fit([[0.0], [1.0]], [0, 1])\n"
        "print(model.n_iter_, hasattr(model, 'set_callbacks'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5", "False"]
