/* test_content_embedding.c — the content embedding with the class posterior (model.h, class_weight):
 * its layout and distances, that it survives save/load and changes the fingerprint, that a model file
 * with a hostile weight is refused, and that model_calibrate picks from its grid on validation data;
 * sketch queries, and with gallery_mirror gallery images, are embedded with their mirror image. */
#include <math.h>
#include <string.h>

#include "model/calibrate.h"
#include "index/search.h"
#include "model/embed.h"
#include "model/eval.h"
#include "model/model.h"
#include "support/tiny_collection.h"
#include "nn/safetensors.h"
#include "test.h"
#include "util/common.h"
#include "util/rng.h"

static char *k_classes[] = {"cat", "dog", "cow"}, *k_styles[] = {"ink", "oil"};

static sbir_model *tiny_model(void) {
    sbir_model *m = model_create(16, 3, k_classes, 2, k_styles, "c4,p,g,l8", "c4,g,l4", 4, NET_BACKEND_REF);
    if (!m) return NULL;
    net_init(m->structure, 7);
    net_init(m->style, 8);
    sbir_rng r;
    rng_seed(&r, 3);
    for (int i = 0; i < m->C * (m->Df + 1); i++) m->content_head[i] = rng_normal(&r);
    return m;
}

static double sqdist(const float *a, const float *b, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return s;
}

static void test_layout_and_distance(void) {
    sbir_model *m = tiny_model();
    CHECK(m != NULL, "%s", sbir_last_error());
    if (!m) return;
    CHECK(m->Dc == m->Df && m->class_weight == 0, "a new model has no posterior (Dc %d, Df %d)", m->Dc, m->Df);
    int Df = m->Df, C = m->C;
    float f[2 * 8], plain[2 * 8], e[2 * 11], p[2 * 11];
    sbir_rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < 2 * Df; i++) f[i] = rng_normal(&r);
    model_content_from_features(m, f, 2, 0, plain);
    model_content_from_features(m, f, 2, 1, p);
    model_content_from_features(m, f, 2, 2.5f, e);
    for (int b = 0; b < 2; b++) {
        double n2 = 0, psum = 0, esum = 0;
        for (int k = 0; k < Df; k++) n2 += (double)plain[b * Df + k] * plain[b * Df + k];
        CHECK_NEAR(n2, 1.0, 1e-5);
        CHECK(memcmp(plain + b * Df, e + b * (Df + C), sizeof(float) * Df) == 0, "features come first, unchanged");
        for (int c = 0; c < C; c++) psum += p[b * (Df + C) + Df + c], esum += e[b * (Df + C) + Df + c];
        CHECK_NEAR(psum, 1.0, 1e-5);           /* weight 1: the posterior itself */
        CHECK_NEAR(esum, sqrt(2.5), 1e-5);     /* scaled by sqrt(weight) */
        /* the posterior is the softmax of the head's logits: check the argmax */
        const float *W = m->content_head, *bias = W + C * Df;
        int best = 0;
        double bz = -1e30;
        for (int c = 0; c < C; c++) {
            double z = bias[c];
            for (int k = 0; k < Df; k++) z += (double)W[c * Df + k] * f[b * Df + k];
            if (z > bz) bz = z, best = c;
        }
        int pbest = 0;
        for (int c = 1; c < C; c++)
            if (p[b * (Df + C) + Df + c] > p[b * (Df + C) + Df + pbest]) pbest = c;
        CHECK(pbest == best, "posterior argmax %d, logits argmax %d", pbest, best);
    }
    /* squared distance = feature distance + weight * posterior distance */
    double d_all = sqdist(e, e + Df + C, Df + C), d_feat = sqdist(plain, plain + Df, Df),
           d_post = sqdist(p + Df, p + (Df + C) + Df, C);
    CHECK_NEAR(d_all, d_feat + 2.5 * d_post, 1e-5);
    /* the content distance evaluation and calibration use is the one the index ranks by: 2 - 2 q.g,
     * which is the unit features' distance minus 2c times the same-class probability p_q.p_g */
    double pp = 0;
    for (int c = 0; c < C; c++) pp += (double)p[Df + c] * p[(Df + C) + Df + c];
    double dc = eval_content_dist(e, e + Df + C, Df + C);
    CHECK_NEAR(dc, d_feat - 2 * 2.5 * pp, 1e-5);
    sbir_matrix g = {SBIR_ELEM_F32, 2, Df + C, sizeof(float) * (Df + C), e, NULL, NULL};
    CHECK_NEAR(dc, 2 - 2 * search_score_row(&g, e, 1), 1e-5);
    model_free(m);
}

