/* dnnl_bn.c — batch normalisation (+ fused ReLU) on oneDNN (see dnnl_bn.h). */
#include "nn/dnnl_bn.h"

#include <string.h>

int dn_bn_init(dn_bn *b, const dnnl_memory_desc_t *md, float eps, int relu) {
    memset(b, 0, sizeof *b);
    if (md->ndims != 4 && md->ndims != 2) return sbir_error("batch norm: expects a 2-D or 4-D input");
    b->B = (int)md->dims[0], b->C = (int)md->dims[1];
    b->HW = md->ndims == 4 ? (int)(md->dims[2] * md->dims[3]) : 1;
    b->relu = relu, b->eps = eps, b->md = *md;
    /* The combined scale-shift flag: oneDNN 2.6's jit kernels reject separate use_scale/use_shift and
     * fall back to the slow reference implementation. */
    unsigned flags = dnnl_use_scaleshift | (relu ? dnnl_fuse_norm_relu : 0);
    dnnl_batch_normalization_desc_t ft, fi, bd;
    dnnl_primitive_desc_t ftpd = NULL, fipd = NULL, bpd = NULL;
    DN_CHECK(dnnl_batch_normalization_forward_desc_init(&ft, dnnl_forward_training, md, eps, flags));
    DN_CHECK(dnnl_batch_normalization_forward_desc_init(&fi, dnnl_forward_inference, md, eps,
                                                        flags | dnnl_use_global_stats));
    DN_CHECK(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, md, md, eps, flags));
    DN_CHECK(dnnl_primitive_desc_create(&ftpd, &ft, NULL, dn_engine(), NULL));
    dnnl_status_t s = dnnl_primitive_desc_create(&bpd, &bd, NULL, dn_engine(), ftpd);
    if (s != dnnl_success) {
        dnnl_primitive_desc_destroy(ftpd);
        DN_CHECK(s);
    }
    int rc = SBIR_OK;
    if (relu) rc = dn_mem(&b->ws, dn_pd_md(ftpd, dnnl_query_workspace_md));
    if (rc == SBIR_OK) rc = dn_prim(&b->fwd_train, ftpd);
    else dnnl_primitive_desc_destroy(ftpd);
    if (rc == SBIR_OK) rc = dn_prim(&b->bwd, bpd);
    else dnnl_primitive_desc_destroy(bpd);
    DN_TRY(rc);
    DN_CHECK(dnnl_primitive_desc_create(&fipd, &fi, NULL, dn_engine(), NULL));
    DN_TRY(dn_prim(&b->fwd_infer, fipd));
    dnnl_memory_desc_t cmd, ssmd;
    dnnl_dims_t cd = {b->C}, ssd = {2, b->C};
    DN_TRY(dn_md_plain(&cmd, 1, cd));
    DN_TRY(dn_md_plain(&ssmd, 2, ssd));
    DN_TRY(dn_mem(&b->ss, &ssmd));
    DN_TRY(dn_mem(&b->dss, &ssmd));
    DN_TRY(dn_mem(&b->mean, &cmd));
    DN_TRY(dn_mem(&b->var, &cmd));
    DN_TRY(dn_mem_user(&b->run_mean, &cmd, NULL));
    DN_TRY(dn_mem_user(&b->run_var, &cmd, NULL));
    return SBIR_OK;
}

static void set_affine(dn_bn *b, const float *gamma, const float *beta) {
    memcpy(dn_ptr(b->ss), gamma, sizeof(float) * b->C);
    memcpy(dn_ptr(b->ss) + b->C, beta, sizeof(float) * b->C);
}

int dn_bn_forward_train(dn_bn *b, dnnl_memory_t src, dnnl_memory_t dst, const float *gamma, const float *beta,
                        float *running_mean, float *running_var, float momentum) {
    set_affine(b, gamma, beta);
    dnnl_exec_arg_t a[6] = {{DNNL_ARG_SRC, src},     {DNNL_ARG_DST, dst},         {DNNL_ARG_SCALE_SHIFT, b->ss},
                            {DNNL_ARG_MEAN, b->mean}, {DNNL_ARG_VARIANCE, b->var}, {DNNL_ARG_WORKSPACE, b->ws}};
    DN_TRY(dn_exec(b->fwd_train, b->relu ? 6 : 5, a));
    if (running_mean && running_var) {
        /* Synchronous on the CPU engine with OpenMP, but the stats must be final before we read them. */
        DN_CHECK(dnnl_stream_wait(dn_stream()));
        const float *m = dn_ptr(b->mean), *v = dn_ptr(b->var);
        double n = (double)b->B * b->HW;
        float unbias = n > 1 ? (float)(n / (n - 1)) : 1.0f;
        for (int c = 0; c < b->C; c++) {
            running_mean[c] = (1 - momentum) * running_mean[c] + momentum * m[c];
            running_var[c] = (1 - momentum) * running_var[c] + momentum * v[c] * unbias;
        }
    }
    return SBIR_OK;
}

int dn_bn_forward_infer(dn_bn *b, dnnl_memory_t src, dnnl_memory_t dst, const float *gamma, const float *beta,
                        const float *running_mean, const float *running_var) {
    set_affine(b, gamma, beta);
    DN_TRY(dn_set_ptr(b->run_mean, running_mean));
    DN_TRY(dn_set_ptr(b->run_var, running_var));
    dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCALE_SHIFT, b->ss},
                            {DNNL_ARG_MEAN, b->run_mean}, {DNNL_ARG_VARIANCE, b->run_var}};
    return dn_exec(b->fwd_infer, 5, a);
}

int dn_bn_backward(dn_bn *b, dnnl_memory_t src, dnnl_memory_t ddst, dnnl_memory_t dsrc, float *dgamma, float *dbeta) {
    dnnl_exec_arg_t a[8] = {{DNNL_ARG_SRC, src},      {DNNL_ARG_DIFF_DST, ddst},         {DNNL_ARG_SCALE_SHIFT, b->ss},
                            {DNNL_ARG_MEAN, b->mean},  {DNNL_ARG_VARIANCE, b->var},       {DNNL_ARG_DIFF_SRC, dsrc},
                            {DNNL_ARG_DIFF_SCALE_SHIFT, b->dss}, {DNNL_ARG_WORKSPACE, b->ws}};
    DN_TRY(dn_exec(b->bwd, b->relu ? 8 : 7, a));
    if (dgamma || dbeta) DN_CHECK(dnnl_stream_wait(dn_stream()));
    const float *dg = dn_ptr(b->dss), *db = dn_ptr(b->dss) + b->C;
    for (int c = 0; c < b->C; c++) {
        if (dgamma) dgamma[c] += dg[c];
        if (dbeta) dbeta[c] += db[c];
    }
    return SBIR_OK;
}

void dn_bn_destroy(dn_bn *b) {
    dn_free_prim(&b->fwd_train);
    dn_free_prim(&b->fwd_infer);
    dn_free_prim(&b->bwd);
    dnnl_memory_t *m[] = {&b->ss, &b->dss, &b->mean, &b->var, &b->ws, &b->run_mean, &b->run_var};
    for (size_t i = 0; i < SBIR_ARRAY_LEN(m); i++) dn_free_mem(m[i]);
}
