"""
=================================================
Scaling a hyperparameter search with Dask
=================================================

A grid search is a pile of independent fits. scikit-learn runs them through joblib, and joblib's
``dask`` backend sends them to a `Dask <https://www.dask.org>`_ cluster: the same code runs on a
laptop's cores or on hundreds of machines. Install the extra with ``pip install "skreg[dask]"``.

Here a :class:`~distributed.LocalCluster` of two single-threaded workers stands in for a real
cluster; to use one, give :class:`~distributed.Client` the scheduler's address instead.
"""

# %%
# Start a cluster and connect to it
# ---------------------------------
# ``processes=False`` keeps the workers in this process, which suits a documentation page. In a
# script, drop it to get one process per worker, and start the cluster under
# ``if __name__ == "__main__":``, since the worker processes re-import the main module.
import joblib
from distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV

from skreg import RegularizedMLPClassifier
from skreg.datasets import make_football

cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
client = Client(cluster)
print(f"{len(client.scheduler_info()['workers'])} workers")

# %%
# Run the search on it
# --------------------
# Inside ``joblib.parallel_backend("dask")`` every fit of the search is a task on the cluster.
# Nothing else changes: the estimator is sent to the workers, trained there, and the scores
# come back. 6 candidates x 3 folds = 18 fits of 3000 iterations each.
X_train, X_test, y_train, y_test = make_football(noise=0.2)
search = GridSearchCV(
    RegularizedMLPClassifier(max_iter=3000, random_state=3),
    {"lambd": [0.0, 0.3, 1.0], "keep_prob": [0.86, 1.0]},
    cv=3,
)
with joblib.parallel_backend("dask"):
    search.fit(X_train, y_train)

print(f"best parameters: {search.best_params_}")
print(f"cross-validated accuracy: {search.best_score_:.3f}")
print(f"test accuracy: {search.score(X_test, y_test):.3f}")

# %%
# The results are those a local search gives: the same folds and the same seeds give the same
# models wherever they are trained.
for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
    print(f"lambd={params['lambd']:<4} keep_prob={params['keep_prob']:<5} accuracy {score:.3f}")

# %%
# Shut the cluster down when done.
client.close()
cluster.close()
