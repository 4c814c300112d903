/* net_impl.h — what net.c shares with its two backends (net_ref.c, net_dnnl.c); not public. */
#ifndef SBIR_NN_NET_IMPL_H
#define SBIR_NN_NET_IMPL_H

#include "nn/net.h"

typedef struct {
    int (*create)(net *n); /* sets n->impl */
    void (*destroy)(net *n);
    /* B and training are validated by net.c; set last_B/last_training there. */
    const float *(*forward)(net *n, const float *input, int B, int training);
    int (*backward)(net *n, const float *dout);
} net_backend_ops;

extern const net_backend_ops net_ref_ops, net_dnnl_ops;

/* Parameter / buffer pointers of layer l (NULL where absent). */
static inline float *net_param(net *n, int t) { return t < 0 ? NULL : n->params + n->tensors[t].offset; }
static inline float *net_grad(net *n, int t) { return t < 0 ? NULL : n->grads + n->tensors[t].offset; }
static inline float *net_buf(net *n, int t) { return t < 0 ? NULL : n->bufs + n->tensors[t].offset; }

#endif
