"""Plain optimizers on a flat parameter vector, in the style of scikit-learn's
``sklearn.neural_network._stochastic_optimizers``.

Each optimizer holds only its own state (velocities, moments, the current step size and the number
of samples seen); ``step(params, grads)`` updates ``params`` in place from the gradient ``grads``,
which it may overwrite. Every operation is on whole flat buffers, so one step costs a handful of
NumPy calls whatever the network's size.

The step size follows a schedule, as scikit-learn's ``learning_rate`` schedules of its SGD solver:
``"constant"`` keeps ``learning_rate``; ``"invscaling"`` sets it to
``learning_rate / (t + 1) ** power_t`` at the end of each epoch, ``t`` the number of training
samples seen (their total weight when weighted); ``"adaptive"`` divides it by 5 when the training
loop's plateau rule asks (:meth:`GradientDescent.reduce_step_size`). Every solver scales its steps
by the scheduled step size (Adam's bias correction multiplies it).
"""

import copy
import math

import numpy as np

#: The "adaptive" schedule stops training rather than divide a step size at most this small.
SMALLEST_ADAPTIVE_STEP_SIZE = 1e-6


class GradientDescent:
    """Plain gradient descent: ``params -= step_size * grads``."""

    # What training continues from (partial_fit, warm_start).
    state_names = ("step_size", "samples_seen", "plateau")

    def __init__(self, n_params, dtype, *, learning_rate, schedule="constant", power_t=0.5):
        self.learning_rate = learning_rate
        self.schedule, self.power_t = schedule, power_t
        self.step_size = float(learning_rate)
        self.samples_seen = 0.0
        self.plateau = None  # the "adaptive" schedule's plateau rule across partial_fit calls

    def step(self, params, grads):
        grads *= self.step_size
        params -= grads

    def effective_learning_rate(self):
        """Step size a proximal operator should use after the last step."""
        return self.step_size

    def epoch_ends(self, n_samples):
        """Count an epoch's ``n_samples`` (total weight) and update the scheduled step size."""
        self.samples_seen += n_samples
        self._follow_schedule()

    def reduce_step_size(self):
        """The "adaptive" schedule's response to a plateau: divide the step size by 5, or, when it
        is already at most ``SMALLEST_ADAPTIVE_STEP_SIZE``, return False (stop training)."""
        if self.step_size <= SMALLEST_ADAPTIVE_STEP_SIZE:
            return False
        self.step_size /= 5.0
        return True

    def restart_schedule(self):
        """The step size of the schedule at ``samples_seen``, forgetting adaptive reductions."""
        self.step_size = float(self.learning_rate)
        self._follow_schedule()

    def _follow_schedule(self):
        if self.schedule == "invscaling":
            self.step_size = scheduled_step_size(
                self.learning_rate, self.power_t, self.samples_seen
            )

    def _schedule_settings(self):
        return (
            self.learning_rate,
            getattr(self, "schedule", "constant"),  # (an optimizer pickled before schedules)
            getattr(self, "power_t", 0.5),
        )


def scheduled_step_size(learning_rate, power_t, samples_seen):
    """The "invscaling" step size after ``samples_seen`` samples (scikit-learn's rule); 0 where
    the power exceeds the float range, as the compiled engine's ``pow`` gives."""
    try:
        return float(learning_rate) / (samples_seen + 1) ** power_t
    except OverflowError:
        return 0.0


class Momentum(GradientDescent):
    """Heavy-ball momentum: ``v = momentum * v - step_size * grads``; ``params += v``. With
    ``nesterov``, scikit-learn's Nesterov update: ``params += momentum * v - step_size * grads``
    with the new ``v``."""

    state_names = GradientDescent.state_names + ("velocity",)

    def __init__(self, n_params, dtype, *, momentum, nesterov=False, **schedule):
        super().__init__(n_params, dtype, **schedule)
        self.momentum, self.nesterov = momentum, nesterov
        self.velocity = np.zeros(n_params, dtype=dtype)
        self._scratch = np.empty(n_params, dtype=dtype) if nesterov else None

    def step(self, params, grads):
        self.velocity *= self.momentum
        grads *= self.step_size
        self.velocity -= grads
        if self.nesterov:
            np.multiply(self.velocity, self.momentum, out=self._scratch)
            self._scratch -= grads
            params += self._scratch
        else:
            params += self.velocity


class Adam(GradientDescent):
    """Adam (Kingma and Ba, 2014) with bias-corrected step size, as scikit-learn implements it."""

    state_names = GradientDescent.state_names + ("t", "first_moment", "second_moment")

    def __init__(self, n_params, dtype, *, beta_1, beta_2, epsilon, **schedule):
        super().__init__(n_params, dtype, **schedule)
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
        return self.step_size * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)


def make_optimizer(solver, n_params, dtype, previous=None, **hyperparameters):
    """The optimizer for ``solver`` in {"gd", "momentum", "adam"}, given its own hyperparameters
    (and ``learning_rate``, ``schedule``, ``power_t``).

    If ``previous`` is an optimizer of the same kind and size, the new one starts from a copy of
    its state (velocity, moments, step size, samples seen) in ``dtype``, so training continues
    where it stopped; if the schedule's settings changed, its step size restarts from them.
    """
    optimizer_class = {"gd": GradientDescent, "momentum": Momentum, "adam": Adam}[solver]
    optimizer = optimizer_class(n_params, dtype, **hyperparameters)
    if type(previous) is optimizer_class:
        for name in optimizer_class.state_names:
            value = getattr(previous, name, getattr(optimizer, name))
            if isinstance(value, np.ndarray):
                if value.shape != (n_params,):
                    return optimizer_class(n_params, dtype, **hyperparameters)
                value = value.astype(dtype)  # a copy, in the dtype training continues in
            else:
                value = copy.copy(value)
            setattr(optimizer, name, value)
        if previous._schedule_settings() != optimizer._schedule_settings():
            optimizer.restart_schedule()
    return optimizer
