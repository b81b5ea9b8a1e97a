"""The naive baseline: the course notebook's training loop, written plainly as the notebook does.

Parameters in a dict of ``W{layer}`` (``(n_out, n_in)``) and ``b{layer}``, features-major data,
new arrays at every step, probabilities rather than logits. Binary targets only.
"""

import numpy as np


def train(X, y, layer_units, *, learning_rate, num_iterations, lambd=0.0, keep_prob=1.0, seed=3):
    """Fit the notebook's network; returns ``(parameters, costs)`` (the cost at each iteration)."""
    rng = np.random.RandomState(seed)
    parameters = {}
    for layer in range(1, len(layer_units)):
        n_in, n_out = layer_units[layer - 1], layer_units[layer]
        parameters[f"W{layer}"] = rng.randn(n_out, n_in) / np.sqrt(n_in)
        parameters[f"b{layer}"] = np.zeros((n_out, 1))
    X, Y = X.T, y.reshape(1, -1)
    costs = []
    with np.errstate(all="ignore"):  # log(0) of saturated sigmoids: the notebook's nan-prone cost
        for _ in range(num_iterations):
            AL, caches = forward_propagation(X, parameters, keep_prob, rng)
            costs.append(compute_cost(AL, Y, parameters, lambd))
            grads = backward_propagation(AL, Y, caches, parameters, lambd, keep_prob)
            parameters = update_parameters(parameters, grads, learning_rate)
    return parameters, costs


def forward_propagation(X, parameters, keep_prob, rng):
    L = len(parameters) // 2
    A, caches = X, []
    for layer in range(1, L + 1):
        A_prev = A
        Z = np.dot(parameters[f"W{layer}"], A_prev) + parameters[f"b{layer}"]
        if layer < L:
            A = np.maximum(0, Z)
            D = np.ones_like(A)
            if keep_prob < 1:
                D = (rng.rand(A.shape[0], A.shape[1]) < keep_prob).astype(int)
                A = A * D / keep_prob
        else:
            A = 1 / (1 + np.exp(-Z))
            D = None
        caches.append((A_prev, Z, A, D))
    return A, caches


def compute_cost(AL, Y, parameters, lambd):
    m = Y.shape[1]
    logprobs = np.multiply(-np.log(AL), Y) + np.multiply(-np.log(1 - AL), 1 - Y)
    cost = 1.0 / m * np.nansum(logprobs)
    if lambd:
        L = len(parameters) // 2
        squares = sum(np.sum(np.square(parameters[f"W{layer}"])) for layer in range(1, L + 1))
        cost += lambd / (2 * m) * squares
    return cost


def backward_propagation(AL, Y, caches, parameters, lambd, keep_prob):
    m = Y.shape[1]
    L = len(caches)
    grads = {}
    dZ = AL - Y
    for layer in range(L, 0, -1):
        A_prev = caches[layer - 1][0]
        W = parameters[f"W{layer}"]
        grads[f"dW{layer}"] = 1.0 / m * np.dot(dZ, A_prev.T) + lambd / m * W
        grads[f"db{layer}"] = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
        if layer > 1:
            dA = np.dot(W.T, dZ)
            _, _, A_hidden, D = caches[layer - 2]
            if keep_prob < 1:
                dA = dA * D / keep_prob
            dZ = np.multiply(dA, np.int64(A_hidden > 0))
    return grads


def update_parameters(parameters, grads, learning_rate):
    L = len(parameters) // 2
    updated = {}
    for layer in range(1, L + 1):
        updated[f"W{layer}"] = parameters[f"W{layer}"] - learning_rate * grads[f"dW{layer}"]
        updated[f"b{layer}"] = parameters[f"b{layer}"] - learning_rate * grads[f"db{layer}"]
    return updated
