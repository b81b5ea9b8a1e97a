"""The training stream's draws, natively: SFC64 outputs as NumPy's ``SFC64.random_raw`` gives
them, cut into dropout words and standard normals exactly as :mod:`skreg._random` does."""

from libc.math cimport log, sqrt
from libc.stdint cimport uint32_t, uint64_t

from ._common cimport RandomState, intp_t


cdef inline uint64_t next_output(RandomState* state) noexcept nogil:
    """One step of SFC64 (NumPy's ``sfc64_next``)."""
    cdef uint64_t output = state.a + state.b + state.counter
    state.counter += 1
    state.a = state.b ^ (state.b >> 11)
    state.b = state.c + (state.c << 3)
    state.c = ((state.c << 24) | (state.c >> 40)) + output
    return output


cdef void fill_words(RandomState* state, uint32_t* words, intp_t n) noexcept nogil:
    """The next ``n`` dropout words: two per output, low half first (an odd ``n`` leaves the
    last high half unused)."""
    cdef intp_t i
    cdef uint64_t output
    for i in range(0, n - 1, 2):
        output = next_output(state)
        words[i] = <uint32_t>output  # the low half
        words[i + 1] = <uint32_t>(output >> 32)
    if n % 2:
        words[n - 1] = <uint32_t>next_output(state)


cdef void fill_normals(RandomState* state, double* normals, intp_t n) noexcept nogil:
    """The next ``n`` standard normals, in pairs by Marsaglia's polar method (see
    :func:`skreg._random.standard_normals`)."""
    cdef intp_t i = 0
    cdef uint64_t output
    cdef double u, v, s, factor
    while i < n:
        output = next_output(state)
        u = <double>(output >> 32) * 2.0 ** -31 - 1.0
        v = <double><uint32_t>output * 2.0 ** -31 - 1.0
        s = u * u + v * v
        if s >= 1.0 or s == 0.0:
            continue
        factor = sqrt(-2.0 * log(s) / s)
        normals[i] = u * factor
        if i + 1 < n:
            normals[i + 1] = v * factor
        i += 2


def draw_words(uint64_t[::1] state, intp_t n):
    """The next ``n`` dropout words from the SFC64 ``state`` (four words, advanced in place), as
    a list: for the tests."""
    cdef RandomState record = RandomState(state[0], state[1], state[2], state[3])
    cdef uint32_t[::1] words = memoryview(bytearray(4 * max(n, 1))).cast("I")
    fill_words(&record, &words[0], n)
    state[0], state[1], state[2], state[3] = record.a, record.b, record.c, record.counter
    return list(words[:n])


def draw_normals(uint64_t[::1] state, intp_t n):
    """The next ``n`` standard normals from the SFC64 ``state`` (advanced in place), as a list:
    for the tests."""
    cdef RandomState record = RandomState(state[0], state[1], state[2], state[3])
    cdef double[::1] normals = memoryview(bytearray(8 * max(n, 1))).cast("d")
    fill_normals(&record, &normals[0], n)
    state[0], state[1], state[2], state[3] = record.a, record.b, record.c, record.counter
    return list(normals[:n])
