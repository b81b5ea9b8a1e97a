"""The training stream's draws, natively: SFC64 outputs as NumPy's ``SFC64.random_raw`` gives
them, cut into dropout words and standard normals exactly as :mod:`skreg._random` does."""

from libc.math cimport log, sqrt
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy

from ._common cimport DROPOUT_LANES, DropoutLanes, RandomState, intp_t


cdef extern from "_lanes.h":
    void fill_rounds "skreg_fill_rounds" (
        uint64_t* a, uint64_t* b, uint64_t* c, uint64_t* counter, uint64_t* outputs,
        intp_t rounds,
    ) noexcept nogil


cdef inline uint64_t next_output(RandomState* state) noexcept nogil:
    """One step of SFC64 (NumPy's ``sfc64_next``)."""
    cdef uint64_t output = state.a + state.b + state.counter
    state.counter += 1
    state.a = state.b ^ (state.b >> 11)
    state.b = state.c + (state.c << 3)
    state.c = ((state.c << 24) | (state.c >> 40)) + output
    return output


cdef void fill_words(DropoutLanes* lanes, uint32_t* words, intp_t n) noexcept nogil:
    """The next ``n`` dropout words, from rounds of one output of each lane (``_lanes.h``), two
    words per output, low half first; ``words`` holds whole rounds (the words past ``n`` are
    unused)."""
    cdef intp_t rounds = ((n + 1) // 2 + DROPOUT_LANES - 1) // DROPOUT_LANES, i
    cdef uint64_t* outputs = <uint64_t*>words
    cdef uint64_t one = 1
    cdef uint32_t first_half
    fill_rounds(lanes.a, lanes.b, lanes.c, lanes.counter, outputs, rounds)
    memcpy(&first_half, &one, 4)
    if first_half != 1:  # the high byte first: swap each output's halves, low half first
        for i in range(rounds * DROPOUT_LANES):
            outputs[i] = (outputs[i] << 32) | (outputs[i] >> 32)


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


def draw_words(uint64_t[:, ::1] states, intp_t n):
    """The next ``n`` dropout words from the lanes' SFC64 ``states`` (``(DROPOUT_LANES, 4)``
    words, advanced in place), as a list: for the tests."""
    cdef DropoutLanes lanes
    cdef intp_t lane, rounds = ((n + 1) // 2 + DROPOUT_LANES - 1) // DROPOUT_LANES
    cdef uint32_t[::1] words = memoryview(bytearray(8 * max(rounds * DROPOUT_LANES, 1))).cast("I")
    for lane in range(DROPOUT_LANES):
        lanes.a[lane], lanes.b[lane] = states[lane, 0], states[lane, 1]
        lanes.c[lane], lanes.counter[lane] = states[lane, 2], states[lane, 3]
    fill_words(&lanes, &words[0], n)
    for lane in range(DROPOUT_LANES):
        states[lane, 0], states[lane, 1] = lanes.a[lane], lanes.b[lane]
        states[lane, 2], states[lane, 3] = lanes.c[lane], lanes.counter[lane]
    return list(words[:n])


def draw_normals(uint64_t[::1] state, intp_t n):
    """The next ``n`` standard normals from the SFC64 ``state`` (advanced in place), as a list:
    for the tests."""
    cdef RandomState record = RandomState(state[0], state[1], state[2], state[3])
    cdef double[::1] normals = memoryview(bytearray(8 * max(n, 1))).cast("d")
    fill_normals(&record, &normals[0], n)
    state[0], state[1], state[2], state[3] = record.a, record.b, record.c, record.counter
    return list(normals[:n])
