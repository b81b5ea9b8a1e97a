"""The network core checked against finite differences of its own cost."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.special

from skreg._base import (
    ACTIVATIONS,
    BOUNDED_ACTIVATIONS,
    DERIVATIVES,
    LEAKY_RELU_SLOPE,
    relu_inplace,
    softmax_proba,
)
from skreg._engines import compiled_engine
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


# The hidden activations written out, and their derivatives as functions of the pre-activation.
REFERENCE_ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "logistic": lambda z: 1 / (1 + np.exp(-z)),
    "identity": lambda z: z,
    "leaky_relu": lambda z: np.where(z > 0, z, LEAKY_RELU_SLOPE * z),
}
REFERENCE_DERIVATIVES = {
    "relu": lambda z: (z > 0).astype(float),
    "tanh": lambda z: 1 / np.cosh(z) ** 2,
    "logistic": lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2,
    "identity": np.ones_like,
    "leaky_relu": lambda z: np.where(z > 0, 1.0, LEAKY_RELU_SLOPE),
}


def test_the_activation_tables_list_the_same_activations():
    assert set(ACTIVATIONS) == set(DERIVATIVES) == set(REFERENCE_ACTIVATIONS)
    assert BOUNDED_ACTIVATIONS == {"tanh", "logistic"}
    assert LEAKY_RELU_SLOPE == 0.01


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_activations_and_their_derivatives_from_the_outputs(activation, dtype):
    """``ACTIVATIONS`` compute the activation in place, on views too, in the array's dtype;
    ``DERIVATIVES`` multiply a delta by the derivative, knowing only the output."""
    z = np.linspace(-6, 6, 241)
    z = z[np.abs(z) > 1e-3].astype(dtype)  # away from ReLU's kink
    buffer = np.ones((z.size, 2), dtype=dtype)
    view = buffer[:, :1]  # a hidden layer's output: a view before the column of ones
    view[:, 0] = z
    ACTIVATIONS[activation](view)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(view[:, 0], REFERENCE_ACTIVATIONS[activation](z), rtol=rtol, atol=0)
    np.testing.assert_array_equal(buffer[:, 1], 1)
    assert buffer.dtype == dtype
    delta = np.full((z.size, 1), 3.0, dtype=dtype)
    DERIVATIVES[activation](view, delta)
    assert delta.dtype == dtype
    # From the output, 1 - tanh(z)**2 and p (1 - p) lose relative precision where they are tiny.
    np.testing.assert_allclose(
        delta[:, 0], 3 * REFERENCE_DERIVATIVES[activation](z.astype(np.float64)),
        rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5 if dtype == np.float32 else 1e-12,
    )  # fmt: skip


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_forward_pass_is_the_activation_of_affine_maps(sparse, activation):
    """Intercepts folded into the products (a column of ones per input) give f(A W + b)."""
    rng = np.random.RandomState(0)
    layer_units = [4, 6, 5, 3]
    X = rng.standard_normal((7, 4))
    params = init_parameters(layer_units, rng, activation=activation)
    params.flat += 0.1 * rng.standard_normal(params.flat.size)
    outputs = LayerOutputs.allocate(7, layer_units, np.float64)
    X1 = with_ones_column(sp.csr_matrix(X) if sparse else X)
    logits = forward(X1, params.layers, outputs, activation=activation)
    expected = X
    for i, (W, b) in enumerate(zip(params.coefs, params.intercepts)):
        expected = expected @ W + b
        if i < len(params.coefs) - 1:
            expected = REFERENCE_ACTIVATIONS[activation](expected)
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


TARGETS = {"binary": (2, "logistic"), "multiclass": (4, "softmax"), "multilabel": (3, "logistic")}


def random_targets(target, n_samples, rng):
    """``(Y, loss)``: one 0/1 column (binary), one-hot rows of 4 classes (multiclass) or 3
    independent 0/1 labels (multilabel)."""
    n, loss = TARGETS[target]
    if target == "binary":
        return rng.randint(2, size=(n_samples, 1)).astype(float), loss
    if target == "multiclass":
        return np.eye(n)[rng.randint(n, size=n_samples)], loss
    return rng.randint(2, size=(n_samples, n)).astype(float), loss


def assert_gradient_matches_finite_differences(cost, analytic, flat):
    numeric = numerical_gradient(cost, flat)
    relative_error = np.linalg.norm(analytic - numeric) / (
        np.linalg.norm(analytic) + np.linalg.norm(numeric)
    )
    assert relative_error < 1e-6


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("keep_prob", [1.0, 0.6])
def test_every_activation_backpropagates_its_gradient(activation, target, keep_prob):
    """The NumPy engine's gradient for every hidden activation and every kind of target, with
    an L2 penalty and sample weights, and with dropout (tanh and the logistic function then
    differentiate their outputs before the masks)."""
    rng = np.random.RandomState(1)
    n_samples, n_features = 30, 4
    X = rng.standard_normal((n_samples, n_features))
    Y, loss = random_targets(target, n_samples, rng)
    layer_units = [n_features, 6, 5, Y.shape[1]]
    params = init_parameters(layer_units, rng, activation=activation)
    params.flat += 0.1 * rng.standard_normal(params.flat.size)
    buffers = Workspace(n_samples, layer_units, np.float64, activation=activation).rows(n_samples)
    weights = rng.uniform(0, 2, n_samples)
    weights /= weights.sum()
    masks = None
    if keep_prob < 1:
        masks = buffers.masks
        draw_dropout_masks(stream(), [keep_prob, keep_prob], masks)

    def cost():
        return cost_and_gradients(
            with_ones_column(X), Y, params, buffers, loss, Penalty(l2=0.7), n_samples, masks,
            weights,
        )  # fmt: skip

    cost()
    assert_gradient_matches_finite_differences(cost, buffers.grads.flat.copy(), params.flat)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("dropout", [False, True])
def test_outputs_before_the_masks_are_kept_only_when_needed(activation, dropout):
    """Only dropout with a bounded activation costs the extra hidden-sized buffers."""
    outputs = Workspace(10, [3, 4, 5, 2], np.float64, dropout, activation).rows(6).layer_outputs
    needed = dropout and activation in BOUNDED_ACTIVATIONS
    assert [U.shape for U in outputs.unmasked] == ([(6, 4), (6, 5)] if needed else [])
    assert LayerOutputs.allocate(6, [3, 4, 5, 2], np.float64).unmasked == []


def test_dropout_with_a_bounded_activation_needs_the_outputs_before_the_masks():
    params = init_parameters([2, 3, 1], np.random.RandomState(0), activation="tanh")
    buffers = Workspace(4, [2, 3, 1], np.float64).rows(4)  # allocated for ReLU
    with pytest.raises(ValueError, match=r"Workspace\(\.\.\., activation='tanh'\)"):
        forward(with_ones_column(np.ones((4, 2))), params.layers, buffers.layer_outputs,
                buffers.masks, "tanh")  # fmt: skip


@pytest.mark.skipif(compiled_engine() is None, reason="the compiled engine is not built")
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("keep_prob", [1.0, 0.6])
def test_compiled_engine_backpropagates_every_activation(activation, target, keep_prob):
    """The compiled engine's gradient for every hidden activation and every kind of target, with
    input noise, sample weights, L2 and dropout (the same masks and noise at every evaluation)."""
    from skreg._compiled_engine import cost_and_gradients as compiled_cost_and_gradients

    rng = np.random.RandomState(2)
    n_samples, n_features = 30, 4
    X = rng.standard_normal((n_samples, n_features))
    Y, loss = random_targets(target, n_samples, rng)
    params = init_parameters([n_features, 6, 5, Y.shape[1]], rng, activation=activation)
    params.flat += 0.1 * rng.standard_normal(params.flat.size)
    weights = rng.uniform(0, 2, n_samples)
    regularization = Regularization(Penalty(l2=0.7), (keep_prob,) * 2, input_noise=0.3)

    def cost_and_gradient():
        return compiled_cost_and_gradients(
            X, Y, params, loss=loss, regularization=regularization, stream=stream(),
            sample_weight=weights,
        )  # fmt: skip

    analytic = cost_and_gradient()[1]
    assert_gradient_matches_finite_differences(
        lambda: cost_and_gradient()[0], analytic, params.flat
    )


@pytest.mark.skipif(compiled_engine() is None, reason="the compiled engine is not built")
@pytest.mark.parametrize("n_outputs", [1, 3, 4])
@pytest.mark.parametrize("lambd", [0.0, 0.7])
@pytest.mark.parametrize("keep_prob", [1.0, 0.6])
@pytest.mark.parametrize("weighted", [False, True])
def test_compiled_engine_gradient_matches_finite_differences(n_outputs, lambd, keep_prob, weighted):
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
    from skreg._compiled_engine import cost_and_gradients as compiled_cost_and_gradients

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


@pytest.mark.skipif(compiled_engine() is None, reason="the compiled engine is not built")
@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_compiled_engine_regression_gradients_match_finite_differences(loss, n_outputs, weighted):
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


@pytest.mark.skipif(compiled_engine() is None, reason="the compiled engine is not built")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_compiled_tanh_is_within_two_ulps(dtype):
    """The compiled engine's vectorised tanh, on a dense grid, random points, tiny and huge
    inputs, against tanh in extended precision where the platform has it (else NumPy's, itself
    within about an ulp)."""
    from skreg._compiled._layers import tanh_values as compiled_tanh

    rng = np.random.RandomState(0)
    x = np.concatenate([
        rng.standard_normal(100_000) * 3, np.linspace(-25, 25, 100_001),
        np.logspace(-320, 1.5, 20_000), -np.logspace(-40, 1.5, 20_000),
        [0.625, np.nextafter(0.625, 0)],
    ]).astype(dtype)  # fmt: skip
    x = np.append(x, [np.finfo(dtype).max, -np.finfo(dtype).max / 3]).astype(dtype)
    out = np.empty_like(x)
    compiled_tanh(x, out)
    extended = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant
    exact = np.tanh(x.astype(np.longdouble if extended else np.float64))
    ulps = np.abs(out - exact) / np.spacing(np.abs(exact).astype(dtype))
    assert ulps.max() <= (2 if extended else 3)
    special = np.array([0.0, -0.0, np.inf, -np.inf], dtype=dtype)
    compiled_tanh(special, out[:4])
    np.testing.assert_array_equal(out[:4], [0.0, -0.0, 1.0, -1.0])
    assert np.signbit(out[1]) and not np.signbit(out[0])


def _extended_reference(function, x):
    """``function`` of ``x`` in extended precision where the platform has it (else float64),
    and the ulps allowed against it."""
    extended = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant
    return function(x.astype(np.longdouble if extended else np.float64)), (2 if extended else 3)


@pytest.mark.skipif(compiled_engine() is None, reason="the compiled engine is not built")
def test_the_compiled_exponential_of_the_losses_is_within_two_ulps():
    """exp(y) for y <= 0 as the compiled losses compute it (a vectorised Cephes exp): within
    2 ulps down to -708, then 0 (where the subnormals start, at 3.3e-308)."""
    from skreg._compiled._losses import exp_nonpositive_values

    rng = np.random.RandomState(0)
    y = np.concatenate([
        -rng.random_sample(100_000) * 708, -np.logspace(-320, np.log10(708), 50_000),
        np.linspace(-2, 0, 20_001), [0.0, -0.0, -708.0],
    ])  # fmt: skip
    out = np.empty_like(y)
    exp_nonpositive_values(y, out)
    exact, allowed = _extended_reference(np.exp, y)
    ulps = np.abs(out - exact) / np.spacing(exact.astype(np.float64))
    assert ulps.max() <= allowed
    below = np.array([np.nextafter(-708.0, -np.inf), -745.2, -1e300, -np.inf])
    exp_nonpositive_values(below, out[:4])
    np.testing.assert_array_equal(out[:4], 0.0)


@pytest.mark.skipif(compiled_engine() is None, reason="the compiled engine is not built")
def test_the_compiled_log1p_of_the_weighted_logistic_loss_is_within_two_ulps():
    """log(1 + e) for e in [0, 1] as the compiled weighted logistic loss computes it (a
    vectorised Cephes log1p), on both sides of sqrt(2) - 1 where its two forms meet."""
    from skreg._compiled._losses import log1p_unit_values

    rng = np.random.RandomState(0)
    edge = np.sqrt(2.0) - 1
    e = np.concatenate([
        rng.random_sample(100_000), np.logspace(-320, 0, 50_000),
        edge + np.arange(-50, 51) * np.spacing(edge), [0.0, 1.0],
    ])  # fmt: skip
    out = np.empty_like(e)
    log1p_unit_values(e, out)
    exact, allowed = _extended_reference(np.log1p, e)
    ulps = np.abs(out - exact) / np.spacing(exact.astype(np.float64))
    assert ulps[e > 0].max() <= allowed
    assert out[e == 0].tolist() == [0.0]
