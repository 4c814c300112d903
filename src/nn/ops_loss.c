/* ops_loss.c — softmax cross-entropy and classification accuracy. */
#include <math.h>

#include "nn/ops.h"

/* logits (B,K), labels (B) -> probs (B,K); returns mean over b of -log probs[b, labels[b]] */
/* The plain loss is the smoothed one with eps = 0 (the same arithmetic: weights 1 and 0). */
float softmax_xent_forward(float *probs, const float *logits, const int *labels, int B, int K) {
    return softmax_xent_smooth_forward(probs, logits, labels, 0.0f, B, K);
}

void softmax_xent_backward(float *dlogits, const float *probs, const int *labels, float dloss, int B, int K) {
    softmax_xent_smooth_backward(dlogits, probs, labels, 0.0f, dloss, B, K);
}

float softmax_xent_smooth_forward(float *probs, const float *logits, const int *labels, float eps, int B, int K) {
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        float *p = probs + (size_t)b * K;
        float zmax = z[0];
        for (int k = 1; k < K; k++) zmax = z[k] > zmax ? z[k] : zmax;
        double sum = 0.0, zsum = 0.0;
        for (int k = 0; k < K; k++) sum += exp((double)z[k] - zmax), zsum += (double)z[k] - zmax;
        for (int k = 0; k < K; k++) p[k] = (float)(exp((double)z[k] - zmax) / sum);
        /* -log p_k = log(sum) - (z_k - zmax), weighted by the target */
        double lse = log(sum);
        total += (1.0 - eps) * (lse - ((double)z[labels[b]] - zmax)) + eps * (lse - zsum / K);
    }
    return B > 0 ? (float)(total / B) : 0.0f;
}

void softmax_xent_smooth_backward(float *dlogits, const float *probs, const int *labels, float eps, float dloss, int B,
                                  int K) {
    float s = dloss / (float)B, off = eps / (float)K, on = 1.0f - eps + off;
    for (int b = 0; b < B; b++) {
        const float *p = probs + (size_t)b * K;
        float *d = dlogits + (size_t)b * K;
        for (int k = 0; k < K; k++) d[k] = s * (p[k] - (k == labels[b] ? on : off));
    }
}

int softmax_correct(const float *logits, const int *labels, int B, int K) {
    int correct = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (z[k] > z[best]) best = k;
        correct += best == labels[b];
    }
    return correct;
}
