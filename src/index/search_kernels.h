/* search_kernels.h — internal to src/index: the dot-product kernels behind search.h.
 * Every row's score comes from one code path (rows are always scored four at a time, a short tail
 * repeats its last row), so a row gets the same score whichever block or thread scores it. */
#ifndef SBIR_INDEX_SEARCH_KERNELS_H
#define SBIR_INDEX_SEARCH_KERNELS_H

#include <stdint.h>

#include "index/matrix.h"

typedef struct {
    const float *f;     /* the float query (f32 and f16 rows) */
    int16_t *q16;       /* int8 rows: the query quantised to int16 (dim values, caller's buffer) */
    float q16_scale;    /* q ~= q16_scale * q16 */
} sk_query;

/* Fills q (q16 must point to m->dim int16 of storage when m->elem is SBIR_ELEM_I8). */
void sk_prepare_query(const sbir_matrix *m, const float *qf, int16_t *q16, sk_query *q);

/* Scores of nb rows: rows r0 .. r0+nb-1 when idx is NULL, else rows idx[0..nb-1]. */
void sk_score_block(const sbir_matrix *m, const sk_query *q, int64_t r0, const uint32_t *idx, int nb, float *out);

#endif
