/* dnnl_conv.c — convolution layer on oneDNN (see dnnl_conv.h). */
#include "nn/dnnl_conv.h"

#include <string.h>

#include "nn/ops.h"

typedef struct {
    dnnl_memory_desc_t src_any, wei_any, dst_any, bias_md;
    dnnl_dims_t str, pad;
    const dnnl_memory_desc_t *bmd;
} conv_shape;

/* Layout candidates, best first: variant 0 uses the activations' own layouts (no reorders), later
 * ones let oneDNN choose more of them. The first one with a jit implementation wins; if every one
 * is a reference implementation the last is kept (correct, slow). */
enum { FWD, BWD_WEIGHTS, BWD_DATA };

/* SBIR_DNNL_CONV_AUTO=1 lets oneDNN choose the algorithm (Winograd where its heuristics expect it to
 * win: AVX-512 only, 3x3). Off by default: not measured on the target machine yet, and Winograd is
 * slightly less accurate. */
static dnnl_alg_kind_t conv_alg(void) {
    const char *e = getenv("SBIR_DNNL_CONV_AUTO");
    return e && !strcmp(e, "1") ? dnnl_convolution_auto : dnnl_convolution_direct;
}
static int make_pd(dnnl_primitive_desc_t *pd, int kind, int variant, const dn_conv *c, const conv_shape *sh,
                   const dnnl_memory_desc_t *given_src, const_dnnl_primitive_desc_t hint) {
    dnnl_convolution_desc_t d;
    const dnnl_memory_desc_t *src = variant == 0 || (kind == BWD_WEIGHTS && variant == 1) ? given_src : &sh->src_any;
    const dnnl_memory_desc_t *dst = variant == 0 || (kind == BWD_DATA && variant == 1) ? &c->dst_md : &sh->dst_any;
    dnnl_status_t s;
    if (kind == FWD)
        s = dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, conv_alg(), src, &sh->wei_any,
                                               sh->bmd, &sh->dst_any, sh->str, sh->pad, sh->pad);
    else if (kind == BWD_WEIGHTS)
        s = dnnl_convolution_backward_weights_desc_init(&d, conv_alg(), src, &sh->wei_any, sh->bmd, dst,
                                                        sh->str, sh->pad, sh->pad);
    else
        s = dnnl_convolution_backward_data_desc_init(&d, conv_alg(), src, &sh->wei_any, dst, sh->str,
                                                     sh->pad, sh->pad);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(pd, &d, NULL, dn_engine(), hint);
    if (s != dnnl_success) *pd = NULL;
    return s == dnnl_success ? SBIR_OK : SBIR_ERR;
}

static dnnl_primitive_desc_t pick_pd(int kind, int variants, const dn_conv *c, const conv_shape *sh,
                                     const dnnl_memory_desc_t *given_src, const_dnnl_primitive_desc_t hint) {
    dnnl_primitive_desc_t best = NULL;
    for (int v = 0; v < variants; v++) {
        dnnl_primitive_desc_t pd = NULL;
        if (make_pd(&pd, kind, v, c, sh, given_src, hint) != SBIR_OK) continue;
        if (!dn_pd_is_ref(pd)) {
            if (best) dnnl_primitive_desc_destroy(best);
            return pd;
        }
        if (best) dnnl_primitive_desc_destroy(best);
        best = pd;
    }
    return best;
}

