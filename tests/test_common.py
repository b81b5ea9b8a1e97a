from sklearn.utils.estimator_checks import parametrize_with_checks

from skreg import RegularizedMLPClassifier

MINI_BATCHES = (
    "Mini-batches hold different rows when rows are repeated instead of weighted, and the early "
    "stopping split differs too: the equivalence cannot hold."
)


def expected_failed_checks(estimator):
    if estimator.batch_size is None:
        return {}  # the defaults pass every check
    return {
        "check_sample_weight_equivalence_on_dense_data": MINI_BATCHES,
        "check_sample_weight_equivalence_on_sparse_data": MINI_BATCHES,
    }


@parametrize_with_checks(
    [
        RegularizedMLPClassifier(),
        RegularizedMLPClassifier(solver="adam", batch_size=32, early_stopping=True),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
