/* ops_triplet.c — triplet masks, mining (batch-hard, semi-hard, batch-all) and the triplet loss.
 * Serial and in a fixed order: the work is small next to the network, and results stay bitwise
 * reproducible. */
#include <math.h>
#include <string.h>

#include "nn/ops.h"
#include "util/common.h"

static float sqdist(const float *x, const float *y, int D) {
    float acc = 0.0f;
    for (int i = 0; i < D; i++) acc += (x[i] - y[i]) * (x[i] - y[i]);
    return acc;
}

/* x (NX,D), y (NY,D) -> dist (NX,NY) */
void sqdist_matrix(float *dist, const float *x, const float *y, int NX, int NY, int D) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < NX; i++)
        for (int j = 0; j < NY; j++) dist[(size_t)i * NY + j] = sqdist(x + (size_t)i * D, y + (size_t)j * D, D);
}

void triplet_masks_class(unsigned char *pos, unsigned char *neg, const int *alab, const int *clab, int NA, int NC,
                         int same_set) {
    for (int a = 0; a < NA; a++) {
        for (int c = 0; c < NC; c++) {
            int self = same_set && a == c;
            pos[(size_t)a * NC + c] = !self && alab[a] == clab[c];
            neg[(size_t)a * NC + c] = !self && alab[a] != clab[c];
        }
    }
}

void triplet_masks_style(unsigned char *pos, unsigned char *neg, const int *acontent, const int *astyle,
                         const int *ccontent, const int *cstyle, int NA, int NC, int same_set) {
    for (int a = 0; a < NA; a++) {
        for (int c = 0; c < NC; c++) {
            int self = same_set && a == c;
            int same_style = astyle[a] == cstyle[c], same_content = acontent[a] == ccontent[c];
            pos[(size_t)a * NC + c] = !self && same_style && !same_content;
            neg[(size_t)a * NC + c] = !self && same_content && !same_style;
        }
    }
}

size_t triplet_mine_capacity(int mode, int NA, int NC) {
    switch (mode) {
    case TRIPLET_BATCH_HARD: return (size_t)NA;
    case TRIPLET_SEMI_HARD: return (size_t)NA * NC;
    default: return (size_t)NA * NC * NC;
    }
}

/* Nearest negative of anchor row d (NC) with lo < d < hi, or -1. */
static int nearest_negative(const float *d, const unsigned char *neg, int NC, float lo, float hi) {
    int best = -1;
    for (int c = 0; c < NC; c++)
        if (neg[c] && d[c] > lo && d[c] < hi && (best < 0 || d[c] < d[best])) best = c;
    return best;
}

/* dist, pos, neg (NA,NC) -> out (up to triplet_mine_capacity); returns the number of triplets */
size_t triplet_mine(sbir_triplet *out, const float *dist, const unsigned char *pos, const unsigned char *neg, int NA,
                    int NC, int mode, float margin) {
    size_t nt = 0;
    for (int a = 0; a < NA; a++) {
        const float *d = dist + (size_t)a * NC;
        const unsigned char *pa = pos + (size_t)a * NC, *na = neg + (size_t)a * NC;
        int hardest_neg = nearest_negative(d, na, NC, -INFINITY, INFINITY);
        if (hardest_neg < 0) continue;
        if (mode == TRIPLET_BATCH_HARD) {
            int hp = -1;
            for (int c = 0; c < NC; c++)
                if (pa[c] && (hp < 0 || d[c] > d[hp])) hp = c;
            if (hp >= 0) out[nt++] = (sbir_triplet){a, hp, hardest_neg};
            continue;
        }
        for (int p = 0; p < NC; p++) {
            if (!pa[p]) continue;
            if (mode == TRIPLET_SEMI_HARD) {
                int n = nearest_negative(d, na, NC, d[p], d[p] + margin);
                out[nt++] = (sbir_triplet){a, p, n >= 0 ? n : hardest_neg};
            } else {
                for (int n = 0; n < NC; n++)
                    if (na[n]) out[nt++] = (sbir_triplet){a, p, n};
            }
        }
    }
    return nt;
}

size_t triplet_mine_labels(sbir_triplet *out, const float *anc, const float *cand, const int *alab, const int *clab,
                           int NA, int NC, int D, int same_set, int mode, float margin) {
    size_t n = (size_t)NA * NC;
    float *dist = mallocCheck(sizeof(float) * (n ? n : 1));
    unsigned char *pos = mallocCheck(n ? n : 1), *neg = mallocCheck(n ? n : 1);
    sqdist_matrix(dist, anc, cand, NA, NC, D);
    triplet_masks_class(pos, neg, alab, clab, NA, NC, same_set);
    size_t nt = triplet_mine(out, dist, pos, neg, NA, NC, mode, margin);
    free(dist);
    free(pos);
    free(neg);
    return nt;
}

static float hinge(const float *anc, const float *cand, sbir_triplet t, int D, float margin) {
    const float *a = anc + (size_t)t.a * D;
    return margin + sqdist(a, cand + (size_t)t.p * D, D) - sqdist(a, cand + (size_t)t.n * D, D);
}

