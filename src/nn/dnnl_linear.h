/* dnnl_linear.h — fully connected layer (inner product with bias) on oneDNN. The input may be 4-D
 * (B,C,H,W) in a blocked layout: the flatten to (B, C*H*W) is folded into the weights' layout, so
 * the master weight (OUT, C*H*W) is in NCHW-flatten order, as linear_forward on a plain NCHW tensor
 * in ops.h, and no activation reorder happens. The output is plain (B, OUT). */
#ifndef SBIR_NN_DNNL_LINEAR_H
#define SBIR_NN_DNNL_LINEAR_H

#include "nn/dnnl_common.h"

typedef struct {
    int B, IN, OUT;
    dnnl_memory_desc_t src_md, dst_md;
    dnnl_primitive_t fwd, bwd_data, bwd_weights; /* bwd_data NULL unless need_dsrc */
    dn_weights w;
    dnnl_memory_t bias, dbias; /* bias wraps the caller's array; dbias is ours */
} dn_linear;

int dn_linear_init(dn_linear *l, const dnnl_memory_desc_t *src_md, int OUT, int need_dsrc);
int dn_linear_load_weights(dn_linear *l, const float *weight, const float *bias);
int dn_linear_forward(dn_linear *l, dnnl_memory_t src, dnnl_memory_t dst);
int dn_linear_backward_data(dn_linear *l, dnnl_memory_t ddst, dnnl_memory_t dsrc);
/* dweight (OUT, IN) += ..., dbias (OUT) += ...; either may be NULL. */
int dn_linear_backward_weights(dn_linear *l, dnnl_memory_t src, dnnl_memory_t ddst, float *dweight, float *dbias);
void dn_linear_destroy(dn_linear *l);

#endif
