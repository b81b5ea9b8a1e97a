"""skreg's own threads (issue 14): chunks of rows predicted side by side, the compiled engine's
shards of a full batch, rows hashed in chunks. Each gives the serial result: bit for bit where the
arithmetic is the same, and the thread count never changes the model."""

import multiprocessing
import os
import threading

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import config_context
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPRegressor,
    _estimator,
    _prediction,
    _threads,
)
from skreg._engines import compiled_engine
from skreg._weighted_set import _row_keys

SEEDS = range(4)


def blas_threads():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


@pytest.fixture
def threads(monkeypatch):
    """``threads(n)``: let skreg's parallel code use ``n`` threads, whatever this machine has."""

    def set_threads(n):
        for module in (_threads, _prediction):
            monkeypatch.setattr(module, "allowed_threads", lambda: n)
        if compiled_engine() is not None:
            from skreg import _compiled_engine

            monkeypatch.setattr(_compiled_engine, "openmp_threads", lambda: n)

    return set_threads


def blobs(seed, n_samples=400, n_features=6, centers=3):
    X, y = make_blobs(n_samples, n_features, centers=centers, random_state=seed)
    return StandardScaler().fit_transform(X), y


# -- prediction ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_chunks_predicted_side_by_side_give_the_serial_result(threads, seed, dtype):
    X, y = blobs(seed)
    X = X.astype(dtype)
    model = RegularizedMLPClassifier(hidden_layer_sizes=(40, 20), max_iter=50, random_state=seed)
    model.fit(X, y)
    rows = np.random.default_rng(seed).standard_normal((3000, X.shape[1])).astype(dtype)
    results = {}
    for n in (1, 2, 3):
        threads(n)
        with config_context(working_memory=0.05), threadpool_limits(1):  # about 40 chunks
            results[n] = [
                model.predict_proba(rows), model.decision_function(rows), model.predict(rows)
            ]  # fmt: skip
    for n in (2, 3):
        for parallel, serial in zip(results[n], results[1]):
            np.testing.assert_array_equal(parallel, serial)


def test_parallel_prediction_runs_on_several_threads_and_restores_the_blas_limits(threads):
    X, y = blobs(0)
    model = RegularizedMLPRegressor(hidden_layer_sizes=(30,), max_iter=20).fit(X, y)
    seen = set()
    original = _prediction._ChunkEvaluator.__call__

    def spy(self, rows):
        seen.add((threading.get_ident(), tuple(blas_threads())))
        return original(self, rows)

    before = blas_threads()
    threads(2)
    with config_context(working_memory=0.05):
        _prediction._ChunkEvaluator.__call__ = spy
        try:
            model.predict(np.tile(X, (5, 1)))
        finally:
            _prediction._ChunkEvaluator.__call__ = original
    # The first chunk on the calling thread (it sizes the result), the others on two threads.
    assert len({ident for ident, _ in seen} - {threading.get_ident()}) == 2
    assert {limits for _, limits in seen} == {(1,) * len(before)}  # single-threaded BLAS
    assert blas_threads() == before


def test_prediction_uses_no_more_threads_than_the_user_allows():
    X, y = blobs(0)
    model = RegularizedMLPClassifier(hidden_layer_sizes=(30,), max_iter=20).fit(X, y)
    idents = set()
    original = _prediction._ChunkEvaluator.__call__

    def spy(self, rows):
        idents.add(threading.get_ident())
        return original(self, rows)

    _prediction._ChunkEvaluator.__call__ = spy
    try:
        with config_context(working_memory=0.05), threadpool_limits(1):
            assert _threads.allowed_threads() == 1
            model.predict_proba(np.tile(X, (5, 1)))
    finally:
        _prediction._ChunkEvaluator.__call__ = original
    assert idents == {threading.get_ident()}


