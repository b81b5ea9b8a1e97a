"""The matrix products of a workload and nothing else (issue 14): how close to the SGEMM floor
any implementation built on this BLAS can come, at the shapes skreg splits the work into.

The floor at k threads assumes k times the single-thread SGEMM rate of one large product. Two
things keep even a perfect implementation above it, and these contenders measure both in the same
run as skreg: the products of a shard or chunk are small (a 128-row shard of a mini-batch
multiplies matrices of 10 to 256 rows and columns), and cores running products side by side share
caches and memory bandwidth (two single-threaded SGEMMs side by side run at less than twice the
rate of one). Each thread runs its share of the shards or chunks with single-threaded BLAS, as
skreg does, with no element-wise work and no synchronisation between the threads. The products are
``np.dot`` calls into buffers of each thread's own (BLAS runs without the GIL): NumPy's overhead
per call comes on top, where the compiled engine calls BLAS's GEMM directly.
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
    rows of each shard of every step), each an ``np.dot`` into a buffer of the thread's own.
    Returns ``run(threads)``, the shards shared round-robin by ``threads`` threads."""
    rng = np.random.default_rng(0)
    pairs = list(zip(units[:-1], units[1:]))
    weights = [rng.standard_normal(pair).astype(dtype) for pair in pairs]
    largest = max(shard_rows)
    per_thread = {}

    def buffers():
        outputs = [rng.standard_normal(n * largest).astype(dtype) for n in units]
        deltas = [rng.standard_normal(n * largest).astype(dtype) for n in units]
        return outputs, deltas, [np.empty(pair, dtype) for pair in pairs]

    def shard_step(rows, outputs, deltas, gradients):
        def block(buffers, i):
            return buffers[i][: units[i] * rows].reshape((units[i], rows))

        for i, W in enumerate(weights):
            np.dot(W.T, block(outputs, i), out=block(outputs, i + 1))
        for i in range(len(weights) - 1, -1, -1):
            D = block(deltas, i + 1)
            np.dot(block(outputs, i), D.T, out=gradients[i])
            if i > 0:
                np.dot(weights[i], D, out=block(deltas, i))

    def work(thread, threads):
        outputs, deltas, gradients = per_thread[thread]
        for rows in shard_rows[thread::threads]:
            shard_step(rows, outputs, deltas, gradients)

    def run(threads):
        for thread in range(threads):
            per_thread.setdefault(thread, buffers())
        run_on_threads(threads, work)

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
