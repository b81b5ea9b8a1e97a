# The parameters' dtype's elementary functions, as NumPy's float32 and float64 loops call them.

from cython cimport floating
from libc.math cimport exp, expf, fabs, fabsf, log, log1p, log1pf, logf


cdef inline floating exp_of(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating log_of(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating log1p_of(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)


cdef inline floating abs_of(floating x) noexcept nogil:
    if floating is float:
        return fabsf(x)
    else:
        return fabs(x)