def test_overlapping_single_threaded_regions_restore_the_user_limits():
    before = blas_threads()
    first, second = _threads.single_threaded_blas(), _threads.single_threaded_blas()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the other region still runs: the limit stays
    assert set(blas_threads()) == {1}
    second.__exit__(None, None, None)
    assert blas_threads() == before


def test_single_threaded_regions_hold_on_any_thread():
    """threadpoolctl (3.8) lets one thread at a time set OpenBLAS's limits and ignores the
    others: a region on another thread than the last to set them (a fit in a Dask or joblib
    thread) still runs BLAS on one thread, and overlapping regions left in any order on any
    threads restore the limits."""
    before = blas_threads()
    with _threads.single_threaded_blas():  # the main thread sets the limits first
        pass
    seen = []
    entered, leave = threading.Event(), threading.Event()

    def region():
        with _threads.single_threaded_blas():
            seen.append(blas_threads())
            entered.set()
            leave.wait()

    thread = threading.Thread(target=region)
    thread.start()
    entered.wait()
    with _threads.single_threaded_blas():  # overlaps the thread's, left first
        seen.append(blas_threads())
    leave.set()
    thread.join()
    assert [set(threads) for threads in seen] == [{1}, {1}]
    assert blas_threads() == before
    with threadpool_limits(1):  # the user's own limits still work afterwards
        assert set(blas_threads()) == {1}
    assert blas_threads() == before


def test_allowed_threads_follow_threadpool_limits():
    assert 1 <= _threads.allowed_threads()
    with threadpool_limits(1):
        assert _threads.allowed_threads() == 1


@pytest.fixture
def blas_threads_in_training(monkeypatch):
    """The BLAS libraries' thread counts while each fit trains, as a list."""
    seen = []
    training_function = _estimator.training_function

    def spy(*args):
        train = training_function(*args)

        def spied(*args, **kwargs):
            seen.append(blas_threads())
            return train(*args, **kwargs)

        return spied

    monkeypatch.setattr(_estimator, "training_function", spy)
    return seen


@pytest.mark.parametrize("batch_size", [64, None])
def test_small_training_steps_run_on_single_threaded_blas(blas_threads_in_training, batch_size):
    """Steps on fewer rows than BLAS_THREADS_MIN_ROWS: one BLAS thread, on either engine."""
    X, y = blobs(0)
    RegularizedMLPClassifier(
        max_iter=2, batch_size=batch_size, solver="adam", learning_rate=0.01
    ).fit(X, y)
    assert [set(counts) for counts in blas_threads_in_training] == [{1}]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_lbfgs_on_small_data_runs_on_single_threaded_blas(monkeypatch):
    seen, train_lbfgs = [], _estimator.train_lbfgs

    def spied(*args, **kwargs):
        seen.append(blas_threads())
        return train_lbfgs(*args, **kwargs)

    monkeypatch.setattr(_estimator, "train_lbfgs", spied)
    X, y = blobs(0)
    RegularizedMLPClassifier(max_iter=5, solver="lbfgs").fit(X, y)
    assert [set(counts) for counts in seen] == [{1}]


def test_large_training_steps_keep_the_blas_threads(blas_threads_in_training, monkeypatch):
    monkeypatch.setattr(_threads, "BLAS_THREADS_MIN_ROWS", 100)
    X, y = blobs(0)
    RegularizedMLPClassifier(max_iter=2, engine="numpy").fit(X, y)
    assert blas_threads_in_training == [blas_threads()]


# -- hashing rows --------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_rows", [1, 7, 4096])
def test_row_keys_do_not_depend_on_chunks_or_threads(threads, monkeypatch, chunk_rows):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 5))
    X[X < 0] = 0
    X[3] = -0.0
    Y = rng.integers(0, 2, (500, 2)).astype(float)
    threads(1)
    expected = _row_keys(sp.csr_matrix(X), Y)  # the sparse path takes no chunks
    monkeypatch.setattr("skreg._weighted_set.HASH_CHUNK_ROWS", chunk_rows)
    for n in (1, 3):
        threads(n)
        np.testing.assert_array_equal(_row_keys(X, Y), expected)


