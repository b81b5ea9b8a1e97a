"""Hostile inputs: every invalid input or hyperparameter raises ValueError or TypeError naming it.

Each strategy yields the bad input together with a pattern the error message must match; the
estimator must then be left unfitted (a failed ``fit`` leaves no model behind).
"""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import make_scorer
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor

HOSTILE_SETTINGS = settings(max_examples=150, deadline=None)

N_SAMPLES, N_FEATURES = 12, 3
X_GOOD = np.random.RandomState(0).standard_normal((N_SAMPLES, N_FEATURES))
Y_GOOD = np.arange(N_SAMPLES) % 3
NON_FINITE_MESSAGE = {"nan": "NaN", "inf": "infinity", "-inf": "infinity"}


def assert_unfitted(model):
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(NotFittedError):
            getattr(model, method)(X_GOOD)


# -- bad training data ---------------------------------------------------------------------------

positions = st.tuples(st.integers(0, N_SAMPLES - 1), st.integers(0, N_FEATURES - 1))
non_finite = st.sampled_from(["nan", "inf", "-inf"])


@st.composite
def non_finite_X(draw):
    (i, j), bad = draw(positions), draw(non_finite)
    X = X_GOOD.astype(draw(st.sampled_from([np.float32, np.float64])))
    X[i, j] = float(bad)
    as_list = draw(st.booleans())
    return (X.tolist() if as_list else X), Y_GOOD, rf"Input X contains {NON_FINITE_MESSAGE[bad]}"


@st.composite
def ragged_X(draw):
    rows = X_GOOD.tolist()
    i = draw(st.integers(0, N_SAMPLES - 1))
    rows[i] = rows[i][: draw(st.integers(0, N_FEATURES - 1))]
    return rows, Y_GOOD, "inhomogeneous"


# What numpy says when it cannot turn each object into a float.
OBJECT_MESSAGES = {
    "text": ("a", "could not convert string to float"),
    "none": (None, "Input X contains NaN"),
    "dict": ({}, "not 'dict'"),
    "list": ([1.0, 2.0], "sequence"),
    "object": (object(), "not 'object'"),
}


@st.composite
def object_X(draw):
    bad, message = OBJECT_MESSAGES[draw(st.sampled_from(sorted(OBJECT_MESSAGES)))]
    X = X_GOOD.astype(object)
    i, j = draw(positions)
    X[i, j] = bad
    return X, Y_GOOD, message


@st.composite
def wrong_shape_X(draw):
    case = draw(st.sampled_from(["0 samples", "0 features", "3-D", "1-D", "scalar"]))
    if case == "0 samples":
        return np.empty((0, N_FEATURES)), np.empty(0), "0 sample"
    if case == "0 features":
        return np.empty((N_SAMPLES, 0)), Y_GOOD, "0 feature"
    if case == "3-D":
        depth = draw(st.integers(1, 3))
        return np.repeat(X_GOOD[:, :, None], depth, axis=2), Y_GOOD, "dim 3"
    if case == "1-D":
        return X_GOOD[:, 0], Y_GOOD, "Expected 2D array, got 1D array"
    return 1.0, Y_GOOD, "Expected 2D array, got scalar array"


@st.composite
def wrong_kind_X(draw):
    case = draw(st.sampled_from(["complex", "sparse complex", "strings"]))
    if case == "complex":
        return X_GOOD + 1j, Y_GOOD, "Complex data not supported"
    if case == "sparse complex":
        return sp.csr_matrix(X_GOOD + 1j), Y_GOOD, "Complex data not supported"
    X = X_GOOD.astype(str)
    X[draw(positions)] = "abc"
    return X, Y_GOOD, "could not convert string to float: .*abc"


MIXED_LABELS = "Unknown label type: unknown|y mixes labels that cannot be compared"


