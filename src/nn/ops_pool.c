/* ops_pool.c — max, average and global average pooling; one (b, c) plane per thread. */
#include <math.h>
#include <string.h>

#include "nn/ops.h"
#include "util/common.h"

/* inp (B,C,H,W) -> out, argmax (B,C,OH,OW); the first maximum wins ties, -1 if the window is all padding */
void maxpool2d_forward(float *out, int *argmax, const float *inp, int B, int C, int H, int W, int K, int S, int P) {
    int OH = conv_out_size(H, K, S, P), OW = conv_out_size(W, K, S, P);
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        const float *x = inp + (size_t)bc * H * W;
        float *o = out + (size_t)bc * OH * OW;
        int *am = argmax + (size_t)bc * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            for (int ow = 0; ow < OW; ow++) {
                float best = -INFINITY;
                int arg = -1;
                for (int kh = 0; kh < K; kh++) {
                    int ih = oh * S - P + kh;
                    if (ih < 0 || ih >= H) continue;
                    for (int kw = 0; kw < K; kw++) {
                        int iw = ow * S - P + kw;
                        if (iw < 0 || iw >= W) continue;
                        if (arg < 0 || x[ih * W + iw] > best) {
                            best = x[ih * W + iw];
                            arg = ih * W + iw;
                        }
                    }
                }
                o[oh * OW + ow] = arg < 0 ? 0.0f : best;
                am[oh * OW + ow] = arg;
            }
        }
    }
}

void maxpool2d_backward(float *dinp, const float *dout, const int *argmax, int B, int C, int H, int W, int K, int S,
                        int P) {
    int OH = conv_out_size(H, K, S, P), OW = conv_out_size(W, K, S, P);
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        float *dx = dinp + (size_t)bc * H * W;
        const float *g = dout + (size_t)bc * OH * OW;
        const int *am = argmax + (size_t)bc * OH * OW;
        memset(dx, 0, sizeof(float) * H * W);
        for (int i = 0; i < OH * OW; i++)
            if (am[i] >= 0) dx[am[i]] += g[i];
    }
}

/* inp (B,C,H,W) -> out (B,C,OH,OW), mean over the window's positions inside the input */
void avgpool2d_forward(float *out, const float *inp, int B, int C, int H, int W, int K, int S, int P) {
    int OH = conv_out_size(H, K, S, P), OW = conv_out_size(W, K, S, P);
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        const float *x = inp + (size_t)bc * H * W;
        float *o = out + (size_t)bc * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            int h0 = SBIR_MAX(oh * S - P, 0), h1 = SBIR_MIN(oh * S - P + K, H);
            for (int ow = 0; ow < OW; ow++) {
                int w0 = SBIR_MAX(ow * S - P, 0), w1 = SBIR_MIN(ow * S - P + K, W);
                float acc = 0.0f;
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++) acc += x[ih * W + iw];
                int cnt = (h1 - h0) * (w1 - w0);
                o[oh * OW + ow] = cnt > 0 ? acc / (float)cnt : 0.0f;
            }
        }
    }
}

void avgpool2d_backward(float *dinp, const float *dout, int B, int C, int H, int W, int K, int S, int P) {
    int OH = conv_out_size(H, K, S, P), OW = conv_out_size(W, K, S, P);
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        float *dx = dinp + (size_t)bc * H * W;
        const float *g = dout + (size_t)bc * OH * OW;
        memset(dx, 0, sizeof(float) * H * W);
        for (int oh = 0; oh < OH; oh++) {
            int h0 = SBIR_MAX(oh * S - P, 0), h1 = SBIR_MIN(oh * S - P + K, H);
            for (int ow = 0; ow < OW; ow++) {
                int w0 = SBIR_MAX(ow * S - P, 0), w1 = SBIR_MIN(ow * S - P + K, W);
                int cnt = (h1 - h0) * (w1 - w0);
                if (cnt <= 0) continue;
                float v = g[oh * OW + ow] / (float)cnt;
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++) dx[ih * W + iw] += v;
            }
        }
    }
}

/* inp (B,C,HW) -> out (B,C) */
void global_avgpool_forward(float *out, const float *inp, int B, int C, int HW) {
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        const float *x = inp + (size_t)bc * HW;
        float acc = 0.0f;
        for (int i = 0; i < HW; i++) acc += x[i];
        out[bc] = acc / (float)HW;
    }
}

void global_avgpool_backward(float *dinp, const float *dout, int B, int C, int HW) {
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        float v = dout[bc] / (float)HW;
        float *dx = dinp + (size_t)bc * HW;
        for (int i = 0; i < HW; i++) dx[i] = v;
    }
}
