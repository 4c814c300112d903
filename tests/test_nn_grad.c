/* test_nn_grad.c — every backward in nn/ops.h against central finite differences.
 *
 * The scalar is L = sum(out * R) with a fixed random R (or the loss itself for the losses). Forward
 * passes run in float, L is summed in double. For each input element x: num = (L(x+h) - L(x-h)) /
 * (actual step), and the check is per element
 *     |analytic - num| <= rtol * (|num| + 0.1 * max_j |num_j|)
 * i.e. rtol relative, with a floor of a tenth of the tensor's largest gradient so that near-zero
 * entries are judged on the tensor's scale. rtol = 1e-3 everywhere (measured worst errors are 3-10x
 * below it; a 1% error in any gradient fails). h = 1e-2, except 1e-3 for L2 norm and 3e-3 for the
 * triplet loss. The piecewise-linear ops (ReLU, pooling, dropout, triplet hinge) get inputs built so
 * that no kink or tie lies within h of any input. */
#include <omp.h>
#include <string.h>

#include "nn/ops.h"
#include "test.h"
#include "util/common.h"

static sbir_rng g_rng;

static float *randn(size_t n, float scale) {
    float *x = mallocCheck(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) x[i] = scale * rng_normal(&g_rng);
    return x;
}
static float *uniform(size_t n, float lo, float hi) {
    float *x = mallocCheck(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) x[i] = rng_range(&g_rng, lo, hi);
    return x;
}
static float *zeros(size_t n) { return callocCheck(n ? n : 1, sizeof(float)); }
static double dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

typedef double (*loss_fn)(void *ctx);

static void check_grad(const char *what, loss_fn f, void *ctx, float *x, const float *ana, size_t n, float h,
                       double rtol) {
    double *num = mallocCheck(sizeof(double) * (n ? n : 1)), scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        float x0 = x[i], xp = x0 + h, xm = x0 - h;
        x[i] = xp;
        double lp = f(ctx);
        x[i] = xm;
        double lm = f(ctx);
        x[i] = x0;
        num[i] = (lp - lm) / ((double)xp - (double)xm);
        if (fabs(num[i]) > scale) scale = fabs(num[i]);
    }
    size_t bad = 0, worst = 0;
    double worst_ratio = -1.0;
    for (size_t i = 0; i < n; i++) {
        double allowed = rtol * (fabs(num[i]) + 0.1 * scale) + 1e-30;
        double ratio = fabs(ana[i] - num[i]) / allowed;
        if (ratio > 1.0) bad++;
        if (ratio > worst_ratio) worst_ratio = ratio, worst = i;
    }
    CHECK(bad == 0 && n > 0, "%s: %zu of %zu elements off; worst [%zu] analytic %.7g numeric %.7g", what, bad, n,
          worst, n ? ana[worst] : 0.0, n ? num[worst] : 0.0);
    CHECK(scale > 0.0, "%s: the numeric gradient is all zero, the test checks nothing", what);
    free(num);
}

/* ---- conv2d ---- */
typedef struct {
    int B, C, H, W, OC, KH, KW, S, P;
    float *inp, *w, *bias, *out, *R;
    size_t nout;
} conv_ctx;

static double conv_loss(void *p) {
    conv_ctx *c = p;
    conv2d_forward(c->out, c->inp, c->w, c->bias, c->B, c->C, c->H, c->W, c->OC, c->KH, c->KW, c->S, c->P);
    return dot(c->out, c->R, c->nout);
}

