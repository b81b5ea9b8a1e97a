"""scikit-learn's callback API (``sklearn.callback``, scikit-learn 1.9 and later) for the fits.

A fit is a task whose subtasks are its epochs (L-BFGS iterations for ``"lbfgs"``): callbacks set
with ``set_callbacks`` (or propagated from a ``Pipeline`` or a search) hear of each epoch's
beginning and end, with a ready-to-predict copy of the estimator at that epoch when they ask for
one, and a callback that asks to stop ends training after that epoch. Without callbacks none of
this runs. Older scikit-learn releases have no ``sklearn.callback``: the estimators then simply
lack ``set_callbacks``.
"""

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9

    class CallbackSupportMixin:
        """Placeholder: callbacks need scikit-learn 1.9 or later."""


#: Whether this scikit-learn has the callback API.
CALLBACKS_AVAILABLE = hasattr(CallbackSupportMixin, "set_callbacks")


def has_callbacks(estimator):
    """Whether this fit of ``estimator`` has callbacks, its own or propagated from a
    meta-estimator. A meta-estimator (a search, a pipeline) gives each fit a callback context
    even when no callback is set anywhere: such a fit has none to call, and trains as fast as
    alone."""
    return CALLBACKS_AVAILABLE and bool(getattr(estimator, "_skl_callbacks", None))


class FitCallbacks:
    """The callback context of one fit: the fit task and one subtask per epoch.

    ``fitted_attributes(flat)`` returns the fitted attributes that make a copy of the estimator
    predict with the parameters ``flat``; it is called only for callbacks that ask for such a
    copy (``fitted_estimator``), on a copy of the parameters of that moment.
    """

    def __init__(self, estimator, X, y, metadata, max_epochs, fitted_attributes):
        self.estimator, self.X, self.y, self.metadata = estimator, X, y, metadata
        self.fitted_attributes = fitted_attributes
        self.context = estimator._init_callback_context(max_subtasks=max_epochs)
        self.context.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=metadata)
        self.epoch_context = None
        self.stop_requested = False

    def _hook_arguments(self, flat):
        snapshot = flat.copy()
        return {
            "estimator": self.estimator,
            "X": self.X,
            "y": self.y,
            "metadata": self.metadata,
            "reconstruction_attributes": lambda: self.fitted_attributes(snapshot),
        }

    def begin_epoch(self, flat):
        self.epoch_context = self.context.subcontext(task_name="epoch")
        self.epoch_context.call_on_fit_task_begin(**self._hook_arguments(flat))

    def end_epoch(self, flat):
        """Ends the current epoch; returns whether a callback asks to stop training."""
        stop = self.epoch_context.call_on_fit_task_end(**self._hook_arguments(flat))
        self.epoch_context = None
        self.stop_requested = self.stop_requested or bool(stop)
        return self.stop_requested

    def end_fit(self, flat):
        """Ends the fit task (and an epoch left open, as an empty task)."""
        if self.epoch_context is not None:
            self.epoch_context.call_on_fit_task_end(estimator=self.estimator)
        self.context.call_on_fit_task_end(**self._hook_arguments(flat))


class CallbackStopper:
    """A training loop's stopping rule (called after every epoch with its cost and the
    parameters) that also runs the callbacks of the epoch: it ends the epoch that just ran and
    begins the next, and stops when the wrapped rule or a callback says so."""

    def __init__(self, callbacks, inner, params, max_epochs):
        self.callbacks, self.inner = callbacks, inner
        self.epochs_left = max_epochs
        callbacks.begin_epoch(params.flat)

    @property
    def stopped(self):
        return self.callbacks.stop_requested or bool(getattr(self.inner, "stopped", False))

    def __call__(self, cost, params):
        inner_stop = self.inner is not None and self.inner(cost, params)
        callback_stop = self.callbacks.end_epoch(params.flat)
        stop = inner_stop or callback_stop
        self.epochs_left -= 1
        if not stop and self.epochs_left > 0:
            self.callbacks.begin_epoch(params.flat)
        return stop
