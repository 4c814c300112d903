/* test_nn_dnnl.c — every oneDNN layer (src/nn/dnnl_*) against the reference op of ops.h, forward and
 * backward, at shapes that exercise the awkward cases: odd sizes (7x9, 13x13), stride 2, batch 1,
 * channel counts that are not a multiple of 16 (blocked layouts with padded channels), inputs given
 * in the layout a previous layer produces (nChw16c) as well as chosen by the layer.
 *
 * Tolerances, relative to max |reference| over the tensor: forward 1e-4, backward 1e-3 (oneDNN sums
 * in other orders and, for batch-norm backward and weight gradients, over B*H*W terms). */
#include <string.h>

#include "nn/dnnl_bn.h"
#include "nn/dnnl_conv.h"
#include "nn/dnnl_eltwise.h"
#include "nn/dnnl_linear.h"
#include "nn/dnnl_pool.h"
#include "nn/ops.h"
#include "test.h"
#include "util/rng.h"

#define TOL_FWD 1e-4
#define TOL_BWD 1e-3

static sbir_rng g_rng;

static float *rnd(size_t n) {
    float *p = mallocCheck(n * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = rng_range(&g_rng, -1.0f, 1.0f);
    return p;
}

static double rel_err(const float *a, const float *ref, size_t n) {
    double m = 0, r = 1e-12;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - ref[i]);
        if (d > m || d != d) m = d != d ? INFINITY : d;
        if (fabs(ref[i]) > r) r = fabs(ref[i]);
    }
    return m / r;
}

#define CHECK_CLOSE(got, ref, n, tol, what)                                                  \
    do {                                                                                     \
        double e_ = rel_err(got, ref, n);                                                    \
        CHECK(e_ <= (tol), "%s: relative error %.3g > %.1g (%s)", what, e_, (double)(tol), shape); \
    } while (0)

/* A memory in layout md filled from / read back into plain NCHW arrays. */
static dnnl_memory_t mem_from(const dnnl_memory_desc_t *md, const float *plain) {
    dnnl_memory_t m = NULL;
    if (dn_mem(&m, md) != SBIR_OK) abort();
    if (plain && dn_write_plain(m, plain) != SBIR_OK) abort();
    return m;
}
static float *mem_read(dnnl_memory_t m) {
    float *p = mallocCheck(dn_md_nelems(dn_mem_md(m)) * sizeof(float));
    if (dn_read_plain(m, p) != SBIR_OK) abort();
    return p;
}
/* Input layouts: 0 plain NCHW (or, for a convolution, its own choice), 1 what a previous
 * convolution would produce on this CPU, 2 nChw16c forced (on AVX2 machines not the native
 * blocking, which exercises the layers' fallbacks), 3 NHWC (pooling then runs oneDNN's primitive
 * instead of its direct kernel). */
static const char *layout_name[] = {"", " native-blocked", " nChw16c", " nhwc"};
static void layout_md(dnnl_memory_desc_t *md, int layout, int B, int C, int H, int W) {
    dnnl_dims_t d = {B, C, H, W};
    if (layout == 0) dn_md_plain(md, 4, d);
    else if (layout == 1) dn_md_act(md, B, C, H, W);
    else dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, layout == 2 ? dnnl_aBcd16b : dnnl_acdb);
}