@st.composite
def bad_y(draw):
    case = draw(
        st.sampled_from(
            [
                "nan",
                "inf",
                "object nan",
                "length",
                "one class",
                "continuous",
                "2-D",
                "None label",
                "mixed types",
            ]
        )
    )
    i = draw(st.integers(0, N_SAMPLES - 1))
    if case in ("nan", "inf"):
        y = Y_GOOD.astype(float)
        y[i] = float(case)
        return X_GOOD, y, rf"Input y contains {NON_FINITE_MESSAGE[case]}"
    # Labels of mixed types: scikit-learn calls them of unknown type when the first label is not
    # a string, else sorting them fails, which fit reports by name.
    if case == "None label":
        y = np.array(["a", "b", "c"], dtype=object)[Y_GOOD]
        y[i] = None
        return X_GOOD, y, MIXED_LABELS
    if case == "mixed types":
        y = Y_GOOD.astype(object)
        y[i] = "a"
        return X_GOOD, y, MIXED_LABELS
    if case == "object nan":
        y = np.array(["a", "b", "c"], dtype=object)[Y_GOOD]
        y[i] = np.nan
        return X_GOOD, y, "Input contains NaN"
    if case == "length":  # an empty y is refused by its own check, which names its 1-D shape
        y = Y_GOOD[: draw(st.integers(0, N_SAMPLES - 1))]
        return X_GOOD, y, r"inconsistent numbers|0 sample\(s\) \(shape=\(0,\)\)"
    if case == "one class":
        return X_GOOD, np.full(N_SAMPLES, draw(st.sampled_from([0, "a", True]))), "only one class"
    if case == "continuous":
        return X_GOOD, np.linspace(0, 1, N_SAMPLES), "Unknown label type: continuous"
    return X_GOOD, np.c_[Y_GOOD, Y_GOOD], "y must be 1-D class labels or a 0/1 multilabel"


invalid_training_data = st.one_of(
    non_finite_X(), ragged_X(), object_X(), wrong_shape_X(), wrong_kind_X(), bad_y()
)


@HOSTILE_SETTINGS
@given(case=invalid_training_data)
def test_invalid_training_data_is_rejected_by_name(case):
    X, y, message = case
    model = RegularizedMLPClassifier(max_iter=5, random_state=0)
    with pytest.raises((ValueError, TypeError), match=message):
        model.fit(X, y)
    assert_unfitted(model)


# -- bad hyperparameters -------------------------------------------------------------------------


@HOSTILE_SETTINGS
@given(data=st.data())
def test_invalid_hyperparameters_are_rejected_by_name(data, invalid_hyperparameter):
    name, value = data.draw(invalid_hyperparameter)
    model = RegularizedMLPClassifier(**{"max_iter": 5, name: value})
    with pytest.raises((ValueError, TypeError), match=name):
        model.fit(X_GOOD, Y_GOOD)
    assert_unfitted(model)


@pytest.mark.parametrize("incremental", [False, True])
def test_bytes_labels_get_scikit_learns_treatment_not_the_mixed_labels_message(incremental):
    """Recent scikit-learn (1.9 here) refuses bytes labels with a message of its own, which fit
    passes on (it once reported them as labels that cannot be compared); older versions (1.6,
    CI's oldest) take them as labels, and so does fit."""
    y = np.array([b"a", b"b", b"c"])[Y_GOOD]
    try:
        check_classification_targets(y)
        refusal = None
    except TypeError as error:
        refusal = str(error)
    model = RegularizedMLPClassifier(max_iter=5, random_state=0)

    def fit():
        if incremental:
            return model.partial_fit(X_GOOD, y, classes=[b"a", b"b", b"c"])
        return model.fit(X_GOOD, y)

    if refusal is None:
        fit()
        assert model.classes_.tolist() == [b"a", b"b", b"c"]
    else:
        with pytest.raises(TypeError) as error:
            fit()
        assert str(error.value) == refusal
        assert_unfitted(model)


# -- bad data at prediction ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted_model():
    return RegularizedMLPClassifier(max_iter=20, random_state=0).fit(X_GOOD, Y_GOOD)


invalid_prediction_data = st.one_of(
    non_finite_X(),
    ragged_X(),
    object_X(),
    wrong_shape_X(),
    wrong_kind_X(),
    st.integers(1, 6)
    .filter(lambda n: n != N_FEATURES)
    .map(
        lambda n: (np.ones((4, n)), None, f"X has {n} features, but .* is expecting {N_FEATURES}")
    ),
)


@HOSTILE_SETTINGS
@given(
    case=invalid_prediction_data,
    method=st.sampled_from(["predict", "predict_proba", "predict_log_proba", "decision_function"]),
)
def test_invalid_prediction_data_is_rejected_by_name(fitted_model, case, method):
    X, _, message = case
    state = dict(vars(fitted_model))
    with pytest.raises((ValueError, TypeError), match=message):
        getattr(fitted_model, method)(X)
    assert vars(fitted_model).keys() == state.keys()
    assert all(vars(fitted_model)[key] is value for key, value in state.items())


