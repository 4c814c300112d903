/* test_nn_ops.c — forward values of the reference ops against hand-computed cases and independent
 * naive loops; optimiser steps, schedules, initialisation and dropout statistics. */
#include <omp.h>
#include <string.h>

#include "nn/ops.h"
#include "test.h"
#include "util/common.h"

static sbir_rng g_rng;

static float *randn(size_t n) {
    float *x = mallocCheck(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) x[i] = rng_normal(&g_rng);
    return x;
}
static float *zeros(size_t n) { return callocCheck(n ? n : 1, sizeof(float)); }
static void iota(float *x, int n, float first, float step) {
    for (int i = 0; i < n; i++) x[i] = first + step * (float)i;
}

/* ---- convolution ---- */
static void test_conv_hand(void) {
    float x[16], ones[9], out[4], bias = 0.5f;
    iota(x, 16, 1.0f, 1.0f);
    for (int i = 0; i < 9; i++) ones[i] = 1.0f;
    /* 3x3 window sums of the 4x4 grid 1..16 */
    conv2d_forward(out, x, ones, &bias, 1, 1, 4, 4, 1, 3, 3, 1, 0);
    float want[4] = {54.5f, 63.5f, 90.5f, 99.5f};
    for (int i = 0; i < 4; i++) CHECK_NEAR(out[i], want[i], 1e-4);
    /* stride 2, padding 1: windows centred on (0,0), (0,2), (2,0), (2,2) */
    conv2d_forward(out, x, ones, NULL, 1, 1, 4, 4, 1, 3, 3, 2, 1);
    float want2[4] = {1 + 2 + 5 + 6, 2 + 3 + 4 + 6 + 7 + 8, 5 + 6 + 9 + 10 + 13 + 14, 6 + 7 + 8 + 10 + 11 + 12 + 14 + 15 + 16};
    for (int i = 0; i < 4; i++) CHECK_NEAR(out[i], want2[i], 1e-4);
    /* a single tap at (kh=0, kw=2) is cross-correlation: out[oh][ow] = x[oh][ow+2], not a flipped kernel */
    float tap[9] = {0, 0, 1, 0, 0, 0, 0, 0, 0};
    conv2d_forward(out, x, tap, NULL, 1, 1, 4, 4, 1, 3, 3, 1, 0);
    float want3[4] = {3, 4, 7, 8};
    for (int i = 0; i < 4; i++) CHECK_NEAR(out[i], want3[i], 0);
    /* two input channels, two output channels: channel sums weighted per (oc, c) */
    float x2[2 * 4] = {1, 2, 3, 4, 10, 20, 30, 40}, w2[2 * 2 * 1 * 1] = {1, 0.5f, -1, 2}, o2[2 * 4];
    conv2d_forward(o2, x2, w2, NULL, 1, 2, 2, 2, 2, 1, 1, 1, 0);
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(o2[i], x2[i] + 0.5f * x2[4 + i], 1e-5);
        CHECK_NEAR(o2[4 + i], -x2[i] + 2.0f * x2[4 + i], 1e-5);
    }
}

typedef struct {
    int B, C, H, W, OC, KH, KW, S, P;
} conv_shape;

/* Independent naive loops: bounds checked per tap. */
static void naive_conv(const conv_shape *s, float *out, float *dinp, float *dw, const float *x, const float *w,
                       const float *bias, const float *dout) {
    int OH = conv_out_size(s->H, s->KH, s->S, s->P), OW = conv_out_size(s->W, s->KW, s->S, s->P);
    memset(dinp, 0, sizeof(float) * s->B * s->C * s->H * s->W);
    memset(dw, 0, sizeof(float) * s->OC * s->C * s->KH * s->KW);
    for (int b = 0; b < s->B; b++)
        for (int oc = 0; oc < s->OC; oc++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    size_t oi = (((size_t)b * s->OC + oc) * OH + oh) * OW + ow;
                    double acc = bias[oc];
                    for (int c = 0; c < s->C; c++)
                        for (int kh = 0; kh < s->KH; kh++)
                            for (int kw = 0; kw < s->KW; kw++) {
                                int ih = oh * s->S - s->P + kh, iw = ow * s->S - s->P + kw;
                                if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) continue;
                                size_t xi = (((size_t)b * s->C + c) * s->H + ih) * s->W + iw;
                                size_t wi = (((size_t)oc * s->C + c) * s->KH + kh) * s->KW + kw;
                                acc += (double)x[xi] * w[wi];
                                dinp[xi] += dout[oi] * w[wi];
                                dw[wi] += dout[oi] * x[xi];
                            }
                    out[oi] = (float)acc;
                }
}

