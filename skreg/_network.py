"""The network core: plain functions on NumPy arrays, free of scikit-learn glue.

Layout, as in scikit-learn: activations are samples-major, ``(n_samples, n_units)``, and
``coefs[i]`` has shape ``(n_in, n_out)``. Intercepts are folded into the matrix products: layer
``i``'s parameters form one ``(n_in + 1, n_out)`` block, its coefficients with its intercepts as
the last row, and every layer's input carries a trailing column of ones (``with_ones_column`` for
``X``; the hidden layers' output buffers have theirs built in), so one product applies both. All
blocks live in one flat buffer, so an optimizer step is a few in-place operations on it. Training
works in buffers allocated once per fit. Only the input ``X`` may be a scipy.sparse matrix.
"""

import math
import operator
import weakref
from dataclasses import dataclass, field
from functools import cached_property, partial

import numpy as np
import scipy.sparse as sp

from ._base import ACTIVATIONS, BOUNDED_ACTIVATIONS, DERIVATIVES, in_double, loss_function
from ._random import dropout_words, keep_threshold


class Parameters:
    """Coefficients and intercepts of a network, as views into one flat buffer, and the network's
    description: its units per layer and its hidden layers' activation.

    ``layers[i]`` is layer ``i``'s ``(n_in + 1, n_out)`` block; ``coefs[i]`` and ``intercepts[i]``
    are its first ``n_in`` rows and its last row.

    Parameters
    ----------
    layer_units : sequence of int
        Units per layer, input and output layers included.
    dtype : numpy dtype
        Floating dtype of the buffer.
    activation : str, default="relu"
        Activation of every hidden layer, a key of :data:`skreg._base.ACTIVATIONS`.
    flat : ndarray or None, default=None
        The buffer, 1-D, of ``dtype`` and of the parameters' size exactly; a new one of zeros if
        None.
    """

    def __init__(self, layer_units, dtype, activation="relu", flat=None):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"Unknown activation {activation!r}; use one of {sorted(ACTIVATIONS)}."
            )
        self.layer_units = list(layer_units)
        self.activation = activation
        shapes = [(n_in + 1, n_out) for n_in, n_out in zip(layer_units[:-1], layer_units[1:])]
        size = sum(rows * cols for rows, cols in shapes)
        if flat is None:
            flat = np.zeros(size, dtype=dtype)
        elif flat.shape != (size,) or flat.dtype != dtype:
            raise ValueError(f"A buffer of {size} parameters of {dtype} is needed.")
        self.flat = flat
        self.layers = []
        start = 0
        for rows, cols in shapes:
            self.layers.append(self.flat[start : start + rows * cols].reshape(rows, cols))
            start += rows * cols
        self.coefs = [layer[:-1] for layer in self.layers]
        self.intercepts = [layer[-1] for layer in self.layers]

    @cached_property
    def coef_mask(self):
        """1 at the coefficients, 0 at the intercepts: what the weight penalties act on (made
        when first asked for: prediction never needs it)."""
        mask = np.ones_like(self.flat)
        start = 0
        for layer in self.layers:
            rows, cols = layer.shape
            mask[start + (rows - 1) * cols : start + rows * cols] = 0
            start += rows * cols
        return mask

    @classmethod
    def from_arrays(cls, coefs, intercepts, dtype=None, activation="relu"):
        """Parameters holding copies of ``coefs`` and ``intercepts`` (e.g. a fitted model's), in
        ``dtype`` (default: that of ``coefs[0]``)."""
        layer_units = [coefs[0].shape[0]] + [b.shape[0] for b in intercepts]
        params = cls(layer_units, coefs[0].dtype if dtype is None else dtype, activation)
        for target, source in zip(params.coefs + params.intercepts, coefs + intercepts):
            target[...] = source
        return params

    @classmethod
    def shared_or_copied(cls, coefs, intercepts, dtype, activation="relu"):
        """Parameters of ``coefs`` and ``intercepts`` in ``dtype`` for prediction, which only
        reads them: over the buffer they are views of if they are laid out as ``Parameters`` lays
        out its own (a fitted model's are, until replaced or unpickled), read-only; else over a
        copy (``from_arrays``)."""
        shared = _SHARED_BUFFERS.parameters(coefs, intercepts, dtype, activation)
        if shared is None:
            return cls.from_arrays(coefs, intercepts, dtype, activation)
        return shared


