"""
========================================================
Tuning the L2 strength with GridSearchCV
========================================================

``lambd`` is a hyperparameter like any other: choose it by cross-validation on the training
set, never on the test set. :class:`~sklearn.model_selection.GridSearchCV` does the search, and
scikit-learn's :class:`~sklearn.model_selection.ValidationCurveDisplay` draws the train and
validation accuracy against ``lambd`` from the search's own results, so no model is fitted twice.
"""

# %%
# The search
# ----------
# A log-spaced grid from 0.01 to 10, scored by 3-fold cross-validation. ``return_train_score``
# keeps the training accuracy of every fold, which the validation curve needs. 5000 iterations
# are enough on this small data set and keep the 21 fits quick.
import numpy as np
from sklearn.model_selection import GridSearchCV, ValidationCurveDisplay

from skreg import RegularizedMLPClassifier
from skreg.datasets import make_football

X_train, X_test, y_train, y_test = make_football(noise=0.2)

lambds = np.logspace(-2, 1, 7)
search = GridSearchCV(
    RegularizedMLPClassifier(max_iter=5000, random_state=3),
    {"lambd": lambds},
    cv=3,
    return_train_score=True,
)
search.fit(X_train, y_train)
print(f"best lambd: {search.best_params_['lambd']:.3g}")
print(f"cross-validated accuracy: {search.best_score_:.3f}")
print(f"test accuracy of the refitted model: {search.score(X_test, y_test):.3f}")

# %%
# The validation curve
# --------------------
# Small ``lambd`` lets the network fit the training folds closely; large ``lambd`` shrinks the
# weights until the network underfits and both curves fall. The best ``lambd`` sits where the
# validation accuracy peaks.
n_folds = search.n_splits_
split_scores = {
    kind: np.column_stack([search.cv_results_[f"split{i}_{kind}_score"] for i in range(n_folds)])
    for kind in ("train", "test")
}
display = ValidationCurveDisplay(
    param_name="lambd",
    param_range=lambds,
    train_scores=split_scores["train"],
    test_scores=split_scores["test"],
    score_name="Accuracy",
)
display.plot()
display.ax_.axvline(search.best_params_["lambd"], color="k", linestyle=":", label="best lambd")
display.ax_.legend()
