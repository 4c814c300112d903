/* bn_sync.h — batch normalisation whose statistics span several processes (synchronised batch norm,
 * for data-parallel training).
 *
 * Each process holds a contiguous slice of the global batch. Per-channel sums are combined through
 * the net's all-reduce (net_set_bn_allreduce), so the normalisation, the running statistics and the
 * input gradient are those of ONE process normalising the whole batch — the same two-pass mean and
 * variance in double as batchnorm_forward_train, only the summation order differs. Per layer and
 * step that is two all-reduces forward (sums with the count, then squared deviations) and one
 * backward (sums of dy and dy * xhat).
 *
 * Both backends use it: the activation is (B, C, H*W) in a channel-blocked layout, element (b, c, i)
 * at ((b * Cb + c / k) * HW + i) * k + c % k with Cb = ceil(C / k): k = 1 is the reference backend's
 * NCHW, k = 8 / 16 oneDNN's nChw8c / nChw16c. Channels padded up to Cb * k are never read or written.
 * Per-channel sums run one channel block per thread in a fixed order, so results do not depend on
 * the thread count. */
#ifndef SBIR_NN_BN_SYNC_H
#define SBIR_NN_BN_SYNC_H

#include "nn/net.h"

typedef struct {
    int B, C, HW, k; /* k <= BN_SYNC_MAX_BLOCK */
} bn_shape;

#define BN_SYNC_MAX_BLOCK 16

/* x -> y = gamma * (x - mean) * rstd + beta, then max(0, y) when relu. Saves mean and rstd (C) and
 * *count (values per channel over all processes) for bn_sync_backward; updates the running
 * statistics like batchnorm_forward_train (unbiased variance). SBIR_ERR if the all-reduce fails. */
int bn_sync_forward(const bn_shape *s, const float *x, float *y, int relu, const float *gamma, const float *beta,
                    float *mean, float *rstd, double *count, float *running_mean, float *running_var,
                    float momentum, float eps, net_allreduce_fn reduce);

/* dy -> dx (dx may be dy). y: the forward's output when it included the ReLU (dy is masked where
 * y <= 0), else NULL. dgamma, dbeta (C) += THIS process's share: the caller sums parameter
 * gradients over processes afterwards, as for every other parameter. */
int bn_sync_backward(const bn_shape *s, const float *x, const float *y, const float *dy, float *dx,
                     const float *gamma, const float *mean, const float *rstd, double count, float *dgamma,
                     float *dbeta, net_allreduce_fn reduce);

#endif
