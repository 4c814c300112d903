/* test_train.c — end to end on a tiny generated collection: training beats chance by a stated margin,
 * the same seed gives the same model, and a run stopped and resumed ends with the same weights as an
 * uninterrupted one. */
#include <stdlib.h>
#include <string.h>

#include "model/dataset.h"
#include "model/evaluate.h"
#include "model/model.h"
#include "model/train.h"
#include "nn/safetensors.h"
#include "test.h"
#include "support/tiny_collection.h"
#include "util/common.h"

static char g_coll[4200];

/* 5 classes x 7 media x 10 images and 40 sketches per class, 64 px: a second or two to generate. */
static int make_collection(void) {
    snprintf(g_coll, sizeof g_coll, "%s/coll.sqlite", test_tmpdir());
    return tiny_collection(test_tmpdir(), g_coll, 10, 40, 64, 7);
}

/* Under valgrind (SBIR_UNDER_VALGRIND=1) oneDNN's JIT-generated kernels run several hundred times
 * slower than natively (memcheck translates and checks the generated code; one training here took
 * 1 h 40 min), so the tests train and embed with the plain C backend there: the same trainer,
 * checkpoints and assertions, on code memcheck runs at its usual 20-50x. test_nn_dnnl and the other
 * tests cover the oneDNN paths under valgrind. */
static net_backend test_backend(void) { return test_under_valgrind() ? NET_BACKEND_REF : NET_BACKEND_DNNL; }

static void small_opts(train_opts *o, const char *out) {
    train_opts_default(o);
    o->backend = test_backend();
    o->collection = g_coll, o->out = out;
    o->S = 32, o->batch = 32, o->seed = 3, o->quiet = 1;
    o->structure_spec = "c16,p,c32,p,c64,p,g,l32";
    o->style_spec = "c16,p,c32,p,c32,g,l16";
    o->structure_steps = 150, o->style_steps = 80;
    if (test_under_valgrind()) o->structure_steps = 60, o->style_steps = 30; /* the same margins hold */
}

static void test_training_beats_chance(void) {
    char out[4300];
    snprintf(out, sizeof out, "%s/m1.safetensors", test_tmpdir());
    train_opts o;
    small_opts(&o, out);
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    sbir_model *m = model_load(out, 64, test_backend(), NULL);
    CHECK(m != NULL, "%s", sbir_last_error());
    if (!m) return;
    dataset d;
    CHECK(dataset_load(&d, g_coll, m->S) == SBIR_OK, "%s", sbir_last_error());
    eval_result r;
    CHECK(evaluate_model(m, &d, SBIR_SPLIT_TEST, SBIR_SPLIT_TEST, &r) == SBIR_OK, "%s", sbir_last_error());
    /* chance: sketch mAP about 1/5 (5 balanced classes); sketch + style about 1/35 */
    fprintf(stderr, "    tiny collection: sketch mAP %.3f, sketch+style mAP %.3f, style accuracy %.3f\n",
            r.sketch_map_overall, r.ss_overall, r.style_accuracy);
    CHECK(r.sketch_map_overall > 0.2 + 0.15, "sketch mAP %.3f does not beat chance (0.2) by 0.15", r.sketch_map_overall);
    CHECK(r.ss_overall > 0.03 + 0.1, "sketch+style mAP %.3f does not beat chance (0.03) by 0.1", r.ss_overall);
    CHECK(r.style_accuracy > 1.0 / 7 + 0.3, "style accuracy %.3f does not beat chance (0.14) by 0.3", r.style_accuracy);
    dataset_free(&d);
    model_free(m);
}

static void fingerprint_of(const char *path, char out[17]) {
    sbir_model *m = model_load(path, 8, test_backend(), NULL);
    CHECK(m != NULL, "%s", sbir_last_error());
    snprintf(out, 17, "%s", m ? m->fingerprint : "none");
    model_free(m);
}

/* The determinism tests compare models, not accuracy: under valgrind they train for fewer steps. */
static void determinism_opts(train_opts *o, const char *out) {
    small_opts(o, out);
    if (test_under_valgrind()) o->structure_steps = 20, o->style_steps = 10;
}

