/* search_kernels.c — dot products of one query with four rows at a time, for float32, fp16 and int8
 * rows. Four rows share each load of the query and give four independent FMA chains; the widest
 * instruction set the compiler targets is used (-march=native in the Makefile), with a portable loop
 * for anything else. Dimension tails (dim not a multiple of the vector width) are finished in scalar
 * code. */
#include "index/search_kernels.h"

#include <math.h>
#include <string.h>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#define ROW(m, r) ((const unsigned char *)(m)->data + (size_t)(r) * (m)->row_bytes)

/* ---------------------------------------------------------------- float32 */

static void dot4_f32(const float *q, const float *r0, const float *r1, const float *r2, const float *r3, int d,
                     float *out) {
    int j = 0;
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#if defined(__AVX512F__)
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (; j + 16 <= d; j += 16) {
        __m512 qv = _mm512_loadu_ps(q + j);
        a0 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r0 + j), a0);
        a1 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r1 + j), a1);
        a2 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r2 + j), a2);
        a3 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r3 + j), a3);
    }
    s0 = _mm512_reduce_add_ps(a0), s1 = _mm512_reduce_add_ps(a1);
    s2 = _mm512_reduce_add_ps(a2), s3 = _mm512_reduce_add_ps(a3);
#elif defined(__AVX2__) && defined(__FMA__)
    /* Two accumulators per row: eight FMA chains hide the FMA latency. */
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    for (; j + 16 <= d; j += 16) {
        __m256 qa = _mm256_loadu_ps(q + j), qb = _mm256_loadu_ps(q + j + 8);
        a0 = _mm256_fmadd_ps(qa, _mm256_loadu_ps(r0 + j), a0);
        b0 = _mm256_fmadd_ps(qb, _mm256_loadu_ps(r0 + j + 8), b0);
        a1 = _mm256_fmadd_ps(qa, _mm256_loadu_ps(r1 + j), a1);
        b1 = _mm256_fmadd_ps(qb, _mm256_loadu_ps(r1 + j + 8), b1);
        a2 = _mm256_fmadd_ps(qa, _mm256_loadu_ps(r2 + j), a2);
        b2 = _mm256_fmadd_ps(qb, _mm256_loadu_ps(r2 + j + 8), b2);
        a3 = _mm256_fmadd_ps(qa, _mm256_loadu_ps(r3 + j), a3);
        b3 = _mm256_fmadd_ps(qb, _mm256_loadu_ps(r3 + j + 8), b3);
    }
    for (; j + 8 <= d; j += 8) {
        __m256 qa = _mm256_loadu_ps(q + j);
        a0 = _mm256_fmadd_ps(qa, _mm256_loadu_ps(r0 + j), a0);
        a1 = _mm256_fmadd_ps(qa, _mm256_loadu_ps(r1 + j), a1);
        a2 = _mm256_fmadd_ps(qa, _mm256_loadu_ps(r2 + j), a2);
        a3 = _mm256_fmadd_ps(qa, _mm256_loadu_ps(r3 + j), a3);
    }
    /* Reduce the four rows' 8-lane sums together: transpose-add to one vector of 4 sums. */
    a0 = _mm256_add_ps(a0, b0), a1 = _mm256_add_ps(a1, b1), a2 = _mm256_add_ps(a2, b2), a3 = _mm256_add_ps(a3, b3);
    __m256 h01 = _mm256_hadd_ps(a0, a1), h23 = _mm256_hadd_ps(a2, a3);
    __m256 h = _mm256_hadd_ps(h01, h23);
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    float t[4];
    _mm_storeu_ps(t, sum);
    s0 = t[0], s1 = t[1], s2 = t[2], s3 = t[3];
#endif
    for (; j < d; j++) {
        s0 += q[j] * r0[j];
        s1 += q[j] * r1[j];
        s2 += q[j] * r2[j];
        s3 += q[j] * r3[j];
    }
    out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

/* ---------------------------------------------------------------- fp16 */