static void conv_case(int B, int C, int H, int W, int OC, int KH, int KW, int S, int P, int with_bias) {
    conv_ctx c = {B, C, H, W, OC, KH, KW, S, P, 0, 0, 0, 0, 0, 0};
    int OH = conv_out_size(H, KH, S, P), OW = conv_out_size(W, KW, S, P);
    size_t nin = (size_t)B * C * H * W, nw = (size_t)OC * C * KH * KW;
    c.nout = (size_t)B * OC * OH * OW;
    c.inp = randn(nin, 1.0f);
    c.w = randn(nw, 0.5f);
    c.bias = with_bias ? randn(OC, 0.5f) : NULL;
    c.out = zeros(c.nout);
    c.R = randn(c.nout, 1.0f);
    float *dinp = zeros(nin), *dw = zeros(nw), *db = zeros(OC);
    conv2d_backward(dinp, dw, with_bias ? db : NULL, c.R, c.inp, c.w, B, C, H, W, OC, KH, KW, S, P);
    char what[160];
    snprintf(what, sizeof what, "conv B%d C%d %dx%d OC%d k%dx%d s%d p%d", B, C, H, W, OC, KH, KW, S, P);
    char buf[200];
    snprintf(buf, sizeof buf, "%s dinp", what);
    check_grad(buf, conv_loss, &c, c.inp, dinp, nin, 1e-2f, 1e-3);
    snprintf(buf, sizeof buf, "%s dweight", what);
    check_grad(buf, conv_loss, &c, c.w, dw, nw, 1e-2f, 1e-3);
    if (with_bias) {
        snprintf(buf, sizeof buf, "%s dbias", what);
        check_grad(buf, conv_loss, &c, c.bias, db, OC, 1e-2f, 1e-3);
    }
    /* NULL gradient pointers are skipped and the others are unchanged. */
    float *dinp2 = zeros(nin);
    conv2d_backward(dinp2, NULL, NULL, c.R, c.inp, c.w, B, C, H, W, OC, KH, KW, S, P);
    CHECK(memcmp(dinp, dinp2, sizeof(float) * nin) == 0, "%s: dinp differs when dweight is NULL", what);
    free(dinp2);
    free(c.inp), free(c.w), free(c.bias), free(c.out), free(c.R), free(dinp), free(dw), free(db);
}

static void test_conv2d(void) {
    conv_case(2, 3, 5, 7, 4, 3, 3, 2, 1, 1);
    conv_case(1, 2, 6, 5, 3, 3, 3, 1, 0, 0);
    conv_case(2, 2, 5, 6, 3, 3, 2, 2, 0, 1);
    conv_case(1, 3, 4, 4, 2, 1, 1, 1, 0, 1);
    conv_case(2, 1, 7, 7, 2, 5, 5, 3, 2, 1);
}

/* ---- batch norm ---- */
typedef struct {
    int B, C, HW;
    float *inp, *gamma, *beta, *out, *R, *mean, *rstd;
} bn_ctx;

static double bn_loss(void *p) {
    bn_ctx *c = p;
    batchnorm_forward_train(c->out, c->mean, c->rstd, NULL, NULL, c->inp, c->gamma, c->beta, 0.1f, 1e-5f, c->B, c->C,
                            c->HW);
    return dot(c->out, c->R, (size_t)c->B * c->C * c->HW);
}

static void bn_case(int B, int C, int HW) {
    size_t n = (size_t)B * C * HW;
    bn_ctx c = {B, C, HW, randn(n, 1.5f), randn(C, 1.0f), randn(C, 1.0f), zeros(n), randn(n, 1.0f), zeros(C), zeros(C)};
    for (size_t i = 0; i < n; i++) c.inp[i] += 0.5f; /* a non-zero mean */
    float *rm = zeros(C), *rv = zeros(C);
    batchnorm_forward_train(c.out, c.mean, c.rstd, rm, rv, c.inp, c.gamma, c.beta, 0.1f, 1e-5f, B, C, HW);
    float *dinp = zeros(n), *dg = zeros(C), *db = zeros(C);
    batchnorm_backward(dinp, dg, db, c.R, c.inp, c.gamma, c.mean, c.rstd, B, C, HW);
    char buf[160];
    snprintf(buf, sizeof buf, "batchnorm B%d C%d HW%d dinp", B, C, HW);
    check_grad(buf, bn_loss, &c, c.inp, dinp, n, 1e-2f, 1e-3);
    snprintf(buf, sizeof buf, "batchnorm B%d C%d HW%d dgamma", B, C, HW);
    check_grad(buf, bn_loss, &c, c.gamma, dg, C, 1e-2f, 1e-3);
    snprintf(buf, sizeof buf, "batchnorm B%d C%d HW%d dbeta", B, C, HW);
    check_grad(buf, bn_loss, &c, c.beta, db, C, 1e-2f, 1e-3);
    free(c.inp), free(c.gamma), free(c.beta), free(c.out), free(c.R), free(c.mean), free(c.rstd);
    free(rm), free(rv), free(dinp), free(dg), free(db);
}

