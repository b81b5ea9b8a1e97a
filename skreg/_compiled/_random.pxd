from ._common cimport RandomState, intp_t
from libc.stdint cimport uint32_t

cdef void fill_words(RandomState* state, uint32_t* words, intp_t n) noexcept nogil
cdef void fill_normals(RandomState* state, double* normals, intp_t n) noexcept nogil