/* The mirror images of n 3 x 16 x 16 inputs. */
static void mirror_inputs(const float *x, float *mx, int n) {
    enum { S = 16 };
    for (int i = 0; i < n * 3 * S; i++)
        for (int w = 0; w < S; w++) mx[i * S + w] = x[i * S + (S - 1 - w)];
}

/* The reference for a mirror-averaged embedding of one input: the plain forward's 8 features of x
 * (plain) and their mean with those of its mirror mx (mean). */
static void mean_of_forwards(net *n, const float *x, const float *mx, float plain[8], float mean[8]) {
    memcpy(plain, net_forward(n, x, 1, 0), sizeof(float) * 8);
    const float *b = net_forward(n, mx, 1, 0);
    for (int k = 0; k < 8; k++) mean[k] = 0.5f * (plain[k] + b[k]);
}

/* Sketch queries are embedded with their mirror image: a sketch and its mirror get the very same
 * embedding, the mean of the two plain forwards, whatever the batch the network was built for. */
static void test_sketch_mirror(void) {
    sbir_model *m = tiny_model();
    if (!m) return;
    model_set_class_weight(m, 2);
    enum { S = 16, N = 3 * S * S };
    float x[2 * N], mx[2 * N], f[2 * 8], fm[2 * 8], ref[8], e[11], em[11];
    sbir_rng r;
    rng_seed(&r, 21);
    for (int i = 0; i < 2 * N; i++) x[i] = rng_uniform(&r);
    mirror_inputs(x, mx, 2);
    model_sketch_features(m->structure, x, 2, f);
    model_sketch_features(m->structure, mx, 2, fm);
    CHECK(memcmp(f, fm, sizeof f) == 0, "a sketch and its mirror embed differently");
    float fa[8];
    mean_of_forwards(m->structure, x + N, mx + N, fa, ref);
    CHECK(test_max_rel_diff(f + 8, ref, 8) < 1e-6, "not the mean of the two forwards");
    CHECK(test_max_rel_diff(fa, ref, 8) > 1e-4, "the test sketch is its own mirror: nothing tested");
    model_embed_sketch_content(m, x + N, 1, e);
    model_content_from_features(m, ref, 1, 2, em);
    CHECK(test_max_rel_diff(e, em, 11) < 1e-6, "model_embed_sketch_content is not the content of those features");
    /* a network built for batch 1 (the server's) gives the same */
    sbir_model *m1 = model_create(16, 3, k_classes, 2, k_styles, "c4,p,g,l8", "c4,g,l4", 1, NET_BACKEND_REF);
    if (m1) {
        net_copy_weights(m1->structure, m->structure);
        float f1[2 * 8];
        model_sketch_features(m1->structure, x, 2, f1);
        CHECK(test_max_rel_diff(f, f1, 16) < 1e-6, "batch-1 network differs");
        model_free(m1);
    }
    model_free(m);
}

/* Saves m as test_tmpdir()/name (the path into path) and keeps the fingerprint the save gave it. */
static void save_as(sbir_model *m, const char *name, char path[4096], char fp[17]) {
    snprintf(path, 4096, "%s/%s", test_tmpdir(), name);
    CHECK(model_save(m, path, NULL, 0, NULL, 0) == SBIR_OK, "%s", sbir_last_error());
    memcpy(fp, m->fingerprint, 17);
}