static void test_conv_vs_naive(void) {
    conv_shape shapes[] = {{1, 1, 1, 1, 1, 1, 1, 1, 0}, {2, 3, 5, 7, 4, 3, 3, 2, 1}, {1, 2, 6, 5, 3, 3, 2, 3, 2},
                           {2, 4, 9, 8, 3, 5, 3, 2, 2}, {1, 2, 3, 3, 2, 3, 3, 1, 3}, {1, 1, 8, 8, 1, 2, 2, 2, 0},
                           {3, 2, 7, 4, 2, 7, 1, 1, 3}};
    for (size_t k = 0; k < SBIR_ARRAY_LEN(shapes); k++) {
        conv_shape *s = &shapes[k];
        int OH = conv_out_size(s->H, s->KH, s->S, s->P), OW = conv_out_size(s->W, s->KW, s->S, s->P);
        size_t nin = (size_t)s->B * s->C * s->H * s->W, nw = (size_t)s->OC * s->C * s->KH * s->KW;
        size_t nout = (size_t)s->B * s->OC * OH * OW;
        float *x = randn(nin), *w = randn(nw), *bias = randn(s->OC), *dout = randn(nout);
        float *out = zeros(nout), *dinp = zeros(nin), *dw = zeros(nw), *db = zeros(s->OC);
        float *rout = zeros(nout), *rdinp = zeros(nin), *rdw = zeros(nw);
        naive_conv(s, rout, rdinp, rdw, x, w, bias, dout);
        conv2d_forward(out, x, w, bias, s->B, s->C, s->H, s->W, s->OC, s->KH, s->KW, s->S, s->P);
        conv2d_backward(dinp, dw, db, dout, x, w, s->B, s->C, s->H, s->W, s->OC, s->KH, s->KW, s->S, s->P);
        CHECK(test_max_rel_diff(out, rout, nout) < 1e-5, "shape %zu forward", k);
        CHECK(test_max_rel_diff(dinp, rdinp, nin) < 1e-5, "shape %zu dinp", k);
        CHECK(test_max_rel_diff(dw, rdw, nw) < 1e-5, "shape %zu dweight", k);
        for (int oc = 0; oc < s->OC; oc++) {
            double sum = 0;
            for (int b = 0; b < s->B; b++)
                for (int i = 0; i < OH * OW; i++) sum += dout[((size_t)b * s->OC + oc) * OH * OW + i];
            CHECK_NEAR(db[oc], sum, 1e-4);
        }
        free(x), free(w), free(bias), free(dout), free(out), free(dinp), free(dw), free(db);
        free(rout), free(rdinp), free(rdw);
    }
}

/* Same bits with 1 and 3 threads. */
static void test_thread_determinism(void) {
    int B = 3, C = 4, H = 9, W = 7, OC = 5, K = 3;
    int OH = conv_out_size(H, K, 2, 1), OW = conv_out_size(W, K, 2, 1);
    size_t nin = (size_t)B * C * H * W, nw = (size_t)OC * C * K * K, nout = (size_t)B * OC * OH * OW;
    float *x = randn(nin), *w = randn(nw), *bias = randn(OC), *dout = randn(nout);
    float *lw = randn((size_t)11 * C * H * W), *ldout = randn((size_t)B * 11);
    float *res[2][8];
    int saved = omp_get_max_threads();
    for (int r = 0; r < 2; r++) {
        omp_set_num_threads(r ? 3 : 1);
        float **o = res[r];
        o[0] = zeros(nout), o[1] = zeros(nin), o[2] = zeros(nw), o[3] = zeros(OC);
        conv2d_forward(o[0], x, w, bias, B, C, H, W, OC, K, K, 2, 1);
        conv2d_backward(o[1], o[2], o[3], dout, x, w, B, C, H, W, OC, K, K, 2, 1);
        o[4] = zeros(nin), o[5] = zeros(C);
        float mean[4], rstd[4];
        batchnorm_forward_train(o[4], mean, rstd, NULL, NULL, x, NULL, NULL, 0.1f, 1e-5f, B, C, H * W);
        batchnorm_backward(o[4], o[5], NULL, x, x, NULL, mean, rstd, B, C, H * W);
        o[6] = zeros((size_t)B * 11), o[7] = zeros((size_t)11 * C * H * W);
        linear_forward(o[6], x, lw, NULL, B, C * H * W, 11);
        linear_backward(NULL, o[7], NULL, ldout, x, lw, B, C * H * W, 11);
    }
    omp_set_num_threads(saved);
    size_t sizes[8] = {nout, nin, nw, OC, nin, C, (size_t)B * 11, (size_t)11 * C * H * W};
    const char *names[8] = {"conv out", "conv dinp", "conv dweight", "conv dbias", "bn dinp", "bn dgamma",
                            "linear out", "linear dweight"};
    for (int i = 0; i < 8; i++) {
        CHECK(memcmp(res[0][i], res[1][i], sizeof(float) * sizes[i]) == 0, "%s differs with 1 and 3 threads",
              names[i]);
        free(res[0][i]), free(res[1][i]);
    }
    free(x), free(w), free(bias), free(dout), free(lw), free(ldout);
}

