/* test_search.c — exact top-k against brute force (ties, k > N, filters), the two-pass prefiltered
 * search against the full scan, fused scores against a direct computation, fp16/int8 recall, threads. */
#include <math.h>
#include <string.h>

#include "index/search.h"
#include "test.h"
#include "util/common.h"
#include "util/rng.h"

typedef struct {
    sbir_matrix m;
    void *data;
    float *scale;
    int8_t *codes;
    float *pscale, *perr;
    sbir_prefilter pre;
} owned_matrix;

/* Clustered unit vectors: `centres` random centres, each row a centre plus noise, normalised. */
static float *clustered(int64_t n, int d, int centres, float noise, uint64_t seed) {
    sbir_rng r;
    rng_seed(&r, seed);
    float *c = mallocCheck((size_t)centres * d * sizeof(float));
    for (int i = 0; i < centres * d; i++) c[i] = rng_normal(&r);
    float *x = mallocCheck((size_t)n * d * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        int k = (int)rng_below(&r, (uint32_t)centres);
        double s = 0;
        for (int j = 0; j < d; j++) {
            float v = c[k * d + j] / sqrtf((float)d) + noise * rng_normal(&r) / sqrtf((float)d);
            x[i * d + j] = v;
            s += (double)v * v;
        }
        for (int j = 0; j < d; j++) x[i * d + j] /= (float)sqrt(s);
    }
    free(c);
    return x;
}

static owned_matrix make_matrix(const float *x, int64_t n, int d, sbir_elem e, int prefilter) {
    owned_matrix o = {0};
    size_t es = sbir_elem_size(e);
    o.data = alignedAllocCheck((size_t)n * d * es + 64);
    if (e == SBIR_ELEM_I8) o.scale = mallocCheck((size_t)n * sizeof(float) + 4);
    sbir_quantize_rows(e, x, n, d, o.data, o.scale);
    o.m = (sbir_matrix){e, n, d, (size_t)d * es, o.data, o.scale, NULL};
    if (prefilter) {
        o.codes = mallocCheck((size_t)n * d + 1);
        o.pscale = mallocCheck((size_t)n * 4 + 4);
        o.perr = mallocCheck((size_t)n * 4 + 4);
        o.pre.codes = (sbir_matrix){SBIR_ELEM_I8, n, d, (size_t)d, o.codes, o.pscale, NULL};
        o.pre.err = o.perr;
        sbir_prefilter_compute(&o.m, o.codes, o.pscale, o.perr, &o.pre.max_norm);
    }
    return o;
}

/* m's prefilter pointer must point into o, which moves when returned: attach it at the use site. */
static sbir_matrix with_pre(owned_matrix *o) {
    sbir_matrix m = o->m;
    m.pre = o->codes ? &o->pre : NULL;
    return m;
}

static void free_matrix(owned_matrix *o) {
    free(o->data);
    free(o->scale);
    free(o->codes);
    free(o->pscale);
    free(o->perr);
}