static void test_batchnorm(void) {
    bn_case(2, 3, 35);
    bn_case(1, 2, 6);
    bn_case(4, 3, 1);
}

/* ---- leaky ReLU ---- */
typedef struct {
    float slope, *inp, *out, *R;
    size_t n;
} act_ctx;

static double relu_loss(void *p) {
    act_ctx *c = p;
    leaky_relu_forward(c->out, c->inp, c->slope, c->n);
    return dot(c->out, c->R, c->n);
}

static void test_leaky_relu(void) {
    float slopes[] = {0.0f, 0.1f};
    for (int s = 0; s < 2; s++) {
        size_t n = 2 * 3 * 5 * 7;
        act_ctx c = {slopes[s], randn(n, 1.0f), zeros(n), randn(n, 1.0f), n};
        /* |x| >= 0.1, so x +- h never crosses the kink at 0 */
        for (size_t i = 0; i < n; i++) c.inp[i] = c.inp[i] >= 0 ? c.inp[i] + 0.1f : c.inp[i] - 0.1f;
        float *dinp = zeros(n);
        leaky_relu_backward(dinp, c.R, c.inp, c.slope, n);
        check_grad(s ? "leaky relu 0.1" : "relu", relu_loss, &c, c.inp, dinp, n, 1e-2f, 1e-3);
        free(c.inp), free(c.out), free(c.R), free(dinp);
    }
}

/* ---- pooling ---- */
typedef struct {
    int B, C, H, W, K, S, P, max;
    float *inp, *out, *R;
    int *argmax;
    size_t nout;
} pool_ctx;

static double pool_loss(void *p) {
    pool_ctx *c = p;
    if (c->max)
        maxpool2d_forward(c->out, c->argmax, c->inp, c->B, c->C, c->H, c->W, c->K, c->S, c->P);
    else
        avgpool2d_forward(c->out, c->inp, c->B, c->C, c->H, c->W, c->K, c->S, c->P);
    return dot(c->out, c->R, c->nout);
}

static void pool_case(int max, int B, int C, int H, int W, int K, int S, int P) {
    size_t nin = (size_t)B * C * H * W;
    size_t nout = (size_t)B * C * conv_out_size(H, K, S, P) * conv_out_size(W, K, S, P);
    pool_ctx c = {B, C, H, W, K, S, P, max, zeros(nin), zeros(nout), randn(nout, 1.0f), mallocCheck(sizeof(int) * nout),
                  nout};
    /* distinct values 0.05 apart in random order: with h = 1e-2 no window's maximum changes */
    uint32_t *perm = mallocCheck(sizeof(uint32_t) * nin);
    for (uint32_t i = 0; i < nin; i++) perm[i] = i;
    rng_shuffle_u32(&g_rng, perm, (uint32_t)nin);
    for (size_t i = 0; i < nin; i++) c.inp[i] = 0.05f * ((float)perm[i] - 0.5f * (float)nin);
    free(perm);
    float *dinp = zeros(nin);
    pool_loss(&c);
    if (max)
        maxpool2d_backward(dinp, c.R, c.argmax, B, C, H, W, K, S, P);
    else
        avgpool2d_backward(dinp, c.R, B, C, H, W, K, S, P);
    char buf[160];
    snprintf(buf, sizeof buf, "%s B%d C%d %dx%d k%d s%d p%d", max ? "maxpool" : "avgpool", B, C, H, W, K, S, P);
    check_grad(buf, pool_loss, &c, c.inp, dinp, nin, 1e-2f, 1e-3);
    free(c.inp), free(c.out), free(c.R), free(c.argmax), free(dinp);
}