static void conv_case(int B, int C, int H, int W, int OC, int K, int S, int P, int bias, int blocked_src) {
    char shape[128];
    snprintf(shape, sizeof shape, "conv B%d %d->%d %dx%d k%d s%d p%d%s%s", B, C, OC, H, W, K, S, P,
             bias ? " bias" : "", layout_name[blocked_src]);
    int OH = conv_out_size(H, K, S, P), OW = conv_out_size(W, K, S, P);
    size_t nx = (size_t)B * C * H * W, nw = (size_t)OC * C * K * K, ny = (size_t)B * OC * OH * OW;
    float *x = rnd(nx), *w = rnd(nw), *b = rnd(OC), *dy = rnd(ny);
    float *y_ref = mallocCheck(ny * 4), *dx_ref = mallocCheck(nx * 4), *dw_ref = mallocCheck(nw * 4),
          *db_ref = mallocCheck(OC * 4);
    conv2d_forward(y_ref, x, w, bias ? b : NULL, B, C, H, W, OC, K, K, S, P);
    conv2d_backward(dx_ref, dw_ref, db_ref, dy, x, w, B, C, H, W, OC, K, K, S, P);

    dn_conv c;
    dnnl_memory_desc_t smd;
    if (blocked_src) layout_md(&smd, blocked_src, B, C, H, W);
    int rc = dn_conv_init(&c, B, C, H, W, OC, K, S, P, bias, 1, blocked_src ? &smd : NULL);
    CHECK(rc == SBIR_OK, "%s: %s", shape, sbir_last_error());
    if (rc == SBIR_OK) {
        dnnl_memory_t ms = mem_from(&c.src_md, x), md = mem_from(&c.dst_md, NULL), mdd = mem_from(&c.dst_md, dy),
                      mds = mem_from(&c.src_md, NULL);
        float *dw = callocCheck(nw, 4), *db = callocCheck(OC, 4);
        CHECK(dn_conv_load_weights(&c, w, b) == SBIR_OK, "%s", sbir_last_error());
        CHECK(dn_conv_forward(&c, ms, md) == SBIR_OK, "%s", sbir_last_error());
        CHECK(dn_conv_backward_data(&c, mdd, mds) == SBIR_OK, "%s", sbir_last_error());
        CHECK(dn_conv_backward_weights(&c, ms, mdd, dw, bias ? db : NULL) == SBIR_OK, "%s", sbir_last_error());
        float *y = mem_read(md), *dx = mem_read(mds);
        CHECK_CLOSE(y, y_ref, ny, TOL_FWD, "forward");
        CHECK_CLOSE(dx, dx_ref, nx, TOL_BWD, "dinput");
        CHECK_CLOSE(dw, dw_ref, nw, TOL_BWD, "dweight");
        if (bias) CHECK_CLOSE(db, db_ref, OC, TOL_BWD, "dbias");
        /* Gradients accumulate: a second backward doubles them. */
        CHECK(dn_conv_backward_weights(&c, ms, mdd, dw, NULL) == SBIR_OK, "%s", sbir_last_error());
        for (size_t i = 0; i < nw; i++) dw_ref[i] *= 2;
        CHECK_CLOSE(dw, dw_ref, nw, TOL_BWD, "dweight accumulated");
        free(y), free(dx), free(dw), free(db);
        dn_free_mem(&ms), dn_free_mem(&md), dn_free_mem(&mdd), dn_free_mem(&mds);
    }
    dn_conv_destroy(&c);
    free(x), free(w), free(b), free(dy), free(y_ref), free(dx_ref), free(dw_ref), free(db_ref);
}

static void test_conv(void) {
    conv_case(2, 16, 8, 8, 32, 3, 1, 1, 0, 1);
    conv_case(2, 16, 8, 8, 32, 3, 1, 1, 0, 2);
    conv_case(2, 3, 13, 13, 32, 3, 1, 1, 0, 0);  /* first layer: 3 input channels */
    conv_case(2, 1, 16, 16, 8, 3, 1, 1, 0, 0);   /* 1 input channel (a reference kernel on AVX2) */
    conv_case(1, 20, 7, 9, 24, 3, 1, 1, 1, 1);   /* batch 1, odd size, channels not a multiple of 16 */
    conv_case(1, 20, 7, 9, 24, 3, 1, 1, 1, 2);
    conv_case(3, 32, 13, 13, 16, 3, 2, 1, 1, 1); /* stride 2 */
    conv_case(2, 5, 9, 7, 7, 1, 1, 0, 1, 0);     /* 1x1 */
    conv_case(2, 8, 11, 10, 8, 5, 2, 2, 0, 1);   /* 5x5 stride 2 */
}