/* Reference: every eligible row scored by the same kernel (search_score_row), fully sorted. */
static int cmp_hit(const void *pa, const void *pb) {
    const sbir_hit *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

static int reference(const sbir_matrix *m, const float *q, int k, const uint8_t *mask, sbir_hit *out) {
    sbir_hit *all = mallocCheck((size_t)m->n * sizeof(sbir_hit) + 1);
    int64_t n = 0;
    for (int64_t r = 0; r < m->n; r++)
        if (!mask || mask[r]) all[n++] = (sbir_hit){search_score_row(m, q, r), r};
    qsort(all, (size_t)n, sizeof(sbir_hit), cmp_hit);
    int c = (int)(n < k ? n : k);
    memcpy(out, all, (size_t)c * sizeof(sbir_hit));
    free(all);
    return c;
}

static int same_hits(const sbir_hit *a, int na, const sbir_hit *b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (a[i].row != b[i].row || a[i].score != b[i].score) return 0;
    return 1;
}

static double dot_d(const float *a, const float *b, int d) {
    double s = 0;
    for (int j = 0; j < d; j++) s += (double)a[j] * b[j];
    return s;
}

static void test_kernels_every_dim(void) {
    /* dimensions around every vector width, to exercise the tails */
    int dims[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 128, 129};
    for (size_t t = 0; t < SBIR_ARRAY_LEN(dims); t++) {
        int d = dims[t];
        float *x = clustered(37, d, 3, 0.5f, 100 + t), *q = clustered(1, d, 1, 0.1f, 200 + t);
        for (int e = 0; e < 3; e++) {
            owned_matrix o = make_matrix(x, 37, d, (sbir_elem)e, 0);
            double worst = 0;
            for (int64_t r = 0; r < 37; r++) {
                double want = dot_d(q, x + r * d, d), got = search_score_row(&o.m, q, r);
                worst = fmax(worst, fabs(want - got));
            }
            double tol = e == SBIR_ELEM_F32 ? 1e-5 : e == SBIR_ELEM_F16 ? 2e-3 : 2e-2;
            CHECK(worst <= tol, "dim %d %s: score error %g", d, sbir_elem_name((sbir_elem)e), worst);
            free_matrix(&o);
        }
        free(x);
        free(q);
    }
}

static void test_topk_matches_brute_force(void) {
    int d = 40;
    int64_t n = 3000;
    float *x = clustered(n, d, 6, 0.6f, 1);
    /* exact duplicates make exact ties: rows 10..19 copy row 5 */
    for (int r = 10; r < 20; r++) memcpy(x + r * d, x + 5 * d, (size_t)d * 4);
    float q[40];
    memcpy(q, x + 5 * d, sizeof q);
    owned_matrix o = make_matrix(x, n, d, SBIR_ELEM_F32, 0);
    sbir_hit got[3100], want[3100];
    int ks[] = {1, 5, 11, 20, 100, 3000, 5000};
    for (size_t i = 0; i < SBIR_ARRAY_LEN(ks); i++) {
        int nw = reference(&o.m, q, ks[i], NULL, want);
        int ng = search_topk(&o.m, q, ks[i], NULL, got);
        CHECK(ng == (ks[i] < n ? ks[i] : n), "k=%d gave %d", ks[i], ng);
        CHECK(same_hits(got, ng, want, nw), "k=%d differs from brute force", ks[i]);
    }
    /* the ties come out by row */
    search_topk(&o.m, q, 11, NULL, got);
    CHECK(got[0].row == 5 && got[1].row == 10 && got[10].row == 19, "tie order %lld %lld %lld", (long long)got[0].row,
          (long long)got[1].row, (long long)got[10].row);
    CHECK(got[0].score == got[10].score, "%s", "duplicates scored differently");
    free_matrix(&o);
    free(x);
}

static void test_filters(void) {
    int d = 24;
    int64_t n = 5000;
    float *x = clustered(n, d, 8, 0.7f, 2);
    int32_t *style = mallocCheck((size_t)n * 4);
    sbir_rng r;
    rng_seed(&r, 3);
    for (int64_t i = 0; i < n; i++) style[i] = (int32_t)rng_below(&r, 8) - 1; /* -1 = unknown */
    sbir_rowlists *lists = rowlists_build(style, sizeof(int32_t), n, 7);
    CHECK(lists != NULL, "%s", sbir_last_error());
    owned_matrix o = make_matrix(x, n, d, SBIR_ELEM_F32, 1);
    sbir_matrix m = with_pre(&o);
    uint8_t *mask = mallocCheck((size_t)n);
    sbir_hit got[60], want[60];
    for (int s = 0; s < 7; s++) {
        int64_t cnt;
        const uint32_t *rows = rowlists_get(lists, s, &cnt);
        int64_t expect = 0;
        for (int64_t i = 0; i < n; i++) expect += style[i] == s;
        CHECK(cnt == expect, "style %d has %lld rows, expected %lld", s, (long long)cnt, (long long)expect);
        for (int64_t i = 0; i < n; i++) mask[i] = style[i] == s;
        const float *q = x + (s * 37) * d;
        int nw = reference(&m, q, 50, mask, want);
        sbir_search_opts lo = {.rows = rows, .n_rows = cnt}, mo = {.mask = mask};
        int ng = search_topk(&m, q, 50, &lo, got);
        CHECK(same_hits(got, ng, want, nw), "style %d: row-list filter differs", s);
        ng = search_topk(&m, q, 50, &mo, got);
        CHECK(same_hits(got, ng, want, nw), "style %d: mask filter differs", s);
        lo.no_prefilter = mo.no_prefilter = 1;
        ng = search_topk(&m, q, 50, &lo, got);
        CHECK(same_hits(got, ng, want, nw), "style %d: row-list filter (full scan) differs", s);
        /* style AND class: a mask over the style's row list */
        for (int64_t i = 0; i < n; i++) mask[i] = (i % 3) == 0;
        sbir_search_opts both = {.rows = rows, .n_rows = cnt, .mask = mask};
        for (int64_t i = 0; i < n; i++) mask[i] = mask[i] && style[i] == s;
        nw = reference(&m, q, 50, mask, want);
        ng = search_topk(&m, q, 50, &both, got);
        CHECK(same_hits(got, ng, want, nw), "style %d: list + mask differs", s);
    }
    int64_t cnt;
    CHECK(rowlists_get(lists, 7, &cnt) == NULL && cnt == 0, "%s", "label out of range");
    CHECK(rowlists_get(lists, -1, &cnt) == NULL && cnt == 0, "%s", "label -1");
    /* an empty filter gives no hits; a bad row list is refused */
    memset(mask, 0, (size_t)n);
    sbir_search_opts none = {.mask = mask};
    CHECK(search_topk(&m, x, 5, &none, got) == 0, "%s", sbir_last_error());
    uint32_t bad[2] = {1, (uint32_t)n};
    sbir_search_opts bo = {.rows = bad, .n_rows = 2};
    CHECK(search_topk(&m, x, 5, &bo, got) == SBIR_ERR && strstr(sbir_last_error(), "past"), "%s", sbir_last_error());
    rowlists_free(lists);
    free_matrix(&o);
    free(mask);
    free(style);
    free(x);
}

static void test_prefilter_is_exact(void) {
    /* The two-pass search must give bit-identical results to the full scan, for every storage type
     * it applies to, many queries, several k and thread counts. */
    int d = 64;
    int64_t n = 40000;
    float *x = clustered(n, d, 35, 0.45f, 4);
    float *qs = clustered(30, d, 35, 0.6f, 5);
    for (int e = 0; e < 2; e++) {
        owned_matrix o = make_matrix(x, n, d, (sbir_elem)e, 1);
        sbir_matrix m = with_pre(&o);
        int bad = 0;
        sbir_hit a[64], b[64];
        for (int i = 0; i < 30; i++) {
            int k = i % 3 == 0 ? 1 : i % 3 == 1 ? 20 : 64;
            sbir_search_opts fast = {.threads = 1 + i % 3}, full = {.threads = 1, .no_prefilter = 1};
            int na = search_topk(&m, qs + i * d, k, &fast, a), nb = search_topk(&m, qs + i * d, k, &full, b);
            bad += !same_hits(a, na, b, nb);
        }
        CHECK(bad == 0, "%s: %d of 30 queries differ between two-pass and full scan", sbir_elem_name((sbir_elem)e), bad);
        free_matrix(&o);
    }
    free(x);
    free(qs);
}

static void test_fused(void) {
    int dc = 32, ds = 16;
    int64_t n = 40000;
    float *c = clustered(n, dc, 5, 0.5f, 6), *s = clustered(n, ds, 7, 0.5f, 7);
    float *qc = clustered(1, dc, 1, 0.5f, 8), *qs = clustered(1, ds, 1, 0.5f, 9);
    float w = 0.7f;
    /* direct: -(|qc - c|^2 + w |qs - s|^2), in double */
    double *direct = mallocCheck((size_t)n * sizeof(double));
    for (int64_t r = 0; r < n; r++) {
        double dcs = 0, dss = 0;
        for (int j = 0; j < dc; j++) dcs += ((double)qc[j] - c[r * dc + j]) * ((double)qc[j] - c[r * dc + j]);
        for (int j = 0; j < ds; j++) dss += ((double)qs[j] - s[r * ds + j]) * ((double)qs[j] - s[r * ds + j]);
        direct[r] = -(dcs + w * dss);
    }
    owned_matrix oc = make_matrix(c, n, dc, SBIR_ELEM_F32, 1), os = make_matrix(s, n, ds, SBIR_ELEM_F32, 1);
    sbir_matrix mc = with_pre(&oc), ms = with_pre(&os);
    sbir_hit got[20], full[20];
    sbir_search_opts fo = {.no_prefilter = 1};
    int ng = search_fused(&mc, qc, &ms, qs, w, 20, NULL, got);
    int nf = search_fused(&mc, qc, &ms, qs, w, 20, &fo, full);
    CHECK(ng == 20 && same_hits(got, ng, full, nf), "%s", "fused two-pass differs from the fused full scan");
    double worst = 0;
    for (int i = 0; i < ng; i++) worst = fmax(worst, fabs(got[i].score - direct[got[i].row]));
    CHECK(worst < 1e-5, "fused score differs from -(dc + w ds) by %g", worst);
    /* no row outside the result beats the 20th by more than rounding */
    double kth = got[19].score, best_out = -INFINITY;
    uint8_t *in = callocCheck((size_t)n, 1);
    for (int i = 0; i < ng; i++) in[got[i].row] = 1;
    for (int64_t r = 0; r < n; r++)
        if (!in[r]) best_out = fmax(best_out, direct[r]);
    CHECK(best_out <= kth + 1e-5, "row outside the top 20 scores %g > %g", best_out, kth);
    CHECK(search_fused(&mc, qc, &ms, qs, -1, 5, NULL, got) == SBIR_ERR, "%s", "negative weight accepted");
    sbir_matrix short_s = ms;
    short_s.n = n - 1;
    short_s.pre = NULL;
    CHECK(search_fused(&mc, qc, &short_s, qs, w, 5, NULL, got) == SBIR_ERR && strstr(sbir_last_error(), "rows"), "%s",
          sbir_last_error());
    free(in);
    free(direct);
    free_matrix(&oc);
    free_matrix(&os);
    free(c), free(s), free(qc), free(qs);
}

static void test_quantized_recall(void) {
    int d = 64;
    int64_t n = 20000;
    float *x = clustered(n, d, 35, 0.5f, 10), *qs = clustered(20, d, 35, 0.6f, 11);
    owned_matrix f = make_matrix(x, n, d, SBIR_ELEM_F32, 0);
    for (int e = 1; e < 3; e++) {
        owned_matrix o = make_matrix(x, n, d, (sbir_elem)e, 0);
        double recall = 0;
        for (int i = 0; i < 20; i++) {
            sbir_hit a[10], b[10];
            search_topk(&f.m, qs + i * d, 10, NULL, a);
            search_topk(&o.m, qs + i * d, 10, NULL, b);
            int hit = 0;
            for (int u = 0; u < 10; u++)
                for (int v = 0; v < 10; v++) hit += a[u].row == b[v].row;
            recall += hit / 10.0 / 20;
        }
        fprintf(stderr, "    %s recall@10 vs f32: %.3f\n", sbir_elem_name((sbir_elem)e), recall);
        CHECK(recall >= 0.9, "%s recall@10 %.3f", sbir_elem_name((sbir_elem)e), recall);
        free_matrix(&o);
    }
    free_matrix(&f);
    free(x);
    free(qs);
}

static void test_threads_equal_single(void) {
    int d = 32;
    int64_t n = 100000;
    float *x = clustered(n, d, 35, 0.5f, 12);
    for (int e = 0; e < 3; e++) {
        owned_matrix o = make_matrix(x, n, d, (sbir_elem)e, e != SBIR_ELEM_I8);
        sbir_matrix m = with_pre(&o);
        int bad = 0;
        for (int i = 0; i < 5; i++) {
            sbir_hit a[100], b[100];
            sbir_search_opts one = {.threads = 1, .no_prefilter = 1};
            int na = search_topk(&m, x + i * 997 * d, 100, &one, a);
            for (int t = 2; t <= 4; t++) {
                sbir_search_opts many = {.threads = t, .no_prefilter = 1};
                int nb = search_topk(&m, x + i * 997 * d, 100, &many, b);
                bad += !same_hits(a, na, b, nb);
                many.no_prefilter = 0;
                nb = search_topk(&m, x + i * 997 * d, 100, &many, b);
                bad += !same_hits(a, na, b, nb);
            }
        }
        CHECK(bad == 0, "%s: %d multi-threaded results differ", sbir_elem_name((sbir_elem)e), bad);
        free_matrix(&o);
    }
    free(x);
}

static void test_bad_arguments(void) {
    float x[8] = {1, 0, 0, 0, 0, 1, 0, 0}, q[4] = {1, 0, 0, 0};
    sbir_matrix m = {SBIR_ELEM_F32, 2, 4, 16, x, NULL, NULL};
    sbir_hit h[2];
    CHECK(search_topk(&m, q, 0, NULL, h) == SBIR_ERR && strstr(sbir_last_error(), "k=0"), "%s", sbir_last_error());
    q[2] = NAN;
    CHECK(search_topk(&m, q, 1, NULL, h) == SBIR_ERR && strstr(sbir_last_error(), "non-finite"), "%s", sbir_last_error());
    q[2] = 0;
    sbir_matrix bad = m;
    bad.row_bytes = 8;
    CHECK(search_topk(&bad, q, 1, NULL, h) == SBIR_ERR, "%s", "overlapping rows accepted");
    bad = m;
    bad.elem = SBIR_ELEM_I8;
    CHECK(search_topk(&bad, q, 1, NULL, h) == SBIR_ERR && strstr(sbir_last_error(), "scales"), "%s", sbir_last_error());
    CHECK(search_topk(&m, q, 2, NULL, h) == 2 && h[0].row == 0 && h[0].score == 1.0f, "%s", sbir_last_error());
    /* a NaN row is never returned */
    x[4] = NAN;
    CHECK(search_topk(&m, q, 2, NULL, h) == 1 && h[0].row == 0, "%s", "NaN row returned");
    CHECK(rowlists_build((const int32_t *)x, 4, -1, 3) == NULL, "%s", "negative count accepted");
}

int main(void) {
    RUN(test_kernels_every_dim);
    RUN(test_topk_matches_brute_force);
    RUN(test_filters);
    RUN(test_prefilter_is_exact);
    RUN(test_fused);
    RUN(test_quantized_recall);
    RUN(test_threads_equal_single);
    RUN(test_bad_arguments);
    return test_summary();
}
