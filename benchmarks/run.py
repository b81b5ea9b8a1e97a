"""skreg's benchmark suite (issues 4, 11, 14 and the compiled engine's): python
benchmarks/run.py [--quick] [--repeats N].

Measures every workload side by side in this process, alternating the contenders round after
round, and reports the median time of each; prints the ratios and writes a Markdown table to
benchmarks/RESULTS.md (or --output). The first fit runs in a new process each time, imports
included. W2, W2 adam and P run again at 1 thread and at all cores, against the SGEMM floor at
that thread count, and on a busy machine (CPU-bound processes started by the script). Peak
memory is measured in one subprocess per contender. See benchmarks/README.md for what each
workload is.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path

import joblib
import notebook_loop
import numpy as np
import products
import scipy
import sklearn
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

import skreg
from skreg import RegularizedMLPClassifier, _engines
from skreg.datasets import load_football, make_football

HERE = Path(__file__).resolve().parent
ENGINES = ["compiled", "numpy"] if _engines.compiled_engine() else ["numpy"]
TARGETS = (
    "Targets (issue 4): W1 compiled engine >= 10x faster than MLPClassifier and within 5x of the "
    "floor; W1 NumPy engine >= 3x faster than MLPClassifier and faster than the naive loop; "
    "W2 full batch >= 1.2x faster; mini-batch adam >= 2x faster; peak memory no higher than "
    "MLPClassifier's; P >= 1.5x faster. "
    "(issue 14): at all cores of this machine, W2 full batch within 1.5x of the all-core SGEMM "
    "floor, W2 adam and P within 1.3x; at one thread they stay where they are (<= 1.3x except W2 "
    "full batch <= 1.6x). Busy machine (one CPU-bound process on every core but one): P and an "
    "adam epoch each within 1.25x of their own single-thread time on a quiet machine, and no "
    "slower than MLPClassifier under the same load. "
    "(the Cython compiled engine, superseding issue 4's and issue 11's W1 targets): the first "
    "default fit in a new process, imports included, at most 0.6x the NumPy engine's; W1 on the "
    "compiled engine >= 15x faster than MLPClassifier and within 3x of the floor; W1 with "
    "keep_prob=0.86 at most 1.3x W1 plain; W1 with each option >= 12x faster than "
    "MLPClassifier's plain W1; the mission's grid search at one thread >= 12x faster than "
    "MLPClassifier's, at most 1.1x the time of its fits and scores run alone, and with n_jobs=2 "
    "(threading) >= 1.8x the throughput of n_jobs=1; serving: predict_proba on one row within "
    "1.1x of MLPClassifier's latency."
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round: smoke test")
    parser.add_argument("--repeats", type=int, help="rounds per workload (default 5, quick 1)")
    parser.add_argument(
        "--blas-threads",
        type=int,
        help="limit BLAS/OpenMP threads for every contender (default: the libraries' own); "
        "use 1 on a busy machine, where spinning BLAS threads wait on each other",
    )
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        with thread_limit(args.blas_threads):
            print(json.dumps(memory_child(args.memory_child, Sizes(args.quick))))
        return
    run(args)


def run(args):
    """Every section; --blas-threads applies to those up to P (the threads and busy-machine
    sections set their own thread counts)."""
    sizes = Sizes(args.quick)
    repeats = args.repeats or (1 if args.quick else 5)
    ignore_expected_warnings()

    report = Report(args, repeats)
    print(report.machine_description(), flush=True)
    report.section(*first_fit(sizes, repeats), RATIO_HEADER)
    warm_up()
    flops_rate = gemm_rate(sizes.dgemm, np.float64)
    sgemm = gemm_rate(sizes.sgemm, np.float32)
    report.note(
        f"Single-thread DGEMM rate ({sizes.dgemm}^3, best of 5): {flops_rate / 1e9:.1f} GFLOP/s; "
        f"SGEMM rate ({sizes.sgemm}^3, best of 5): {sgemm / 1e9:.1f} GFLOP/s"
    )
    with thread_limit(args.blas_threads):
        for i, (title, rows, floor) in enumerate(w1(sizes, repeats, flops_rate)):
            report.section(title, ratios(rows, floor))
            if i == 0 and "compiled" in ENGINES:  # plain W1, the default fit
                report.note(w1_summary(rows, floor))
        title, rows = w1_options(sizes, repeats)
        report.section(title, ratios(rows))
        if "compiled" in ENGINES:
            report.note(w1_options_summary(rows))
        report.section(*mission(sizes, min(repeats, MAX_LONG_ROUNDS)), RATIO_HEADER)
        report.section(*timed(w2(sizes), repeats))
        report.section(*timed(w2_adam(sizes), repeats))
        report.section(*timed(prediction(sizes), repeats))
        report.section(*serving(sizes), SERVING_HEADER)
    alone = products_alone(sizes)
    for workload in (w2, w2_adam, prediction):
        title, contenders, flops = workload(sizes)
        cells = threads(contenders, flops, sgemm, repeats, alone[workload])
        report.section(f"Threads, {title}", cells)
    for title, rows in busy_machine(sizes, min(repeats, MAX_LONG_ROUNDS)):
        report.section(title, rows, BUSY_HEADER)
    report.section(
        "Memory: peak resident memory of the W2 fit, one subprocess each",
        memory(args.quick, args.blas_threads),
        MEMORY_HEADER,
    )
    report.write(args.output)


class Sizes:
    def __init__(self, quick):
        self.w1_iterations = 300 if quick else 30000
        self.w2_samples = 2000 if quick else 100_000
        self.w2_steps = 2 if quick else 8
        self.p_samples = 20_000 if quick else 1_000_000
        self.dgemm = 256 if quick else 1024
        self.search_iterations = 50 if quick else 30000  # the default max_iter
        self.serving_calls = 200 if quick else 2000
        self.sgemm = 256 if quick else 2048
        self.n_features, self.hidden, self.n_classes = 64, (256, 128), 10
        self.units = [self.n_features, *self.hidden, self.n_classes]


# -- contenders ----------------------------------------------------------------------------------


def skreg_model(engine, **params):
    return RegularizedMLPClassifier(engine=engine, random_state=3, **params)


def mlp_full_batch(n_samples, hidden, max_iter, lambd=0.0):
    """MLPClassifier running the same algorithm: full-batch plain gradient descent, no stopping."""
    return MLPClassifier(
        hidden_layer_sizes=hidden, solver="sgd", momentum=0, batch_size=n_samples,
        learning_rate_init=0.3, alpha=lambd, tol=0, n_iter_no_change=10**9, shuffle=False,
        max_iter=max_iter, random_state=3,
    )  # fmt: skip


def final_cost(model):
    return model[-1].loss_curve_[-1] if hasattr(model, "steps") else model.loss_curve_[-1]


def ignore_expected_warnings():
    """ConvergenceWarning (every contender stops at max_iter), and MLPClassifier's full batch
    clipped to a cross-validation fold's rows."""
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.filterwarnings("ignore", "Got `batch_size` less than 1 or larger", UserWarning)


