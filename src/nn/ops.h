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
 * PyTorch; the batch variance itself when B*HW = 1). Inference uses the running statistics. gamma and
 * beta may be NULL (1 and 0); running_mean/running_var may be NULL in training to skip the update. */
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

/* dropout with inverted scaling: mask (n) holds 0 (dropped, probability p) or 1/(1-p), drawn in
 * order from rng so a seed fixes it; out = inp * mask. p in [0, 1); p = 0 gives mask 1 (identity).
 * At inference do not call it (identity). */
void dropout_forward(float *out, float *mask, const float *inp, float p, size_t n, sbir_rng *rng);
void dropout_backward(float *dinp, const float *dout, const float *mask, size_t n);

/* L2 normalisation per row: inp (B,D) -> out (B,D) = inp / norm, norm (B) = sqrt(sum inp^2 + eps)
 * saved for backward (which uses out and norm). */
void l2norm_forward(float *out, float *norm, const float *inp, float eps, int B, int D);
void l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, int B, int D);

/* softmax cross-entropy: logits (B,K), labels (B) in [0,K) -> returns the mean loss over the batch,
 * saves probs (B,K). Backward: dlogits = dloss * (probs - onehot) / B (dloss = 1 for a plain loss, or
 * the weight of this loss in a sum). softmax_correct counts rows whose argmax (first on ties) is the
 * label. */
float softmax_xent_forward(float *probs, const float *logits, const int *labels, int B, int K);
void softmax_xent_backward(float *dlogits, const float *probs, const int *labels, float dloss, int B, int K);
int softmax_correct(const float *logits, const int *labels, int B, int K);
/* The same with label smoothing eps in [0, 1): the target is (1 - eps) onehot + eps / K, so the loss is
 * -sum_k target_k log probs_k and dlogits = dloss * (probs - target) / B. eps = 0 is the plain loss. */
float softmax_xent_smooth_forward(float *probs, const float *logits, const int *labels, float eps, int B, int K);
void softmax_xent_smooth_backward(float *dlogits, const float *probs, const int *labels, float eps, float dloss, int B,
                                  int K);

/* Triplet loss with margin m on squared Euclidean distances:
 *   L(a,p,n) = max(0, m + |a-p|^2 - |a-n|^2).
 * Anchors come from one set anc (NA,D), positives and negatives from a candidate set cand (NC,D);
 * cross-modal: anc = sketch embeddings, cand = image embeddings; same-set: anc == cand (the same
 * buffer, NA == NC). A triplet holds row indices: a into anc, p and n into cand.
 *
 * Which candidates may be a positive / negative for an anchor is given by masks pos, neg (NA,NC) of
 * 0/1, built from labels by the triplet_masks_* helpers (or by the caller for anything else):
 *   class: positive = same label, negative = other label;
 *   style: positive = same style and other content, negative = same content and other style
 *          (the style network's triplets, decorrelating style from content);
 * same_set = 1 excludes each anchor from its own candidates (diagonal of both masks 0).
 *
 * Mining (dist (NA,NC) = squared distances from sqdist_matrix), triplets written in anchor order:
 *   TRIPLET_BATCH_HARD: per anchor, the farthest positive and the nearest negative (one triplet);
 *   TRIPLET_SEMI_HARD:  per (anchor, positive), the nearest negative with d_ap < d_an < d_ap + m
 *                       (FaceNet), else the nearest negative overall;
 *   TRIPLET_BATCH_ALL:  every (anchor, positive, negative) allowed by the masks.
 * Anchors without a positive or without a negative give no triplet. triplet_mine returns the count;
 * `out` needs triplet_mine_capacity(mode, NA, NC) entries (batch-all: NA*NC*NC).
 *
 * The loss is the mean over all triplets, or with mean_over_active = 1 (use it with batch-all) the
 * mean over the triplets with positive loss; 0 with no triplet. *active_frac (may be NULL) receives
 * the fraction of triplets with positive loss. Backward overwrites danc (NA,D) and dcand (NC,D) with
 * dloss * dL/d(anc|cand); in the same-set case pass the same buffer for both and it receives the total
 * gradient (both are zeroed first, then every term is added). Either may be NULL. The mining choice is
 * treated as constant (no gradient through the selection). */
