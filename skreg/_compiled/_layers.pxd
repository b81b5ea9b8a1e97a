# Forward and backward passes through the layers of a network (see _common.pxd for the layouts).

from cython cimport floating

from ._common cimport Batch, Dropout, Network, intp_t


cdef intp_t forward(const Network* network, const Dropout* dropout, Batch* batch,
                    const floating* flat) noexcept nogil

cdef void backward(const Network* network, const Dropout* dropout, Batch* batch,
                   const floating* flat, floating* grads) noexcept nogil

cdef void gemm(bint trans_a, bint trans_b, intp_t m, intp_t n, intp_t k, floating alpha,
               const floating* a, intp_t lda, const floating* b, intp_t ldb, floating beta,
               floating* c, intp_t ldc) noexcept nogil
