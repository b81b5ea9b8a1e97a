# The forward and backward passes through the layers of a network, operation for operation as the
# NumPy engine's (skreg._network's forward and backward) up to the roundings of the sums.
#
# Buffers are units-major: layer i's activations (and deltas) are an (n_units, n_rows) block, its
# coefficients W an (n_in, n_out) block of the flat parameters (see _common.pxd). Small products
# run as loops, in the order of their terms (up to four terms per pass over a row, as these loops
# are bound by loads and stores); products of at least BLAS_MIN_WEIGHTS weights go to BLAS, and
# weight gradients from fewer weights over enough rows.
# Hidden ReLU layers have fused kernels; the other activations run the products, then a pass of
# the activation forward, and backward the products, the dropout mask, then a pass of the
# derivative, in the NumPy engine's order.

from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy
from scipy.linalg.cython_blas cimport dgemm, sgemm

from ._math cimport exp_of, tanh_of

from ._common cimport (
    ACTIVATION_LEAKY_RELU, ACTIVATION_LOGISTIC, ACTIVATION_RELU, ACTIVATION_TANH, ActivationCode,
    Batch, Dropout, Network, intp_t,
)

cdef enum:
    # Matrix products with at least this many weights go to BLAS; smaller ones run as loops.
    BLAS_MIN_WEIGHTS = 1024
    # Weight gradients go to BLAS from fewer weights when their sums have this many terms
    # (weights times rows) in all: BLAS's kernels load each row once for several sums.
    BLAS_MIN_GRADIENT_WEIGHTS = 32
    BLAS_MIN_GRADIENT_TERMS = 4096


ctypedef struct Mask:
    # A hidden layer's inverted-dropout mask in a batch (words NULL: none): unit u's rows are
    # kept where words[u * stride + s] < threshold, and then scaled.
    const uint32_t* words
    intp_t stride
    uint32_t threshold
    double scale


cdef intp_t forward(const Network* network, const Dropout* dropout, Batch* batch,
                    const floating* flat) noexcept nogil:
    cdef intp_t i, n_in, n_out, n_rows = batch.n_rows, nonfinite = 0
    cdef intp_t last = network.n_layers - 1
    cdef floating slope = <floating> network.leaky_slope
    cdef const floating* A = <const floating*> batch.XT
    cdef const floating* W
    cdef const floating* b
    cdef floating* Z
    for i in range(network.n_layers):
        n_in = network.units[i]
        n_out = network.units[i + 1]
        W = flat + network.coef_offsets[i]
        b = flat + network.intercept_offsets[i]
        Z = block(<floating*> batch.activations, network, i, n_rows)
        if i == last:
            linear(W, b, A, Z, n_in, n_out, n_rows)
        else:
            if network.activation == ACTIVATION_RELU:  # each unit masked after its ReLU
                nonfinite += linear_relu(W, b, A, Z, n_in, n_out, n_rows,
                                         mask_of(dropout, batch, i))
            else:
                nonfinite += linear_activation(
                    W, b, A, Z, n_in, n_out, n_rows, network.activation, slope
                )
                if keeps_unmasked(dropout, batch, i):
                    memcpy(block(<floating*> batch.unmasked, network, i, n_rows), Z,
                           n_out * n_rows * sizeof(floating))
                apply_dropout(Z, n_out, n_rows, mask_of(dropout, batch, i))
        A = Z
    return nonfinite


