"""
======================================================
No regularisation, L2 and dropout on the football data
======================================================

The course notebook trains the same three-layer network three times on positions where a
goalkeeper's kick was headed by a French player (blue) or an opponent (red): without
regularisation, with an L2 penalty (``lambd=0.7``) and with inverted dropout
(``keep_prob=0.86``). This example does the same with
:class:`~skreg.RegularizedMLPClassifier` and draws each model's decision boundary with
scikit-learn's :class:`~sklearn.inspection.DecisionBoundaryDisplay`, and the training cost of
each with :class:`~skreg.plotting.LossCurveDisplay`.
"""

# %%
# The data
# --------
# :func:`~skreg.datasets.make_football` draws a football-like data set of the course data's size
# (211 training and 200 test positions) with a wavy boundary and noisy labels near it. The
# positions are already on a unit scale, so the network needs no scaler here.
import matplotlib.pyplot as plt
from sklearn.inspection import DecisionBoundaryDisplay

from skreg import RegularizedMLPClassifier
from skreg.datasets import make_football
from skreg.plotting import LossCurveDisplay

X_train, X_test, y_train, y_test = make_football(noise=0.2)

# %%
# Three networks
# --------------
# The defaults are the notebook's network: hidden layers of 20 and 3 ReLU units, full-batch
# gradient descent with learning rate 0.3. We train for 10000 iterations instead of the
# notebook's 30000 to keep the example fast; the costs change little after that.
models = {
    "no regularisation": RegularizedMLPClassifier(max_iter=10000, random_state=3),
    "L2, lambd=0.7": RegularizedMLPClassifier(lambd=0.7, max_iter=10000, random_state=3),
    "dropout, keep_prob=0.86": RegularizedMLPClassifier(
        keep_prob=0.86, max_iter=10000, random_state=3
    ),
}
for name, model in models.items():
    model.fit(X_train, y_train)
    print(
        f"{name:<24} train accuracy {model.score(X_train, y_train):.3f}, "
        f"test accuracy {model.score(X_test, y_test):.3f}"
    )

# %%
# Decision boundaries
# -------------------
# Without regularisation the boundary bends around single noisy points of the training set. The
# L2 penalty keeps the weights small, so the boundary is smoother; dropout keeps any unit from
# relying on a few others, with a similar effect.
fig, axes = plt.subplots(1, 3, figsize=(13, 4.3), layout="constrained", sharey=True)
for ax, (name, model) in zip(axes, models.items()):
    DecisionBoundaryDisplay.from_estimator(
        model, X_train, response_method="predict", eps=0.1, cmap="RdBu", alpha=0.4, ax=ax
    )
    ax.scatter(*X_train.T, c=y_train, cmap="RdBu", edgecolors="k", s=15)
    ax.set_title(f"{name}\ntest accuracy {model.score(X_test, y_test):.3f}")

# %%
# Training cost
# -------------
# The cost each model minimises: the L2 model's includes its penalty, so it levels off higher;
# the dropout model's is the cost of a different thinned network at every iteration, hence the
# noise.
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for name, model in models.items():
    LossCurveDisplay.from_estimator(model, ax=ax, name=name, lw=1, alpha=0.8)
ax.set_yscale("log")
