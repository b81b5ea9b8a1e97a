"""
=================================================
Watching training with scikit-learn's callbacks
=================================================

scikit-learn 1.9 added callbacks (:mod:`sklearn.callback`): objects that an estimator calls at
the start and end of each task of its fit. For skreg's estimators a fit is a task whose subtasks
are the epochs, so a callback sees every epoch: :class:`~sklearn.callback.ScoringMonitor` scores
the model as it trains, :class:`~sklearn.callback.ProgressBar` (with ``rich`` installed) draws a
bar, and a callback of your own can stop training when it has seen enough.
"""

# %%
# A score per epoch
# -----------------
# ``ScoringMonitor`` scores a copy of the estimator with each epoch's weights, on the training
# data. Training itself is unchanged: a fit with callbacks is the fit without them.
import matplotlib.pyplot as plt
from sklearn.callback import ScoringMonitor
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier
from skreg.datasets import make_football

X_train, X_test, y_train, y_test = make_football(noise=0.2)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

monitor = ScoringMonitor(scoring=["accuracy", "neg_log_loss"])
model = RegularizedMLPClassifier(keep_prob=0.86, max_iter=1500, random_state=3)
model.set_callbacks(monitor).fit(X_train, y_train)
epochs = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
print(f"{len(epochs)} epochs scored; last accuracy {epochs[-1]['accuracy']:.3f}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot([row["task_id"] for row in epochs], [row["accuracy"] for row in epochs])
ax.set(xlabel="epoch", ylabel="training accuracy", title="ScoringMonitor, one score per epoch")
plt.show()


# %%
# Stopping from a callback
# ------------------------
# A callback's ``on_fit_task_end`` returns True to stop. This one stops as soon as the held-out
# accuracy reaches a target; the model keeps the weights of that epoch and ``n_iter_`` counts
# the epochs that ran.
class StopAtAccuracy:
    def __init__(self, X, y, target):
        self.X, self.y, self.target = X, y, target

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name != "epoch" or fitted_estimator is None:
            return False
        return fitted_estimator.score(self.X, self.y) >= self.target


stopper = StopAtAccuracy(X_test, y_test, target=0.9)
model = RegularizedMLPClassifier(max_iter=30000, random_state=3).set_callbacks(stopper)
model.fit(X_train, y_train)
print(f"stopped after {model.n_iter_} epochs at test accuracy {model.score(X_test, y_test):.3f}")
