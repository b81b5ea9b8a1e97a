"""The network core checked against finite differences of its own cost."""

from importlib.util import find_spec

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.special

from skreg._base import relu_inplace, softmax_proba
from skreg._network import (
    LayerOutputs,
    Parameters,
    Penalty,
    Workspace,
    apply_max_norm,
    cost_and_gradients,
    draw_dropout_masks,
    forward,
    init_parameters,
    with_ones_column,
)
from skreg._random import training_stream
from skreg._training import Regularization


def stream(seed=0):
    """A training stream seeded as a fit with ``random_state=seed`` would seed it."""
    return training_stream(np.random.RandomState(seed))


def numerical_gradient(cost, flat, eps=1e-6):
    grad = np.empty_like(flat)
    for k in range(flat.size):
        saved = flat[k]
        flat[k] = saved + eps
        plus = cost()
        flat[k] = saved - eps
        minus = cost()
        flat[k] = saved
        grad[k] = (plus - minus) / (2 * eps)
    return grad


def relative_error(analytic, numeric):
    return np.linalg.norm(analytic - numeric) / (np.linalg.norm(analytic) + np.linalg.norm(numeric))


@pytest.mark.parametrize("sparse", [False, True])
def test_forward_pass_is_relu_of_affine_maps(sparse):
    """Intercepts folded into the products (a column of ones per input) give ReLU(A W + b)."""
    rng = np.random.RandomState(0)
    layer_units = [4, 6, 5, 3]
    X = rng.standard_normal((7, 4))
    params = init_parameters(layer_units, rng)
    params.flat += 0.1 * rng.standard_normal(params.flat.size)
    outputs = LayerOutputs.allocate(7, layer_units, np.float64)
    X1 = with_ones_column(sp.csr_matrix(X) if sparse else X)
    logits = forward(X1, params.layers, outputs)
    expected = X
    for i, (W, b) in enumerate(zip(params.coefs, params.intercepts)):
        expected = expected @ W + b
        if i < len(params.coefs) - 1:
            expected = np.maximum(expected, 0)
    np.testing.assert_allclose(logits, expected, rtol=1e-12)
    for hidden in outputs.hidden:
        np.testing.assert_array_equal(hidden[:, -1], 1.0)


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("lambd", [0.0, 0.7])
@pytest.mark.parametrize("keep_prob", [1.0, 0.6])
@pytest.mark.parametrize("weighted", [False, True])
def test_backward_pass_matches_finite_differences(n_classes, lambd, keep_prob, weighted):
    rng = np.random.RandomState(0)
    n_samples, n_features = 30, 4
    n_outputs = 1 if n_classes == 2 else n_classes
    layer_units = [n_features, 6, 5, n_outputs]
    X = rng.standard_normal((n_samples, n_features))
    labels = rng.randint(n_classes, size=n_samples)
    Y = labels[:, None].astype(float) if n_classes == 2 else np.eye(n_classes)[labels]
    loss = "logistic" if n_classes == 2 else "softmax"
    params = init_parameters(layer_units, rng)
    params.flat += 0.1 * rng.standard_normal(params.flat.size)  # non-zero intercepts too
    buffers = Workspace(n_samples, layer_units, np.float64).rows(n_samples)
    weights = None
    if weighted:
        weights = rng.uniform(0, 2, n_samples)
        weights /= weights.sum()
    masks = None
    if keep_prob < 1:
        masks = buffers.masks
        draw_dropout_masks(stream(), [keep_prob, keep_prob], masks)  # fixed for every evaluation
        assert any((m == 0).any() for m in masks)

    def cost():
        penalty = Penalty(l2=lambd)
        return cost_and_gradients(
            with_ones_column(X), Y, params, buffers, loss, penalty, n_samples, masks, weights
        )

    cost()
    analytic = buffers.grads.flat.copy()
    assert relative_error(analytic, numerical_gradient(cost, params.flat)) < 1e-6


