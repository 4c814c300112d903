/* api_search.c — sbir.h: opening an index and searching it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/fused_search.h"
#include "index/shards.h"
#include "util/common.h"

sbir_status api_index_wrap(sbir_index *ix, sbir_index_ctx **out) {
    const sbir_index_item *items = index_items(ix);
    sbir_rowlists *by_class = rowlists_build(&items[0].class_id, sizeof items[0], index_count(ix), index_n_classes(ix));
    if (!by_class) {
        index_close(ix);
        return SBIR_E_FORMAT;
    }
    sbir_index_ctx *c = callocCheck(1, sizeof *c);
    c->ix = ix, c->by_class = by_class;
    c->content = index_content(ix);
    c->style = index_style(ix);
    *out = c;
    return SBIR_E_OK;
}

sbir_status sbir_index_open(const char *path, sbir_index_ctx **out) {
    if (!out) return api_fail(SBIR_E_ARG, "sbir_index_open: out is NULL");
    *out = NULL;
    if (!path) return api_fail(SBIR_E_ARG, "sbir_index_open: path is NULL");
    if (shard_manifest_is(path))
        return api_fail(SBIR_E_FORMAT, "%s is a sharded index (a manifest of shard files): `sbir query` searches it; "
                        "this needs a single-file index (sbir index without --shards)", path);
    sbir_index *ix = index_open(path, 0);
    if (!ix) return api_file_status(path);
    return api_index_wrap(ix, out);
}

void sbir_index_close(sbir_index_ctx *c) {
    if (!c) return;
    rowlists_free(c->by_class);
    index_close(c->ix);
    free(c);
}

int64_t sbir_index_count(const sbir_index_ctx *c) { return c ? index_count(c->ix) : 0; }
const char *sbir_index_fingerprint(const sbir_index_ctx *c) { return c ? index_fingerprint(c->ix) : ""; }

static const char *or_empty(const char *s) { return s ? s : ""; }

/* The style query: the model's prototype, or the mean of the examples' normalised embeddings (the way
 * prototypes are made, so both kinds of query live at the same scale). NULL without a style. */
