"""The matrix products of a workload and nothing else (issue 14): how close to the SGEMM floor
any implementation built on this BLAS can come, at the shapes skreg splits the work into.

The floor at k threads assumes k times the single-thread SGEMM rate of one large product. Two
things keep even a perfect implementation above it, and these contenders measure both in the
same run as skreg: the products of a shard or chunk are small (a 128-row shard of a mini-batch
multiplies matrices of 10 to 256 rows and columns), and cores running products side by side
share caches and memory bandwidth (on the 2-core machine of RESULTS.md, two single-threaded
2048 x 2048 SGEMMs side by side ran at 1.80-1.95 times the rate of one). Each thread runs its
share of the shards or chunks with single-threaded BLAS, as skreg does, with no element-wise
work and no synchronisation between the threads.
"""

import threading

import numpy as np
from threadpoolctl import threadpool_limits


def run_on_threads(threads, work):
    """``work(thread, threads)`` on ``threads`` threads at once (the first on this one), with
    single-threaded BLAS."""
    with threadpool_limits(1):
        others = [
            threading.Thread(target=work, args=(thread, threads)) for thread in range(1, threads)
        ]
        for other in others:
            other.start()
        work(0, threads)
        for other in others:
            other.join()


def training_products(units, shard_rows, dtype=np.float32):
    """The products of training steps on shards of rows, as the compiled engine lays them out
    (units-major: a layer's outputs are ``W.T @ A``): forward, weight gradients ``A @ D.T``, and
    the deltas ``W @ D`` of every layer but the first, for every shard in ``shard_rows`` (the
    rows of each shard of every step). Returns ``run(threads)``, the shards shared round-robin
    by ``threads`` threads."""
    from numba import njit  # the compiled engine's shards only exist with numba

    rng = np.random.default_rng(0)
    pairs = list(zip(units[:-1], units[1:]))
    weights = tuple(rng.standard_normal(pair).astype(dtype) for pair in pairs)
    largest = max(shard_rows)

    @njit(nogil=True)
    def shard_steps(shards, units, weights, outputs, deltas, gradients):
        for rows in shards:
            A = outputs[0][: units[0] * rows].reshape((units[0], rows))
            for i in range(len(weights)):
                Z = outputs[i + 1][: units[i + 1] * rows].reshape((units[i + 1], rows))
                np.dot(weights[i].T, A, Z)
                A = Z
            for i in range(len(weights) - 1, -1, -1):
                D = deltas[i + 1][: units[i + 1] * rows].reshape((units[i + 1], rows))
                A_in = outputs[i][: units[i] * rows].reshape((units[i], rows))
                np.dot(A_in, D.T, gradients[i])
                if i > 0:
                    np.dot(weights[i], D, deltas[i][: units[i] * rows].reshape((units[i], rows)))

    def buffers():
        outputs = tuple(rng.standard_normal(n * largest).astype(dtype) for n in units)
        deltas = tuple(rng.standard_normal(n * largest).astype(dtype) for n in units)
        return outputs, deltas, tuple(np.empty(pair, dtype) for pair in pairs)

    per_thread = {}
    shard_rows = np.asarray(shard_rows, dtype=np.int64)
    unit_array = np.asarray(units, dtype=np.int64)

    def work(thread, threads):
        shard_steps(shard_rows[thread::threads], unit_array, weights, *per_thread[thread])

    def run(threads):
        for thread in range(threads):
            per_thread.setdefault(thread, buffers())
        run_on_threads(threads, work)

    shard_steps(shard_rows[:2], unit_array, weights, *buffers())  # compile outside the clock
    return run


def prediction_products(units, n_rows, chunk_rows, dtype=np.float32):
    """The products of prediction's forward pass, as the NumPy engine computes a chunk (each
    layer's input with its column of ones, row-major), on chunks of ``chunk_rows`` of ``n_rows``
    rows. Returns ``run(threads)``, the chunks shared round-robin by ``threads`` threads."""
    rng = np.random.default_rng(0)
    layers = [rng.standard_normal((n_in + 1, n_out)).astype(dtype) for n_in, n_out in
              zip(units[:-1], units[1:])]  # fmt: skip
    chunks = [min(chunk_rows, n_rows - start) for start in range(0, n_rows, chunk_rows)]
    per_thread = {}

    def buffers():
        inputs = [np.ones((chunk_rows, n + 1), dtype) for n in units[:-1]]
        return inputs, np.empty((chunk_rows, units[-1]), dtype)

    def work(thread, threads):
        inputs, logits = per_thread[thread]
        for rows in chunks[thread::threads]:
            for i, layer in enumerate(layers):
                out = inputs[i + 1][:rows, :-1] if i + 1 < len(layers) else logits[:rows]
                np.matmul(inputs[i][:rows], layer, out=out)

    def run(threads):
        for thread in range(threads):
            per_thread.setdefault(thread, buffers())
        run_on_threads(threads, work)

    return run
