from cython cimport floating

from ._common cimport Network, Optimizer, PenaltySums, Regularization, intp_t

cdef void update(Optimizer* optimizer, floating* flat, floating* grads, intp_t n) noexcept nogil
cdef void update_slice(const Optimizer* optimizer, floating* flat, const floating* grads,
                       intp_t start, intp_t stop) noexcept nogil
cdef void count_adam_step(Optimizer* optimizer) noexcept nogil
cdef double adam_step_size(const Optimizer* optimizer, long long steps) noexcept nogil
cdef bint update_overflowed(const Optimizer* optimizer, const floating* flat,
                            intp_t n) noexcept nogil
cdef void end_epoch(Optimizer* optimizer, double n_samples) noexcept nogil
cdef void constrain(const Network* network, const Regularization* regularization,
                    const Optimizer* optimizer, floating* flat) noexcept nogil
cdef PenaltySums penalty_sums(const Network* network, const Regularization* penalty,
                              const floating* flat, floating* grads, intp_t start,
                              intp_t stop) noexcept nogil
cdef double add_penalty_cost(const Regularization* penalty, double cost,
                             PenaltySums sums) noexcept nogil
