"""The training stream: every random number of training after the initial weights.

One stream drives both engines, number for number. It is a :class:`numpy.random.Generator` on the
SFC64 bit generator, seeded by four 32-bit words drawn from the estimator's ``RandomState`` (the
one that draws the initial weights and the early-stopping split), with :data:`DROPOUT_LANES`
more SFC64 generators, its *dropout lanes*, seeded by the children its ``SeedSequence`` spawns.
A fit that continues earlier training (``partial_fit``, ``warm_start``) adds to the seed the
number of epochs trained before it: each call draws new masks, noise and orders, and the same
calls still give the same model.

Each training step draws, in this order:

1. **dropout**, from the lanes: one 32-bit word per dropped unit and row, hidden layer after
   hidden layer (layers with ``keep_prob == 1`` draw nothing), each layer units-major (all rows
   of its first unit, then of the next). The step's ``n`` words come two per 64-bit output, low
   half first, from ``ceil(ceil(n / 2) / DROPOUT_LANES)`` rounds: each round takes the next
   output of every lane, lane after lane, and the words past ``n`` are unused. A unit is kept
   when its word is below ``floor(keep_prob * 2**32)``. Lanes advance side by side, so the
   compiled engine draws a round in a few vector instructions where one SFC64 generator's
   outputs come one after the other;
2. **input noise**, from the generator: one standard normal per input entry, rows-major, in pairs
   by Marsaglia's polar method from the halves of 64-bit outputs, rejected ones skipped
   (:func:`standard_normals`).

A mini-batch epoch starts with ``Generator.permutation(n_samples)``. The bit generator's raw
outputs are specified by SFC64 itself (NumPy guarantees them across versions), so the compiled
engine can compute the same words natively (``skreg/_compiled/_random.pyx``) from the states
:func:`sfc64_state` and :func:`lane_states` read.
"""

import math

import numpy as np

_TWO_POW_32 = 2**32
#: The smallest keep probability the 32-bit dropout words resolve.
MIN_KEEP_PROB = 2.0**-32

#: The training stream's dropout lanes (``DROPOUT_LANES`` in ``skreg/_compiled/_common.pxd``).
DROPOUT_LANES = 8


class TrainingStream(np.random.Generator):
    """A generator on SFC64 (shuffles, input noise) and its dropout lanes, ``lanes``: a list of
    SFC64 bit generators."""

    def __init__(self, seed):
        sequence = np.random.SeedSequence(seed)
        super().__init__(np.random.SFC64(sequence))
        self.lanes = [np.random.SFC64(child) for child in sequence.spawn(DROPOUT_LANES)]


def training_stream(rng, epochs_before=0):
    """The training stream of a fit, seeded from the fit's ``RandomState`` ``rng`` and the
    number of epochs trained before this fit continues them (0 for a new model)."""
    seed = rng.randint(_TWO_POW_32, size=4, dtype=np.uint64)
    if epochs_before:
        seed = np.append(seed, np.uint64(epochs_before))
    return TrainingStream(seed)


def keep_threshold(keep_prob):
    """A unit is kept when its 32-bit word is below this: ``P(keep) = keep_prob`` to 2**-32."""
    return np.uint32(min(math.floor(keep_prob * _TWO_POW_32), _TWO_POW_32 - 1))


def dropout_words(stream, n):
    """The next ``n`` dropout words (uint32) from the stream's lanes: rounds of one output of
    each lane, lane after lane, each output two words, low half first."""
    rounds = -(-((n + 1) // 2) // DROPOUT_LANES)
    raw = np.empty((rounds, DROPOUT_LANES), dtype=np.uint64)
    for lane, bit_generator in enumerate(stream.lanes):
        raw[:, lane] = bit_generator.random_raw(rounds)
    return raw.reshape(-1).astype("<u8", copy=False).view("<u4")[:n]  # little-endian: low first


def standard_normals(stream, shape):
    """Standard normals of the given shape, in pairs by Marsaglia's polar method: each 64-bit
    output gives ``u`` and ``v`` uniform in [-1, 1) from its high and low halves; when ``s = u u +
    v v`` is in (0, 1), the pair is ``u f, v f`` with ``f = sqrt(-2 log(s) / s)``, else the
    output is skipped. An odd count leaves the last ``v f`` unused."""
    n_pairs = (math.prod(shape) + 1) // 2
    state = stream.bit_generator.state
    # Candidates in bulk (about 78.5% are accepted), then the stream is rewound and advanced by
    # exactly the outputs used, as the compiled engine draws them one by one.
    candidates = np.empty(0, dtype=np.uint64)
    while True:
        more = stream.bit_generator.random_raw(int(1.3 * n_pairs) + 16)
        candidates = np.concatenate([candidates, more])
        u, v, s = _polar_candidates(candidates)
        accepted = np.flatnonzero((s > 0) & (s < 1))
        if accepted.size >= n_pairs:
            break
    used = accepted[n_pairs - 1] + 1 if n_pairs else 0
    stream.bit_generator.state = state
    stream.bit_generator.random_raw(used)
    accepted = accepted[:n_pairs]
    s = s[accepted]
    factor = np.sqrt(-2.0 * np.log(s) / s)
    normals = np.empty((n_pairs, 2))
    np.multiply(u[accepted], factor, out=normals[:, 0])
    np.multiply(v[accepted], factor, out=normals[:, 1])
    return normals.reshape(-1)[: math.prod(shape)].reshape(shape)


def _polar_candidates(raw):
    u = (raw >> np.uint64(32)) * 2.0**-31 - 1.0
    v = (raw & np.uint64(0xFFFFFFFF)) * 2.0**-31 - 1.0
    return u, v, u * u + v * v


def sfc64_state(stream):
    """The four 64-bit words of the stream's SFC64 state, a copy to advance natively."""
    return np.array(stream.bit_generator.state["state"]["state"], dtype=np.uint64)


def set_sfc64_state(stream, words):
    """Put back the state advanced from :func:`sfc64_state`."""
    _set_state(stream.bit_generator, words)


def lane_states(stream):
    """The SFC64 states of the stream's dropout lanes, ``(DROPOUT_LANES, 4)`` words (a copy)."""
    return np.array([lane.state["state"]["state"] for lane in stream.lanes], dtype=np.uint64)


def set_lane_states(stream, states):
    """Put back the states advanced from :func:`lane_states`."""
    for bit_generator, words in zip(stream.lanes, states):
        _set_state(bit_generator, words)


def _set_state(bit_generator, words):
    state = bit_generator.state
    state["state"]["state"] = np.asarray(words, dtype=np.uint64)
    bit_generator.state = state