static void bn_case(int B, int C, int H, int W, int relu, int blocked) {
    char shape[128];
    snprintf(shape, sizeof shape, "bn B%d C%d %dx%d%s%s", B, C, H, W, relu ? " +relu" : "", layout_name[blocked]);
    size_t n = (size_t)B * C * H * W;
    int HW = H * W;
    float eps = 1e-5f, mom = 0.1f;
    float *x = rnd(n), *g = rnd(C), *be = rnd(C), *dy = rnd(n);
    for (size_t i = 0; i < n; i++) x[i] = 3 * x[i] + 0.5f; /* a mean and variance away from 0 and 1 */
    float *rm_ref = rnd(C), *rv_ref = rnd(C);
    for (int c = 0; c < C; c++) rv_ref[c] = 1.0f + 0.5f * rv_ref[c];
    float *rm = mallocCheck(C * 4), *rv = mallocCheck(C * 4);
    memcpy(rm, rm_ref, C * 4), memcpy(rv, rv_ref, C * 4);
    float *y_ref = mallocCheck(n * 4), *z_ref = mallocCheck(n * 4), *mean = mallocCheck(C * 4), *rstd = mallocCheck(C * 4);
    float *dz = mallocCheck(n * 4), *dx_ref = mallocCheck(n * 4), *dg_ref = mallocCheck(C * 4), *db_ref = mallocCheck(C * 4);
    batchnorm_forward_train(y_ref, mean, rstd, rm_ref, rv_ref, x, g, be, mom, eps, B, C, HW);
    if (relu) {
        leaky_relu_forward(z_ref, y_ref, 0.0f, n);
        leaky_relu_backward(dz, dy, y_ref, 0.0f, n);
    } else {
        memcpy(z_ref, y_ref, n * 4), memcpy(dz, dy, n * 4);
    }
    batchnorm_backward(dx_ref, dg_ref, db_ref, dz, x, g, mean, rstd, B, C, HW);

    dnnl_memory_desc_t md;
    layout_md(&md, blocked, B, C, H, W);
    dn_bn bn;
    int rc = dn_bn_init(&bn, &md, eps, relu);
    CHECK(rc == SBIR_OK, "%s: %s", shape, sbir_last_error());
    if (rc == SBIR_OK) {
        dnnl_memory_t mx = mem_from(&md, x), my = mem_from(&md, NULL), mdy = mem_from(&md, dy);
        float *dg = callocCheck(C, 4), *db = callocCheck(C, 4);
        CHECK(dn_bn_forward_train(&bn, mx, my, g, be, rm, rv, mom) == SBIR_OK, "%s", sbir_last_error());
        float *y = mem_read(my);
        CHECK_CLOSE(y, z_ref, n, TOL_FWD, "forward train");
        CHECK_CLOSE(rm, rm_ref, C, TOL_FWD, "running mean");
        CHECK_CLOSE(rv, rv_ref, C, TOL_FWD, "running var");
        /* In place, as the network uses it: diff_src over diff_dst. */
        CHECK(dn_bn_backward(&bn, mx, mdy, mdy, dg, db) == SBIR_OK, "%s", sbir_last_error());
        float *dx = mem_read(mdy);
        CHECK_CLOSE(dx, dx_ref, n, TOL_BWD, "dinput");
        CHECK_CLOSE(dg, dg_ref, C, TOL_BWD, "dgamma");
        CHECK_CLOSE(db, db_ref, C, TOL_BWD, "dbeta");
        batchnorm_forward_infer(y_ref, x, g, be, rm_ref, rv_ref, eps, B, C, HW);
        if (relu) leaky_relu_forward(y_ref, y_ref, 0.0f, n);
        CHECK(dn_bn_forward_infer(&bn, mx, my, g, be, rm, rv) == SBIR_OK, "%s", sbir_last_error());
        free(y);
        y = mem_read(my);
        CHECK_CLOSE(y, y_ref, n, TOL_FWD, "forward inference");
        free(y), free(dx), free(dg), free(db);
        dn_free_mem(&mx), dn_free_mem(&my), dn_free_mem(&mdy);
    }
    dn_bn_destroy(&bn);
    free(x), free(g), free(be), free(dy), free(rm_ref), free(rv_ref), free(rm), free(rv), free(y_ref), free(z_ref);
    free(mean), free(rstd), free(dz), free(dx_ref), free(dg_ref), free(db_ref);
}

static void test_bn(void) {
    bn_case(4, 32, 8, 8, 1, 1);
    bn_case(1, 20, 7, 9, 1, 1);
    bn_case(1, 20, 7, 9, 1, 2);
    bn_case(3, 24, 13, 13, 0, 1);
    bn_case(2, 5, 6, 6, 1, 0);
    bn_case(2, 24, 7, 9, 1, 3);
    bn_case(3, 16, 5, 5, 0, 3);
}