cdef void backward(const Network* network, const Dropout* dropout, Batch* batch,
                   const floating* flat, floating* grads) noexcept nogil:
    cdef intp_t i, n_in, n_out, n_rows = batch.n_rows
    cdef floating slope = <floating> network.leaky_slope
    cdef floating* D
    cdef floating* D_in
    cdef const floating* A_in
    cdef const floating* outputs
    for i in range(network.n_layers - 1, -1, -1):
        n_in = network.units[i]
        n_out = network.units[i + 1]
        D = block(<floating*> batch.deltas, network, i, n_rows)
        if i == 0:
            A_in = <const floating*> batch.XT
        else:
            A_in = block(<floating*> batch.activations, network, i - 1, n_rows)
        weight_gradients(A_in, D, grads + network.coef_offsets[i],
                         grads + network.intercept_offsets[i], n_in, n_out, n_rows)
        if i == 0:
            break
        D_in = block(<floating*> batch.deltas, network, i - 1, n_rows)
        if network.activation == ACTIVATION_RELU:
            # A dropped unit's activation is 0, so the ReLU's gate (activation > 0) drops it: of
            # the chain rule through the mask, only its scale remains.
            backpropagate_relu(flat + network.coef_offsets[i], D, D_in, A_in, n_in, n_out,
                               n_rows, <floating> mask_of(dropout, batch, i - 1).scale)
        else:  # in the NumPy engine's order: the product, the mask, the derivative
            backpropagate_linear(flat + network.coef_offsets[i], D, D_in, n_in, n_out, n_rows)
            apply_dropout(D_in, n_in, n_rows, mask_of(dropout, batch, i - 1))
            outputs = A_in
            if keeps_unmasked(dropout, batch, i - 1):
                outputs = block(<floating*> batch.unmasked, network, i - 1, n_rows)
            activation_gradient(D_in, outputs, n_in * n_rows, network.activation, slope)


cdef void gemm(bint trans_a, bint trans_b, intp_t m, intp_t n, intp_t k, floating alpha,
               const floating* a, intp_t lda, const floating* b, intp_t ldb, floating beta,
               floating* c, intp_t ldc) noexcept nogil:
    # Row-major C = alpha op(A) op(B) + beta C, as column-major C^T = op(B)^T op(A)^T.
    cdef char trans_first = b'T' if trans_b else b'N'
    cdef char trans_second = b'T' if trans_a else b'N'
    cdef int rows = <int> n, columns = <int> m, inner = <int> k
    cdef int ld_first = <int> max(ldb, 1), ld_second = <int> max(lda, 1)
    cdef int ld_out = <int> max(ldc, 1)
    if m == 0 or n == 0:
        return
    if floating is float:
        sgemm(&trans_first, &trans_second, &rows, &columns, &inner, &alpha, <float*> b,
              &ld_first, <float*> a, &ld_second, &beta, c, &ld_out)
    else:
        dgemm(&trans_first, &trans_second, &rows, &columns, &inner, &alpha, <double*> b,
              &ld_first, <double*> a, &ld_second, &beta, c, &ld_out)


cdef inline floating* block(floating* buffer, const Network* network, intp_t i,
                            intp_t n_rows) noexcept nogil:
    # Layer i's (n_units, n_rows) block of activations, deltas or outputs before the masks.
    return buffer + network.unit_offsets[i] * n_rows


cdef inline bint is_dropped(const Dropout* dropout, intp_t i) noexcept nogil:
    return dropout != NULL and dropout.word_offsets != NULL and dropout.word_offsets[i] >= 0


cdef inline Mask mask_of(const Dropout* dropout, const Batch* batch, intp_t i) noexcept nogil:
    # Hidden layer i's mask in the batch.
    cdef Mask mask = Mask(words=NULL, stride=0, threshold=0, scale=1.0)
    if is_dropped(dropout, i):
        mask.words = batch.words + dropout.word_offsets[i] * batch.step_rows + batch.first_row
        mask.stride = batch.step_rows
        mask.threshold = dropout.thresholds[i]
        mask.scale = dropout.scales[i]
    return mask


cdef inline bint keeps_unmasked(const Dropout* dropout, const Batch* batch,
                                intp_t i) noexcept nogil:
    # Whether hidden layer i's outputs before its mask are kept (bounded activations' derivatives
    # need them).
    return is_dropped(dropout, i) and dropout.unmasked and batch.unmasked != NULL


# Forward.

