"""The regularisation and training toolbox: each test fails if its feature is removed."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import (
    make_blobs,
    make_classification,
    make_multilabel_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from skreg import RegularizedMLPClassifier, _engines


def small(**params):
    return RegularizedMLPClassifier(**{"max_iter": 800, "random_state": 0, **params})


def assert_same_weights(first, second, rtol=1e-12):
    for a, b in zip(first.coefs_ + first.intercepts_, second.coefs_ + second.intercepts_):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-14)


# -- penalties ----------------------------------------------------------------------------------


def test_l1_sets_weights_exactly_to_zero_and_more_as_lambd_grows(moons):
    X, y = moons
    zeros = [small(penalty="l1", lambd=lambd).fit(X, y).n_zero_coefs_ for lambd in (0.3, 1, 3)]
    assert 0 < zeros[0] < zeros[1] < zeros[2]
    assert small(penalty="l2", lambd=3).fit(X, y).n_zero_coefs_ == 0


def test_elasticnet_mixes_l1_sparsity_and_l2_shrinkage(moons):
    X, y = moons
    l1 = small(penalty="l1", lambd=1).fit(X, y)
    half = small(penalty="elasticnet", lambd=1, l1_ratio=0.5).fit(X, y)
    assert 0 < half.n_zero_coefs_ < l1.n_zero_coefs_
    assert_same_weights(
        small(penalty="elasticnet", lambd=1, l1_ratio=0).fit(X, y), small(lambd=1).fit(X, y)
    )


def test_max_norm_bounds_every_units_incoming_weights(moons):
    X, y = moons
    free = small().fit(X, y)
    assert max(np.linalg.norm(W, axis=0).max() for W in free.coefs_) > 1.0
    capped = small(max_norm=1.0).fit(X, y)
    for W in capped.coefs_:
        assert np.linalg.norm(W, axis=0).max() <= 1.0 + 1e-12


# -- dropout and noise --------------------------------------------------------------------------


def test_keep_prob_per_layer(moons):
    X, y = moons
    assert_same_weights(small(keep_prob=(1.0, 1.0)).fit(X, y), small().fit(X, y))
    assert_same_weights(small(keep_prob=(0.7, 0.7)).fit(X, y), small(keep_prob=0.7).fit(X, y))
    first_only = small(keep_prob=(0.6, 1.0)).fit(X, y)
    second_only = small(keep_prob=(1.0, 0.6)).fit(X, y)
    assert not np.allclose(first_only.coefs_[0], second_only.coefs_[0])
    with pytest.raises(ValueError, match=r"keep_prob .* one per hidden layer \(2 here\)"):
        small(keep_prob=(0.5, 0.5, 0.5)).fit(X, y)


def test_input_noise_changes_the_fit_reproducibly(moons):
    X, y = moons
    noisy = small(input_noise=0.3).fit(X, y)
    assert not np.allclose(noisy.coefs_[0], small().fit(X, y).coefs_[0])
    assert_same_weights(noisy, small(input_noise=0.3).fit(X, y), rtol=0)


# -- early stopping and tol ---------------------------------------------------------------------


def test_early_stopping_treats_a_plateau_of_validation_accuracy_as_no_improvement():
    X, y = make_blobs(n_samples=100, centers=[[-5, -5], [5, 5]], random_state=0)
    model = small(early_stopping=True, scoring=None, n_iter_no_change=10, max_iter=5000)
    scores = model.fit(X, y).validation_scores_
    assert max(scores) == 1.0
    assert model.n_iter_ == int(np.argmax(scores)) + 10 + 2


def test_early_stopping_on_tiny_data_holds_out_two_samples_and_refuses_to_hold_out_all():
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    y = np.array([0, 0, 1, 1, 1])
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        model = small(early_stopping=True, validation_fraction=0.4, max_iter=5).fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_
    with pytest.raises(ValueError, match=r"test_size = 1 should be greater or equal"):
        small(early_stopping=True, validation_fraction=0.2).fit(X, y)
    # ceil(0.9 * 5) = 5 samples held out: nothing left to train on.
    with pytest.raises(ValueError, match="validation_fraction=0.9 of 5 samples holds out all"):
        small(early_stopping=True, validation_fraction=0.9).fit(X, y)


def test_early_stopping_stops_and_restores_the_best_weights(moons):
    X, y = moons
    params = dict(early_stopping=True, n_iter_no_change=20, max_iter=3000, learning_rate=0.5)
    model = small(**params).fit(X, y)
    scores = model.validation_scores_
    best = int(np.argmax(scores))
    assert model.n_iter_ == len(scores) == best + 20 + 2 < 3000
    assert model.best_validation_score_ == scores[best] == max(scores)
    assert model.best_loss_ is None
    # A run cut right after the best epoch ends on the best weights: the same as restored.
    cut = small(**{**params, "max_iter": best + 1, "n_iter_no_change": 10**6})
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        cut.fit(X, y)
    assert_same_weights(model, cut, rtol=0)


def test_tol_stops_on_the_training_cost_and_warns_when_max_iter_comes_first(moons):
    X, y = moons
    stopped = small(tol=1e-3, n_iter_no_change=5, max_iter=5000).fit(X, y)
    assert stopped.n_iter_ < 5000 and stopped.best_loss_ == min(stopped.loss_curve_)
    with pytest.warns(ConvergenceWarning, match="max_iter=50 epochs"):
        small(tol=1e-12, max_iter=50).fit(X, y)
    assert small(max_iter=50).fit(X, y).n_iter_ == 50  # tol=None: always every epoch


# -- solvers, mini-batches, incremental training -------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"solver": "momentum", "learning_rate": 0.05},
        {"solver": "adam", "learning_rate": 0.01},
        {"solver": "adam", "learning_rate": 0.01, "batch_size": 16},
        {"solver": "gd", "batch_size": 32},
        {"solver": "lbfgs", "max_iter": 2000},
    ],
)
def test_solvers_learn(moons, params):
    X, y = moons
    model = small(**params).fit(X, y)
    assert model.score(X, y) > 0.9
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    assert model.n_iter_ == len(model.loss_curve_) or params["solver"] == "lbfgs"


def test_momentum_and_adam_follow_their_update_rules(moons):
    X, y = moons
    gd = small(max_iter=1, learning_rate=0.1).fit(X, y)
    start = small(max_iter=1, learning_rate=1e-300).fit(X, y)  # initial weights, in effect
    momentum = small(max_iter=1, learning_rate=0.1, solver="momentum").fit(X, y)
    assert_same_weights(momentum, gd)  # the first momentum step is a gradient step
    adam = small(max_iter=1, learning_rate=0.01, solver="adam").fit(X, y)
    # Adam's first step moves each parameter by learning_rate * |g| / (|g| + epsilon'), where
    # epsilon' = epsilon / sqrt(1 - beta_2): learning_rate exactly for all but tiny gradients.
    steps = np.abs(np.concatenate([(a - b).ravel() for a, b in zip(adam.coefs_, start.coefs_)]))
    assert steps.max() <= 0.01 * (1 + 1e-12)
    moved = steps[steps > 0]  # units whose ReLU is off for every sample have no gradient
    assert np.mean(np.isclose(moved, 0.01, rtol=1e-3)) > 0.8


@pytest.mark.parametrize(
    "params, reason",
    [
        ({"keep_prob": 0.8}, "dropout is random"),
        ({"input_noise": 0.1}, "noise is random"),
        ({"penalty": "l1", "lambd": 0.1}, "not differentiable"),
        ({"max_norm": 2.0}, "a constraint"),
    ],
)
def test_lbfgs_refuses_random_or_non_smooth_objectives(moons, params, reason):
    X, y = moons
    with pytest.raises(ValueError, match=f"solver='lbfgs' .*{reason}"):
        small(solver="lbfgs", **params).fit(X, y)


def test_partial_fit_full_batch_equals_fit(moons):
    X, y = moons
    incremental = small()
    for _ in range(30):
        incremental.partial_fit(X, y, classes=[0, 1])
    assert incremental.n_iter_ == 30 == len(incremental.loss_curve_)
    assert_same_weights(incremental, small(max_iter=30).fit(X, y), rtol=0)


def test_partial_fit_over_chunks_approaches_fit(moons):
    X, y = moons
    model = small(solver="adam", learning_rate=0.01, batch_size=20)
    for _ in range(100):
        for chunk in np.array_split(np.arange(len(y)), 4):
            model.partial_fit(X[chunk], y[chunk], classes=np.array([0, 1]))
    assert model.score(X, y) > small().fit(X, y).score(X, y) - 0.05


def test_partial_fit_errors():
    X, y = np.ones((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="labels not in classes: \\[2\\]"):
        small().partial_fit(X, [0, 1, 2, 1], classes=[0, 1])
    with pytest.raises(ValueError, match="partial_fit is not available with solver='lbfgs'"):
        small(solver="lbfgs").partial_fit(X, y, classes=[0, 1])


def test_warm_start_continues_training(moons):
    X, y = moons
    model = small(max_iter=40).fit(X, y)
    model.set_params(warm_start=True, max_iter=60).fit(X, y)
    assert model.n_iter_ == 60 and len(model.loss_curve_) == 100  # n_iter_: the latest fit's
    assert_same_weights(model, small(max_iter=100).fit(X, y), rtol=1e-10)


def test_warm_start_refuses_other_classes(three_blobs):
    X, y = three_blobs
    model = small(warm_start=True, max_iter=20).fit(X, y)
    with pytest.raises(ValueError, match=r"classes \[0, 1\] differ .* \[0, 1, 2\]"):
        model.fit(X[y < 2], y[y < 2])
    assert model.classes_.tolist() == [0, 1, 2]


def test_warm_start_keeps_adam_moments(moons):
    X, y = moons
    adam = dict(solver="adam", learning_rate=0.01)
    model = small(max_iter=20, **adam).fit(X, y)
    model.set_params(warm_start=True).fit(X, y)
    assert model.optimizer_.t == 40
    assert_same_weights(model, small(max_iter=40, **adam).fit(X, y), rtol=1e-10)


# -- weights ------------------------------------------------------------------------------------


def test_integer_sample_weights_equal_repeated_rows(moons):
    X, y = moons
    weights = np.random.RandomState(0).randint(0, 4, len(y))
    weighted = small().fit(X, y, sample_weight=weights)
    repeated = small().fit(np.repeat(X, weights, axis=0), np.repeat(y, weights))
    assert_same_weights(weighted, repeated, rtol=1e-7)


def test_mini_batches_of_zero_weight_rows_are_skipped(moons):
    X, y = moons
    weights = np.zeros(len(y))
    weights[:20] = 1.0  # most 8-row batches hold only zero-weight rows
    model = small(batch_size=8, max_iter=50).fit(X, y, sample_weight=weights)
    assert np.isfinite(model.loss_curve_).all()


@pytest.mark.parametrize("engine", ["numpy", "auto"])
def test_the_optimizers_hyperparameters_reach_the_optimizer(moons, engine):
    X, y = moons
    adam = {"solver": "adam", "batch_size": 32, "max_iter": 5, "learning_rate": 0.01}
    momentum = {"solver": "momentum", "max_iter": 5}
    cases = [
        (adam, {"beta_1": 0.5}),
        (adam, {"beta_2": 0.9}),
        (adam, {"epsilon": 1e-4}),
        (momentum, {"momentum": 0.5}),
        (momentum, {"nesterovs_momentum": True}),
    ]
    for solver, setting in cases:
        default = small(engine=engine, **solver).fit(X, y)
        model = small(engine=engine, **solver, **setting).fit(X, y)
        [(name, value)] = setting.items()
        assert (
            getattr(model.optimizer_, "nesterov" if name.startswith("nesterov") else name) == value
        )
        assert not np.array_equal(model.coefs_[0], default.coefs_[0]), name  # training used it


def test_class_weight(moons):
    X, y = moons
    keep = (y == 1) | (np.arange(len(y)) % 5 == 0)  # class 0 becomes the minority
    X, y = X[keep], y[keep]
    as_dict = small(class_weight={0: 3.0, 1: 1.0}).fit(X, y)
    as_sample_weight = small().fit(X, y, sample_weight=np.where(y == 0, 3.0, 1.0))
    assert_same_weights(as_dict, as_sample_weight, rtol=1e-12)
    balanced = small(class_weight="balanced").fit(X, y)
    as_balanced_weight = small().fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    assert_same_weights(balanced, as_balanced_weight, rtol=1e-12)
    assert not np.allclose(balanced.coefs_[0], small().fit(X, y).coefs_[0])


@pytest.mark.parametrize("seed", range(4))
def test_balanced_multilabel_weights_count_a_sample_of_weight_k_as_k_samples(seed):
    """Each label's 0s and 1s are balanced by their total sample weights, as for 1-D targets:
    integer weights weigh as scikit-learn's balanced weights of the repeated rows."""
    rng = np.random.RandomState(seed)
    X, Y = make_multilabel_classification(n_samples=40, n_classes=3, random_state=seed)
    X = StandardScaler().fit_transform(X)
    counts = rng.randint(1, 4, len(X))
    balanced = small(class_weight="balanced", max_iter=50).fit(X, Y, sample_weight=counts)
    first_copies = np.cumsum(counts) - counts
    of_repeated_rows = compute_sample_weight("balanced", np.repeat(Y, counts, axis=0))
    explicit = small(max_iter=50).fit(X, Y, sample_weight=counts * of_repeated_rows[first_copies])
    assert_same_weights(balanced, explicit, rtol=1e-12)


