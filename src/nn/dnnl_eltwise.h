/* dnnl_eltwise.h — (leaky) ReLU on oneDNN in any layout; slope 0 = ReLU. Backward uses the
 * forward's input, as leaky_relu_backward in ops.h. */
#ifndef SBIR_NN_DNNL_ELTWISE_H
#define SBIR_NN_DNNL_ELTWISE_H

#include "nn/dnnl_common.h"

typedef struct {
    float slope;
    dnnl_memory_desc_t md;
    dnnl_primitive_t fwd, bwd;
} dn_eltwise;

int dn_eltwise_init(dn_eltwise *e, const dnnl_memory_desc_t *md, float slope);
int dn_eltwise_forward(dn_eltwise *e, dnnl_memory_t src, dnnl_memory_t dst);
int dn_eltwise_backward(dn_eltwise *e, dnnl_memory_t src, dnnl_memory_t ddst, dnnl_memory_t dsrc);
void dn_eltwise_destroy(dn_eltwise *e);

#endif