/* ---- batch norm ---- */
static void test_batchnorm(void) {
    int B = 3, C = 2, HW = 10;
    size_t n = (size_t)B * C * HW;
    float *x = randn(n), *out = zeros(n), *out2 = zeros(n);
    for (size_t i = 0; i < n; i++) x[i] = 3.0f * x[i] + 1.0f;
    float gamma[2] = {2.0f, 0.5f}, beta[2] = {3.0f, -1.0f}, mean[2], rstd[2];
    float rm[2] = {0.5f, -0.5f}, rv[2] = {1.0f, 2.0f}, rm0[2] = {0.5f, -0.5f}, rv0[2] = {1.0f, 2.0f};
    float eps = 1e-5f, mom = 0.1f;
    batchnorm_forward_train(out, mean, rstd, rm, rv, x, gamma, beta, mom, eps, B, C, HW);
    for (int c = 0; c < C; c++) {
        double sx = 0, sxx = 0, so = 0, soo = 0;
        for (int b = 0; b < B; b++)
            for (int i = 0; i < HW; i++) {
                double v = x[((size_t)b * C + c) * HW + i], o = out[((size_t)b * C + c) * HW + i];
                sx += v, sxx += v * v, so += o, soo += o * o;
            }
        double m = sx / (B * HW), var = sxx / (B * HW) - m * m;
        double om = so / (B * HW), ovar = soo / (B * HW) - om * om;
        /* normalised then scaled: mean beta, variance gamma^2 * var / (var + eps) */
        CHECK_NEAR(om, beta[c], 1e-4);
        CHECK_NEAR(ovar, gamma[c] * gamma[c] * var / (var + eps), 1e-3);
        CHECK_NEAR(mean[c], m, 1e-4);
        CHECK_NEAR(rstd[c], 1.0 / sqrt(var + eps), 1e-4);
        CHECK_NEAR(rm[c], (1 - mom) * rm0[c] + mom * m, 1e-4);
        CHECK_NEAR(rv[c], (1 - mom) * rv0[c] + mom * var * (B * HW) / (B * HW - 1), 1e-3);
    }
    batchnorm_forward_infer(out2, x, gamma, beta, rm, rv, eps, B, C, HW);
    int bad = 0;
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < HW; i++) {
                size_t k = ((size_t)b * C + c) * HW + i;
                double want = gamma[c] * (x[k] - rm[c]) / sqrt(rv[c] + eps) + beta[c];
                bad += fabs(out2[k] - want) > 1e-4 * (1 + fabs(want));
            }
    CHECK(bad == 0, "%d inference outputs off", bad);
    /* no affine parameters: plain standardisation */
    batchnorm_forward_train(out, NULL, NULL, NULL, NULL, x, NULL, NULL, mom, eps, B, C, HW);
    double s = 0;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < HW; i++) s += out[(size_t)b * C * HW + i];
    CHECK_NEAR(s / (B * HW), 0.0, 1e-5);
    free(x), free(out), free(out2);
}

/* ---- activations, pooling, linear ---- */
static void test_leaky_relu(void) {
    float x[4] = {-2.0f, -0.5f, 0.0f, 3.0f}, y[4], d[4], g[4] = {1, 1, 1, 1};
    leaky_relu_forward(y, x, 0.1f, 4);
    float want[4] = {-0.2f, -0.05f, 0.0f, 3.0f};
    for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], want[i], 1e-7);
    leaky_relu_backward(d, g, x, 0.1f, 4);
    float wantd[4] = {0.1f, 0.1f, 0.1f, 1.0f};
    for (int i = 0; i < 4; i++) CHECK_NEAR(d[i], wantd[i], 1e-7);
    leaky_relu_forward(y, x, 0.0f, 4);
    CHECK(y[0] == 0.0f && y[1] == 0.0f && y[3] == 3.0f, "ReLU");
}

