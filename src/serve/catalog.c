/* catalog.c — see catalog.h. */
#include "serve/catalog.h"

#include <string.h>

#include "api/api_internal.h"
#include "util/common.h"

static int pair_cmp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int catalog_build(catalog *c, const sbir_index_ctx *ix, const sbir_model_ctx *m) {
    memset(c, 0, sizeof *c);
    const sbir_index_item *items = index_items(ix->ix);
    c->n = index_count(ix->ix);
    c->pairs = mallocCheck(sizeof(int64_t) * 2 * (size_t)(c->n ? c->n : 1));
    for (int64_t i = 0; i < c->n; i++) c->pairs[2 * i] = items[i].id, c->pairs[2 * i + 1] = i;
    qsort(c->pairs, (size_t)c->n, 2 * sizeof(int64_t), pair_cmp);
    /* Examples of a style: one image per class in turn (first rows first), so a style's thumbnails
     * show the style across contents rather than four pictures of the same object. One pass keeps
     * the first few rows of every (style, class) cell; class -1 (unknown) is cell 0. */
    c->n_styles = sbir_model_n_styles(m);
    int ns = c->n_styles ? c->n_styles : 1, nc = index_n_classes(ix->ix) + 1;
    c->examples = mallocCheck(sizeof(int64_t) * CATALOG_EXAMPLES * (size_t)ns);
    int64_t *cell = mallocCheck(sizeof(int64_t) * CATALOG_EXAMPLES * (size_t)ns * nc);
    int *cnt = callocCheck((size_t)ns * nc, sizeof(int));
    int *model_of = mallocCheck(sizeof(int) * (size_t)(index_n_styles(ix->ix) + 1));
    for (int s = 0; s <= index_n_styles(ix->ix); s++) model_of[s] = -1;
    for (int s = 0; s < c->n_styles; s++) {
        int sid = index_style_id(ix->ix, sbir_model_style_name(m, s));
        if (sid >= 0) model_of[sid] = s;
    }
    for (int64_t i = 0; i < c->n; i++) {
        int s = items[i].style_id >= 0 ? model_of[items[i].style_id] : -1;
        if (s < 0) continue;
        int k = s * nc + items[i].class_id + 1;
        if (cnt[k] < CATALOG_EXAMPLES) cell[(size_t)k * CATALOG_EXAMPLES + cnt[k]++] = items[i].id;
    }
    for (int s = 0; s < c->n_styles; s++) {
        int64_t *ex = c->examples + (size_t)s * CATALOG_EXAMPLES;
        int got = 0;
        for (int e = 0; e < CATALOG_EXAMPLES; e++) ex[e] = -1;
        for (int pass = 0; pass < CATALOG_EXAMPLES; pass++)
            for (int cls = 0; cls < nc && got < CATALOG_EXAMPLES; cls++)
                if (cnt[s * nc + cls] > pass) ex[got++] = cell[((size_t)s * nc + cls) * CATALOG_EXAMPLES + pass];
    }
    free(cell), free(cnt), free(model_of);
    return SBIR_OK;
}

void catalog_free(catalog *c) {
    free(c->pairs);
    free(c->examples);
    memset(c, 0, sizeof *c);
}

int64_t catalog_row(const catalog *c, int64_t id) {
    int64_t lo = 0, hi = c->n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (c->pairs[2 * mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < c->n && c->pairs[2 * lo] == id ? c->pairs[2 * lo + 1] : -1;
}

const char *catalog_path(const sbir_index_ctx *ix, int64_t row) {
    const char *p = index_path(ix->ix, row);
    return p ? p : "";
}