static void test_save_load_and_fingerprint(void) {
    sbir_model *m = tiny_model();
    if (!m) return;
    char a[4096], b[4096], fp_plain[17], fp_posterior[17];
    save_as(m, "plain.model", a, fp_plain);
    model_set_class_weight(m, 2);
    CHECK(m->Dc == m->Df + m->C, "Dc %d", m->Dc);
    save_as(m, "posterior.model", b, fp_posterior);
    CHECK(strcmp(fp_plain, fp_posterior) != 0, "the class weight is part of the fingerprint");
    sbir_model *la = model_load(a, 4, NET_BACKEND_REF, NULL), *lb = model_load(b, 4, NET_BACKEND_REF, NULL);
    CHECK(la && lb, "%s", sbir_last_error());
    if (la && lb) {
        CHECK(la->class_weight == 0 && la->Dc == la->Df, "plain model loads plain");
        CHECK(lb->class_weight == 2 && lb->Dc == lb->Df + lb->C, "weight %g Dc %d", lb->class_weight, lb->Dc);
        CHECK(strcmp(lb->fingerprint, m->fingerprint) == 0, "fingerprint survives the round trip");
        float x[2 * 3 * 16 * 16], e1[2 * 11], e2[2 * 11];
        sbir_rng r;
        rng_seed(&r, 9);
        for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = rng_uniform(&r);
        model_embed_content(m, x, 2, e1);
        model_embed_content(lb, x, 2, e2);
        CHECK(test_max_rel_diff(e1, e2, 2 * 11) < 1e-6, "same embedding after load");
    }
    model_free(la);
    model_free(lb);
    model_free(m);
}

/* Rewrites the model file `path` into `out` with metadata `key` set to `value` (every other entry, and
 * every tensor, as they were) through safetensors_write, so the checksum is valid and only the value
 * is hostile. */
static int rewrite_meta(const char *path, const char *key, const char *value, char *out, size_t out_size) {
    static const char *const keys[] = {"format", "structure_spec", "style_spec",   "input_size",           "classes",
                                       "styles", "fusion",         "fingerprint", "content_class_weight", "gallery_mirror"};
    snprintf(out, out_size, "%s.hostile", path);
    safetensors *st = safetensors_open(path);
    CHECK(st != NULL, "%s", sbir_last_error());
    if (!st) return SBIR_ERR;
    int nt = safetensors_count(st), nm = 0;
    st_tensor *t = callocCheck((size_t)nt, sizeof *t);
    for (int k = 0; k < nt; k++) t[k] = *safetensors_at(st, k);
    const char *kv[2 * SBIR_ARRAY_LEN(keys)];
    for (size_t k = 0; k < SBIR_ARRAY_LEN(keys); k++) {
        const char *val = strcmp(keys[k], key) == 0 ? value : safetensors_meta(st, keys[k]);
        if (!val && strcmp(keys[k], "gallery_mirror") == 0) continue; /* written only when set */
        CHECK(val != NULL, "model_save writes %s", keys[k]);
        kv[2 * nm] = keys[k], kv[2 * nm + 1] = val ? val : "";
        nm++;
    }
    int rc = safetensors_write(out, t, nt, kv, nm);
    CHECK(rc == SBIR_OK, "%s", sbir_last_error());
    safetensors_close(st);
    free(t);
    return rc;
}

/* A model with gallery_mirror embeds a gallery image as the mean of its and its mirror's features:
 * an image and its mirror get the same content embedding, bit for bit, the content of those mean
 * features; without it they differ (so the check can fail). The flag survives a save and a load, is
 * part of the fingerprint, and a hostile value is refused by name. */
