#include "model/evaluate.h"

#include <string.h>

#include "model/embed.h"
#include "util/common.h"

int evaluate_model(sbir_model *m, const dataset *d, int split, int sketch_split, eval_result *out) {
    int ni, ns;
    int *img = dataset_images_of_split(d, split, &ni), *sk = dataset_sketches_of_split(d, sketch_split, &ns);
    int *style_map = mallocCheck(sizeof(int) * (size_t)(d->NS ? d->NS : 1));
    for (int s = 0; s < d->NS; s++) {
        style_map[s] = -1;
        for (int k = 0; k < m->NS; k++)
            if (strcmp(d->styles[s], m->styles[k]) == 0) style_map[s] = k;
    }
    int kept = 0;
    for (int i = 0; i < ni; i++)
        if (style_map[d->img_style[img[i]]] >= 0) img[kept++] = img[i];
    ni = kept;
    int rc = SBIR_ERR;
    float *gc = NULL, *gs = NULL, *qc = NULL;
    int *gcl = NULL, *gst = NULL, *qcl = NULL;
    if (ni == 0 || ns == 0) {
        sbir_error("the %s split has %d gallery images of the model's styles and %d sketches: nothing to evaluate",
                   split < 0 ? "whole collection" : sbir_split_name(split), ni, ns);
        goto done;
    }
    gc = mallocCheck(sizeof(float) * (size_t)ni * m->Dc);
    gs = mallocCheck(sizeof(float) * (size_t)ni * m->Ds);
    qc = mallocCheck(sizeof(float) * (size_t)ns * m->Dc);
    gcl = mallocCheck(sizeof(int) * (size_t)ni);
    gst = mallocCheck(sizeof(int) * (size_t)ni);
    qcl = mallocCheck(sizeof(int) * (size_t)ns);
    if (embed_items_content(m, d, img, ni, EMBED_IMAGES, gc) != SBIR_OK ||
        embed_items(m->style, d, img, ni, EMBED_IMAGES, gs) != SBIR_OK ||
        embed_items_content(m, d, sk, ns, EMBED_SKETCHES, qc) != SBIR_OK)
        goto done;
    for (int i = 0; i < ni; i++) gcl[i] = d->img_class[img[i]], gst[i] = style_map[d->img_style[img[i]]];
    for (int q = 0; q < ns; q++) qcl[q] = d->sk_class[sk[q]];
    eval_input in = {ns, ni, m->NS, d->C, m->Dc, m->Ds, qc, qcl, gc, gs, gcl, gst, m->protos,
                     {m->fusion[0], m->fusion[1], m->fusion[2]}, (const char *const *)d->classes,
                     (const char *const *)m->styles};
    rc = eval_run(&in, out);
done:
    free(img), free(sk), free(style_map), free(gc), free(gs), free(qc), free(gcl), free(gst), free(qcl);
    return rc;
}
