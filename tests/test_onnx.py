"""ONNX export (optional extra): onnxruntime's outputs equal predict and predict_proba."""

import numpy as np
import pytest
from sklearn.datasets import (
    make_blobs,
    make_moons,
    make_multilabel_classification,
    make_regression,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor

pytest.importorskip("skl2onnx")
rt = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")
import skreg.onnx  # noqa: E402, F401  (registers the converters)


def run(model, X, dtype=np.float64, **options):
    """onnxruntime's outputs of ``model`` converted with ``options`` (for classifiers, arrays
    of probabilities rather than skl2onnx's default list of maps)."""
    onx = skl2onnx.to_onnx(model, X[:1].astype(dtype), options=options or None)
    session = rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X.astype(dtype)})


def fitted(X, y, **params):
    params = {"max_iter": 300, "random_state": 0, **params}
    return make_pipeline(StandardScaler(), RegularizedMLPClassifier(**params)).fit(X, y)


def binary():
    return make_moons(n_samples=200, noise=0.3, random_state=0)


def multiclass():
    return make_blobs(n_samples=300, centers=4, random_state=0)


def multilabel():
    return make_multilabel_classification(n_samples=200, n_classes=3, random_state=0)


@pytest.mark.parametrize("data", [binary, multiclass, multilabel])
@pytest.mark.parametrize("string_labels", [False, True])
def test_labels_and_probabilities_match_predict(data, string_labels):
    X, y = data()
    if string_labels and y.ndim == 1:
        y = np.array(["alpha", "beta", "gamma", "delta"])[y]
    model = fitted(X, y)
    labels, proba = run(model, X, zipmap=False)
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(labels, model.predict(X))


def test_confident_binary_probabilities_keep_their_small_side():
    """Far from the boundary predict_proba gives tiny but positive probabilities; the graph
    computes them as accurately (1 - sigmoid(z) keeps barely 3 digits of a probability of 1e-13,
    none below 1e-16; onnxruntime's Sigmoid of -30 about 4)."""
    X, y = binary()
    model = RegularizedMLPClassifier(max_iter=2000, random_state=0).fit(X, y)
    # The point of a wide grid whose logit is closest to +-30: a class probability of 1e-13.
    grid = np.stack(np.meshgrid(np.linspace(-60, 60, 241), np.linspace(-60, 60, 241)), -1)
    grid = grid.reshape(-1, 2)
    far = grid[[np.argmin(np.abs(np.abs(model.decision_function(grid)) - 30))]]
    _, proba = run(model, far, zipmap=False)
    expected = model.predict_proba(far)
    assert 1e-14 < expected.min() < 1e-12
    np.testing.assert_allclose(proba, expected, rtol=1e-6)


def test_float32_inputs_compute_in_float32():
    X, y = multiclass()
    model = fitted(X, y)
    labels, proba = run(model, X, dtype=np.float32, zipmap=False)
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-4)
    assert (labels == model.predict(X)).mean() > 0.99  # float32 may flip a label at a tie


def test_training_only_regularisers_export_the_deterministic_network():
    X, y = multiclass()
    model = fitted(X, y, keep_prob=0.8, max_norm=2.0, input_noise=0.1, lambd=0.3)
    labels, proba = run(model, X, zipmap=False)
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(labels, model.predict(X))


def test_an_estimator_alone_and_the_default_zipmap_output():
    """skl2onnx's default output is a list of {class: probability} maps; onnxruntime's ZipMap
    takes float32 probabilities, hence float32 inputs (docs/onnx.rst says so)."""
    X, y = binary()
    X = X.astype(np.float32)
    model = RegularizedMLPClassifier(max_iter=300, random_state=0).fit(X, y)
    onx = skl2onnx.to_onnx(model, X[:1])
    session = rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, proba_maps = session.run(None, {session.get_inputs()[0].name: X})
    np.testing.assert_array_equal(labels, model.predict(X))
    expected = model.predict_proba(X)
    np.testing.assert_allclose([[row[0], row[1]] for row in proba_maps], expected, atol=1e-5)


@pytest.mark.parametrize("data", [binary, multiclass])
def test_nocl_labels_are_the_class_indices(data):
    X, y = data()
    y = np.array(["alpha", "beta", "gamma", "delta"])[y]
    model = RegularizedMLPClassifier(max_iter=300, random_state=0).fit(X, y)
    indices = np.searchsorted(model.classes_, model.predict(X))
    labels, proba = run(model, X, zipmap=False, nocl=True)
    np.testing.assert_array_equal(labels, indices)
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-6)
    labels, proba_maps = run(model, X, dtype=np.float32, nocl=True)  # ZipMap keyed by index
    np.testing.assert_array_equal(labels, indices)
    assert sorted(proba_maps[0]) == list(range(len(model.classes_)))


def test_a_graph_of_several_inputs_is_refused_at_conversion():
    pd = pytest.importorskip("pandas")
    X, y = binary()
    X = pd.DataFrame(X, columns=["a", "b"])
    for model in (
        RegularizedMLPClassifier(max_iter=10, random_state=0).fit(X, y),
        RegularizedMLPRegressor(max_iter=10, random_state=0).fit(X, y.astype(float)),
    ):
        with pytest.raises(RuntimeError, match=r"at most 1 input.*\['a', 'b'\]"):
            skl2onnx.to_onnx(model, X[:1])


def test_labels_beyond_int64_are_refused_with_advice():
    X, y = binary()
    y = np.array([1, 2**63 + 5], dtype=np.uint64)[y]
    model = RegularizedMLPClassifier(max_iter=10, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="int64 labels.*nocl"):
        run(model, X, zipmap=False)
    labels, _ = run(model, X, zipmap=False, nocl=True)
    np.testing.assert_array_equal(labels, np.searchsorted(model.classes_, model.predict(X)))


@pytest.mark.parametrize("loss", ["squared_error", "poisson", "quantile"])
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_regressor_predictions_match_predict(loss, n_outputs):
    X, Y = make_regression(n_samples=300, n_features=5, n_targets=2, random_state=0)
    Y = Y[:, :n_outputs]
    Y = np.abs(Y) / 100 if loss == "poisson" else Y
    model = make_pipeline(
        StandardScaler(),
        RegularizedMLPRegressor(loss=loss, keep_prob=0.9, max_iter=200, random_state=0),
    ).fit(X, Y.ravel() if n_outputs == 1 else Y)
    (predictions,) = run(model, X)
    assert predictions.shape == (len(X), n_outputs)  # skl2onnx's regressors: always 2-D
    expected = model.predict(X).reshape(len(X), n_outputs)
    np.testing.assert_allclose(predictions, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity", "leaky_relu"])
def test_every_hidden_activation_exports(activation):
    X, y = multiclass()
    model = fitted(X, y, activation=activation)
    labels, proba = run(model, X, zipmap=False)
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(labels, model.predict(X))
    regressor = make_pipeline(
        StandardScaler(), RegularizedMLPRegressor(activation=activation, max_iter=100)
    ).fit(X, X[:, 0] * y)
    (predictions,) = run(regressor, X)
    np.testing.assert_allclose(predictions[:, 0], regressor.predict(X), rtol=1e-9, atol=1e-9)