static void test_pooling(void) {
    for (int max = 0; max < 2; max++) {
        pool_case(max, 2, 3, 5, 7, 3, 2, 1);
        pool_case(max, 1, 2, 4, 6, 2, 2, 0);
        pool_case(max, 2, 2, 6, 6, 3, 1, 1);
    }
}

typedef struct {
    int B, C, HW;
    float *inp, *out, *R;
} gap_ctx;

static double gap_loss(void *p) {
    gap_ctx *c = p;
    global_avgpool_forward(c->out, c->inp, c->B, c->C, c->HW);
    return dot(c->out, c->R, (size_t)c->B * c->C);
}

static void test_global_avgpool(void) {
    int shapes[2][3] = {{2, 3, 35}, {1, 4, 9}};
    for (int s = 0; s < 2; s++) {
        int B = shapes[s][0], C = shapes[s][1], HW = shapes[s][2];
        size_t n = (size_t)B * C * HW;
        gap_ctx c = {B, C, HW, randn(n, 1.0f), zeros((size_t)B * C), randn((size_t)B * C, 1.0f)};
        float *dinp = zeros(n);
        global_avgpool_backward(dinp, c.R, B, C, HW);
        check_grad("global avgpool", gap_loss, &c, c.inp, dinp, n, 1e-2f, 1e-3);
        free(c.inp), free(c.out), free(c.R), free(dinp);
    }
}

/* ---- linear ---- */
typedef struct {
    int B, IN, OUT;
    float *inp, *w, *bias, *out, *R;
} lin_ctx;

static double lin_loss(void *p) {
    lin_ctx *c = p;
    linear_forward(c->out, c->inp, c->w, c->bias, c->B, c->IN, c->OUT);
    return dot(c->out, c->R, (size_t)c->B * c->OUT);
}

static void lin_case(int B, int IN, int OUT, int with_bias) {
    lin_ctx c = {B, IN, OUT, randn((size_t)B * IN, 1.0f), randn((size_t)OUT * IN, 0.5f),
                 with_bias ? randn(OUT, 0.5f) : NULL, zeros((size_t)B * OUT), randn((size_t)B * OUT, 1.0f)};
    float *dinp = zeros((size_t)B * IN), *dw = zeros((size_t)OUT * IN), *db = zeros(OUT);
    linear_backward(dinp, dw, with_bias ? db : NULL, c.R, c.inp, c.w, B, IN, OUT);
    char buf[160];
    snprintf(buf, sizeof buf, "linear B%d %d->%d dinp", B, IN, OUT);
    check_grad(buf, lin_loss, &c, c.inp, dinp, (size_t)B * IN, 1e-2f, 1e-3);
    snprintf(buf, sizeof buf, "linear B%d %d->%d dweight", B, IN, OUT);
    check_grad(buf, lin_loss, &c, c.w, dw, (size_t)OUT * IN, 1e-2f, 1e-3);
    if (with_bias) {
        snprintf(buf, sizeof buf, "linear B%d %d->%d dbias", B, IN, OUT);
        check_grad(buf, lin_loss, &c, c.bias, db, OUT, 1e-2f, 1e-3);
    }
    free(c.inp), free(c.w), free(c.bias), free(c.out), free(c.R), free(dinp), free(dw), free(db);
}

static void test_linear(void) {
    lin_case(2, 5, 3, 1);
    lin_case(1, 7, 4, 0);
    lin_case(3, 1, 2, 1);
}

/* ---- dropout: the rng is re-seeded on every forward, so the mask is fixed ---- */
typedef struct {
    float p, *inp, *out, *mask, *R;
    size_t n;
} drop_ctx;

