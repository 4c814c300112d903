#include "model/metrics.h"

#include <stdlib.h>

#include "util/common.h"

static _Thread_local const float *t_scores;

static int by_score_desc(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    float si = t_scores[i], sj = t_scores[j];
    if (si != sj) return si > sj ? -1 : 1;
    return i < j ? -1 : i > j;
}

static void rank_order(const float *scores, int n, int *order) {
    for (int i = 0; i < n; i++) order[i] = i;
    t_scores = scores;
    qsort(order, (size_t)n, sizeof *order, by_score_desc);
}

rank_metrics rank_evaluate(const float *scores, const uint8_t *relevant, int n, int k, int k2, int *scratch) {
    rank_metrics m = {-1, -1, 0, 0};
    int *order = scratch ? scratch : mallocCheck(sizeof(int) * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++) m.n_relevant += relevant[i] != 0;
    rank_order(scores, n, order);
    int R = m.n_relevant;
    double ap = 0, ap_k = 0, hits_k2 = 0;
    int hits = 0;
    for (int g = 0; g < n;) {
        int end = g;
        int group_hits = 0;
        while (end < n && scores[order[end]] == scores[order[g]]) group_hits += relevant[order[end++]] != 0;
        int size = end - g;
        /* whole-ranking AP: the group's hits all get the precision at the group's end */
        if (group_hits) ap += (double)group_hits / R * (double)(hits + group_hits) / end;
        /* cut-offs: a group straddling k counts each item as group_hits/size of a hit, and each
         * fractional hit at position p earns precision (hits before + fractional hits so far) / p */
        double frac = (double)group_hits / size;
        for (int p = g + 1; p <= end; p++) {
            double hits_so_far = hits + frac * (p - g);
            if (p <= k) ap_k += frac * hits_so_far / p;
            if (p <= k2) hits_k2 += frac;
        }
        hits += group_hits;
        g = end;
    }
    if (R > 0) {
        m.ap = ap;
        m.ap_at_k = ap_k / SBIR_MIN(R, k);
    }
    m.p_at_k2 = k2 > 0 ? hits_k2 / k2 : 0;
    if (!scratch) free(order);
    return m;
}

int rank_pr_accumulate(const float *scores, const uint8_t *relevant, int n, int n_points, double *prec_sum,
                       int *scratch) {
    int R = 0;
    for (int i = 0; i < n; i++) R += relevant[i] != 0;
    if (R == 0 || n_points < 2) return 0;
    int *order = scratch ? scratch : mallocCheck(sizeof(int) * (size_t)n);
    rank_order(scores, n, order);
    /* precision and recall at the end of each tie group; interpolated precision at recall r is the
     * best precision at any point with recall >= r */
    double *best = callocCheck((size_t)n_points, sizeof *best);
    int hits = 0;
    for (int g = 0; g < n;) {
        int end = g;
        while (end < n && scores[order[end]] == scores[order[g]]) hits += relevant[order[end++]] != 0;
        double rec = (double)hits / R, prec = (double)hits / end;
        for (int j = 0; j < n_points; j++) {
            double r = (double)j / (n_points - 1);
            if (rec + 1e-12 >= r && prec > best[j]) best[j] = prec;
        }
        g = end;
    }
    for (int j = 0; j < n_points; j++) prec_sum[j] += best[j];
    free(best);
    if (!scratch) free(order);
    return 1;
}
