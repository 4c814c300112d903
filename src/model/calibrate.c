#include "model/calibrate.h"

#include <string.h>

#include "model/embed.h"
#include "util/common.h"

/* Weights c of the class posterior in the content distance, |n_q - n_g|^2 - 2c p_q.p_g (eval.h): the
 * same-class probability p_q.p_g lies in [0, 1], the unit features' distance in [0, 4]; from off to
 * "the posterior dominates". */
static const float k_class_weights[] = {0, 0.25f, 0.5f, 1, 2, 4};

int model_calibrate(sbir_model *m, const dataset *d, const int *img, int ni, const int *sk, int ns, uint64_t seed,
                    fusion_fit *fit) {
    int Df = m->Df, Dmax = m->Df + m->C;
    float *gf = mallocCheck(sizeof(float) * (size_t)ni * Df), *qf = mallocCheck(sizeof(float) * (size_t)ns * Df),
          *gc = mallocCheck(sizeof(float) * (size_t)ni * Dmax), *qc = mallocCheck(sizeof(float) * (size_t)ns * Dmax),
          *gs = mallocCheck(sizeof(float) * (size_t)ni * m->Ds);
    int *gcl = mallocCheck(sizeof(int) * (size_t)ni), *gst = mallocCheck(sizeof(int) * (size_t)ni),
        *qcl = mallocCheck(sizeof(int) * (size_t)ns);
    int rc = SBIR_ERR;
    if (embed_features(m->structure, d, img, ni, m->gallery_mirror ? EMBED_IMAGES_MIRRORED : EMBED_IMAGES, gf) != SBIR_OK ||
        embed_features(model_sketch_net(m), d, sk, ns, EMBED_SKETCHES, qf) != SBIR_OK ||
        embed_items(m->style, d, img, ni, EMBED_IMAGES, gs) != SBIR_OK)
        goto done;
    for (int i = 0; i < ni; i++) gcl[i] = d->img_class[img[i]], gst[i] = d->img_style[img[i]];
    for (int q = 0; q < ns; q++) qcl[q] = d->sk_class[sk[q]];
    double best = -1;
    for (size_t k = 0; k < SBIR_ARRAY_LEN(k_class_weights); k++) {
        float w = k_class_weights[k];
        model_content_from_features(m, gf, ni, w, gc);
        model_content_from_features(m, qf, ns, w, qc);
        int D = Df + (w > 0 ? m->C : 0);
        eval_input in = {ns, ni, m->NS, m->C, D, m->Ds, qc, qcl, gc, gs, gcl, gst, m->protos, {1, 1, 0},
                         (const char *const *)m->classes, (const char *const *)m->styles};
        fusion_fit f;
        if (fusion_calibrate(&in, seed, &f) != SBIR_OK) goto done;
        double map = f.chose_learned ? f.learned_map : f.weighted_map;
        if (map > best + 1e-4) {
            best = map;
            *fit = f;
            fit->class_weight = w;
        }
    }
    model_set_class_weight(m, fit->class_weight);
    memcpy(m->fusion, fit->chosen, sizeof m->fusion);
    rc = SBIR_OK;
done:
    free(gf), free(qf), free(gc), free(qc), free(gs), free(gcl), free(gst), free(qcl);
    return rc;
}
