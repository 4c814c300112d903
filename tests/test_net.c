/* test_net.c — the sequential network (src/nn/net.h): the oneDNN and reference backends agree on
 * the same weights and input (features, running statistics, every parameter gradient, at the
 * training batch and at batch 1); gradients accumulate; save/load round-trips bit-exactly and a
 * damaged file is rejected; a small net learns a small task, reproducibly (4 synthetic 16x16
 * pattern classes, 40 SGD steps of batch 16: the loss must fall 20-fold and test accuracy reach 90%,
 * and two runs with one seed must give bit-identical loss curves, on each backend).
 *
 * Tolerances, relative to max |reference| of each tensor: features 1e-3 and gradients 2e-3 after
 * several layers (each layer is checked at 1e-4 / 1e-3 in test_nn_dnnl.c; the batch norms of a tiny
 * batch amplify the float rounding differences a little layer after layer). */
#include <omp.h>
#include <string.h>
#include <unistd.h>

#include "nn/net.h"
#include "nn/ops.h"
#include "test.h"
#include "util/common.h"
#include "util/rng.h"

#define TOL_FEAT 1e-3
#define TOL_GRAD 2e-3

static double rel_err(const float *a, const float *ref, size_t n) {
    double m = 0, r = 1e-12;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - ref[i]);
        if (d > m || d != d) m = d != d ? INFINITY : d;
        if (fabs(ref[i]) > r) r = fabs(ref[i]);
    }
    return m / r;
}