static void test_maxpool(void) {
    float x[16], out[4], dx[16], ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    int am[9];
    iota(x, 16, 1.0f, 1.0f);
    maxpool2d_forward(out, am, x, 1, 1, 4, 4, 2, 2, 0);
    float want[4] = {6, 8, 14, 16};
    int wantam[4] = {5, 7, 13, 15};
    for (int i = 0; i < 4; i++) CHECK(out[i] == want[i] && am[i] == wantam[i], "%d: %g at %d", i, out[i], am[i]);
    /* all negative: zero padding must never win */
    iota(x, 16, -1.0f, -1.0f);
    maxpool2d_forward(out, am, x, 1, 1, 4, 4, 3, 2, 1);
    float want2[4] = {-1, -2, -5, -6};
    int wantam2[4] = {0, 1, 4, 5};
    for (int i = 0; i < 4; i++) CHECK(out[i] == want2[i] && am[i] == wantam2[i], "%d: %g at %d", i, out[i], am[i]);
    /* overlapping windows add their gradients: 3x3 grid 1..9, K3 S1 P1 */
    float y[9], x3[9];
    iota(x3, 9, 1.0f, 1.0f);
    maxpool2d_forward(y, am, x3, 1, 1, 3, 3, 3, 1, 1);
    maxpool2d_backward(dx, ones, am, 1, 1, 3, 3, 3, 1, 1);
    float wantdx[9] = {0, 0, 0, 0, 1, 2, 0, 2, 4};
    for (int i = 0; i < 9; i++) CHECK_NEAR(dx[i], wantdx[i], 0);
}

static void test_avgpool(void) {
    float x[16], out[4], dx[16], ones[4] = {1, 1, 1, 1};
    iota(x, 16, 1.0f, 1.0f);
    avgpool2d_forward(out, x, 1, 1, 4, 4, 3, 2, 1);
    /* padding excluded from the count */
    float want[4] = {(1 + 2 + 5 + 6) / 4.0f, (2 + 3 + 4 + 6 + 7 + 8) / 6.0f, (5 + 6 + 9 + 10 + 13 + 14) / 6.0f, 11.0f};
    for (int i = 0; i < 4; i++) CHECK_NEAR(out[i], want[i], 1e-5);
    avgpool2d_backward(dx, ones, 1, 1, 4, 4, 3, 2, 1);
    CHECK_NEAR(dx[0], 1.0 / 4, 1e-6);
    CHECK_NEAR(dx[5], 1.0 / 4 + 1.0 / 6 + 1.0 / 6 + 1.0 / 9, 1e-6);
    CHECK_NEAR(dx[15], 1.0 / 9, 1e-6);
    float g[2], gx[6] = {1, 2, 3, 10, 20, 60}, dg[2] = {3, 6}, dgx[6];
    global_avgpool_forward(g, gx, 1, 2, 3);
    CHECK_NEAR(g[0], 2.0, 1e-6);
    CHECK_NEAR(g[1], 30.0, 1e-5);
    global_avgpool_backward(dgx, dg, 1, 2, 3);
    CHECK(dgx[0] == 1.0f && dgx[2] == 1.0f && dgx[3] == 2.0f && dgx[5] == 2.0f, "global avgpool backward");
}

static void test_linear(void) {
    float w[6] = {1, 2, 3, 4, 5, 6}, x[4] = {1, -1, 2, 0.5f}, b[3] = {0.5f, 0, -1}, y[6];
    linear_forward(y, x, w, b, 2, 2, 3);
    float want[6] = {-0.5f, -1, -2, 3.5f, 8, 12};
    for (int i = 0; i < 6; i++) CHECK_NEAR(y[i], want[i], 1e-6);
    float g[6] = {1, 1, 1, 1, 1, 1}, dx[4], dw[6], db[3];
    linear_backward(dx, dw, db, g, x, w, 2, 2, 3);
    float wantdx[4] = {9, 12, 9, 12}, wantdw[6] = {3, -0.5f, 3, -0.5f, 3, -0.5f};
    for (int i = 0; i < 4; i++) CHECK_NEAR(dx[i], wantdx[i], 1e-6);
    for (int i = 0; i < 6; i++) CHECK_NEAR(dw[i], wantdw[i], 1e-6);
    for (int i = 0; i < 3; i++) CHECK_NEAR(db[i], 2.0, 1e-6);
}