static void test_same_seed_same_model_and_resume(void) {
    char a[4300], b[4300], fa[17], fb[17], fr[17];
    snprintf(a, sizeof a, "%s/m1.safetensors", test_tmpdir());
    snprintf(b, sizeof b, "%s/m2.safetensors", test_tmpdir());
    train_opts o;
    if (test_under_valgrind()) { /* m1 was trained for the beats-chance test's longer run */
        snprintf(a, sizeof a, "%s/m1-short.safetensors", test_tmpdir());
        determinism_opts(&o, a);
        CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    }
    determinism_opts(&o, b);
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    fingerprint_of(a, fa);
    fingerprint_of(b, fb);
    CHECK(strcmp(fa, fb) == 0, "same seed, different models: %s vs %s", fa, fb);
    /* stop in the structure phase, then in the style phase, then finish */
    char c[4300];
    snprintf(c, sizeof c, "%s/m3.safetensors", test_tmpdir());
    determinism_opts(&o, c);
    o.stop_after = o.structure_steps * 2 / 5;
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    o.resume = 1, o.stop_after = o.structure_steps + o.style_steps / 2;
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    o.stop_after = 0;
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    fingerprint_of(c, fr);
    CHECK(strcmp(fa, fr) == 0, "resumed run differs from the uninterrupted one: %s vs %s", fr, fa);
    small_opts(&o, c);
    o.seed = 4;
    o.structure_steps = 20, o.style_steps = 10;
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    fingerprint_of(c, fr);
    CHECK(strcmp(fa, fr) != 0, "another seed gave the same model");
}

/* Weight averaging and label smoothing: the average is part of the checkpoint, so a resumed run still
 * ends with the uninterrupted run's model; and the options change the model. */
static void test_ema_and_smoothing_resume(void) {
    char a[4300], b[4300], fa[17], fb[17], fp[17];
    snprintf(a, sizeof a, "%s/ema1.safetensors", test_tmpdir());
    snprintf(b, sizeof b, "%s/ema2.safetensors", test_tmpdir());
    int structure = test_under_valgrind() ? 20 : 40, style = test_under_valgrind() ? 6 : 10;
    train_opts o;
    small_opts(&o, a);
    o.structure_steps = structure, o.style_steps = style, o.ema = 0.9f, o.label_smoothing = 0.1f;
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    small_opts(&o, b);
    o.structure_steps = structure, o.style_steps = style, o.ema = 0.9f, o.label_smoothing = 0.1f;
    o.stop_after = structure * 5 / 8; /* in the structure phase */
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    o.resume = 1, o.stop_after = 0;
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    fingerprint_of(a, fa);
    fingerprint_of(b, fb);
    CHECK(strcmp(fa, fb) == 0, "with --ema, the resumed run differs from the uninterrupted one: %s vs %s", fb, fa);
    small_opts(&o, b);
    o.structure_steps = structure, o.style_steps = style, o.resume = 0;
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    fingerprint_of(b, fp);
    CHECK(strcmp(fa, fp) != 0, "--ema and --label-smoothing changed nothing");
    small_opts(&o, b);
    o.ema = 1.0f;
    CHECK(train_run(&o) == SBIR_ERR && strstr(sbir_last_error(), "--ema"), "a decay of 1 accepted");
    small_opts(&o, b);
    o.label_smoothing = -0.1f;
    CHECK(train_run(&o) == SBIR_ERR && strstr(sbir_last_error(), "--label-smoothing"), "negative smoothing accepted");
}

/* --gallery-mirror changes how gallery images are embedded, not what is trained: the same seed gives
 * the same networks bit for bit, the model records the choice, and its fingerprint differs; a
 * finished model resumed with it becomes the model trained with it, and resumed with neither option
 * keeps the choice it was trained with. The tiny collection is far below
 * TRAIN_GALLERY_MIRROR_MAX_IMAGES, so the default turns it on and --no-gallery-mirror (0) is the plain
 * model. */
static void test_gallery_mirror(void) {
    char a[4300], b[4300];
    snprintf(a, sizeof a, "%s/gm_plain.safetensors", test_tmpdir());
    snprintf(b, sizeof b, "%s/gm_mirror.safetensors", test_tmpdir());
    train_opts o;
    determinism_opts(&o, a);
    CHECK(o.gallery_mirror == -1, "the default is not chosen from the collection: %d", o.gallery_mirror);
    o.structure_steps = test_under_valgrind() ? 20 : 40, o.style_steps = test_under_valgrind() ? 6 : 10;
    o.gallery_mirror = 0;
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    o.out = b, o.gallery_mirror = -1;
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    sbir_model *p = model_load(a, 8, test_backend(), NULL), *m = model_load(b, 8, test_backend(), NULL);
    CHECK(p && m, "%s", sbir_last_error());
    if (p && m) {
        CHECK(p->gallery_mirror == 0 && m->gallery_mirror == 1, "off: %d, the small collection's default: %d",
              p->gallery_mirror, m->gallery_mirror);
        CHECK(memcmp(p->structure->params, m->structure->params, sizeof(float) * p->structure->n_params) == 0 &&
                  memcmp(p->style->params, m->style->params, sizeof(float) * p->style->n_params) == 0,
              "--gallery-mirror changed the training");
        CHECK(strcmp(p->fingerprint, m->fingerprint) != 0, "same fingerprint for different gallery embeddings");
    }
    /* --resume without either option keeps the checkpoint's choice, here one view */
    char fm[17], fr[17], fp[17], fk[17];
    fingerprint_of(a, fp);
    o.out = a, o.resume = 1, o.gallery_mirror = -1;
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    fingerprint_of(a, fk);
    CHECK(strcmp(fp, fk) == 0, "a one-view model resumed without options changed: %s, was %s", fk, fp);
    /* a finished model switched over by --resume: re-calibrated only, the same model as trained with it */
    fingerprint_of(b, fm);
    o.gallery_mirror = 1; /* --gallery-mirror */
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    fingerprint_of(a, fr);
    CHECK(strcmp(fm, fr) == 0, "--resume --gallery-mirror on a finished model: %s, trained with it: %s", fr, fm);
    model_free(p);
    model_free(m);
}