# -- the compiled engine's shards ----------------------------------------------------------------

SHARDED_OPTIONS = [
    {},
    {"lambd": 0.7, "keep_prob": 0.8},
    {"activation": "tanh", "keep_prob": (0.7, 0.9), "input_noise": 0.1},
    {"penalty": "l1", "lambd": 0.05, "max_norm": 2.0, "class_weight": "balanced"},
    {"solver": "adam", "learning_rate": 0.01, "activation": "logistic"},
    {"solver": "momentum", "nesterovs_momentum": True, "learning_rate_schedule": "invscaling"},
]


@pytest.fixture
def small_shards(monkeypatch):
    from skreg import _compiled_engine

    monkeypatch.setattr(_compiled_engine, "SHARD_ROWS", 64)  # 400 rows: 7 shards
    return _compiled_engine


@pytest.mark.compiled
def test_shards_use_no_more_threads_than_openmp_allows(small_shards):
    """OpenMP's own limit (``OMP_NUM_THREADS``, or threadpoolctl's "openmp" limits) caps the
    shards' threads too, as scikit-learn's OpenMP code honours it; BLAS's limit already did."""
    threads = []
    original = small_shards.Setup.lay_out_steps

    def lay_out_steps(setup, sample_weight):
        original(setup, sample_weight)
        threads.append(setup.threads)

    X, y = blobs(0)
    model = RegularizedMLPClassifier(hidden_layer_sizes=(8,), max_iter=2, engine="compiled")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(small_shards.Setup, "lay_out_steps", lay_out_steps)
        for api in ("openmp", "blas"):
            with threadpool_limits(1, user_api=api):
                assert small_shards.openmp_threads() == 1
                model.fit(X, y)
        model.fit(X, y)  # after the limits, all the threads allowed (400 rows: 7 shards of 64)
    assert threads == [1, 1, min(_threads.allowed_threads(), 7)]


@pytest.mark.compiled
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_process_forked_after_a_threaded_fit_trains_on_one_thread(small_shards):
    """GNU OpenMP's threads do not survive fork(): a child of multiprocessing's "fork" start
    method, forked after a fit ran a team of them, waited forever at its first parallel region.
    The child trains on one thread, the same model."""
    if _threads.allowed_threads() < 2:
        pytest.skip("one CPU: no team of OpenMP threads to inherit")
    X, y = blobs(0)
    model = RegularizedMLPClassifier(
        hidden_layer_sizes=(8,), max_iter=3, engine="compiled", random_state=0
    )
    expected = model.fit(X, y).loss_curve_
    context = multiprocessing.get_context("fork")
    results = context.Queue()

    def fit_in_child():
        results.put((small_shards.openmp_threads(), clone(model).fit(X, y).loss_curve_))

    child = context.Process(target=fit_in_child)
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung at its first parallel region")
    assert child.exitcode == 0
    assert results.get(timeout=5) == (1, expected)


@pytest.mark.compiled
def test_shard_bounds_depend_on_the_sizes_only(small_shards):
    assert small_shards.shard_bounds(64, 100, 8) is None
    bounds = small_shards.shard_bounds(400, 100, 8)
    assert bounds[0] == 0 and bounds[-1] == 400 and len(bounds) == 8
    assert np.all(np.diff(bounds) > 0) and np.diff(bounds).max() <= 64
    assert len(small_shards.shard_bounds(10**6, 100, 8)) == small_shards.MAX_SHARDS + 1
    # Gradients too large to keep one per shard: fewer shards, or the batch kept whole.
    too_many = small_shards.SHARD_GRADIENT_BYTES // (3 * 8)
    assert len(small_shards.shard_bounds(10**6, too_many, 8)) == 4
    assert small_shards.shard_bounds(10**6, 10**9, 8) is None


