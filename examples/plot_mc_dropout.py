"""
=================================================
Uncertainty from dropout (Monte-Carlo dropout)
=================================================

A network trained with dropout can keep dropping units at prediction time: each pass is one
thinned network, and the spread of many passes shows where the model is unsure. Gal and
Ghahramani (2016) showed that this approximates Bayesian inference over the weights.
``predict(X, return_std=True)`` runs the passes, batched, and returns their mean and standard
deviation; plain ``predict`` stays deterministic.

Here a regressor learns a noisy curve from data on [-1, 1]; its spread stays small where the
data are and widens away from them.
"""

# %%
# Fit a regressor with dropout
# ----------------------------
import matplotlib.pyplot as plt
import numpy as np

from skreg import RegularizedMLPRegressor

rng = np.random.RandomState(0)
X = rng.uniform(-1, 1, (200, 1))
y = np.sin(3 * X[:, 0]) + 0.1 * rng.standard_normal(200)
model = RegularizedMLPRegressor(keep_prob=0.8, lambd=0.1, random_state=0).fit(X, y)

# %%
# Predict with the spread of 200 stochastic passes
# -------------------------------------------------
grid = np.linspace(-3, 3, 400)[:, None]
mean, std = model.predict(grid, return_std=True, n_draws=200, random_state=0)
deterministic = model.predict(grid)

inside, outside = np.abs(grid[:, 0]) <= 1, np.abs(grid[:, 0]) >= 2
print(f"mean std where the data are: {std[inside].mean():.3f}")
print(f"mean std beyond |x| >= 2:     {std[outside].mean():.3f}")

fig, ax = plt.subplots(figsize=(7, 4))
ax.fill_between(grid[:, 0], mean - 2 * std, mean + 2 * std, alpha=0.3, label="mean ± 2 std")
ax.plot(grid[:, 0], mean, label="mean of the passes")
ax.plot(grid[:, 0], deterministic, "--", label="predict (dropout off)")
ax.scatter(X[:, 0], y, s=8, c="k", label="training data")
ax.axvspan(-1, 1, color="grey", alpha=0.1)
ax.set(xlabel="x", ylabel="y", title="Monte-Carlo dropout: the band widens away from the data")
ax.legend(loc="upper left")
plt.show()