static double drop_loss(void *pp) {
    drop_ctx *c = pp;
    sbir_rng r;
    rng_seed(&r, 99);
    dropout_forward(c->out, c->mask, c->inp, c->p, c->n, &r);
    return dot(c->out, c->R, c->n);
}

static void test_dropout(void) {
    size_t n = 60;
    drop_ctx c = {0.3f, randn(n, 1.0f), zeros(n), zeros(n), randn(n, 1.0f), n};
    drop_loss(&c);
    float *dinp = zeros(n);
    dropout_backward(dinp, c.R, c.mask, n);
    check_grad("dropout p=0.3", drop_loss, &c, c.inp, dinp, n, 1e-2f, 1e-3);
    free(c.inp), free(c.out), free(c.mask), free(c.R), free(dinp);
}

/* ---- L2 normalisation ---- */
typedef struct {
    int B, D;
    float eps, *inp, *out, *norm, *R;
} l2_ctx;

static double l2_loss(void *p) {
    l2_ctx *c = p;
    l2norm_forward(c->out, c->norm, c->inp, c->eps, c->B, c->D);
    return dot(c->out, c->R, (size_t)c->B * c->D);
}

static void l2_case(int B, int D, float eps) {
    size_t n = (size_t)B * D;
    l2_ctx c = {B, D, eps, randn(n, 1.0f), zeros(n), zeros(B), randn(n, 1.0f)};
    l2_loss(&c);
    float *dinp = zeros(n);
    l2norm_backward(dinp, c.R, c.out, c.norm, B, D);
    char buf[100];
    snprintf(buf, sizeof buf, "l2norm B%d D%d eps %g", B, D, eps);
    check_grad(buf, l2_loss, &c, c.inp, dinp, n, 1e-3f, 1e-3);
    free(c.inp), free(c.out), free(c.norm), free(c.R), free(dinp);
}

static void test_l2norm(void) {
    l2_case(3, 5, 1e-6f);
    l2_case(1, 4, 0.5f); /* a large eps: the backward must be exact with it too */
}

/* ---- softmax cross-entropy ---- */
typedef struct {
    int B, K;
    float *logits, *probs;
    int *labels;
} xent_ctx;

static double xent_loss(void *p) {
    xent_ctx *c = p;
    return 0.7 * softmax_xent_forward(c->probs, c->logits, c->labels, c->B, c->K);
}

static void test_softmax_xent(void) {
    int shapes[2][2] = {{3, 5}, {1, 4}};
    for (int s = 0; s < 2; s++) {
        int B = shapes[s][0], K = shapes[s][1];
        xent_ctx c = {B, K, randn((size_t)B * K, 2.0f), zeros((size_t)B * K), mallocCheck(sizeof(int) * B)};
        for (int b = 0; b < B; b++) c.labels[b] = (int)rng_below(&g_rng, (uint32_t)K);
        xent_loss(&c);
        float *d = zeros((size_t)B * K);
        softmax_xent_backward(d, c.probs, c.labels, 0.7f, B, K);
        check_grad(s ? "softmax xent B1" : "softmax xent B3", xent_loss, &c, c.logits, d, (size_t)B * K, 1e-2f, 1e-3);
        free(c.logits), free(c.probs), free(c.labels), free(d);
    }
}

/* with label smoothing: finite differences, eps = 0 equal to the plain loss, and the loss of a
 * uniform prediction is log K whatever eps */
typedef struct {
    xent_ctx x;
    float eps;
} smooth_ctx;

static double smooth_loss(void *p) {
    smooth_ctx *c = p;
    return 0.7 * softmax_xent_smooth_forward(c->x.probs, c->x.logits, c->x.labels, c->eps, c->x.B, c->x.K);
}

