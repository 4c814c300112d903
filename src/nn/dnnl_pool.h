/* dnnl_pool.h — max / average (padding excluded) / global average pooling on oneDNN, forward and
 * backward, in whatever layout the input has (so a blocked nChw16c tensor stays blocked). Same
 * semantics as maxpool2d_*, avgpool2d_* and global_avgpool_* in ops.h (floor output size). */
#ifndef SBIR_NN_DNNL_POOL_H
#define SBIR_NN_DNNL_POOL_H

#include "nn/dnnl_common.h"

typedef struct {
    int B, C, H, W, KH, KW, S, P, OH, OW, max;
    dnnl_memory_desc_t src_md, dst_md;
    dnnl_primitive_t fwd, bwd; /* NULL on the direct path */
    dnnl_memory_t ws;          /* max pooling: where each maximum came from */
    int direct_blk;            /* > 0: our own kernel, channel block 1 (plain), 8 or 16 */
    unsigned char *direct_ws;  /* its argmax: window position of each output's maximum */
} dn_pool;

/* Non-overlapping windows (K == S, no padding: the network's 2x2 pooling) on plain or
 * channel-blocked layouts run a direct loop instead of oneDNN's primitive: on the machines measured
 * oneDNN 2.6's jit pooling was 3-5x slower than memory bandwidth allows for this memory-bound op.
 * src_md: the concrete 4-D input layout. Global average pooling: max = 0, KH = H, KW = W, S = 1, P = 0. */
int dn_pool_init(dn_pool *p, const dnnl_memory_desc_t *src_md, int max, int KH, int KW, int S, int P);
int dn_pool_forward(dn_pool *p, dnnl_memory_t src, dnnl_memory_t dst);
/* Max pooling uses the workspace of the last forward. */
int dn_pool_backward(dn_pool *p, dnnl_memory_t ddst, dnnl_memory_t dsrc);
void dn_pool_destroy(dn_pool *p);

#endif