# -- bad sample weights, partial_fit and warm_start misuse ---------------------------------------

SAMPLE_WEIGHT_MESSAGE = "sample_weight|Sample weights"


@st.composite
def invalid_sample_weight(draw):
    case = draw(st.sampled_from(["negative", "non-finite", "length", "2-D", "zeros", "type"]))
    weights = np.ones(N_SAMPLES)
    i = draw(st.integers(0, N_SAMPLES - 1))
    if case == "negative":
        weights[i] = draw(st.floats(max_value=-1e-300, allow_infinity=False))
    elif case == "non-finite":
        weights[i] = float(draw(non_finite))
    elif case == "length":
        weights = np.ones(draw(st.integers(0, 2 * N_SAMPLES).filter(lambda n: n != N_SAMPLES)))
    elif case == "2-D":
        weights = np.ones((N_SAMPLES, draw(st.integers(2, 3))))
    elif case == "zeros":
        weights = np.zeros(N_SAMPLES)
    else:
        weights = draw(st.sampled_from([{"a": 1}, object(), [[1.0], [2.0, 3.0]]]))
    return weights


@HOSTILE_SETTINGS
@given(sample_weight=invalid_sample_weight(), incremental=st.booleans())
def test_invalid_sample_weight_is_rejected_by_name(sample_weight, incremental):
    model = RegularizedMLPClassifier(max_iter=5, random_state=0)
    with pytest.raises((ValueError, TypeError), match=SAMPLE_WEIGHT_MESSAGE):
        if incremental:
            model.partial_fit(X_GOOD, Y_GOOD, classes=[0, 1, 2], sample_weight=sample_weight)
        else:
            model.fit(X_GOOD, Y_GOOD, sample_weight=sample_weight)
    assert_unfitted(model)


@pytest.mark.parametrize("scale", [1.0, 2.0])
@pytest.mark.parametrize("params", [{}, {"batch_size": 4}, {"keep_prob": 0.9}, {"solver": "lbfgs"}])
def test_weights_that_leave_one_class_are_refused(params, scale):
    """Whatever the weights' scale, and whether training sees the rows of positive weight
    merged (full batches) or all the rows (mini-batches, dropout)."""
    y = np.arange(N_SAMPLES) % 2
    model = RegularizedMLPClassifier(max_iter=5, **params)
    with pytest.raises(ValueError, match="Only one class has samples of positive"):
        model.fit(X_GOOD, y, sample_weight=scale * (y == 1))
    assert_unfitted(model)
    model.set_params(class_weight={0: 0.0})
    with pytest.raises(ValueError, match="Only one class has samples of positive"):
        model.fit(X_GOOD, y)
    assert_unfitted(model)


def test_partial_fit_needs_classes_at_its_first_call():
    model = RegularizedMLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X_GOOD, Y_GOOD)
    assert_unfitted(model)
    # A multilabel indicator target names its labels by its columns: no classes needed.
    model.partial_fit(X_GOOD, np.c_[Y_GOOD == 0, Y_GOOD == 1].astype(int))
    np.testing.assert_array_equal(model.classes_, [0, 1])


@pytest.mark.parametrize(
    "first_classes, later, message",
    [
        ([0, 1], {}, r"y contains labels not in classes: \[2\]"),
        ([0, 1, 2], {"y": Y_GOOD + 1}, r"y contains labels not in classes: \[3\]"),
        ([0, 1, 2], {"classes": [0, 1, 2, 3]}, r"classes \[0, 1, 2, 3\] differ from those"),
        ([0, 1, 2], {"classes": [0, 1]}, r"classes \[0, 1\] differ from those"),
        (np.array([0, 1, "a"], dtype=object), {}, "classes mixes labels that cannot be compared"),
        ([0, 1, "a"], {}, "classes mixes labels that cannot be compared"),
        ([0.0, 1.0, 2.0, np.nan], {}, "classes must be finite labels"),
        ([[0, 1, 2]], {}, "classes must be a 1-D array-like"),
        (3, {}, "classes must be a 1-D array-like"),
        ([0.5, 1.5, 2.5], {}, "classes must be class labels .* continuous"),
        ([0, 1, 2], {"X": X_GOOD[:, :2]}, "X has 2 features, but .* is expecting 3"),
    ],
)
def test_partial_fit_refuses_labels_outside_its_classes(first_classes, later, message):
    model = RegularizedMLPClassifier(random_state=0)
    if later:  # the first call succeeds, a later one is refused
        model.partial_fit(X_GOOD, Y_GOOD, classes=first_classes)
        state = {key: value for key, value in vars(model).items()}
        with pytest.raises(ValueError, match=message):
            model.partial_fit(**{"X": X_GOOD, "y": Y_GOOD, **later})
        assert all(vars(model)[key] is value for key, value in state.items())
    else:
        with pytest.raises((ValueError, TypeError), match=message):
            model.partial_fit(X_GOOD, Y_GOOD, classes=first_classes)
        assert_unfitted(model)


