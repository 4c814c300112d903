/* search.h — exact top-k search over an embedding matrix (matrix.h), one query at a time.
 *
 * Ranking: by inner product. Our embeddings are L2-normalised, and for unit vectors
 * |q - x|^2 = 2 - 2 q.x, so the inner-product order is exactly the squared-L2 order; the inner product
 * needs no per-row norms and is one dot product per row. (A caller with non-normalised vectors wanting
 * L2 must normalise first.)
 *
 * Results are the k best rows under a total order: higher score first, and on equal scores the lower
 * row first. So ties are deterministic, and any number of threads gives exactly the same answer (each
 * row's score is computed by the same code whichever thread reads it). Rows whose score is NaN are never
 * returned. k larger than the number of eligible rows returns all of them.
 *
 * How it is fast: it is bound by memory bandwidth (1M x 128 float32 = 512 MB per query), so rows are
 * streamed in blocks of 256 (a block of scores stays in L1), four rows per pass of a SIMD dot product
 * (AVX-512 / AVX2+FMA / F16C intrinsics where compiled for, a portable loop otherwise), and each score
 * is tested against the current k-th best score before touching the per-thread top-k heap, so almost
 * every row costs only its dot product. Row ranges are split over OpenMP threads and their heaps merged.
 * fp16 rows are widened with F16C on the fly; int8 rows are multiplied in integers against the query
 * quantised to int16 (exact integer sums, then one float scale per row).
 *
 * A float matrix with a prefilter (matrix.h: int8 codes + per-row error bound) is searched in two
 * passes with the SAME result as the full scan: pass 1 streams the int8 codes (a quarter of the bytes)
 * and bounds each row's float score in [approx - e, approx + e], with e = |q'| err_r + |q - q'| max_norm
 * + rounding slack (Cauchy-Schwarz; q' the int16-quantised query); rows whose upper bound is below the
 * k-th best lower bound cannot be in the top k; the few others are re-scored from the float rows with
 * the full-scan kernel, so even the scores are bit-identical to the full scan.
 *
 * Thread safety: no global state; any number of searches may run at once on the same matrix. */
#ifndef SBIR_INDEX_SEARCH_H
#define SBIR_INDEX_SEARCH_H

#include <stdint.h>

#include "index/matrix.h"

typedef struct {
    float score;
    int64_t row;
} sbir_hit;

typedef struct {
    int threads;           /* OpenMP threads for this query; <= 0: omp_get_max_threads(). Small searches
                              (under 32768 rows) run on one thread whatever this says. */
    const uint8_t *mask;   /* optional, one byte per row: rows with mask[r] == 0 are skipped */
    const uint32_t *rows;  /* optional: only these rows (ascending, each < n), e.g. one style's rows
                              from rowlists_get(); combined with mask if both are given */
    int64_t n_rows;
    int no_prefilter;      /* 1: ignore the matrices' prefilters and scan every full-precision row (the
                              same answer, slower; for benchmarks and tests) */
    int64_t *rescored;     /* optional out: rows the two-pass search re-scored in full precision
                              (0 when it did not apply) */
} sbir_search_opts;

/* Top-k rows of m by q . row (q has m->dim floats, finite). out: k hits, best first. Returns the number
 * of hits written (<= k), or SBIR_ERR (bad arguments). opts may be NULL. */
int search_topk(const sbir_matrix *m, const float *q, int k, const sbir_search_opts *opts, sbir_hit *out);

/* Fused (sketch, style) search: both matrices have the same rows (content and style embeddings of the
 * same items); qc is the sketch's content embedding, qs the style prototype (e.g. the normalised mean
 * style embedding of the example images). With dc = |qc - c|^2 and ds = |qs - s|^2, the score is
 *   -(dc + w * ds) = 2 qc.c + 2 w qs.s - 2 (1 + w)        (unit vectors)
 * computed from the two dot products, so it costs two dot products per row. w >= 0. */
int search_fused(const sbir_matrix *content, const float *qc, const sbir_matrix *style, const float *qs,
                 float w, int k, const sbir_search_opts *opts, sbir_hit *out);

/* The score search_topk gives row r (for re-ranking and tests). */
float search_score_row(const sbir_matrix *m, const float *q, int64_t r);

/* Rows per label (class or style), built once so that a filtered search reads only its rows.
 * labels: n int32 values spaced stride_bytes apart (e.g. &items[0].style_id, sizeof items[0]); values
 * outside 0..n_labels-1 (unknown) belong to no list. NULL + sbir_error if n > UINT32_MAX. */
typedef struct sbir_rowlists sbir_rowlists;
sbir_rowlists *rowlists_build(const int32_t *labels, size_t stride_bytes, int64_t n, int n_labels);
/* Ascending rows with that label (NULL and *count = 0 for a label out of range). */
const uint32_t *rowlists_get(const sbir_rowlists *l, int label, int64_t *count);
void rowlists_free(sbir_rowlists *l);

#endif