static void test_gallery_mirror(void) {
    sbir_model *m = tiny_model();
    if (!m) return;
    model_set_class_weight(m, 2);
    enum { S = 16, N = 3 * S * S, Dc = 8 + 3 };
    float x[2 * N], mx[2 * N], e[2 * Dc], em[2 * Dc], ref[2 * Dc], f[2 * 8];
    sbir_rng r;
    rng_seed(&r, 31);
    for (int i = 0; i < 2 * N; i++) x[i] = rng_range(&r, -2, 2);
    mirror_inputs(x, mx, 2);
    model_embed_content(m, x, 2, e);
    model_embed_content(m, mx, 2, em);
    CHECK(test_max_rel_diff(e, em, 2 * Dc) > 1e-4, "without gallery_mirror an image and its mirror embed alike");
    m->gallery_mirror = 1;
    model_embed_content(m, x, 2, e);
    model_embed_content(m, mx, 2, em);
    CHECK(memcmp(e, em, sizeof e) == 0, "with gallery_mirror an image and its mirror embed differently");
    float one[8];
    for (int b = 0; b < 2; b++) mean_of_forwards(m->structure, x + b * N, mx + b * N, one, f + b * 8);
    model_content_from_features(m, f, 2, 2, ref);
    CHECK(test_max_rel_diff(e, ref, 2 * Dc) < 1e-6, "not the content of the mean features");

    char path[4096], plain[4096], fp_mirror[17], fp_one_view[17];
    save_as(m, "mirror.model", path, fp_mirror);
    m->gallery_mirror = 0;
    save_as(m, "nomirror.model", plain, fp_one_view);
    CHECK(strcmp(fp_mirror, fp_one_view) != 0, "gallery_mirror is not part of the fingerprint");
    sbir_model *l = model_load(path, 4, NET_BACKEND_REF, NULL), *lp = model_load(plain, 4, NET_BACKEND_REF, NULL);
    CHECK(l && l->gallery_mirror == 1 && strcmp(l->fingerprint, fp_mirror) == 0, "gallery_mirror lost in a save and load");
    CHECK(lp && lp->gallery_mirror == 0, "a plain model loads with gallery_mirror");
    if (l) {
        float el[2 * Dc];
        model_embed_content(l, mx, 2, el);
        CHECK(test_max_rel_diff(el, e, 2 * Dc) < 1e-6, "the loaded model embeds differently");
    }
    model_free(l);
    model_free(lp);

    /* a hostile value, with a valid checksum */
    char hostile[4200];
    if (rewrite_meta(path, "gallery_mirror", "yes", hostile, sizeof hostile) == SBIR_OK) {
        sbir_model *h = model_load(hostile, 4, NET_BACKEND_REF, NULL);
        CHECK(h == NULL && strstr(sbir_last_error(), "gallery_mirror"), "gallery_mirror 'yes' accepted (%s)",
              sbir_last_error());
        model_free(h);
    }
    model_free(m);
}

/* A model file is untrusted: the weight must be a finite number in range. Rewrites the metadata
 * through safetensors_write so the checksum is valid and only the value is hostile. */
static void test_hostile_weight_refused(void) {
    sbir_model *m = tiny_model();
    if (!m) return;
    const char *bad[] = {"nan", "-1", "inf", "1e300", "abc", "", "2x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/bad%zu.model", test_tmpdir(), i);
        CHECK(model_save(m, path, NULL, 0, NULL, 0) == SBIR_OK, "%s", sbir_last_error());
        char path2[4200];
        if (rewrite_meta(path, "content_class_weight", bad[i], path2, sizeof path2) != SBIR_OK) continue;
        sbir_model *l = model_load(path2, 4, NET_BACKEND_REF, NULL);
        CHECK(l == NULL, "content_class_weight '%s' accepted", bad[i]);
        CHECK(l || strstr(sbir_last_error(), "content_class_weight"), "error: %s", sbir_last_error());
        model_free(l);
    }
    model_free(m);
}

/* On a real (tiny) collection with an untrained model: the chosen weight is on the grid, the model's
 * embedding size follows it, and the chosen fit is at least as good on validation as the plain one. */
