/* ops_conv.c — 2-D convolution (cross-correlation, zero padding), direct loops.
 * Every output element is written by exactly one thread and summed in a fixed order, so results do
 * not depend on the number of threads. */
#include <string.h>

#include "nn/ops.h"

/* Output positions [*lo, *hi) along one axis whose input position o*stride - pad + k lies in [0, in). */
static void valid_range(int *lo, int *hi, int k, int pad, int stride, int in, int out) {
    int first = pad - k > 0 ? (pad - k + stride - 1) / stride : 0;
    int last = in - 1 + pad - k;
    int end = last < 0 ? 0 : last / stride + 1;
    if (end > out) end = out;
    *lo = first < end ? first : end;
    *hi = end;
}

/* inp (B,C,H,W), weight (OC,C,KH,KW), bias (OC) -> out (B,OC,OH,OW) */
void conv2d_forward(float *out, const float *inp, const float *weight, const float *bias, int B, int C, int H,
                    int W, int OC, int KH, int KW, int stride, int pad) {
    int OH = conv_out_size(H, KH, stride, pad), OW = conv_out_size(W, KW, stride, pad);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int oc = 0; oc < OC; oc++) {
            float *o = out + ((size_t)b * OC + oc) * OH * OW;
            float b0 = bias ? bias[oc] : 0.0f;
            for (int i = 0; i < OH * OW; i++) o[i] = b0;
            for (int c = 0; c < C; c++) {
                const float *x = inp + ((size_t)b * C + c) * H * W;
                const float *w = weight + ((size_t)oc * C + c) * KH * KW;
                for (int kh = 0; kh < KH; kh++) {
                    int oh0, oh1;
                    valid_range(&oh0, &oh1, kh, pad, stride, H, OH);
                    for (int kw = 0; kw < KW; kw++) {
                        int ow0, ow1;
                        valid_range(&ow0, &ow1, kw, pad, stride, W, OW);
                        float wv = w[kh * KW + kw];
                        for (int oh = oh0; oh < oh1; oh++) {
                            const float *xr = x + (size_t)(oh * stride - pad + kh) * W;
                            float *orow = o + (size_t)oh * OW;
                            for (int ow = ow0; ow < ow1; ow++) orow[ow] += wv * xr[ow * stride - pad + kw];
                        }
                    }
                }
            }
        }
    }
}

/* dout (B,OC,OH,OW) -> dinp (B,C,H,W), dweight (OC,C,KH,KW), dbias (OC); each may be NULL. */
void conv2d_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, int B, int C, int H, int W, int OC, int KH, int KW, int stride, int pad) {
    int OH = conv_out_size(H, KH, stride, pad), OW = conv_out_size(W, KW, stride, pad);
    size_t oplane = (size_t)OH * OW;
    if (dinp) {
#pragma omp parallel for collapse(2) schedule(static)
        for (int b = 0; b < B; b++) {
            for (int c = 0; c < C; c++) {
                float *dx = dinp + ((size_t)b * C + c) * H * W;
                memset(dx, 0, sizeof(float) * H * W);
                for (int oc = 0; oc < OC; oc++) {
                    const float *g = dout + ((size_t)b * OC + oc) * oplane;
                    const float *w = weight + ((size_t)oc * C + c) * KH * KW;
                    for (int kh = 0; kh < KH; kh++) {
                        int oh0, oh1;
                        valid_range(&oh0, &oh1, kh, pad, stride, H, OH);
                        for (int kw = 0; kw < KW; kw++) {
                            int ow0, ow1;
                            valid_range(&ow0, &ow1, kw, pad, stride, W, OW);
                            float wv = w[kh * KW + kw];
                            for (int oh = oh0; oh < oh1; oh++) {
                                float *dxr = dx + (size_t)(oh * stride - pad + kh) * W;
                                const float *grow = g + (size_t)oh * OW;
                                for (int ow = ow0; ow < ow1; ow++) dxr[ow * stride - pad + kw] += wv * grow[ow];
                            }
                        }
                    }
                }
            }
        }
    }
    if (dweight) {
#pragma omp parallel for collapse(2) schedule(static)
        for (int oc = 0; oc < OC; oc++) {
            for (int c = 0; c < C; c++) {
                float *dw = dweight + ((size_t)oc * C + c) * KH * KW;
                for (int kh = 0; kh < KH; kh++) {
                    int oh0, oh1;
                    valid_range(&oh0, &oh1, kh, pad, stride, H, OH);
                    for (int kw = 0; kw < KW; kw++) {
                        int ow0, ow1;
                        valid_range(&ow0, &ow1, kw, pad, stride, W, OW);
                        float acc = 0.0f;
                        for (int b = 0; b < B; b++) {
                            const float *g = dout + ((size_t)b * OC + oc) * oplane;
                            const float *x = inp + ((size_t)b * C + c) * H * W;
                            for (int oh = oh0; oh < oh1; oh++) {
                                const float *xr = x + (size_t)(oh * stride - pad + kh) * W;
                                const float *grow = g + (size_t)oh * OW;
                                for (int ow = ow0; ow < ow1; ow++) acc += grow[ow] * xr[ow * stride - pad + kw];
                            }
                        }
                        dw[kh * KW + kw] = acc;
                    }
                }
            }
        }
    }
    if (dbias) {
#pragma omp parallel for schedule(static)
        for (int oc = 0; oc < OC; oc++) {
            float acc = 0.0f;
            for (int b = 0; b < B; b++) {
                const float *g = dout + ((size_t)b * OC + oc) * oplane;
                for (size_t i = 0; i < oplane; i++) acc += g[i];
            }
            dbias[oc] = acc;
        }
    }
}