static void test_dropout(void) {
    size_t n = 100000;
    float p = 0.3f, *x = zeros(n), *y = zeros(n), *m1 = zeros(n), *m2 = zeros(n), *m3 = zeros(n);
    for (size_t i = 0; i < n; i++) x[i] = 1.0f;
    sbir_rng r;
    rng_seed(&r, 7);
    dropout_forward(y, m1, x, p, n, &r);
    size_t dropped = 0, other = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        dropped += m1[i] == 0.0f;
        other += m1[i] != 0.0f && fabsf(m1[i] - 1.0f / (1.0f - p)) > 1e-6f;
        sum += y[i];
    }
    CHECK_NEAR((double)dropped / n, p, 0.01);
    CHECK(other == 0, "%zu mask values neither 0 nor 1/(1-p)", other);
    CHECK_NEAR(sum / n, 1.0, 0.015); /* inverted scaling keeps the expectation */
    rng_seed(&r, 7);
    dropout_forward(y, m2, x, p, n, &r);
    CHECK(memcmp(m1, m2, sizeof(float) * n) == 0, "same seed, same mask");
    rng_seed(&r, 8);
    dropout_forward(y, m3, x, p, n, &r);
    CHECK(memcmp(m1, m3, sizeof(float) * n) != 0, "another seed, another mask");
    dropout_forward(y, m3, x, 0.0f, n, &r);
    CHECK(memcmp(x, y, sizeof(float) * n) == 0, "p = 0 is the identity");
    free(x), free(y), free(m1), free(m2), free(m3);
}

static void test_l2norm(void) {
    float x[4] = {3, 4, 0, -2}, y[4], nr[2];
    l2norm_forward(y, nr, x, 0.0f, 2, 2);
    CHECK_NEAR(y[0], 0.6, 1e-7);
    CHECK_NEAR(y[1], 0.8, 1e-7);
    CHECK_NEAR(nr[0], 5.0, 1e-6);
    CHECK_NEAR(y[3], -1.0, 1e-7);
    float *r = randn(5 * 7), *o = zeros(5 * 7), n5[5];
    l2norm_forward(o, n5, r, 1e-12f, 5, 7);
    for (int b = 0; b < 5; b++) {
        double s = 0;
        for (int i = 0; i < 7; i++) s += (double)o[b * 7 + i] * o[b * 7 + i];
        CHECK_NEAR(s, 1.0, 1e-5);
    }
    free(r), free(o);
}

static void test_softmax_xent(void) {
    float z[6] = {1, 2, 3, 1, 1, 1}, p[6], d[6];
    int lab[2] = {2, 0};
    float loss = softmax_xent_forward(p, z, lab, 2, 3);
    double l0 = log(exp(1.0) + exp(2.0) + exp(3.0)) - 3.0, l1 = log(3.0);
    CHECK_NEAR(loss, (l0 + l1) / 2, 1e-6);
    CHECK_NEAR(p[0], exp(1.0) / (exp(1.0) + exp(2.0) + exp(3.0)), 1e-7);
    CHECK_NEAR(p[4], 1.0 / 3, 1e-7);
    softmax_xent_backward(d, p, lab, 1.0f, 2, 3);
    CHECK_NEAR(d[2], (p[2] - 1.0) / 2, 1e-7);
    CHECK_NEAR(d[1], p[1] / 2, 1e-7);
    CHECK_NEAR(d[3], (1.0 / 3 - 1.0) / 2, 1e-7);
    CHECK_NEAR(d[0] + d[1] + d[2], 0.0, 1e-7);
    float big[2] = {1000, 1001}, pb[2];
    int l = 0;
    float lb = softmax_xent_forward(pb, big, &l, 1, 2);
    CHECK_NEAR(lb, log(1.0 + exp(1.0)), 1e-5);
    CHECK(softmax_correct(z, lab, 2, 3) == 2, "row 0 argmax 2, row 1 ties pick 0");
    int lab2[2] = {1, 1};
    CHECK(softmax_correct(z, lab2, 2, 3) == 0, "none correct");
}

/* ---- triplet ---- */
/* 2-D points. Anchor a0 = (0,0) of class 0, a1 = (10,0) of class 1; candidates
 * c0 (1,0) class 0, c1 (3,0) class 0, c2 (2,0) class 1, c3 (5,0) class 1, c4 (0,0.5) class 1.
 * Squared distances from a0: 1, 9, 4, 25, 0.25; from a1: 81, 49, 64, 25, 100.25. */
static const float TA[4] = {0, 0, 10, 0}, TC[10] = {1, 0, 3, 0, 2, 0, 5, 0, 0, 0.5f};
static const int TAL[2] = {0, 1}, TCL[5] = {0, 0, 1, 1, 1};

static int has(const sbir_triplet *t, size_t nt, int a, int p, int n) {
    for (size_t i = 0; i < nt; i++)
        if (t[i].a == a && t[i].p == p && t[i].n == n) return 1;
    return 0;
}