@pytest.mark.compiled
@pytest.mark.parametrize("options", SHARDED_OPTIONS)
def test_shards_train_the_same_model_on_any_number_of_threads(threads, small_shards, options):
    """Bit for bit, over several seeds; and the sharded steps agree with the NumPy engine's to
    rounding (the shards sum the gradient in another order)."""
    for seed in SEEDS:
        X, y = blobs(seed)
        weights = np.random.default_rng(seed).uniform(0.5, 2, len(y))
        models = {}
        for n in (1, 2, 3):
            threads(n)
            models[n] = RegularizedMLPClassifier(
                hidden_layer_sizes=(40, 20), max_iter=15, engine="compiled", random_state=seed,
                **options,
            ).fit(X, y, sample_weight=weights)  # fmt: skip
        for n in (2, 3):
            assert models[n].loss_curve_ == models[1].loss_curve_
            for W, W_serial in zip(models[n].coefs_, models[1].coefs_):
                np.testing.assert_array_equal(W, W_serial)
        reference = RegularizedMLPClassifier(
            hidden_layer_sizes=(40, 20), max_iter=15, engine="numpy", random_state=seed, **options
        ).fit(X, y, sample_weight=weights)
        np.testing.assert_allclose(models[1].loss_curve_, reference.loss_curve_, rtol=1e-12)
        for W, W_numpy in zip(models[1].coefs_, reference.coefs_):
            np.testing.assert_allclose(W, W_numpy, rtol=1e-10, atol=1e-12)


@pytest.mark.compiled
@pytest.mark.parametrize("loss", ["squared_error", "poisson", "quantile"])
def test_sharded_regression_agrees_with_the_numpy_engine(threads, small_shards, loss):
    X, y = blobs(1)
    y = np.abs(X[:, 0] + 0.5 * X[:, 1]) + 0.1
    threads(2)
    models = [
        RegularizedMLPRegressor(
            hidden_layer_sizes=(30,), max_iter=10, solver="gd", learning_rate=0.05, loss=loss,
            lambd=0.5, engine=engine, random_state=0,
        ).fit(X, y)
        for engine in ("compiled", "numpy")
    ]  # fmt: skip
    np.testing.assert_allclose(models[0].loss_curve_, models[1].loss_curve_, rtol=1e-12)
    for W, W_numpy in zip(models[0].coefs_, models[1].coefs_):
        np.testing.assert_allclose(W, W_numpy, rtol=1e-10, atol=1e-12)


# -- the compiled engine's shards of mini-batches --------------------------------------------------


@pytest.fixture
def small_batch_shards(monkeypatch):
    from skreg import _compiled_engine

    # Batches of 96 rows in shards of 16 rows: 6 shards, and the last batch of 400 rows (16 rows)
    # whole.
    monkeypatch.setattr(_compiled_engine, "BATCH_SHARD_ROWS", 16)
    monkeypatch.setattr(_compiled_engine, "SLICE_PARAMS", 100)  # 1143 parameters: 11 slices
    return _compiled_engine


def fit_in_batch_shards(engine, seed, options, **params):
    X, y = blobs(seed)
    weights = np.random.default_rng(seed).uniform(0.5, 2, len(y))
    return RegularizedMLPClassifier(
        hidden_layer_sizes=(40, 20), batch_size=96, engine=engine, random_state=seed,
        **{"solver": "gd", "max_iter": 4, **options, **params},
    ).fit(X, y, sample_weight=weights)  # fmt: skip


def assert_same_model(model, expected):
    assert model.loss_curve_ == expected.loss_curve_
    for W, W_expected in zip(
        model.coefs_ + model.intercepts_, expected.coefs_ + expected.intercepts_
    ):
        np.testing.assert_array_equal(W, W_expected)


def assert_agrees_to_rounding(model, reference):
    np.testing.assert_allclose(model.loss_curve_, reference.loss_curve_, rtol=1e-12)
    for W, W_numpy in zip(model.coefs_, reference.coefs_):
        np.testing.assert_allclose(W, W_numpy, rtol=1e-10, atol=1e-12)


