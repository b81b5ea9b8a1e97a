"""The network core checked against finite differences of its own cost."""

import numpy as np
import pytest

from skreg._network import Workspace, cost_and_gradients, draw_dropout_masks, init_parameters


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


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("lambd", [0.0, 0.7])
@pytest.mark.parametrize("keep_prob", [1.0, 0.6])
def test_backward_pass_matches_finite_differences(n_classes, lambd, keep_prob):
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
    workspace = Workspace(n_samples, layer_units, np.float64)
    masks = None
    if keep_prob < 1:
        masks = workspace.masks
        draw_dropout_masks(rng, [keep_prob, keep_prob], masks)  # fixed for every evaluation
        assert any((m == 0).any() for m in masks)

    def cost():
        return cost_and_gradients(X, Y, params, workspace, loss, lambd, masks)

    cost()
    analytic = workspace.grads.flat.copy()
    numeric = numerical_gradient(cost, params.flat)
    relative_error = np.linalg.norm(analytic - numeric) / (
        np.linalg.norm(analytic) + np.linalg.norm(numeric)
    )
    assert relative_error < 1e-6


def test_dropout_masks_keep_the_expected_share_and_scale():
    rng = np.random.RandomState(0)
    masks = [np.ones((2000, 50)), np.ones((2000, 10))]
    draw_dropout_masks(rng, [0.8, 1.0], masks)
    assert set(np.unique(masks[0])) == {0.0, 1 / 0.8}
    assert abs((masks[0] > 0).mean() - 0.8) < 0.01
    assert (masks[1] == 1).all()


def test_initialisation_follows_the_reference_recipe():
    params = init_parameters([2, 20, 3, 1], np.random.RandomState(3))
    rng = np.random.RandomState(3)
    for W, (n_in, n_out) in zip(params.coefs, [(2, 20), (20, 3), (3, 1)]):
        np.testing.assert_array_equal(W, rng.randn(n_out, n_in).T / np.sqrt(n_in))
    assert all((b == 0).all() for b in params.intercepts)