static void test_calibrate_picks_the_best(void) {
    char dir[4096], coll[4200];
    snprintf(dir, sizeof dir, "%s/tiny", test_tmpdir());
    snprintf(coll, sizeof coll, "%s/c.sqlite", dir);
    CHECK(tiny_collection(dir, coll, 4, 6, 32, 11) == SBIR_OK, "%s", sbir_last_error());
    dataset d;
    if (dataset_load(&d, coll, 32) != SBIR_OK) {
        CHECK(0, "%s", sbir_last_error());
        return;
    }
    sbir_model *m = model_create(32, d.C, d.classes, d.NS, d.styles, "c4,p,c8,p,g,l8", "c4,p,g,l4", 16, NET_BACKEND_DNNL);
    CHECK(m != NULL, "%s", sbir_last_error());
    if (!m) {
        dataset_free(&d);
        return;
    }
    net_init(m->structure, 1);
    net_init(m->style, 2);
    sbir_rng r;
    rng_seed(&r, 4);
    for (int i = 0; i < m->C * (m->Df + 1); i++) m->content_head[i] = rng_normal(&r);
    int ni, ns;
    int *img = dataset_images_of_split(&d, SBIR_SPLIT_TRAIN, &ni), *sk = dataset_sketches_of_split(&d, SBIR_SPLIT_TRAIN, &ns);
    CHECK(ni > 0 && ns > 0, "training split has %d images, %d sketches", ni, ns);
    fusion_fit fit;
    CHECK(model_calibrate(m, &d, img, ni, sk, ns, 1, &fit) == SBIR_OK, "%s", sbir_last_error());
    const float grid[] = {0, 0.25f, 0.5f, 1, 2, 4};
    int on_grid = 0;
    for (size_t k = 0; k < sizeof grid / sizeof grid[0]; k++) on_grid |= fit.class_weight == grid[k];
    CHECK(on_grid, "class weight %g", fit.class_weight);
    CHECK(m->class_weight == fit.class_weight && m->Dc == m->Df + (fit.class_weight > 0 ? m->C : 0), "Dc %d", m->Dc);
    CHECK(memcmp(m->fusion, fit.chosen, sizeof m->fusion) == 0, "the model keeps the chosen fusion");
    /* the plain embedding's own best fusion, measured the same way */
    model_set_class_weight(m, 0);
    float *gc = mallocCheck(sizeof(float) * ni * m->Df), *qc = mallocCheck(sizeof(float) * ns * m->Df),
          *gs = mallocCheck(sizeof(float) * ni * m->Ds);
    int *gcl = mallocCheck(sizeof(int) * ni), *gst = mallocCheck(sizeof(int) * ni), *qcl = mallocCheck(sizeof(int) * ns);
    embed_items_content(m, &d, img, ni, EMBED_IMAGES, gc);
    embed_items_content(m, &d, sk, ns, EMBED_SKETCHES, qc);
    embed_items(m->style, &d, img, ni, EMBED_IMAGES, gs);
    for (int i = 0; i < ni; i++) gcl[i] = d.img_class[img[i]], gst[i] = d.img_style[img[i]];
    for (int q = 0; q < ns; q++) qcl[q] = d.sk_class[sk[q]];
    eval_input in = {ns, ni, m->NS, m->C, m->Df, m->Ds, qc, qcl, gc, gs, gcl, gst, m->protos, {1, 1, 0},
                     (const char *const *)m->classes, (const char *const *)m->styles};
    fusion_fit plain;
    CHECK(fusion_calibrate(&in, 1, &plain) == SBIR_OK, "%s", sbir_last_error());
    double pm = plain.chose_learned ? plain.learned_map : plain.weighted_map,
           cm = fit.chose_learned ? fit.learned_map : fit.weighted_map;
    CHECK(cm >= pm - 1e-9, "chosen %g < plain %g", cm, pm);
    free(gc), free(qc), free(gs), free(gcl), free(gst), free(qcl), free(img), free(sk);
    model_free(m);
    dataset_free(&d);
}

int main(void) {
    RUN(test_layout_and_distance);
    RUN(test_sketch_mirror);
    RUN(test_gallery_mirror);
    RUN(test_save_load_and_fingerprint);
    RUN(test_hostile_weight_refused);
    RUN(test_calibrate_picks_the_best);
    return test_summary();
}