static sbir_status style_query(const sbir_model *m, const sbir_query *q, float *qs, int *has) {
    *has = 0;
    if (q->style_name && q->style_examples)
        return api_fail(SBIR_E_ARG, "search: give a style name or example embeddings, not both");
    if (q->style_name) {
        for (int s = 0; s < m->NS; s++)
            if (strcmp(m->styles[s], q->style_name) == 0) {
                memcpy(qs, m->protos + (size_t)s * m->Ds, sizeof(float) * (size_t)m->Ds);
                *has = 1;
                return SBIR_E_OK;
            }
        char known[512] = "";
        for (int s = 0; s < m->NS; s++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", s ? ", " : "", m->styles[s]);
        return api_fail(SBIR_E_NOT_FOUND, "unknown style '%s' (the model knows: %s)", q->style_name, known);
    }
    if (q->style_examples) {
        if (q->n_examples < 1) return api_fail(SBIR_E_ARG, "search: n_examples must be >= 1");
        memset(qs, 0, sizeof(float) * (size_t)m->Ds);
        for (int i = 0; i < q->n_examples; i++) {
            const float *e = q->style_examples + (size_t)i * m->Ds;
            float n2 = 0;
            for (int d = 0; d < m->Ds; d++) n2 += e[d] * e[d];
            float inv = n2 > 0 ? 1.0f / sqrtf(n2) : 0; /* normalised, as the network's outputs are */
            for (int d = 0; d < m->Ds; d++) qs[d] += e[d] * inv / (float)q->n_examples;
        }
        *has = 1;
    }
    return SBIR_E_OK;
}

sbir_status api_search_hits(const sbir_index_ctx *c, const sbir_model_ctx *mc, const sbir_query *q, const uint32_t *rows,
                            int64_t n_rows, fused_hit *h, int *n) {
    if (n) *n = 0;
    if (!c || !mc || !q || !q->sketch || !h || !n || q->k < 1)
        return api_fail(SBIR_E_ARG, "sbir_search: bad arguments (NULL pointer or k < 1)");
    const sbir_model *m = mc->m;
    if (strcmp(index_fingerprint(c->ix), m->fingerprint) != 0)
        return api_fail(SBIR_E_MISMATCH, "%s was built with model %s, not with this model (%s): rebuild it with sbir index",
                        index_file_path(c->ix), index_fingerprint(c->ix), m->fingerprint);
    if (c->content.dim != m->Dc || (c->style.dim != 0 && c->style.dim != m->Ds))
        return api_fail(SBIR_E_MISMATCH, "%s: embedding sizes differ from the model's", index_file_path(c->ix));
    float qs[SBIR_MAX_DIM];
    if (m->Ds > SBIR_MAX_DIM) return api_fail(SBIR_E_ARG, "search: style embeddings wider than %d", SBIR_MAX_DIM);
    int has_style;
    sbir_status st = style_query(m, q, qs, &has_style);
    if (st != SBIR_E_OK) return st;
    fused_query fq = {.content = &c->content, .style = &c->style, .qc = q->sketch, .qs = has_style ? qs : NULL, .k = q->k};
    memcpy(fq.fusion, m->fusion, sizeof fq.fusion);
    const sbir_index_item *items = index_items(c->ix);
    uint32_t *own = NULL;
    if (rows) fq.rows = rows, fq.n_rows = n_rows;
    if (q->class_name) {
        int cls = index_class_id(c->ix, q->class_name);
        if (cls < 0) return api_fail(SBIR_E_NOT_FOUND, "%s has no class '%s'", index_file_path(c->ix), q->class_name);
        if (rows) { /* candidates of that class only */
            own = mallocCheck(sizeof(uint32_t) * (size_t)(n_rows ? n_rows : 1));
            fq.n_rows = 0;
            for (int64_t i = 0; i < n_rows; i++)
                if (items[rows[i]].class_id == cls) own[fq.n_rows++] = rows[i];
            fq.rows = own;
        } else {
            fq.rows = rowlists_get(c->by_class, cls, &fq.n_rows);
        }
    }
    if (fq.rows && fq.n_rows == 0) {
        free(own);
        return SBIR_E_OK;
    }
    int got = fused_search(&fq, h);
    free(own);
    if (got < 0) return SBIR_E_ARG;
    *n = got;
    return SBIR_E_OK;
}

sbir_result api_result(const sbir_index_ctx *c, const fused_hit *h) {
    const sbir_index_item *it = &index_items(c->ix)[h->row];
    return (sbir_result){.row = h->row,
                         .id = it->id,
                         .score = h->score,
                         .content_dist = h->dc,
                         .style_dist = h->ds,
                         .class_name = or_empty(index_class_name(c->ix, it->class_id)),
                         .style = or_empty(index_style_name(c->ix, it->style_id)),
                         .path = or_empty(index_path(c->ix, h->row))};
}

sbir_status api_search(const sbir_index_ctx *c, const sbir_model_ctx *mc, const sbir_query *q, const uint32_t *rows,
                       int64_t n_rows, sbir_result *res, int *n) {
    if (n) *n = 0;
    if (!res || !q || q->k < 1) return api_fail(SBIR_E_ARG, "sbir_search: bad arguments (NULL pointer or k < 1)");
    fused_hit *h = mallocCheck(sizeof(fused_hit) * (size_t)q->k);
    int got = 0;
    sbir_status st = api_search_hits(c, mc, q, rows, n_rows, h, &got);
    for (int i = 0; st == SBIR_E_OK && i < got; i++) res[i] = api_result(c, &h[i]);
    free(h);
    if (st == SBIR_E_OK) *n = got;
    return st;
}

sbir_status sbir_search(const sbir_index_ctx *c, const sbir_model_ctx *mc, const sbir_query *q, sbir_result *res,
                        int *n) {
    return api_search(c, mc, q, NULL, 0, res, n);
}
