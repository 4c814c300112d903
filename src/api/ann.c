/* ann.c — see ann.h. */
#include "api/ann.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/api_internal.h"
#include "index/faiss_shim.h"
#include "util/common.h"

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int fresh(const char *cache, const char *index) {
    struct stat a, b;
    return stat(cache, &a) == 0 && stat(index, &b) == 0 && a.st_mtime >= b.st_mtime;
}

static sbir_faiss *build(const sbir_index_ctx *ix, const char *kind) {
    const sbir_matrix *m = &ix->content;
    int64_t N = m->n;
    float *x = mallocCheck(sizeof(float) * (size_t)N * m->dim);
    for (int64_t r = 0; r < N; r++) sbir_matrix_row(m, r, x + (size_t)r * m->dim);
    sbir_faiss *f;
    if (strcmp(kind, "hnsw") == 0) {
        f = sbir_faiss_hnsw_flat(m->dim, 32, 128);
    } else { /* about 4 sqrt(N) lists, but at least 39 training points per list (FAISS's advice) */
        int nlist = (int)SBIR_MAX(1, SBIR_MIN(4 * sqrt((double)N), (double)N / 39));
        f = sbir_faiss_ivf_flat(m->dim, nlist, SBIR_MAX(8, nlist / 16));
        if (f && sbir_faiss_train(f, N, x) != SBIR_OK) sbir_faiss_free(f), f = NULL;
    }
    if (f && sbir_faiss_add(f, N, x) != SBIR_OK) sbir_faiss_free(f), f = NULL;
    free(x);
    return f;
}

sbir_status ann_search(const sbir_index_ctx *ix, const sbir_model_ctx *m, const sbir_query *q, const char *index_path,
                       const char *kind, sbir_result *res, int *n) {
    *n = 0;
    if (!q || !q->sketch || q->k < 1) return api_fail(SBIR_E_ARG, "search: bad arguments");
    if (ix->content.dim != sbir_model_content_dim(m))
        return api_fail(SBIR_E_MISMATCH, "%s: embedding sizes differ from the model's", index_path);
    char cache[4200];
    snprintf(cache, sizeof cache, "%s.%s.faiss", index_path, kind);
    sbir_faiss *f = fresh(cache, index_path) ? sbir_faiss_load(cache) : NULL;
    if (f && sbir_faiss_count(f) != ix->content.n) sbir_faiss_free(f), f = NULL;
    if (!f) {
        f = build(ix, kind);
        if (!f) return SBIR_E_INTERNAL;
        if (sbir_faiss_save(f, cache) != SBIR_OK) /* only a cache: go on without it */
            fprintf(stderr, "sbir: warning: could not cache the %s index: %s\n", kind, sbir_last_error());
    }
    /* Candidates: many more than k, since the style re-ranks them (and a class filter thins them). */
    int64_t kc = SBIR_MIN(ix->content.n, (int64_t)SBIR_MAX(q->k * (q->class_name ? 50 : 10), 200));
    float *sc = mallocCheck(sizeof(float) * (size_t)(kc ? kc : 1));
    int64_t *rows = mallocCheck(sizeof(int64_t) * (size_t)(kc ? kc : 1));
    uint32_t *cand = mallocCheck(sizeof(uint32_t) * (size_t)(kc ? kc : 1));
    int got = kc ? sbir_faiss_search(f, 1, q->sketch, (int)kc, sc, rows) : 0;
    sbir_faiss_free(f);
    sbir_status st = SBIR_E_OK;
    if (got < 0) st = SBIR_E_INTERNAL;
    int64_t nc = 0;
    for (int i = 0; i < got; i++)
        if (rows[i] >= 0) cand[nc++] = (uint32_t)rows[i];
    qsort(cand, (size_t)nc, sizeof *cand, cmp_u32);
    if (st == SBIR_E_OK) st = nc ? api_search(ix, m, q, cand, nc, res, n) : SBIR_E_OK;
    free(sc), free(rows), free(cand);
    return st;
}
