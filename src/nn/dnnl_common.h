/* dnnl_common.h — what every oneDNN layer (src/nn/dnnl_*.c) shares: the process-wide CPU engine and
 * stream, a status check that reports file:line through sbir_error, memory helpers, cached reorders,
 * and dn_weights, the bridge between a plain OIHW/OI master copy of a weight tensor (what the
 * optimiser and safetensors see) and the blocked layouts the primitives want.
 *
 * Layer conventions (dnnl_conv.h, dnnl_bn.h, dnnl_pool.h, dnnl_eltwise.h, dnnl_linear.h):
 *  - a layer is created ONCE per shape (batch size included) and its primitives are reused;
 *  - activations are dnnl_memory_t in the layout the layer reports (src_md/dst_md); callers allocate
 *    them with dn_mem() from those descriptors, so consecutive layers exchange blocked tensors
 *    (nChw16c etc.) without reorders; a layer's diff_dst/diff_src use its dst/src layout too;
 *  - parameter gradients are ACCUMULATED (+=) into plain float arrays (unlike ops.h, which
 *    overwrites), since a network sums them over calls until net_zero_grad;
 *  - all functions return SBIR_OK or SBIR_ERR after sbir_error; *_destroy accepts a partly built
 *    layer (every handle starts NULL), so error paths just destroy. */
#ifndef SBIR_NN_DNNL_COMMON_H
#define SBIR_NN_DNNL_COMMON_H

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "util/common.h"

/* Evaluates a dnnl call; on failure records "file:line: call: status" and returns SBIR_ERR. */
#define DN_CHECK(call)                                                                              \
    do {                                                                                            \
        dnnl_status_t dn_st_ = (call);                                                              \
        if (dn_st_ != dnnl_success)                                                                 \
            return sbir_error("%s:%d: %s: %s", __FILE__, __LINE__, #call, dnnl_status2str(dn_st_)); \
    } while (0)
/* Propagates an SBIR_ERR from one of our own functions. */
#define DN_TRY(call)                         \
    do {                                     \
        if ((call) != SBIR_OK) return SBIR_ERR; \
    } while (0)

/* Reference-counted global engine + stream: every layer owner acquires once and releases once, so
 * the last release destroys them (the ASan build stays leak-free). */
int dn_acquire(void);
void dn_release(void);
dnnl_engine_t dn_engine(void);
dnnl_stream_t dn_stream(void);

/* Plain row-major descriptor (a, ab, abc, abcd) and a format_tag_any one. */
int dn_md_plain(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims);
int dn_md_any(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims);
/* The layout oneDNN's convolutions produce for a (B,C,H,W) activation on this CPU (nChw16c with
 * AVX-512, nChw8c with AVX2): what layers exchange inside a network. */
int dn_md_act(dnnl_memory_desc_t *md, int B, int C, int H, int W);
/* The channel block (1, 8 or 16) if md is a dense abcd / aBcd8b / aBcd16b layout (and its tag),
 * else 0: the layouts our own direct kernels (pooling, batch norm) handle. */
int dn_md_dense_block(const dnnl_memory_desc_t *md, dnnl_format_tag_t *tag);
/* 0 when the environment sets SBIR_DNNL_NO_DIRECT=1: every layer then uses oneDNN's primitives
 * (for A/B timing and for debugging the direct kernels). */
int dn_direct_enabled(void);
/* Plain descriptor with md's dims. */
int dn_md_plain_like(dnnl_memory_desc_t *plain, const dnnl_memory_desc_t *md);
int dn_md_is_plain(const dnnl_memory_desc_t *md);
size_t dn_md_nelems(const dnnl_memory_desc_t *md); /* logical elements (no padding) */

/* Library-allocated (and zeroed, so padded channels stay 0) / caller-buffer memory. */
int dn_mem(dnnl_memory_t *m, const dnnl_memory_desc_t *md);
int dn_mem_user(dnnl_memory_t *m, const dnnl_memory_desc_t *md, void *handle);
const dnnl_memory_desc_t *dn_mem_md(dnnl_memory_t m);
float *dn_ptr(dnnl_memory_t m);
int dn_set_ptr(dnnl_memory_t m, const void *p);

const dnnl_memory_desc_t *dn_pd_md(const_dnnl_primitive_desc_t pd, dnnl_query_t what);
/* Creates the primitive and destroys pd (also on failure). */
int dn_prim(dnnl_primitive_t *p, dnnl_primitive_desc_t pd);
int dn_exec(dnnl_primitive_t p, int nargs, const dnnl_exec_arg_t *args);
const char *dn_impl_name(dnnl_primitive_t p);

/* Reorder from -> to; accumulate: to += from (sum post-op) instead of to = from. */
int dn_reorder_create(dnnl_primitive_t *r, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                      int accumulate);
int dn_reorder(dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to);
/* One-off copies between a plain float array and any memory (tests, rare paths; not per step). */
int dn_write_plain(dnnl_memory_t m, const float *src);
int dn_read_plain(dnnl_memory_t m, float *dst);

/* True when pd is one of oneDNN's reference (plain C loop) implementations: orders of magnitude
 * slower than the jit kernels, so layers retry with other layouts before settling for it. */
int dn_pd_is_ref(const_dnnl_primitive_desc_t pd);

/* A layout adapter in front of / behind a primitive whose preferred layout differs from the one the
 * neighbouring layers exchange: r == NULL (and no memory) when the layouts already agree. */
typedef struct {
    dnnl_primitive_t r;
    dnnl_memory_t m;
} dn_adapt;
/* Input side: from = the neighbours' layout, to = the primitive's; output side (output = 1): from =
 * the primitive's layout, to = the neighbours'. */
int dn_adapt_init(dn_adapt *a, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to, int output);
/* Input side: returns `from` itself, or a->m after reordering from into it; NULL on error. */
dnnl_memory_t dn_adapt_in(dn_adapt *a, dnnl_memory_t from);
/* Output side: where the primitive should write (a->m or `to`), then dn_adapt_out_done. */
static inline dnnl_memory_t dn_adapt_out(dn_adapt *a, dnnl_memory_t to) { return a->r ? a->m : to; }
int dn_adapt_out_done(dn_adapt *a, dnnl_memory_t to);
void dn_adapt_destroy(dn_adapt *a);

void dn_free_prim(dnnl_primitive_t *p);
void dn_free_mem(dnnl_memory_t *m);

/* A weight tensor: plain master (OIHW / OI) <-> the layouts of forward, backward-data and
 * backward-weights. dn_weights_load reorders the master in (once per parameter change);
 * dn_weights_grad adds the blocked diff_weights into a plain gradient array. */
typedef struct {
    dnnl_memory_t plain;         /* wrapper around the caller's master copy (handle set per call) */
    dnnl_memory_t fwd, bwd;      /* bwd == fwd when backward-data wants the same layout */
    dnnl_memory_t diff, diff_plain;
    dnnl_primitive_t to_fwd, to_bwd, diff_to_plain; /* NULL where the layouts already match */
} dn_weights;
/* bwd_md / diff_md may be NULL (no backward-data / no backward-weights). */
int dn_weights_init(dn_weights *w, const dnnl_memory_desc_t *plain_md, const dnnl_memory_desc_t *fwd_md,
                    const dnnl_memory_desc_t *bwd_md, const dnnl_memory_desc_t *diff_md);
int dn_weights_load(dn_weights *w, const float *master);
int dn_weights_grad(dn_weights *w, float *grad); /* grad += diff, grad plain */
void dn_weights_destroy(dn_weights *w);

#endif
