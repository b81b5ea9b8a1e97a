"""Plots for skreg models, in scikit-learn's Display style.

Only what scikit-learn lacks lives here. For decision boundaries use
:class:`sklearn.inspection.DecisionBoundaryDisplay`, and for validation curves
:class:`sklearn.model_selection.ValidationCurveDisplay`; both work with
:class:`~skreg.RegularizedMLPClassifier` as with any classifier.

Matplotlib is imported only when a plot is drawn, so ``import skreg`` does not import it.
"""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils._plotting import _validate_style_kwargs
from sklearn.utils.validation import check_is_fitted

__all__ = ["LossCurveDisplay"]


class LossCurveDisplay:
    """Training cost per iteration, with the validation score when it was recorded.

    It is recommended to use :meth:`from_estimator` to create a display; the constructor takes
    the curves themselves. All parameters are stored as attributes.

    Parameters
    ----------
    loss_curve : array-like of shape (n_iter,)
        Training cost at each iteration, such as a fitted model's ``loss_curve_``.

    validation_scores : array-like of shape (n_scores,), default=None
        Score on held-out data, such as ``validation_scores_`` of a model trained with early
        stopping. The scores are drawn on a second y-axis, spread evenly over the iterations
        (one score per iteration when ``n_scores == n_iter``). ``None`` draws the cost alone.

    estimator_name : str, default=None
        Name of the model, shown in the legend. ``None`` shows no legend entry for it.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The training-cost curve.

    validation_line_ : matplotlib Line2D or None
        The validation-score curve, or ``None`` when there are no validation scores.

    ax_ : matplotlib Axes
        Axes of the cost curve.

    validation_ax_ : matplotlib Axes or None
        Second y-axis of the validation-score curve, sharing ``ax_``'s x-axis, or ``None``.

    figure_ : matplotlib Figure
        Figure holding the plot.

    See Also
    --------
    sklearn.inspection.DecisionBoundaryDisplay : Decision boundary of a classifier.
    sklearn.model_selection.ValidationCurveDisplay : Score against a hyperparameter.

    Examples
    --------
    >>> from skreg import RegularizedMLPClassifier
    >>> from skreg.datasets import make_football
    >>> from skreg.plotting import LossCurveDisplay
    >>> X_train, X_test, y_train, y_test = make_football()
    >>> model = RegularizedMLPClassifier(max_iter=500, random_state=0).fit(X_train, y_train)
    >>> display = LossCurveDisplay.from_estimator(model)
    >>> display.line_.get_xydata().shape
    (500, 2)
    """

    def __init__(self, *, loss_curve, validation_scores=None, estimator_name=None):
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` creates a new figure and axes.

        name : str, default=None
            Name for the legend; ``None`` uses ``estimator_name``.

        **kwargs : dict
            Keyword arguments passed to matplotlib's ``plot`` for the cost curve.

        Returns
        -------
        display : LossCurveDisplay
            The display, with the attributes ``ax_``, ``figure_``, ``line_``,
            ``validation_ax_`` and ``validation_line_`` set.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        name = self.estimator_name if name is None else name
        loss = np.asarray(self.loss_curve, dtype=float).ravel()
        if loss.size == 0:
            raise ValueError("loss_curve is empty: there is no training cost to draw.")

        label = "training cost" if name is None else f"{name}: training cost"
        style = _validate_style_kwargs({"label": label}, kwargs)
        (self.line_,) = ax.plot(np.arange(loss.size), loss, **style)
        ax.set_xlabel("iteration")
        ax.set_ylabel("cost")
        # Every labelled line already on ``ax``, so displays drawn on one axes share a legend.
        handles = ax.get_legend_handles_labels()[0]

        self.validation_ax_ = self.validation_line_ = None
        if self.validation_scores is not None:
            scores = np.asarray(self.validation_scores, dtype=float).ravel()
            at = np.linspace(0, loss.size - 1, scores.size)
            self.validation_ax_ = ax.twinx()
            label = "validation score" if name is None else f"{name}: validation score"
            (self.validation_line_,) = self.validation_ax_.plot(
                at, scores, color="tab:orange", label=label
            )
            self.validation_ax_.set_ylabel("validation score")
            handles.append(self.validation_line_)
            # Draw ``ax`` (and so the legend) above the twin axes, through its own background.
            ax.set_zorder(self.validation_ax_.get_zorder() + 1)
            ax.patch.set_visible(False)

        ax.legend(handles=handles, loc="best")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, **kwargs):
        """Plot the loss curve of a fitted model.

        Parameters
        ----------
        estimator : estimator instance
            A fitted :class:`~skreg.RegularizedMLPClassifier`, or a fitted
            :class:`~sklearn.pipeline.Pipeline` ending in one. Any fitted estimator with a
            ``loss_curve_`` attribute, such as scikit-learn's
            :class:`~sklearn.neural_network.MLPClassifier`, works too. Its
            ``validation_scores_``, when present and not ``None``, is drawn as well.

        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` creates a new figure and axes.

        name : str, default=None
            Name for the legend; ``None`` uses the class name of the (final) estimator.

        **kwargs : dict
            Keyword arguments passed to matplotlib's ``plot`` for the cost curve.

        Returns
        -------
        display : LossCurveDisplay
            The display, drawn.
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        model = estimator[-1] if isinstance(estimator, Pipeline) else estimator
        check_is_fitted(model)
        if not hasattr(model, "loss_curve_"):
            raise TypeError(
                "estimator must be a fitted RegularizedMLPClassifier (or a Pipeline ending in "
                f"one) or another model with a loss_curve_ attribute; got {type(model).__name__}."
            )
        display = cls(
            loss_curve=model.loss_curve_,
            validation_scores=getattr(model, "validation_scores_", None),
            estimator_name=type(model).__name__ if name is None else name,
        )
        return display.plot(ax=ax, **kwargs)
