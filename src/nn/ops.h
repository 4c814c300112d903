/* ops.h — the plain C reference implementation of every neural-network op.
 *
 * Conventions (as in llm.c): an op is a pair op_forward(out, in, ..., sizes) / op_backward(dinp,
 * dweight, ..., dout, ...) on plain float* in NCHW layout, with the shapes in a comment. Backward
 * functions OVERWRITE their gradient outputs (they do not accumulate); any gradient pointer may be
 * NULL to skip it. These are the definitions of correctness: tests check them against central finite
 * differences, and the oneDNN fast path (src/nn/dnnl_*) against them. They favour clarity over speed
 * but are OpenMP-parallel where that is free, since small models also train on them. */
#ifndef SBIR_NN_OPS_H
#define SBIR_NN_OPS_H

#include <stddef.h>

#include "util/rng.h"

/* Output size of a convolution or pooling window along one axis. */
static inline int conv_out_size(int in, int k, int stride, int pad) { return (in + 2 * pad - k) / stride + 1; }

/* conv2d: inp (B,C,H,W), weight (OC,C,KH,KW), bias (OC) or NULL -> out (B,OC,OH,OW),
 * OH = conv_out_size(H, KH, stride, pad), zero padding. */
void conv2d_forward(float *out, const float *inp, const float *weight, const float *bias, int B, int C, int H,
                    int W, int OC, int KH, int KW, int stride, int pad);
void conv2d_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, int B, int C, int H, int W, int OC, int KH, int KW, int stride, int pad);

/* batch norm over (B,HW) per channel C. Training: normalises with the batch statistics (biased
 * variance), saves mean and rstd = 1/sqrt(var + eps) (C) for backward, and updates running stats:
 * running = (1 - momentum) * running + momentum * batch (running_var uses the unbiased variance, as
 * PyTorch). Inference uses the running statistics. */
void batchnorm_forward_train(float *out, float *mean, float *rstd, float *running_mean, float *running_var,
                             const float *inp, const float *gamma, const float *beta, float momentum, float eps,
                             int B, int C, int HW);
void batchnorm_forward_infer(float *out, const float *inp, const float *gamma, const float *beta,
                             const float *running_mean, const float *running_var, float eps, int B, int C, int HW);
void batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout, const float *inp,
                        const float *gamma, const float *mean, const float *rstd, int B, int C, int HW);

/* leaky ReLU (slope 0 = ReLU) on n elements; backward uses the forward input. */
void leaky_relu_forward(float *out, const float *inp, float slope, size_t n);
void leaky_relu_backward(float *dinp, const float *dout, const float *inp, float slope, size_t n);

/* max pooling, window K, stride S, padding P (padding never wins the max): inp (B,C,H,W) ->
 * out (B,C,OH,OW); argmax (B,C,OH,OW) holds the flat index into inp's H*W plane. */
void maxpool2d_forward(float *out, int *argmax, const float *inp, int B, int C, int H, int W, int K, int S, int P);
void maxpool2d_backward(float *dinp, const float *dout, const int *argmax, int B, int C, int H, int W, int K, int S,
                        int P);
/* average pooling, padding excluded from the count (PyTorch count_include_pad=False). */
void avgpool2d_forward(float *out, const float *inp, int B, int C, int H, int W, int K, int S, int P);
void avgpool2d_backward(float *dinp, const float *dout, int B, int C, int H, int W, int K, int S, int P);
/* global average pooling: inp (B,C,HW) -> out (B,C). */
void global_avgpool_forward(float *out, const float *inp, int B, int C, int HW);
void global_avgpool_backward(float *dinp, const float *dout, int B, int C, int HW);

/* linear: inp (B,IN), weight (OUT,IN), bias (OUT) or NULL -> out (B,OUT). */
void linear_forward(float *out, const float *inp, const float *weight, const float *bias, int B, int IN, int OUT);
void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, int B, int IN, int OUT);

#endif
