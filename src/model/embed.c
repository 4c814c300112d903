#include "model/embed.h"

#include <string.h>

#include "nn/ops.h"
#include "util/common.h"

int embed_features(net *n, const dataset *d, const int *idx, int count, int what, float *out) {
    int S = d->S, D = n->out_dim, B = SBIR_MIN(n->max_batch, 256);
    size_t in = (size_t)3 * S * S;
    float *x = mallocCheck(sizeof(float) * in * B);
    uint8_t *grey = mallocCheck((size_t)S * S);
    int rc = SBIR_OK;
    for (int b0 = 0; b0 < count && rc == SBIR_OK; b0 += B) {
        int nb = SBIR_MIN(B, count - b0);
        for (int i = 0; i < nb; i++) {
            int k = idx[b0 + i];
            if (what == EMBED_SKETCHES) {
                dataset_sketch_grey(d, k, 0, NULL, grey);
                input_from_grey(grey, S, x + in * i);
            } else {
                input_from_rgb(d->img + (size_t)k * S * S * 3, S, x + in * i);
            }
        }
        if (what != EMBED_IMAGES) { /* as every sketch query is embedded (model.h) */
            model_sketch_features(n, x, nb, out + (size_t)b0 * D);
            continue;
        }
        const float *f = net_forward(n, x, nb, 0);
        if (!f) rc = SBIR_ERR;
        else memcpy(out + (size_t)b0 * D, f, sizeof(float) * (size_t)nb * D);
    }
    free(x);
    free(grey);
    return rc;
}

int embed_items(net *n, const dataset *d, const int *idx, int count, int what, float *out) {
    if (embed_features(n, d, idx, count, what, out) != SBIR_OK) return SBIR_ERR;
    l2norm_forward(out, NULL, out, 1e-12f, count, n->out_dim); /* row by row, so in place is safe */
    return SBIR_OK;
}

int embed_items_content(sbir_model *m, const dataset *d, const int *idx, int count, int what, float *out) {
    float *f = mallocCheck(sizeof(float) * (size_t)(count ? count : 1) * m->Df);
    if (what == EMBED_IMAGES && m->gallery_mirror) what = EMBED_IMAGES_MIRRORED;
    int rc = embed_features(what == EMBED_SKETCHES ? model_sketch_net(m) : m->structure, d, idx, count, what, f);
    if (rc == SBIR_OK) model_content_from_features(m, f, count, m->class_weight, out);
    free(f);
    return rc;
}
