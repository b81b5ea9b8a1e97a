import numpy as np
import pytest
import scipy.io

from skreg._demo import main
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


def test_demo_prints_the_table_for_a_data_file(football_file, capsys):
    assert main(["--data", str(football_file)]) == 0
    out = capsys.readouterr().out
    for name in ("no regularisation", "L2, lambd=0.7", "dropout, keep_prob=0.86"):
        assert f"| {name}" in out
        assert f"trained {name} in" in out