static void dot4_f16(const float *q, const uint16_t *r0, const uint16_t *r1, const uint16_t *r2,
                     const uint16_t *r3, int d, float *out) {
    int j = 0;
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#if defined(__AVX512F__)
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
#define H16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
    for (; j + 16 <= d; j += 16) {
        __m512 qv = _mm512_loadu_ps(q + j);
        a0 = _mm512_fmadd_ps(qv, H16(r0 + j), a0);
        a1 = _mm512_fmadd_ps(qv, H16(r1 + j), a1);
        a2 = _mm512_fmadd_ps(qv, H16(r2 + j), a2);
        a3 = _mm512_fmadd_ps(qv, H16(r3 + j), a3);
    }
#undef H16
    s0 = _mm512_reduce_add_ps(a0), s1 = _mm512_reduce_add_ps(a1);
    s2 = _mm512_reduce_add_ps(a2), s3 = _mm512_reduce_add_ps(a3);
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
#define H8(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
    for (; j + 16 <= d; j += 16) {
        __m256 qa = _mm256_loadu_ps(q + j), qb = _mm256_loadu_ps(q + j + 8);
        a0 = _mm256_fmadd_ps(qa, H8(r0 + j), a0);
        b0 = _mm256_fmadd_ps(qb, H8(r0 + j + 8), b0);
        a1 = _mm256_fmadd_ps(qa, H8(r1 + j), a1);
        b1 = _mm256_fmadd_ps(qb, H8(r1 + j + 8), b1);
        a2 = _mm256_fmadd_ps(qa, H8(r2 + j), a2);
        b2 = _mm256_fmadd_ps(qb, H8(r2 + j + 8), b2);
        a3 = _mm256_fmadd_ps(qa, H8(r3 + j), a3);
        b3 = _mm256_fmadd_ps(qb, H8(r3 + j + 8), b3);
    }
    for (; j + 8 <= d; j += 8) {
        __m256 qa = _mm256_loadu_ps(q + j);
        a0 = _mm256_fmadd_ps(qa, H8(r0 + j), a0);
        a1 = _mm256_fmadd_ps(qa, H8(r1 + j), a1);
        a2 = _mm256_fmadd_ps(qa, H8(r2 + j), a2);
        a3 = _mm256_fmadd_ps(qa, H8(r3 + j), a3);
    }
#undef H8
    a0 = _mm256_add_ps(a0, b0), a1 = _mm256_add_ps(a1, b1), a2 = _mm256_add_ps(a2, b2), a3 = _mm256_add_ps(a3, b3);
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    float t[4];
    _mm_storeu_ps(t, sum);
    s0 = t[0], s1 = t[1], s2 = t[2], s3 = t[3];
#endif
    for (; j < d; j++) {
        s0 += q[j] * sbir_f16_to_f32(r0[j]);
        s1 += q[j] * sbir_f16_to_f32(r1[j]);
        s2 += q[j] * sbir_f16_to_f32(r2[j]);
        s3 += q[j] * sbir_f16_to_f32(r3[j]);
    }
    out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

/* ---------------------------------------------------------------- int8 x int16 */

/* Integer sums are exact, so every instruction set gives bit-identical scores. The query's int16 range
 * is chosen in sk_prepare_query so that no int32 sum can overflow. */
static void dot4_i8(const int16_t *q, const int8_t *r0, const int8_t *r1, const int8_t *r2, const int8_t *r3,
                    int d, int32_t *out) {
    int j = 0;
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#if defined(__AVX512BW__)
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
#define W32(p) _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(p)))
    for (; j + 32 <= d; j += 32) {
        __m512i qv = _mm512_loadu_si512((const void *)(q + j));
        a0 = _mm512_add_epi32(a0, _mm512_madd_epi16(qv, W32(r0 + j)));
        a1 = _mm512_add_epi32(a1, _mm512_madd_epi16(qv, W32(r1 + j)));
        a2 = _mm512_add_epi32(a2, _mm512_madd_epi16(qv, W32(r2 + j)));
        a3 = _mm512_add_epi32(a3, _mm512_madd_epi16(qv, W32(r3 + j)));
    }
#undef W32
    s0 = _mm512_reduce_add_epi32(a0), s1 = _mm512_reduce_add_epi32(a1);
    s2 = _mm512_reduce_add_epi32(a2), s3 = _mm512_reduce_add_epi32(a3);
#elif defined(__AVX2__)
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
#define W16(p) _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(p)))
    for (; j + 16 <= d; j += 16) {
        __m256i qv = _mm256_loadu_si256((const __m256i *)(q + j));
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(qv, W16(r0 + j)));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(qv, W16(r1 + j)));
        a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(qv, W16(r2 + j)));
        a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(qv, W16(r3 + j)));
    }
