/* dnnl_linear.c — inner product on oneDNN (see dnnl_linear.h). */
#include "nn/dnnl_linear.h"

#include <string.h>

int dn_linear_init(dn_linear *l, const dnnl_memory_desc_t *src_md, int OUT, int need_dsrc) {
    memset(l, 0, sizeof *l);
    if (src_md->ndims != 2 && src_md->ndims != 4) return sbir_error("linear: expects a 2-D or 4-D input");
    l->B = (int)src_md->dims[0], l->OUT = OUT, l->src_md = *src_md;
    l->IN = (int)(dn_md_nelems(src_md) / (size_t)l->B);
    dnnl_dims_t wd = {OUT, src_md->dims[1], 1, 1}, dd = {l->B, OUT}, bd = {OUT};
    if (src_md->ndims == 4) wd[2] = src_md->dims[2], wd[3] = src_md->dims[3];
    dnnl_memory_desc_t wei_any, wei_plain, bias_md;
    DN_TRY(dn_md_any(&wei_any, src_md->ndims, wd));
    DN_TRY(dn_md_plain(&wei_plain, src_md->ndims, wd));
    DN_TRY(dn_md_plain(&bias_md, 1, bd));
    DN_TRY(dn_md_plain(&l->dst_md, 2, dd));
    dnnl_inner_product_desc_t fd, bdd, bwd;
    dnnl_primitive_desc_t fpd = NULL, bdpd = NULL, bwpd = NULL;
    DN_CHECK(dnnl_inner_product_forward_desc_init(&fd, dnnl_forward_training, src_md, &wei_any, &bias_md, &l->dst_md));
    DN_CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, dn_engine(), NULL));
    dnnl_status_t s = dnnl_inner_product_backward_weights_desc_init(&bwd, src_md, &wei_any, &bias_md, &l->dst_md);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&bwpd, &bwd, NULL, dn_engine(), fpd);
    if (s == dnnl_success && need_dsrc) {
        s = dnnl_inner_product_backward_data_desc_init(&bdd, src_md, &wei_any, &l->dst_md);
        if (s == dnnl_success) s = dnnl_primitive_desc_create(&bdpd, &bdd, NULL, dn_engine(), fpd);
    }
    int rc = s == dnnl_success ? SBIR_OK : sbir_error("linear: no oneDNN backward implementation: %s", dnnl_status2str(s));
    if (rc == SBIR_OK)
        rc = dn_weights_init(&l->w, &wei_plain, dn_pd_md(fpd, dnnl_query_weights_md),
                             bdpd ? dn_pd_md(bdpd, dnnl_query_weights_md) : NULL,
                             dn_pd_md(bwpd, dnnl_query_diff_weights_md));
    if (rc == SBIR_OK) {
        rc = dn_prim(&l->fwd, fpd);
        fpd = NULL;
    }
    if (rc == SBIR_OK) {
        rc = dn_prim(&l->bwd_weights, bwpd);
        bwpd = NULL;
    }
    if (rc == SBIR_OK && bdpd) {
        rc = dn_prim(&l->bwd_data, bdpd);
        bdpd = NULL;
    }
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bwpd) dnnl_primitive_desc_destroy(bwpd);
    if (bdpd) dnnl_primitive_desc_destroy(bdpd);
    if (rc == SBIR_OK) rc = dn_mem_user(&l->bias, &bias_md, NULL);
    if (rc == SBIR_OK) rc = dn_mem(&l->dbias, &bias_md);
    return rc;
}

int dn_linear_load_weights(dn_linear *l, const float *weight, const float *bias) {
    DN_TRY(dn_weights_load(&l->w, weight));
    return dn_set_ptr(l->bias, bias);
}

int dn_linear_forward(dn_linear *l, dnnl_memory_t src, dnnl_memory_t dst) {
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, l->w.fwd}, {DNNL_ARG_BIAS, l->bias},
                            {DNNL_ARG_DST, dst}};
    return dn_exec(l->fwd, 4, a);
}

int dn_linear_backward_data(dn_linear *l, dnnl_memory_t ddst, dnnl_memory_t dsrc) {
    if (!l->bwd_data) return sbir_error("linear: created without backward-data");
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, l->w.bwd ? l->w.bwd : l->w.fwd},
                            {DNNL_ARG_DIFF_SRC, dsrc}};
    return dn_exec(l->bwd_data, 3, a);
}

int dn_linear_backward_weights(dn_linear *l, dnnl_memory_t src, dnnl_memory_t ddst, float *dweight, float *dbias) {
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, l->w.diff},
                            {DNNL_ARG_DIFF_BIAS, l->dbias}};
    DN_TRY(dn_exec(l->bwd_weights, 4, a));
    if (dweight) DN_TRY(dn_weights_grad(&l->w, dweight));
    if (dbias) {
        DN_CHECK(dnnl_stream_wait(dn_stream()));
        const float *db = dn_ptr(l->dbias);
        for (int o = 0; o < l->OUT; o++) dbias[o] += db[o];
    }
    return SBIR_OK;
}

void dn_linear_destroy(dn_linear *l) {
    dn_free_prim(&l->fwd);
    dn_free_prim(&l->bwd_data);
    dn_free_prim(&l->bwd_weights);
    dn_weights_destroy(&l->w);
    dn_free_mem(&l->bias);
    dn_free_mem(&l->dbias);
}