/* The default by collection size, at the boundary; an explicit choice wins at any size. */
static void test_gallery_mirror_default(void) {
    CHECK(train_gallery_mirror_for(-1, 1) == 1 && train_gallery_mirror_for(-1, TRAIN_GALLERY_MIRROR_MAX_IMAGES) == 1,
          "a collection of up to the limit gets one view");
    CHECK(train_gallery_mirror_for(-1, TRAIN_GALLERY_MIRROR_MAX_IMAGES + 1) == 0 &&
              train_gallery_mirror_for(-1, 5000000000LL) == 0,
          "a collection above the limit gets two views");
    CHECK(train_gallery_mirror_for(0, 10) == 0 && train_gallery_mirror_for(1, 5000000000LL) == 1,
          "an explicit choice was overridden");
}

/* The sketches' own batch norm (the default): the trained model's sketch network shares every weight
 * with the structure network bit for bit and has batch norms of its own, which sketch queries go
 * through; it survives a save and a load; --shared-bn trains without it; a file whose sketch batch
 * norms do not match its spec is refused. */
static void test_sketch_batch_norm(void) {
    char a[4300], b[4300], c[4300];
    snprintf(a, sizeof a, "%s/m1.safetensors", test_tmpdir()); /* test_training_beats_chance's */
    snprintf(b, sizeof b, "%s/resaved.safetensors", test_tmpdir());
    snprintf(c, sizeof c, "%s/shared.safetensors", test_tmpdir());
    sbir_model *m = model_load(a, 8, test_backend(), NULL);
    CHECK(m && m->structure_sketch && model_sketch_net(m) == m->structure_sketch, "no sketch network: %s",
          m ? "" : sbir_last_error());
    if (!m || !m->structure_sketch) {
        model_free(m);
        return;
    }
    net *n = m->structure, *k = m->structure_sketch;
    int shared_equal = 1, bn_tensors = 0, bn_differ = 0;
    for (int i = 0; i < n->n_tensors; i++) {
        const net_tensor *t = &n->tensors[i];
        const float *x = (t->buffer ? n->bufs : n->params) + t->offset, *y = (t->buffer ? k->bufs : k->params) + t->offset;
        int same = memcmp(x, y, sizeof(float) * t->numel) == 0;
        if (net_tensor_is_bn(t)) bn_tensors++, bn_differ += !same;
        else shared_equal &= same;
    }
    CHECK(shared_equal, "the sketch network's convolution or linear weights differ from the structure network's");
    CHECK(bn_tensors > 0 && bn_differ == bn_tensors, "%d of %d batch-norm tensors differ", bn_differ, bn_tensors);
    /* a sketch query goes through the sketch network */
    int S = m->S;
    float *x = mallocCheck(sizeof(float) * 3 * S * S), *via_model = mallocCheck(sizeof(float) * m->Dc),
          *f = mallocCheck(sizeof(float) * m->Df), *via_image_net = mallocCheck(sizeof(float) * m->Dc);
    for (int i = 0; i < 3 * S * S; i++) x[i] = (i / 7) % 5 == 0 ? -2.0f : 2.0f;
    model_embed_sketch_content(m, x, 1, via_model);
    model_sketch_features(m->structure, x, 1, f);
    model_content_from_features(m, f, 1, m->class_weight, via_image_net);
    CHECK(memcmp(via_model, via_image_net, sizeof(float) * m->Dc) != 0, "sketch embedded without its batch norms");
    /* save, load: the same model */
    CHECK(model_save(m, b, NULL, 0, NULL, 0) == SBIR_OK, "%s", sbir_last_error());
    sbir_model *r = model_load(b, 8, test_backend(), NULL);
    CHECK(r && r->structure_sketch && strcmp(r->fingerprint, m->fingerprint) == 0 &&
              memcmp(r->structure_sketch->params, k->params, sizeof(float) * k->n_params) == 0 &&
              memcmp(r->structure_sketch->bufs, k->bufs, sizeof(float) * k->n_bufs) == 0,
          "the sketch batch norms did not survive a save and a load");
    model_free(r);
    free(x), free(via_model), free(f), free(via_image_net);
    model_free(m);

    /* a sketch batch norm missing, or one more value than the spec has: refused by name */
    safetensors *st = safetensors_open(b);
    CHECK(st != NULL, "%s", sbir_last_error());
    if (!st) return;
    const char *keys[] = {"format", "structure_spec", "style_spec", "input_size", "classes", "styles", "fusion"};
    const char *meta[14];
    for (int i = 0; i < 7; i++) meta[2 * i] = keys[i], meta[2 * i + 1] = safetensors_meta(st, keys[i]);
    int nt = safetensors_count(st), kept = 0;
    st_tensor *ts = mallocCheck(sizeof(st_tensor) * (size_t)(nt + 1));
    for (int i = 0; i < nt; i++) {
        const st_tensor *t = safetensors_at(st, i);
        if (strcmp(t->name, "structure_sketch.layers.0.bn.running_var") != 0) ts[kept++] = *t;
    }
    CHECK(kept == nt - 1, "the test's tensor is not in the file");
    CHECK(safetensors_write(c, ts, kept, meta, 7) == SBIR_OK, "%s", sbir_last_error());
    CHECK(model_load(c, 8, NET_BACKEND_DNNL, NULL) == NULL && strstr(sbir_last_error(), "sketches' batch norms"),
          "a file missing a sketch batch norm: %s", sbir_last_error());
    static float extra[2];
    ts[kept++] = *safetensors_get(st, "structure_sketch.layers.0.bn.running_var");
    ts[kept++] = (st_tensor){"structure_sketch.extra", 1, {2}, extra};
    CHECK(safetensors_write(c, ts, kept, meta, 7) == SBIR_OK, "%s", sbir_last_error());
    CHECK(model_load(c, 8, NET_BACKEND_DNNL, NULL) == NULL && strstr(sbir_last_error(), "sketches' batch norms"),
          "a file with an extra sketch tensor: %s", sbir_last_error());
    safetensors_close(st);
    free(ts);

    /* --shared-bn: no sketch network, another model */
    train_opts o;
    determinism_opts(&o, c);
    o.shared_bn = 1;
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    sbir_model *sh = model_load(c, 8, test_backend(), NULL);
    CHECK(sh && !sh->structure_sketch && model_sketch_net(sh) == sh->structure, "--shared-bn kept a sketch network");
    model_free(sh);
    /* a --shared-bn checkpoint is not resumed without it */
    determinism_opts(&o, c);
    o.shared_bn = 1, o.stop_after = 5;
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    o.shared_bn = 0, o.resume = 1, o.stop_after = 0;
    CHECK(train_run(&o) == SBIR_ERR && strstr(sbir_last_error(), "other settings"), "resumed across --shared-bn: %s",
          sbir_last_error());
}

