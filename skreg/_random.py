"""The training stream: every random number of training after the initial weights.

One stream drives both engines, number for number. It is a :class:`numpy.random.Generator` on the
SFC64 bit generator, seeded by four 32-bit words drawn from the estimator's ``RandomState`` (the
one that draws the initial weights and the early-stopping split). Each training step consumes, in
this order:

1. **dropout**: one 32-bit word per dropped unit and row, hidden layer after hidden layer (layers
   with ``keep_prob == 1`` draw nothing), each layer units-major (all rows of its first unit, then
   of the next); words come two per 64-bit output of the bit generator, low half first, and an odd
   count leaves the last high half unused. A unit is kept when its word is below
   ``floor(keep_prob * 2**32)``;
2. **input noise**: one standard normal per input entry, rows-major, in pairs by Marsaglia's
   polar method from the halves of 64-bit outputs, rejected ones skipped (:func:`standard_normals`).

A mini-batch epoch starts with ``Generator.permutation(n_samples)``. The bit generator's raw
outputs are specified by SFC64 itself (NumPy guarantees them across versions), so the compiled
engine can compute the same words natively (``skreg/_compiled/_random.pyx``) from the state
:func:`sfc64_state` reads.
"""

import math

import numpy as np

_TWO_POW_32 = 2**32


def training_stream(rng):
    """The training stream of a fit, seeded from the fit's ``RandomState`` ``rng``."""
    seed = rng.randint(_TWO_POW_32, size=4, dtype=np.uint64)
    return np.random.Generator(np.random.SFC64(seed))


def keep_threshold(keep_prob):
    """A unit is kept when its 32-bit word is below this: ``P(keep) = keep_prob`` to 2**-32."""
    return np.uint32(min(math.floor(keep_prob * _TWO_POW_32), _TWO_POW_32 - 1))


def dropout_words(stream, n):
    """The next ``n`` dropout words (uint32), two from each 64-bit output, low half first."""
    raw = stream.bit_generator.random_raw((n + 1) // 2)
    return raw.astype("<u8", copy=False).view("<u4")[:n]  # little-endian: low half first


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
    state = stream.bit_generator.state
    state["state"]["state"] = words
    stream.bit_generator.state = state