class _SharedBuffers:
    """Read-only :class:`Parameters` over the buffers that fitted models' coefficients and
    intercepts are views of.

    Arrays are recognised as such by their addresses the first time (``_SharedBuffer.find``),
    then by their identity: an array's address never changes, while its shape, strides and dtype,
    which can be set in place, are compared at every look-up."""

    def __init__(self):
        self._entries = {}  # id of the first coefficient array -> _SharedBuffer

    def parameters(self, coefs, intercepts, dtype, activation):
        """Parameters over the buffer of ``coefs`` and ``intercepts``, or None if they are not
        views of one in the layout of ``Parameters``, in ``dtype``."""
        arrays = [*coefs, *intercepts]
        key = id(arrays[0])
        entry = self._entries.get(key)
        if entry is None or not entry.describes(arrays, dtype, activation):
            release = partial(self._forget, key)
            entry = _SharedBuffer.find(arrays, len(coefs), dtype, activation, release)
            if entry is None:
                return None
            self._entries[key] = entry
        return entry.params

    def _forget(self, key, _):
        # Called as the first array goes, before another object can take its id.
        self._entries.pop(key, None)


class _SharedBuffer:
    """Read-only ``params`` over the buffer that ``arrays`` (coefficients, then intercepts) are
    views of, and what they were: their ids and layouts. The ids stay theirs while the entry
    lives: it keeps the arrays but the first, whose going calls ``release``."""

    def __init__(self, params, arrays, release):
        self.params = params
        self.ids = list(map(id, arrays))
        self.layouts = list(map(_LAYOUT, arrays))
        self._first = weakref.ref(arrays[0], release)
        self._others = arrays[1:]

    @classmethod
    def find(cls, arrays, n_layers, dtype, activation, release):
        """The entry for ``arrays``, if they are views of one buffer of ``dtype``, each where
        ``Parameters`` puts its own; else None."""
        coefs, intercepts = arrays[:n_layers], arrays[n_layers:]
        if not all(isinstance(a, np.ndarray) for a in arrays):
            return None
        flat = arrays[0].base  # (a memory map's is not an array)
        if not isinstance(flat, np.ndarray) or flat.dtype != dtype:
            return None
        if any(a.base is not flat for a in arrays):
            return None
        if any(W.ndim != 2 for W in coefs) or any(b.ndim != 1 for b in intercepts):
            return None
        read_only = flat.view()  # (the model's own arrays stay writeable)
        read_only.flags.writeable = False
        layer_units = [coefs[0].shape[0]] + [b.shape[0] for b in intercepts]
        try:
            params = Parameters(layer_units, dtype, activation, flat=read_only)
        except ValueError:  # a buffer of another size (or an activation from_arrays refuses)
            return None
        expected = params.coefs + params.intercepts
        if list(map(_LAYOUT, arrays)) != list(map(_LAYOUT, expected)):
            return None
        if list(map(_address, arrays)) != list(map(_address, expected)):
            return None
        return cls(params, arrays, release)

    def describes(self, arrays, dtype, activation):
        return (
            self.params.activation == activation
            and self.params.flat.dtype == dtype
            and list(map(id, arrays)) == self.ids
            and list(map(_LAYOUT, arrays)) == self.layouts
        )


_LAYOUT = operator.attrgetter("shape", "strides", "dtype")


def _address(array):
    return array.__array_interface__["data"][0]


_SHARED_BUFFERS = _SharedBuffers()