# -- workloads -----------------------------------------------------------------------------------


def football_training_set():
    path = os.environ.get("SKREG_REFERENCE_DATA")
    if path:
        X, _, y, _ = load_football(path)
        return X, y, f"football training set from SKREG_REFERENCE_DATA ({len(y)} samples)"
    X, _, y, _ = make_football()
    return X, y, f"built-in football-like data (make_football, {len(y)} samples)"


def training_flops(rows, units, steps=1):
    """Matrix-product FLOPs of ``steps`` training steps on ``rows`` rows, layer sizes ``units =
    (n_features, *hidden, n_outputs)``, ``w_i = n_in * n_out`` the weights of layer i:

        per step: forward 2 * rows * sum(w_i), weight gradients the same again, and the deltas
        propagated back to every layer but the first 2 * rows * sum(w_i for i >= 1).

    Full batch (W1, W2): ``steps`` steps on all rows. An adam epoch: one step over all rows (its
    batches add up to the rows), so ``steps`` = epochs.
    """
    weights = [n_in * n_out for n_in, n_out in zip(units[:-1], units[1:])]
    return 2 * rows * (2 * sum(weights) + sum(weights[1:])) * steps


def forward_flops(rows, units):
    """Matrix-product FLOPs of a forward pass (P): 2 * rows * sum(n_in * n_out)."""
    return 2 * rows * sum(n_in * n_out for n_in, n_out in zip(units[:-1], units[1:]))


def w1(sizes, repeats, flops_rate):
    X, y, data = football_training_set()
    n_iter = sizes.w1_iterations
    floor = training_flops(len(y), [X.shape[1], 20, 3, 1], n_iter) / flops_rate
    for label, lambd, keep_prob in [
        ("", 0.0, 1.0),
        (", lambd=0.7", 0.7, 1.0),
        (", keep_prob=0.86", 0.0, 0.86),
    ]:
        params = {"lambd": lambd, "keep_prob": keep_prob, "max_iter": n_iter}
        contenders = {
            f"skreg, engine={engine!r}": fit(skreg_model(engine, **params), X, y)
            for engine in ENGINES
        }
        if keep_prob == 1:
            contenders["MLPClassifier (same algorithm)"] = fit(
                mlp_full_batch(len(y), (20, 3), n_iter, lambd), X, y
            )
        contenders["naive notebook loop"] = naive(X, y, n_iter, lambd, keep_prob)
        rows = compare(contenders, repeats)
        rows.append(Row("physical floor (matmul FLOPs / 1-thread DGEMM rate)", [floor], None))
        title = (
            f"W1: reference workload{label}, {n_iter} iterations, hidden (20, 3), float64, {data}"
        )
        if keep_prob < 1:
            title += " (MLPClassifier has no dropout)"
        yield title, rows, floor


