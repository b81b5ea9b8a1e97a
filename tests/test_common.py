import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor
from skreg._engines import compiled_engine

MINI_BATCHES = (
    "Mini-batches hold different rows when rows are repeated instead of weighted, and the early "
    "stopping split differs too: the equivalence cannot hold."
)

EARLY_STOPPING = (
    "The check's weighted data set leaves a class with one distinct row, which early stopping's "
    "stratified split refuses, as scikit-learn's does (the repeated data set has two)."
)

# Full batch: the defaults (engine "auto"), each engine, class weights and early stopping, with
# no expected failure but early stopping's (EARLY_STOPPING). The non-default configurations train
# 500 epochs instead of 30000 to keep the suite fast; every check holds from a few hundred epochs
# on (the accuracy checks too, whose fits start from a new random initialisation on every run).
FULL_BATCH = [
    RegularizedMLPClassifier(),
    RegularizedMLPClassifier(engine="numpy", max_iter=500),
    RegularizedMLPClassifier(class_weight="balanced", max_iter=500),
    # Validation splits of 20 to 30 %: on the checks' smallest data sets (20 rows, 3 classes;
    # their weighted sets of distinct rows), scikit-learn's stratified split has no room at 10 %.
    RegularizedMLPClassifier(early_stopping=True, validation_fraction=0.3, max_iter=500),
    RegularizedMLPClassifier(activation="tanh", max_iter=500),  # a bounded hidden activation
]
if compiled_engine() is not None:
    FULL_BATCH.append(RegularizedMLPClassifier(engine="compiled", max_iter=500))


def expected_failed_checks(estimator):
    if estimator.batch_size is None and not estimator.early_stopping:
        return {}  # full batch: every check passes
    reason = MINI_BATCHES if estimator.batch_size is not None else EARLY_STOPPING
    return {
        "check_sample_weight_equivalence_on_dense_data": reason,
        "check_sample_weight_equivalence_on_sparse_data": reason,
    }


@parametrize_with_checks(
    [
        *FULL_BATCH,
        # batch_size=8: mini-batches on the checks' data sets (15 to 100 rows)
        RegularizedMLPClassifier(
            solver="adam", batch_size=8, early_stopping=True, validation_fraction=0.2
        ),
        # Early stopping that must serve class weights of 1000 : 0.0001
        # (check_class_weight_classifiers): the default scoring="loss" does.
        RegularizedMLPClassifier(
            solver="adam",
            batch_size=32,
            early_stopping=True,
            learning_rate=0.01,
            validation_fraction=0.3,
        ),
        # The regressor: its defaults (full-batch Adam), and mini-batches with early stopping.
        RegularizedMLPRegressor(),
        RegularizedMLPRegressor(
            batch_size=8, early_stopping=True, n_iter_no_change=10, validation_fraction=0.3
        ),
    ],
    expected_failed_checks=expected_failed_checks,
)
# The checks fit for a set number of epochs (up to 1000) whether or not training converges there.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
