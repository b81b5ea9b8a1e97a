from sklearn.utils.estimator_checks import parametrize_with_checks

from skreg import RegularizedMLPClassifier

CHAOTIC_WEIGHTS = (
    "On this check's unscaled data, full-batch gradient descent at learning_rate=0.3 is unstable: "
    "the cost falls to 0.26, then jumps around iteration 1300-1900 and the ReLU network dies "
    "(it predicts the class frequencies). The weighted and repeated runs agree to 1e-16 at first, "
    "but which of them dies depends on those rounding differences. On dense data both die alike, "
    "so that check passes; on sparse data one survives. tests/test_toolbox.py checks the "
    "equivalence where training is stable (scaled data)."
)
MINI_BATCHES = (
    "Mini-batches hold different rows when rows are repeated instead of weighted, and the early "
    "stopping split differs too: the equivalence cannot hold."
)


def expected_failed_checks(estimator):
    if estimator.batch_size is None:
        return {"check_sample_weight_equivalence_on_sparse_data": CHAOTIC_WEIGHTS}
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
