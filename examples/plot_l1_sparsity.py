"""
========================================
Sparse networks: L1 against L2
========================================

An L2 penalty (``penalty="l2"``, the default) makes every weight small; an L1 penalty
(``penalty="l1"``) makes many weights exactly zero. skreg applies the L1 term by a proximal
(soft-threshold) step after each gradient step, so the zeros are real zeros, which
:attr:`~skreg.RegularizedMLPClassifier.n_zero_coefs_` counts. The elastic net
(``penalty="elasticnet"``) mixes the two with ``l1_ratio``. This example trains the three with a
range of strengths ``lambd`` and looks at how many weights survive, how the weights are
distributed, and which hidden units are left.
"""

# %%
# Training
# --------
# The inputs are standardised first, as every network trained by gradient descent wants.
# 5000 full-batch iterations are enough on this small data set.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.inspection import DecisionBoundaryDisplay
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier
from skreg.datasets import make_football

X_train, X_test, y_train, y_test = make_football()

penalties = ["l2", "elasticnet", "l1"]
lambds = [0.03, 0.1, 0.3, 1.0, 3.0]
models = {
    (penalty, lambd): make_pipeline(
        StandardScaler(),
        RegularizedMLPClassifier(penalty=penalty, lambd=lambd, max_iter=5000, random_state=0),
    ).fit(X_train, y_train)
    for penalty in penalties
    for lambd in lambds
}
n_coefs = sum(W.size for W in models["l2", 1.0][-1].coefs_)
print(f"The network has {n_coefs} weights (intercepts not counted).")
print(f"{'penalty':<11} {'lambd':>5} {'zero weights':>12} {'train acc.':>10} {'test acc.':>9}")
for (penalty, lambd), model in models.items():
    print(
        f"{penalty:<11} {lambd:>5g} {model[-1].n_zero_coefs_:>12} "
        f"{model.score(X_train, y_train):>10.3f} {model.score(X_test, y_test):>9.3f}"
    )

# %%
# How many weights are zero
# -------------------------
# L2 shrinks the weights but never to exactly zero, whatever its strength. L1 zeroes a growing
# share of them as ``lambd`` grows; the elastic net (``l1_ratio=0.5``: half of ``lambd`` goes
# to each penalty) sits in between.
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
for penalty in penalties:
    n_zero = [models[penalty, lambd][-1].n_zero_coefs_ for lambd in lambds]
    ax.plot(lambds, n_zero, marker="o", label=penalty)
ax.axhline(n_coefs, color="gray", linestyle="--", label="all weights")
ax.set_xscale("log")
ax.set_xlabel("lambd")
ax.set_ylabel("n_zero_coefs_")
ax.legend()

# %%
# The distribution of the weights
# -------------------------------
# With the same ``lambd = 1``: L2 leaves a bell of small, non-zero weights; L1 puts most
# weights at exactly zero (the tall bar) and lets the few that matter stay large.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained", sharey=True)
bins = np.linspace(-4, 4, 41)
for ax, penalty in zip(axes, ["l2", "l1"]):
    weights = np.concatenate([W.ravel() for W in models[penalty, 1.0][-1].coefs_])
    ax.hist(weights, bins=bins)
    ax.set_title(f"penalty={penalty!r}, lambd=1: {np.count_nonzero(weights == 0)} zeros")
    ax.set_xlabel("weight")
axes[0].set_ylabel("number of weights")

# %%
# Which connections survive
# -------------------------
# The non-zero weights of the first two layers, in black. L1 does not spread its zeros at
# random: a hidden unit whose incoming weights are all zero outputs a constant, and one whose
# outgoing weights are all zero affects nothing, so L1 effectively prunes whole units and
# leaves a much smaller network.
fig, axes = plt.subplots(2, 2, figsize=(10, 4), layout="constrained", width_ratios=[1, 4])
for row, penalty in zip(axes, ["l2", "l1"]):
    coefs = models[penalty, 1.0][-1].coefs_
    for ax, layer in zip(row, [0, 1]):
        n_in, n_out = coefs[layer].shape
        ax.imshow(coefs[layer].T != 0, cmap="Greys", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(n_in))
        ax.set_yticks(range(n_out) if n_out < 10 else range(0, n_out, 5))
        ax.set_title(f"{penalty!r}: coefs_[{layer}], {np.count_nonzero(coefs[layer])} non-zero")
        ax.set_xlabel("input feature" if layer == 0 else "unit of hidden layer 1")
        ax.set_ylabel(f"layer {layer + 1} unit")

# %%
# Decision boundaries
# -------------------
# Sparse or not, the networks draw similar boundaries at this strength: on two input features
# the sparse network loses little. L1 pays off when many inputs or connections are useless.
fig, axes = plt.subplots(1, 3, figsize=(13, 4), layout="constrained", sharey=True)
for ax, penalty in zip(axes, penalties):
    model = models[penalty, 1.0]
    DecisionBoundaryDisplay.from_estimator(
        model, X_train, response_method="predict", eps=0.1, cmap="RdBu", alpha=0.4, ax=ax
    )
    ax.scatter(*X_train.T, c=y_train, cmap="RdBu", edgecolors="k", s=12)
    ax.set_title(f"penalty={penalty!r}, lambd=1\ntest accuracy {model.score(X_test, y_test):.3f}")
