/* dnnl_pool.c — pooling on oneDNN (see dnnl_pool.h). */
#include "nn/dnnl_pool.h"

#include <string.h>

#include "nn/ops.h"

int dn_pool_init(dn_pool *p, const dnnl_memory_desc_t *src_md, int max, int KH, int KW, int S, int P) {
    memset(p, 0, sizeof *p);
    if (src_md->ndims != 4) return sbir_error("pooling: expects a 4-D input");
    p->B = (int)src_md->dims[0], p->C = (int)src_md->dims[1], p->H = (int)src_md->dims[2], p->W = (int)src_md->dims[3];
    p->KH = KH, p->KW = KW, p->S = S, p->P = P, p->max = max;
    p->OH = conv_out_size(p->H, KH, S, P), p->OW = conv_out_size(p->W, KW, S, P);
    if (p->OH < 1 || p->OW < 1) return sbir_error("pooling: %dx%d input is smaller than the %dx%d window", p->H, p->W, KH, KW);
    p->src_md = *src_md;
    dnnl_dims_t dd = {p->B, p->C, p->OH, p->OW}, str = {S, S}, ker = {KH, KW}, pad = {P, P};
    /* oneDNN wants padding_r such that the output size comes out exactly; with floor division the
     * window past the right edge just is not computed, as in ops.h. */
    dnnl_dims_t pad_r = {(p->OH - 1) * S + KH - p->H - P, (p->OW - 1) * S + KW - p->W - P};
    dnnl_memory_desc_t dst_any;
    DN_TRY(dn_md_any(&dst_any, 4, dd));
    dnnl_alg_kind_t alg = max ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding;
    dnnl_pooling_desc_t fd, bd;
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    DN_CHECK(dnnl_pooling_forward_desc_init(&fd, dnnl_forward_training, alg, src_md, &dst_any, str, ker, pad, pad_r));
    DN_CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, dn_engine(), NULL));
    p->dst_md = *dn_pd_md(fpd, dnnl_query_dst_md);
    int rc = SBIR_OK;
    dnnl_status_t s = dnnl_pooling_backward_desc_init(&bd, alg, src_md, &p->dst_md, str, ker, pad, pad_r);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&bpd, &bd, NULL, dn_engine(), fpd);
    if (s != dnnl_success) rc = sbir_error("pooling: no oneDNN backward implementation: %s", dnnl_status2str(s));
    const dnnl_memory_desc_t *wmd = dn_pd_md(fpd, dnnl_query_workspace_md);
    if (rc == SBIR_OK && wmd && wmd->ndims > 0) rc = dn_mem(&p->ws, wmd);
    if (rc == SBIR_OK) {
        rc = dn_prim(&p->fwd, fpd);
        fpd = NULL;
    }
    if (rc == SBIR_OK) {
        rc = dn_prim(&p->bwd, bpd);
        bpd = NULL;
    }
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    return rc;
}

int dn_pool_forward(dn_pool *p, dnnl_memory_t src, dnnl_memory_t dst) {
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_WORKSPACE, p->ws}};
    return dn_exec(p->fwd, p->ws ? 3 : 2, a);
}

int dn_pool_backward(dn_pool *p, dnnl_memory_t ddst, dnnl_memory_t dsrc) {
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_SRC, dsrc}, {DNNL_ARG_WORKSPACE, p->ws}};
    return dn_exec(p->bwd, p->ws ? 3 : 2, a);
}

void dn_pool_destroy(dn_pool *p) {
    dn_free_prim(&p->fwd);
    dn_free_prim(&p->bwd);
    dn_free_mem(&p->ws);
}
