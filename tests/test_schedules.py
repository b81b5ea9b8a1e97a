"""Step-size schedules, Nesterov momentum and ``shuffle``: each checked against step sizes and
updates computed here by hand, on both engines (the ``engine`` fixture)."""

import copy
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skreg import RegularizedMLPClassifier
from skreg._network import init_parameters
from skreg._optimizers import make_optimizer, scheduled_step_size
from skreg._random import training_stream
from skreg._stopping_rules import AdaptiveStepSize, TrainingLossStopper
from skreg._training import Regularization


def small(**params):
    return RegularizedMLPClassifier(**{"random_state": 0, "hidden_layer_sizes": (6, 3), **params})


def assert_same_weights(first, second):
    for a, b in zip(first.coefs_ + first.intercepts_, second.coefs_ + second.intercepts_):
        np.testing.assert_array_equal(a, b)


# -- the optimizers' arithmetic ------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["gd", "momentum", "adam"])
def test_invscaling_sets_the_step_size_after_each_epoch_from_the_samples_seen(solver):
    hyperparameters = {"momentum": {"momentum": 0.5}, "adam": {"beta_1": 0.9, "beta_2": 0.99}}
    hyperparameters = {"epsilon": 1e-8} | hyperparameters["adam"] if solver == "adam" else (
        hyperparameters.get(solver, {})
    )  # fmt: skip
    optimizer = make_optimizer(
        solver, 3, np.float64, learning_rate=0.4, schedule="invscaling", power_t=0.25,
        **hyperparameters,
    )  # fmt: skip
    assert optimizer.step_size == 0.4
    for n_samples, expected in [(7, 0.4 / 8**0.25), (7, 0.4 / 15**0.25), (2.5, 0.4 / 17.5**0.25)]:
        optimizer.epoch_ends(n_samples)
        assert optimizer.step_size == expected
    assert optimizer.samples_seen == 16.5


def test_gradient_descent_and_its_proximal_step_use_the_scheduled_step_size():
    optimizer = make_optimizer("gd", 2, np.float64, learning_rate=0.5, schedule="invscaling")
    optimizer.epoch_ends(3)  # step size 0.5 / 2 = 0.25
    params = np.array([1.0, -2.0])
    optimizer.step(params, np.array([1.0, 4.0]))
    np.testing.assert_array_equal(params, [0.75, -3.0])
    assert optimizer.effective_learning_rate() == 0.25


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_follows_heavy_ball_or_nesterov_by_hand(nesterov):
    """Constant gradient 1, step size 0.1, momentum 0.5: heavy ball moves by the velocity
    -0.1, -0.15, -0.175; Nesterov (scikit-learn's) by momentum * velocity - 0.1 with the new
    velocity: -0.15, -0.175, -0.1875."""
    optimizer = make_optimizer(
        "momentum", 1, np.float64, learning_rate=0.1, momentum=0.5, nesterov=nesterov
    )
    params, positions = np.zeros(1), []
    for _ in range(3):
        optimizer.step(params, np.ones(1))
        positions.append(params[0])
    moves = [-0.15, -0.175, -0.1875] if nesterov else [-0.1, -0.15, -0.175]
    np.testing.assert_allclose(positions, np.cumsum(moves), rtol=1e-15)
    np.testing.assert_allclose(optimizer.velocity, [-0.175], rtol=1e-15)


def test_adaptive_divides_the_step_size_by_5_after_each_plateau_and_stops_below_1e_6():
    """Patience 2, tol 0: the third epoch in a row without a lower cost divides the step size by
    5 and counts the plateau anew; once the step size is at most 1e-6, a plateau stops."""
    optimizer = make_optimizer("gd", 1, np.float64, learning_rate=2.5e-5, schedule="adaptive")
    rule = AdaptiveStepSize(TrainingLossStopper(0.0, 2), optimizer)
    costs = [1.0, 0.5, 0.5, 0.6, 0.5, 0.4, 0.4, 0.4, 0.4] + [0.4] * 6
    steps, stops = [], []
    for cost in costs:
        stops.append(rule(cost, None))
        steps.append(optimizer.step_size)
    # (2.5e-5 / 5 / 5 rounds to 1.0000000000000002e-06, above 1e-6: one more division)
    a = 2.5e-5
    b = a / 5.0
    c = b / 5.0
    d = c / 5.0
    assert c > 1e-6
    assert steps == [a] * 4 + [b] * 4 + [c] * 3 + [d] * 4
    assert stops == [False] * 14 + [True]
    assert rule.plateau.stopped


