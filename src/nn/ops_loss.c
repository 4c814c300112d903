/* ops_loss.c — softmax cross-entropy and classification accuracy. */
#include <math.h>

#include "nn/ops.h"

/* logits (B,K), labels (B) -> probs (B,K); returns mean over b of -log probs[b, labels[b]] */
float softmax_xent_forward(float *probs, const float *logits, const int *labels, int B, int K) {
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        float *p = probs + (size_t)b * K;
        float zmax = z[0];
        for (int k = 1; k < K; k++) zmax = z[k] > zmax ? z[k] : zmax;
        double sum = 0.0;
        for (int k = 0; k < K; k++) sum += exp((double)z[k] - zmax);
        for (int k = 0; k < K; k++) p[k] = (float)(exp((double)z[k] - zmax) / sum);
        total += log(sum) - ((double)z[labels[b]] - zmax);
    }
    return B > 0 ? (float)(total / B) : 0.0f;
}

void softmax_xent_backward(float *dlogits, const float *probs, const int *labels, float dloss, int B, int K) {
    float s = dloss / (float)B;
    for (int b = 0; b < B; b++) {
        const float *p = probs + (size_t)b * K;
        float *d = dlogits + (size_t)b * K;
        for (int k = 0; k < K; k++) d[k] = s * (p[k] - (k == labels[b] ? 1.0f : 0.0f));
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