/* kind: 0 max, 1 avg, 2 global avg. */
static void pool_case(int kind, int B, int C, int H, int W, int K, int S, int P, int blocked) {
    char shape[128];
    snprintf(shape, sizeof shape, "%s pool B%d C%d %dx%d k%d s%d p%d%s", kind == 0 ? "max" : kind == 1 ? "avg" : "global",
             B, C, H, W, K, S, P, layout_name[blocked]);
    if (kind == 2) K = H, S = 1, P = 0;
    int OH = kind == 2 ? 1 : conv_out_size(H, K, S, P), OW = kind == 2 ? 1 : conv_out_size(W, K, S, P);
    size_t nx = (size_t)B * C * H * W, ny = (size_t)B * C * OH * OW;
    float *x = rnd(nx), *dy = rnd(ny), *y_ref = mallocCheck(ny * 4), *dx_ref = mallocCheck(nx * 4);
    int *am = mallocCheck(ny * sizeof(int));
    if (kind == 0) {
        maxpool2d_forward(y_ref, am, x, B, C, H, W, K, S, P);
        maxpool2d_backward(dx_ref, dy, am, B, C, H, W, K, S, P);
    } else if (kind == 1) {
        avgpool2d_forward(y_ref, x, B, C, H, W, K, S, P);
        avgpool2d_backward(dx_ref, dy, B, C, H, W, K, S, P);
    } else {
        global_avgpool_forward(y_ref, x, B, C, H * W);
        global_avgpool_backward(dx_ref, dy, B, C, H * W);
    }
    dnnl_memory_desc_t md;
    layout_md(&md, blocked, B, C, H, W);
    dn_pool p;
    int rc = dn_pool_init(&p, &md, kind == 0, K, kind == 2 ? W : K, S, P);
    CHECK(rc == SBIR_OK, "%s: %s", shape, sbir_last_error());
    if (rc == SBIR_OK) {
        CHECK(p.OH == OH && p.OW == OW, "%s: output %dx%d, expected %dx%d", shape, p.OH, p.OW, OH, OW);
        dnnl_memory_t mx = mem_from(&md, x), my = mem_from(&p.dst_md, NULL), mdy = mem_from(&p.dst_md, dy),
                      mdx = mem_from(&md, NULL);
        CHECK(dn_pool_forward(&p, mx, my) == SBIR_OK, "%s", sbir_last_error());
        CHECK(dn_pool_backward(&p, mdy, mdx) == SBIR_OK, "%s", sbir_last_error());
        float *y = mem_read(my), *dx = mem_read(mdx);
        CHECK_CLOSE(y, y_ref, ny, TOL_FWD, "forward");
        CHECK_CLOSE(dx, dx_ref, nx, TOL_BWD, "dinput");
        free(y), free(dx);
        dn_free_mem(&mx), dn_free_mem(&my), dn_free_mem(&mdy), dn_free_mem(&mdx);
    }
    dn_pool_destroy(&p);
    free(x), free(dy), free(y_ref), free(dx_ref), free(am);
}

static void test_pool(void) {
    pool_case(0, 2, 32, 8, 8, 2, 2, 0, 1);
    pool_case(0, 1, 20, 7, 9, 2, 2, 0, 1); /* odd sizes: the last row/column is dropped (floor) */
    pool_case(0, 2, 5, 13, 13, 3, 2, 1, 0);
    pool_case(1, 2, 32, 8, 8, 2, 2, 0, 1);
    pool_case(1, 1, 24, 13, 13, 3, 2, 1, 1); /* padding excluded from the count */
    pool_case(1, 2, 3, 7, 9, 2, 2, 0, 0);
    pool_case(2, 2, 32, 4, 4, 0, 0, 0, 1);
    pool_case(2, 1, 20, 7, 9, 0, 0, 0, 1);
    pool_case(0, 2, 24, 9, 9, 2, 2, 0, 2);
    pool_case(0, 2, 24, 9, 9, 2, 2, 0, 3);
    pool_case(1, 2, 16, 8, 8, 2, 2, 0, 3);
}

static void eltwise_case(float slope, int B, int C, int H, int W, int blocked) {
    char shape[128];
    snprintf(shape, sizeof shape, "relu slope %g B%d C%d %dx%d%s", slope, B, C, H, W, layout_name[blocked]);
    size_t n = (size_t)B * C * H * W;
    float *x = rnd(n), *dy = rnd(n), *y_ref = mallocCheck(n * 4), *dx_ref = mallocCheck(n * 4);
    leaky_relu_forward(y_ref, x, slope, n);
    leaky_relu_backward(dx_ref, dy, x, slope, n);
    dnnl_memory_desc_t md;
    layout_md(&md, blocked, B, C, H, W);
    dn_eltwise e;
    int rc = dn_eltwise_init(&e, &md, slope);
    CHECK(rc == SBIR_OK, "%s: %s", shape, sbir_last_error());
    if (rc == SBIR_OK) {
        dnnl_memory_t mx = mem_from(&md, x), my = mem_from(&md, NULL), mdy = mem_from(&md, dy), mdx = mem_from(&md, NULL);
        CHECK(dn_eltwise_forward(&e, mx, my) == SBIR_OK, "%s", sbir_last_error());
        CHECK(dn_eltwise_backward(&e, mx, mdy, mdx) == SBIR_OK, "%s", sbir_last_error());
        float *y = mem_read(my), *dx = mem_read(mdx);
        CHECK_CLOSE(y, y_ref, n, TOL_FWD, "forward");
        CHECK_CLOSE(dx, dx_ref, n, TOL_BWD, "dinput");
        free(y), free(dx);
        dn_free_mem(&mx), dn_free_mem(&my), dn_free_mem(&mdy), dn_free_mem(&mdx);
    }
    dn_eltwise_destroy(&e);
    free(x), free(dy), free(y_ref), free(dx_ref);
}