@pytest.mark.skipif(find_spec("numba") is None, reason="numba is not installed")
@pytest.mark.parametrize("n_outputs", [1, 3, 4])
@pytest.mark.parametrize("lambd", [0.0, 0.7])
@pytest.mark.parametrize("keep_prob", [1.0, 0.6])
@pytest.mark.parametrize("weighted", [False, True])
def test_numba_engine_gradient_matches_finite_differences(n_outputs, lambd, keep_prob, weighted):
    """The compiled engine's cost and gradient (3 outputs: multilabel; 4: softmax), with the
    same masks and noise at every evaluation (the stream restarts from the same seed)."""
    rng = np.random.RandomState(0)
    n_samples, n_features = 30, 4
    layer_units = [n_features, 6, 5, n_outputs]
    X = rng.standard_normal((n_samples, n_features))
    loss = "softmax" if n_outputs == 4 else "logistic"
    if loss == "softmax":
        Y = np.eye(n_outputs)[rng.randint(n_outputs, size=n_samples)]
    else:
        Y = rng.randint(2, size=(n_samples, n_outputs)).astype(float)
    params = init_parameters(layer_units, rng)
    params.flat += 0.1 * rng.standard_normal(params.flat.size)
    weights = rng.uniform(0, 2, n_samples) if weighted else None
    regularization = Regularization(Penalty(l2=lambd), (keep_prob,) * 2, input_noise=0.3)
    assert compiled_gradient_error(X, Y, params, loss, regularization, weights) < 1e-6


def compiled_gradient_error(X, Y, params, loss, regularization, weights):
    """Relative error of the compiled engine's gradient against finite differences of its cost,
    with the same masks and noise at every evaluation (the stream restarts from the same seed)."""
    from skreg._numba_engine import cost_and_gradients as compiled_cost_and_gradients

    def cost_and_gradient():
        return compiled_cost_and_gradients(
            X, Y, params, loss=loss, regularization=regularization, stream=stream(),
            sample_weight=weights,
        )  # fmt: skip

    analytic = cost_and_gradient()[1]
    return relative_error(analytic, numerical_gradient(lambda: cost_and_gradient()[0], params.flat))


REGRESSION_LOSSES = ["squared_error", "poisson", ("quantile", 0.3)]


def regression_problem(loss, n_outputs, rng, n_samples=30, n_features=4):
    """Inputs and targets for ``loss`` (non-negative counts, zeros among them, for Poisson)."""
    X = rng.standard_normal((n_samples, n_features))
    Y = rng.standard_normal((n_samples, n_outputs))
    if loss == "poisson":
        Y = rng.poisson(1.0, (n_samples, n_outputs)).astype(float)
    return X, Y


@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("keep_prob", [1.0, 0.6])
@pytest.mark.parametrize("weighted", [False, True])
def test_regression_gradients_match_finite_differences(loss, n_outputs, keep_prob, weighted):
    """The squared-error, Poisson and pinball losses, one output and several, penalised. The
    pinball loss has kinks where an output meets its target: none lies within ``eps`` here."""
    rng = np.random.RandomState(0)
    X, Y = regression_problem(loss, n_outputs, rng)
    layer_units = [X.shape[1], 6, 5, n_outputs]
    params = init_parameters(layer_units, rng)
    params.flat += 0.1 * rng.standard_normal(params.flat.size)
    buffers = Workspace(len(X), layer_units, np.float64).rows(len(X))
    weights = rng.uniform(0, 2, len(X)) if weighted else None
    weights = None if weights is None else weights / weights.sum()
    masks = None
    if keep_prob < 1:
        masks = buffers.masks
        draw_dropout_masks(stream(), [keep_prob, keep_prob], masks)

    def cost():
        return cost_and_gradients(
            with_ones_column(X), Y, params, buffers, loss, Penalty(l2=0.7), len(X), masks, weights
        )

    cost()
    analytic = buffers.grads.flat.copy()
    assert relative_error(analytic, numerical_gradient(cost, params.flat)) < 1e-6


@pytest.mark.skipif(find_spec("numba") is None, reason="numba is not installed")
@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_numba_engine_regression_gradients_match_finite_differences(loss, n_outputs, weighted):
    """The compiled regression losses, with dropout and input noise (the same at every
    evaluation)."""
    rng = np.random.RandomState(0)
    X, Y = regression_problem(loss, n_outputs, rng)
    params = init_parameters([X.shape[1], 6, 5, n_outputs], rng)
    params.flat += 0.1 * rng.standard_normal(params.flat.size)
    weights = rng.uniform(0, 2, len(X)) if weighted else None
    regularization = Regularization(Penalty(l2=0.7), (0.7, 0.9), input_noise=0.3)
    assert compiled_gradient_error(X, Y, params, loss, regularization, weights) < 1e-6


