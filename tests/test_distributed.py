"""A hyperparameter search on a Dask cluster through joblib's ``dask`` backend (optional extra)."""

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from skreg import RegularizedMLPClassifier
from skreg.datasets import make_football

pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")


def search():
    model = RegularizedMLPClassifier(max_iter=200, random_state=0)
    return GridSearchCV(model, {"lambd": [0.0, 0.7], "keep_prob": [0.8, 1.0]}, cv=2)


@pytest.mark.parametrize(
    "transport",
    # Worker processes on the loopback interface; or threads talking in-process.
    [{"processes": True, "host": "127.0.0.1"}, {"processes": False}],
    ids=["processes", "threads"],
)
def test_grid_search_on_a_dask_cluster_matches_the_local_search(transport):
    X_train, _, y_train, _ = make_football()
    local = search().fit(X_train, y_train)
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        dashboard_address=None,
        **transport,
    )
    with cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
            remote = search().fit(X_train, y_train)
        workers = set(client.scheduler_info()["workers"])
    # The fits ran as tasks on the cluster's workers (joblib batches them, so count loosely).
    assert len(tasks.data) > 0
    assert len(workers) == 2 and {task["worker"] for task in tasks.data} <= workers
    np.testing.assert_array_equal(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict_proba(X_train), local.predict_proba(X_train))
