"""How many threads skreg's own parallel code may use, and regions of single-threaded BLAS.

skreg runs its parallel work (chunks of rows predicted side by side, the compiled engine's shards
of a batch) on threads of its own, each calling single-threaded BLAS: independent pieces of work
that a free thread picks up as soon as it is done, instead of every matrix product waiting for
all of BLAS's threads. That keeps every core busy on a quiet machine and degrades gracefully on
a busy one, where a thread the scheduler lends to another process holds up only its own piece.

It never uses more threads than the user allows: the CPUs this process may run on, capped by the
BLAS libraries' thread counts, which ``threadpoolctl.threadpool_limits``, ``OMP_NUM_THREADS`` or
``OPENBLAS_NUM_THREADS``, and joblib's workers (which set those for nested parallelism) lower.
"""

import os
import threading
from contextlib import contextmanager, nullcontext
from functools import cache

from threadpoolctl import ThreadpoolController

#: Training steps on fewer rows than this run on single-threaded BLAS. Their products are too
#: small to repay splitting: each split product waits for all of BLAS's threads, and on a busy
#: machine a thread lent to another process makes it wait for a whole time slice (an epoch of
#: mini-batches then took several times as long as on one thread).
BLAS_THREADS_MIN_ROWS = 4096


@cache
def _controller():
    # Inspecting the loaded libraries takes milliseconds: once per process, after skreg's imports
    # have loaded NumPy's and SciPy's BLAS.
    return ThreadpoolController()


def allowed_threads():
    """The number of threads skreg may run its parallel work on (at least 1): within
    :func:`single_threaded_blas`, as many as before it."""
    allowed = _regions["allowed"]
    return allowed if allowed is not None else _allowed_by_limits()


def _allowed_by_limits():
    if hasattr(os, "sched_getaffinity"):
        cpus = len(os.sched_getaffinity(0))
    else:  # pragma: no cover (macOS, Windows)
        cpus = os.cpu_count() or 1
    blas = [lib.num_threads for lib in _controller().select(user_api="blas").lib_controllers]
    return max(1, min([cpus, *blas]))


# Regions of single-threaded BLAS may overlap, on several threads of a user's (threadpoolctl's
# limits are process-wide): the first to enter sets the limit, the last to leave restores it.
_region_lock = threading.Lock()
_regions = {"depth": 0, "limiter": None, "allowed": None}


@contextmanager
def single_threaded_blas():
    """Within the block, BLAS runs on the calling thread only. The limit is process-wide, as
    threadpoolctl's are, and overlapping blocks (from several threads) restore the user's own
    limits when the last one ends."""
    with _region_lock:
        if _regions["depth"] == 0:
            _regions["allowed"] = _allowed_by_limits()
            with _blas_limits_settable():
                _regions["limiter"] = _controller().limit(limits=1, user_api="blas")
        _regions["depth"] += 1
    try:
        yield
    finally:
        with _region_lock:
            _regions["depth"] -= 1
            if _regions["depth"] == 0:
                with _blas_limits_settable():
                    _regions.pop("limiter").restore_original_limits()
                _regions["limiter"] = _regions["allowed"] = None


@contextmanager
def _blas_limits_settable():
    """Within the block, the calling thread may set OpenBLAS's process-wide limits.

    threadpoolctl (3.8) lets only one thread set them, the first to try, until it gives them up
    (as ``threadpool_limits`` does at the end of its block), and silently ignores the others: a
    region entered or left on another thread than the last one to set them (a fit in a Dask or
    joblib thread, the last of overlapping regions) would leave BLAS on all its threads, or on
    one for good. The regions are reference-counted and restore what they found, so they set the
    limits whichever thread enters or leaves last, and give them up at once."""
    releases = {
        release
        for lib in _controller().lib_controllers
        if (release := getattr(type(lib), "clear_controlling_thread", None)) is not None
    }
    for release in releases:
        release(force=True)
    try:
        yield
    finally:
        for release in releases:
            release(force=True)


def blas_threads_for_steps(rows):
    """The BLAS threads for training steps on ``rows`` rows: one below
    :data:`BLAS_THREADS_MIN_ROWS`, else as many as allowed."""
    return single_threaded_blas() if rows < BLAS_THREADS_MIN_ROWS else nullcontext()


def run_side_by_side(pool, function, tasks, buffers):
    """``function(task, buffer)`` for every task: on as many threads of ``pool`` (a
    ``ThreadPoolExecutor``) as there are ``buffers``, each holding its buffer and taking the next
    task as soon as it is free; in the calling thread, with the first buffer, if ``pool`` is None.
    Tasks finish in any order, so ``function`` writes its results where they belong. Tasks are
    taken one at a time (memory does not grow with their number); the first error is raised, and
    the threads stop at their next task."""
    pending = iter(tasks)
    lock = threading.Lock()
    failed = threading.Event()

    def work(buffer):
        while not failed.is_set():
            with lock:
                task = next(pending, _DONE)
            if task is _DONE:
                return
            try:
                function(task, buffer)
            except BaseException:
                failed.set()
                raise

    if pool is None:
        work(buffers[0])
        return
    for future in [pool.submit(work, buffer) for buffer in buffers]:
        future.result()


_DONE = object()