static void test_softmax_xent_smooth(void) {
    int B = 4, K = 6;
    smooth_ctx c = {{B, K, randn((size_t)B * K, 2.0f), zeros((size_t)B * K), mallocCheck(sizeof(int) * B)}, 0.1f};
    for (int b = 0; b < B; b++) c.x.labels[b] = (int)rng_below(&g_rng, (uint32_t)K);
    float *d = zeros((size_t)B * K), *d0 = zeros((size_t)B * K);
    smooth_loss(&c);
    softmax_xent_smooth_backward(d, c.x.probs, c.x.labels, c.eps, 0.7f, B, K);
    check_grad("softmax xent, label smoothing 0.1", smooth_loss, &c, c.x.logits, d, (size_t)B * K, 1e-2f, 1e-3);
    float plain = softmax_xent_forward(c.x.probs, c.x.logits, c.x.labels, B, K);
    softmax_xent_backward(d0, c.x.probs, c.x.labels, 0.7f, B, K);
    c.eps = 0;
    CHECK_NEAR(softmax_xent_smooth_forward(c.x.probs, c.x.logits, c.x.labels, 0, B, K), plain, 1e-6);
    softmax_xent_smooth_backward(d, c.x.probs, c.x.labels, 0, 0.7f, B, K);
    CHECK(memcmp(d, d0, sizeof(float) * B * K) == 0, "eps 0: the plain gradient");
    memset(c.x.logits, 0, sizeof(float) * B * K);
    CHECK_NEAR(softmax_xent_smooth_forward(c.x.probs, c.x.logits, c.x.labels, 0.3f, B, K), log((double)K), 1e-6);
    free(c.x.logits), free(c.x.probs), free(c.x.labels), free(d), free(d0);
}

/* ---- triplet loss ---- */
typedef struct {
    int NA, NC, D, mean_active;
    float margin, *anc, *cand;
    sbir_triplet *t;
    size_t nt;
} trip_ctx;

static double trip_loss(void *p) {
    trip_ctx *c = p;
    return 1.3 * triplet_loss_forward(NULL, c->anc, c->cand, c->t, c->nt, c->D, c->margin, c->mean_active);
}

enum { LABELS_CLASS, LABELS_STYLE };

/* Draws embeddings in [-1,1] until every mined triplet's hinge is at least 0.03 away from 0: a step
 * h = 3e-3 moves a hinge by at most 2h(|a-p| + |a-n|) + 2h^2 < 0.025, so no triplet changes side. */
static void triplet_case(const char *what, int same_set, int mode, int labels_kind) {
    int NA = 6, NC = same_set ? 6 : 8, D = 3;
    float margin = 0.5f, h = 3e-3f;
    int acontent[8], astyle[8], ccontent[8], cstyle[8];
    for (int i = 0; i < 8; i++) {
        acontent[i] = i % 3, astyle[i] = (i / 3) % 2;
        ccontent[i] = (i + 1) % 3, cstyle[i] = (i / 2) % 2;
    }
    if (same_set) memcpy(ccontent, acontent, sizeof acontent), memcpy(cstyle, astyle, sizeof astyle);
    unsigned char pos[64], neg[64];
    if (labels_kind == LABELS_CLASS)
        triplet_masks_class(pos, neg, acontent, ccontent, NA, NC, same_set);
    else
        triplet_masks_style(pos, neg, acontent, astyle, ccontent, cstyle, NA, NC, same_set);
    sbir_triplet *t = mallocCheck(sizeof(sbir_triplet) * triplet_mine_capacity(mode, NA, NC));
    float *anc = NULL, *cand = NULL, dist[64];
    size_t nt = 0;
    int ok = 0;
    for (int attempt = 0; attempt < 2000 && !ok; attempt++) {
        free(anc);
        if (!same_set) free(cand);
        anc = uniform((size_t)NA * D, -1.0f, 1.0f);
        cand = same_set ? anc : uniform((size_t)NC * D, -1.0f, 1.0f);
        sqdist_matrix(dist, anc, cand, NA, NC, D);
        nt = triplet_mine(t, dist, pos, neg, NA, NC, mode, margin);
        size_t active = 0;
        ok = nt > 0;
        for (size_t i = 0; i < nt && ok; i++) {
            float hg = margin + dist[t[i].a * NC + t[i].p] - dist[t[i].a * NC + t[i].n];
            ok = fabsf(hg) >= 0.03f;
            active += hg > 0;
        }
        ok = ok && active > 0;
    }
    CHECK(ok, "%s: no embedding without near-kink triplets found", what);
    trip_ctx c = {NA, NC, D, mode == TRIPLET_BATCH_ALL, margin, anc, cand, t, nt};
    float *danc = zeros((size_t)NA * D), *dcand = same_set ? danc : zeros((size_t)NC * D);
    triplet_loss_backward(danc, dcand, anc, cand, t, nt, NA, NC, D, margin, c.mean_active, 1.3f);
    char buf[200];
    snprintf(buf, sizeof buf, "%s (%zu triplets) danc%s", what, nt, same_set ? "+dcand" : "");
    check_grad(buf, trip_loss, &c, anc, danc, (size_t)NA * D, h, 1e-3);
    if (!same_set) {
        snprintf(buf, sizeof buf, "%s (%zu triplets) dcand", what, nt);
        check_grad(buf, trip_loss, &c, cand, dcand, (size_t)NC * D, h, 1e-3);
        free(cand), free(dcand);
    }
    free(anc), free(danc), free(t);
}

