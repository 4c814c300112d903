#include "index/matrix.h"

#include <math.h>
#include <string.h>

#include "util/common.h"

size_t sbir_elem_size(sbir_elem e) {
    switch (e) {
    case SBIR_ELEM_F32: return 4;
    case SBIR_ELEM_F16: return 2;
    case SBIR_ELEM_I8: return 1;
    }
    return 0;
}

const char *sbir_elem_name(sbir_elem e) {
    switch (e) {
    case SBIR_ELEM_F32: return "f32";
    case SBIR_ELEM_F16: return "f16";
    case SBIR_ELEM_I8: return "i8";
    }
    return "unknown";
}

int sbir_elem_parse(const char *s) {
    if (!strcmp(s, "f32") || !strcmp(s, "float32")) return SBIR_ELEM_F32;
    if (!strcmp(s, "f16") || !strcmp(s, "fp16") || !strcmp(s, "float16")) return SBIR_ELEM_F16;
    if (!strcmp(s, "i8") || !strcmp(s, "int8")) return SBIR_ELEM_I8;
    return -1;
}

/* Float to half with round-to-nearest-even, after F. Giesen's float_to_half_fast3_rtne: subnormal
 * halves come from one float addition (the FPU does the rounding), normal ones from integer rounding
 * with the "odd mantissa" tie-break. */
uint16_t sbir_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = u & 0x80000000u;
    u ^= sign;
    uint16_t o;
    if (u >= (uint32_t)(127 + 16) << 23) { /* too big for a half, infinity or NaN */
        o = u > 0x7f800000u ? 0x7e00 : 0x7c00;
    } else if (u < (uint32_t)113 << 23) { /* half subnormal or zero */
        const uint32_t magic_u = (uint32_t)126 << 23; /* 0.5f */
        float fm, fv;
        memcpy(&fm, &magic_u, 4);
        memcpy(&fv, &u, 4);
        fv += fm;
        memcpy(&u, &fv, 4);
        o = (uint16_t)(u - magic_u);
    } else {
        uint32_t mant_odd = (u >> 13) & 1;
        u += ((uint32_t)(15 - 127) << 23) + 0xfff;
        u += mant_odd;
        o = (uint16_t)(u >> 13);
    }
    return (uint16_t)(o | (sign >> 16));
}

float sbir_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, u;
    if (exp == 0) {
        float f = (float)mant * 0x1p-24f; /* zero or subnormal: exact in float */
        memcpy(&u, &f, 4);
        u |= sign;
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (mant << 13);
    } else {
        u = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

void sbir_quantize_rows(sbir_elem elem, const float *x, int64_t n, int dim, void *out, float *scale) {
    size_t total = (size_t)n * (size_t)dim;
    if (elem == SBIR_ELEM_F32) {
        memcpy(out, x, total * 4);
    } else if (elem == SBIR_ELEM_F16) {
        uint16_t *o = out;
#pragma omp parallel for schedule(static) if (total >= (1u << 20))
        for (size_t i = 0; i < total; i++) o[i] = sbir_f32_to_f16(x[i]);
    } else if (elem == SBIR_ELEM_I8) {
        int8_t *o = out;
#pragma omp parallel for schedule(static) if (n >= 16384)
        for (int64_t r = 0; r < n; r++) {
            const float *row = x + (size_t)r * dim;
            float m = 0;
            for (int j = 0; j < dim; j++) m = fmaxf(m, fabsf(row[j]));
            float s = m > 0 && isfinite(m) ? m / 127.0f : 0.0f;
            scale[r] = s;
            for (int j = 0; j < dim; j++) {
                float v = s > 0 ? rintf(row[j] / s) : 0.0f;
                v = v > 127 ? 127 : v < -127 ? -127 : v;
                o[(size_t)r * dim + j] = (int8_t)(v == v ? v : 0);
            }
        }
    }
}

void sbir_matrix_row(const sbir_matrix *m, int64_t r, float *out) {
    const unsigned char *p = (const unsigned char *)m->data + (size_t)r * m->row_bytes;
    if (m->elem == SBIR_ELEM_F32) {
        memcpy(out, p, (size_t)m->dim * 4);
    } else if (m->elem == SBIR_ELEM_F16) {
        const uint16_t *h = (const uint16_t *)p;
        for (int j = 0; j < m->dim; j++) out[j] = sbir_f16_to_f32(h[j]);
    } else {
        const int8_t *q = (const int8_t *)p;
        for (int j = 0; j < m->dim; j++) out[j] = m->scale[r] * (float)q[j];
    }
}

void sbir_prefilter_compute(const sbir_matrix *m, int8_t *codes, float *scale, float *err, float *max_norm) {
    double mx = 0;
    /* rows are independent; large matrices (index writing) are worth the threads */
#pragma omp parallel reduction(max : mx) if (m->n >= 16384)
    {
        float *row = mallocCheck((size_t)m->dim * sizeof(float));
#pragma omp for schedule(static)
        for (int64_t r = 0; r < m->n; r++) {
            sbir_matrix_row(m, r, row);
            int8_t *c = codes + (size_t)r * m->dim;
            sbir_quantize_rows(SBIR_ELEM_I8, row, 1, m->dim, c, &scale[r]);
            double e = 0, nn = 0;
            for (int j = 0; j < m->dim; j++) {
                double d = (double)row[j] - (double)scale[r] * (double)c[j];
                e += d * d;
                nn += (double)row[j] * row[j];
            }
            /* A bound must never be below the truth: round up generously. */
            err[r] = nextafterf((float)(sqrt(e) * (1 + 1e-6)), INFINITY);
            if (nn > mx) mx = nn;
        }
        free(row);
    }
    *max_norm = nextafterf((float)(sqrt(mx) * (1 + 1e-6)), INFINITY);
}