static float *rnd(size_t n, sbir_rng *r) {
    float *p = mallocCheck(n * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = rng_range(r, -1.0f, 1.0f);
    return p;
}

static void compare_backends(const char *spec, int C, int H, int W, int B) {
    sbir_rng rng;
    rng_seed(&rng, 7);
    net *a = net_create(spec, C, H, W, B, NET_BACKEND_DNNL), *r = net_create(spec, C, H, W, B, NET_BACKEND_REF);
    CHECK(a && r, "%s: %s", spec, sbir_last_error());
    if (!a || !r) {
        net_free(a), net_free(r);
        return;
    }
    net_init(a, 42);
    CHECK(net_copy_weights(r, a) == SBIR_OK, "%s", sbir_last_error());
    /* Non-trivial batch-norm affine parameters, so their gradients are tested too. */
    for (int t = 0; t < a->n_tensors; t++)
        if (strstr(a->tensors[t].name, ".bn.") && !a->tensors[t].buffer)
            for (size_t i = 0; i < a->tensors[t].numel; i++) a->params[a->tensors[t].offset + i] += 0.3f * rng_range(&rng, -1, 1);
    net_params_changed(a);
    net_copy_weights(r, a);
    size_t nin = (size_t)B * C * H * W, nout = (size_t)B * a->out_dim;
    float *x = rnd(nin, &rng), *d = rnd(nout, &rng);
    const float *fa = net_forward(a, x, B, 1), *fr = net_forward(r, x, B, 1);
    CHECK(fa && fr, "%s: %s", spec, sbir_last_error());
    if (fa && fr) {
        double e = rel_err(fa, fr, nout);
        CHECK(e <= TOL_FEAT, "%s: training features differ by %.3g", spec, e);
    }
    CHECK(net_backward(a, d) == SBIR_OK, "%s", sbir_last_error());
    CHECK(net_backward(r, d) == SBIR_OK, "%s", sbir_last_error());
    for (int t = 0; t < a->n_tensors; t++) {
        const net_tensor *T = &a->tensors[t];
        const float *ga = (T->buffer ? a->bufs : a->grads) + T->offset, *gr = (T->buffer ? r->bufs : r->grads) + T->offset;
        double e = rel_err(ga, gr, T->numel);
        CHECK(e <= TOL_GRAD, "%s: %s %s differs by %.3g", spec, T->name, T->buffer ? "" : "gradient", e);
    }
    /* Accumulation: a second backward adds the same gradients again. */
    float *g1 = mallocCheck(sizeof(float) * a->n_params);
    memcpy(g1, a->grads, sizeof(float) * a->n_params);
    CHECK(net_backward(a, d) == SBIR_OK, "%s", sbir_last_error());
    for (size_t i = 0; i < a->n_params; i++) g1[i] *= 2;
    CHECK(rel_err(a->grads, g1, a->n_params) <= 1e-5, "%s: gradients do not accumulate", spec);
    free(g1);
    /* Inference with the running statistics, at the full batch and at batch 1. */
    fa = net_forward(a, x, B, 0), fr = net_forward(r, x, B, 0);
    CHECK(fa && fr && rel_err(fa, fr, nout) <= TOL_FEAT, "%s: inference features differ", spec);
    float *f1 = mallocCheck(sizeof(float) * a->out_dim);
    fr = net_forward(r, x + nin - nin / B, 1, 0);
    memcpy(f1, fr, sizeof(float) * a->out_dim);
    fa = net_forward(a, x + nin - nin / B, 1, 0);
    CHECK(fa && rel_err(fa, f1, a->out_dim) <= TOL_FEAT, "%s: batch-1 features differ", spec);
    /* Back to the big batch: the cached primitives for B are reused, weights changes are noticed. */
    a->params[0] += 1.0f, r->params[0] += 1.0f;
    net_params_changed(a), net_params_changed(r);
    fa = net_forward(a, x, B, 0), fr = net_forward(r, x, B, 0);
    CHECK(fa && fr && rel_err(fa, fr, nout) <= TOL_FEAT, "%s: features after a weight change differ", spec);
    free(f1), free(x), free(d);
    net_free(a), net_free(r);
}

static void test_backends_agree(void) {
    compare_backends("c16,c16,p,c24,a,c32,p,g,l20,r,l10", 3, 13, 15, 3); /* every layer kind, odd sizes */
    compare_backends("c8,p,c20,l7", 1, 9, 7, 2);                         /* flatten of a blocked tensor */
    compare_backends(SBIR_NET_DEFAULT, 3, 16, 16, 2);
}

/* A net running on its own thread count (net_set_threads) computes the same, within float
 * reassociation, and leaves the caller's OpenMP setting alone. */
static void test_threads(void) {
    sbir_rng rng;
    rng_seed(&rng, 3);
    net *n = net_create("c16,p,c32,g,l8", 3, 12, 12, 4, NET_BACKEND_DNNL);
    CHECK(n != NULL, "%s", sbir_last_error());
    if (!n) return;
    float *x = rnd(4 * 3 * 12 * 12, &rng), *d = rnd(4 * 8, &rng), f0[4 * 8];
    const float *f = net_forward(n, x, 4, 1);
    memcpy(f0, f, sizeof f0);
    int before = omp_get_max_threads();
    net_set_threads(n, 1);
    f = net_forward(n, x, 4, 1);
    CHECK(f && rel_err(f, f0, 4 * 8) <= 1e-5, "1-thread features differ");
    CHECK(net_backward(n, d) == SBIR_OK, "%s", sbir_last_error());
    CHECK(omp_get_max_threads() == before, "the caller's thread count changed");
    free(x), free(d);
    net_free(n);
}

static void test_spec_errors(void) {
    const char *bad[] = {"c0", "x", "c16,l4,c8", "c16,,p", "p,p,p,p,p,p", "l", "c16x", "g,l4,p"};
    for (size_t i = 0; i < SBIR_ARRAY_LEN(bad); i++) {
        net *n = net_create(bad[i], 3, 16, 16, 2, NET_BACKEND_REF);
        CHECK(n == NULL, "spec \"%s\" accepted", bad[i]);
        net_free(n);
    }
    net *n = net_create(SBIR_NET_DEFAULT, 3, 64, 64, 2, NET_BACKEND_REF);
    CHECK(n && n->out_dim == 128 && n->n_layers == 13, "default net");
    /* 3*32*9 + 32*32*9 + 32*64*9 + 64*64*9 + 64*128*9 + 128*128*9 + 128*256*9 weights, BN 2*(32+32+64+64+128+128+256),
     * linear 256*128 + 128. */
    size_t expect = 9 * (3 * 32 + 32 * 32 + 32 * 64 + 64 * 64 + 64 * 128 + 128 * 128 + 128 * 256) +
                    2 * (32 + 32 + 64 + 64 + 128 + 128 + 256) + 256 * 128 + 128;
    CHECK(n && net_param_count(n) == expect, "param count %zu, expected %zu", n ? net_param_count(n) : 0, expect);
    CHECK(n && net_find_tensor(n, "layers.12.linear.weight") && net_find_tensor(n, "layers.0.bn.running_var"),
          "tensor names");
    CHECK(n && net_forward(n, NULL, 3, 0) == NULL, "a batch above max_batch is rejected");
    net_free(n);
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long s = ftell(f);
    fclose(f);
    return s;
}

static void test_save_load(void) {
    char path[4096], bad[4096];
    snprintf(path, sizeof path, "%s/net.safetensors", test_tmpdir());
    snprintf(bad, sizeof bad, "%s/bad.safetensors", test_tmpdir());
    const char *spec = "c8,p,c16,g,l5";
    net *a = net_create(spec, 3, 12, 12, 2, NET_BACKEND_DNNL);
    CHECK(a != NULL, "%s", sbir_last_error());
    if (!a) return;
    net_init(a, 3);
    sbir_rng rng;
    rng_seed(&rng, 1);
    float *x = rnd(2 * 3 * 12 * 12, &rng);
    CHECK(net_forward(a, x, 2, 1) != NULL, "%s", sbir_last_error()); /* non-trivial running stats */
    CHECK(net_save(a, path) == SBIR_OK, "%s", sbir_last_error());
    net *b = net_open(path, 1, NET_BACKEND_REF);
    CHECK(b != NULL, "%s", sbir_last_error());
    if (b) {
        CHECK(b->n_params == a->n_params && !memcmp(a->params, b->params, sizeof(float) * a->n_params), "params differ");
        CHECK(b->n_bufs == a->n_bufs && !memcmp(a->bufs, b->bufs, sizeof(float) * a->n_bufs), "buffers differ");
        CHECK(!strcmp(b->spec, spec) && b->in_h == 12, "metadata");
    }
    net *c = net_create("c8,p,c16,g,l6", 3, 12, 12, 1, NET_BACKEND_REF);
    CHECK(c && net_load(c, path) == SBIR_ERR, "a file of another network is accepted");
    net_free(c);

    /* Damaged copies: a flipped byte at the end (tensor data), and truncated. */
    long size = file_size(path);
    FILE *f = fopen(path, "rb");
    unsigned char *buf = mallocCheck(size);
    CHECK(f && fread(buf, 1, size, f) == (size_t)size, "read back");
    if (f) fclose(f);
    buf[size - 5] ^= 0x10;
    test_write_file(bad, buf, size);
    float before = b ? b->params[0] : 0;
    CHECK(b && net_load(b, bad) == SBIR_ERR, "a flipped data byte is accepted");
    fprintf(stderr, "    (flipped byte: %s)\n", sbir_last_error());
    CHECK(b && b->params[0] == before, "a rejected load changed the net");
    buf[size - 5] ^= 0x10;
    test_write_file(bad, buf, size - 17);
    CHECK(b && net_load(b, bad) == SBIR_ERR, "a truncated file is accepted");
    fprintf(stderr, "    (truncated: %s)\n", sbir_last_error());
    CHECK(net_open(bad, 1, NET_BACKEND_DNNL) == NULL, "net_open of a truncated file");
    free(buf), free(x);
    net_free(a), net_free(b);
}

/* Four 16x16 pattern classes with random phase and noise: horizontal bars, vertical bars, a blob,
 * a checkerboard. */
static void make_batch(float *x, int *y, int B, sbir_rng *r) {
    for (int b = 0; b < B; b++) {
        int k = (int)rng_below(r, 4), ox = (int)rng_below(r, 4), oy = (int)rng_below(r, 4);
        float cx = 5 + rng_range(r, 0, 6), cy = 5 + rng_range(r, 0, 6);
        y[b] = k;
        for (int i = 0; i < 16; i++)
            for (int j = 0; j < 16; j++) {
                float v;
                if (k == 0) v = ((i + oy) / 2) % 2;
                else if (k == 1) v = ((j + ox) / 2) % 2;
                else if (k == 2) v = ((i - cy) * (i - cy) + (j - cx) * (j - cx)) < 12 ? 1 : 0;
                else v = (((i + oy) / 2) + ((j + ox) / 2)) % 2;
                x[(size_t)b * 256 + i * 16 + j] = v + 0.3f * rng_range(r, -1, 1);
            }
    }
}

#define LEARN_STEPS 40
static void train_small(float *losses, float *acc, net_backend be) {
    enum { B = 16, K = 4 };
    net *n = net_create("c8,p,c16,p,g,l4", 1, 16, 16, B, be);
    if (!n) {
        CHECK(0, "%s", sbir_last_error());
        return;
    }
    net_init(n, 11);
    sbir_rng r;
    rng_seed(&r, 5);
    float x[B * 256], probs[B * K], d[B * K];
    int y[B];
    for (int s = 0; s < LEARN_STEPS; s++) {
        make_batch(x, y, B, &r);
        net_zero_grad(n);
        const float *f = net_forward(n, x, B, 1);
        losses[s] = softmax_xent_forward(probs, f, y, B, K);
        softmax_xent_backward(d, probs, y, 1.0f, B, K);
        net_backward(n, d);
        net_sgd_step(n, 0.1f, 0.9f, 0.0f);
    }
    int correct = 0;
    for (int t = 0; t < 4; t++) {
        make_batch(x, y, B, &r);
        correct += softmax_correct(net_forward(n, x, B, 0), y, B, K);
    }
    *acc = correct / (4.0f * B);
    net_free(n);
}

static void test_learns(void) {
    for (int be = 0; be < 2; be++) {
        float l1[LEARN_STEPS], l2[LEARN_STEPS], acc1 = 0, acc2 = 0;
        train_small(l1, &acc1, (net_backend)be);
        train_small(l2, &acc2, (net_backend)be);
        float first = (l1[0] + l1[1] + l1[2]) / 3, last = (l1[LEARN_STEPS - 1] + l1[LEARN_STEPS - 2] + l1[LEARN_STEPS - 3]) / 3;
        fprintf(stderr, "    %s: loss %.3f -> %.3f, accuracy %.2f\n", net_backend_name((net_backend)be), first, last, acc1);
        CHECK(last < first / 20, "%s: loss only fell from %.3f to %.3f", net_backend_name((net_backend)be), first, last);
        CHECK(acc1 >= 0.9f, "%s: accuracy %.2f", net_backend_name((net_backend)be), acc1);
        CHECK(!memcmp(l1, l2, sizeof l1) && acc1 == acc2, "%s: two runs with one seed differ",
              net_backend_name((net_backend)be));
    }
}

int main(void) {
    RUN(test_spec_errors);
    RUN(test_backends_agree);
    RUN(test_threads);
    RUN(test_save_load);
    RUN(test_learns);
    return test_summary();
}
