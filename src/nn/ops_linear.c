/* ops_linear.c — fully connected layer, plain loops; each output element summed in a fixed order. */
#include "nn/ops.h"

/* inp (B,IN), weight (OUT,IN), bias (OUT) -> out (B,OUT) */
void linear_forward(float *out, const float *inp, const float *weight, const float *bias, int B, int IN, int OUT) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int o = 0; o < OUT; o++) {
            const float *x = inp + (size_t)b * IN, *w = weight + (size_t)o * IN;
            float acc = bias ? bias[o] : 0.0f;
            for (int i = 0; i < IN; i++) acc += x[i] * w[i];
            out[(size_t)b * OUT + o] = acc;
        }
    }
}

/* dout (B,OUT) -> dinp (B,IN), dweight (OUT,IN), dbias (OUT); each may be NULL */
void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, int B, int IN, int OUT) {
    if (dinp) {
#pragma omp parallel for schedule(static)
        for (int b = 0; b < B; b++) {
            float *dx = dinp + (size_t)b * IN;
            const float *g = dout + (size_t)b * OUT;
            for (int i = 0; i < IN; i++) dx[i] = 0.0f;
            for (int o = 0; o < OUT; o++) {
                const float *w = weight + (size_t)o * IN;
                float go = g[o];
                for (int i = 0; i < IN; i++) dx[i] += go * w[i];
            }
        }
    }
    if (dweight || dbias) {
#pragma omp parallel for schedule(static)
        for (int o = 0; o < OUT; o++) {
            float *dw = dweight ? dweight + (size_t)o * IN : NULL;
            float db = 0.0f;
            if (dw)
                for (int i = 0; i < IN; i++) dw[i] = 0.0f;
            for (int b = 0; b < B; b++) {
                float go = dout[(size_t)b * OUT + o];
                const float *x = inp + (size_t)b * IN;
                db += go;
                if (dw)
                    for (int i = 0; i < IN; i++) dw[i] += go * x[i];
            }
            if (dbias) dbias[o] = db;
        }
    }
}