# -- the estimator: schedules against a hand-made sequence of constant steps ---------------------


def test_invscaling_beyond_the_float_range_steps_by_zero_on_either_engine(moons, engine):
    """``learning_rate / (t + 1) ** power_t`` past the float range is 0, as C's ``pow`` gives it
    the compiled engine; the NumPy engine raised a bare OverflowError. After the first epoch
    (at ``learning_rate``) every step is then 0: five epochs leave the model of one."""
    assert scheduled_step_size(0.3, 300, 1e6) == 0.0
    X, y = moons
    params = {"learning_rate_schedule": "invscaling", "power_t": 300, "engine": engine}
    five = RegularizedMLPClassifier(max_iter=5, random_state=0, **params).fit(X, y)
    one = RegularizedMLPClassifier(max_iter=1, random_state=0, **params).fit(X, y)
    for a, b in zip(five.coefs_ + five.intercepts_, one.coefs_ + one.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert five.optimizer_.step_size == 0.0


@pytest.mark.parametrize("solver", ["gd", "momentum"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_invscaling_fit_is_constant_steps_at_the_scheduled_sizes(moons, engine, solver, seed):
    """Full batch, L1 penalty (whose proximal step uses the step size): ``k`` epochs of
    "invscaling" are ``k`` one-epoch warm starts at constant step sizes computed here,
    ``0.3 / (t + 1) ** 0.7`` with ``t = 200 * epoch``."""
    X, y = moons
    options = dict(solver=solver, penalty="l1", lambd=0.05, random_state=seed, engine=engine)
    scheduled = small(learning_rate_schedule="invscaling", power_t=0.7, max_iter=6, **options)
    scheduled.fit(X, y)
    by_hand = small(max_iter=1, warm_start=True, **options)
    for epoch in range(6):
        by_hand.set_params(learning_rate=0.3 / (200 * epoch + 1) ** 0.7).fit(X, y)
    assert_same_weights(scheduled, by_hand)
    assert scheduled.optimizer_.samples_seen == 1200
    assert scheduled.optimizer_.step_size == 0.3 / 1201**0.7


def test_samples_seen_are_the_total_sample_weight(moons, engine):
    X, y = moons
    weights = np.random.RandomState(0).randint(0, 4, len(y))
    model = small(learning_rate_schedule="invscaling", max_iter=3, engine=engine)
    model.fit(X, y, sample_weight=weights)
    assert model.optimizer_.samples_seen == 3 * weights.sum()
    repeated = clone(model).fit(X.repeat(weights, axis=0), y.repeat(weights))
    assert_same_weights(model, repeated)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_adaptive_reduces_the_step_size_on_plateaus_and_stops(moons, engine, early_stopping):
    X, y = moons
    model = small(
        learning_rate_schedule="adaptive", learning_rate=0.5, tol=1e-3, n_iter_no_change=2,
        early_stopping=early_stopping, max_iter=3000, engine=engine,
    ).fit(X, y)  # fmt: skip
    assert model.n_iter_ < 3000
    step, reductions = 0.5, 0
    while step > 1e-6:
        step, reductions = step / 5.0, reductions + 1
    assert model.optimizer_.step_size == step  # 0.5 / 5 / 5 ... until at most 1e-6
    assert model.n_iter_ >= 3 * (reductions + 1)  # a plateau is 3 epochs at least


def test_adaptive_without_tol_treats_tol_as_0(moons, engine):
    """tol=None: any epoch that does not lower the cost counts towards a plateau. At step size 4
    the cost goes up and down; reduced steps then lower it at every epoch."""
    X, y = moons
    options = dict(learning_rate=4.0, n_iter_no_change=2, max_iter=100, engine=engine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cost = np.asarray(small(**options).fit(X, y).loss_curve_)
    assert (np.diff(cost) >= 0).sum() > 10
    model = small(learning_rate_schedule="adaptive", **options).fit(X, y)
    assert model.optimizer_.step_size in _repeated_fifths(4.0, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # (tol=0 asks to stop)
        tol_0 = clone(model).set_params(tol=0.0).fit(X, y)
    assert_same_weights(model, tol_0)
    assert model.loss_curve_ == tol_0.loss_curve_


def _repeated_fifths(start, count):
    steps = [start]
    for _ in range(count):
        steps.append(steps[-1] / 5.0)
    return steps[1:]


# -- continuation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"learning_rate_schedule": "invscaling"},
        {"learning_rate_schedule": "invscaling", "solver": "momentum", "nesterovs_momentum": True},
        {"learning_rate_schedule": "invscaling", "solver": "adam", "learning_rate": 0.01},
    ],
)
def test_warm_start_and_partial_fit_continue_the_schedule(moons, engine, options):
    X, y = moons
    straight = small(max_iter=9, engine=engine, **options).fit(X, y)
    warm = small(max_iter=4, engine=engine, **options).fit(X, y)
    warm.set_params(warm_start=True, max_iter=5).fit(X, y)
    incremental = small(engine=engine, **options)
    for _ in range(9):
        incremental.partial_fit(X, y, classes=[0, 1])
    for model in (warm, incremental):
        assert_same_weights(model, straight)
        assert model.optimizer_.samples_seen == 9 * 200
        assert model.optimizer_.step_size == straight.optimizer_.step_size


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # (tol's)
@pytest.mark.parametrize("continuation", ["warm_start", "partial_fit"])
def test_adaptive_step_size_survives_continuation(moons, engine, continuation):
    """After an "adaptive" fit reduced its step size, the next epoch steps at that size: as a
    constant-step continuation at the reduced learning_rate."""
    X, y = moons
    reduced = small(
        learning_rate_schedule="adaptive", learning_rate=0.5, tol=1e-2, n_iter_no_change=2,
        max_iter=40, engine=engine,
    ).fit(X, y)  # fmt: skip
    step = reduced.optimizer_.step_size
    assert step < 0.5
    constant = copy.deepcopy(reduced).set_params(
        learning_rate_schedule="constant", learning_rate=step, warm_start=True, max_iter=1
    )
    reduced.set_params(warm_start=True, max_iter=1)
    if continuation == "warm_start":
        reduced.fit(X, y)
        constant.fit(X, y)
    else:
        reduced.partial_fit(X, y)
        constant.partial_fit(X, y)
    assert reduced.optimizer_.step_size == step
    assert_same_weights(reduced, constant)


def test_partial_fit_counts_adaptive_plateaus_across_calls(moons):
    X, y = moons
    model = small(learning_rate_schedule="adaptive", learning_rate=0.5, tol=1.0, n_iter_no_change=2)
    for _ in range(3):  # tol=1: no epoch improves enough; the third makes a plateau
        model.partial_fit(X, y, classes=[0, 1])
    assert model.optimizer_.step_size == 0.5
    model.partial_fit(X, y)
    assert model.optimizer_.step_size == 0.1


def test_a_new_learning_rate_restarts_the_schedule_on_warm_start(moons):
    X, y = moons
    model = small(learning_rate_schedule="invscaling", max_iter=3).fit(X, y)
    model.set_params(warm_start=True, learning_rate=0.1, max_iter=1).fit(X, y)
    assert model.optimizer_.samples_seen == 800
    assert model.optimizer_.step_size == 0.1 / 801**0.5


# -- shuffle -------------------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["gd", "momentum"])
def test_shuffle_false_takes_the_batches_in_order_and_draws_nothing(moons, engine, solver):
    """One epoch of batches of 64 in order is four one-step trainings on consecutive slices (same
    optimizer state), and leaves the training stream where it was."""
    from skreg import _engines

    X, y = moons
    Y = y[:, None].astype(float)
    train = _engines.training_function(engine, X)
    results = []
    for by_slices in (False, True):
        rng = np.random.RandomState(0)
        params = init_parameters([2, 6, 1], rng)
        stream = training_stream(rng)
        hyper = {"momentum": 0.9} if solver == "momentum" else {}
        optimizer = make_optimizer(solver, params.flat.size, np.float64, learning_rate=0.1, **hyper)
        regularization = Regularization(keep_probs=(1.0,))
        common = dict(loss="logistic", regularization=regularization, stream=stream)
        if by_slices:
            for start in range(0, 200, 64):
                rows = slice(start, start + 64)
                train(X[rows], Y[rows], params, optimizer, max_iter=1, **common)
        else:
            train(X, Y, params, optimizer, max_iter=1, batch_size=64, shuffle=False, **common)
        results.append((params.flat.copy(), stream.random(2)))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    rng = np.random.RandomState(0)
    init_parameters([2, 6, 1], rng)
    untouched = training_stream(rng).random(2)
    np.testing.assert_array_equal(results[0][1], untouched)
    np.testing.assert_array_equal(results[1][1], untouched)


def test_shuffle_false_with_mini_batches_differs_from_shuffled_and_is_reproducible(moons, engine):
    X, y = moons
    shuffled = small(batch_size=32, max_iter=5, engine=engine).fit(X, y)
    in_order = small(batch_size=32, max_iter=5, shuffle=False, engine=engine)
    in_order.fit(X, y)
    assert not np.array_equal(shuffled.coefs_[0], in_order.coefs_[0])
    assert_same_weights(in_order, clone(in_order).fit(X, y))


# -- invalid values ------------------------------------------------------------------------------


SCHEDULES = ["'constant'", "'invscaling'", "'adaptive'"]


@pytest.mark.parametrize(
    "name, value, allowed",
    [
        ("learning_rate_schedule", "optimal", ["must be a str among", *SCHEDULES]),
        ("learning_rate_schedule", None, ["must be a str among", *SCHEDULES]),
        ("power_t", -0.5, ["must be a float in the range [0.0, inf)"]),
        ("power_t", np.nan, ["must be a float in the range [0.0, inf)"]),
        ("nesterovs_momentum", "yes", ["must be an instance of 'bool'"]),
        ("shuffle", None, ["must be an instance of 'bool'"]),
    ],
)
def test_invalid_values_are_refused_by_name(moons, name, value, allowed):
    X, y = moons
    model = small(**{name: value})
    with pytest.raises((ValueError, TypeError), match=f"'{name}' parameter") as error:
        model.fit(X, y)
    for fragment in allowed:
        assert fragment in str(error.value)
    assert not hasattr(model, "coefs_")


# -- scikit-learn's MLPClassifier, configured identically ----------------------------------------


def sklearn_mlp_from(model, start, X, y):
    """scikit-learn's MLPClassifier set up as ``model``, from the weights ``start``."""
    mlp = MLPClassifier(
        hidden_layer_sizes=model.hidden_layer_sizes, solver="sgd", alpha=0.0,
        batch_size=X.shape[0], shuffle=False, learning_rate_init=model.learning_rate,
        momentum=model.momentum, nesterovs_momentum=model.nesterovs_momentum,
        learning_rate=model.learning_rate_schedule, power_t=model.power_t,
        tol=model.tol or 0.0, warm_start=True, max_iter=1,
        # (without tol, ours never stops: nor should scikit-learn's within the test's epochs)
        n_iter_no_change=model.n_iter_no_change if model.tol else 10**6,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)  # makes the fitted attributes, then replaced
    mlp.coefs_ = [W.copy() for W in start.coefs]
    mlp.intercepts_ = [b.copy() for b in start.intercepts]
    mlp.t_, mlp.loss_curve_, mlp.best_loss_, mlp._no_improvement_count = 0, [], np.inf, 0
    return mlp


@pytest.mark.parametrize(
    "options",
    [
        {"learning_rate_schedule": "invscaling", "nesterovs_momentum": True},
        {"learning_rate_schedule": "invscaling", "nesterovs_momentum": False, "power_t": 0.3},
        {"learning_rate_schedule": "adaptive", "tol": 1e-3, "n_iter_no_change": 2},
        {"learning_rate_schedule": "constant", "nesterovs_momentum": True},
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_loss_curves_match_scikit_learns_sgd(moons, engine, options, seed):
    """Full-batch SGD with momentum, batches in order, no penalty, from the same weights: the
    same algorithm as scikit-learn's MLPClassifier; the loss curves and weights agree to
    rounding (measured: 1e-15 relative on the curves; the sums run in other orders), "adaptive"
    stops at the same epoch and the schedules end at the same step size."""
    X, y = moons
    model = small(
        solver="momentum", learning_rate=0.1, momentum=0.9, max_iter=1, random_state=seed,
        engine=engine, **options,
    )  # fmt: skip
    start = init_parameters([2, 6, 3, 1], np.random.RandomState(seed))  # as fit initialises
    mlp = sklearn_mlp_from(model, start, X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.set_params(max_iter=150).fit(X, y)
        mlp.set_params(max_iter=150).fit(X, y)
    assert len(model.loss_curve_) == len(mlp.loss_curve_)
    np.testing.assert_allclose(model.loss_curve_, mlp.loss_curve_, rtol=1e-12)
    for W, W_sklearn in zip(model.coefs_, mlp.coefs_):
        np.testing.assert_allclose(W, W_sklearn, rtol=1e-10, atol=1e-12)
    assert model.optimizer_.step_size == pytest.approx(mlp._optimizer.learning_rate, rel=1e-12)
