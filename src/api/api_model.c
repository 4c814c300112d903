/* api_model.c — sbir.h: opening a model and embedding sketches and images with it. */
#include <math.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/query_input.h"
#include "data/image.h"
#include "model/dataset.h"
#include "util/common.h"

sbir_status sbir_model_open(const char *path, sbir_model_ctx **out) {
    if (!out) return api_fail(SBIR_E_ARG, "sbir_model_open: out is NULL");
    *out = NULL;
    if (!path) return api_fail(SBIR_E_ARG, "sbir_model_open: path is NULL");
    sbir_model *m = model_load(path, API_MAX_BATCH, NET_BACKEND_DNNL, NULL);
    if (!m) return api_file_status(path);
    sbir_model_ctx *c = callocCheck(1, sizeof *c);
    c->m = m;
    c->path = strdupCheck(path);
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return SBIR_E_OK;
}

void sbir_model_close(sbir_model_ctx *c) {
    if (!c) return;
    model_free(c->m);
    free(c->path);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int sbir_model_input_size(const sbir_model_ctx *c) { return c ? c->m->S : 0; }
int sbir_model_content_dim(const sbir_model_ctx *c) { return c ? c->m->Dc : 0; }
int sbir_model_style_dim(const sbir_model_ctx *c) { return c ? c->m->Ds : 0; }
int sbir_model_n_styles(const sbir_model_ctx *c) { return c ? c->m->NS : 0; }
int sbir_model_n_classes(const sbir_model_ctx *c) { return c ? c->m->C : 0; }
const char *sbir_model_style_name(const sbir_model_ctx *c, int i) {
    return c && i >= 0 && i < c->m->NS ? c->m->styles[i] : NULL;
}
const char *sbir_model_class_name(const sbir_model_ctx *c, int i) {
    return c && i >= 0 && i < c->m->C ? c->m->classes[i] : NULL;
}
const char *sbir_model_fingerprint(const sbir_model_ctx *c) { return c ? c->m->fingerprint : ""; }

sbir_status api_embed_inputs(sbir_model_ctx *c, const float *x, int B, float *content, float *style) {
    sbir_model *m = c->m;
    pthread_mutex_lock(&c->mu);
    /* One input: one thread. A parallel region's wake-up costs more than it saves at batch 1, and
     * on a busy machine far more (nn/net.h). Batches use OpenMP's setting. */
    int th = B == 1 ? 1 : 0;
    if (content) {
        net_set_threads(m->structure, th);
        model_embed_content(m, x, B, content);
    }
    if (style) {
        net_set_threads(m->style, th);
        model_embed_style(m, x, B, style);
    }
    pthread_mutex_unlock(&c->mu);
    /* model_embed_* cannot report a failure; a non-finite output is how one would show */
    for (int64_t i = 0; content && i < (int64_t)B * m->Dc; i++)
        if (!(content[i] == content[i])) return api_fail(SBIR_E_INTERNAL, "the structure network gave NaN");
    return SBIR_E_OK;
}

sbir_status api_embed_grey(sbir_model_ctx *c, const uint8_t *grey, float *content) {
    sbir_model *m = c->m;
    int S = m->S;
    float *x = mallocCheck(sizeof(float) * 3 * (size_t)S * S);
    input_from_grey(grey, S, x);
    pthread_mutex_lock(&c->mu);
    net_set_threads(model_sketch_net(m), 1); /* one sketch: one thread, as api_embed_inputs */
    model_embed_sketch_content(m, x, 1, content);
    pthread_mutex_unlock(&c->mu);
    free(x);
    for (int i = 0; i < m->Dc; i++)
        if (!(content[i] == content[i])) return api_fail(SBIR_E_INTERNAL, "the structure network gave NaN");
    return SBIR_E_OK;
}

sbir_status sbir_embed_sketch_strokes(sbir_model_ctx *c, int n_strokes, const int *stroke_len, const float *x,
                                      const float *y, float *content) {
    if (!c || !content || n_strokes < 1 || !stroke_len || !x || !y)
        return api_fail(SBIR_E_ARG, "sbir_embed_sketch_strokes: bad arguments");
    sbir_sketch s;
    sketch_init(&s);
    int64_t p = 0;
    for (int i = 0; i < n_strokes; i++) {
        if (stroke_len[i] < 0 || p + stroke_len[i] > 10000000) {
            sketch_free(&s);
            return api_fail(SBIR_E_ARG, "sbir_embed_sketch_strokes: stroke %d has a bad length %d", i, stroke_len[i]);
        }
        sketch_begin_stroke(&s);
        for (int j = 0; j < stroke_len[i]; j++, p++) {
            if (!isfinite(x[p]) || !isfinite(y[p])) {
                sketch_free(&s);
                return api_fail(SBIR_E_ARG, "sbir_embed_sketch_strokes: stroke %d point %d is not finite", i, j);
            }
            sketch_add_point(&s, x[p], y[p], 0);
        }
    }
    sketch_drop_empty_strokes(&s);
    int S = c->m->S;
    uint8_t *grey = mallocCheck((size_t)S * S);
    sbir_status st = qin_render_strokes(&s, S, grey) == SBIR_OK ? api_embed_grey(c, grey, content) : SBIR_E_ARG;
    free(grey);
    sketch_free(&s);
    return st;
}

sbir_status sbir_embed_sketch_raster(sbir_model_ctx *c, const uint8_t *pixels, int w, int h, float *content) {
    if (!c || !pixels || !content) return api_fail(SBIR_E_ARG, "sbir_embed_sketch_raster: bad arguments");
    int S = c->m->S;
    uint8_t *grey = mallocCheck((size_t)S * S);
    sbir_status st = qin_render_grey(pixels, w, h, S, grey) == SBIR_OK ? api_embed_grey(c, grey, content) : SBIR_E_ARG;
    free(grey);
    return st;
}

sbir_status sbir_embed_sketch_file(sbir_model_ctx *c, const char *spec, float *content) {
    if (!c || !spec || !content) return api_fail(SBIR_E_ARG, "sbir_embed_sketch_file: bad arguments");
    int S = c->m->S;
    uint8_t *grey = mallocCheck((size_t)S * S);
    sbir_status st;
    if (qin_render_spec(spec, S, grey, NULL, 0) != SBIR_OK)
        st = spec[0] == '{' || spec[0] == '[' || strcmp(spec, "-") == 0 ? SBIR_E_FORMAT : api_file_status(spec);
    else
        st = api_embed_grey(c, grey, content);
    free(grey);
    return st;
}

static sbir_status embed_square(sbir_model_ctx *c, const sbir_image *sq, float *content, float *style) {
    int S = c->m->S;
    float *x = mallocCheck(sizeof(float) * 3 * (size_t)S * S);
    input_from_rgb(sq->rgb, S, x);
    sbir_status st = api_embed_inputs(c, x, 1, content, style);
    free(x);
    return st;
}

sbir_status sbir_embed_image(sbir_model_ctx *c, const uint8_t *rgb, int w, int h, float *content, float *style) {
    if (!c || !rgb || w < 1 || h < 1 || (uint64_t)w * (uint64_t)h > image_max_pixels())
        return api_fail(SBIR_E_ARG, "sbir_embed_image: bad arguments");
    sbir_image src = {w, h, (uint8_t *)rgb}, sq = {0};
    if (image_fit(&src, c->m->S, IMAGE_FIT_PAD, &sq) != SBIR_OK) return SBIR_E_ARG;
    sbir_status st = embed_square(c, &sq, content, style);
    image_free(&sq);
    return st;
}

sbir_status sbir_embed_image_file(sbir_model_ctx *c, const char *path, float *content, float *style) {
    if (!c || !path) return api_fail(SBIR_E_ARG, "sbir_embed_image_file: bad arguments");
    sbir_image sq = {0};
    if (image_load_square(path, c->m->S, IMAGE_FIT_PAD, &sq) != SBIR_OK) return api_file_status(path);
    sbir_status st = embed_square(c, &sq, content, style);
    image_free(&sq);
    return st;
}