static void test_triplet(void) {
    const char *names[] = {"batch-hard", "semi-hard", "batch-all"};
    for (int mode = 0; mode < 3; mode++) {
        char buf[100];
        snprintf(buf, sizeof buf, "triplet cross-modal %s", names[mode]);
        triplet_case(buf, 0, mode, LABELS_CLASS);
        snprintf(buf, sizeof buf, "triplet same-set %s", names[mode]);
        triplet_case(buf, 1, mode, LABELS_CLASS);
        snprintf(buf, sizeof buf, "triplet style same-set %s", names[mode]);
        triplet_case(buf, 1, mode, LABELS_STYLE);
    }
    triplet_case("triplet style cross-set batch-all", 0, TRIPLET_BATCH_ALL, LABELS_STYLE);
}

/* The training loop's batch-all op (no triplet list) against the list-based reference above: the same
 * loss and active fraction bit for bit, the same gradient up to summation order, for class and style
 * masks, sizes from 1 to a training batch, and margins from "nothing active" to "everything active".
 * The reference's gradient is itself checked against finite differences in triplet_case. */
static void batch_all_case(int N, int D, int labels_kind, float margin) {
    float *e = uniform((size_t)N * D, -1.0f, 1.0f);
    l2norm_forward(e, NULL, e, 1e-12f, N, D);
    int *content = mallocCheck(sizeof(int) * (size_t)N), *style = mallocCheck(sizeof(int) * (size_t)N);
    for (int i = 0; i < N; i++) content[i] = (int)rng_below(&g_rng, 5), style[i] = (int)rng_below(&g_rng, 3);
    unsigned char *pos = mallocCheck((size_t)N * N), *neg = mallocCheck((size_t)N * N);
    if (labels_kind == LABELS_CLASS) triplet_masks_class(pos, neg, content, content, N, N, 1);
    else triplet_masks_style(pos, neg, content, style, content, style, N, N, 1);
    float *dist = mallocCheck(sizeof(float) * (size_t)N * N), *w = mallocCheck(sizeof(float) * (size_t)N * N);
    sqdist_matrix(dist, e, e, N, N, D);
    sbir_triplet *t = mallocCheck(sizeof(sbir_triplet) * triplet_mine_capacity(TRIPLET_BATCH_ALL, N, N));
    size_t nt = triplet_mine(t, dist, pos, neg, N, N, TRIPLET_BATCH_ALL, margin);
    float frac_ref = -1, frac = -2;
    float ref = triplet_loss_forward(&frac_ref, e, e, t, nt, D, margin, 1);
    float got = triplet_batch_all_forward(w, &frac, dist, pos, neg, N, margin);
    const char *kind = labels_kind == LABELS_CLASS ? "class" : "style";
    CHECK(got == ref && frac == frac_ref, "batch-all N=%d %s margin %g: loss %.9g vs %.9g, active %g vs %g", N, kind,
          (double)margin, (double)got, (double)ref, (double)frac, (double)frac_ref);
    float *g_ref = zeros((size_t)N * D), *g = uniform((size_t)N * D, -9, 9); /* overwritten, not added to */
    triplet_loss_backward(g_ref, g_ref, e, e, t, nt, N, N, D, margin, 1, 0.7f);
    triplet_batch_all_backward(g, e, w, N, D, 0.7f);
    double err = 0, scale = 1e-6;
    for (size_t i = 0; i < (size_t)N * D; i++) {
        err = fmax(err, fabs((double)g[i] - g_ref[i]));
        scale = fmax(scale, fabs((double)g_ref[i]));
    }
    CHECK(err <= 1e-5 * scale + 1e-7, "batch-all N=%d %s margin %g: gradient differs by %g (scale %g)", N, kind,
          (double)margin, err, scale);
    free(e), free(content), free(style), free(pos), free(neg), free(dist), free(w), free(t), free(g_ref), free(g);
}

