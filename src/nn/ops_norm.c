/* ops_norm.c — batch normalisation (per channel over batch and space) and per-row L2 normalisation.
 * Statistics are accumulated in double, one channel or row per thread. */
#include <math.h>

#include "nn/ops.h"

/* inp (B,C,HW) -> out (B,C,HW); mean, rstd (C) saved; running_mean, running_var (C) updated */
void batchnorm_forward_train(float *out, float *mean, float *rstd, float *running_mean, float *running_var,
                             const float *inp, const float *gamma, const float *beta, float momentum, float eps,
                             int B, int C, int HW) {
    size_t n = (size_t)B * HW;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        double sum = 0.0;
        for (int b = 0; b < B; b++) {
            const float *x = inp + ((size_t)b * C + c) * HW;
            for (int i = 0; i < HW; i++) sum += x[i];
        }
        double m = sum / (double)n, ss = 0.0;
        for (int b = 0; b < B; b++) {
            const float *x = inp + ((size_t)b * C + c) * HW;
            for (int i = 0; i < HW; i++) ss += (x[i] - m) * (x[i] - m);
        }
        double var = ss / (double)n;
        float rs = (float)(1.0 / sqrt(var + eps));
        float g = gamma ? gamma[c] : 1.0f, be = beta ? beta[c] : 0.0f, mf = (float)m;
        for (int b = 0; b < B; b++) {
            const float *x = inp + ((size_t)b * C + c) * HW;
            float *o = out + ((size_t)b * C + c) * HW;
            for (int i = 0; i < HW; i++) o[i] = (x[i] - mf) * rs * g + be;
        }
        if (mean) mean[c] = mf;
        if (rstd) rstd[c] = rs;
        if (running_mean) running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mf;
        if (running_var) {
            double unbiased = n > 1 ? ss / (double)(n - 1) : var;
            running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (float)unbiased;
        }
    }
}

void batchnorm_forward_infer(float *out, const float *inp, const float *gamma, const float *beta,
                             const float *running_mean, const float *running_var, float eps, int B, int C, int HW) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int c = 0; c < C; c++) {
            float rs = 1.0f / sqrtf(running_var[c] + eps);
            float scale = (gamma ? gamma[c] : 1.0f) * rs;
            float shift = (beta ? beta[c] : 0.0f) - running_mean[c] * scale;
            const float *x = inp + ((size_t)b * C + c) * HW;
            float *o = out + ((size_t)b * C + c) * HW;
            for (int i = 0; i < HW; i++) o[i] = x[i] * scale + shift;
        }
    }
}

/* dout (B,C,HW) -> dinp (B,C,HW), dgamma, dbeta (C), given the saved mean and rstd */
void batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout, const float *inp,
                        const float *gamma, const float *mean, const float *rstd, int B, int C, int HW) {
    double n = (double)B * HW;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        double sdy = 0.0, sdyx = 0.0;
        float m = mean[c], rs = rstd[c];
        for (int b = 0; b < B; b++) {
            const float *x = inp + ((size_t)b * C + c) * HW;
            const float *g = dout + ((size_t)b * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                sdy += g[i];
                sdyx += g[i] * (x[i] - m) * rs;
            }
        }
        if (dgamma) dgamma[c] = (float)sdyx;
        if (dbeta) dbeta[c] = (float)sdy;
        if (!dinp) continue;
        float k = (gamma ? gamma[c] : 1.0f) * rs;
        float mdy = (float)(sdy / n), mdyx = (float)(sdyx / n);
        for (int b = 0; b < B; b++) {
            const float *x = inp + ((size_t)b * C + c) * HW;
            const float *g = dout + ((size_t)b * C + c) * HW;
            float *dx = dinp + ((size_t)b * C + c) * HW;
            for (int i = 0; i < HW; i++) dx[i] = k * (g[i] - mdy - (x[i] - m) * rs * mdyx);
        }
    }
}

/* inp (B,D) -> out (B,D), norm (B) */
void l2norm_forward(float *out, float *norm, const float *inp, float eps, int B, int D) {
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const float *x = inp + (size_t)b * D;
        float *o = out + (size_t)b * D;
        double ss = 0.0;
        for (int i = 0; i < D; i++) ss += (double)x[i] * x[i];
        float nr = (float)sqrt(ss + eps);
        for (int i = 0; i < D; i++) o[i] = x[i] / nr;
        if (norm) norm[b] = nr;
    }
}

/* dinp = (dout - out * <dout, out>) / norm, exact also with eps > 0 */
void l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, int B, int D) {
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const float *g = dout + (size_t)b * D, *y = out + (size_t)b * D;
        float *dx = dinp + (size_t)b * D;
        double dot = 0.0;
        for (int i = 0; i < D; i++) dot += (double)g[i] * y[i];
        float d = (float)dot, inv = 1.0f / norm[b];
        for (int i = 0; i < D; i++) dx[i] = (g[i] - y[i] * d) * inv;
    }
}