def test_a_dict_class_weight_is_refused_for_multilabel_targets():
    X, Y = make_multilabel_classification(n_samples=30, n_classes=3, random_state=0)
    with pytest.raises(ValueError, match="class_weight as a dict .* multilabel"):
        small(class_weight={0: 2.0}).fit(X, Y)


# -- inputs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
def test_sparse_input_gives_the_dense_result(fmt, monkeypatch):
    X, y = make_classification(n_samples=120, n_features=30, n_informative=5, random_state=0)
    X[np.abs(X) < 1] = 0  # mostly zeros
    # Small sparse X is trained on as a dense copy: here it keeps its sparse products.
    monkeypatch.setattr(_engines, "DENSE_COPY_MAX_ENTRIES", 0)
    assert sp.issparse(_engines.training_matrix(fmt(X)))
    dense = small(max_iter=300, engine="numpy").fit(X, y)
    sparse = small(max_iter=300, engine="numpy").fit(fmt(X), y)
    assert_same_weights(sparse, dense, rtol=1e-9)
    np.testing.assert_allclose(sparse.predict_proba(fmt(X)), dense.predict_proba(X), rtol=1e-9)
    with pytest.raises(ValueError, match="input_noise needs dense X"):
        small(input_noise=0.1).fit(fmt(X), y)


