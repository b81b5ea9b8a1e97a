"""The notebook's experiment as a command: ``python -m skreg [--data PATH] [--out DIR]``."""

import argparse
import time
from pathlib import Path

from sklearn.model_selection import GridSearchCV, StratifiedShuffleSplit

from . import RegularizedMLPClassifier
from .datasets import load_football, make_football

MODELS = [
    ("no regularisation", {}),
    ("L2, lambd=0.7", {"lambd": 0.7}),
    ("dropout, keep_prob=0.86", {"keep_prob": 0.86}),
]
# Strongest first: GridSearchCV breaks ties in favour of the first candidate, so equal dev
# scores pick the more regularised model. The grid spans the optimum: on the built-in data with
# the default seed and iterations, lambd=1 scores best on the dev split.
LAMBD_GRID = [3.0, 1.5, 1.0, 0.7, 0.3, 0.0]
DEV_FRACTION = 0.25
DEFAULT_OUT = "skreg-demo"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skreg",
        description="Train the course notebook's networks (no regularisation, L2, dropout, and L2 "
        "with lambd tuned by GridSearchCV on a dev split), print their train/test accuracy and "
        "save decision-boundary and loss-curve figures.",
    )
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="a data.mat laid out like the course's (X, y, Xval, yval); "
        "default: the built-in football-like data",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=DEFAULT_OUT,
        help=f"directory for the PNG figures, created if needed (default: ./{DEFAULT_OUT})",
    )
    parser.add_argument("--random-state", type=int, default=3, help="seed (default: 3)")
    parser.add_argument(
        "--max-iter",
        type=int,
        default=30000,
        help="gradient-descent iterations per model (default: 30000, as in the notebook)",
    )
    return parser.parse_args(argv)


def tuned_lambd_search(random_state, max_iter):
    """GridSearchCV over ``lambd``, scored on one stratified dev split of the training set."""
    dev_split = StratifiedShuffleSplit(
        n_splits=1, test_size=DEV_FRACTION, random_state=random_state
    )
    model = RegularizedMLPClassifier(random_state=random_state, max_iter=max_iter)
    return GridSearchCV(model, {"lambd": LAMBD_GRID}, cv=dev_split)


def train_models(X_train, y_train, random_state, max_iter):
    """Fit each model in turn, printing one progress line per model; return ``[(name, model)]``."""
    trained = []
    for name, params in MODELS:
        start = time.perf_counter()
        model = RegularizedMLPClassifier(random_state=random_state, max_iter=max_iter, **params)
        model.fit(X_train, y_train)
        print(f"  trained {name} in {time.perf_counter() - start:.1f} s", flush=True)
        trained.append((name, model))

    start = time.perf_counter()
    search = tuned_lambd_search(random_state, max_iter).fit(X_train, y_train)
    name = f"L2, tuned lambd={search.best_params_['lambd']:g}"
    print(
        f"  trained {name} in {time.perf_counter() - start:.1f} s "
        f"(GridSearchCV over lambd in {LAMBD_GRID}, {DEV_FRACTION:.0%} dev split)",
        flush=True,
    )
    trained.append((name, search.best_estimator_))
    return trained


def decision_boundary_figure(trained, X_train, y_train, X_test, y_test):
    """One panel per model: its decision regions and the training points, titled with its
    train and test accuracy."""
    # Figure, not pyplot: no GUI backend is needed and no window opens.
    from matplotlib.figure import Figure
    from sklearn.inspection import DecisionBoundaryDisplay

    figure = Figure(figsize=(10, 9), layout="constrained")
    for ax, (name, model) in zip(figure.subplots(2, 2).ravel(), trained):
        DecisionBoundaryDisplay.from_estimator(
            model, X_train, response_method="predict", eps=0.1, cmap="RdBu", alpha=0.4, ax=ax
        )
        ax.scatter(*X_train.T, c=y_train, cmap="RdBu", edgecolors="k", s=20)
        train, test = model.score(X_train, y_train), model.score(X_test, y_test)
        ax.set_title(f"{name}\ntrain accuracy {train:.3f}, test accuracy {test:.3f}")
        ax.set_xlabel("x1 (first input feature)")
        ax.set_ylabel("x2 (second input feature)")
    figure.suptitle(
        "Decision regions and training points (red: class 0, blue: class 1)", fontsize="large"
    )
    return figure


def loss_curve_figure(trained):
    """Every model's training cost per iteration, on a log scale."""
    from matplotlib.figure import Figure

    from .plotting import LossCurveDisplay

    figure = Figure(figsize=(8, 5), layout="constrained")
    ax = figure.subplots()
    for name, model in trained:
        LossCurveDisplay.from_estimator(model, ax=ax, name=name, lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("iteration (one full-batch gradient-descent step)")
    ax.set_ylabel("training cost (log scale)")
    ax.set_title("Training cost (cross-entropy plus penalty)")
    return figure


def save_figures(trained, X_train, y_train, X_test, y_test, out):
    """Write ``decision_boundaries.png`` and ``loss_curves.png`` to ``out``; return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    boundaries_path = out / "decision_boundaries.png"
    decision_boundary_figure(trained, X_train, y_train, X_test, y_test).savefig(
        boundaries_path, dpi=100
    )
    curves_path = out / "loss_curves.png"
    loss_curve_figure(trained).savefig(curves_path, dpi=100)
    return [boundaries_path, curves_path]


def main(argv=None):
    args = parse_args(argv)
    if args.data:
        X_train, X_test, y_train, y_test = load_football(args.data)
        source = args.data
    else:
        X_train, X_test, y_train, y_test = make_football()
        source = "built-in football-like data (skreg.datasets.make_football)"
    print(f"Data: {source}: {len(y_train)} training, {len(y_test)} test samples")
    trained = train_models(X_train, y_train, args.random_state, args.max_iter)
    print()
    print(f"| {'model':<24} | train accuracy | test accuracy |")
    print(f"| {'-' * 24} | -------------- | ------------- |")
    for name, model in trained:
        train, test = model.score(X_train, y_train), model.score(X_test, y_test)
        print(f"| {name:<24} | {train:>14.4f} | {test:>13.4f} |")
    print()
    for path in save_figures(trained, X_train, y_train, X_test, y_test, args.out):
        print(f"Wrote {path}")
    return 0