static void test_triplet_hand(void) {
    sbir_triplet t[50];
    float frac;
    /* batch-hard: a0 farthest positive c1 (9), nearest negative c4 (0.25); a1: c4 (100.25) and c1 (49) */
    size_t nt = triplet_mine_labels(t, TA, TC, TAL, TCL, 2, 5, 2, 0, TRIPLET_BATCH_HARD, 0.2f);
    CHECK(nt == 2 && has(t, nt, 0, 1, 4) && has(t, nt, 1, 4, 1), "batch-hard picked %zu triplets", nt);
    float loss = triplet_loss_forward(&frac, TA, TC, t, nt, 2, 0.2f, 0);
    CHECK_NEAR(loss, ((0.2 + 9 - 0.25) + (0.2 + 100.25 - 49)) / 2, 1e-4);
    CHECK_NEAR(frac, 1.0, 0);
    /* semi-hard, margin 5: (a0,c0) d_ap 1 -> c2 (4 in (1,6)); (a0,c1) 9 -> none in (9,14), hardest c4;
     * a1: no negative in any band -> c1 each */
    nt = triplet_mine_labels(t, TA, TC, TAL, TCL, 2, 5, 2, 0, TRIPLET_SEMI_HARD, 5.0f);
    CHECK(nt == 5 && has(t, nt, 0, 0, 2) && has(t, nt, 0, 1, 4) && has(t, nt, 1, 2, 1) && has(t, nt, 1, 3, 1) &&
              has(t, nt, 1, 4, 1),
          "semi-hard picked %zu triplets", nt);
    loss = triplet_loss_forward(&frac, TA, TC, t, nt, 2, 5.0f, 0);
    CHECK_NEAR(loss, (2.0 + 13.75 + 20.0 + 0.0 + 56.25) / 5, 1e-4);
    CHECK_NEAR(frac, 0.8, 1e-6);
    /* batch-all, margin 0.2: 2x3 + 3x2 = 12 triplets; active hinges 0.95, 5.2, 8.95, 15.2, 19.45, 51.45 */
    nt = triplet_mine_labels(t, TA, TC, TAL, TCL, 2, 5, 2, 0, TRIPLET_BATCH_ALL, 0.2f);
    CHECK(nt == 12, "batch-all: %zu triplets", nt);
    loss = triplet_loss_forward(&frac, TA, TC, t, nt, 2, 0.2f, 1);
    CHECK_NEAR(loss, (0.95 + 5.2 + 8.95 + 15.2 + 19.45 + 51.45) / 6, 1e-4);
    CHECK_NEAR(frac, 0.5, 1e-6);
    CHECK_NEAR(triplet_loss_forward(NULL, TA, TC, t, nt, 2, 0.2f, 0), (0.95 + 5.2 + 8.95 + 15.2 + 19.45 + 51.45) / 12,
               1e-4);
    /* the explicit batch-hard triplet (a0, c1, c4): dL/da = 2(n - p), dL/dp = 2(p - a), dL/dn = 2(a - n) */
    sbir_triplet one = {0, 1, 4};
    float da[4], dc[10];
    triplet_loss_backward(da, dc, TA, TC, &one, 1, 2, 5, 2, 0.2f, 0, 1.0f);
    float wantda[4] = {2 * (0 - 3), 2 * (0.5f - 0), 0, 0}, wantdc[10] = {0, 0, 6, 0, 0, 0, 0, 0, 0, -1};
    for (int i = 0; i < 4; i++) CHECK_NEAR(da[i], wantda[i], 1e-6);
    for (int i = 0; i < 10; i++) CHECK_NEAR(dc[i], wantdc[i], 1e-6);
    /* an inactive triplet gives no loss and no gradient; no triplets at all is not an error */
    sbir_triplet easy = {1, 3, 4};
    CHECK(triplet_loss_forward(&frac, TA, TC, &easy, 1, 2, 0.2f, 0) == 0.0f && frac == 0.0f, "inactive");
    triplet_loss_backward(da, dc, TA, TC, &easy, 1, 2, 5, 2, 0.2f, 0, 1.0f);
    CHECK(da[0] == 0.0f && dc[6] == 0.0f && dc[9] == 0.0f, "no gradient from an inactive triplet");
    CHECK(triplet_loss_forward(&frac, TA, TC, t, 0, 2, 0.2f, 1) == 0.0f, "empty");
}