cdef void linear(const floating* W, const floating* b, const floating* A, floating* Z,
                 intp_t n_in, intp_t n_out, intp_t n_rows) noexcept nogil:
    # Z = W.T @ A + b[:, None].
    cdef intp_t j, s
    cdef floating* row
    if n_in * n_out >= BLAS_MIN_WEIGHTS:
        gemm(True, False, n_out, n_rows, n_in, <floating> 1, W, n_out, A, n_rows,
             <floating> 0, Z, n_rows)
        for j in range(n_out):
            row = Z + j * n_rows
            for s in range(n_rows):
                row[s] += b[j]
        return
    for j in range(n_out):
        combine(W + j, n_out, A, n_in, n_rows, b[j], Z + j * n_rows)


cdef intp_t linear_relu(const floating* W, const floating* b, const floating* A, floating* Z,
                        intp_t n_in, intp_t n_out, intp_t n_rows, Mask mask) noexcept nogil:
    # Z = relu(W.T @ A + b[:, None]) * mask: a hidden layer's activations. Returns the number of
    # units with a pre-activation that is not finite. Through BLAS, the intercepts are added in
    # the ReLU's pass; for at most four inputs, one pass per unit: the sum as combine writes it,
    # the ReLU. Each unit's mask follows its ReLU, while its row is in cache.
    cdef intp_t j, nonfinite = 0
    if n_in * n_out >= BLAS_MIN_WEIGHTS:
        gemm(True, False, n_out, n_rows, n_in, <floating> 1, W, n_out, A, n_rows,
             <floating> 0, Z, n_rows)
        for j in range(n_out):
            nonfinite += relu_row(Z + j * n_rows, n_rows, b[j])
            mask_unit(Z + j * n_rows, n_rows, &mask, j)
    elif n_in > 4:
        linear(W, b, A, Z, n_in, n_out, n_rows)
        for j in range(n_out):
            nonfinite += relu_row(Z + j * n_rows, n_rows, <floating> 0)
            mask_unit(Z + j * n_rows, n_rows, &mask, j)
    else:
        for j in range(n_out):
            nonfinite += narrow_linear_relu(W + j, n_out, A, n_in, n_rows, b[j], Z + j * n_rows)
            mask_unit(Z + j * n_rows, n_rows, &mask, j)
    return nonfinite


cdef inline intp_t relu_row(floating* Z, intp_t n, floating intercept) noexcept nogil:
    # Z = relu(Z + intercept); returns whether any of its inputs is not finite (as an OR of
    # flags, here and below: a sum of floating flags would be added in order, one lane at a
    # time, and an OR is the same in any order, so that the loops vectorise; the flags are as
    # wide as the parameters, so that they need no repacking).
    cdef intp_t s
    cdef uint32_t flags32 = 0
    cdef uint64_t flags64 = 0
    cdef floating z, zero = 0
    for s in range(n):
        z = Z[s] + intercept
        if floating is float:
            flags32 |= z * zero != zero
        else:
            flags64 |= z * zero != zero
        Z[s] = z if z > zero else zero
    return (flags32 | flags64) != 0


