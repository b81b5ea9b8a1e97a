# The output losses and their gradients with respect to the logits (see skreg._base).

from cython cimport floating

from ._common cimport Loss, intp_t


cdef double loss_and_gradient(const Loss* loss, const floating* logits, const floating* YT,
                              floating* delta, intp_t n_outputs, intp_t n_rows,
                              floating inv_step_rows, const floating* weights) noexcept nogil
