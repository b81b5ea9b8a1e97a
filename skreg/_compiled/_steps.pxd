from cython cimport floating

from ._common cimport Batch, Problem, Shards, StepRows, intp_t

cdef void gather(const floating* source, intp_t n_columns, const intp_t* rows, intp_t n_rows,
                 floating* target) noexcept nogil
cdef void draw(Problem* p, intp_t n_rows) noexcept nogil
cdef void add_noise(const Problem* p, const floating* inputs, const intp_t* rows,
                    intp_t n_rows, floating* noisy) noexcept nogil
cdef void add_noise_units_major(const Problem* p, const floating* XT, intp_t n_rows,
                                floating* noisy) noexcept nogil
cdef double batch_cost(Problem* p, Batch* batch, const floating* flat, floating* grads,
                       floating inv_step_rows) noexcept nogil
cdef double with_penalty(Problem* p, double cost, const floating* flat,
                         floating* grads) noexcept nogil
cdef void finish_step(Problem* p, floating* flat, floating* grads) noexcept nogil
cdef Batch batch_of(Problem* p, intp_t n_rows, void* XT, void* YT, void* weights) noexcept nogil
cdef double shard_cost(Problem* p, Shards* shards, const StepRows* step, intp_t first,
                       intp_t stop, const floating* flat, intp_t k) noexcept nogil
cdef void sum_shards(const Shards* shards, intp_t n_shards, intp_t n_params, floating* grads,
                     intp_t start, intp_t stop) noexcept nogil