cdef intp_t narrow_linear_relu(const floating* w, intp_t stride, const floating* A,
                               intp_t n_in, intp_t n, floating initial,
                               floating* out) noexcept nogil:
    # out = relu(initial + sum_k w[k * stride] * A[k]) for n_in <= 4 input rows of A.
    cdef intp_t s
    cdef uint32_t flags32 = 0
    cdef uint64_t flags64 = 0
    cdef floating total, zero = 0
    cdef floating w0 = w[0]
    cdef floating w1 = w[stride] if n_in > 1 else zero
    cdef floating w2 = w[2 * stride] if n_in > 2 else zero
    cdef floating w3 = w[3 * stride] if n_in > 3 else zero
    cdef const floating* a0 = A
    cdef const floating* a1 = A + n
    cdef const floating* a2 = A + 2 * n
    cdef const floating* a3 = A + 3 * n
    if n_in == 1:
        for s in range(n):
            total = initial + w0 * a0[s]
            if floating is float:
                flags32 |= total * zero != zero
            else:
                flags64 |= total * zero != zero
            out[s] = total if total > zero else zero
    elif n_in == 2:
        for s in range(n):
            total = initial + w0 * a0[s] + w1 * a1[s]
            if floating is float:
                flags32 |= total * zero != zero
            else:
                flags64 |= total * zero != zero
            out[s] = total if total > zero else zero
    elif n_in == 3:
        for s in range(n):
            total = initial + w0 * a0[s] + w1 * a1[s] + w2 * a2[s]
            if floating is float:
                flags32 |= total * zero != zero
            else:
                flags64 |= total * zero != zero
            out[s] = total if total > zero else zero
    else:
        for s in range(n):
            total = initial + w0 * a0[s] + w1 * a1[s] + w2 * a2[s] + w3 * a3[s]
            if floating is float:
                flags32 |= total * zero != zero
            else:
                flags64 |= total * zero != zero
            out[s] = total if total > zero else zero
    return (flags32 | flags64) != 0


cdef intp_t linear_activation(const floating* W, const floating* b, const floating* A,
                              floating* Z, intp_t n_in, intp_t n_out, intp_t n_rows,
                              ActivationCode activation, floating slope) noexcept nogil:
    # Z = f(W.T @ A + b[:, None]) for an activation f other than ReLU: the products (through BLAS
    # the intercepts added in the activation's pass), then f. Returns the number of
    # units with a pre-activation that is not finite.
    cdef intp_t j, nonfinite = 0
    if n_in * n_out >= BLAS_MIN_WEIGHTS:
        gemm(True, False, n_out, n_rows, n_in, <floating> 1, W, n_out, A, n_rows,
             <floating> 0, Z, n_rows)
        for j in range(n_out):
            nonfinite += activation_row(Z + j * n_rows, n_rows, b[j], activation, slope)
        return nonfinite
    linear(W, b, A, Z, n_in, n_out, n_rows)
    for j in range(n_out):
        nonfinite += activation_row(Z + j * n_rows, n_rows, <floating> 0, activation, slope)
    return nonfinite


cdef intp_t activation_row(floating* Z, intp_t n, floating intercept, ActivationCode activation,
                           floating slope) noexcept nogil:
    # Z = f(Z + intercept) as skreg._base.ACTIVATIONS computes it; returns whether any of its
    # inputs is not finite. One loop per activation.
    cdef intp_t s
    cdef uint32_t flags32 = 0
    cdef uint64_t flags64 = 0
    cdef floating z, zero = 0, one = 1
    if activation == ACTIVATION_TANH:
        for s in range(n):
            z = Z[s] + intercept
            if floating is float:
                flags32 |= z * zero != zero
            else:
                flags64 |= z * zero != zero
            Z[s] = <floating> tanh_of(<double> z)
    elif activation == ACTIVATION_LOGISTIC:
        for s in range(n):
            z = Z[s] + intercept
            if floating is float:
                flags32 |= z * zero != zero
            else:
                flags64 |= z * zero != zero
            Z[s] = one / (one + exp_of(-z))  # scipy.special.expit's formula
    elif activation == ACTIVATION_LEAKY_RELU:
        for s in range(n):
            z = Z[s] + intercept
            if floating is float:
                flags32 |= z * zero != zero
            else:
                flags64 |= z * zero != zero
            Z[s] = z if z >= zero else slope * z
    else:  # identity
        for s in range(n):
            z = Z[s] + intercept
            if floating is float:
                flags32 |= z * zero != zero
            else:
                flags64 |= z * zero != zero
            Z[s] = z
    return (flags32 | flags64) != 0


