/* test_nn_torch.c — the reference ops against Debian's PyTorch (/usr/bin/python3), forward and
 * backward: conv2d, batch norm (with running statistics), max and average pooling, linear, softmax
 * cross-entropy, and a few AdamW and SGD steps. Inputs go to raw float32 files, one Python process
 * computes every case, and the outputs are compared with a relative tolerance of 1e-4 (of the
 * tensor's largest magnitude; the two differ only in summation order). Skips when /usr/bin/python3
 * cannot import torch. */
#include <string.h>
#include <sys/wait.h>

#include "nn/ops.h"
#include "test.h"
#include "util/common.h"

static const char *PY =
    "import sys\n"
    "try:\n"
    "    import numpy as np, torch, torch.nn.functional as F\n"
    "except Exception:\n"
    "    sys.exit(77)\n"
    "torch.set_num_threads(1)\n"
    "d = sys.argv[1]\n"
    "def ld(n, shape): return torch.from_numpy(np.fromfile(d + '/' + n + '.f32', dtype=np.float32).reshape(shape).copy())\n"
    "def sv(n, t): t.detach().contiguous().numpy().astype(np.float32).tofile(d + '/' + n + '.out.f32')\n"
    "def g(t): return t.requires_grad_()\n"
    "for line in open(d + '/cases.txt'):\n"
    "    f = line.split(); k = f[0]; p = k + f[1] + '_'; a = [int(v) for v in f[2:]]\n"
    "    if k == 'conv':\n"
    "        B, C, H, W, OC, KH, KW, S, P = a\n"
    "        x = g(ld(p + 'x', (B, C, H, W))); w = g(ld(p + 'w', (OC, C, KH, KW))); b = g(ld(p + 'b', (OC,)))\n"
    "        y = F.conv2d(x, w, b, stride=S, padding=P); y.backward(ld(p + 'dy', y.shape))\n"
    "        sv(p + 'y', y); sv(p + 'dx', x.grad); sv(p + 'dw', w.grad); sv(p + 'db', b.grad)\n"
    "    elif k == 'bn':\n"
    "        B, C, HW = a\n"
    "        x = g(ld(p + 'x', (B, C, HW))); ga = g(ld(p + 'g', (C,))); be = g(ld(p + 'b', (C,)))\n"
    "        rm = ld(p + 'rm', (C,)); rv = ld(p + 'rv', (C,))\n"
    "        y = F.batch_norm(x, rm, rv, ga, be, training=True, momentum=0.1, eps=1e-5); y.backward(ld(p + 'dy', y.shape))\n"
    "        sv(p + 'y', y); sv(p + 'dx', x.grad); sv(p + 'dg', ga.grad); sv(p + 'db', be.grad); sv(p + 'rm', rm); sv(p + 'rv', rv)\n"
    "    elif k in ('maxpool', 'avgpool'):\n"
    "        B, C, H, W, K, S, P = a\n"
    "        x = g(ld(p + 'x', (B, C, H, W)))\n"
    "        y = F.max_pool2d(x, K, S, P) if k == 'maxpool' else F.avg_pool2d(x, K, S, P, count_include_pad=False)\n"
    "        y.backward(ld(p + 'dy', y.shape)); sv(p + 'y', y); sv(p + 'dx', x.grad)\n"
    "    elif k == 'linear':\n"
    "        B, I, O = a\n"
    "        x = g(ld(p + 'x', (B, I))); w = g(ld(p + 'w', (O, I))); b = g(ld(p + 'b', (O,)))\n"
    "        y = F.linear(x, w, b); y.backward(ld(p + 'dy', y.shape))\n"
    "        sv(p + 'y', y); sv(p + 'dx', x.grad); sv(p + 'dw', w.grad); sv(p + 'db', b.grad)\n"
    "    elif k == 'xent':\n"
    "        B, K = a\n"
    "        z = g(ld(p + 'z', (B, K))); lab = ld(p + 'lab', (B,)).long()\n"
    "        loss = F.cross_entropy(z, lab); loss.backward(); sv(p + 'loss', loss.reshape(1)); sv(p + 'dz', z.grad)\n"
    "    elif k in ('adamw', 'sgd'):\n"
    "        n, steps = a\n"
    "        w = torch.nn.Parameter(ld(p + 'w', (n,)))\n"
    "        opt = torch.optim.AdamW([w], lr=0.01, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.05) if k == 'adamw' else \\\n"
    "            torch.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=1e-3)\n"
    "        for s in range(steps):\n"
    "            w.grad = ld(p + 'g%d' % s, (n,)); opt.step()\n"
    "        sv(p + 'w', w)\n";

static const char *g_dir;
static sbir_rng g_rng;
static FILE *g_cases;
static int g_id;

static float *randn(size_t n) {
    float *x = mallocCheck(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) x[i] = rng_normal(&g_rng);
    return x;
}

static void save(const char *kind, const char *name, const float *x, size_t n) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s%d_%s.f32", g_dir, kind, g_id, name);
    test_write_file(path, x, sizeof(float) * n);
}

