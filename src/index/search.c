/* search.c — exact top-k: blocks of rows scored by search_kernels.c, a threshold test, a per-thread
 * min-heap of the k best, OpenMP over row ranges, a final merge. See search.h for the contract. */
#include "index/search.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "index/search_kernels.h"
#include "util/common.h"

#define BLOCK 256
#define MT_MIN_ROWS 32768 /* below this, waking threads costs more than it saves */

/* The total order: a before b when its score is higher, or equal with a lower row. */
static int hit_better(const sbir_hit *a, const sbir_hit *b) {
    return a->score > b->score || (a->score == b->score && a->row < b->row);
}

static int hit_cmp(const void *pa, const void *pb) {
    const sbir_hit *a = pa, *b = pb;
    return hit_better(a, b) ? -1 : hit_better(b, a) ? 1 : 0;
}

/* Min-heap of the k best so far: heap[0] is the worst kept hit. */
typedef struct {
    sbir_hit *h;
    int n, k;
    float thr; /* scores below this cannot enter: -inf until full, then heap[0].score */
} topk;

static void sift_down(topk *t, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        if (l < t->n && hit_better(&t->h[w], &t->h[l])) w = l;
        if (r < t->n && hit_better(&t->h[w], &t->h[r])) w = r;
        if (w == i) return;
        sbir_hit tmp = t->h[i];
        t->h[i] = t->h[w];
        t->h[w] = tmp;
        i = w;
    }
}

static void topk_push(topk *t, float s, int64_t row) {
    sbir_hit c = {s, row};
    if (t->n < t->k) {
        int i = t->n++;
        t->h[i] = c;
        while (i > 0) { /* sift up */
            int p = (i - 1) / 2;
            if (!hit_better(&t->h[p], &t->h[i])) break;
            sbir_hit tmp = t->h[p];
            t->h[p] = t->h[i];
            t->h[i] = tmp;
            i = p;
        }
        if (t->n == t->k) t->thr = t->h[0].score;
        return;
    }
    if (!hit_better(&c, &t->h[0])) return;
    t->h[0] = c;
    sift_down(t, 0);
    t->thr = t->h[0].score;
}

/* One search: up to two scored matrices (the second only for fused search). */
typedef struct {
    const sbir_matrix *m[2];
    sk_query q[2];
    float a, b, c; /* score = a * s0 + b * s1 + c; plain search: a = 1, b = c = 0 */
    int fused;
    const uint8_t *mask;
    const uint32_t *rows;
    int64_t n_rows;
    /* two-pass exact search through the prefilters' int8 codes */
    int pf;
    sk_query cq[2];
    const float *err[2];
    float eA[2], eB; /* row bound = eA[0] err0[r] + eA[1] err1[r] + eB */
} job;

/* Per-thread state. */
typedef struct {
    topk t;          /* exact scan: the k best; two-pass: the k best LOWER bounds */
    int64_t *cand;   /* two-pass: rows whose upper bound reached t.thr when seen */
    float *cand_ub;
    int64_t nc, cap;
} part;

static void combine(const job *j, float *s0, const float *s1, int nb) {
    for (int i = 0; i < nb; i++) s0[i] = j->a * s0[i] + j->b * s1[i] + j->c;
}

static void score_rows(const job *j, int64_t r0, const uint32_t *idx, int nb, float *out) {
    sk_score_block(j->m[0], &j->q[0], r0, idx, nb, out);
    if (!j->fused) return;
    float s1[BLOCK];
    sk_score_block(j->m[1], &j->q[1], r0, idx, nb, s1);
    combine(j, out, s1, nb);
}

static void offer(topk *t, const float *sc, int64_t r0, const uint32_t *idx, int nb) {
    for (int i = 0; i < nb; i++) {
        float s = sc[i];
        if (!(s >= t->thr)) continue; /* the common case; also drops NaN */
        topk_push(t, s, idx ? (int64_t)idx[i] : r0 + i);
    }
}

static void add_candidate(part *p, int64_t row, float ub) {
    if (p->nc == p->cap) { /* drop what the risen threshold now excludes; grow if that freed little */
        int64_t w = 0;
        for (int64_t i = 0; i < p->nc; i++)
            if (p->cand_ub[i] >= p->t.thr) p->cand[w] = p->cand[i], p->cand_ub[w++] = p->cand_ub[i];
        p->nc = w;
        if (p->nc > p->cap / 2) {
            p->cap *= 2;
            p->cand = reallocCheck(p->cand, (size_t)p->cap * sizeof *p->cand);
            p->cand_ub = reallocCheck(p->cand_ub, (size_t)p->cap * sizeof *p->cand_ub);
        }
    }
    p->cand[p->nc] = row;
    p->cand_ub[p->nc++] = ub;
}