static void test_triplet_same_set(void) {
    int lab[5] = {0, 0, 1, 1, 2}, N = 5, D = 3;
    float *x = randn((size_t)N * D);
    for (int mode = 0; mode < 3; mode++) {
        sbir_triplet t[125];
        size_t nt = triplet_mine_labels(t, x, x, lab, lab, N, N, D, 1, mode, 0.3f);
        int bad = 0;
        for (size_t i = 0; i < nt; i++)
            bad += t[i].a == t[i].p || lab[t[i].a] != lab[t[i].p] || lab[t[i].a] == lab[t[i].n];
        CHECK(bad == 0, "mode %d: %d invalid triplets", mode, bad);
        /* anchors 0..3 have exactly one positive (not themselves) and 3 negatives; anchor 4 has none */
        size_t want = mode == TRIPLET_BATCH_ALL ? 12 : 4;
        CHECK(nt == want, "mode %d: %zu triplets, want %zu", mode, nt, want);
    }
    /* same buffer for both gradients: the total equals the sum of separate anchor and candidate parts */
    sbir_triplet t[125];
    size_t nt = triplet_mine_labels(t, x, x, lab, lab, N, N, D, 1, TRIPLET_BATCH_ALL, 5.0f);
    float *da = zeros((size_t)N * D), *dc = zeros((size_t)N * D), *dboth = zeros((size_t)N * D);
    triplet_loss_backward(da, dc, x, x, t, nt, N, N, D, 5.0f, 1, 1.0f);
    triplet_loss_backward(dboth, dboth, x, x, t, nt, N, N, D, 5.0f, 1, 1.0f);
    int bad = 0;
    for (int i = 0; i < N * D; i++) bad += fabsf(dboth[i] - (da[i] + dc[i])) > 1e-5f;
    CHECK(bad == 0, "%d aliased gradient entries differ from danc + dcand", bad);
    double s = 0;
    for (int i = 0; i < N * D; i++) s += dboth[i];
    CHECK_NEAR(s, 0.0, 1e-4); /* the loss is translation invariant */
    free(x), free(da), free(dc), free(dboth);
}

static void test_triplet_style(void) {
    /* 3 contents x 3 styles, two images each, same set */
    int N = 18, D = 4, content[18], style[18];
    for (int i = 0; i < N; i++) content[i] = i % 3, style[i] = (i / 3) % 3;
    float *x = randn((size_t)N * D), dist[18 * 18];
    unsigned char pos[18 * 18], neg[18 * 18];
    triplet_masks_style(pos, neg, content, style, content, style, N, N, 1);
    sqdist_matrix(dist, x, x, N, N, D);
    for (int mode = 0; mode < 3; mode++) {
        sbir_triplet *t = mallocCheck(sizeof(sbir_triplet) * triplet_mine_capacity(mode, N, N));
        size_t nt = triplet_mine(t, dist, pos, neg, N, N, mode, 0.5f);
        int bad = 0;
        for (size_t i = 0; i < nt; i++) {
            int a = t[i].a, p = t[i].p, n = t[i].n;
            bad += style[a] != style[p] || content[a] == content[p] || content[a] != content[n] ||
                   style[a] == style[n];
        }
        CHECK(bad == 0, "mode %d: %d triplets break the style rule", mode, bad);
        /* each anchor: 4 positives (same style, 2 other contents x 2), 4 negatives (same content, 2 other
         * styles x 2) */
        size_t want = mode == TRIPLET_BATCH_HARD ? 18 : mode == TRIPLET_SEMI_HARD ? 18 * 4 : 18 * 4 * 4;
        CHECK(nt == want, "mode %d: %zu triplets, want %zu", mode, nt, want);
        if (mode == TRIPLET_BATCH_HARD) {
            int wrong = 0;
            for (size_t i = 0; i < nt; i++)
                for (int c = 0; c < N; c++) {
                    wrong += pos[t[i].a * N + c] && dist[t[i].a * N + c] > dist[t[i].a * N + t[i].p];
                    wrong += neg[t[i].a * N + c] && dist[t[i].a * N + c] < dist[t[i].a * N + t[i].n];
                }
            CHECK(wrong == 0, "batch-hard did not pick the hardest pair %d times", wrong);
        }
        free(t);
    }
    free(x);
}

/* ---- optimisers, schedules, init ---- */
static void test_adamw(void) {
    float p[2] = {1.0f, -2.0f}, g[2] = {0.5f, -3.0f}, m[2] = {0}, v[2] = {0};
    float lr = 0.1f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.01f;
    adamw_step(p, g, m, v, 2, 1, lr, b1, b2, eps, wd);
    /* first step: m_hat = g, v_hat = g^2, so the update is lr * sign(g) after the decay */
    CHECK_NEAR(p[0], 1.0 * (1 - 0.001) - 0.1, 1e-6);
    CHECK_NEAR(p[1], -2.0 * (1 - 0.001) + 0.1, 1e-6);
    CHECK_NEAR(m[0], 0.05, 1e-7);
    CHECK_NEAR(v[0], 0.00025, 1e-8); /* 1 - 0.999f is 0.99998e-3 in float */
    double P = p[0], M = m[0], V = v[0], G = -0.2;
    float g2[2] = {-0.2f, 0.0f};
    adamw_step(p, g2, m, v, 2, 2, lr, b1, b2, eps, wd);
    P *= 1 - 0.1 * 0.01;
    M = 0.9 * M + 0.1 * G;
    V = 0.999 * V + 0.001 * G * G;
    P -= 0.1 * (M / (1 - 0.81)) / (sqrt(V / (1 - 0.999 * 0.999)) + 1e-8);
    CHECK_NEAR(p[0], P, 1e-5);
}

