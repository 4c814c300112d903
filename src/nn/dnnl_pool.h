/* dnnl_pool.h — max / average (padding excluded) / global average pooling on oneDNN, forward and
 * backward, in whatever layout the input has (so a blocked nChw16c tensor stays blocked). Same
 * semantics as maxpool2d_*, avgpool2d_* and global_avgpool_* in ops.h (floor output size). */
#ifndef SBIR_NN_DNNL_POOL_H
#define SBIR_NN_DNNL_POOL_H

#include "nn/dnnl_common.h"

typedef struct {
    int B, C, H, W, KH, KW, S, P, OH, OW, max;
    dnnl_memory_desc_t src_md, dst_md;
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t ws; /* max pooling: where each maximum came from */
} dn_pool;

/* src_md: the concrete 4-D input layout. Global average pooling: max = 0, KH = H, KW = W, S = 1, P = 0. */
int dn_pool_init(dn_pool *p, const dnnl_memory_desc_t *src_md, int max, int KH, int KW, int S, int P);
int dn_pool_forward(dn_pool *p, dnnl_memory_t src, dnnl_memory_t dst);
/* Max pooling uses the workspace of the last forward. */
int dn_pool_backward(dn_pool *p, dnnl_memory_t ddst, dnnl_memory_t dsrc);
void dn_pool_destroy(dn_pool *p);

#endif
