/* dnnl_conv.h — 2-D convolution (square kernel, symmetric zero padding) on oneDNN, forward,
 * backward-data and backward-weights, primitives created once per shape. Weights come from a plain
 * OIHW master (dn_conv_load_weights, once per parameter change); gradients are added to plain
 * OIHW / (OC) arrays. See dnnl_common.h for the layer conventions. */
#ifndef SBIR_NN_DNNL_CONV_H
#define SBIR_NN_DNNL_CONV_H

#include "nn/dnnl_common.h"

typedef struct {
    int B, C, H, W, OC, K, S, P, OH, OW, has_bias;
    dnnl_memory_desc_t src_md, dst_md; /* activation layouts: allocate src/dst/diffs with these */
    dnnl_primitive_t fwd, bwd_data, bwd_weights; /* bwd_data NULL unless need_dsrc */
    dn_weights w;
    /* Reorders around primitives whose only fast implementation wants other layouts than the
     * activations' (e.g. backward-weights of a 1-channel first layer on AVX2); usually all empty. */
    dn_adapt fwd_src, bw_src, bw_ddst, bd_ddst, bd_dsrc;
    dnnl_memory_t bias, dbias; /* bias wraps the caller's array; dbias is ours */
} dn_conv;

/* src_md: the layout the previous layer produces, or NULL to let the convolution choose (then the
 * caller reorders its input into c->src_md). need_dsrc = 0 for a first layer (no backward-data). */
int dn_conv_init(dn_conv *c, int B, int C, int H, int W, int OC, int K, int S, int P, int has_bias, int need_dsrc,
                 const dnnl_memory_desc_t *src_md);
int dn_conv_load_weights(dn_conv *c, const float *weight, const float *bias);
int dn_conv_forward(dn_conv *c, dnnl_memory_t src, dnnl_memory_t dst);
int dn_conv_backward_data(dn_conv *c, dnnl_memory_t ddst, dnnl_memory_t dsrc);
/* dweight (OC,C,K,K) += ..., dbias (OC) += ...; either may be NULL. */
int dn_conv_backward_weights(dn_conv *c, dnnl_memory_t src, dnnl_memory_t ddst, float *dweight, float *dbias);
void dn_conv_destroy(dn_conv *c);

#endif