static void test_bad_inputs(void) {
    train_opts o;
    char out[4300];
    snprintf(out, sizeof out, "%s/bad.safetensors", test_tmpdir());
    small_opts(&o, out);
    o.collection = "/nonexistent/coll.sqlite";
    CHECK(train_run(&o) == SBIR_ERR, "missing collection accepted");
    CHECK(strstr(sbir_last_error(), "/nonexistent/coll.sqlite") != NULL, "%s", sbir_last_error());
    small_opts(&o, out);
    o.structure_spec = "c16,x";
    CHECK(train_run(&o) == SBIR_ERR, "bad spec accepted");
    CHECK(model_load(g_coll, 8, NET_BACKEND_DNNL, NULL) == NULL, "a collection loaded as a model");
}

int main(void) {
    if (make_collection() != SBIR_OK) {
        fprintf(stderr, "cannot build the test collection: %s\n", sbir_last_error());
        CHECK(0, "setup");
        return test_summary();
    }
    RUN(test_training_beats_chance);
    RUN(test_same_seed_same_model_and_resume);
    RUN(test_ema_and_smoothing_resume);
    RUN(test_gallery_mirror);
    RUN(test_gallery_mirror_default);
    RUN(test_sketch_batch_norm);
    RUN(test_bad_inputs);
    return test_summary();
}