def w1_summary(rows, floor):
    """The compiled engine's plain W1 against its targets."""
    medians = {row.name: row.median for row in rows}
    compiled = medians["skreg, engine='compiled'"]
    speed_up = medians["MLPClassifier (same algorithm)"] / compiled
    return (
        f"Compiled engine, W1 plain: {speed_up:.1f}x faster than MLPClassifier (target >= 15x), "
        f"{compiled / floor:.2f}x the floor (target <= 3x)."
    )


W1_OPTIONS = {
    "": {},
    "keep_prob=0.86": {"keep_prob": 0.86},
    "class_weight='balanced'": {"class_weight": "balanced"},
    "penalty='l1', lambd=0.1": {"penalty": "l1", "lambd": 0.1},
    "max_norm=3": {"max_norm": 3.0},
    "input_noise=0.1": {"input_noise": 0.1},
}


def w1_options(sizes, repeats):
    """W1 with each training option on the compiled engine (if built), against MLPClassifier's
    plain W1 (it has none of these options)."""
    X, y, data = football_training_set()
    n_iter = sizes.w1_iterations
    engine = ENGINES[0]
    contenders = {
        f"skreg, engine={engine!r}" + (f", {label}" if label else ""): fit(
            skreg_model(engine, max_iter=n_iter, **params), X, y
        )
        for label, params in W1_OPTIONS.items()
    }
    contenders["MLPClassifier (same algorithm, plain W1)"] = fit(
        mlp_full_batch(len(y), (20, 3), n_iter), X, y
    )
    title = f"W1 with each option, {n_iter} iterations, hidden (20, 3), float64, {data}"
    return title, compare(contenders, repeats)


def w1_options_summary(rows):
    """The options' rows (plain W1, each option, MLPClassifier's plain W1) against their
    targets."""
    plain, options, reference = rows[0], rows[1:-1], rows[-1]
    dropout = next(row for row in options if row.name.endswith("keep_prob=0.86"))
    slowest = max(options, key=lambda row: row.median)
    return (
        f"Compiled engine, W1 with keep_prob=0.86 / W1 plain: {dropout.median / plain.median:.2f}x "
        f"(target <= 1.3x). Slowest option ({slowest.name}): "
        f"{reference.median / slowest.median:.1f}x faster than MLPClassifier's plain W1 "
        "(target >= 12x)."
    )


#: The mission's search (whose MLPClassifier search is the run's longest contender) and the busy
#: machine run at most this many rounds.
MAX_LONG_ROUNDS = 3

MISSION_LAMBDS = [0, 0.1, 0.3, 0.7, 3]
MISSION_FOLDS = 5


def mission(sizes, repeats):
    """The mission's workload: GridSearchCV over ``lambd`` (MLPClassifier: ``alpha``, the same
    penalty) with 5-fold cross-validation on W1's data, scaled as the README does, at one thread:
    skreg's search (engine "auto"), its fits and scores alone, its search on two threads
    (joblib's threading backend), and MLPClassifier's search running the same algorithm."""
    X, y, data = football_training_set()
    n_iter = sizes.search_iterations
    skreg_search = (
        make_pipeline(StandardScaler(), RegularizedMLPClassifier(random_state=0, max_iter=n_iter)),
        {"regularizedmlpclassifier__lambd": MISSION_LAMBDS},
    )
    mlp_search = (
        make_pipeline(StandardScaler(), mlp_full_batch(len(y), (20, 3), n_iter)),
        {"mlpclassifier__alpha": MISSION_LAMBDS},
    )
    n_fits = len(MISSION_LAMBDS) * MISSION_FOLDS + 1
    names = {
        "search": "skreg GridSearchCV, engine='auto', n_jobs=1",
        "alone": f"skreg's {n_fits} fits and {n_fits - 1} scores alone, one after the other",
        "threads": "skreg GridSearchCV, n_jobs=2 (joblib's threading backend)",
        "mlp": "MLPClassifier GridSearchCV (same algorithm), n_jobs=1",
    }
    contenders = {
        names["search"]: grid_search(*skreg_search, X, y, n_jobs=1),
        names["alone"]: fits_alone(*skreg_search, X, y),
        names["threads"]: grid_search(*skreg_search, X, y, n_jobs=2),
        names["mlp"]: grid_search(*mlp_search, X, y, n_jobs=1),
    }
    rows = compare(contenders, repeats, dict.fromkeys(contenders, 1))
    medians = {row.name: row.median for row in rows}
    search = medians[names["search"]]
    targets = {
        names["search"]: (
            f"{medians[names['mlp']] / search:.1f}x faster than MLPClassifier's search",
            ">= 12x",
        ),
        names["alone"]: (
            f"the search (n_jobs=1) takes {search / medians[names['alone']]:.2f}x this",
            "<= 1.1x",
        ),
        names["threads"]: (
            f"{search / medians[names['threads']]:.2f}x the throughput of n_jobs=1",
            ">= 1.8x",
        ),
    }
    title = (
        f"The mission's workload: GridSearchCV(lambd in {MISSION_LAMBDS}, cv={MISSION_FOLDS}) "
        f"of StandardScaler + the default model ({n_iter} iterations, hidden (20, 3)), "
        f"{n_fits} fits, on {data}, 1 thread (threadpool_limits(1)) per search"
    )
    return title, target_cells(rows, targets)


