#include "model/fusion.h"

#include <math.h>
#include <string.h>

#include "util/common.h"

static double search_weight(const eval_input *in, float *best_w) {
    double best = -1;
    *best_w = 0;
    for (int i = 0; i <= 40; i++) { /* w from 0.01 to 100, 10 steps per decade, plus w = 0 */
        float w = i == 0 ? 0.0f : powf(10.0f, -2.0f + (float)(i - 1) / 10.0f);
        float f[3] = {1, w, 0};
        double m = eval_fused_map(in, f);
        if (m > best + 1e-9) best = m, *best_w = w;
    }
    return best;
}

/* Logistic pairwise loss log(1 + exp(s_neg - s_pos)) with s = -(a dc + b ds + c dc ds), by SGD. */
static void train_learned(const eval_input *in, uint64_t seed, float init_w, float out[3]) {
    float p[3] = {1, init_w, 0};
    sbir_rng rng;
    rng_seed(&rng, seed);
    int N = in->N;
    int *pos = mallocCheck(sizeof(int) * (size_t)N), *neg = mallocCheck(sizeof(int) * (size_t)N);
    const int steps = 20000;
    float lr = 0.05f;
    for (int t = 0; t < steps; t++) {
        int q = (int)rng_below(&rng, (uint32_t)in->Q), s = (int)rng_below(&rng, (uint32_t)in->S);
        int np = 0, nn = 0;
        for (int i = 0; i < N; i++) {
            if (in->g_class[i] == in->q_class[q] && in->g_style_id[i] == s) pos[np++] = i;
            else neg[nn++] = i;
        }
        if (!np || !nn) continue;
        int a = pos[rng_below(&rng, (uint32_t)np)], b = neg[rng_below(&rng, (uint32_t)nn)];
        const float *qc = in->q_content + (size_t)q * in->Dc, *pr = in->protos + (size_t)s * in->Ds;
        float dca = eval_content_dist(qc, in->g_content + (size_t)a * in->Dc, in->Dc);
        float dsa = eval_sqdist(pr, in->g_style + (size_t)a * in->Ds, in->Ds);
        float dcb = eval_content_dist(qc, in->g_content + (size_t)b * in->Dc, in->Dc);
        float dsb = eval_sqdist(pr, in->g_style + (size_t)b * in->Ds, in->Ds);
        float fa[3] = {dca, dsa, dca * dsa}, fb[3] = {dcb, dsb, dcb * dsb};
        /* margin m = s_pos - s_neg = p . (fb - fa); loss = log(1 + exp(-m)) */
        float m = 0;
        for (int k = 0; k < 3; k++) m += p[k] * (fb[k] - fa[k]);
        float g = -1.0f / (1.0f + expf(m)); /* dloss/dm */
        float step = lr * (1.0f - (float)t / steps);
        for (int k = 0; k < 3; k++) p[k] -= step * g * (fb[k] - fa[k]);
        for (int k = 0; k < 3; k++) /* scores are scale-free: keep the weights bounded */
            if (p[k] < 0) p[k] = 0;
    }
    /* Only the ratios matter for ranking; scaling the largest weight to 1 keeps scores in a readable
     * range when one distance dominates (style nearly always separable: b >> a). */
    float norm = fmaxf(p[0], fmaxf(p[1], p[2]));
    if (!(norm > 1e-12f)) norm = 1;
    for (int k = 0; k < 3; k++) out[k] = p[k] / norm;
    if (out[0] < 1e-4f) out[0] = 1e-4f; /* content must always count: it orders the images of one style */
    free(pos);
    free(neg);
}

int fusion_calibrate(const eval_input *val, uint64_t seed, fusion_fit *out) {
    memset(out, 0, sizeof *out);
    if (val->Q == 0 || val->N == 0) return sbir_error("no validation sketches or images to calibrate the fusion on");
    float w;
    out->weighted_map = search_weight(val, &w);
    out->weighted[0] = 1, out->weighted[1] = w, out->weighted[2] = 0;
    train_learned(val, seed, w, out->learned);
    out->learned_map = eval_fused_map(val, out->learned);
    out->chose_learned = out->learned_map > out->weighted_map + 1e-4;
    memcpy(out->chosen, out->chose_learned ? out->learned : out->weighted, sizeof out->chosen);
    return SBIR_OK;
}