static void test_sgd(void) {
    float p = 1.0f, g = 0.5f, buf = 0.0f;
    sgd_step(&p, &g, &buf, 1, 0.1f, 0.9f, 0.01f);
    CHECK_NEAR(p, 1.0 - 0.1 * 0.51, 1e-6);
    sgd_step(&p, &g, &buf, 1, 0.1f, 0.9f, 0.01f);
    double b2 = 0.9 * 0.51 + (0.5 + 0.01 * 0.949);
    CHECK_NEAR(buf, b2, 1e-6);
    CHECK_NEAR(p, 0.949 - 0.1 * b2, 1e-6);
}

static void test_schedules(void) {
    CHECK_NEAR(lr_cosine(0, 10, 110, 1.0f, 0.1f), 0.1, 1e-6);
    CHECK_NEAR(lr_cosine(4, 10, 110, 1.0f, 0.1f), 0.5, 1e-6);
    CHECK_NEAR(lr_cosine(9, 10, 110, 1.0f, 0.1f), 1.0, 1e-6);
    CHECK_NEAR(lr_cosine(10, 10, 110, 1.0f, 0.1f), 1.0, 1e-6);
    CHECK_NEAR(lr_cosine(60, 10, 110, 1.0f, 0.1f), 0.55, 1e-6);
    CHECK_NEAR(lr_cosine(35, 10, 110, 1.0f, 0.1f), 0.1 + 0.9 * (1 + cos(M_PI / 4)) / 2, 1e-6);
    CHECK_NEAR(lr_cosine(110, 10, 110, 1.0f, 0.1f), 0.1, 1e-6);
    CHECK_NEAR(lr_cosine(500, 10, 110, 1.0f, 0.1f), 0.1, 1e-6);
    CHECK_NEAR(lr_cosine(0, 0, 100, 2.0f, 0.0f), 2.0, 1e-6);
    int mono = 1;
    for (int s = 10; s < 110; s++) mono &= lr_cosine(s + 1, 10, 110, 1.0f, 0.1f) <= lr_cosine(s, 10, 110, 1.0f, 0.1f);
    CHECK(mono, "cosine decays monotonically after warmup");
    CHECK_NEAR(lr_step_decay(9, 1.0f, 10, 0.1f), 1.0, 1e-7);
    CHECK_NEAR(lr_step_decay(10, 1.0f, 10, 0.1f), 0.1, 1e-7);
    CHECK_NEAR(lr_step_decay(25, 1.0f, 10, 0.1f), 0.01, 1e-8);
}

static void test_he_init(void) {
    size_t n = 200000;
    int fan_in = 50;
    float *w = zeros(n), *w2 = zeros(n);
    sbir_rng r;
    rng_seed(&r, 3);
    he_normal_init(w, n, fan_in, &r);
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++) s += w[i], ss += (double)w[i] * w[i];
    double mean = s / n, var = ss / n - mean * mean;
    CHECK_NEAR(mean, 0.0, 0.002);
    CHECK(fabs(var / (2.0 / fan_in) - 1.0) < 0.02, "variance %g, want %g", var, 2.0 / fan_in);
    rng_seed(&r, 3);
    he_normal_init(w2, n, fan_in, &r);
    CHECK(memcmp(w, w2, sizeof(float) * n) == 0, "same seed, same weights");
    free(w), free(w2);
}

int main(void) {
    rng_seed(&g_rng, 2024);
    RUN(test_conv_hand);
    RUN(test_conv_vs_naive);
    RUN(test_thread_determinism);
    RUN(test_batchnorm);
    RUN(test_leaky_relu);
    RUN(test_maxpool);
    RUN(test_avgpool);
    RUN(test_linear);
    RUN(test_dropout);
    RUN(test_l2norm);
    RUN(test_softmax_xent);
    RUN(test_triplet_hand);
    RUN(test_triplet_same_set);
    RUN(test_triplet_style);
    RUN(test_adamw);
    RUN(test_sgd);
    RUN(test_schedules);
    RUN(test_he_init);
    return test_summary();
}