def grid_search(pipeline, grid, X, y, n_jobs):
    """A contender: ``GridSearchCV(pipeline, grid, cv=5, n_jobs=n_jobs)`` on joblib's threading
    backend, returning the refitted model and its final cost."""

    def run():
        search = GridSearchCV(pipeline, grid, cv=MISSION_FOLDS, n_jobs=n_jobs)
        with joblib.parallel_config(backend="threading"):
            search.fit(X, y)
        return search.best_estimator_, final_cost(search.best_estimator_)

    return run


def fits_alone(pipeline, grid, X, y):
    """A contender: what the search computes, without it: each candidate fitted on each of
    GridSearchCV's folds (StratifiedKFold for a classifier) and scored, then the best candidate
    (the first of the highest mean score) refitted on all the rows."""
    ((name, values),) = grid.items()
    folds = list(StratifiedKFold(MISSION_FOLDS).split(X, y))

    def run():
        mean_scores = []
        for value in values:
            candidate = clone(pipeline).set_params(**{name: value})
            scores = [
                clone(candidate).fit(X[train], y[train]).score(X[test], y[test])
                for train, test in folds
            ]
            mean_scores.append(np.mean(scores))
        best = clone(pipeline).set_params(**{name: values[int(np.argmax(mean_scores))]})
        best.fit(X, y)
        return best, final_cost(best)

    return run


def w2_data(sizes, n_samples):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_samples, sizes.n_features), dtype=np.float32)
    teacher = rng.standard_normal((sizes.n_features, sizes.n_classes), dtype=np.float32)
    return X, (X @ teacher).argmax(axis=1)


def w2(sizes):
    """W2 full batch: ``(title, contenders, matrix-product FLOPs)``, as every W2 and P workload."""
    X, y = w2_data(sizes, sizes.w2_samples)
    steps = sizes.w2_steps
    contenders = {
        f"skreg, engine={engine!r}": fit(
            skreg_model(engine, hidden_layer_sizes=sizes.hidden, max_iter=steps), X, y
        )
        for engine in ENGINES
    }
    contenders["MLPClassifier (same algorithm)"] = fit(
        mlp_full_batch(len(y), sizes.hidden, steps), X, y
    )
    title = (
        f"W2: large data, {len(y)} x {sizes.n_features} float32, {sizes.n_classes} classes, "
        f"hidden {sizes.hidden}, {steps} full-batch steps"
    )
    return title, contenders, training_flops(len(y), sizes.units, steps)


W2_ADAM_EPOCHS = 3


def w2_adam(sizes, engines=ENGINES, epochs=W2_ADAM_EPOCHS):
    """3 epochs (or ``epochs``) of mini-batch Adam, shuffled every epoch, MLPClassifier's
    hyperparameters."""
    X, y = w2_data(sizes, sizes.w2_samples)
    batch_size, learning_rate = 256, 0.001
    contenders = {
        f"skreg, engine={engine!r}": fit(
            skreg_model(
                engine, hidden_layer_sizes=sizes.hidden, solver="adam", batch_size=batch_size,
                learning_rate=learning_rate, max_iter=epochs,
            ),
            X, y,
        )
        for engine in engines
    }  # fmt: skip
    contenders["MLPClassifier"] = fit(
        MLPClassifier(
            hidden_layer_sizes=sizes.hidden, solver="adam", batch_size=batch_size,
            learning_rate_init=learning_rate, max_iter=epochs, shuffle=True, tol=0,
            n_iter_no_change=10**9, random_state=3,
        ),
        X, y,
    )  # fmt: skip
    title = (
        f"W2, mini-batch: {len(y)} x {sizes.n_features} float32, hidden {sizes.hidden}, "
        f"{epochs} epoch{'s' if epochs > 1 else ''} of adam, batch_size={batch_size}, shuffled"
    )
    return title, contenders, training_flops(len(y), sizes.units, epochs)


def prediction(sizes, engines=("numpy",)):
    """P: predict_proba of models fitted (one step) with each of ``engines``, and MLPClassifier."""
    X_train, y_train = w2_data(sizes, 2000)
    X, _ = w2_data(sizes, sizes.p_samples)
    models = {
        f"skreg, engine={engine!r}": skreg_model(
            engine, hidden_layer_sizes=sizes.hidden, max_iter=1
        )
        for engine in engines
    }
    models["MLPClassifier"] = mlp_full_batch(len(y_train), sizes.hidden, 1)
    contenders = {}
    for name, model in models.items():
        model.fit(X_train, y_train)
        contenders[name] = lambda model=model: (model.predict_proba(X), None)
    title = f"P: predict_proba on {len(X)} x {sizes.n_features} float32 rows, hidden {sizes.hidden}"
    return title, contenders, forward_flops(len(X), sizes.units)


