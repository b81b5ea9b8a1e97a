import re

import numpy as np
import pytest
import scipy.io

from skreg import RegularizedMLPClassifier
from skreg._demo import (
    DEFAULT_OUT,
    LAMBD_GRID,
    decision_boundary_figure,
    loss_curve_figure,
    main,
)
from skreg.datasets import load_football, make_football


@pytest.fixture
def football_file(tmp_path):
    rng = np.random.RandomState(0)
    path = tmp_path / "data.mat"
    scipy.io.savemat(
        path,
        {
            "X": rng.uniform(-0.5, 0.5, (30, 2)),
            "y": (rng.rand(30, 1) > 0.5).astype(np.uint8),
            "Xval": rng.uniform(-0.5, 0.5, (20, 2)),
            "yval": (rng.rand(20, 1) > 0.5).astype(np.uint8),
        },
    )
    return path


def test_load_football_returns_rows_and_flat_labels(football_file):
    X_train, X_test, y_train, y_test = load_football(football_file)
    assert X_train.shape == (30, 2) and X_test.shape == (20, 2)
    assert y_train.shape == (30,) and y_test.shape == (20,)
    assert y_train.dtype == np.int64 and set(np.unique(y_train)) <= {0, 1}
    raw = scipy.io.loadmat(football_file)
    np.testing.assert_array_equal(X_test, raw["Xval"])
    np.testing.assert_array_equal(y_test, raw["yval"].ravel())


def test_load_football_names_missing_arrays(tmp_path):
    path = tmp_path / "other.mat"
    scipy.io.savemat(path, {"X": np.ones((3, 2))})
    with pytest.raises(ValueError, match=r"lacks \['Xval', 'y', 'yval'\]"):
        load_football(path)


def test_make_football_is_seeded_balanced_and_not_linearly_separable():
    X_train, X_test, y_train, y_test = make_football()
    again = make_football()
    np.testing.assert_array_equal(X_train, again[0])
    assert X_train.shape == (211, 2) and X_test.shape == (200, 2)
    assert 0.35 < y_train.mean() < 0.65
    assert not np.array_equal(make_football(random_state=1)[0], X_train)
    from sklearn.linear_model import LogisticRegression

    assert LogisticRegression().fit(X_train, y_train).score(X_test, y_test) < 0.95


def read_png_size(path):
    """Width and height from a PNG file's header (fails on anything that is not a PNG)."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def test_demo_prints_the_table_and_writes_the_figures(football_file, tmp_path, capsys):
    out_dir = tmp_path / "figures"
    argv = ["--data", str(football_file), "--out", str(out_dir), "--max-iter", "300"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    for name in ("no regularisation", "L2, lambd=0.7", "dropout, keep_prob=0.86"):
        assert f"| {name}" in out
        assert f"trained {name} in" in out
    tuned = re.search(r"trained L2, tuned lambd=(\S+) in [\d.]+ s \(GridSearchCV", out)
    assert tuned and float(tuned.group(1)) in LAMBD_GRID
    rows = re.findall(r"^\| (.+?) +\| +([\d.]+) \| +([\d.]+) \|$", out, flags=re.MULTILINE)
    assert [r[0] for r in rows] == [
        "no regularisation",
        "L2, lambd=0.7",
        "dropout, keep_prob=0.86",
        f"L2, tuned lambd={tuned.group(1)}",
    ]
    assert all(0 <= float(acc) <= 1 for row in rows for acc in row[1:])
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "decision_boundaries.png",
        "loss_curves.png",
    ]
    assert read_png_size(out_dir / "decision_boundaries.png") == (1000, 900)
    assert read_png_size(out_dir / "loss_curves.png") == (800, 500)
    assert f"Wrote {out_dir / 'loss_curves.png'}" in out


def test_demo_writes_figures_to_the_default_directory(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["--max-iter", "100"]) == 0
    assert "built-in football-like data" in capsys.readouterr().out
    assert (tmp_path / DEFAULT_OUT / "decision_boundaries.png").is_file()
    assert (tmp_path / DEFAULT_OUT / "loss_curves.png").is_file()


def test_demo_figures_explain_themselves():
    """Axis labels on every panel, titles with the train and test accuracy."""
    X_train, X_test, y_train, y_test = make_football()
    models = [
        (
            name,
            RegularizedMLPClassifier(max_iter=50, random_state=0, **params).fit(X_train, y_train),
        )
        for name, params in [("a", {}), ("b", {"lambd": 0.7})]
    ]
    boundaries = decision_boundary_figure(models, X_train, y_train, X_test, y_test)
    for ax, (name, model) in zip(boundaries.axes, models):
        test = f"test accuracy {model.score(X_test, y_test):.3f}"
        assert (
            name in ax.get_title() and "train accuracy" in ax.get_title() and test in ax.get_title()
        )
        assert ax.get_xlabel() and ax.get_ylabel()
    (curves,) = loss_curve_figure(models).axes
    assert "iteration" in curves.get_xlabel() and "cost" in curves.get_ylabel()


@pytest.mark.slow
def test_demo_grid_holds_its_best_lambd_inside():
    """The tuned lambd of the demo's own run (30000 iterations, seed 3) is not an end of the
    grid: the grid spans the optimum."""
    from skreg._demo import tuned_lambd_search

    X_train, _, y_train, _ = make_football()
    best = tuned_lambd_search(3, 30000).fit(X_train, y_train).best_params_["lambd"]
    assert min(LAMBD_GRID) < best < max(LAMBD_GRID)
