#include "shard_fixture.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "index/index_file.h"
#include "index/shards.h"
#include "model/model.h"
#include "util/common.h"
#include "util/rng.h"

static const char *k_classes[] = {"cat", "dog", "tree"};
static const char *k_styles[] = {"ink", "paint"};

static void unit_rows(sbir_rng *r, float *x, int64_t n, int d) {
    for (int64_t i = 0; i < n; i++) {
        float *v = x + (size_t)i * d, s = 0;
        for (int j = 0; j < d; j++) v[j] = rng_normal(r), s += v[j] * v[j];
        for (int j = 0; j < d; j++) v[j] /= sqrtf(s);
    }
}

void shard_fixture_sharded(const shard_fixture *f, int c, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s.sh%d", f->dir, f->tag, c);
}

int shard_fixture_make(const char *dir, const char *tag, int64_t n, sbir_elem elem, const float fusion[3], uint64_t seed,
                       const int *shard_counts, int n_counts, shard_fixture *f) {
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    snprintf(f->tag, sizeof f->tag, "%s", tag);
    snprintf(f->model, sizeof f->model, "%s/%s.model", dir, tag);
    snprintf(f->whole, sizeof f->whole, "%s/%s.whole", dir, tag);
    sbir_model *m = model_create(32, 3, (char **)k_classes, 2, (char **)k_styles, "c4,p,g,l16", "c4,p,g,l8", 1,
                                 NET_BACKEND_REF);
    if (!m) return SBIR_ERR;
    net_init(m->structure, seed);
    net_init(m->style, seed + 1);
    sbir_rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < m->NS * m->Ds; i++) m->protos[i] = rng_range(&r, -0.4f, 0.4f);
    memcpy(m->fusion, fusion, sizeof m->fusion);
    int rc = model_save(m, f->model, NULL, 0, NULL, 0); /* sets the fingerprint */
    int Dc = m->Dc, Ds = m->Ds;
    float *c = mallocCheck(sizeof(float) * (size_t)n * Dc), *s = mallocCheck(sizeof(float) * (size_t)n * Ds);
    sbir_index_item *items = mallocCheck(sizeof *items * (size_t)n);
    char **paths = mallocCheck(sizeof(char *) * (size_t)n);
    unit_rows(&r, c, n, Dc);
    unit_rows(&r, s, n, Ds);
    for (int64_t i = 0; i < n; i++) {
        int64_t from = i % 10 == 1 ? i - 1 : i % 17 == 9 && i >= 7 ? i - 7 : -1; /* exact duplicates: ties */
        if (from >= 0) {
            memcpy(c + (size_t)i * Dc, c + (size_t)from * Dc, sizeof(float) * Dc);
            memcpy(s + (size_t)i * Ds, s + (size_t)from * Ds, sizeof(float) * Ds);
        }
        items[i] = (sbir_index_item){1000 + i, (int32_t)rng_below(&r, 4) - 1, (int32_t)rng_below(&r, 3) - 1};
        paths[i] = mallocCheck(64);
        snprintf(paths[i], 64, "/images/%lld.png", (long long)i);
    }
    sbir_index_meta meta = {elem, elem != SBIR_ELEM_I8, m->fingerprint, 3, k_classes, 2, k_styles};
    sbir_index_rows rows = {n, Dc, Ds, c, s, items, (const char *const *)paths};
    if (rc == SBIR_OK) rc = index_write(f->whole, &meta, &rows);
    for (int i = 0; rc == SBIR_OK && i < n_counts; i++) {
        char out[4300];
        shard_fixture_sharded(f, shard_counts[i], out, sizeof out);
        rc = index_write_sharded(out, shard_counts[i], &meta, &rows);
    }
    for (int64_t i = 0; i < n; i++) free(paths[i]);
    free(paths), free(items), free(c), free(s);
    model_free(m);
    return rc;
}