/* Pass 1 of the two-pass search on one block: approximate scores from the int8 codes and bounds. */
static void prefilter_block(const job *j, part *p, int64_t r0, const uint32_t *idx, int nb) {
    float s[BLOCK];
    sk_score_block(&j->m[0]->pre->codes, &j->cq[0], r0, idx, nb, s);
    if (j->fused) {
        float s1[BLOCK];
        sk_score_block(&j->m[1]->pre->codes, &j->cq[1], r0, idx, nb, s1);
        combine(j, s, s1, nb);
    }
    for (int i = 0; i < nb; i++) {
        int64_t r = idx ? (int64_t)idx[i] : r0 + i;
        float e = j->eA[0] * j->err[0][r] + j->eB;
        if (j->fused) e += j->eA[1] * j->err[1][r];
        float ub = s[i] + e;
        if (!(ub >= p->t.thr)) continue; /* cannot reach the k best: the common case */
        topk_push(&p->t, s[i] - e, r);
        add_candidate(p, r, ub);
    }
}

/* Work item pi of np: a contiguous share of the eligible rows, in blocks. */
static void run_part(const job *j, int pi, int np, part *p) {
    uint32_t idx[BLOCK];
    float sc[BLOCK];
    int64_t total = j->rows ? j->n_rows : j->m[0]->n;
    int64_t lo = total * pi / np, hi = total * (pi + 1) / np;
    for (int64_t b = lo; b < hi; b += BLOCK) {
        int nb = (int)(hi - b < BLOCK ? hi - b : BLOCK);
        const uint32_t *use = NULL;
        if (j->rows) use = j->rows + b;
        if (j->mask) { /* compact the block's eligible rows */
            int c = 0;
            for (int i = 0; i < nb; i++) {
                int64_t r = use ? use[i] : b + i;
                if (j->mask[r]) idx[c++] = (uint32_t)r;
            }
            if (c == 0) continue;
            use = idx, nb = c;
        }
        if (j->pf) {
            prefilter_block(j, p, b, use, nb);
        } else {
            score_rows(j, b, use, nb, sc);
            offer(&p->t, sc, b, use, nb);
        }
    }
}

static int check_matrix(const sbir_matrix *m, const char *what) {
    if ((!m->data && m->n > 0) || m->n < 0 || m->dim < 1 || !sbir_elem_size(m->elem))
        return sbir_error("search: invalid %s matrix", what);
    if (m->row_bytes < (size_t)m->dim * sbir_elem_size(m->elem))
        return sbir_error("search: %s matrix rows are %zu bytes apart, less than one row", what, m->row_bytes);
    if (m->elem == SBIR_ELEM_I8 && !m->scale && m->n > 0) return sbir_error("search: int8 %s matrix without scales", what);
    return SBIR_OK;
}

static int check_query(const sbir_matrix *m, const float *q, const char *what) {
    if (!m || !q) return sbir_error("search: no %s matrix or query", what);
    if (check_matrix(m, what) != SBIR_OK) return SBIR_ERR;
    if (m->pre) {
        const sbir_matrix *c = &m->pre->codes;
        if (m->elem == SBIR_ELEM_I8 || (!m->pre->err && m->n > 0) || c->elem != SBIR_ELEM_I8 || c->n != m->n || c->dim != m->dim)
            return sbir_error("search: %s matrix has an inconsistent prefilter", what);
        if (check_matrix(c, what) != SBIR_OK) return SBIR_ERR;
    }
    for (int i = 0; i < m->dim; i++)
        if (!isfinite(q[i])) return sbir_error("search: %s query has a non-finite value at %d", what, i);
    return SBIR_OK;
}

/* Bound terms for one matrix: |q'|_2 (q' the dequantised int16 query) multiplies err_r; |q - q'|_2
 * max_norm and the float rounding of both the approximate and the full-scan scores are per query. */
static void bound_terms(const sbir_matrix *m, const float *q, const sk_query *cq, float *A, float *B) {
    double qq = 0, ee = 0, qn = 0;
    for (int i = 0; i < m->dim; i++) {
        double qi = (double)cq->q16_scale * cq->q16[i], d = (double)q[i] - qi;
        qq += qi * qi;
        ee += d * d;
        qn += (double)q[i] * q[i];
    }
    double mn = m->pre->max_norm, eps = 0x1p-23;
    double round = ((double)m->dim + 16) * eps * (sqrt(qn) + sqrt(qq)) * (mn * 1.01 + 1e-3);
    *A = (float)(sqrt(qq) * (1 + 1e-6));
    *B = (float)((sqrt(ee) * mn + round) * (1 + 1e-6) + 1e-9);
}

