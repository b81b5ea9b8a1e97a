"""
========================================
Early stopping
========================================

With ``early_stopping=True``, :meth:`~skreg.RegularizedMLPClassifier.fit` holds out
``validation_fraction`` of the training data, records the accuracy on it after every epoch in
``validation_scores_``, stops once it has not improved for ``n_iter_no_change`` epochs, and
restores the weights of the best epoch (``best_validation_score_``).
:class:`~skreg.plotting.LossCurveDisplay` draws the training cost and the validation accuracy
together. The accuracy is MLPClassifier's monitor, ``scoring=None``; skreg's default,
``scoring="loss"``, monitors the held-out cross-entropy instead (see the user guide).
"""

# %%
# Stopping gradient descent early
# -------------------------------
# A network with wider hidden layers than the course's, which can fit the noisy training set
# closely, trained by full-batch gradient descent (with a learning rate of 0.1, as the wider
# network needs smaller steps than the default 0.3): once for all 30000 iterations, and once
# with early stopping on a 20% validation split. One full-batch epoch is a single small step, so
# the patience ``n_iter_no_change`` is counted in thousands.
import matplotlib.pyplot as plt
from sklearn.model_selection import ValidationCurveDisplay
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier
from skreg.datasets import make_football
from skreg.plotting import LossCurveDisplay

X_train, X_test, y_train, y_test = make_football(noise=0.2)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

network = {"hidden_layer_sizes": (50, 20), "learning_rate": 0.1, "random_state": 0}
full = RegularizedMLPClassifier(**network).fit(X_train, y_train)
early = RegularizedMLPClassifier(
    **network, early_stopping=True, scoring=None, validation_fraction=0.2, n_iter_no_change=2000
).fit(X_train, y_train)
for name, model in [("all 30000 iterations", full), ("early stopping", early)]:
    print(
        f"{name:<21} n_iter_={model.n_iter_:<6} train accuracy {model.score(X_train, y_train):.3f}"
        f"  test accuracy {model.score(X_test, y_test):.3f}"
    )
print(f"best validation accuracy: {early.best_validation_score_:.3f}")

# %%
# The loss curve and the validation scores
# ----------------------------------------
# The display draws ``validation_scores_`` on a second y-axis. The validation accuracy stops
# improving long before the training cost stops falling: what the network learns after that
# point fits the noise of its own training samples. Training ran ``n_iter_no_change`` epochs
# past the best one, and the fitted weights are those of the best epoch, not the last.
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
display = LossCurveDisplay.from_estimator(early, ax=ax, name="early stopping")
ax.set_yscale("log")
best_epoch = early.validation_scores_.index(early.best_validation_score_)
ax.axvline(best_epoch, color="gray", linestyle=":", label="best epoch")
ax.set_title("Gradient descent with early stopping")

# %%
# The same with Adam on mini-batches
# ----------------------------------
# Adam on mini-batches of 32 takes several steps per epoch and converges in far fewer epochs,
# so a patience of 100 epochs (the default ``n_iter_no_change``) suffices.
adam_settings = {"solver": "adam", "learning_rate": 0.01, "batch_size": 32}
adam = RegularizedMLPClassifier(**(network | adam_settings), early_stopping=True, scoring=None)
adam.fit(X_train, y_train)
print(
    f"Adam: n_iter_={adam.n_iter_}, best validation accuracy {adam.best_validation_score_:.3f}, "
    f"test accuracy {adam.score(X_test, y_test):.3f}"
)
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
LossCurveDisplay.from_estimator(adam, ax=ax, name="Adam, batch_size=32")
ax.set_title("Adam with early stopping")

# %%
# Choosing the patience
# ---------------------
# ``n_iter_no_change`` is a hyperparameter. With too little patience training stops on the
# first plateau of the validation accuracy, before the network has learnt the shape of the
# classes: here 100 and 300 epochs do, 1000 and more do not. More patience costs training time.
# scikit-learn's :class:`~sklearn.model_selection.ValidationCurveDisplay` shows it by
# cross-validation on the training set.
display = ValidationCurveDisplay.from_estimator(
    RegularizedMLPClassifier(**network, early_stopping=True, scoring=None, validation_fraction=0.2),
    X_train,
    y_train,
    param_name="n_iter_no_change",
    param_range=[100, 300, 1000, 3000],
    cv=3,
    std_display_style="errorbar",
)
display.ax_.set_xscale("log")
display.ax_.set_title("Accuracy of early stopping by patience (3-fold cross-validation)")
