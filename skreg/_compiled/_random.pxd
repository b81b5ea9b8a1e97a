from ._common cimport DropoutLanes, RandomState, intp_t
from libc.stdint cimport uint32_t

cdef void fill_words(DropoutLanes* lanes, uint32_t* words, intp_t n) noexcept nogil
cdef void fill_normals(RandomState* state, double* normals, intp_t n) noexcept nogil