/* Compares our result with torch's saved output. Called after python ran, with the case's id. */
static void compare(const char *kind, int id, const char *name, const float *ours, size_t n) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s%d_%s.out.f32", g_dir, kind, id, name);
    FILE *f = fopen(path, "rb");
    float *theirs = mallocCheck(sizeof(float) * (n + 1));
    size_t got = f ? fread(theirs, sizeof(float), n + 1, f) : 0;
    if (f) fclose(f);
    double d = got == n ? test_max_rel_diff(ours, theirs, n) : INFINITY;
    CHECK(got == n && d < 1e-4, "%s case %d %s: %zu of %zu values read, max rel diff %g", kind, id, name, got, n, d);
    free(theirs);
}

/* Each case: write inputs and a line in cases.txt now, compute ours, keep it for compare(). */
typedef struct {
    const char *kind, *name;
    int id;
    float *ours;
    size_t n;
} result;
static result g_res[128];
static int g_nres;

static void keep(const char *kind, const char *name, float *ours, size_t n) {
    g_res[g_nres++] = (result){kind, name, g_id, ours, n};
}

static void conv_case(int B, int C, int H, int W, int OC, int KH, int KW, int S, int P) {
    int OH = conv_out_size(H, KH, S, P), OW = conv_out_size(W, KW, S, P);
    size_t nx = (size_t)B * C * H * W, nw = (size_t)OC * C * KH * KW, ny = (size_t)B * OC * OH * OW;
    float *x = randn(nx), *w = randn(nw), *b = randn(OC), *dy = randn(ny);
    float *y = mallocCheck(sizeof(float) * ny), *dx = mallocCheck(sizeof(float) * nx);
    float *dw = mallocCheck(sizeof(float) * nw), *db = mallocCheck(sizeof(float) * OC);
    conv2d_forward(y, x, w, b, B, C, H, W, OC, KH, KW, S, P);
    conv2d_backward(dx, dw, db, dy, x, w, B, C, H, W, OC, KH, KW, S, P);
    save("conv", "x", x, nx), save("conv", "w", w, nw), save("conv", "b", b, OC), save("conv", "dy", dy, ny);
    fprintf(g_cases, "conv %d %d %d %d %d %d %d %d %d %d\n", g_id, B, C, H, W, OC, KH, KW, S, P);
    keep("conv", "y", y, ny), keep("conv", "dx", dx, nx), keep("conv", "dw", dw, nw), keep("conv", "db", db, OC);
    free(x), free(w), free(b), free(dy);
    g_id++;
}

static void bn_case(int B, int C, int HW) {
    size_t n = (size_t)B * C * HW;
    float *x = randn(n), *ga = randn(C), *be = randn(C), *dy = randn(n), *rm = randn(C), *rv = randn(C);
    for (int c = 0; c < C; c++) rv[c] = 1.0f + fabsf(rv[c]);
    save("bn", "x", x, n), save("bn", "g", ga, C), save("bn", "b", be, C), save("bn", "dy", dy, n);
    save("bn", "rm", rm, C), save("bn", "rv", rv, C);
    float *y = mallocCheck(sizeof(float) * n), *dx = mallocCheck(sizeof(float) * n), mean[16], rstd[16];
    float *dg = mallocCheck(sizeof(float) * C), *db = mallocCheck(sizeof(float) * C);
    batchnorm_forward_train(y, mean, rstd, rm, rv, x, ga, be, 0.1f, 1e-5f, B, C, HW);
    batchnorm_backward(dx, dg, db, dy, x, ga, mean, rstd, B, C, HW);
    fprintf(g_cases, "bn %d %d %d %d\n", g_id, B, C, HW);
    keep("bn", "y", y, n), keep("bn", "dx", dx, n), keep("bn", "dg", dg, C), keep("bn", "db", db, C);
    keep("bn", "rm", rm, C), keep("bn", "rv", rv, C);
    free(x), free(ga), free(be), free(dy);
    g_id++;
}

static void pool_case(int max, int B, int C, int H, int W, int K, int S, int P) {
    const char *kind = max ? "maxpool" : "avgpool";
    size_t nx = (size_t)B * C * H * W, ny = (size_t)B * C * conv_out_size(H, K, S, P) * conv_out_size(W, K, S, P);
    float *x = randn(nx), *dy = randn(ny), *y = mallocCheck(sizeof(float) * ny), *dx = mallocCheck(sizeof(float) * nx);
    int *am = mallocCheck(sizeof(int) * ny);
    if (max) {
        maxpool2d_forward(y, am, x, B, C, H, W, K, S, P);
        maxpool2d_backward(dx, dy, am, B, C, H, W, K, S, P);
    } else {
        avgpool2d_forward(y, x, B, C, H, W, K, S, P);
        avgpool2d_backward(dx, dy, B, C, H, W, K, S, P);
    }
    save(kind, "x", x, nx), save(kind, "dy", dy, ny);
    fprintf(g_cases, "%s %d %d %d %d %d %d %d %d\n", kind, g_id, B, C, H, W, K, S, P);
    keep(kind, "y", y, ny), keep(kind, "dx", dx, nx);
    free(x), free(dy), free(am);
    g_id++;
}

