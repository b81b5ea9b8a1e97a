# The parameters' dtype's elementary functions, as NumPy's float32 and float64 loops call them.

from cython cimport floating
from libc.math cimport copysign, exp, expf, fabs, fabsf, log, logf
from libc.stdint cimport uint64_t
from libc.string cimport memcpy


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


cdef inline floating abs_of(floating x) noexcept nogil:
    if floating is float:
        return fabsf(x)
    else:
        return fabs(x)


cdef inline double power_of_two(double n) noexcept nogil:
    # 2**n for an integer n in [-1022, 1023], built from its bits: n + 1.5 * 2**52 holds n in its
    # low bits (two's complement), and (n + 1023) << 52 are the bits of 2**n. The copies
    # reinterpret the bits, which the C compiler turns into register moves (and vectorises).
    cdef double shifted = n + 6755399441055744.0
    cdef uint64_t bits
    cdef double power
    memcpy(&bits, &shifted, 8)
    bits = (bits + 1023) << 52
    memcpy(&power, &bits, 8)
    return power


# exp(y) for y <= 0 as arithmetic that loops vectorise (libm's exp is a call per element):
# Cephes' Cody-Waite reduction and Pade form, within 2 ulps, times its power of two (exactly);
# below -708 (exp(y) < 3.3e-308, where the subnormals start) it is 0. The constants are locals,
# which the C compiler folds into the loops (globals could alias the buffers stored to).
cdef inline double exp_nonpositive(double y) noexcept nogil:
    cdef double e0 = 1.26177193074810590878e-4, e1 = 3.02994407707441961300e-2
    cdef double e2 = 9.99999999999999999910e-1
    cdef double f0 = 3.00198505138664455042e-6, f1 = 2.52448340349684104192e-3
    cdef double f2 = 2.27265548208155028766e-1, f3 = 2.00000000000000000009e0
    cdef double log2e = 1.4426950408889634, ln2_high = 6.93145751953125e-1
    cdef double ln2_low = 1.42860682030941723212e-6
    cdef double rounding = 6755399441055744.0  # 1.5 * 2**52: (t + it) - it rounds t to integer
    cdef double x = y if y > -708.0 else -708.0
    cdef double t = log2e * x + 0.5
    cdef double n = (t + rounding) - rounding
    n = n - (1.0 if n > t else 0.0)  # floor(t), in [-1021, 0]: |r| <= ln(2) / 2
    cdef double r = x - n * ln2_high
    r = r - n * ln2_low
    cdef double rr = r * r
    cdef double odd = r * ((e0 * rr + e1) * rr + e2)
    cdef double e = 1.0 + 2.0 * (odd / ((((f0 * rr + f1) * rr + f2) * rr + f3) - odd))
    return e * power_of_two(n) if y >= -708.0 else 0.0


# log(1 + e) for e in [0, 1] as arithmetic that loops vectorise: Cephes' log(1 + x) = x - x**2 / 2
# + x**3 P(x) / Q(x) for x in [sqrt(1/2) - 1, sqrt(2) - 1], with x = e, or for e above sqrt(2) - 1,
# x = (e - 1) / 2 and log(2) added (1 + e = 2 (1 + x)). Within 1 ulp.
cdef inline double log1p_unit(double e) noexcept nogil:
    cdef double p0 = 1.01875663804580931796e-4, p1 = 4.97494994976747001425e-1
    cdef double p2 = 4.70579119878881725854e0, p3 = 1.44989225341610930846e1
    cdef double p4 = 1.79368678507819816313e1, p5 = 7.70838733755885391666e0
    cdef double q0 = 1.12873587189167450590e1, q1 = 4.52279145837532221105e1
    cdef double q2 = 8.29875266912776603211e1, q3 = 7.11544750618563894466e1
    cdef double q4 = 2.31251620126765340583e1
    cdef double ln2_high = 0.693359375, ln2_low = -2.121944400546905827679e-4
    cdef double k = 1.0 if e > 0.41421356237309503 else 0.0
    cdef double x = (e - 1.0) * 0.5 if e > 0.41421356237309503 else e
    cdef double z = x * x
    cdef double p = ((((p0 * x + p1) * x + p2) * x + p3) * x + p4) * x + p5
    cdef double q = ((((x + q0) * x + q1) * x + q2) * x + q3) * x + q4
    cdef double y = x * (z * p / q) + k * ln2_low
    y = y - 0.5 * z
    return (x + y) + k * ln2_high


# tanh as arithmetic that the loops vectorise: Cephes' rational function below 0.625,
# (1 - e) / (1 + e) with e = exp(-2 |z|) above. Within 2 ulps in float64; float32 is computed in
# float64 and rounded. The constants are locals (see exp_nonpositive).
cdef inline double tanh_of(double z) noexcept nogil:
    cdef double p0 = -9.64399179425052238628e-1, p1 = -9.92877231001918586564e1
    cdef double p2 = -1.61468768441708447952e3
    cdef double q0 = 1.12811678491632931402e2, q1 = 2.23548839060100448583e3
    cdef double q2 = 4.84406305325125486048e3
    cdef double x = fabs(z)
    cdef double w = x * x
    cdef double small = x + x * w * (((p0 * w + p1) * w + p2) / (((w + q0) * w + q1) * w + q2))
    # Beyond 20, tanh rounds to 1 whatever e; below 0.625, e is not used.
    cdef double clamped = x if x > 0.3 else 0.3
    cdef double e = exp_nonpositive(-2.0 * (clamped if clamped < 20.0 else 20.0))
    cdef double large = (1.0 - e) / (1.0 + e)
    return copysign(small if x < 0.625 else large, z)
