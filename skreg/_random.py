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
2. **input noise**: one standard normal per input entry, rows-major, two from each 64-bit output
   by the Box-Muller transform of its halves (:func:`standard_normals`).

A mini-batch epoch starts with ``Generator.permutation(n_samples)``. The bit generator's raw
outputs are specified by SFC64 itself (NumPy guarantees them across versions), so the compiled
engine can compute the same words natively (:mod:`skreg._numba_engine`) from the state
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
    """Standard normals of the given shape, two from each 64-bit output (the Box-Muller
    transform of its halves): with ``h`` and ``l`` its high and low halves, ``r = sqrt(-2 log((h
    + 1) / 2**32))`` and ``t = 2 pi l / 2**32``, the pair ``r cos t, r sin t``; an odd count
    leaves the last sine unused."""
    n = math.prod(shape)
    raw = stream.bit_generator.random_raw((n + 1) // 2)
    radius = np.log(((raw >> np.uint64(32)) + 1.0) * 2.0**-32)
    radius *= -2.0
    np.sqrt(radius, out=radius)
    angle = (raw & np.uint64(0xFFFFFFFF)) * (2.0 * math.pi * 2.0**-32)
    normals = np.empty((raw.size, 2))
    np.multiply(radius, np.cos(angle), out=normals[:, 0])
    np.multiply(radius, np.sin(angle), out=normals[:, 1])
    return normals.reshape(-1)[:n].reshape(shape)


def sfc64_state(stream):
    """The four 64-bit words of the stream's SFC64 state, a copy to advance natively."""
    return np.array(stream.bit_generator.state["state"]["state"], dtype=np.uint64)


def set_sfc64_state(stream, words):
    """Put back the state advanced from :func:`sfc64_state`."""
    state = stream.bit_generator.state
    state["state"]["state"] = words
    stream.bit_generator.state = state