@pytest.mark.parametrize("n_features", [N_FEATURES - 1, N_FEATURES + 2])
def test_warm_start_refuses_another_number_of_features(n_features):
    model = RegularizedMLPClassifier(warm_start=True, max_iter=5, random_state=0)
    model.fit(X_GOOD, Y_GOOD)
    coefs = [W.copy() for W in model.coefs_]
    X = np.random.RandomState(1).standard_normal((N_SAMPLES, n_features))
    with pytest.raises(ValueError, match=f"X has {n_features} features, but .* is expecting 3"):
        model.fit(X, Y_GOOD)
    for before, after in zip(coefs, model.coefs_):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("continue_with", ["warm_start", "partial_fit"])
def test_continuing_refuses_other_hidden_layers(continue_with):
    model = RegularizedMLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    model.partial_fit(X_GOOD, Y_GOOD, classes=[0, 1, 2])
    coefs = [W.copy() for W in model.coefs_]
    model.set_params(hidden_layer_sizes=(7, 4), warm_start=True)
    with pytest.raises(
        ValueError,
        match=r"Cannot continue training a network with layers "
        r"\[3, 5, 3\] on data and parameters that need layers \[3, 7, 4, 3\]",
    ):
        getattr(model, "partial_fit" if continue_with == "partial_fit" else "fit")(X_GOOD, Y_GOOD)
    for before, after in zip(coefs, model.coefs_, strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("solver", ["momentum", "adam"])
@pytest.mark.parametrize(("fitted", "cast"), [(np.float32, np.float64), (np.float64, np.float32)])
def test_a_network_cast_to_the_other_float_dtype_continues_training_in_it(
    engine, solver, fitted, cast
):
    """partial_fit trains in the dtype of ``coefs_``, and the optimizer's state follows it. The
    compiled engine read float32 moments as float64 vectors (a heap overflow: a crash) and
    float64 ones as float32 (a spurious divergence)."""
    models = {}
    for name in ("numpy", engine):
        model = RegularizedMLPClassifier(
            solver=solver, hidden_layer_sizes=(16,), max_iter=5, random_state=0, engine=name
        ).fit(X_GOOD.astype(fitted), Y_GOOD)
        model.coefs_ = [W.astype(cast) for W in model.coefs_]
        model.intercepts_ = [b.astype(cast) for b in model.intercepts_]
        model.partial_fit(X_GOOD, Y_GOOD)
        state = model.optimizer_.velocity if solver == "momentum" else model.optimizer_.first_moment
        assert model.coefs_[0].dtype == state.dtype == cast
        models[name] = model
    for a, b in zip(models["numpy"].coefs_, models[engine].coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float16, np.longdouble, np.int64])
def test_continuing_refuses_coefficients_of_another_dtype(engine, dtype):
    """Training continues in the dtype of ``coefs_``: a float16 one corrupted the compiled
    engine's heap (it reads every float buffer as float32 or float64)."""
    model = RegularizedMLPClassifier(max_iter=5, random_state=0, engine=engine)
    model.fit(X_GOOD, Y_GOOD)
    model.coefs_ = [W.astype(dtype) for W in model.coefs_]
    with pytest.raises(ValueError, match=f"coefs_ holds {np.dtype(dtype).name} arrays"):
        model.partial_fit(X_GOOD, Y_GOOD)