def test_dropout_masks_keep_the_expected_share_and_scale():
    masks = [np.ones((2000, 50)), np.ones((2000, 10))]
    draw_dropout_masks(stream(), [0.8, 1.0], masks)
    assert set(np.unique(masks[0])) == {0.0, 1 / 0.8}
    assert abs((masks[0] > 0).mean() - 0.8) < 0.01
    assert (masks[1] == 1).all()


def test_initialisation_follows_the_reference_recipe():
    params = init_parameters([2, 20, 3, 1], np.random.RandomState(3))
    rng = np.random.RandomState(3)
    for W, (n_in, n_out) in zip(params.coefs, [(2, 20), (20, 3), (3, 1)]):
        np.testing.assert_array_equal(W, rng.randn(n_out, n_in).T / np.sqrt(n_in))
    assert all((b == 0).all() for b in params.intercepts)


def test_l1_proximal_step_soft_thresholds_coefficients_only():
    params = Parameters([2, 2, 1], np.float64)
    params.coefs[0][...] = [[0.5, -0.05], [0.2, -0.3]]
    params.coefs[1][...] = [[0.01], [-1.0]]
    params.intercepts[0][...] = [0.7, 0.02]
    params.intercepts[1][...] = [-0.03]
    Penalty(l1=2.0).proximal_step(params, step_size=0.1, m=2)  # threshold 0.1
    np.testing.assert_allclose(params.coefs[0], [[0.4, 0.0], [0.1, -0.2]])
    np.testing.assert_allclose(params.coefs[1], [[0.0], [-0.9]])
    np.testing.assert_array_equal(params.intercepts[0], [0.7, 0.02])  # intercepts untouched
    np.testing.assert_array_equal(params.intercepts[1], [-0.03])


def test_penalty_cost_and_l2_gradient():
    params = Parameters([2, 1], np.float64)
    params.flat[:] = [3.0, -4.0, 10.0]  # coefficients 3 and -4, intercept 10
    grads = Parameters([2, 1], np.float64)
    cost = Penalty(l2=2.0, l1=1.0).cost_and_gradient(params, grads, m=5)
    assert cost == pytest.approx(2.0 / 10 * 25 + 1.0 / 5 * 7)
    np.testing.assert_allclose(grads.flat, [1.2, -1.6, 0.0])  # L2 only: l2 / m * W


def test_max_norm_caps_each_units_incoming_weights():
    params = Parameters([2, 2, 1], np.float64)
    params.coefs[0][...] = [[3.0, 0.1], [4.0, 0.1]]  # unit norms 5 and ~0.14
    params.coefs[1][...] = [[1.0], [1.0]]
    apply_max_norm(params, 2.0)
    np.testing.assert_allclose(np.linalg.norm(params.coefs[0], axis=0), [2.0, np.hypot(0.1, 0.1)])
    np.testing.assert_allclose(params.coefs[0][:, 0], [1.2, 1.6])
    np.testing.assert_allclose(params.coefs[1], [[1.0], [1.0]])


def test_softmax_proba_is_scipys_softmax():
    rng = np.random.RandomState(0)
    largest = np.finfo(np.float64).max
    logits = np.vstack(
        [
            20 * rng.standard_normal((50, 10)),
            [[largest, -largest] + [0.0] * 8],  # shifted by the maximum: -inf, probability 0
            [[-1e300] * 10],
        ]
    )
    before = logits.copy()
    with np.errstate(over="ignore"):
        expected = scipy.special.softmax(logits, axis=1)
    np.testing.assert_allclose(softmax_proba(logits), expected, rtol=1e-14, atol=0)
    np.testing.assert_array_equal(logits, before)  # a new array: the logits are left alone


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7, 3), (1000, 300)])  # one block, several blocks
def test_relu_inplace_is_max_with_zero(dtype, shape):
    Z = np.random.RandomState(0).standard_normal(shape).astype(dtype)
    expected = np.maximum(Z, 0)
    relu_inplace(Z)
    np.testing.assert_array_equal(Z, expected)
    view = np.random.RandomState(1).standard_normal((shape[0], shape[1] + 1)).astype(dtype)
    expected = np.maximum(view, 0)
    relu_inplace(view[:, :-1])  # not contiguous
    np.testing.assert_array_equal(view[:, :-1], expected[:, :-1])
