"""skreg: scikit-learn neural networks with the regularisation MLPClassifier and MLPRegressor
lack."""

from ._classifier import RegularizedMLPClassifier
from ._regressor import RegularizedMLPRegressor

__version__ = "0.1.0"

__all__ = ["RegularizedMLPClassifier", "RegularizedMLPRegressor", "__version__"]
