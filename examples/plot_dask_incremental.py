"""
=================================================
Training out of core with dask-ml
=================================================

When the rows do not fit in memory, a Dask array holds them in blocks, and dask-ml's
:class:`~dask_ml.wrappers.Incremental` trains an estimator block by block through its
``partial_fit``: one block in memory at a time. :class:`~dask_ml.wrappers.ParallelPostFit` then
predicts on a Dask array block by block, in parallel. Both come with the extra:
``pip install "skreg[dask]"``.

Here the data are generated in memory and cut into blocks, standing in for a data set on disk
(``dask.array.from_zarr``, ``dask.dataframe.read_parquet(...).to_dask_array()``...).
"""

# %%
# A cluster and blocked data
# --------------------------
import dask.array as da
import matplotlib.pyplot as plt
from dask_ml.wrappers import Incremental, ParallelPostFit
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification

from skreg import RegularizedMLPClassifier

cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
client = Client(cluster)

X, y = make_classification(n_samples=40_000, n_features=20, n_informative=8, random_state=0)
X_train, y_train = da.from_array(X[:30_000], chunks=5_000), da.from_array(y[:30_000], chunks=5_000)
X_test, y_test = da.from_array(X[30_000:], chunks=5_000), da.from_array(y[30_000:], chunks=5_000)
print(f"{X_train.numblocks[0]} training blocks of {X_train.chunks[0][0]} rows")

# %%
# Train block by block
# --------------------
# Each ``partial_fit`` of the wrapper is one pass over the blocks, one epoch of mini-batch Adam
# per block; ``classes`` names every class, as a block may lack some. The test accuracy is
# computed on the Dask array too.
model = Incremental(
    RegularizedMLPClassifier(
        hidden_layer_sizes=(64, 32), solver="adam", learning_rate=0.003, batch_size=256,
        keep_prob=0.9, random_state=0,
    ),
    shuffle_blocks=True,
    random_state=0,
)  # fmt: skip
scores = []
for _ in range(6):
    model.partial_fit(X_train, y_train, classes=[0, 1])
    scores.append(float(model.score(X_test, y_test)))
print(f"test accuracy after each pass: {[round(s, 3) for s in scores]}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(range(1, len(scores) + 1), scores, marker="o")
ax.set(xlabel="passes over the blocks", ylabel="test accuracy", title="Incremental training")
plt.show()

# %%
# Predict block by block
# ----------------------
# The fitted network (``model.estimator_``) predicts on a Dask array through ``ParallelPostFit``;
# the result is lazy until computed.
predictor = ParallelPostFit(model.estimator_)
proba = predictor.predict_proba(X_test)
print(type(proba).__name__, proba.shape, proba[:3].compute().round(3))

client.close()
cluster.close()