SERVING_HIDDEN = (64, 32)


def serving(sizes):
    """Serving: the latency of ``predict_proba`` on one row, skreg (engine "auto") against
    MLPClassifier with the same hidden layers, both fitted on 1000 x 20 float64 rows; one call of
    each in turn, ``sizes.serving_calls`` times, after a few calls not timed."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 20))
    y = X[:, :2].sum(axis=1) > 0
    models = {
        "skreg, engine='auto'": RegularizedMLPClassifier(
            hidden_layer_sizes=SERVING_HIDDEN, max_iter=100, random_state=3
        ),
        "MLPClassifier": mlp_full_batch(len(y), SERVING_HIDDEN, 100),
    }
    row = X[:1]
    times = {name: [] for name in models}
    for model in models.values():
        model.fit(X, y)
        for _ in range(20):
            model.predict_proba(row)
    for _ in range(sizes.serving_calls):
        for name, model in models.items():
            start = time.perf_counter()
            model.predict_proba(row)
            times[name].append(time.perf_counter() - start)
    rows = [Row(name, calls, None) for name, calls in times.items()]
    ratio = rows[0].median / rows[1].median
    title = (
        f"Serving: predict_proba on one row, hidden {SERVING_HIDDEN}, fitted on 1000 x 20 float64 "
        f"rows; median latency of {sizes.serving_calls} calls each, alternating"
    )
    cells = [
        [
            row.name,
            f"{row.median * 1e6:.1f}",
            f"{np.percentile(row.times, 90) * 1e6:.1f}",
            *((f"{ratio:.2f}x MLPClassifier's latency", "<= 1.1x") if i == 0 else ("", "")),
        ]
        for i, row in enumerate(rows)
    ]
    return title, cells


def threads(contenders, flops, sgemm_rate, repeats, products=None):
    """Each contender at 1 thread (``threadpool_limits(1)``) and at all cores (no limit: the
    libraries' own), alternating; speed-up vs MLPClassifier and "x floor" at the same thread
    count, the floor at k threads being ``flops / (sgemm_rate * k)``. ``products(k)``, if
    given, runs the workload's matrix products alone on k threads (see products.py)."""
    counts = sorted({1, cores()})
    runs, limits = {}, {}
    for count in counts:
        group = dict(contenders)
        if products is not None:
            group[PRODUCTS_ALONE] = lambda count=count: (products(count), None)
        for name, run in group.items():
            label = f"{name}, {n_threads(count)}"
            runs[label], limits[label] = run, 1 if count == 1 else None
    rows = compare(runs, repeats, limits)
    cells = []
    size = len(contenders) + (products is not None)
    for i, count in enumerate(counts):
        floor = flops / (sgemm_rate * count)
        group = rows[i * size : (i + 1) * size]
        floor_name = f"floor, {n_threads(count)}: matmul FLOPs / (1-thread SGEMM rate x {count})"
        cells += ratios([*group, Row(floor_name, [floor], None)], floor)
    return cells


PRODUCTS_ALONE = "the matrix products alone, single-threaded BLAS on each thread"


def products_alone(sizes):
    """Per threads workload, ``run(threads)`` of its matrix products alone, split as skreg
    splits them (products.py): W2 and W2 adam in the compiled engine's shards (None where it is
    not built), P in prediction's chunks."""
    runs = dict.fromkeys((w2, w2_adam), None)
    units = sizes.units
    if "compiled" in ENGINES:
        runs[w2] = products.training_products(
            units, full_batch_shards(sizes.w2_samples, units) * sizes.w2_steps
        )
        runs[w2_adam] = products.training_products(
            units, minibatch_shards(sizes.w2_samples, units, 256) * W2_ADAM_EPOCHS
        )
    X, y = w2_data(sizes, 2000)
    model = skreg_model("numpy", hidden_layer_sizes=sizes.hidden, max_iter=1).fit(X, y)
    chunk_rows = model._prediction_chunk_rows(X.shape[1], X.dtype)
    runs[prediction] = products.prediction_products(units, sizes.p_samples, chunk_rows)
    for run in runs.values():  # first calls: the buffers, BLAS's own
        for count in {1, cores()} if run else ():
            run(count)
    return runs


def n_parameters(units):
    return sum((n_in + 1) * n_out for n_in, n_out in zip(units[:-1], units[1:]))


def full_batch_shards(n_rows, units):
    """The rows of each shard of a full-batch step, as the compiled engine splits it."""
    from skreg._compiled_engine import shard_bounds

    return list(np.diff(shard_bounds(n_rows, n_parameters(units), 4) or [0, n_rows]))


def minibatch_shards(n_rows, units, batch_size):
    """The rows of each shard of an epoch's mini-batches, as the compiled engine splits them."""
    from skreg._compiled_engine import BATCH_SHARD_ROWS, batch_shard_count

    most = batch_shard_count(batch_size, n_parameters(units), 4) or 1
    shards = []
    for start in range(0, n_rows, batch_size):
        rows = min(batch_size, n_rows - start)
        n_shards = max(1, min(most, rows // BATCH_SHARD_ROWS))
        shards += [(k + 1) * rows // n_shards - k * rows // n_shards for k in range(n_shards)]
    return shards


def n_threads(count):
    return f"{count} thread{'s' if count > 1 else ''}"


BUSY_ENGINES = ["auto"]  # the default: the compiled engine where it is built


def busy_machine(sizes, repeats):
    """P and one adam epoch of W2 with a CPU-bound process on every core but one, each contender
    at the libraries' own thread count, against its single-thread time on the quiet machine
    (measured first); yields ``(title, cells)`` per workload."""
    n_cores = cores()
    if n_cores == 1:
        yield "Busy machine", "skipped: this process may run on one CPU only."
        return
    workloads = [prediction(sizes, BUSY_ENGINES), w2_adam(sizes, BUSY_ENGINES, epochs=1)]
    quiet = [compare(runs, repeats, dict.fromkeys(runs, 1)) for _, runs, _ in workloads]
    with cpu_bound_processes(n_cores - 1):
        busy = [compare(runs, repeats) for _, runs, _ in workloads]
    for (title, _, _), busy_rows, quiet_rows in zip(workloads, busy, quiet):
        title = f"Busy machine ({n_cores - 1} CPU-bound process(es) on {n_cores} cores), {title}"
        yield title, busy_cells(busy_rows, quiet_rows)


@contextmanager
def cpu_bound_processes(count):
    """``count`` processes spinning on a CPU each for the duration of the block."""
    processes = []
    try:
        for _ in range(count):
            processes.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        time.sleep(0.5)
        yield
    finally:
        for process in processes:
            process.kill()
            process.wait()


def busy_cells(busy_rows, quiet_rows):
    """Busy rows as table cells, against each one's quiet single-thread median and MLPClassifier's
    busy median."""
    reference = next(row.median for row in busy_rows if row.name.startswith("MLPClassifier"))
    return [
        [
            busy.name,
            f"{busy.median:.3f}",
            " ".join(f"{t:.3f}" for t in busy.times) if len(busy.times) > 1 else "",
            f"{quiet.median:.3f}",
            f"{busy.median / quiet.median:.2f}x",
            f"{reference / busy.median:.2f}x",
        ]
        for busy, quiet in zip(busy_rows, quiet_rows)
    ]


# -- measuring -----------------------------------------------------------------------------------


class Row:
    def __init__(self, name, times, cost):
        self.name, self.times, self.cost = name, times, cost
        self.median = statistics.median(times)


def fit(model, X, y):
    """A contender: a function returning ``(fitted model, final cost)``, timed by compare."""

    def run():
        model.fit(X, y)
        return model, final_cost(model)

    return run


def naive(X, y, n_iter, lambd, keep_prob):
    def run():
        _, costs = notebook_loop.train(
            X, y, [X.shape[1], 20, 3, 1], learning_rate=0.3, num_iterations=n_iter,
            lambd=lambd, keep_prob=keep_prob,
        )  # fmt: skip
        return None, costs[-1]

    return run


def compare(contenders, repeats, limits=None):
    """Median wall time of each contender, alternating them round after round; ``limits`` maps a
    contender to its thread limit, set before its clock starts (none: the current setting)."""
    times = {name: [] for name in contenders}
    costs = {}
    for _ in range(repeats):
        for name, run in contenders.items():
            with thread_limit((limits or {}).get(name)):
                start = time.perf_counter()
                _, costs[name] = run()
                times[name].append(time.perf_counter() - start)
    return [Row(name, times[name], costs[name]) for name in contenders]


def timed(workload, repeats):
    """A workload's title and table at the current thread setting."""
    title, contenders, _ = workload
    return title, ratios(compare(contenders, repeats))


def thread_limit(threads):
    """Limit BLAS/OpenMP (and skreg's own) threads to ``threads`` in the block; None: no limit."""
    return threadpool_limits(threads) if threads else nullcontext()


def cores():
    """The CPUs this process may run on: the thread count of "all cores"."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def ratios(rows, floor=None):
    """Rows as table cells; speed-up relative to the MLPClassifier row, and times the floor."""
    reference = next((row.median for row in rows if row.name.startswith("MLPClassifier")), None)
    cells = []
    for row in rows:
        cells.append(
            [
                row.name,
                f"{row.median:.3f}",
                " ".join(f"{t:.3f}" for t in row.times) if len(row.times) > 1 else "",
                f"{reference / row.median:.1f}x" if reference else "",
                f"{row.median / floor:.2f}x" if floor else "",
                "" if row.cost is None else f"{row.cost:.6g}",
            ]
        )
    return cells


def warm_up():
    """Load every engine's code for float64 and float32 before anything is timed."""
    X = np.random.default_rng(0).standard_normal((20, 3))
    for engine in ENGINES:
        for dtype in (np.float64, np.float32):
            for params in ({}, {"solver": "adam", "batch_size": 8}):
                skreg_model(engine, max_iter=2, **params).fit(X.astype(dtype), X[:, 0] > 0)


def gemm_rate(n, dtype):
    """Single-thread FLOP/s of an n x n matrix product: DGEMM (float64) or SGEMM (float32)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=dtype), rng.random((n, n), dtype=dtype)
    out = np.empty((n, n), dtype=dtype)
    with threadpool_limits(1):
        np.matmul(a, b, out=out)
        best = min(timeit(lambda: np.matmul(a, b, out=out)) for _ in range(5))
    return 2 * n**3 / best


def timeit(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


SCIKIT_LEARN_IMPORTS = """
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
"""

FIRST_FIT_PROBE = f"""
import sys{SCIKIT_LEARN_IMPORTS}from skreg import RegularizedMLPClassifier
from skreg.datasets import make_football
X, _, y, _ = make_football()
model = RegularizedMLPClassifier(random_state=0, engine=sys.argv[1], max_iter=int(sys.argv[2]))
make_pipeline(StandardScaler(), model).fit(X, y)
print(sys.modules["skreg"].__file__)
"""


IMPORTS_ALONE = "the probe's scikit-learn imports alone (no skreg, no fit)"


def first_fit(sizes, repeats):
    """The README's first fit (StandardScaler + the default model on make_football's data: W1)
    in a new process each time, timed from the process's start to its end, imports included:
    engine="auto" (the default, the compiled engine where it is built) and "numpy",
    alternating with the probe's scikit-learn imports alone in a new process: the part of both
    times that does not depend on skreg (it grows with what else is installed: scikit-learn
    imports pandas where it is installed, for one)."""
    environment = {**os.environ, "PYTHONPATH": python_path()}

    def probe(engine):
        arguments = ["-c", FIRST_FIT_PROBE, engine, str(sizes.w1_iterations)]

        def run():
            imported = run_python(arguments, environment)
            if Path(imported) != Path(skreg.__file__):
                raise RuntimeError(
                    f"the first fit's probe imported {imported}, not {skreg.__file__}"
                )
            return None, None

        return run

    def imports_alone():
        run_python(["-c", SCIKIT_LEARN_IMPORTS + "print(0)"], environment)
        return None, None

    contenders = {f"skreg, engine={engine!r}": probe(engine) for engine in ("auto", "numpy")}
    contenders[IMPORTS_ALONE] = imports_alone
    auto, numpy_engine, _ = rows = compare(contenders, repeats)
    targets = {
        auto.name: (f"{auto.median / numpy_engine.median:.2f}x engine='numpy''s time", "<= 0.6x")
    }
    title = (
        "First fit, new process: make_pipeline(StandardScaler(), RegularizedMLPClassifier("
        f"random_state=0)).fit on make_football's training set ({sizes.w1_iterations} "
        "iterations), imports included, from the process's start to its end"
    )
    return title, target_cells(rows, targets)


def target_cells(rows, targets):
    """Rows as table cells, with ``targets[name] = (ratio, target)`` for the rows that have
    them."""
    return [
        [
            row.name,
            f"{row.median:.3f}",
            " ".join(f"{t:.3f}" for t in row.times) if len(row.times) > 1 else "",
            *targets.get(row.name, ("", "")),
        ]
        for row in rows
    ]


def memory_child(contender, sizes):
    """Peak RSS during one W2 fit, after a tiny warm-up fit (imports, buffers) and the data.

    Linux resets the peak (VmHWM) on request, so the peak is the fit's own; elsewhere it is the
    process's peak so far, data and warm-up included.
    """
    ignore_expected_warnings()

    def model(n_samples, max_iter):
        if contender == "MLPClassifier":
            return mlp_full_batch(n_samples, sizes.hidden, max_iter)
        engine = contender.split("=")[1]
        return skreg_model(engine, hidden_layer_sizes=sizes.hidden, max_iter=max_iter)

    X_small, y_small = w2_data(sizes, 50)
    model(50, 1).fit(X_small, y_small)
    X, y = w2_data(sizes, sizes.w2_samples)
    before = resident_mib("VmRSS")
    reset_peak()
    model(len(y), sizes.w2_steps).fit(X, y)
    return {"before_fit_mib": before, "peak_mib": resident_mib("VmHWM")}


def resident_mib(field):
    """``VmRSS`` (now) or ``VmHWM`` (peak) from /proc, or the peak from getrusage elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def reset_peak():
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def memory(quick, blas_threads):
    names = [f"skreg, engine={engine}" for engine in ENGINES] + ["MLPClassifier"]
    cells = []
    for name in names:
        command = [str(Path(__file__)), "--memory-child", name] + (["--quick"] if quick else [])
        command += ["--blas-threads", str(blas_threads)] if blas_threads else []
        result = json.loads(run_python(command, {**os.environ, "PYTHONPATH": python_path()}))
        cells.append(
            [
                name,
                f"{result['peak_mib']:.0f}",
                f"{result['peak_mib'] - result['before_fit_mib']:.0f}",
            ]
        )
        print(f"  {name}: peak {cells[-1][1]} MiB, of which fit {cells[-1][2]} MiB")
    return cells


def run_python(arguments, environment):
    # In the benchmarks' directory: "python -c" puts the working directory first on the path,
    # where a checkout's sources (without the compiled engine, if skreg was installed from them)
    # would shadow the skreg this process benchmarks.
    result = subprocess.run(
        [sys.executable, *arguments],
        env=environment,
        cwd=HERE,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"{' '.join(arguments)} failed:\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


def python_path():
    """skreg's directory first, so subprocesses import the skreg this process benchmarks."""
    return os.pathsep.join(
        [str(Path(skreg.__file__).parent.parent), os.environ.get("PYTHONPATH", "")]
    )


# -- reporting -----------------------------------------------------------------------------------

TIME_HEADER = [
    "contender",
    "median s",
    "all runs s",
    "speed-up vs MLPClassifier",
    "x floor",
    "final cost",
]
MEMORY_HEADER = ["contender", "peak RSS MiB", "of which the fit MiB"]
RATIO_HEADER = ["contender", "median s", "all runs s", "ratio", "target"]
SERVING_HEADER = ["contender", "median µs per call", "90th percentile µs", "ratio", "target"]
BUSY_HEADER = [
    "contender",
    "busy median s",
    "busy runs s",
    "quiet 1-thread median s",
    "busy / quiet 1-thread",
    "speed-up vs MLPClassifier (busy)",
]


class Report:
    def __init__(self, args, repeats):
        self.quick, self.repeats, self.blas_threads = args.quick, repeats, args.blas_threads
        self.lines = []

    def machine_description(self):
        threads = (
            f"--blas-threads {self.blas_threads} up to P"
            if self.blas_threads
            else "the libraries' own up to P"
        )
        blas = [
            f"{info['internal_api']} {info.get('version', '?')} ({info.get('architecture', '?')}, "
            f"{info['num_threads']} threads, {Path(info['filepath']).name})"
            for info in threadpool_info()
        ]
        versions = [
            f"python {platform.python_version()}",
            f"numpy {np.__version__}",
            f"scipy {scipy.__version__}",
            f"scikit-learn {sklearn.__version__}",
        ]
        versions.append(
            f"skreg {skreg.__version__} (compiled engine "
            f"{'built' if 'compiled' in ENGINES else 'not built: NumPy engine only'})"
        )
        return "\n".join(
            [
                f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"
                + (
                    "  (--quick smoke run: sizes reduced, timings meaningless)"
                    if self.quick
                    else ""
                ),
                f"Machine: {cpu_model()}, {os.cpu_count()} logical CPUs, load average at start "
                f"{os.getloadavg()[0]:.2f}",
                f"BLAS (threadpoolctl): {'; '.join(blas) or 'none loaded'}",
                f"Versions: {', '.join(versions)}",
                f"Method: each workload's contenders alternate, {self.repeats} round(s) "
                f"({min(self.repeats, MAX_LONG_ROUNDS)} for the mission's search and the busy "
                "machine); median wall time. Speed-up = MLPClassifier's median / the contender's.",
                f"Threads: {threads}; the threads sections run each contender at 1 thread "
                f"(threadpool_limits(1)) and at all {cores()} cores (no limit), the busy-machine "
                "sections with no limit.",
            ]
        )

    def note(self, text):
        print(f"\n{text}")
        self.lines += ["", text]

    def section(self, title, rows, header=TIME_HEADER):
        print(f"\n{title}")
        self.lines += ["", f"### {title}", ""]
        if isinstance(rows, str):
            self.lines.append(rows)
            return
        self.lines += [markdown_row(header), markdown_row(["---"] * len(header))]
        self.lines += [markdown_row(cells) for cells in rows]
        for cells in rows:
            print("  " + "  ".join(f"{h}: {c}" for h, c in zip(header, cells) if c))

    def write(self, path):
        command = "python benchmarks/run.py" + (" --quick" if self.quick else "")
        command += f" --blas-threads {self.blas_threads}" if self.blas_threads else ""
        machine = [f"{line}  " for line in self.machine_description().splitlines()]
        end = f"Load average at the end: {os.getloadavg()[0]:.2f}"
        lines = ["# skreg benchmark results", "", f"Produced by `{command}`.", "", *machine]
        text = "\n".join([*lines, "", TARGETS, *self.lines, "", end, ""])
        path.write_text(text)
        print(f"\nWrote {path}")


def markdown_row(cells):
    return "| " + " | ".join(cells) + " |"


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    main()