#undef W16
    __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    int32_t t[4];
    _mm_storeu_si128((__m128i *)t, sum);
    s0 = t[0], s1 = t[1], s2 = t[2], s3 = t[3];
#endif
    for (; j < d; j++) {
        s0 += (int32_t)q[j] * r0[j];
        s1 += (int32_t)q[j] * r1[j];
        s2 += (int32_t)q[j] * r2[j];
        s3 += (int32_t)q[j] * r3[j];
    }
    out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

void sk_prepare_query(const sbir_matrix *m, const float *qf, int16_t *q16, sk_query *q) {
    q->f = qf;
    q->q16 = NULL;
    q->q16_scale = 0;
    if (m->elem != SBIR_ELEM_I8) return;
    /* |sum| <= 127 * qmax * dim must fit in int32. */
    double lim = 2147483647.0 / (127.0 * (double)(m->dim > 0 ? m->dim : 1));
    float qmax = (float)(lim < 32767 ? floor(lim) : 32767);
    if (qmax < 1) qmax = 1;
    float amax = 0;
    for (int j = 0; j < m->dim; j++) amax = fmaxf(amax, fabsf(qf[j]));
    float s = amax > 0 ? amax / qmax : 0;
    for (int j = 0; j < m->dim; j++) {
        float v = s > 0 ? rintf(qf[j] / s) : 0;
        q16[j] = (int16_t)(v > qmax ? qmax : v < -qmax ? -qmax : v);
    }
    q->q16 = q16;
    q->q16_scale = s;
}

void sk_score_block(const sbir_matrix *m, const sk_query *q, int64_t r0, const uint32_t *idx, int nb, float *out) {
    for (int i = 0; i < nb; i += 4) {
        int64_t r[4];
        for (int t = 0; t < 4; t++) {
            int ii = i + t < nb ? i + t : nb - 1; /* a short tail repeats its last row */
            r[t] = idx ? (int64_t)idx[ii] : r0 + ii;
        }
        if (idx && i + 12 < nb) /* gathered rows: fetch a few rows ahead, the prefetcher cannot guess */
            for (int t = 8; t < 12; t++) __builtin_prefetch(ROW(m, idx[i + t]));
        float s[4];
        if (m->elem == SBIR_ELEM_F32) {
            dot4_f32(q->f, (const float *)ROW(m, r[0]), (const float *)ROW(m, r[1]), (const float *)ROW(m, r[2]),
                     (const float *)ROW(m, r[3]), m->dim, s);
        } else if (m->elem == SBIR_ELEM_F16) {
            dot4_f16(q->f, (const uint16_t *)ROW(m, r[0]), (const uint16_t *)ROW(m, r[1]),
                     (const uint16_t *)ROW(m, r[2]), (const uint16_t *)ROW(m, r[3]), m->dim, s);
        } else {
            int32_t is[4];
            dot4_i8(q->q16, (const int8_t *)ROW(m, r[0]), (const int8_t *)ROW(m, r[1]), (const int8_t *)ROW(m, r[2]),
                    (const int8_t *)ROW(m, r[3]), m->dim, is);
            for (int t = 0; t < 4; t++) s[t] = (float)is[t] * (m->scale[r[t]] * q->q16_scale);
        }
        int cnt = nb - i < 4 ? nb - i : 4;
        memcpy(out + i, s, (size_t)cnt * sizeof(float));
    }
}
