/* The dropout lanes of skreg's training stream (skreg/_random.py): SKREG_DROPOUT_LANES SFC64
 * generators (NumPy's sfc64_next) stepped side by side, one output of each per round.
 *
 * Cython has no type for a vector of 64-bit integers, and GCC does not vectorise the equivalent
 * loop over the lanes. With GCC or Clang, the vector extension below makes each of SFC64's
 * operations one operation on a vector of lanes (AVX2's or SSE2's); other compilers step the
 * lanes one after another. Both give the same outputs. */
#ifndef SKREG_LANES_H
#define SKREG_LANES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SKREG_DROPOUT_LANES 8

#if defined(_MSC_VER)
#define SKREG_INLINE __inline
#else
#define SKREG_INLINE inline
#endif

#if defined(__GNUC__) || defined(__clang__)

/* Four lanes to a vector where the build has AVX2, else two (SSE2's width): wider vectors than
 * the build's split into slower code. */
#if defined(__AVX2__)
#define SKREG_LANES_PER_VECTOR 4
#else
#define SKREG_LANES_PER_VECTOR 2
#endif
#define SKREG_LANE_VECTORS (SKREG_DROPOUT_LANES / SKREG_LANES_PER_VECTOR)

typedef uint64_t skreg_lanes_t __attribute__((vector_size(8 * SKREG_LANES_PER_VECTOR)));

/* `rounds` rounds: the lanes' states a, b, c and counter (SKREG_DROPOUT_LANES words each) are
 * advanced in place, and round r's outputs written to outputs[r * SKREG_DROPOUT_LANES + lane]. */
static SKREG_INLINE void skreg_fill_rounds(uint64_t *a, uint64_t *b, uint64_t *c, uint64_t *counter,
                                     uint64_t *outputs, ptrdiff_t rounds)
{
    skreg_lanes_t va[SKREG_LANE_VECTORS], vb[SKREG_LANE_VECTORS], vc[SKREG_LANE_VECTORS];
    skreg_lanes_t vk[SKREG_LANE_VECTORS], output;
    ptrdiff_t r;
    int v;
    memcpy(va, a, sizeof va);
    memcpy(vb, b, sizeof vb);
    memcpy(vc, c, sizeof vc);
    memcpy(vk, counter, sizeof vk);
    for (r = 0; r < rounds; r++) {
        for (v = 0; v < SKREG_LANE_VECTORS; v++) {
            output = va[v] + vb[v] + vk[v];
            vk[v] += 1;
            va[v] = vb[v] ^ (vb[v] >> 11);
            vb[v] = vc[v] + (vc[v] << 3);
            vc[v] = ((vc[v] << 24) | (vc[v] >> 40)) + output;
            memcpy(outputs + r * SKREG_DROPOUT_LANES + v * SKREG_LANES_PER_VECTOR, &output,
                   sizeof output);
        }
    }
    memcpy(a, va, sizeof va);
    memcpy(b, vb, sizeof vb);
    memcpy(c, vc, sizeof vc);
    memcpy(counter, vk, sizeof vk);
}

#else

static SKREG_INLINE void skreg_fill_rounds(uint64_t *a, uint64_t *b, uint64_t *c, uint64_t *counter,
                                     uint64_t *outputs, ptrdiff_t rounds)
{
    ptrdiff_t r;
    int lane;
    uint64_t output;
    for (r = 0; r < rounds; r++) {
        for (lane = 0; lane < SKREG_DROPOUT_LANES; lane++) {
            output = a[lane] + b[lane] + counter[lane];
            counter[lane] += 1;
            a[lane] = b[lane] ^ (b[lane] >> 11);
            b[lane] = c[lane] + (c[lane] << 3);
            c[lane] = ((c[lane] << 24) | (c[lane] >> 40)) + output;
            outputs[r * SKREG_DROPOUT_LANES + lane] = output;
        }
    }
}

#endif

#endif