static void test_triplet_batch_all(void) {
    const int sizes[] = {1, 2, 7, 24, 64};
    const float margins[] = {0.0f, 0.2f, 1.0f, 10.0f};
    for (size_t i = 0; i < SBIR_ARRAY_LEN(sizes); i++)
        for (size_t k = 0; k < SBIR_ARRAY_LEN(margins); k++) {
            batch_all_case(sizes[i], 16, LABELS_CLASS, margins[k]);
            batch_all_case(sizes[i], 16, LABELS_STYLE, margins[k]);
        }
    /* the first two dimensions of a 2-D set: every hinge known by hand */
    float e[8] = {0, 0, 1, 0, 0, 2, 3, 0}, dist[16], w[16], g[8];
    int lab[4] = {0, 0, 1, 1};
    unsigned char pos[16], neg[16];
    triplet_masks_class(pos, neg, lab, lab, 4, 4, 1);
    sqdist_matrix(dist, e, e, 4, 4, 2);
    float frac;
    /* d01 = 1, d02 = 4, d03 = 9, d12 = 5, d13 = 4, d23 = 13; margin 2: hinges (a,p,n) 0,1,2: -1; 0,1,3: -6;
     * 1,0,2: -2; 1,0,3: -1; 2,3,0: 11; 2,3,1: 10; 3,2,0: 6; 3,2,1: 11 -> 4 active of 8, mean 9.5 */
    CHECK_NEAR(triplet_batch_all_forward(w, &frac, dist, pos, neg, 4, 2.0f), 9.5, 1e-6);
    CHECK_NEAR(frac, 0.5, 1e-7);
    triplet_batch_all_backward(g, e, w, 4, 2, 1.0f);
    /* anchor 2 (0,2): triplets (2,3,0), (2,3,1): dL/de2 = [2(e0 - e3) + 2(e1 - e3) + (from 3,2,0 and 3,2,1)
     * 2(e2 - e3) * 2] / 4 = [(-6,0) + (-4,0) + 2 (-6,4)] / 4 = (-5.5, 2) */
    CHECK_NEAR(g[4], -5.5, 1e-5);
    CHECK_NEAR(g[5], 2.0, 1e-5);
}

int main(void) {
    /* thousands of tiny forwards: one thread avoids OpenMP barrier spinning on a busy machine */
    omp_set_num_threads(1);
    rng_seed(&g_rng, 12345);
    RUN(test_conv2d);
    RUN(test_batchnorm);
    RUN(test_leaky_relu);
    RUN(test_pooling);
    RUN(test_global_avgpool);
    RUN(test_linear);
    RUN(test_dropout);
    RUN(test_l2norm);
    RUN(test_softmax_xent);
    RUN(test_softmax_xent_smooth);
    RUN(test_triplet);
    RUN(test_triplet_batch_all);
    return test_summary();
}
