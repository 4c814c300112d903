/* ops_act.c — element-wise activations: leaky ReLU and dropout. */
#include "nn/ops.h"

void leaky_relu_forward(float *out, const float *inp, float slope, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : slope * inp[i];
}

void leaky_relu_backward(float *dinp, const float *dout, const float *inp, float slope, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) dinp[i] = inp[i] > 0.0f ? dout[i] : slope * dout[i];
}

/* The mask is drawn serially so that it depends only on the rng state, not on threads. */
void dropout_forward(float *out, float *mask, const float *inp, float p, size_t n, sbir_rng *rng) {
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        mask[i] = (p > 0.0f && rng_uniform(rng) < p) ? 0.0f : keep;
        out[i] = inp[i] * mask[i];
    }
}

void dropout_backward(float *dinp, const float *dout, const float *mask, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) dinp[i] = dout[i] * mask[i];
}