cdef void apply_dropout(floating* Z, intp_t n_units, intp_t n_rows, Mask mask) noexcept nogil:
    # Z *= mask, a hidden layer's inverted-dropout mask if it has one: on its activations
    # forward, on their deltas backward.
    cdef intp_t u
    for u in range(n_units):
        mask_unit(Z + u * n_rows, n_rows, &mask, u)


cdef inline void mask_unit(floating* row, intp_t n, const Mask* mask, intp_t u) noexcept nogil:
    # row *= unit u's mask, if the layer has one.
    cdef intp_t s
    cdef uint32_t threshold = mask.threshold
    cdef floating scale = <floating> mask.scale, zero = 0
    cdef const uint32_t* words
    if mask.words == NULL:
        return
    words = mask.words + u * mask.stride
    for s in range(n):
        row[s] *= scale if words[s] < threshold else zero


# Backward.

cdef void backpropagate_relu(const floating* W, const floating* D, floating* D_in,
                             const floating* A_in, intp_t n_in, intp_t n_out, intp_t n_rows,
                             floating gate) noexcept nogil:
    # D_in = (W @ D) * gate * (A_in > 0): the delta of a hidden layer's output from the next
    # layer's, through the ReLU (A_in holds the hidden layer's activations) and the dropout
    # mask's scale gate (1 without dropout: the same values).
    cdef intp_t k
    if n_in * n_out >= BLAS_MIN_WEIGHTS:
        gemm(False, False, n_in, n_rows, n_out, <floating> 1, W, n_out, D, n_rows,
             <floating> 0, D_in, n_rows)
        relu_gradient(D_in, A_in, n_in * n_rows, gate)
    elif n_out <= 4:
        for k in range(n_in):
            narrow_backpropagate_relu(W + k * n_out, D, n_out, n_rows, A_in + k * n_rows,
                                      D_in + k * n_rows, gate)
    else:
        for k in range(n_in):
            combine(W + k * n_out, 1, D, n_out, n_rows, <floating> 0, D_in + k * n_rows)
        relu_gradient(D_in, A_in, n_in * n_rows, gate)


cdef void narrow_backpropagate_relu(const floating* w, const floating* D, intp_t n_out,
                                    intp_t n, const floating* A, floating* out,
                                    floating gate) noexcept nogil:
    # One row of backpropagate_relu for D of n_out <= 4 rows: the sum as combine writes it,
    # times gate, gated by the ReLU in the same pass.
    cdef intp_t s
    cdef floating total, zero = 0
    cdef floating w0 = w[0]
    cdef floating w1 = w[1] if n_out > 1 else zero
    cdef floating w2 = w[2] if n_out > 2 else zero
    cdef floating w3 = w[3] if n_out > 3 else zero
    cdef const floating* d0 = D
    cdef const floating* d1 = D + n
    cdef const floating* d2 = D + 2 * n
    cdef const floating* d3 = D + 3 * n
    if n_out == 1:
        for s in range(n):
            total = zero + w0 * d0[s]
            out[s] = total * gate if A[s] > 0 else zero
    elif n_out == 2:
        for s in range(n):
            total = zero + w0 * d0[s] + w1 * d1[s]
            out[s] = total * gate if A[s] > 0 else zero
    elif n_out == 3:
        for s in range(n):
            total = zero + w0 * d0[s] + w1 * d1[s] + w2 * d2[s]
            out[s] = total * gate if A[s] > 0 else zero
    else:
        for s in range(n):
            total = zero + w0 * d0[s] + w1 * d1[s] + w2 * d2[s] + w3 * d3[s]
            out[s] = total * gate if A[s] > 0 else zero


cdef inline void relu_gradient(floating* D, const floating* A, intp_t n,
                               floating gate) noexcept nogil:
    # The chain rule through a ReLU and a dropout mask's scale gate: D *= gate * (A > 0).
    cdef intp_t s
    cdef floating zero = 0
    for s in range(n):
        D[s] *= gate if A[s] > 0 else zero


