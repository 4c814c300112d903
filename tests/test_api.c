/* test_api.c — the public library (include/sbir.h) end to end on a tiny untrained model and a tiny
 * collection made here. Retrieval is checked with exact math rather than learned quality: a query
 * equal to an indexed image's own embeddings finds that image first with score 0 (every distance is
 * >= 0), and every ranking equals a brute-force ranking computed here from the same embeddings. */
#include <pthread.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/fused_search.h"
#include "data/collection.h"
#include "data/image.h"
#include "model/model.h"
#include "model/train.h"
#include "sbir.h"
#include "test.h"
#include "util/common.h"
#include "util/rng.h"

#define S 32
#define N_IMG 24
static const char *k_classes[] = {"cat", "dog", "tree"};
static const char *k_styles[] = {"ink", "paint"};
static char g_img[N_IMG][4200], g_coll[4200], g_model[4200], g_model2[4200], g_index[4200];

/* Images that differ in shape by class and in colour by style, with noise. */
static void make_image(const char *path, int cls, int sty, uint64_t seed) {
    uint8_t px[48 * 40 * 3];
    sbir_rng r;
    rng_seed(&r, seed);
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 48; x++) {
            int ink = cls == 0 ? (x - 24) * (x - 24) + (y - 20) * (y - 20) < 150 : cls == 1 ? abs(x - y) < 5 : x > 20 && x < 28;
            for (int c = 0; c < 3; c++) {
                int base = ink ? (sty == 0 ? 20 : 60 + 80 * c) : (sty == 0 ? 240 : 200 - 30 * c);
                px[(y * 48 + x) * 3 + c] = (uint8_t)SBIR_MAX(0, SBIR_MIN(255, base + (int)rng_below(&r, 40) - 20));
            }
        }
    CHECK(image_write_png(path, px, 48, 40, 3) == SBIR_OK, "%s", sbir_last_error());
}

static int make_collection(const char *path, int n) {
    sbir_collection *c = collection_create(path, test_tmpdir());
    if (!c) return SBIR_ERR;
    for (int i = 0; i < n; i++) {
        int cls = i % 3, sty = (i / 3) % 2;
        if (collection_add_image(c, g_img[i], k_classes[cls], k_styles[sty], 48, 40, NULL, NULL) != SBIR_OK) {
            collection_close(c);
            return SBIR_ERR;
        }
    }
    return collection_commit(c);
}

static int make_model(const char *path, uint64_t seed, const float fusion[3]) {
    sbir_model *m = model_create(S, 3, (char **)k_classes, 2, (char **)k_styles, "c8,p,c16,p,g,l16", "c8,p,c8,g,l8", 16,
                                 NET_BACKEND_DNNL);
    if (!m) return SBIR_ERR;
    net_init(m->structure, seed);
    net_init(m->style, seed + 1);
    sbir_rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < m->NS * m->Ds; i++) m->protos[i] = rng_range(&r, -0.3f, 0.3f); /* not unit, like means */
    memcpy(m->fusion, fusion, sizeof m->fusion);
    int rc = model_save(m, path, NULL, 0, NULL, 0);
    model_free(m);
    return rc;
}

static void setup(void) {
    for (int i = 0; i < N_IMG; i++) {
        snprintf(g_img[i], sizeof g_img[i], "%s/img%02d.png", test_tmpdir(), i);
        make_image(g_img[i], i % 3, (i / 3) % 2, 100 + i);
    }
    snprintf(g_coll, sizeof g_coll, "%s/coll.sqlite", test_tmpdir());
    snprintf(g_model, sizeof g_model, "%s/m.safetensors", test_tmpdir());
    snprintf(g_model2, sizeof g_model2, "%s/m2.safetensors", test_tmpdir());
    snprintf(g_index, sizeof g_index, "%s/i.sbix", test_tmpdir());
    float f[3] = {1, 0.7f, 0.5f}; /* a product term: the scan path of the fused search */
    CHECK(make_collection(g_coll, N_IMG) == SBIR_OK, "%s", sbir_last_error());
    CHECK(make_model(g_model, 5, f) == SBIR_OK, "%s", sbir_last_error());
    CHECK(make_model(g_model2, 9, f) == SBIR_OK, "%s", sbir_last_error());
}