def test_float32_is_computed_in_float32(moons):
    X, y = moons
    model = small(solver="adam", learning_rate=0.01, batch_size=32).fit(X.astype(np.float32), y)
    assert all(a.dtype == np.float32 for a in model.coefs_ + model.intercepts_)
    assert model.decision_function(X.astype(np.float32)).dtype == np.float32
    # Probabilities are returned in float64, so that small ones do not underflow to 0.
    assert model.predict_proba(X.astype(np.float32)).dtype == np.float64
    assert model.score(X, y) > 0.9


def test_multilabel_targets_get_independent_sigmoid_outputs():
    X, Y = make_multilabel_classification(n_samples=150, n_classes=3, random_state=0)
    X = StandardScaler().fit_transform(X)
    model = small(max_iter=1500).fit(X, Y)
    assert model.out_activation_ == "logistic" and model.n_outputs_ == 3
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    proba = model.predict_proba(X)
    assert proba.shape == (150, 3) and not np.allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(model.predict(X), (proba > 0.5).astype(int))
    assert model.score(X, Y) > 0.6  # subset accuracy


def test_multiclass_multioutput_targets_are_refused():
    X, _ = make_blobs(n_samples=20, random_state=0)
    with pytest.raises(ValueError, match="multiclass-multioutput targets are not supported"):
        small().fit(X, np.random.RandomState(0).randint(0, 3, (20, 2)))