cdef void backpropagate_linear(const floating* W, const floating* D, floating* D_in,
                               intp_t n_in, intp_t n_out, intp_t n_rows) noexcept nogil:
    # D_in = W @ D, before the chain rule through the mask and the activation.
    cdef intp_t k
    if n_in * n_out >= BLAS_MIN_WEIGHTS:
        gemm(False, False, n_in, n_rows, n_out, <floating> 1, W, n_out, D, n_rows,
             <floating> 0, D_in, n_rows)
        return
    for k in range(n_in):
        combine(W + k * n_out, 1, D, n_out, n_rows, <floating> 0, D_in + k * n_rows)


cdef void activation_gradient(floating* D, const floating* A, intp_t n,
                              ActivationCode activation, floating slope) noexcept nogil:
    # The chain rule through an activation other than ReLU: D *= f'(z), from the outputs
    # A = f(z), as skreg._base.DERIVATIVES computes it (1 - a * a rounded, then the product).
    cdef intp_t s
    cdef floating a, one = 1
    if activation == ACTIVATION_TANH:
        for s in range(n):
            a = A[s]
            D[s] *= one - a * a
    elif activation == ACTIVATION_LOGISTIC:
        for s in range(n):
            a = A[s]
            D[s] = D[s] * a * (one - a)
    elif activation == ACTIVATION_LEAKY_RELU:
        for s in range(n):
            D[s] *= one if A[s] > 0 else slope
    # identity: a factor 1


cdef void weight_gradients(const floating* A_in, const floating* D, floating* G, floating* g,
                           intp_t n_in, intp_t n_out, intp_t n_rows) noexcept nogil:
    # G = A_in @ D.T and g = D.sum(axis=1): sums over the rows.
    cdef intp_t j, k, n_weights = n_in * n_out
    cdef const floating* d
    if n_weights >= BLAS_MIN_WEIGHTS or (
        n_weights >= BLAS_MIN_GRADIENT_WEIGHTS
        and n_weights * n_rows >= BLAS_MIN_GRADIENT_TERMS
    ):
        gemm(False, True, n_in, n_out, n_rows, <floating> 1, A_in, n_rows, D, n_rows,
             <floating> 0, G, n_out)
    else:
        for j in range(n_out):
            for k in range(n_in):
                G[k * n_out + j] = interleaved_dot(A_in + k * n_rows, D + j * n_rows, n_rows)
    for j in range(n_out):
        g[j] = interleaved_dot(NULL, D + j * n_rows, n_rows)


cdef floating interleaved_dot(const floating* a, const floating* d, intp_t n) noexcept nogil:
    # a . d (with a NULL, the sum of d) as sixteen interleaved partial sums, of the rows 0 to 15
    # modulo 16 (the rows after the last whole sixteen into the first), added pairwise at the
    # end: independent chains of additions, which the CPU overlaps (a chain waits for each of its
    # additions), in the same order on every machine. Sixteen locals rather than an array, so
    # that the compiler keeps them in vector registers.
    cdef intp_t s, n16 = n - n % 16
    cdef floating p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0, p6 = 0, p7 = 0
    cdef floating p8 = 0, p9 = 0, p10 = 0, p11 = 0, p12 = 0, p13 = 0, p14 = 0, p15 = 0
    if a == NULL:
        for s in range(0, n16, 16):
            p0 += d[s]
            p1 += d[s + 1]
            p2 += d[s + 2]
            p3 += d[s + 3]
            p4 += d[s + 4]
            p5 += d[s + 5]
            p6 += d[s + 6]
            p7 += d[s + 7]
            p8 += d[s + 8]
            p9 += d[s + 9]
            p10 += d[s + 10]
            p11 += d[s + 11]
            p12 += d[s + 12]
            p13 += d[s + 13]
            p14 += d[s + 14]
            p15 += d[s + 15]
        for s in range(n16, n):
            p0 += d[s]
    else:
        for s in range(0, n16, 16):
            p0 += a[s] * d[s]
            p1 += a[s + 1] * d[s + 1]
            p2 += a[s + 2] * d[s + 2]
            p3 += a[s + 3] * d[s + 3]
            p4 += a[s + 4] * d[s + 4]
            p5 += a[s + 5] * d[s + 5]
            p6 += a[s + 6] * d[s + 6]
            p7 += a[s + 7] * d[s + 7]
            p8 += a[s + 8] * d[s + 8]
            p9 += a[s + 9] * d[s + 9]
            p10 += a[s + 10] * d[s + 10]
            p11 += a[s + 11] * d[s + 11]
            p12 += a[s + 12] * d[s + 12]
            p13 += a[s + 13] * d[s + 13]
            p14 += a[s + 14] * d[s + 14]
            p15 += a[s + 15] * d[s + 15]
        for s in range(n16, n):
            p0 += a[s] * d[s]
    return (((p0 + p8) + (p1 + p9)) + ((p2 + p10) + (p3 + p11))) + (
        ((p4 + p12) + (p5 + p13)) + ((p6 + p14) + (p7 + p15))
    )