def with_ones_column(X, dtype=None):
    """``X`` with a trailing column of ones, the input of :func:`forward` (CSR if ``X`` is
    sparse), in ``dtype`` (by default that of ``X``)."""
    dtype = X.dtype if dtype is None else dtype
    if sp.issparse(X):
        return sp.hstack([X, np.ones((X.shape[0], 1), dtype=dtype)], format="csr", dtype=dtype)
    X1 = np.empty((X.shape[0], X.shape[1] + 1), dtype=dtype)
    X1[:, :-1] = X
    X1[:, -1] = 1
    return X1


def init_parameters(layer_units, rng, dtype=np.float64, activation="relu"):
    """Reference initialisation, layer by layer: ``W = randn(n_out, n_in) / sqrt(n_in)``, ``b = 0``.

    ``W`` is drawn units-out-major, as in the course notebook, and stored transposed, so a given
    ``RandomState`` yields the notebook's weights exactly. ``activation`` is the hidden layers'
    (see :class:`Parameters`); it does not change the draws.
    """
    params = Parameters(layer_units, dtype, activation)
    for W in params.coefs:
        n_in, n_out = W.shape
        W[...] = (rng.randn(n_out, n_in) / np.sqrt(n_in)).T
    return params


@dataclass
class LayerOutputs:
    """Output buffers of every layer for a batch of rows.

    ``activations[i]`` is layer ``i``'s output, the last the logits. ``hidden[i]`` is hidden layer
    ``i``'s output followed by a column of ones (``activations[i]`` is a view of it): the next
    layer's input. ``unmasked``, empty unless allocated with ``unmasked=True``, holds each hidden
    layer's output before its dropout mask: the derivatives of bounded activations (tanh,
    logistic) need those values, which the masks change.
    """

    activations: list
    hidden: list
    unmasked: list = field(default_factory=list)

    @classmethod
    def allocate(cls, n_rows, layer_units, dtype, unmasked=False):
        hidden, activations, before_masks = [], [], []
        for n in layer_units[1:-1]:
            H = np.empty((n_rows, n + 1), dtype=dtype)
            H.fill(1)  # (np.ones costs more in Python: prediction allocates on every call)
            hidden.append(H)
            activations.append(H[:, :-1])
            if unmasked:
                before_masks.append(np.empty((n_rows, n), dtype=dtype))
        activations.append(np.empty((n_rows, layer_units[-1]), dtype=dtype))
        return cls(activations, hidden, before_masks)

    def rows(self, n):
        """Views of the first ``n`` rows."""
        return LayerOutputs(
            [A[:n] for A in self.activations],
            [H[:n] for H in self.hidden],
            [U[:n] for U in self.unmasked],
        )


@dataclass
class Buffers:
    """Per-step buffers for a batch of rows: layer outputs, deltas, dropout masks, gradients."""

    layer_outputs: LayerOutputs
    deltas: list
    masks: list
    grads: Parameters


class Workspace:
    """Buffers for one training run, allocated once for the largest batch.

    ``rows(n)`` gives the buffers for a batch of ``n`` rows, as views of the first ``n`` rows (the
    last mini-batch of an epoch may be smaller). All batch sizes share the gradient buffers.
    Dropout masks, as large as the hidden activations, are allocated only if ``dropout``, and
    then for a bounded ``activation`` the hidden outputs before their masks too.
    """

    def __init__(self, max_rows, layer_units, dtype, dropout=True, activation="relu"):
        unmasked = dropout and activation in BOUNDED_ACTIVATIONS
        outputs = LayerOutputs.allocate(max_rows, layer_units, dtype, unmasked)
        activations = outputs.activations
        self._full = Buffers(
            layer_outputs=outputs,
            deltas=[np.empty(A.shape, dtype=dtype) for A in activations],
            masks=[np.ones(A.shape, dtype=dtype) for A in activations[:-1]] if dropout else [],
            grads=Parameters(layer_units, dtype),
        )
        self._views = {max_rows: self._full}

    @property
    def grads(self):
        return self._full.grads

    def rows(self, n):
        if n not in self._views:
            full = self._full
            self._views[n] = Buffers(
                layer_outputs=full.layer_outputs.rows(n),
                deltas=[D[:n] for D in full.deltas],
                masks=[M[:n] for M in full.masks],
                grads=full.grads,
            )
        return self._views[n]


