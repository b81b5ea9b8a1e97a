"""skreg: a scikit-learn classifier network with the regularisation MLPClassifier lacks."""

from ._classifier import RegularizedMLPClassifier

__version__ = "0.1.0"

__all__ = ["RegularizedMLPClassifier", "__version__"]
