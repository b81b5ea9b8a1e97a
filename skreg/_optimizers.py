"""Plain optimizers on a flat parameter vector, in the style of scikit-learn's
``sklearn.neural_network._stochastic_optimizers``.

Each optimizer holds only its own state (velocities, moments); ``step(params, grads)`` updates
``params`` in place from the gradient ``grads``, which it may overwrite. Every operation is on whole
flat buffers, so one step costs a handful of NumPy calls whatever the network's size.
"""

import math

import numpy as np


class GradientDescent:
    """Plain gradient descent: ``params -= learning_rate * grads``."""

    state_names = ()  # what training continues from (partial_fit, warm_start)

    def __init__(self, n_params, dtype, *, learning_rate):
        self.learning_rate = learning_rate

    def step(self, params, grads):
        grads *= self.learning_rate
        params -= grads

    def effective_learning_rate(self):
        """Step size a proximal operator should use after the last step."""
        return self.learning_rate


class Momentum(GradientDescent):
    """Heavy-ball momentum: ``v = momentum * v - learning_rate * grads``; ``params += v``."""

    state_names = ("velocity",)

    def __init__(self, n_params, dtype, *, learning_rate, momentum):
        super().__init__(n_params, dtype, learning_rate=learning_rate)
        self.momentum = momentum
        self.velocity = np.zeros(n_params, dtype=dtype)

    def step(self, params, grads):
        self.velocity *= self.momentum
        grads *= self.learning_rate
        self.velocity -= grads
        params += self.velocity


class Adam(GradientDescent):
    """Adam (Kingma and Ba, 2014) with bias-corrected step size, as scikit-learn implements it."""

    state_names = ("t", "first_moment", "second_moment")

    def __init__(self, n_params, dtype, *, learning_rate, beta_1, beta_2, epsilon):
        super().__init__(n_params, dtype, learning_rate=learning_rate)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.first_moment = np.zeros(n_params, dtype=dtype)
        self.second_moment = np.zeros(n_params, dtype=dtype)
        self._scratch = np.empty(n_params, dtype=dtype)

    def step(self, params, grads):
        self.t += 1
        m, v, scratch = self.first_moment, self.second_moment, self._scratch
        m *= self.beta_1
        m += (1 - self.beta_1) * grads
        np.square(grads, out=grads)
        v *= self.beta_2
        v += (1 - self.beta_2) * grads
        np.sqrt(v, out=scratch)
        scratch += self.epsilon
        np.divide(m, scratch, out=scratch)
        scratch *= self.effective_learning_rate()
        params -= scratch

    def effective_learning_rate(self):
        t = max(self.t, 1)
        return self.learning_rate * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)


def make_optimizer(solver, n_params, dtype, previous=None, **hyperparameters):
    """The optimizer for ``solver`` in {"gd", "momentum", "adam"}, given its own hyperparameters.

    If ``previous`` is an optimizer of the same kind and size, the new one starts from a copy of
    its state (velocity, moments), so training continues where it stopped.
    """
    optimizer_class = {"gd": GradientDescent, "momentum": Momentum, "adam": Adam}[solver]
    optimizer = optimizer_class(n_params, dtype, **hyperparameters)
    if type(previous) is optimizer_class:
        for name in optimizer_class.state_names:
            value = getattr(previous, name)
            if isinstance(value, np.ndarray) and value.shape != (n_params,):
                return optimizer
            setattr(optimizer, name, np.copy(value) if isinstance(value, np.ndarray) else value)
    return optimizer