@pytest.mark.parametrize("nan_from_epoch", [1, 4])
def test_an_early_stopping_scorer_that_gives_nan_is_refused(nan_from_epoch):
    """NaN compares with no score: counted as no improvement it stopped training early and
    restored the initial weights (or, counted as one, trained every epoch and restored them),
    silently. The fit now says which scorer and which epoch, and leaves the model unfitted."""
    calls = []

    def score(y_true, y_pred):
        calls.append(1)
        return np.nan if len(calls) >= nan_from_epoch else float((y_true == y_pred).mean())

    model = RegularizedMLPClassifier(
        early_stopping=True, scoring=make_scorer(score), max_iter=50, random_state=0
    )
    message = f"gave NaN for the held-out rows after epoch {nan_from_epoch}"
    with pytest.raises(ValueError, match=message) as raised:
        model.fit(X_GOOD, np.arange(N_SAMPLES) % 2)
    assert "make_scorer(score" in str(raised.value) and "early_stopping=False" in str(raised.value)
    assert_unfitted(model)


@pytest.mark.parametrize("Estimator", [RegularizedMLPClassifier, RegularizedMLPRegressor])
@pytest.mark.parametrize("weight", [np.nan, np.inf, -np.inf])
def test_a_scalar_sample_weight_that_is_not_finite_is_refused_by_name(Estimator, weight):
    """scikit-learn checks arrays of weights, not a scalar, which gave an IndexError, a
    ZeroDivisionError or a "diverged" error naming no input."""
    model = Estimator(max_iter=5)
    message = "sample_weight must be finite|Negative values in data passed to `sample_weight`"
    with pytest.raises(ValueError, match=message):
        model.fit(X_GOOD, np.arange(N_SAMPLES) % 2, sample_weight=weight)
    assert not hasattr(model, "coefs_")


@pytest.mark.parametrize("keep_prob", [5e-324, 1e-12, [1.0, 1e-300]])
def test_keep_probabilities_the_dropout_words_cannot_resolve_are_refused(keep_prob):
    """A unit is kept when its 32-bit word is below ``keep_prob * 2**32``: below 2**-32 none is
    ever kept, and the inverse scale overflowed (a RuntimeWarning, then NaN Monte-Carlo
    probabilities on the compiled engine and "diverged" on NumPy's)."""
    model = RegularizedMLPClassifier(hidden_layer_sizes=(4, 4), keep_prob=keep_prob, max_iter=3)
    with pytest.raises(ValueError, match=r"keep_prob.*(2\*\*-32|2\.3283064365386963e-10)"):
        model.fit(X_GOOD, Y_GOOD)
    assert_unfitted(model)


def test_early_stopping_that_leaves_a_split_without_weight_says_so():
    """Only two rows weigh anything. With dropout (training on the rows as they are), some
    validation split holds out both, leaving a training set of total weight 0 (which gave a NaN
    cost and a bogus divergence error), another neither, leaving a validation set whose weighted
    accuracy is undefined. Without dropout, training sees the weighted set of rows, zero-weight
    rows gone: two rows, too few for a stratified validation split, which is refused."""
    weights = np.r_[1.0, 1.0, np.zeros(N_SAMPLES - 2)]
    expectations = [(0.9, {"fitted", "training", "validation"}), (1.0, {"too few"})]
    for keep_prob, expected in expectations:
        outcomes = set()
        for seed in range(30):
            model = RegularizedMLPClassifier(
                early_stopping=True, validation_fraction=0.2, max_iter=3, random_state=seed,
                keep_prob=keep_prob,
            )  # fmt: skip
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model.fit(X_GOOD, np.arange(N_SAMPLES) % 2, sample_weight=weights)
                outcomes.add("fitted")
            except ValueError as error:
                split = re.search(
                    "early_stopping left the (training|validation) split with no sample of "
                    "positive sample_weight|(too few)|should be greater or equal",
                    str(error),
                )
                assert split is not None, str(error)
                assert_unfitted(model)
                outcomes.add(split.group(1) or "too few")
        assert outcomes == expected  # every kind of split occurred


def test_the_hyperparameter_tables_cover_every_parameter(hyperparameter_tables):
    """conftest's valid and invalid tables must list every parameter of the estimator, so that
    the property and hostile-input tests draw from all of them."""
    valid, invalid = hyperparameter_tables
    names = set(RegularizedMLPClassifier().get_params())
    assert valid == names
    assert invalid == names
