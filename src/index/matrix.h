/* matrix.h — a read-only view of an N x D embedding matrix as the search layer sees it, and the storage
 * element types (float32, fp16, int8) with their conversions.
 *
 * The search code (search.h) works on these views only, so it does not care whether the rows live in an
 * mmap'd index file (index_file.h) or in memory, nor how the embeddings were learned.
 *
 * Element types, why three: exact search over 1M x 128 rows is bound by memory bandwidth (512 MB per
 * query in float32). fp16 halves the bytes read with ~1e-3 relative error per element; int8 with one
 * float scale per row (x ~= scale[r] * q[r][j], q in -127..127) quarters them. */
#ifndef SBIR_INDEX_MATRIX_H
#define SBIR_INDEX_MATRIX_H

#include <stddef.h>
#include <stdint.h>

typedef enum { SBIR_ELEM_F32 = 0, SBIR_ELEM_F16 = 1, SBIR_ELEM_I8 = 2 } sbir_elem;

typedef struct sbir_prefilter sbir_prefilter;

typedef struct {
    sbir_elem elem;
    int64_t n;          /* rows */
    int dim;            /* columns */
    size_t row_bytes;   /* bytes from one row to the next, >= dim * sbir_elem_size(elem) */
    const void *data;   /* row 0 */
    const float *scale; /* SBIR_ELEM_I8 only: n per-row scales; NULL otherwise */
    const sbir_prefilter *pre; /* optional, f32/f16 only: exact search then reads a quarter of the bytes */
} sbir_matrix;

/* An int8 copy of a float matrix with a per-row bound on its error, for EXACT search in two passes
 * (the "vector approximation file" idea, Weber et al. 1998): pass 1 streams the int8 codes (1/4 of the
 * float32 bytes) and gives each row an interval [approx - e_r, approx + e_r] that provably holds its
 * float score; only rows whose upper bound reaches the k-th best lower bound are re-scored from the
 * float rows. The answer is identical to a full float scan; see search.c. */
struct sbir_prefilter {
    sbir_matrix codes; /* SBIR_ELEM_I8, same n and dim, with its per-row scales */
    const float *err;  /* n: |x_r - scale_r * code_r|_2 (rounded up), x_r the stored (f32/f16) row */
    float max_norm;    /* max over rows of |x_r|_2 (rounded up) */
};

size_t sbir_elem_size(sbir_elem e);  /* 4, 2, 1; 0 for an unknown value */
const char *sbir_elem_name(sbir_elem e); /* "f32", "f16", "i8" */
int sbir_elem_parse(const char *name);   /* -1 if unknown; accepts float32/fp16/int8 too */

/* IEEE binary16 conversions, round to nearest even (the same results as the F16C instructions). */
uint16_t sbir_f32_to_f16(float f);
float sbir_f16_to_f32(uint16_t h);

/* Converts n rows of dim floats to elem, packed (row_bytes = dim * size). out: n*dim elements;
 * scale: n floats for SBIR_ELEM_I8 (ignored otherwise, may be NULL). int8 uses a symmetric per-row
 * scale max|x|/127 and rounds to nearest. */
void sbir_quantize_rows(sbir_elem elem, const float *x, int64_t n, int dim, void *out, float *scale);
/* Row r of m back to float (dim values). */
void sbir_matrix_row(const sbir_matrix *m, int64_t r, float *out);

/* Computes a prefilter for the f32/f16 matrix m: codes (n*dim int8), scale (n), err (n), *max_norm. */
void sbir_prefilter_compute(const sbir_matrix *m, int8_t *codes, float *scale, float *err, float *max_norm);

#endif
