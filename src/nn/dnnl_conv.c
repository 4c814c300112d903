/* dnnl_conv.c — convolution layer on oneDNN (see dnnl_conv.h). */
#include "nn/dnnl_conv.h"

#include <string.h>

#include "nn/ops.h"

int dn_conv_init(dn_conv *c, int B, int C, int H, int W, int OC, int K, int S, int P, int has_bias, int need_dsrc,
                 const dnnl_memory_desc_t *src_md) {
    memset(c, 0, sizeof *c);
    c->B = B, c->C = C, c->H = H, c->W = W, c->OC = OC, c->K = K, c->S = S, c->P = P, c->has_bias = has_bias;
    c->OH = conv_out_size(H, K, S, P), c->OW = conv_out_size(W, K, S, P);
    if (c->OH < 1 || c->OW < 1) return sbir_error("conv: %dx%d input is smaller than the %dx%d kernel", H, W, K, K);
    dnnl_dims_t sd = {B, C, H, W}, wd = {OC, C, K, K}, dd = {B, OC, c->OH, c->OW}, bd = {OC};
    dnnl_dims_t str = {S, S}, pad = {P, P};
    dnnl_memory_desc_t src_any, wei_any, dst_any, wei_plain, bias_md;
    DN_TRY(dn_md_any(&src_any, 4, sd));
    DN_TRY(dn_md_any(&wei_any, 4, wd));
    DN_TRY(dn_md_any(&dst_any, 4, dd));
    DN_TRY(dn_md_plain(&wei_plain, 4, wd));
    DN_TRY(dn_md_plain(&bias_md, 1, bd));
    const dnnl_memory_desc_t *bmd = has_bias ? &bias_md : NULL;

    dnnl_convolution_desc_t fd, bdd, bwd;
    dnnl_primitive_desc_t fpd = NULL, bdpd = NULL, bwpd = NULL;
    DN_CHECK(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct,
                                                src_md ? src_md : &src_any, &wei_any, bmd, &dst_any, str, pad, pad));
    DN_CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, dn_engine(), NULL));
    c->src_md = *dn_pd_md(fpd, dnnl_query_src_md);
    c->dst_md = *dn_pd_md(fpd, dnnl_query_dst_md);
    /* The backward descriptors reuse the forward's activation layouts so that gradients flow in the
     * same blocked format as activations (no reorders between layers). */
    dnnl_status_t s = dnnl_convolution_backward_weights_desc_init(&bwd, dnnl_convolution_direct, &c->src_md,
                                                                  &wei_any, bmd, &c->dst_md, str, pad, pad);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&bwpd, &bwd, NULL, dn_engine(), fpd);
    if (s == dnnl_success && need_dsrc) {
        s = dnnl_convolution_backward_data_desc_init(&bdd, dnnl_convolution_direct, &c->src_md, &wei_any,
                                                     &c->dst_md, str, pad, pad);
        if (s == dnnl_success) s = dnnl_primitive_desc_create(&bdpd, &bdd, NULL, dn_engine(), fpd);
    }
    int rc = s == dnnl_success ? SBIR_OK : sbir_error("conv: no oneDNN backward implementation: %s", dnnl_status2str(s));
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
        rc = dn_mem_user(&c->bias, &bias_md, NULL);
        if (rc == SBIR_OK) rc = dn_mem(&c->dbias, &bias_md);
    }
    return rc;
}

int dn_conv_load_weights(dn_conv *c, const float *weight, const float *bias) {
    DN_TRY(dn_weights_load(&c->w, weight));
    if (c->has_bias) DN_TRY(dn_set_ptr(c->bias, bias));
    return SBIR_OK;
}

int dn_conv_forward(dn_conv *c, dnnl_memory_t src, dnnl_memory_t dst) {
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, c->w.fwd}, {DNNL_ARG_DST, dst},
                            {DNNL_ARG_BIAS, c->bias}};
    return dn_exec(c->fwd, c->has_bias ? 4 : 3, a);
}

int dn_conv_backward_data(dn_conv *c, dnnl_memory_t ddst, dnnl_memory_t dsrc) {
    if (!c->bwd_data) return sbir_error("conv: created without backward-data");
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, c->w.bwd ? c->w.bwd : c->w.fwd},
                            {DNNL_ARG_DIFF_SRC, dsrc}};
    return dn_exec(c->bwd_data, 3, a);
}

int dn_conv_backward_weights(dn_conv *c, dnnl_memory_t src, dnnl_memory_t ddst, float *dweight, float *dbias) {
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, c->w.diff},
                            {DNNL_ARG_DIFF_BIAS, c->dbias}};
    DN_TRY(dn_exec(c->bwd_weights, c->has_bias ? 4 : 3, a));
    if (dweight) DN_TRY(dn_weights_grad(&c->w, dweight));
    if (dbias && c->has_bias) {
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
    dn_free_mem(&c->bias);
    dn_free_mem(&c->dbias);
}