int dn_conv_init(dn_conv *c, int B, int C, int H, int W, int OC, int K, int S, int P, int has_bias, int need_dsrc,
                 const dnnl_memory_desc_t *src_md) {
    memset(c, 0, sizeof *c);
    c->B = B, c->C = C, c->H = H, c->W = W, c->OC = OC, c->K = K, c->S = S, c->P = P, c->has_bias = has_bias;
    c->OH = conv_out_size(H, K, S, P), c->OW = conv_out_size(W, K, S, P);
    if (c->OH < 1 || c->OW < 1) return sbir_error("conv: %dx%d input is smaller than the %dx%d kernel", H, W, K, K);
    dnnl_dims_t sd = {B, C, H, W}, wd = {OC, C, K, K}, dd = {B, OC, c->OH, c->OW}, bd = {OC};
    conv_shape sh = {.str = {S, S}, .pad = {P, P}};
    dnnl_memory_desc_t wei_plain;
    DN_TRY(dn_md_any(&sh.src_any, 4, sd));
    DN_TRY(dn_md_any(&sh.wei_any, 4, wd));
    DN_TRY(dn_md_any(&sh.dst_any, 4, dd));
    DN_TRY(dn_md_plain(&wei_plain, 4, wd));
    DN_TRY(dn_md_plain(&sh.bias_md, 1, bd));
    sh.bmd = has_bias ? &sh.bias_md : NULL;

    /* Forward: the caller's input layout, else (if that only has a reference kernel) our choice. */
    dnnl_primitive_desc_t fpd = pick_pd(FWD, src_md ? 2 : 1, c, &sh, src_md ? src_md : &sh.src_any, NULL);
    if (!fpd) return sbir_error("conv: no oneDNN forward implementation for %d->%d %dx%d", C, OC, H, W);
    c->src_md = src_md ? *src_md : *dn_pd_md(fpd, dnnl_query_src_md);
    c->dst_md = *dn_pd_md(fpd, dnnl_query_dst_md);
    /* Backward passes reuse the activations' layouts so gradients flow in the same format. */
    dnnl_primitive_desc_t bwpd = pick_pd(BWD_WEIGHTS, 3, c, &sh, &c->src_md, fpd);
    dnnl_primitive_desc_t bdpd = need_dsrc ? pick_pd(BWD_DATA, 3, c, &sh, &c->src_md, fpd) : NULL;
    int rc = bwpd && (bdpd || !need_dsrc) ? SBIR_OK
                                         : sbir_error("conv: no oneDNN backward implementation for %d->%d", C, OC);
    if (rc == SBIR_OK) rc = dn_adapt_init(&c->fwd_src, &c->src_md, dn_pd_md(fpd, dnnl_query_src_md), 0);
    if (rc == SBIR_OK) rc = dn_adapt_init(&c->bw_src, &c->src_md, dn_pd_md(bwpd, dnnl_query_src_md), 0);
    if (rc == SBIR_OK) rc = dn_adapt_init(&c->bw_ddst, &c->dst_md, dn_pd_md(bwpd, dnnl_query_diff_dst_md), 0);
    if (rc == SBIR_OK && bdpd) rc = dn_adapt_init(&c->bd_ddst, &c->dst_md, dn_pd_md(bdpd, dnnl_query_diff_dst_md), 0);
    if (rc == SBIR_OK && bdpd) rc = dn_adapt_init(&c->bd_dsrc, dn_pd_md(bdpd, dnnl_query_diff_src_md), &c->src_md, 1);
    if (rc == SBIR_OK)
        rc = dn_weights_init(&c->w, &wei_plain, dn_pd_md(fpd, dnnl_query_weights_md),
                             bdpd ? dn_pd_md(bdpd, dnnl_query_weights_md) : NULL,
                             dn_pd_md(bwpd, dnnl_query_diff_weights_md));
    if (rc == SBIR_OK) {
        rc = dn_prim(&c->fwd, fpd);
        fpd = NULL;
    }
    if (rc == SBIR_OK) {
        rc = dn_prim(&c->bwd_weights, bwpd);
        bwpd = NULL;
    }
    if (rc == SBIR_OK && bdpd) {
        rc = dn_prim(&c->bwd_data, bdpd);
        bdpd = NULL;
    }
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bwpd) dnnl_primitive_desc_destroy(bwpd);
    if (bdpd) dnnl_primitive_desc_destroy(bdpd);
    if (rc == SBIR_OK && has_bias) {
        rc = dn_mem_user(&c->bias, &sh.bias_md, NULL);
        if (rc == SBIR_OK) rc = dn_mem(&c->dbias, &sh.bias_md);
    }
    return rc;
}

int dn_conv_load_weights(dn_conv *c, const float *weight, const float *bias) {
    DN_TRY(dn_weights_load(&c->w, weight));
    if (c->has_bias) DN_TRY(dn_set_ptr(c->bias, bias));
    return SBIR_OK;
}

int dn_conv_forward(dn_conv *c, dnnl_memory_t src, dnnl_memory_t dst) {
    dnnl_memory_t s = dn_adapt_in(&c->fwd_src, src);
    if (!s) return SBIR_ERR;
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, s}, {DNNL_ARG_WEIGHTS, c->w.fwd}, {DNNL_ARG_DST, dst},
                            {DNNL_ARG_BIAS, c->bias}};
    return dn_exec(c->fwd, c->has_bias ? 4 : 3, a);
}

int dn_conv_backward_data(dn_conv *c, dnnl_memory_t ddst, dnnl_memory_t dsrc) {
    if (!c->bwd_data) return sbir_error("conv: created without backward-data");
    dnnl_memory_t dd = dn_adapt_in(&c->bd_ddst, ddst);
    if (!dd) return SBIR_ERR;
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_WEIGHTS, c->w.bwd ? c->w.bwd : c->w.fwd},
                            {DNNL_ARG_DIFF_SRC, dn_adapt_out(&c->bd_dsrc, dsrc)}};
    DN_TRY(dn_exec(c->bwd_data, 3, a));
    return dn_adapt_out_done(&c->bd_dsrc, dsrc);
}

int dn_conv_backward_weights(dn_conv *c, dnnl_memory_t src, dnnl_memory_t ddst, float *dweight, float *dbias) {
    dnnl_memory_t s = dn_adapt_in(&c->bw_src, src), dd = s ? dn_adapt_in(&c->bw_ddst, ddst) : NULL;
    if (!dd) return SBIR_ERR;
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, s}, {DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_DIFF_WEIGHTS, c->w.diff},
                            {DNNL_ARG_DIFF_BIAS, c->dbias}};
    DN_TRY(dn_exec(c->bwd_weights, c->has_bias ? 4 : 3, a));
    if (dweight) DN_TRY(dn_weights_grad(&c->w, dweight));
    if (dbias && c->has_bias) {
        DN_CHECK(dnnl_stream_wait(dn_stream()));
        const float *db = dn_ptr(c->dbias);
        for (int o = 0; o < c->OC; o++) dbias[o] += db[o];
    }
    return SBIR_OK;
}

void dn_conv_destroy(dn_conv *c) {
    dn_free_prim(&c->fwd);
    dn_free_prim(&c->bwd_data);
    dn_free_prim(&c->bwd_weights);
    dn_weights_destroy(&c->w);
    dn_adapt_destroy(&c->fwd_src), dn_adapt_destroy(&c->bw_src), dn_adapt_destroy(&c->bw_ddst);
    dn_adapt_destroy(&c->bd_ddst), dn_adapt_destroy(&c->bd_dsrc);
    dn_free_mem(&c->bias);
    dn_free_mem(&c->dbias);
}