static void linear_case(int B, int IN, int OUT) {
    float *x = randn((size_t)B * IN), *w = randn((size_t)OUT * IN), *b = randn(OUT), *dy = randn((size_t)B * OUT);
    float *y = mallocCheck(sizeof(float) * B * OUT), *dx = mallocCheck(sizeof(float) * B * IN);
    float *dw = mallocCheck(sizeof(float) * OUT * IN), *db = mallocCheck(sizeof(float) * OUT);
    linear_forward(y, x, w, b, B, IN, OUT);
    linear_backward(dx, dw, db, dy, x, w, B, IN, OUT);
    save("linear", "x", x, (size_t)B * IN), save("linear", "w", w, (size_t)OUT * IN), save("linear", "b", b, OUT);
    save("linear", "dy", dy, (size_t)B * OUT);
    fprintf(g_cases, "linear %d %d %d %d\n", g_id, B, IN, OUT);
    keep("linear", "y", y, (size_t)B * OUT), keep("linear", "dx", dx, (size_t)B * IN);
    keep("linear", "dw", dw, (size_t)OUT * IN), keep("linear", "db", db, OUT);
    free(x), free(w), free(b), free(dy);
    g_id++;
}

static void xent_case(int B, int K) {
    float *z = randn((size_t)B * K), *lab = mallocCheck(sizeof(float) * B), *p = mallocCheck(sizeof(float) * B * K);
    float *dz = mallocCheck(sizeof(float) * B * K), *loss = mallocCheck(sizeof(float));
    int *il = mallocCheck(sizeof(int) * B);
    for (int b = 0; b < B; b++) il[b] = (int)rng_below(&g_rng, (uint32_t)K), lab[b] = (float)il[b];
    *loss = softmax_xent_forward(p, z, il, B, K);
    softmax_xent_backward(dz, p, il, 1.0f, B, K);
    save("xent", "z", z, (size_t)B * K), save("xent", "lab", lab, B);
    fprintf(g_cases, "xent %d %d %d\n", g_id, B, K);
    keep("xent", "loss", loss, 1), keep("xent", "dz", dz, (size_t)B * K);
    free(z), free(lab), free(p), free(il);
    g_id++;
}

static void optim_case(int adamw, int n, int steps) {
    const char *kind = adamw ? "adamw" : "sgd";
    float *w = randn(n), *m = callocCheck(n, sizeof(float)), *v = callocCheck(n, sizeof(float));
    save(kind, "w", w, n);
    for (int s = 0; s < steps; s++) {
        float *g = randn(n);
        char name[16];
        snprintf(name, sizeof name, "g%d", s);
        save(kind, name, g, n);
        if (adamw)
            adamw_step(w, g, m, v, n, s + 1, 0.01f, 0.9f, 0.99f, 1e-8f, 0.05f);
        else
            sgd_step(w, g, m, n, 0.1f, 0.9f, 1e-3f);
        free(g);
    }
    fprintf(g_cases, "%s %d %d %d\n", kind, g_id, n, steps);
    keep(kind, "w", w, n);
    free(m), free(v);
    g_id++;
}

static void test_against_torch(void) {
    g_dir = test_tmpdir();
    char path[4200], cmd[8600];
    snprintf(path, sizeof path, "%s/cases.txt", g_dir);
    g_cases = fopen(path, "w");
    CHECK(g_cases != NULL, "cannot write %s", path);
    if (!g_cases) return;
    conv_case(2, 3, 5, 7, 4, 3, 3, 2, 1);
    conv_case(1, 2, 6, 5, 3, 3, 2, 1, 0);
    conv_case(2, 4, 9, 8, 3, 5, 3, 2, 2);
    bn_case(2, 3, 35);
    bn_case(4, 5, 1);
    pool_case(1, 2, 3, 5, 7, 3, 2, 1);
    pool_case(1, 1, 2, 8, 6, 2, 2, 0);
    pool_case(0, 2, 3, 5, 7, 3, 2, 1);
    pool_case(0, 1, 2, 7, 7, 3, 3, 1);
    linear_case(3, 17, 5);
    linear_case(1, 4, 9);
    xent_case(5, 7);
    optim_case(1, 10, 4);
    optim_case(0, 10, 4);
    fclose(g_cases);
    snprintf(path, sizeof path, "%s/ref.py", g_dir);
    test_write_file(path, PY, strlen(PY));
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/ref.py' '%s' 2>&1", g_dir, g_dir);
    int rc = system(cmd);
    if (rc != -1 && WIFEXITED(rc) && (WEXITSTATUS(rc) == 77 || WEXITSTATUS(rc) == 127)) {
        SKIP("/usr/bin/python3 with torch not available");
    } else {
        CHECK(rc == 0, "the torch script failed (status %d)", rc);
        for (int i = 0; i < g_nres; i++) compare(g_res[i].kind, g_res[i].id, g_res[i].name, g_res[i].ours, g_res[i].n);
    }
    for (int i = 0; i < g_nres; i++) free(g_res[i].ours);
}

int main(void) {
    rng_seed(&g_rng, 777);
    RUN(test_against_torch);
    return test_summary();
}