typedef struct {
    int a, p, n;
} sbir_triplet;
enum { TRIPLET_BATCH_HARD = 0, TRIPLET_SEMI_HARD = 1, TRIPLET_BATCH_ALL = 2 };

/* dist (NX,NY) = squared Euclidean distance between rows of x (NX,D) and y (NY,D). */
void sqdist_matrix(float *dist, const float *x, const float *y, int NX, int NY, int D);
void triplet_masks_class(unsigned char *pos, unsigned char *neg, const int *alab, const int *clab, int NA, int NC,
                         int same_set);
void triplet_masks_style(unsigned char *pos, unsigned char *neg, const int *acontent, const int *astyle,
                         const int *ccontent, const int *cstyle, int NA, int NC, int same_set);
size_t triplet_mine_capacity(int mode, int NA, int NC);
size_t triplet_mine(sbir_triplet *out, const float *dist, const unsigned char *pos, const unsigned char *neg, int NA,
                    int NC, int mode, float margin);
/* The common case in one call: class masks from labels, distances, mining. */
size_t triplet_mine_labels(sbir_triplet *out, const float *anc, const float *cand, const int *alab, const int *clab,
                           int NA, int NC, int D, int same_set, int mode, float margin);
float triplet_loss_forward(float *active_frac, const float *anc, const float *cand, const sbir_triplet *t, size_t nt,
                           int D, float margin, int mean_over_active);
void triplet_loss_backward(float *danc, float *dcand, const float *anc, const float *cand, const sbir_triplet *t,
                           size_t nt, int NA, int NC, int D, float margin, int mean_over_active, float dloss);
/* Batch-all with mean_over_active = 1 on one set (anc == cand == e (N,D)) in O(N^2) memory and time
 * O(N^3) comparisons + O(N^2 D), instead of a list of N^3 triplets: the loss and *active_frac equal
 * triplet_mine(TRIPLET_BATCH_ALL) + triplet_loss_forward bit for bit. dist (N,N) from sqdist_matrix(e, e);
 * pair_w (N,N) receives what the backward needs (each pair's weight in the mean of the active hinges).
 * Backward overwrites de (N,D) with dloss * dL/de. */
float triplet_batch_all_forward(float *pair_w, float *active_frac, const float *dist, const unsigned char *pos,
                                const unsigned char *neg, int N, float margin);
void triplet_batch_all_backward(float *de, const float *e, const float *pair_w, int N, int D, float dloss);

/* Optimisers update param (n) in place from grad (n).
 * SGD (PyTorch semantics, no dampening): g = grad + wd * param; buf = momentum * buf + g;
 * param -= lr * buf. buf (n) starts at zero.
 * AdamW: param *= 1 - lr * wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * param -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). m, v (n) start at zero; t = 1, 2, ... */
void sgd_step(float *param, const float *grad, float *buf, size_t n, float lr, float momentum, float weight_decay);
void adamw_step(float *param, const float *grad, float *m, float *v, size_t n, int t, float lr, float beta1,
                float beta2, float eps, float weight_decay);

/* Learning-rate schedules, step counted from 0.
 * Cosine: linear warmup lr_max * (step + 1) / warmup for step < warmup, then
 * lr_min + (lr_max - lr_min) * (1 + cos(pi * (step - warmup) / (total - warmup))) / 2, lr_min from
 * step >= total on. Step decay: lr0 * gamma^(step / step_size). */
float lr_cosine(int step, int warmup, int total, float lr_max, float lr_min);
float lr_step_decay(int step, float lr0, int step_size, float gamma);

/* He (Kaiming) normal initialisation: w ~ N(0, 2 / fan_in) (fan_in = C*KH*KW for a conv, IN for
 * linear). */
void he_normal_init(float *w, size_t n, int fan_in, sbir_rng *rng);

#endif
