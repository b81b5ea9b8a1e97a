"""The rows of a deterministic full-batch fit as a canonical weighted set of distinct rows: the
model depends on the data, not on how it is written. Plain NumPy/SciPy."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from ._threads import allowed_threads

#: Rows hashed at a time by _row_keys.
HASH_CHUNK_ROWS = 4096


def weighted_set(X, Y, sample_weight):
    """The rows of a deterministic full-batch fit as a canonical weighted set of distinct rows:
    returns the indices of the rows to train on, in order, and their weights (``None`` when every
    one weighs 1).

    Full-batch training without dropout or noise sees only the weighted set of ``(x, y)`` rows:
    rows repeated ``k`` times are one row of weight ``k``, zero-weight rows contribute nothing,
    and the order of the rows does not matter. The rows are merged and put in a canonical order
    (by a hash of their content, :func:`_row_keys`) accordingly, so that the fitted model depends
    on the data, not on how it is written: integer weights give exactly the model of repeated
    rows, and a shuffled or sparse copy of the data the same model, on any engine, bit for bit.
    (Otherwise sums taken in another order round differently, and the chaotic phases of
    gradient descent can amplify that until two such fits part ways.)
    """
    keys = _row_keys(X, Y)
    order = np.lexsort(keys[::-1])
    keys = keys[:, order]
    first = np.r_[True, (keys[:, 1:] != keys[:, :-1]).any(axis=0)]
    weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight[order]
    weights = np.bincount(np.cumsum(first) - 1, weights=weights)
    rows = order[first][weights > 0]
    weights = weights[weights > 0]
    return rows, None if (weights == 1).all() else weights.astype(X.dtype)


def _row_keys(X, Y):
    """Two 64-bit hashes of each row of ``[X, Y]``, shape ``(2, n_rows)``: rows equal in value
    (``-0.0`` equal to ``0.0``, dense or sparse) get equal keys; different rows equal keys with
    probability ``2**-128``. Each is a sum, modulo ``2**64``, over the row's non-zero entries of a
    mix of the entry's bits with its column, so that zeros, stored or not, add nothing."""
    n_rows, n_features = X.shape
    if sp.issparse(X) and not X.has_canonical_format:  # duplicate entries add up
        X = X.copy()
        X.sum_duplicates()
    keys = np.zeros((2, n_rows), dtype=np.uint64)
    seeds = (0x9E3779B97F4A7C15, 0xD1B54A32D192ED03)
    columns = [_mix(np.arange(n_features + Y.shape[1], dtype=np.uint64) + np.uint64(seed))
               for seed in seeds]  # fmt: skip
    if sp.issparse(X):
        for k in range(2):
            terms = _entry_terms(X.data, columns[k][X.indices])
            sums = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(terms)])
            keys[k] = sums[X.indptr[1:]] - sums[X.indptr[:-1]]
    else:
        # Chunks of rows, whose terms stay in cache, side by side on the threads allowed: sums
        # modulo 2**64 are exact in any order.
        def add_chunk(rows):
            for k in range(2):
                keys[k, rows] += _entry_terms(X[rows], columns[k][:n_features]).sum(axis=1)

        chunks = [slice(i, i + HASH_CHUNK_ROWS) for i in range(0, n_rows, HASH_CHUNK_ROWS)]
        if len(chunks) == 1:  # (asking threadpoolctl for the threads allowed takes milliseconds)
            add_chunk(chunks[0])
        else:
            with ThreadPoolExecutor(min(len(chunks), allowed_threads())) as pool:
                for _ in pool.map(add_chunk, chunks):
                    pass
    for k in range(2):
        for j in range(Y.shape[1]):
            keys[k] += _entry_terms(Y[:, j], columns[k][n_features + j])
    return keys


def _entry_terms(values, column_keys):
    bits = (values.astype(np.float64) + 0.0).view(np.uint64)  # + 0.0: -0.0 becomes 0.0
    return np.where(bits != 0, _mix(bits ^ column_keys), np.uint64(0))


def _mix(z):
    """SplitMix64's finaliser, on uint64 arrays (wrapping)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))
