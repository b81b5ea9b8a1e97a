from sklearn.utils.estimator_checks import parametrize_with_checks

from skreg import RegularizedMLPClassifier


@parametrize_with_checks([RegularizedMLPClassifier()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