static void test_eltwise(void) {
    eltwise_case(0.0f, 2, 32, 5, 5, 1);
    eltwise_case(0.1f, 1, 20, 7, 9, 1);
    eltwise_case(0.2f, 3, 7, 1, 1, 0);
    eltwise_case(0.0f, 2, 24, 3, 3, 2);
}

/* A 4-D input is flattened in NCHW order, whatever its layout. */
static void linear_case(int B, int C, int H, int W, int OUT, int blocked) {
    char shape[128];
    snprintf(shape, sizeof shape, "linear B%d in %dx%dx%d out %d%s", B, C, H, W, OUT, layout_name[blocked]);
    int IN = C * H * W;
    size_t nx = (size_t)B * IN, nw = (size_t)OUT * IN, ny = (size_t)B * OUT;
    float *x = rnd(nx), *w = rnd(nw), *b = rnd(OUT), *dy = rnd(ny);
    float *y_ref = mallocCheck(ny * 4), *dx_ref = mallocCheck(nx * 4), *dw_ref = mallocCheck(nw * 4), *db_ref = mallocCheck(OUT * 4);
    linear_forward(y_ref, x, w, b, B, IN, OUT);
    linear_backward(dx_ref, dw_ref, db_ref, dy, x, w, B, IN, OUT);
    dnnl_memory_desc_t md;
    if (blocked) {
        layout_md(&md, blocked, B, C, H, W);
    } else {
        dnnl_dims_t d = {B, IN};
        dn_md_plain(&md, 2, d);
    }
    dn_linear l;
    int rc = dn_linear_init(&l, &md, OUT, 1);
    CHECK(rc == SBIR_OK, "%s: %s", shape, sbir_last_error());
    if (rc == SBIR_OK) {
        dnnl_memory_t mx = mem_from(&md, x), my = mem_from(&l.dst_md, NULL), mdy = mem_from(&l.dst_md, dy),
                      mdx = mem_from(&md, NULL);
        float *dw = callocCheck(nw, 4), *db = callocCheck(OUT, 4);
        CHECK(dn_linear_load_weights(&l, w, b) == SBIR_OK, "%s", sbir_last_error());
        CHECK(dn_linear_forward(&l, mx, my) == SBIR_OK, "%s", sbir_last_error());
        CHECK(dn_linear_backward_data(&l, mdy, mdx) == SBIR_OK, "%s", sbir_last_error());
        CHECK(dn_linear_backward_weights(&l, mx, mdy, dw, db) == SBIR_OK, "%s", sbir_last_error());
        CHECK(dn_md_is_plain(&l.dst_md), "%s: output not plain", shape);
        float *y = mem_read(my), *dx = mem_read(mdx);
        CHECK_CLOSE(y, y_ref, ny, TOL_FWD, "forward");
        CHECK_CLOSE(dx, dx_ref, nx, TOL_BWD, "dinput");
        CHECK_CLOSE(dw, dw_ref, nw, TOL_BWD, "dweight");
        CHECK_CLOSE(db, db_ref, OUT, TOL_BWD, "dbias");
        free(y), free(dx), free(dw), free(db);
        dn_free_mem(&mx), dn_free_mem(&my), dn_free_mem(&mdy), dn_free_mem(&mdx);
    }
    dn_linear_destroy(&l);
    free(x), free(w), free(b), free(dy), free(y_ref), free(dx_ref), free(dw_ref), free(db_ref);
}

static void test_linear(void) {
    linear_case(4, 32, 1, 1, 10, 1); /* after global pooling */
    linear_case(1, 20, 3, 3, 7, 1);  /* flatten of a blocked tensor with padded channels */
    linear_case(3, 50, 1, 1, 17, 0); /* plain 2-D */
    linear_case(2, 24, 2, 3, 5, 2);
}

int main(void) {
    rng_seed(&g_rng, 12345);
    if (dn_acquire() != SBIR_OK) {
        fprintf(stderr, "%s\n", sbir_last_error());
        return 1;
    }
    RUN(test_conv);
    RUN(test_bn);
    RUN(test_pool);
    RUN(test_eltwise);
    RUN(test_linear);
    dn_release();
    return test_summary();
}