# The small products.

cdef void combine(const floating* w, intp_t stride, const floating* rows, intp_t n_terms,
                  intp_t n, floating initial, floating* out) noexcept nogil:
    # out = initial + sum_k w[k * stride] * rows[k], in order of k, for n_terms rows of n
    # entries: up to four rows per pass over out.
    cdef intp_t k
    for k in range(0, n_terms, 4):
        add_rows(w + k * stride, stride, rows + k * n, min(4, n_terms - k), n, k == 0, initial,
                 out)


cdef inline void add_rows(const floating* w, intp_t stride, const floating* rows, intp_t count,
                          intp_t n, bint first, floating initial, floating* out) noexcept nogil:
    # out = (initial if first else out) + w[0] rows[0] + ... for count <= 4 rows; two loops per
    # count, as a select inside one would become slow masked loads.
    cdef intp_t s
    cdef floating w0 = w[0]
    cdef floating w1 = w[stride] if count > 1 else 0
    cdef floating w2 = w[2 * stride] if count > 2 else 0
    cdef floating w3 = w[3 * stride] if count > 3 else 0
    cdef const floating* r0 = rows
    cdef const floating* r1 = rows + n
    cdef const floating* r2 = rows + 2 * n
    cdef const floating* r3 = rows + 3 * n
    if count == 4:
        if first:
            for s in range(n):
                out[s] = initial + w0 * r0[s] + w1 * r1[s] + w2 * r2[s] + w3 * r3[s]
        else:
            for s in range(n):
                out[s] = out[s] + w0 * r0[s] + w1 * r1[s] + w2 * r2[s] + w3 * r3[s]
    elif count == 3:
        if first:
            for s in range(n):
                out[s] = initial + w0 * r0[s] + w1 * r1[s] + w2 * r2[s]
        else:
            for s in range(n):
                out[s] = out[s] + w0 * r0[s] + w1 * r1[s] + w2 * r2[s]
    elif count == 2:
        if first:
            for s in range(n):
                out[s] = initial + w0 * r0[s] + w1 * r1[s]
        else:
            for s in range(n):
                out[s] = out[s] + w0 * r0[s] + w1 * r1[s]
    else:
        if first:
            for s in range(n):
                out[s] = initial + w0 * r0[s]
        else:
            for s in range(n):
                out[s] = out[s] + w0 * r0[s]


def blas_min_weights():
    """Products of at least this many weights go to BLAS, smaller ones run as loops."""
    return BLAS_MIN_WEIGHTS


def tanh_values(floating[::1] x, floating[::1] out):
    """The compiled engine's tanh of each ``x`` (computed in double, rounded to their dtype)
    into ``out``: for the tests."""
    cdef intp_t i
    for i in range(x.shape[0]):
        out[i] = <floating>tanh_of(x[i])