@pytest.mark.compiled
@pytest.mark.parametrize("options", SHARDED_OPTIONS)
def test_batch_shards_train_the_same_model_on_any_number_of_threads(
    threads, small_batch_shards, options
):
    """Bit for bit over several seeds, however many threads take the shards and the slices; and
    the same as the NumPy engine's to rounding."""
    for seed in SEEDS:
        models = {}
        for n in (1, 2, 3):
            threads(n)
            models[n] = fit_in_batch_shards("compiled", seed, options)
        for n in (2, 3):
            assert_same_model(models[n], models[1])
        assert_agrees_to_rounding(models[1], fit_in_batch_shards("numpy", seed, options))


@pytest.mark.compiled
def test_batch_shards_give_the_same_model_whatever_segments_and_threads_run_them(
    threads, small_batch_shards, monkeypatch
):
    """Segments of any length, each on any number of threads (as the pace chooses them on a
    quiet or a busy machine), all give the model trained on one thread."""
    options = {"solver": "adam", "learning_rate": 0.01, "keep_prob": 0.8, "lambd": 0.3}
    segments = []
    rng = np.random.default_rng(0)

    def next_segment(self):
        segments.append((int(rng.integers(1, 4)), int(rng.integers(1, 4))))
        return segments[-1]

    for seed in SEEDS:  # a data set and a schedule each
        threads(1)
        expected = fit_in_batch_shards("compiled", seed, options, max_iter=6)
        threads(3)
        with monkeypatch.context() as patch:
            patch.setattr(small_batch_shards._Pace, "next_segment", next_segment)
            patch.setattr(small_batch_shards._Pace, "record", lambda *args: None)
            assert_same_model(fit_in_batch_shards("compiled", seed, options, max_iter=6), expected)
    assert {threads for threads, _ in segments} == {1, 2, 3}


@pytest.mark.compiled
def test_a_batch_of_zero_weights_is_skipped_in_shards_as_the_numpy_engine_skips_it(
    threads, small_batch_shards
):
    X, y = blobs(3)
    weights = np.ones(len(y))
    weights[96:192] = 0  # the second batch, in order
    threads(2)
    models = [
        RegularizedMLPClassifier(
            hidden_layer_sizes=(40, 20), max_iter=3, batch_size=96, shuffle=False, solver="adam",
            learning_rate=0.01, engine=engine, random_state=0,
        ).fit(X, y, sample_weight=weights)
        for engine in ("compiled", "numpy")
    ]  # fmt: skip
    assert_agrees_to_rounding(*models)


@pytest.mark.compiled
@pytest.mark.parametrize("batch_size", [None, 96])
def test_a_step_in_shards_diverges_as_a_whole_one_does(
    threads, small_shards, small_batch_shards, batch_size
):
    X, y = blobs(2)
    threads(2)
    messages = []
    for engine in ("compiled", "numpy"):
        model = RegularizedMLPClassifier(
            hidden_layer_sizes=(40,), batch_size=batch_size, learning_rate=1e200, max_iter=50,
            engine=engine,
        )  # fmt: skip
        with pytest.raises(ValueError, match="Training diverged at iteration") as error:
            model.fit(X, y)
        messages.append(str(error.value))
    assert messages[0] == messages[1]


@pytest.mark.compiled
def test_batch_shard_count_depends_on_the_sizes_only(small_batch_shards):
    count = small_batch_shards.batch_shard_count
    assert count(31, 100, 8) is None  # one shard: the batch is kept whole
    assert count(32, 100, 8) == 2 and count(96, 100, 8) == 6
    assert count(10**6, 100, 8) == small_batch_shards.MAX_SHARDS
    too_many = small_batch_shards.SHARD_GRADIENT_BYTES // (3 * 8)
    assert count(10**6, too_many, 8) == 3