static int run(job *j, int k, const sbir_search_opts *o, sbir_hit *out) {
    if (k < 1) return sbir_error("search: k=%d must be at least 1", k);
    const sbir_matrix *m = j->m[0];
    j->mask = o ? o->mask : NULL;
    j->rows = o ? o->rows : NULL;
    j->n_rows = o && o->rows ? o->n_rows : 0;
    if (j->rows && j->n_rows < 0) return sbir_error("search: negative row-list length");
    for (int64_t i = 0; j->rows && i < j->n_rows; i++)
        if ((int64_t)j->rows[i] >= m->n)
            return sbir_error("search: row list entry %lld is row %u, past the %lld rows", (long long)i, j->rows[i],
                              (long long)m->n);
    if ((j->rows || j->mask) && m->n > (int64_t)UINT32_MAX)
        return sbir_error("search: filters support at most %u rows", UINT32_MAX);
    int64_t eligible = j->rows ? j->n_rows : m->n;
    if (eligible == 0) return 0;
    int kk = (int64_t)k < eligible ? k : (int)eligible;
    /* Two passes pay when the codes are much smaller than the rows and k is a small share of them. */
    if (o && o->rescored) *o->rescored = 0;
    j->pf = !(o && o->no_prefilter) && m->pre && (!j->fused || j->m[1]->pre) && m->n <= (int64_t)UINT32_MAX &&
            (int64_t)kk * 8 <= eligible;

    int nt = o && o->threads > 0 ? o->threads : omp_get_max_threads();
    if (eligible < MT_MIN_ROWS || nt < 1) nt = 1;
    if ((int64_t)nt * BLOCK > eligible) nt = (int)(eligible / BLOCK > 0 ? eligible / BLOCK : 1);
    sbir_hit *all = mallocCheck((size_t)nt * (size_t)kk * sizeof(sbir_hit));
    part *parts = callocCheck((size_t)nt, sizeof(part));
    for (int p = 0; p < nt; p++) {
        parts[p].t = (topk){all + (size_t)p * kk, 0, kk, -INFINITY};
        if (j->pf) {
            parts[p].cap = 4 * (int64_t)kk + 1024;
            parts[p].cand = mallocCheck((size_t)parts[p].cap * sizeof(int64_t));
            parts[p].cand_ub = mallocCheck((size_t)parts[p].cap * sizeof(float));
        }
    }
    if (nt == 1) {
        run_part(j, 0, 1, &parts[0]);
    } else {
#pragma omp parallel num_threads(nt)
        {
            /* np can be fewer than asked (nested region, thread limit): the shares follow what we got */
            int p = omp_get_thread_num(), np = omp_get_num_threads();
            run_part(j, p, np, &parts[p]);
        }
    }
    /* Merge: gather every thread's kept hits, sort by the total order, keep k. */
    int n = 0;
    for (int p = 0; p < nt; p++) {
        memmove(all + n, all + (size_t)p * kk, (size_t)parts[p].t.n * sizeof(sbir_hit));
        n += parts[p].t.n;
    }
    qsort(all, (size_t)n, sizeof(sbir_hit), hit_cmp);
    if (j->pf) {
        /* The k-th best lower bound over all rows; a row of the true top k has ub >= its score >= it. */
        float tau = n >= kk ? all[kk - 1].score : -INFINITY;
        topk t = {all, 0, kk, -INFINITY};
        uint32_t idx[BLOCK];
        float sc[BLOCK];
        int nb = 0;
        int64_t rescored = 0;
        for (int p = 0; p < nt; p++) {
            for (int64_t i = 0; i < parts[p].nc; i++) {
                if (!(parts[p].cand_ub[i] >= tau)) continue;
                idx[nb++] = (uint32_t)parts[p].cand[i];
                if (nb == BLOCK) score_rows(j, 0, idx, nb, sc), offer(&t, sc, 0, idx, nb), rescored += nb, nb = 0;
            }
            free(parts[p].cand);
            free(parts[p].cand_ub);
        }
        if (nb > 0) score_rows(j, 0, idx, nb, sc), offer(&t, sc, 0, idx, nb);
        n = t.n;
        if (o && o->rescored) *o->rescored = rescored + nb;
        qsort(all, (size_t)n, sizeof(sbir_hit), hit_cmp);
    }
    if (n > kk) n = kk;
    memcpy(out, all, (size_t)n * sizeof(sbir_hit));
    free(all);
    free(parts);
    return n;
}

static int16_t *query_buf(const sbir_matrix *m, int codes) {
    int need = codes ? m->pre != NULL : m->elem == SBIR_ELEM_I8;
    return need ? mallocCheck((size_t)m->dim * sizeof(int16_t)) : NULL;
}