def forward(X1, layers, layer_outputs, masks=None, activation="relu"):
    """Forward pass LINEAR -> ACTIVATION (-> dropout) ... -> LINEAR into ``layer_outputs``, a
    :class:`LayerOutputs`; returns the logits.

    ``X1`` is the input with a trailing column of ones (:func:`with_ones_column`) and ``layers``
    the parameter blocks (``Parameters.layers``); ``activation`` names the hidden layers'
    activation (``Parameters.activation``). ``masks[i]``, when given, multiplies hidden layer
    ``i`` after its activation (whose output is first copied to ``layer_outputs.unmasked[i]``
    when that buffer exists).
    """
    if masks is not None and activation in BOUNDED_ACTIVATIONS and not layer_outputs.unmasked:
        raise ValueError(
            f"Dropout with activation={activation!r} needs the outputs before the masks: allocate "
            f"the buffers with Workspace(..., activation={activation!r})."
        )
    A = X1
    last = len(layers) - 1
    activate = ACTIVATIONS[activation]
    for i, (layer, Z) in enumerate(zip(layers, layer_outputs.activations)):
        if isinstance(A, np.ndarray):  # (sp.issparse costs microseconds per call)
            np.matmul(A, layer, out=Z)
        else:
            Z[...] = A @ layer
        if i < last:
            A = layer_outputs.hidden[i]
            if activation in BOUNDED_ACTIVATIONS:
                activate(Z)
            else:  # on the whole buffer, contiguous, so faster: the column of ones stays 1
                activate(A)
            if masks is not None:
                if layer_outputs.unmasked:
                    layer_outputs.unmasked[i][...] = Z
                Z *= masks[i]
    return Z


def backward(X1, params, buffers, masks=None):
    """Backpropagate ``buffers.deltas[-1]`` (d loss / d logits) into ``buffers.grads``.

    Uses the outputs and masks of the forward pass that produced ``deltas[-1]``; the gradients
    are those of the data term only. Each layer's input carries its column of ones, so one
    product gives the gradients of its coefficients and intercepts.
    """
    outputs, deltas, grads = buffers.layer_outputs, buffers.deltas, buffers.grads
    derivative = DERIVATIVES[params.activation]
    # The derivatives are expressed from the activations' outputs: bounded ones need the values
    # before the dropout masks; the others only the signs, which positive masks keep.
    hidden_outputs = outputs.activations
    if masks is not None and outputs.unmasked:
        hidden_outputs = outputs.unmasked
    for i in range(len(deltas) - 1, -1, -1):
        A_in = X1 if i == 0 else outputs.hidden[i - 1]
        # np.dot: less overhead than np.matmul on the small products of small networks.
        if isinstance(A_in, np.ndarray):
            np.dot(A_in.T, deltas[i], out=grads.layers[i])
        else:
            grads.layers[i][...] = A_in.T @ deltas[i]
        if i > 0:
            D = deltas[i - 1]
            np.dot(deltas[i], params.coefs[i].T, out=D)
            if masks is not None:
                D *= masks[i - 1]
            # The chain rule through the activation (for ReLU, a factor 0 where a dropped unit's
            # output is 0: the mask, already applied).
            derivative(hidden_outputs[i - 1], D)


