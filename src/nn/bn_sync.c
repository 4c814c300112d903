/* bn_sync.c — batch normalisation with statistics summed over processes (see bn_sync.h). */
#include "nn/bn_sync.h"

#include <math.h>

#include "util/common.h"

static int blocks(const bn_shape *s) { return (s->C + s->k - 1) / s->k; }

/* Start of (b, channel block cb): HW * k consecutive floats, space outer, channel-in-block inner. */
static size_t block_at(const bn_shape *s, int b, int cb) { return ((size_t)b * blocks(s) + cb) * s->HW * s->k; }

static int block_width(const bn_shape *s, int cb) { return SBIR_MIN(s->k, s->C - cb * s->k); }

/* acc[c] = this process's sum over batch and space of x (centre NULL) or of (x - centre[c])^2. */
static void channel_sums(const bn_shape *s, const float *x, const double *centre, double *acc) {
    int k = s->k, Cb = blocks(s);
#pragma omp parallel for schedule(static)
    for (int cb = 0; cb < Cb; cb++) {
        int kk = block_width(s, cb);
        double a[BN_SYNC_MAX_BLOCK] = {0}, m[BN_SYNC_MAX_BLOCK] = {0};
        for (int j = 0; centre && j < kk; j++) m[j] = centre[cb * k + j];
        for (int b = 0; b < s->B; b++) {
            const float *p = x + block_at(s, b, cb);
            for (int i = 0; i < s->HW; i++, p += k) {
                if (centre)
                    for (int j = 0; j < kk; j++) a[j] += (p[j] - m[j]) * (p[j] - m[j]);
                else
                    for (int j = 0; j < kk; j++) a[j] += p[j];
            }
        }
        for (int j = 0; j < kk; j++) acc[cb * k + j] = a[j];
    }
}

/* y = (x - mean) * rstd * gamma + beta (batchnorm_forward_train's expression), ReLU optional. */
static void normalise(const bn_shape *s, const float *x, float *y, int relu, const float *gamma, const float *beta,
                      const float *mean, const float *rstd) {
    int k = s->k, Cb = blocks(s);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < s->B; b++) {
        for (int cb = 0; cb < Cb; cb++) {
            int kk = block_width(s, cb), c0 = cb * k;
            const float *p = x + block_at(s, b, cb);
            float *q = y + block_at(s, b, cb);
            for (int i = 0; i < s->HW; i++, p += k, q += k)
                for (int j = 0; j < kk; j++) {
                    float v = (p[j] - mean[c0 + j]) * rstd[c0 + j] * gamma[c0 + j] + beta[c0 + j];
                    q[j] = relu && !(v > 0) ? 0.0f : v;
                }
        }
    }
}

int bn_sync_forward(const bn_shape *s, const float *x, float *y, int relu, const float *gamma, const float *beta,
                    float *mean, float *rstd, double *count, float *running_mean, float *running_var,
                    float momentum, float eps, net_allreduce_fn reduce) {
    int C = s->C;
    double *acc = mallocCheck(sizeof(double) * (2 * (size_t)C + 1)), *m = acc + C + 1;
    channel_sums(s, x, NULL, acc);
    acc[C] = (double)s->B * s->HW; /* counts travel with the sums: slices need not be equal */
    if (reduce && reduce(acc, (size_t)C + 1) != SBIR_OK) goto fail;
    double n = acc[C];
    for (int c = 0; c < C; c++) m[c] = acc[c] / n;
    channel_sums(s, x, m, acc);
    if (reduce && reduce(acc, (size_t)C) != SBIR_OK) goto fail;
    for (int c = 0; c < C; c++) {
        double var = acc[c] / n, unbiased = n > 1 ? acc[c] / (n - 1) : var;
        mean[c] = (float)m[c];
        rstd[c] = (float)(1.0 / sqrt(var + eps));
        if (running_mean) running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean[c];
        if (running_var) running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (float)unbiased;
    }
    *count = n;
    free(acc);
    normalise(s, x, y, relu, gamma, beta, mean, rstd);
    return SBIR_OK;
fail:
    free(acc);
    return SBIR_ERR;
}

/* acc[c] = sum of g, acc[C + c] = sum of g * xhat over this process's slice; g = dy, masked by y. */
static void grad_sums(const bn_shape *s, const float *x, const float *y, const float *dy, const float *mean,
                      const float *rstd, double *acc) {
    int k = s->k, Cb = blocks(s);
#pragma omp parallel for schedule(static)
    for (int cb = 0; cb < Cb; cb++) {
        int kk = block_width(s, cb), c0 = cb * k;
        double sdy[BN_SYNC_MAX_BLOCK] = {0}, sdyx[BN_SYNC_MAX_BLOCK] = {0};
        for (int b = 0; b < s->B; b++) {
            size_t o = block_at(s, b, cb);
            for (int i = 0; i < s->HW; i++, o += k)
                for (int j = 0; j < kk; j++) {
                    float g = y && !(y[o + j] > 0) ? 0.0f : dy[o + j];
                    sdy[j] += g;
                    sdyx[j] += g * (x[o + j] - mean[c0 + j]) * rstd[c0 + j];
                }
        }
        for (int j = 0; j < kk; j++) acc[c0 + j] = sdy[j], acc[s->C + c0 + j] = sdyx[j];
    }
}

int bn_sync_backward(const bn_shape *s, const float *x, const float *y, const float *dy, float *dx,
                     const float *gamma, const float *mean, const float *rstd, double count, float *dgamma,
                     float *dbeta, net_allreduce_fn reduce) {
    int C = s->C, k = s->k, Cb = blocks(s);
    double *acc = mallocCheck(sizeof(double) * 2 * (size_t)C);
    grad_sums(s, x, y, dy, mean, rstd, acc);
    for (int c = 0; c < C; c++) {
        if (dbeta) dbeta[c] += (float)acc[c];
        if (dgamma) dgamma[c] += (float)acc[C + c];
    }
    if (reduce && reduce(acc, 2 * (size_t)C) != SBIR_OK) {
        free(acc);
        return SBIR_ERR;
    }
    float *mdy = mallocCheck(sizeof(float) * 2 * (size_t)C), *mdyx = mdy + C;
    for (int c = 0; c < C; c++) mdy[c] = (float)(acc[c] / count), mdyx[c] = (float)(acc[C + c] / count);
    free(acc);
    /* batchnorm_backward's expression with the global means of g and g * xhat */
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < s->B; b++) {
        for (int cb = 0; cb < Cb; cb++) {
            int kk = block_width(s, cb), c0 = cb * k;
            size_t o = block_at(s, b, cb);
            for (int i = 0; i < s->HW; i++, o += k)
                for (int j = 0; j < kk; j++) {
                    int c = c0 + j;
                    float g = y && !(y[o + j] > 0) ? 0.0f : dy[o + j];
                    dx[o + j] = gamma[c] * rstd[c] * (g - mdy[c] - (x[o + j] - mean[c]) * rstd[c] * mdyx[c]);
                }
        }
    }
    free(mdy);
    return SBIR_OK;
}