static size_t count_active(const float *anc, const float *cand, const sbir_triplet *t, size_t nt, int D,
                           float margin) {
    size_t active = 0;
    for (size_t i = 0; i < nt; i++) active += hinge(anc, cand, t[i], D, margin) > 0.0f;
    return active;
}

float triplet_loss_forward(float *active_frac, const float *anc, const float *cand, const sbir_triplet *t, size_t nt,
                           int D, float margin, int mean_over_active) {
    double total = 0.0;
    size_t active = 0;
    for (size_t i = 0; i < nt; i++) {
        float h = hinge(anc, cand, t[i], D, margin);
        if (h > 0.0f) {
            total += h;
            active++;
        }
    }
    if (active_frac) *active_frac = nt ? (float)active / (float)nt : 0.0f;
    size_t denom = mean_over_active ? active : nt;
    return denom ? (float)(total / (double)denom) : 0.0f;
}

/* dL/da = 2(n - p), dL/dp = 2(p - a), dL/dn = 2(a - n) for each active triplet, scaled by dloss / denom */
void triplet_loss_backward(float *danc, float *dcand, const float *anc, const float *cand, const sbir_triplet *t,
                           size_t nt, int NA, int NC, int D, float margin, int mean_over_active, float dloss) {
    if (danc) memset(danc, 0, sizeof(float) * NA * D);
    if (dcand) memset(dcand, 0, sizeof(float) * NC * D);
    size_t denom = mean_over_active ? count_active(anc, cand, t, nt, D, margin) : nt;
    if (!denom) return;
    float s = 2.0f * dloss / (float)denom;
    for (size_t i = 0; i < nt; i++) {
        if (hinge(anc, cand, t[i], D, margin) <= 0.0f) continue;
        const float *a = anc + (size_t)t[i].a * D, *p = cand + (size_t)t[i].p * D, *n = cand + (size_t)t[i].n * D;
        for (int k = 0; k < D; k++) {
            float ak = a[k], pk = p[k], nk = n[k];
            if (danc) danc[(size_t)t[i].a * D + k] += s * (nk - pk);
            if (dcand) {
                dcand[(size_t)t[i].p * D + k] += s * (pk - ak);
                dcand[(size_t)t[i].n * D + k] += s * (ak - nk);
            }
        }
    }
}

/* The batch-all loss of one set without a triplet list. The hinge and the order of the sum are those of
 * triplet_mine + triplet_loss_forward, so the loss and the active set are bit for bit theirs; only the
 * gradient is summed in another order. Per anchor a, cnt[c] counts c's appearances in a's active
 * triplets, +1 as the positive and -1 as the negative: the coefficient of d[a,c] in the summed hinges. */
float triplet_batch_all_forward(float *pair_w, float *active_frac, const float *dist, const unsigned char *pos,
                                const unsigned char *neg, int N, float margin) {
    double total = 0.0;
    size_t active = 0, nt = 0;
    int *cnt = mallocCheck(sizeof(int) * (size_t)(N > 0 ? N : 1));
    for (int a = 0; a < N; a++) {
        const float *d = dist + (size_t)a * N;
        const unsigned char *pa = pos + (size_t)a * N, *na = neg + (size_t)a * N;
        memset(cnt, 0, sizeof(int) * (size_t)N);
        size_t npos = 0, nneg = 0;
        for (int c = 0; c < N; c++) npos += pa[c], nneg += na[c];
        nt += npos * nneg;
        for (int p = 0; p < N && nneg; p++) {
            if (!pa[p]) continue;
            for (int n = 0; n < N; n++) {
                if (!na[n]) continue;
                float h = margin + d[p] - d[n];
                if (h > 0.0f) {
                    total += h;
                    active++;
                    cnt[p]++, cnt[n]--;
                }
            }
        }
        for (int c = 0; c < N; c++) pair_w[(size_t)a * N + c] = (float)cnt[c];
    }
    free(cnt);
    if (active_frac) *active_frac = nt ? (float)active / (float)nt : 0.0f;
    float inv = active ? 1.0f / (float)active : 0.0f;
    for (size_t i = 0; i < (size_t)N * N; i++) pair_w[i] *= inv;
    return active ? (float)(total / (double)active) : 0.0f;
}

/* d(sum_ac w[a,c] |e_a - e_c|^2)/de_i = 2 sum_c (w[i,c] + w[c,i]) (e_i - e_c). */
void triplet_batch_all_backward(float *de, const float *e, const float *pair_w, int N, int D, float dloss) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        float *g = de + (size_t)i * D;
        const float *ei = e + (size_t)i * D;
        memset(g, 0, sizeof(float) * (size_t)D);
        for (int c = 0; c < N; c++) {
            float w = pair_w[(size_t)i * N + c] + pair_w[(size_t)c * N + i];
            if (w == 0.0f || c == i) continue;
            w *= 2.0f * dloss;
            const float *ec = e + (size_t)c * D;
            for (int k = 0; k < D; k++) g[k] += w * (ei[k] - ec[k]);
        }
    }
}