@dataclass(frozen=True)
class Penalty:
    """Weight penalty ``l2 / (2 m) * sum W**2 + l1 / m * sum |W|`` on the coefficients.

    ``m`` is the total sample weight of the training set (the number of samples when unweighted),
    whatever the batch, so mini-batch and full-batch training minimise the same objective.
    Intercepts are not penalised. The L1 term is not differentiable at 0: training applies it by a
    proximal (soft-threshold) step after each gradient step, which sets weights exactly to zero.
    """

    l2: float = 0.0
    l1: float = 0.0

    def cost_and_gradient(self, params, grads, m):
        """The penalty at ``params``; adds the gradient of its L2 term, ``l2 / m * W``, to
        ``grads`` (the L1 term is applied by :meth:`proximal_step`)."""
        cost = 0.0
        if self.l2:
            decay = params.flat * params.coef_mask
            decay *= self.l2 / m
            grads.flat += decay
            cost += 0.5 * float(np.dot(in_double(decay), in_double(params.flat)))
        if self.l1:
            coefs = in_double(np.abs(params.flat))
            cost += self.l1 / m * float(np.dot(coefs, in_double(params.coef_mask)))
        return cost

    def proximal_step(self, params, step_size, m):
        """Soft-threshold the coefficients by ``step_size * l1 / m`` (the L1 proximal operator).

        The intercepts' threshold is 0, which leaves them as they are."""
        if self.l1:
            w = params.flat
            shrunk = np.abs(w)
            shrunk -= (step_size * self.l1 / m) * params.coef_mask
            np.maximum(shrunk, 0, out=shrunk)
            np.copysign(shrunk, w, out=w)


def apply_max_norm(params, max_norm):
    """Rescale each unit's incoming weights (a column of ``W``) to norm at most ``max_norm``."""
    for W in params.coefs:
        norms = np.sqrt(np.einsum("ij,ij->j", W, W))
        W *= max_norm / np.maximum(norms, max_norm)


def draw_dropout_masks(stream, keep_probs, masks):
    """Fresh inverted-dropout masks: ``1 / keep_prob`` where a unit is kept, else 0.

    The words come from the training stream (:mod:`skreg._random`), units-major, one hidden layer
    after another; layers with ``keep_prob == 1`` keep their all-ones mask and draw nothing.
    """
    dropped = [(mask, p) for mask, p in zip(masks, keep_probs) if p < 1]
    words = dropout_words(stream, sum(mask.size for mask, _ in dropped))
    start = 0
    for mask, keep_prob in dropped:
        n_rows, n_units = mask.shape
        layer_words = words[start : start + mask.size].reshape(n_units, n_rows).T
        np.less(layer_words, keep_threshold(keep_prob), out=mask)
        mask *= 1.0 / keep_prob
        start += mask.size


def cost_and_gradients(X1, Y, params, buffers, loss, penalty, m, masks=None, weights=None):
    """Cost at ``params`` on the batch ``X1, Y``; its smooth part's gradient into
    ``buffers.grads``. ``X1`` carries a trailing column of ones (:func:`with_ones_column`).

    The cost is the batch's mean loss (``weights``, summing to 1, make it a weighted mean) plus
    the full penalty; the L1 part of the penalty has no gradient here (see :class:`Penalty`).
    """
    logits = forward(X1, params.layers, buffers.layer_outputs, masks, params.activation)
    cost = loss_function(loss)(logits, Y, buffers.deltas[-1], weights)
    backward(X1, params, buffers, masks)
    return cost + penalty.cost_and_gradient(params, buffers.grads, m)


def normalised(weights):
    """Sample weights scaled to sum to 1 (None stays None), as every step weighs its rows."""
    return None if weights is None else weights / weights.sum()


#: ``verbose`` prints the cost every this many epochs, as the course notebook does.
PRINT_EPOCHS = 1000


def print_cost(iteration, cost):
    """The verbose progress line, as the course notebook prints it."""
    print(f"Cost after iteration {iteration}: {cost}")


def raise_divergence(iteration, cost, learning_rate=None):
    """Raise the error of a fit whose cost or parameters stopped being finite; ``learning_rate``
    None for L-BFGS, which has none."""
    # Both engines report any overflow in a step (cost, gradient or update) as an infinite cost.
    what = (
        "a value overflowed (cost, gradient or update)"
        if cost == math.inf
        else f"the cost became {cost}"
    )
    advice = "Scale the inputs"
    if learning_rate is not None:
        advice = f"Use a smaller learning_rate (got {learning_rate}) or scale the inputs"
    raise ValueError(
        f"Training diverged at iteration {iteration}: {what}. {advice}, "
        "for example with sklearn.preprocessing.StandardScaler."
    )
