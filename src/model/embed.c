#include "model/embed.h"

#include "nn/ops.h"
#include "util/common.h"

int embed_items(net *n, const dataset *d, const int *idx, int count, int what, float *out) {
    int S = d->S, D = n->out_dim, B = SBIR_MIN(n->max_batch, 256);
    size_t in = (size_t)3 * S * S;
    float *x = mallocCheck(sizeof(float) * in * B), norm[256];
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
        const float *f = net_forward(n, x, nb, 0);
        if (!f) rc = SBIR_ERR;
        else l2norm_forward(out + (size_t)b0 * D, norm, f, 1e-12f, nb, D);
    }
    free(x);
    free(grey);
    return rc;
}
