"""Saving fitted models: joblib, and safe loading with skops (an optional extra)."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.datasets import make_regression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor
from skreg.datasets import make_football

sio = pytest.importorskip("skops.io")
from skops.io.exceptions import UntrustedTypesFoundException  # noqa: E402

# The estimator and its optimizer (kept in optimizer_ so that warm starts continue its state).
OWN_TYPES = ["skreg._classifier.RegularizedMLPClassifier", "skreg._optimizers.GradientDescent"]


@pytest.fixture(scope="module")
def data():
    return make_football()


@pytest.fixture(
    scope="module",
    params=["estimator", "pipeline"],
)
def fitted(request, data):
    X_train, _, y_train, _ = data
    model = RegularizedMLPClassifier(lambd=0.3, keep_prob=0.9, max_iter=200, random_state=0)
    if request.param == "pipeline":
        model = make_pipeline(StandardScaler(), model)
    return model.fit(X_train, y_train)


def final_step(model):
    return model[-1] if hasattr(model, "steps") else model


def assert_same_predictions(loaded, model, X):
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    for W_loaded, W in zip(final_step(loaded).coefs_, final_step(model).coefs_, strict=True):
        np.testing.assert_array_equal(W_loaded, W)


def test_skops_finds_no_untrusted_type_but_the_package_own(fitted, tmp_path):
    path = tmp_path / "model.skops"
    sio.dump(fitted, path)
    assert sio.get_untrusted_types(file=path) == OWN_TYPES


def test_skops_load_with_trusted_own_types_predicts_identically(fitted, data, tmp_path):
    path = tmp_path / "model.skops"
    sio.dump(fitted, path)
    loaded = sio.load(path, trusted=OWN_TYPES)
    assert type(loaded) is type(fitted)
    assert final_step(loaded).get_params() == final_step(fitted).get_params()
    assert final_step(loaded).loss_curve_ == final_step(fitted).loss_curve_
    assert_same_predictions(loaded, fitted, data[1])


SOLVER_TYPES = {
    "gd": ["skreg._optimizers.GradientDescent"],
    "momentum": ["skreg._optimizers.Momentum"],
    "adam": ["skreg._optimizers.Adam"],
    "lbfgs": [],  # no optimizer state: optimizer_ is None
}


ESTIMATOR_TYPES = {
    RegularizedMLPClassifier: "skreg._classifier.RegularizedMLPClassifier",
    RegularizedMLPRegressor: "skreg._regressor.RegularizedMLPRegressor",
}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # (20 epochs)
@pytest.mark.parametrize("estimator", ESTIMATOR_TYPES, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("solver", SOLVER_TYPES)
def test_the_documented_trusted_types_of_every_solver_load_the_model(
    estimator, solver, data, tmp_path
):
    """docs/persistence.rst lists the estimator class and the solver's optimizer class."""
    X_train, X_test, y_train, _ = data
    params = {"learning_rate": 0.01, "max_iter": 20} if solver == "adam" else {"max_iter": 20}
    if estimator is RegularizedMLPRegressor and solver in ("gd", "momentum"):
        params["learning_rate"] = 0.01
    model = estimator(solver=solver, random_state=0, **params).fit(X_train, y_train)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    trusted = [ESTIMATOR_TYPES[estimator], *SOLVER_TYPES[solver]]
    assert sorted(sio.get_untrusted_types(file=path)) == sorted(trusted)
    loaded = sio.load(path, trusted=trusted)
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    for W_loaded, W in zip(loaded.coefs_, model.coefs_, strict=True):
        np.testing.assert_array_equal(W_loaded, W)


def test_skops_refuses_to_load_untrusted_types_by_default(fitted, tmp_path):
    path = tmp_path / "model.skops"
    sio.dump(fitted, path)
    with pytest.raises(UntrustedTypesFoundException, match="RegularizedMLPClassifier"):
        sio.load(path)


def test_joblib_round_trip(fitted, data, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    assert_same_predictions(joblib.load(path), fitted, data[1])


# -- the regressor ------------------------------------------------------------------------------

REGRESSOR_TYPES = ["skreg._optimizers.Adam", "skreg._regressor.RegularizedMLPRegressor"]


@pytest.fixture(scope="module", params=["squared_error", "poisson", "quantile"])
def fitted_regressor(request):
    X, y = make_regression(n_samples=100, n_features=4, n_targets=2, random_state=0)
    y = np.abs(y) / y.std() if request.param == "poisson" else y / y.std()
    model = RegularizedMLPRegressor(loss=request.param, keep_prob=0.9, max_iter=50, random_state=0)
    return make_pipeline(StandardScaler(), model).fit(X, y), X


def test_regressor_skops_round_trip_predicts_identically(fitted_regressor, tmp_path):
    model, X = fitted_regressor
    path = tmp_path / "regressor.skops"
    sio.dump(model, path)
    assert sorted(sio.get_untrusted_types(file=path)) == REGRESSOR_TYPES
    with pytest.raises(UntrustedTypesFoundException, match="RegularizedMLPRegressor"):
        sio.load(path)
    loaded = sio.load(path, trusted=REGRESSOR_TYPES)
    assert loaded[-1].get_params() == model[-1].get_params()
    assert loaded[-1].out_activation_ == model[-1].out_activation_
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_regressor_pickle_and_joblib_round_trips(fitted_regressor, tmp_path):
    model, X = fitted_regressor
    joblib.dump(model, tmp_path / "regressor.joblib")
    for loaded in (pickle.loads(pickle.dumps(model)), joblib.load(tmp_path / "regressor.joblib")):
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        for W_loaded, W in zip(loaded[-1].coefs_, model[-1].coefs_, strict=True):
            np.testing.assert_array_equal(W_loaded, W)