@pytest.mark.compiled
def test_the_pace_runs_the_faster_thread_count_and_tries_the_other_again(small_batch_shards):
    pace = small_batch_shards._Pace(workers=2)
    SEGMENT, PROBE = small_batch_shards.SEGMENT_BATCHES, small_batch_shards.PROBE_BATCHES
    SPACING = small_batch_shards.PROBE_SPACING
    spent = {1: 0.0, 2: 0.0}

    def run(seconds_per_batch):
        workers, batches = pace.next_segment()
        seconds = seconds_per_batch[workers] * batches
        spent[workers] += seconds
        pace.record(workers, seconds, batches)
        return workers, batches

    quiet, busy = {1: 1.0, 2: 0.5}, {1: 1.0, 2: 10.0}
    assert [run(quiet) for _ in range(3)] == [(2, PROBE), (1, PROBE), (2, SEGMENT)]
    # One thread loses: it is tried again, on a few batches, after two threads have run SPACING
    # times as long as such a trial takes.
    spent = {1: 0.0, 2: 0.0}
    trials = [workers for workers, _ in (run(quiet) for _ in range(200))]
    assert trials.count(1) >= 2
    assert spent[1] <= spent[2] / SPACING + PROBE * quiet[1]
    gaps = np.diff(np.flatnonzero(np.array(trials) == 1))
    assert np.all(gaps * SEGMENT * quiet[2] >= SPACING * PROBE * quiet[1])
    # The machine becomes busy: the next segment on two threads is slower than one thread was,
    # so one thread is tried at once, and wins; two threads, now ten times as slow, are tried
    # again only once one thread has run SPACING times as long as their trial took.
    assert run(busy) == (2, SEGMENT)
    assert run(busy) == (1, PROBE)
    spent = {1: 0.0, 2: 0.0}
    trials = [workers for workers, _ in (run(busy) for _ in range(400))]
    assert trials[0] == 1 and trials.count(2) >= 2
    assert spent[2] <= spent[1] / SPACING + PROBE * busy[2]
    # A single thread allowed: never anything else.
    single = small_batch_shards._Pace(workers=1)
    assert {single.next_segment() for _ in range(5)} == {(1, SEGMENT)}


def test_allowed_threads_are_the_users_within_single_threaded_blas():
    """skreg's own single-threaded regions do not lower its thread count (the user's limits do)."""
    allowed = _threads.allowed_threads()
    with _threads.single_threaded_blas():
        assert _threads.allowed_threads() == allowed
        with threadpool_limits(1):
            assert _threads.allowed_threads() == allowed
    with threadpool_limits(1), _threads.single_threaded_blas():
        assert _threads.allowed_threads() == 1


def test_joblib_workers_get_their_share_of_the_cores():
    """In a process of joblib's (as GridSearchCV(n_jobs=k) runs fits), skreg's threads are capped
    by the BLAS limit joblib sets there: the cores divided among the jobs."""
    from joblib import Parallel, cpu_count, delayed

    n_jobs = 2
    allowed = Parallel(n_jobs=n_jobs, backend="loky")(
        delayed(_threads.allowed_threads)() for _ in range(n_jobs)
    )
    assert max(allowed) <= max(1, cpu_count() // n_jobs)


@pytest.mark.parametrize("n_threads", [1, 3])
def test_side_by_side_tasks_hold_a_buffer_each_and_stop_at_the_first_error(n_threads):
    from concurrent.futures import ThreadPoolExecutor

    held, done = set(), []
    lock = threading.Lock()

    def run(task, buffer):
        with lock:
            assert buffer not in held  # no two running tasks share a buffer
            held.add(buffer)
        if task == 5:
            raise ValueError("task 5")
        done.append(task)
        with lock:
            held.discard(buffer)

    with ThreadPoolExecutor(n_threads) as pool:
        with pytest.raises(ValueError, match="task 5"):
            _threads.run_side_by_side(
                pool if n_threads > 1 else None, run, range(1000), list(range(n_threads))
            )
    assert len(done) < 999  # the tasks after the error were not all run
