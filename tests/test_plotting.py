import subprocess
import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier
from skreg.datasets import make_football

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skreg.plotting import LossCurveDisplay  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    X_train, _, y_train, _ = make_football()
    return RegularizedMLPClassifier(max_iter=300, random_state=0).fit(X_train, y_train)


def test_importing_skreg_does_not_import_matplotlib():
    code = "import sys, skreg, skreg.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_from_estimator_draws_the_loss_curve(fitted):
    display = LossCurveDisplay.from_estimator(fitted)
    x, y = display.line_.get_data()
    np.testing.assert_array_equal(x, np.arange(300))
    np.testing.assert_array_equal(y, fitted.loss_curve_)
    assert display.ax_.get_xlabel() == "iteration"
    assert display.ax_.get_ylabel() == "cost"
    assert display.line_.get_label() == "RegularizedMLPClassifier: training cost"
    assert display.figure_ is display.ax_.figure
    assert display.validation_line_ is None and display.validation_ax_ is None
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == ["RegularizedMLPClassifier: training cost"]


def test_from_estimator_on_a_pipeline_uses_its_last_step_and_given_axes(fitted):
    X_train, _, y_train, _ = make_football()
    pipe = make_pipeline(StandardScaler(), RegularizedMLPClassifier(max_iter=50, random_state=1))
    pipe.fit(X_train, y_train)
    _, ax = plt.subplots()
    display = LossCurveDisplay.from_estimator(pipe, ax=ax, name="scaled", color="red", lw=3)
    assert display.ax_ is ax
    np.testing.assert_array_equal(display.line_.get_ydata(), pipe[-1].loss_curve_)
    assert display.line_.get_label() == "scaled: training cost"
    assert display.line_.get_color() == "red" and display.line_.get_linewidth() == 3


def test_validation_scores_get_their_own_axis_and_legend_entry():
    display = LossCurveDisplay(
        loss_curve=[0.7, 0.5, 0.4, 0.35, 0.3], validation_scores=[0.6, 0.8, 0.85]
    ).plot()
    x, y = display.validation_line_.get_data()
    np.testing.assert_array_equal(x, [0, 2, 4])
    np.testing.assert_array_equal(y, [0.6, 0.8, 0.85])
    assert display.validation_ax_ is not display.ax_
    assert display.validation_ax_.get_ylabel() == "validation score"
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == ["training cost", "validation score"]
    # The legend lives on ax_, which must be drawn above the twin axes or their curve hides it.
    assert display.ax_.get_zorder() > display.validation_ax_.get_zorder()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_from_estimator_reads_validation_scores_when_the_model_has_them():
    X_train, _, y_train, _ = make_football()
    mlp = MLPClassifier(hidden_layer_sizes=(5,), early_stopping=True, max_iter=30, random_state=0)
    mlp.fit(X_train, y_train)
    display = LossCurveDisplay.from_estimator(mlp)
    np.testing.assert_array_equal(display.validation_line_.get_ydata(), mlp.validation_scores_)
    assert display.validation_line_.get_label() == "MLPClassifier: validation score"


def test_unfitted_estimator_is_refused():
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(RegularizedMLPClassifier())
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(make_pipeline(StandardScaler(), RegularizedMLPClassifier()))


def test_estimator_without_loss_curve_is_refused():
    X_train, _, y_train, _ = make_football()
    scaler = StandardScaler().fit(X_train, y_train)
    with pytest.raises(TypeError, match="loss_curve_ attribute; got StandardScaler"):
        LossCurveDisplay.from_estimator(scaler)


def test_empty_loss_curve_is_refused():
    with pytest.raises(ValueError, match="loss_curve is empty"):
        LossCurveDisplay(loss_curve=[]).plot()


def test_displays_drawn_on_one_axes_share_its_legend():
    _, ax = plt.subplots()
    LossCurveDisplay(loss_curve=[0.7, 0.5], estimator_name="a").plot(ax=ax)
    LossCurveDisplay(loss_curve=[0.6, 0.4], estimator_name="b").plot(ax=ax)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["a: training cost", "b: training cost"]
