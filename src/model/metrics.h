/* metrics.h — retrieval metrics for one ranked list, and their means.
 *
 * A query has n gallery items with a score each (higher = better match) and a relevance flag.
 * Ties: items with equal scores form one group that is ranked as a whole, so no metric depends on the
 * order the gallery happens to be stored in. AP is then sum over groups of (recall gained in the group)
 * x (precision at the end of the group) — scikit-learn's average_precision_score definition; with no
 * ties it is the usual mean of precision at each relevant item. Cut-off metrics (AP@k, P@k) count a
 * tie group that straddles rank k in proportion: each of its items is taken as a fraction of a hit.
 * A query with no relevant item has no AP: the functions return -1 and means skip it. */
#ifndef SBIR_MODEL_METRICS_H
#define SBIR_MODEL_METRICS_H

#include <stdint.h>

typedef struct {
    double ap;      /* average precision over the whole ranking, -1 if nothing is relevant */
    double ap_at_k; /* AP over the top k: sum of precision at hits within k / min(R, k) */
    double p_at_k2; /* precision over the top k2 */
    int n_relevant;
} rank_metrics;

/* scratch: n ints (or NULL to allocate). k and k2 are the cut-offs (e.g. 200 and 100). */
rank_metrics rank_evaluate(const float *scores, const uint8_t *relevant, int n, int k, int k2, int *scratch);

/* Precision-recall curve for one query, interpolated (max precision at recall >= r) at n_points
 * recall levels 0, 1/(n_points-1), ..., 1; accumulated (added) into prec_sum. Returns 0 if the query
 * has no relevant item (nothing added), 1 otherwise. */
int rank_pr_accumulate(const float *scores, const uint8_t *relevant, int n, int n_points, double *prec_sum,
                       int *scratch);

#endif