static void prepare(job *j, int i, const sbir_matrix *m, const float *q, int16_t *qb, int16_t *cb) {
    j->m[i] = m;
    sk_prepare_query(m, q, qb, &j->q[i]);
    if (m->pre) {
        sk_prepare_query(&m->pre->codes, q, cb, &j->cq[i]);
        j->err[i] = m->pre->err;
        float B;
        bound_terms(m, q, &j->cq[i], &j->eA[i], &B);
        j->eB += (i == 0 ? j->a : j->b) * B;
        j->eA[i] *= i == 0 ? j->a : j->b;
    }
}

int search_topk(const sbir_matrix *m, const float *q, int k, const sbir_search_opts *opts, sbir_hit *out) {
    if (check_query(m, q, "content") != SBIR_OK) return SBIR_ERR;
    int16_t *qb = query_buf(m, 0), *cb = query_buf(m, 1);
    job j = {.a = 1};
    prepare(&j, 0, m, q, qb, cb);
    int rc = run(&j, k, opts, out);
    free(qb);
    free(cb);
    return rc;
}

int search_fused(const sbir_matrix *content, const float *qc, const sbir_matrix *style, const float *qs, float w,
                 int k, const sbir_search_opts *opts, sbir_hit *out) {
    if (check_query(content, qc, "content") != SBIR_OK || check_query(style, qs, "style") != SBIR_OK)
        return SBIR_ERR;
    if (content->n != style->n)
        return sbir_error("search: content has %lld rows but style has %lld", (long long)content->n,
                          (long long)style->n);
    if (!(w >= 0) || !isfinite(w)) return sbir_error("search: style weight %g must be finite and >= 0", (double)w);
    int16_t *qb0 = query_buf(content, 0), *cb0 = query_buf(content, 1);
    int16_t *qb1 = query_buf(style, 0), *cb1 = query_buf(style, 1);
    job j = {.a = 2, .b = 2 * w, .c = -2 * (1 + w), .fused = 1};
    prepare(&j, 0, content, qc, qb0, cb0);
    prepare(&j, 1, style, qs, qb1, cb1);
    /* the combination a s0 + b s1 + c is rounded too */
    j.eB += 4 * 0x1p-23f * (j.a + j.b + fabsf(j.c)) * 2;
    int rc = run(&j, k, opts, out);
    free(qb0), free(cb0), free(qb1), free(cb1);
    return rc;
}

float search_score_row(const sbir_matrix *m, const float *q, int64_t r) {
    int16_t *q16 = query_buf(m, 0);
    sk_query sq;
    sk_prepare_query(m, q, q16, &sq);
    float s;
    sk_score_block(m, &sq, r, NULL, 1, &s);
    free(q16);
    return s;
}

/* ---------------------------------------------------------------- row lists per label */

struct sbir_rowlists {
    int n_labels;
    int64_t *start; /* n_labels + 1 offsets into rows (CSR) */
    uint32_t *rows;
};

sbir_rowlists *rowlists_build(const int32_t *labels, size_t stride_bytes, int64_t n, int n_labels) {
    if (n < 0 || n > (int64_t)UINT32_MAX) return sbir_error("rowlists: %lld rows, at most %u", (long long)n, UINT32_MAX), NULL;
    if (n_labels < 0) return sbir_error("rowlists: negative label count"), NULL;
    sbir_rowlists *l = callocCheck(1, sizeof *l);
    l->n_labels = n_labels;
    l->start = callocCheck((size_t)n_labels + 1, sizeof(int64_t));
    const unsigned char *p = (const unsigned char *)labels;
#define LABEL(i) (*(const int32_t *)(p + (size_t)(i) * stride_bytes))
    for (int64_t i = 0; i < n; i++) {
        int32_t v = LABEL(i);
        if (v >= 0 && v < n_labels) l->start[v + 1]++;
    }
    for (int c = 0; c < n_labels; c++) l->start[c + 1] += l->start[c];
    l->rows = mallocCheck((size_t)l->start[n_labels] * sizeof(uint32_t));
    int64_t *fill = mallocCheck(((size_t)n_labels + 1) * sizeof(int64_t));
    memcpy(fill, l->start, ((size_t)n_labels + 1) * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) { /* in row order, so every list is ascending */
        int32_t v = LABEL(i);
        if (v >= 0 && v < n_labels) l->rows[fill[v]++] = (uint32_t)i;
    }
#undef LABEL
    free(fill);
    return l;
}

const uint32_t *rowlists_get(const sbir_rowlists *l, int label, int64_t *count) {
    if (!l || label < 0 || label >= l->n_labels) {
        *count = 0;
        return NULL;
    }
    *count = l->start[label + 1] - l->start[label];
    return l->rows + l->start[label];
}

void rowlists_free(sbir_rowlists *l) {
    if (!l) return;
    free(l->start);
    free(l->rows);
    free(l);
}
