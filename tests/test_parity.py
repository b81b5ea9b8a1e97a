"""Parity with scikit-learn's MLPClassifier: the same algorithm on both sides (activation,
solver, schedule, momentum, penalty; full batches, so no shuffling order differs) reaches the
same test accuracy to within 0.02 (the regressor's parity with MLPRegressor is in
test_regressor.py)."""

import warnings

import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedMLPClassifier

# (ours, MLPClassifier's): lambd / (2 m) * sum W**2 is alpha / (2 m) * sum W**2.
CONFIGURATIONS = {
    "adam-relu": (
        {"activation": "relu", "solver": "adam", "learning_rate": 0.01},
        {"activation": "relu", "solver": "adam", "learning_rate_init": 0.01},
    ),
    "nesterov-invscaling-tanh": (
        {
            "activation": "tanh", "solver": "momentum", "learning_rate": 0.1,
            "nesterovs_momentum": True, "learning_rate_schedule": "invscaling", "power_t": 0.1,
        },
        {
            "activation": "tanh", "solver": "sgd", "learning_rate_init": 0.1, "momentum": 0.9,
            "nesterovs_momentum": True, "learning_rate": "invscaling", "power_t": 0.1,
        },
    ),
    "momentum-logistic": (
        {"activation": "logistic", "solver": "momentum", "learning_rate": 0.3},
        {
            "activation": "logistic", "solver": "sgd", "learning_rate_init": 0.3,
            "momentum": 0.9, "nesterovs_momentum": False,
        },
    ),
}  # fmt: skip


def split(data, seed):
    X, y = data(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.mark.parametrize("data", [load_breast_cancer, load_digits])
@pytest.mark.parametrize("configuration", CONFIGURATIONS)
@pytest.mark.parametrize("seed", range(2))
def test_test_accuracy_matches_mlp_classifier(data, configuration, seed):
    X_train, X_test, y_train, y_test = split(data, seed)
    ours_params, theirs_params = CONFIGURATIONS[configuration]
    hidden, lambd, epochs = (32,), 1e-4, 300
    ours = RegularizedMLPClassifier(
        hidden_layer_sizes=hidden, lambd=lambd, max_iter=epochs, random_state=seed, **ours_params
    ).fit(X_train, y_train)
    theirs = MLPClassifier(
        hidden_layer_sizes=hidden, alpha=lambd, max_iter=epochs, batch_size=len(y_train),
        shuffle=False, tol=0, n_iter_no_change=epochs, random_state=seed, **theirs_params,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # (it runs its max_iter, as ours)
        theirs.fit(X_train, y_train)
    ours_score, theirs_score = ours.score(X_test, y_test), theirs.score(X_test, y_test)
    assert ours_score > 0.9
    assert abs(ours_score - theirs_score) <= 0.02, (ours_score, theirs_score)
