/* fused_search.h — internal to src/api: the exact ranking of one (sketch, style) query over an index's
 * content and style matrices with a model's fusion, score = -(f0 dc + f1 ds + f2 dc ds), where
 * dc = |qc - c|^2 = 2 - 2 qc.c (unit vectors) and ds = |qs - s|^2 = |qs|^2 + 1 - 2 qs.s (qs, a
 * prototype or a mean of unit vectors, is NOT unit: this is the distance evaluation uses).
 *
 * Why not search_fused alone: it ranks by -(dc + w ds), linear; the learned fusion has a product term.
 * Linear fusions (f2 == 0, f0 > 0) go through search_fused (whose two-pass prefilter reads a quarter of
 * the bytes), with w = f1 / f0 — the same order, since |qs|^2 only shifts every ds by one constant.
 * Product fusions are scored here row by row with the index's own kernels (search_kernels.h), so a
 * row's dot products are exactly the ones search.h computes. */
#ifndef SBIR_API_FUSED_SEARCH_H
#define SBIR_API_FUSED_SEARCH_H

#include <stdint.h>

#include "index/matrix.h"

typedef struct {
    const sbir_matrix *content, *style; /* same rows; style unused when qs is NULL */
    const float *qc;                    /* content query, dim content->dim */
    const float *qs;                    /* style query (dim style->dim) or NULL: content only, score -dc */
    float fusion[3];                    /* f0, f1, f2 >= 0 */
    const uint32_t *rows;               /* optional: only these rows (ascending) */
    int64_t n_rows;
    int k;
    int threads; /* <= 0: OpenMP's default */
} fused_query;

typedef struct {
    float score, dc, ds;
    float key; /* what the k rows were SELECTED by (higher first, equal: lower row): the inner product for
                  a content-only query, search_fused's linear score for a linear fusion, the score itself
                  for a product fusion. Rounding can make two rows' scores equal (or, for the linear path,
                  swap them) where their keys differ, so a merge of several shards' hits must select by
                  key to pick exactly these k rows (index/shards.h), then order by score. */
    int64_t row;
} fused_hit;

/* The k best rows by (key, row), reported best first by score (higher score; equal scores: lower row).
 * Returns the number of hits (<= k) or SBIR_ERR. */
int fused_search(const fused_query *q, fused_hit *out);

#endif
