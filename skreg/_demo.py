"""The notebook's experiment as a command: ``python -m skreg [--data PATH]``."""

import argparse
import time

from . import RegularizedMLPClassifier
from .datasets import load_football, make_football

MODELS = [
    ("no regularisation", {}),
    ("L2, lambd=0.7", {"lambd": 0.7}),
    ("dropout, keep_prob=0.86", {"keep_prob": 0.86}),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skreg",
        description="Train the course notebook's three networks (no regularisation, L2, dropout) "
        "and print their train/test accuracy.",
    )
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="a data.mat laid out like the course's (X, y, Xval, yval); "
        "default: the built-in football-like data",
    )
    parser.add_argument("--random-state", type=int, default=3, help="seed (default: 3)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.data:
        X_train, X_test, y_train, y_test = load_football(args.data)
        source = args.data
    else:
        X_train, X_test, y_train, y_test = make_football()
        source = "built-in football-like data (skreg.datasets.make_football)"
    print(f"Data: {source}: {len(y_train)} training, {len(y_test)} test samples")
    rows = []
    for name, params in MODELS:
        start = time.perf_counter()
        model = RegularizedMLPClassifier(random_state=args.random_state, **params)
        model.fit(X_train, y_train)
        elapsed = time.perf_counter() - start
        rows.append((name, model.score(X_train, y_train), model.score(X_test, y_test)))
        print(f"  trained {name} in {elapsed:.1f} s", flush=True)
    print()
    print(f"| {'model':<24} | train accuracy | test accuracy |")
    print(f"| {'-' * 24} | -------------- | ------------- |")
    for name, train, test in rows:
        print(f"| {name:<24} | {train:>14.4f} | {test:>13.4f} |")
    return 0
