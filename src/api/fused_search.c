/* fused_search.c — see fused_search.h. */
#include "api/fused_search.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "index/search.h"
#include "index/search_kernels.h"
#include "util/common.h"

#define BLOCK 256
#define MT_MIN_ROWS 32768 /* as search.c: below this, waking threads costs more than it saves */

static int better(const fused_hit *a, const fused_hit *b) {
    return a->score > b->score || (a->score == b->score && a->row < b->row);
}

static int hit_cmp(const void *pa, const void *pb) {
    const fused_hit *a = pa, *b = pb;
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

/* Min-heap of the k best: h[0] is the worst kept. */
typedef struct {
    fused_hit *h;
    int n, k;
} heap;

static void heap_push(heap *t, const fused_hit *c) {
    if (t->n < t->k) {
        int i = t->n++;
        t->h[i] = *c;
        while (i > 0) {
            int p = (i - 1) / 2;
            if (!better(&t->h[p], &t->h[i])) break;
            fused_hit tmp = t->h[p];
            t->h[p] = t->h[i], t->h[i] = tmp;
            i = p;
        }
        return;
    }
    if (!better(c, &t->h[0])) return;
    t->h[0] = *c;
    for (int i = 0;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        if (l < t->n && better(&t->h[w], &t->h[l])) w = l;
        if (r < t->n && better(&t->h[w], &t->h[r])) w = r;
        if (w == i) break;
        fused_hit tmp = t->h[i];
        t->h[i] = t->h[w], t->h[w] = tmp;
        i = w;
    }
}

static float sqnorm(const float *x, int d) {
    float s = 0;
    for (int i = 0; i < d; i++) s += x[i] * x[i];
    return s;
}

static float fuse(const float f[3], float dc, float ds) { return -(f[0] * dc + f[1] * ds + f[2] * dc * ds); }

static int check(const fused_query *q) {
    if (!q->content || !q->qc || q->k < 1) return sbir_error("search: bad arguments");
    if (q->qs) {
        if (!q->style || q->style->dim < 1) return sbir_error("search: this index has no style embeddings");
        if (q->style->n != q->content->n) return sbir_error("search: content and style row counts differ");
        for (int i = 0; i < 3; i++)
            if (!(q->fusion[i] >= 0) || !isfinite(q->fusion[i]))
                return sbir_error("search: fusion weight %g must be finite and >= 0", (double)q->fusion[i]);
        for (int i = 0; i < q->style->dim; i++)
            if (!isfinite(q->qs[i])) return sbir_error("search: the style query is not finite");
    }
    for (int i = 0; i < q->content->dim; i++)
        if (!isfinite(q->qc[i])) return sbir_error("search: the sketch embedding is not finite");
    return SBIR_OK;
}

/* Product fusion: every eligible row scored, rows split over threads, heaps merged. */
static int scan(const fused_query *q, float qs2, fused_hit *out) {
    int64_t total = q->rows ? q->n_rows : q->content->n;
    int nth = q->threads > 0 ? q->threads : omp_get_max_threads();
    if (total < MT_MIN_ROWS) nth = 1;
    int64_t nblocks = (total + BLOCK - 1) / BLOCK;
    if (nth > nblocks) nth = nblocks > 0 ? (int)nblocks : 1;
    fused_hit *all = mallocCheck(sizeof(fused_hit) * (size_t)q->k * (size_t)nth);
    int *counts = callocCheck((size_t)nth, sizeof(int));
#pragma omp parallel num_threads(nth)
    {
        int t = omp_get_thread_num(), T = omp_get_num_threads();
        heap h = {all + (size_t)q->k * t, 0, q->k};
        int16_t *q16c = mallocCheck(sizeof(int16_t) * (size_t)q->content->dim);
        int16_t *q16s = mallocCheck(sizeof(int16_t) * (size_t)q->style->dim);
        sk_query kc, ks;
        sk_prepare_query(q->content, q->qc, q16c, &kc);
        sk_prepare_query(q->style, q->qs, q16s, &ks);
        float sc[BLOCK], ss[BLOCK];
        int64_t b0 = nblocks * t / T, b1 = nblocks * (t + 1) / T;
        for (int64_t b = b0; b < b1; b++) {
            int64_t r0 = b * BLOCK;
            int nb = (int)SBIR_MIN((int64_t)BLOCK, total - r0);
            const uint32_t *idx = q->rows ? q->rows + r0 : NULL;
            sk_score_block(q->content, &kc, r0, idx, nb, sc);
            sk_score_block(q->style, &ks, r0, idx, nb, ss);
            for (int i = 0; i < nb; i++) {
                fused_hit c;
                c.dc = 2 - 2 * sc[i];
                c.ds = qs2 + 1 - 2 * ss[i];
                c.score = c.key = fuse(q->fusion, c.dc, c.ds);
                c.row = idx ? (int64_t)idx[i] : r0 + i;
                if (c.score == c.score) heap_push(&h, &c); /* NaN never ranks */
            }
        }
        counts[t] = h.n;
        free(q16c);
        free(q16s);
    }
    int n = 0; /* compact the per-thread heaps, sort, keep k */
    for (int t = 0; t < nth; t++) {
        memmove(all + n, all + (size_t)q->k * t, sizeof(fused_hit) * (size_t)counts[t]);
        n += counts[t];
    }
    qsort(all, (size_t)n, sizeof *all, hit_cmp);
    if (n > q->k) n = q->k;
    memcpy(out, all, sizeof(fused_hit) * (size_t)n);
    free(all);
    free(counts);
    return n;
}

/* Exact product scores of the given rows (ascending), in blocks through the index's kernels. */
static void rescore(const fused_query *q, float qs2, const uint32_t *rows, int64_t n, fused_hit *out) {
    int16_t *q16c = mallocCheck(sizeof(int16_t) * (size_t)q->content->dim);
    int16_t *q16s = mallocCheck(sizeof(int16_t) * (size_t)q->style->dim);
    sk_query kc, ks;
    sk_prepare_query(q->content, q->qc, q16c, &kc);
    sk_prepare_query(q->style, q->qs, q16s, &ks);
    float sc[BLOCK], ss[BLOCK];
    for (int64_t r0 = 0; r0 < n; r0 += BLOCK) {
        int nb = (int)SBIR_MIN((int64_t)BLOCK, n - r0);
        sk_score_block(q->content, &kc, 0, rows + r0, nb, sc);
        sk_score_block(q->style, &ks, 0, rows + r0, nb, ss);
        for (int i = 0; i < nb; i++) {
            fused_hit *h = &out[r0 + i];
            h->row = rows[r0 + i];
            h->dc = 2 - 2 * sc[i];
            h->ds = qs2 + 1 - 2 * ss[i];
            h->score = h->key = fuse(q->fusion, h->dc, h->ds);
        }
    }
    free(q16c);
    free(q16s);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Product fusion without scanning every row. With a <= dc and b <= ds for every eligible row,
 * (dc - a)(ds - b) >= 0 gives dc ds >= b dc + a ds - a b, so the product cost P = f0 dc + f1 ds + f2 dc ds
 * is bounded below by the LINEAR L = (f0 + f2 b) dc + (f1 + f2 a) ds - f2 a b (the tangent plane at the
 * smallest distances, tight where the best rows are). a and b are the smallest dc and ds (two top-1
 * searches). The K best rows by L come from search_fused (fast, prefiltered); every other row has
 * L >= L_K, hence P >= L_K. So if the k-th best P among the K candidates is below L_K (with a margin for
 * rounding), the candidates hold the exact top k. If not, K grows fourfold; past max_k it gives up
 * (*ok = 0) and the caller scans. */
static int certified(const fused_query *q, float qs2, int64_t max_k, fused_hit *out, int *ok) {
    *ok = 0;
    int64_t eligible = q->rows ? q->n_rows : q->content->n;
    sbir_search_opts so = {.threads = q->threads, .rows = q->rows, .n_rows = q->n_rows};
    sbir_hit one;
    if (search_topk(q->content, q->qc, 1, &so, &one) != 1) return SBIR_ERR;
    float a = SBIR_MAX(0.0f, 2 - 2 * one.score - 1e-4f);
    if (search_topk(q->style, q->qs, 1, &so, &one) != 1) return SBIR_ERR;
    float b = SBIR_MAX(0.0f, qs2 + 1 - 2 * one.score - 1e-4f);
    const float *f = q->fusion;
    float A = f[0] + f[2] * b, Bw = f[1] + f[2] * a, w = Bw / A;
    for (int64_t K = SBIR_MAX(4 * (int64_t)q->k, 64);; K *= 4) {
        if (K > max_k) return 0;
        sbir_hit *h = mallocCheck(sizeof(sbir_hit) * (size_t)K);
        int n = search_fused(q->content, q->qc, q->style, q->qs, w, (int)K, &so, h);
        if (n < 0) {
            free(h);
            return SBIR_ERR;
        }
        uint32_t *rows = mallocCheck(sizeof(uint32_t) * (size_t)(n ? n : 1));
        for (int i = 0; i < n; i++) rows[i] = (uint32_t)h[i].row;
        /* search_fused's score is -(dc + w ds') with ds' = 2 - 2 qs.s = ds - (|qs|^2 - 1) */
        float L_K = n ? A * (-h[n - 1].score + w * (qs2 - 1)) - f[2] * a * b : 0;
        free(h);
        qsort(rows, (size_t)n, sizeof *rows, cmp_u32);
        fused_hit *c = mallocCheck(sizeof(fused_hit) * (size_t)(n ? n : 1));
        rescore(q, qs2, rows, n, c);
        qsort(c, (size_t)n, sizeof *c, hit_cmp);
        int got = SBIR_MIN(n, q->k);
        float P_k = got ? -c[got - 1].score : 0;
        int done = n < K || n >= eligible || P_k < L_K - 1e-4f * (fabsf(L_K) + 1);
        if (done) {
            memcpy(out, c, sizeof(fused_hit) * (size_t)got);
            *ok = 1;
        }
        free(rows);
        free(c);
        if (done) return got;
    }
}

int fused_search(const fused_query *q, fused_hit *out) {
    if (check(q) != SBIR_OK) return SBIR_ERR;
    sbir_search_opts so = {.threads = q->threads, .rows = q->rows, .n_rows = q->n_rows};
    sbir_hit *h = mallocCheck(sizeof(sbir_hit) * (size_t)q->k);
    int n;
    if (!q->qs) {
        n = search_topk(q->content, q->qc, q->k, &so, h);
        for (int i = 0; i < n; i++) {
            out[i].row = h[i].row;
            out[i].dc = 2 - 2 * h[i].score;
            out[i].ds = 0;
            out[i].score = -out[i].dc;
            out[i].key = h[i].score;
        }
        /* -(2 - 2 s) can round two different inner products to one score: order by the reported score
         * (then row) as documented, not by the inner product that selected the rows */
        if (n > 0) qsort(out, (size_t)n, sizeof *out, hit_cmp);
        free(h);
        return n;
    }
    float qs2 = sqnorm(q->qs, q->style->dim);
    if (q->fusion[2] != 0 || !(q->fusion[0] > 0)) {
        free(h);
        int ok = 0;
        int64_t eligible = q->rows ? q->n_rows : q->content->n;
        if (q->fusion[0] > 0) { /* past a sixteenth of the rows, one scan is cheaper than more rounds */
            n = certified(q, qs2, SBIR_MIN(eligible / 16, (int64_t)1 << 20), out, &ok);
            if (n < 0) return SBIR_ERR;
        }
        return ok ? n : scan(q, qs2, out);
    }
    n = search_fused(q->content, q->qc, q->style, q->qs, q->fusion[1] / q->fusion[0], q->k, &so, h);
    /* The k rows are the right ones; their distances are re-derived from the two dot products (the
     * same kernels), and the order re-checked on the reported scores so it never contradicts them. */
    for (int i = 0; i < n; i++) {
        out[i].row = h[i].row;
        out[i].dc = 2 - 2 * search_score_row(q->content, q->qc, h[i].row);
        out[i].ds = qs2 + 1 - 2 * search_score_row(q->style, q->qs, h[i].row);
        out[i].score = fuse(q->fusion, out[i].dc, out[i].ds);
        out[i].key = h[i].score;
    }
    if (n > 0) qsort(out, (size_t)n, sizeof *out, hit_cmp);
    free(h);
    return n;
}
