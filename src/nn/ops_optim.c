/* ops_optim.c — SGD with momentum, AdamW, learning-rate schedules, He initialisation. */
#include <math.h>

#include "nn/ops.h"

void sgd_step(float *param, const float *grad, float *buf, size_t n, float lr, float momentum, float weight_decay) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] + weight_decay * param[i];
        buf[i] = momentum * buf[i] + g;
        param[i] -= lr * buf[i];
    }
}

void adamw_step(float *param, const float *grad, float *m, float *v, size_t n, int t, float lr, float beta1,
                float beta2, float eps, float weight_decay) {
    float c1 = 1.0f - powf(beta1, (float)t), c2 = 1.0f - powf(beta2, (float)t);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        m[i] = beta1 * m[i] + (1.0f - beta1) * g;
        v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
        float mhat = m[i] / c1, vhat = v[i] / c2;
        param[i] -= lr * weight_decay * param[i];
        param[i] -= lr * mhat / (sqrtf(vhat) + eps);
    }
}

float lr_cosine(int step, int warmup, int total, float lr_max, float lr_min) {
    if (step < warmup) return lr_max * (float)(step + 1) / (float)warmup;
    if (step >= total || total <= warmup) return lr_min;
    double progress = (double)(step - warmup) / (double)(total - warmup);
    return lr_min + (float)(0.5 * (lr_max - lr_min) * (1.0 + cos(M_PI * progress)));
}

float lr_step_decay(int step, float lr0, int step_size, float gamma) {
    return step_size > 0 ? lr0 * powf(gamma, (float)(step / step_size)) : lr0;
}

void he_normal_init(float *w, size_t n, int fan_in, sbir_rng *rng) {
    float std = sqrtf(2.0f / (float)fan_in);
    for (size_t i = 0; i < n; i++) w[i] = std * rng_normal(rng);
}