static float sqd(const float *a, const float *b, int d) {
    float s = 0;
    for (int i = 0; i < d; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
    return s;
}

/* Every image's embeddings, one at a time (batch 1: checks too that batching does not change them). */
static float g_c[N_IMG][SBIR_MAX_DIM], g_s[N_IMG][SBIR_MAX_DIM];

static void test_open_and_build(void) {
    sbir_model_ctx *m;
    CHECK(sbir_model_open("/nonexistent/model", &m) == SBIR_E_IO && m == NULL, "%s", sbir_last_error());
    CHECK(strstr(sbir_last_error(), "/nonexistent/model") != NULL, "%s", sbir_last_error());
    CHECK(strlen(sbir_errmsg(SBIR_E_MISMATCH)) > 0, "%s", sbir_last_error());
    CHECK(sbir_model_open(g_model, &m) == SBIR_E_OK, "%s", sbir_last_error());
    if (!m) return;
    CHECK(sbir_model_input_size(m) == S && sbir_model_content_dim(m) == 16 && sbir_model_style_dim(m) == 8, "%s", sbir_last_error());
    CHECK(sbir_model_n_styles(m) == 2 && strcmp(sbir_model_style_name(m, 1), "paint") == 0, "%s", sbir_last_error());
    CHECK(sbir_model_style_name(m, 2) == NULL && strlen(sbir_model_fingerprint(m)) == 16, "%s", sbir_last_error());
    int64_t added = -1;
    sbir_build_opts o = {.jobs = 3};
    CHECK(sbir_index_build(m, g_coll, g_index, &o, &added) == SBIR_E_OK, "%s", sbir_last_error());
    CHECK(added == N_IMG, "added %lld", (long long)added);
    for (int i = 0; i < N_IMG; i++)
        CHECK(sbir_embed_image_file(m, g_img[i], g_c[i], g_s[i]) == SBIR_E_OK, "%s", sbir_last_error());
    sbir_index_ctx *ix;
    CHECK(sbir_index_open(g_index, &ix) == SBIR_E_OK, "%s", sbir_last_error());
    if (ix) {
        CHECK(sbir_index_count(ix) == N_IMG, "%s", sbir_last_error());
        CHECK(strcmp(sbir_index_fingerprint(ix), sbir_model_fingerprint(m)) == 0, "%s", sbir_last_error());
    }
    sbir_index_close(ix);
    sbir_model_close(m);
}

/* Brute force: the scores of every image for (qc, qs) under fusion f, sorted descending. */
static void brute(const float *qc, const float *qs, const float f[3], int Dc, int Ds, float *sorted) {
    for (int j = 0; j < N_IMG; j++) {
        float dc = sqd(qc, g_c[j], Dc), ds = qs ? sqd(qs, g_s[j], Ds) : 0;
        sorted[j] = qs ? -(f[0] * dc + f[1] * ds + f[2] * dc * ds) : -dc;
    }
    for (int a = 1; a < N_IMG; a++) /* insertion sort, descending */
        for (int b = a; b > 0 && sorted[b] > sorted[b - 1]; b--) {
            float t = sorted[b];
            sorted[b] = sorted[b - 1], sorted[b - 1] = t;
        }
}

static void test_search_exact(void) {
    sbir_model_ctx *m;
    sbir_index_ctx *ix;
    if (sbir_model_open(g_model, &m) != SBIR_E_OK) return;
    if (sbir_index_open(g_index, &ix) != SBIR_E_OK) return sbir_model_close(m);
    float f[3] = {1, 0.7f, 0.5f};
    int Dc = 16, Ds = 8, n;
    sbir_result r[N_IMG];
    for (int i = 0; i < N_IMG; i += 5) {
        /* content only: the image's own content embedding finds itself, score 0 */
        sbir_query q = {.sketch = g_c[i], .k = 5};
        CHECK(sbir_search(ix, m, &q, r, &n) == SBIR_E_OK && n == 5, "%s", sbir_last_error());
        CHECK(strcmp(r[0].path, g_img[i]) == 0, "query %d found %s", i, r[0].path);
        CHECK_NEAR(r[0].score, 0, 1e-4);
        for (int k = 1; k < n; k++) CHECK(r[k].score <= r[k - 1].score, "%s", sbir_last_error());
        /* style by example (its own style embedding): itself again, all distances 0 */
        q.style_examples = g_s[i], q.n_examples = 1, q.k = N_IMG;
        CHECK(sbir_search(ix, m, &q, r, &n) == SBIR_E_OK && n == N_IMG, "%s", sbir_last_error());
        CHECK(strcmp(r[0].path, g_img[i]) == 0 && fabsf(r[0].score) < 1e-4, "score %g", r[0].score);
        float want[N_IMG];
        brute(g_c[i], g_s[i], f, Dc, Ds, want);
        for (int k = 0; k < n; k++) CHECK_NEAR(r[k].score, want[k], 1e-4);
        /* style by name: the model's prototype */
        sbir_query qn = {.sketch = g_c[i], .style_name = "paint", .k = N_IMG};
        CHECK(sbir_search(ix, m, &qn, r, &n) == SBIR_E_OK && n == N_IMG, "%s", sbir_last_error());
        sbir_model *raw = model_load(g_model, 1, NET_BACKEND_REF, NULL);
        if (raw) {
            brute(g_c[i], raw->protos + 1 * Ds, f, Dc, Ds, want);
            for (int k = 0; k < n; k++) CHECK_NEAR(r[k].score, want[k], 1e-4);
            model_free(raw);
        }
        /* two examples: their mean */
        float two[2 * SBIR_MAX_DIM], mean[SBIR_MAX_DIM];
        memcpy(two, g_s[i], sizeof(float) * Ds);
        memcpy(two + Ds, g_s[(i + 1) % N_IMG], sizeof(float) * Ds);
        for (int d = 0; d < Ds; d++) mean[d] = (two[d] + two[Ds + d]) / 2;
        sbir_query q2 = {.sketch = g_c[i], .style_examples = two, .n_examples = 2, .k = N_IMG};
        CHECK(sbir_search(ix, m, &q2, r, &n) == SBIR_E_OK && n == N_IMG, "%s", sbir_last_error());
        brute(g_c[i], mean, f, Dc, Ds, want);
        for (int k = 0; k < n; k++) CHECK_NEAR(r[k].score, want[k], 1e-4);
    }
    /* class filter */
    sbir_query qc = {.sketch = g_c[0], .style_name = "ink", .class_name = "dog", .k = 50};
    CHECK(sbir_search(ix, m, &qc, r, &n) == SBIR_E_OK && n == N_IMG / 3, "n %d", n);
    for (int k = 0; k < n; k++) CHECK(strcmp(r[k].class_name, "dog") == 0, "%s", sbir_last_error());
    /* errors */
    sbir_query bad = {.sketch = g_c[0], .style_name = "crayon", .k = 3};
    CHECK(sbir_search(ix, m, &bad, r, &n) == SBIR_E_NOT_FOUND && strstr(sbir_last_error(), "crayon"), "%s", sbir_last_error());
    bad.style_name = NULL, bad.k = 0;
    CHECK(sbir_search(ix, m, &bad, r, &n) == SBIR_E_ARG, "%s", sbir_last_error());
    bad.k = 3, bad.class_name = "whale";
    CHECK(sbir_search(ix, m, &bad, r, &n) == SBIR_E_NOT_FOUND, "%s", sbir_last_error());
    sbir_model_ctx *m2;
    if (sbir_model_open(g_model2, &m2) == SBIR_E_OK) {
        sbir_query q = {.sketch = g_c[0], .k = 3};
        CHECK(sbir_search(ix, m2, &q, r, &n) == SBIR_E_MISMATCH && n == 0, "%s", sbir_last_error());
        CHECK(strstr(sbir_last_error(), "model") != NULL, "%s", sbir_last_error());
        sbir_model_close(m2);
    }
    sbir_index_close(ix);
    sbir_model_close(m);
}

static void test_linear_fusion_and_elems(void) {
    char model[4300], index[4300];
    snprintf(model, sizeof model, "%s/lin.safetensors", test_tmpdir());
    float f[3] = {2, 0.5f, 0}; /* no product term: search_fused's path */
    CHECK(make_model(model, 5, f) == SBIR_OK, "%s", sbir_last_error());
    sbir_model_ctx *m;
    if (sbir_model_open(model, &m) != SBIR_E_OK) return;
    const char *elems[] = {"f32", "fp16", "int8"};
    for (int e = 0; e < 3; e++) {
        snprintf(index, sizeof index, "%s/lin-%s.sbix", test_tmpdir(), elems[e]);
        sbir_build_opts o = {.elem = elems[e], .jobs = 1};
        CHECK(sbir_index_build(m, g_coll, index, &o, NULL) == SBIR_E_OK, "%s", sbir_last_error());
        sbir_index_ctx *ix;
        if (sbir_index_open(index, &ix) != SBIR_E_OK) continue;
        sbir_result r[N_IMG];
        int n;
        for (int i = 0; i < N_IMG; i += 7) {
            sbir_query q = {.sketch = g_c[i], .style_examples = g_s[i], .n_examples = 1, .k = N_IMG};
            CHECK(sbir_search(ix, m, &q, r, &n) == SBIR_E_OK && n == N_IMG, "%s", sbir_last_error());
            /* quantised rows move scores by up to tol: an untrained net's near-ties may swap there */
            CHECK(e > 0 || strcmp(r[0].path, g_img[i]) == 0, "%s: query %d found %s", elems[e], i, r[0].path);
            float want[N_IMG], tol = e == 0 ? 1e-4f : e == 1 ? 5e-3f : 5e-2f;
            brute(g_c[i], g_s[i], f, 16, 8, want);
            for (int k = 0; k < n; k++) CHECK_NEAR(r[k].score, want[k], tol);
        }
        sbir_index_close(ix);
    }
    sbir_model_close(m);
}

static void test_sketch_inputs(void) {
    sbir_model_ctx *m;
    if (sbir_model_open(g_model, &m) != SBIR_E_OK) return;
    float a[SBIR_MAX_DIM], b[SBIR_MAX_DIM], c[SBIR_MAX_DIM];
    /* strokes = the same drawing as JSON, as an ndjson line, and as a file */
    int len[2] = {3, 2};
    float x[5] = {10, 100, 200, 50, 150}, y[5] = {10, 200, 20, 120, 120};
    CHECK(sbir_embed_sketch_strokes(m, 2, len, x, y, a) == SBIR_E_OK, "%s", sbir_last_error());
    const char *json = "[[[10,100,200],[10,200,20]],[[50,150],[120,120]]]";
    CHECK(sbir_embed_sketch_file(m, json, b) == SBIR_E_OK, "%s", sbir_last_error());
    CHECK(memcmp(a, b, sizeof(float) * 16) == 0, "%s", sbir_last_error());
    char line[256], path[4300];
    snprintf(line, sizeof line, "{\"word\":\"cat\",\"key_id\":\"1\",\"drawing\":%s}", json);
    CHECK(sbir_embed_sketch_file(m, line, c) == SBIR_E_OK && memcmp(a, c, sizeof(float) * 16) == 0, "%s", sbir_last_error());
    snprintf(path, sizeof path, "%s/cat.ndjson", test_tmpdir());
    strcat(line, "\n");
    test_write_file(path, line, strlen(line));
    CHECK(sbir_embed_sketch_file(m, path, c) == SBIR_E_OK && memcmp(a, c, sizeof(float) * 16) == 0, "%s", sbir_last_error());
    snprintf(path + strlen(path), 8, "#0");
    CHECK(sbir_embed_sketch_file(m, path, c) == SBIR_E_OK && memcmp(a, c, sizeof(float) * 16) == 0, "%s", sbir_last_error());
    float norm = 0;
    for (int i = 0; i < 16; i++) norm += a[i] * a[i];
    CHECK_NEAR(norm, 1, 1e-4);
    /* grey pixels = the same pixels as a PNG file */
    uint8_t grey[50 * 30];
    for (int i = 0; i < 50 * 30; i++) grey[i] = (i % 50 > 20 && i % 50 < 25) || i / 50 == 15 ? 0 : 255;
    snprintf(path, sizeof path, "%s/sketch.png", test_tmpdir());
    CHECK(image_write_png(path, grey, 50, 30, 1) == SBIR_OK, "%s", sbir_last_error());
    CHECK(sbir_embed_sketch_raster(m, grey, 50, 30, a) == SBIR_E_OK, "%s", sbir_last_error());
    CHECK(sbir_embed_sketch_file(m, path, b) == SBIR_E_OK, "%s", sbir_last_error());
    CHECK(test_max_rel_diff(a, b, 16) < 1e-6, "raster and file differ by %g", test_max_rel_diff(a, b, 16));
    /* RGB pixels = the same image file */
    sbir_image im;
    CHECK(image_decode_file(g_img[4], 0, &im) == SBIR_OK, "%s", sbir_last_error());
    CHECK(sbir_embed_image(m, im.rgb, im.w, im.h, a, c) == SBIR_E_OK, "%s", sbir_last_error());
    CHECK(memcmp(a, g_c[4], sizeof(float) * 16) == 0 && memcmp(c, g_s[4], sizeof(float) * 8) == 0, "%s", sbir_last_error());
    image_free(&im);
    /* bad input: one-line errors naming the input */
    CHECK(sbir_embed_sketch_file(m, "/nonexistent.ndjson", a) == SBIR_E_IO, "%s", sbir_last_error());
    CHECK(sbir_embed_sketch_file(m, "[[[1,2],[3]]]", a) == SBIR_E_FORMAT, "%s", sbir_last_error());
    CHECK(sbir_embed_sketch_strokes(m, 0, len, x, y, a) == SBIR_E_ARG, "%s", sbir_last_error());
    CHECK(sbir_embed_sketch_raster(m, grey, 0, 30, a) == SBIR_E_ARG, "%s", sbir_last_error());
    sbir_model_close(m);
}

/* Many threads searching one index (and embedding with one model) give the serial answers. */
typedef struct {
    sbir_index_ctx *ix;
    sbir_model_ctx *m;
    int id, ok;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    w->ok = 1;
    for (int it = 0; it < 20; it++) {
        int i = (w->id * 7 + it) % N_IMG;
        sbir_query q = {.sketch = g_c[i], .style_examples = g_s[i], .n_examples = 1, .k = 3};
        sbir_result r[3];
        int n;
        if (sbir_search(w->ix, w->m, &q, r, &n) != SBIR_E_OK || n != 3 || strcmp(r[0].path, g_img[i])) w->ok = 0;
        float c[SBIR_MAX_DIM];
        if (it % 5 == 0 && (sbir_embed_image_file(w->m, g_img[i], c, NULL) != SBIR_E_OK ||
                            memcmp(c, g_c[i], sizeof(float) * 16) != 0))
            w->ok = 0;
    }
    return NULL;
}

static void test_threads(void) {
    sbir_model_ctx *m;
    sbir_index_ctx *ix;
    if (sbir_model_open(g_model, &m) != SBIR_E_OK) return;
    if (sbir_index_open(g_index, &ix) != SBIR_E_OK) return sbir_model_close(m);
    pthread_t th[4];
    worker w[4];
    for (int t = 0; t < 4; t++) {
        w[t] = (worker){ix, m, t, 0};
        pthread_create(&th[t], NULL, work, &w[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        CHECK(w[t].ok, "thread %d", t);
    }
    sbir_index_close(ix);
    sbir_model_close(m);
}

static void test_append(void) {
    char coll[4300], index[4300];
    snprintf(coll, sizeof coll, "%s/part.sqlite", test_tmpdir());
    snprintf(index, sizeof index, "%s/part.sbix", test_tmpdir());
    CHECK(make_collection(coll, 10) == SBIR_OK, "%s", sbir_last_error());
    sbir_model_ctx *m, *m2;
    if (sbir_model_open(g_model, &m) != SBIR_E_OK) return;
    int64_t added;
    CHECK(sbir_index_build(m, coll, index, NULL, &added) == SBIR_E_OK && added == 10, "%s", sbir_last_error());
    sbir_build_opts ap = {.append = 1};
    CHECK(sbir_index_build(m, g_coll, index, &ap, &added) == SBIR_E_OK && added == N_IMG - 10, "%s", sbir_last_error());
    CHECK(sbir_index_build(m, g_coll, index, &ap, &added) == SBIR_E_OK && added == 0, "%s", sbir_last_error());
    sbir_index_ctx *ix;
    if (sbir_index_open(index, &ix) == SBIR_E_OK) {
        CHECK(sbir_index_count(ix) == N_IMG, "%s", sbir_last_error());
        sbir_query q = {.sketch = g_c[17], .style_examples = g_s[17], .n_examples = 1, .k = 1};
        sbir_result r;
        int n;
        CHECK(sbir_search(ix, m, &q, &r, &n) == SBIR_E_OK && n == 1 && strcmp(r.path, g_img[17]) == 0, "%s", sbir_last_error());
        sbir_index_close(ix);
    }
    if (sbir_model_open(g_model2, &m2) == SBIR_E_OK) { /* another model cannot append */
        CHECK(sbir_index_build(m2, g_coll, index, &ap, &added) == SBIR_E_MISMATCH, "%s", sbir_last_error());
        sbir_model_close(m2);
    }
    sbir_model_close(m);
}

/* The internal fused search: product fusions (certified candidates or the scan), linear fusions and
 * content only, over a few thousand random rows, against brute force. */
static void test_fused_search_paths(void) {
    enum { N = 6000, DC = 24, DS = 12, K = 15 };
    float *c = mallocCheck(sizeof(float) * N * DC), *st = mallocCheck(sizeof(float) * N * DS);
    sbir_rng r;
    rng_seed(&r, 77);
    for (int i = 0; i < N; i++) {
        float n1 = 0, n2 = 0;
        for (int d = 0; d < DC; d++) c[i * DC + d] = rng_normal(&r), n1 += c[i * DC + d] * c[i * DC + d];
        for (int d = 0; d < DS; d++) st[i * DS + d] = rng_normal(&r) + (i % 3 == 0), n2 += st[i * DS + d] * st[i * DS + d];
        for (int d = 0; d < DC; d++) c[i * DC + d] /= sqrtf(n1);
        for (int d = 0; d < DS; d++) st[i * DS + d] /= sqrtf(n2);
    }
    sbir_matrix mc = {SBIR_ELEM_F32, N, DC, DC * sizeof(float), c, NULL, NULL};
    sbir_matrix ms = {SBIR_ELEM_F32, N, DS, DS * sizeof(float), st, NULL, NULL};
    float qc[DC], qs[DS];
    memcpy(qc, c + 5 * DC, sizeof qc);
    for (int d = 0; d < DS; d++) qs[d] = 0.6f * st[3 * DS + d]; /* not unit, like a prototype */
    const float fus[4][3] = {{1, 0.8f, 0.3f}, {1, 0.1f, 40}, {2, 0.5f, 0}, {0, 1, 1}};
    for (int f = 0; f < 5; f++) {
        fused_query q = {&mc, &ms, qc, f < 4 ? qs : NULL, {0}, NULL, 0, K, 0};
        if (f < 4) memcpy(q.fusion, fus[f], sizeof q.fusion);
        fused_hit h[K];
        int n = fused_search(&q, h);
        CHECK(n == K, "fusion %d: %d hits: %s", f, n, sbir_last_error());
        float *all = mallocCheck(sizeof(float) * N);
        for (int i = 0; i < N; i++) {
            float dc = sqd(qc, c + i * DC, DC), ds = sqd(qs, st + i * DS, DS);
            all[i] = f == 4 ? -dc : -(q.fusion[0] * dc + q.fusion[1] * ds + q.fusion[2] * dc * ds);
        }
        for (int k = 0; k < n; k++) { /* the k-th best by brute force */
            int best = -1;
            for (int i = 0; i < N; i++)
                if (best < 0 || all[i] > all[best]) best = i;
            CHECK_NEAR(h[k].score, all[best], 1e-4);
            CHECK(h[k].row == best || fabsf(all[h[k].row] - all[best]) < 1e-5f, "fusion %d rank %d: row %lld, want %d", f, k,
                  (long long)h[k].row, best);
            all[best] = -INFINITY;
        }
        free(all);
    }
    free(c);
    free(st);
}

/* The note `sbir index` prints: only for a model with gallery_mirror, only above the limit, and it
 * names the switch. */
static void test_gallery_mirror_note(void) {
    sbir_model *m = model_load(g_model, 4, NET_BACKEND_DNNL, NULL);
    CHECK(m != NULL, "%s", sbir_last_error());
    if (!m) return;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CHECK(api_note_gallery_mirror(m, 5000000, out) == 0, "a one-view model noted");
    m->gallery_mirror = 1;
    CHECK(api_note_gallery_mirror(m, TRAIN_GALLERY_MIRROR_MAX_IMAGES, out) == 0, "noted at the limit");
    fflush(out);
    CHECK(len == 0, "wrote %zu bytes without a note", len);
    CHECK(api_note_gallery_mirror(m, TRAIN_GALLERY_MIRROR_MAX_IMAGES + 1, out) == 1, "not noted above the limit");
    fclose(out);
    char want[64];
    snprintf(want, sizeof want, "%d images", TRAIN_GALLERY_MIRROR_MAX_IMAGES + 1);
    CHECK(text && strstr(text, "--no-gallery-mirror") && strstr(text, want), "note: %s", text ? text : "");
    free(text);
    model_free(m);
}

int main(void) {
    setup();
    RUN(test_open_and_build);
    RUN(test_search_exact);
    RUN(test_fused_search_paths);
    RUN(test_linear_fusion_and_elems);
    RUN(test_sketch_inputs);
    RUN(test_threads);
    RUN(test_append);
    RUN(test_gallery_mirror_note);
    return test_summary();
}
