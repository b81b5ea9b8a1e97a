"""
===========================================
Prediction intervals by quantile regression
===========================================

:class:`~skreg.RegularizedMLPRegressor` with ``loss="quantile"`` fits a quantile of the target
rather than its mean: the pinball loss at level ``quantile`` is minimised by the ``quantile``-th
quantile of ``y`` given ``x``. Two fits, at 0.05 and 0.95, draw a 90 % prediction interval,
which here widens where the noise grows.
"""

# %%
# Data whose noise grows with ``|x|``
# -----------------------------------
# ``y = x sin(x)`` plus Gaussian noise of standard deviation ``0.3 + 0.3 |x|``. The inputs are
# standardised, and the targets divided by their standard deviation: the quantile loss is not
# invariant to shifting the targets by a fitted mean, but dividing by a constant divides each
# quantile by it.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPRegressor

rng = np.random.RandomState(0)


def noisy_wave(n_samples):
    x = rng.uniform(-4, 4, n_samples)
    return x, x * np.sin(x) + (0.3 + 0.3 * np.abs(x)) * rng.standard_normal(n_samples)


x_train, y_train = noisy_wave(1000)
x_test, y_test = noisy_wave(1000)
scaler = StandardScaler().fit(x_train[:, np.newaxis])
X_train, X_test = scaler.transform(x_train[:, np.newaxis]), scaler.transform(x_test[:, np.newaxis])
scale = y_train.std()

# %%
# Three quantile fits and the mean
# --------------------------------
# The default network (one hidden layer of 100 units, 1000 epochs of full-batch Adam), once per
# level, and once with the squared error for the conditional mean. The pinball loss is flatter
# than the squared error (its slope at a level of 0.95 is 0.05 on most samples), so the default
# penalty ``lambd=10``, tuned for the squared error on small data, would flatten the tails of
# the band: the quantile fits take a weak one.
models = {
    q: RegularizedMLPRegressor(loss="quantile", quantile=q, lambd=0.1, random_state=0).fit(
        X_train, y_train / scale
    )
    for q in (0.05, 0.5, 0.95)
}
mean = RegularizedMLPRegressor(lambd=0.1, random_state=0).fit(X_train, y_train / scale)

low, high = (models[q].predict(X_test) * scale for q in (0.05, 0.95))
covered = (low <= y_test) & (y_test <= high)
print(f"share of test points inside the 90% interval: {covered.mean():.3f}")

# %%
# The interval
# ------------
# The band is narrow near ``x = 0``, where the noise is small, and wide at the edges; the median
# and the mean nearly coincide, as the noise is symmetric.
grid = np.linspace(-4, 4, 400)
X_grid = scaler.transform(grid[:, np.newaxis])
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
ax.scatter(x_test, y_test, s=4, color="gray", alpha=0.5, label="test data")
ax.fill_between(
    grid,
    models[0.05].predict(X_grid) * scale,
    models[0.95].predict(X_grid) * scale,
    alpha=0.3,
    label="90% interval (quantiles 0.05 to 0.95)",
)
ax.plot(grid, models[0.5].predict(X_grid) * scale, label="median (quantile 0.5)")
ax.plot(grid, mean.predict(X_grid) * scale, linestyle="--", label="mean (squared error)")
ax.plot(grid, grid * np.sin(grid), color="black", linewidth=1, label="x sin(x)")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend(loc="upper center", fontsize="small")
plt.show()
