/* dnnl_bn.h — batch normalisation over (B, H*W) per channel on oneDNN, optionally with the ReLU
 * after it fused in (oneDNN's fuse_norm_relu: one memory pass forward, and backward masks the
 * gradient from a bit workspace instead of re-reading the activation). Same semantics as
 * batchnorm_forward_train / _infer / _backward in ops.h: biased batch variance for normalising,
 * running_var updated with the unbiased one, running = (1 - momentum) * running + momentum * batch. */
#ifndef SBIR_NN_DNNL_BN_H
#define SBIR_NN_DNNL_BN_H

#include "nn/dnnl_common.h"

typedef struct {
    int B, C, HW, relu;
    float eps;
    dnnl_memory_desc_t md; /* src = dst = diff_src = diff_dst layout */
    dnnl_primitive_t fwd_train, fwd_infer, bwd;
    dnnl_memory_t ss, dss, mean, var, ws; /* ours: (2,C) gamma;beta and its gradient, last batch's stats */
    dnnl_memory_t run_mean, run_var;                           /* wrap the caller's running stats */
} dn_bn;

/* md: the (concrete) layout of the input, e.g. a convolution's dst_md. */
int dn_bn_init(dn_bn *b, const dnnl_memory_desc_t *md, float eps, int relu);
int dn_bn_forward_train(dn_bn *b, dnnl_memory_t src, dnnl_memory_t dst, const float *gamma, const float *beta,
                        float *running_mean, float *running_var, float momentum);
int dn_bn_forward_infer(dn_bn *b, dnnl_memory_t src, dnnl_memory_t dst, const float *gamma, const float *beta,
                        const float *running_mean, const float *running_var);
/* Uses the statistics of the last dn_bn_forward_train. dsrc may be ddst (in place). dgamma, dbeta
 * (C) += ...; either may be NULL. */
int dn_bn_backward(dn_bn *b, dnnl_memory_t src, dnnl_memory_t ddst, dnnl_memory_t dsrc, float *dgamma, float *dbeta);
void dn_bn_destroy(dn_bn *b);

#endif
