"""Data for the football example: the course's file, or a built-in look-alike made at run time.

The course's data set holds positions on a football field where a player of the French team
(label 1) or of the other team (label 0) headed the ball after the goalkeeper's kick.
"""

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

__all__ = ["load_football", "make_football"]


def load_football(path):
    """Load a football data set laid out like the course's ``data.mat``.

    Parameters
    ----------
    path : str or path-like
        MATLAB file with the arrays ``X`` (n_train, 2), ``y`` (n_train, 1), ``Xval`` (n_test, 2) and
        ``yval`` (n_test, 1).

    Returns
    -------
    X_train, X_test : ndarray of shape (n_train, 2) and (n_test, 2), float64
        Positions, one row per sample.
    y_train, y_test : ndarray of shape (n_train,) and (n_test,), int64
        Labels, 1 for the French team and 0 for the other.
    """
    from scipy.io import loadmat  # here: only reading a file needs scipy.io, slow to import

    data = loadmat(path)
    missing = {"X", "y", "Xval", "yval"} - data.keys()
    if missing:
        raise ValueError(
            f"{path} is not laid out like the course's data.mat: it lacks {sorted(missing)}; "
            "expected the arrays X, y, Xval and yval."
        )

    def features(key):
        return np.ascontiguousarray(data[key], dtype=np.float64)

    def labels(key):
        return np.asarray(data[key]).ravel().astype(np.int64)

    return features("X"), features("Xval"), labels("y"), labels("yval")


def make_football(n_samples=411, *, test_size=200, noise=0.1, random_state=0):
    """Generate a football-like 2-D data set: a wavy diagonal boundary with noisy labels.

    Points are uniform on a field of the course data's extent; the label is on which side of a
    wavy diagonal line a point falls, after Gaussian noise of standard deviation ``noise`` is
    added to its distance from the line, so points near the line carry mixed labels. The default
    sizes match the course data (211 training and 200 test samples).

    Parameters
    ----------
    n_samples : int, default=411
        Total number of samples.
    test_size : int or float, default=200
        Test samples (a count, or a fraction of ``n_samples``), split off with
        :func:`~sklearn.model_selection.train_test_split`, stratified.
    noise : float, default=0.1
        Standard deviation of the noise that blurs the boundary.
    random_state : int, RandomState instance or None, default=0
        Seed of the data and of the split.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarrays
        As :func:`~sklearn.model_selection.train_test_split` returns them; labels are 0 and 1.

    Examples
    --------
    >>> from skreg.datasets import make_football
    >>> X_train, X_test, y_train, y_test = make_football()
    >>> X_train.shape, X_test.shape
    ((211, 2), (200, 2))
    """
    rng = check_random_state(random_state)
    X = rng.uniform([-0.75, -0.75], [0.45, 0.75], size=(n_samples, 2))
    x1, x2 = X[:, 0], X[:, 1]
    signed_distance = x2 - 1.4 * x1 - 0.15 + 0.3 * np.sin(6.0 * x2)
    y = (signed_distance + noise * rng.standard_normal(n_samples) > 0).astype(np.int64)
    return train_test_split(X, y, test_size=test_size, stratify=y, random_state=rng)
