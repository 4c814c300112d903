/* dnnl_pool.c — pooling on oneDNN (see dnnl_pool.h). */
#include "nn/dnnl_pool.h"

#include <string.h>

#include "nn/ops.h"

/* Element (n, cb, h, w, lane) of a channel-blocked tensor with CB blocks of blk lanes; blk = 1 is
 * plain NCHW. Padded lanes (C not a multiple of blk) hold zeros in and out. */
#define AT(base, nb, h, w, H, W, blk) ((base) + ((((size_t)(nb) * (H) + (h)) * (W) + (w)) * (blk)))

static inline __attribute__((always_inline)) void max_fwd_row(const float *x, float *y, unsigned char *ws, int H,
                                                               int W, int OH, int OW, int K, int nb, int oh,
                                                               const int blk) {
    for (int ow = 0; ow < OW; ow++) {
        float best[16];
        int arg[16]; /* int, not char: same width as the floats, so the selects vectorise */
        const float *x0 = AT(x, nb, oh * K, ow * K, H, W, blk);
        for (int c = 0; c < blk; c++) best[c] = x0[c], arg[c] = 0;
        for (int kh = 0; kh < K; kh++)
            for (int kw = 0; kw < K; kw++) {
                const float *xi = AT(x, nb, oh * K + kh, ow * K + kw, H, W, blk);
                int k = kh * K + kw;
                for (int c = 0; c < blk; c++) { /* strict >: the first maximum wins, as ops.h */
                    int better = xi[c] > best[c];
                    best[c] = better ? xi[c] : best[c];
                    arg[c] = better ? k : arg[c];
                }
            }
        float *yo = AT(y, nb, oh, ow, OH, OW, blk);
        unsigned char *wo = ws + (yo - y);
        for (int c = 0; c < blk; c++) yo[c] = best[c], wo[c] = (unsigned char)arg[c];
    }
}

static void direct_forward(dn_pool *p, const float *x, float *y) {
    const int blk = p->direct_blk, CB = (p->C + blk - 1) / blk, H = p->H, W = p->W, K = p->KH, OH = p->OH, OW = p->OW;
    const float inv = 1.0f / (float)(K * K);
#pragma omp parallel for collapse(2) schedule(static)
    for (int nb = 0; nb < p->B * CB; nb++)
        for (int oh = 0; oh < OH; oh++) {
            if (p->max) {
                if (blk == 16) max_fwd_row(x, y, p->direct_ws, H, W, OH, OW, K, nb, oh, 16);
                else if (blk == 8) max_fwd_row(x, y, p->direct_ws, H, W, OH, OW, K, nb, oh, 8);
                else max_fwd_row(x, y, p->direct_ws, H, W, OH, OW, K, nb, oh, 1);
                continue;
            }
            for (int ow = 0; ow < OW; ow++) {
                float acc[16] = {0};
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) {
                        const float *xi = AT(x, nb, oh * K + kh, ow * K + kw, H, W, blk);
                        for (int c = 0; c < blk; c++) acc[c] += xi[c];
                    }
                float *yo = AT(y, nb, oh, ow, OH, OW, blk);
                for (int c = 0; c < blk; c++) yo[c] = acc[c] * inv;
            }
        }
}

/* One window row (oh) of the input gradient, every element written (the columns and, for the last
 * oh, rows past the last window get zeros: floor division leaves them out of every window). */
static inline __attribute__((always_inline)) void bwd_row(const dn_pool *p, const float *dy, float *dx, int nb,
                                                           int oh, const int blk) {
    const int H = p->H, W = p->W, K = p->KH, OH = p->OH, OW = p->OW;
    const float inv = 1.0f / (float)(K * K);
    int h_end = oh == OH - 1 ? H : (oh + 1) * K;
    for (int ih = oh * K; ih < h_end; ih++) {
        float *row = AT(dx, nb, ih, 0, H, W, blk);
        if (ih >= OH * K) {
            memset(row, 0, sizeof(float) * W * blk);
            continue;
        }
        int kh = ih - oh * K;
        for (int ow = 0; ow < OW; ow++) {
            const float *g = AT(dy, nb, oh, ow, OH, OW, blk);
            const unsigned char *a = p->direct_ws + (g - dy);
            for (int kw = 0; kw < K; kw++) {
                float *d = row + (size_t)(ow * K + kw) * blk;
                if (p->max) {
                    unsigned char k = (unsigned char)(kh * K + kw);
                    for (int c = 0; c < blk; c++) d[c] = a[c] == k ? g[c] : 0.0f;
                } else {
                    for (int c = 0; c < blk; c++) d[c] = g[c] * inv;
                }
            }
        }
        memset(row + (size_t)OW * K * blk, 0, sizeof(float) * (W - OW * K) * blk);
    }
}

static void direct_backward(dn_pool *p, const float *dy, float *dx) {
    const int blk = p->direct_blk, CB = (p->C + blk - 1) / blk;
#pragma omp parallel for collapse(2) schedule(static)
    for (int nb = 0; nb < p->B * CB; nb++)
        for (int oh = 0; oh < p->OH; oh++) {
            if (blk == 16) bwd_row(p, dy, dx, nb, oh, 16);
            else if (blk == 8) bwd_row(p, dy, dx, nb, oh, 8);
            else bwd_row(p, dy, dx, nb, oh, 1);
        }
}

int dn_pool_init(dn_pool *p, const dnnl_memory_desc_t *src_md, int max, int KH, int KW, int S, int P) {
    memset(p, 0, sizeof *p);
    if (src_md->ndims != 4) return sbir_error("pooling: expects a 4-D input");
    p->B = (int)src_md->dims[0], p->C = (int)src_md->dims[1], p->H = (int)src_md->dims[2], p->W = (int)src_md->dims[3];
    p->KH = KH, p->KW = KW, p->S = S, p->P = P, p->max = max;
    p->OH = conv_out_size(p->H, KH, S, P), p->OW = conv_out_size(p->W, KW, S, P);
    if (p->OH < 1 || p->OW < 1) return sbir_error("pooling: %dx%d input is smaller than the %dx%d window", p->H, p->W, KH, KW);
    p->src_md = *src_md;
    dnnl_format_tag_t tag;
    int blk = KH == KW && KH == S && P == 0 && KH <= 16 && dn_direct_enabled() ? dn_md_dense_block(src_md, &tag) : 0;
    if (blk) {
        dnnl_dims_t od = {p->B, p->C, p->OH, p->OW};
        DN_CHECK(dnnl_memory_desc_init_by_tag(&p->dst_md, 4, od, dnnl_f32, tag));
        p->direct_blk = blk;
        if (max) p->direct_ws = alignedAllocCheck(dnnl_memory_desc_get_size(&p->dst_md) / sizeof(float));
        return SBIR_OK;
    }
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
    if (p->direct_blk) {
        direct_forward(p, dn_ptr(src), dn_ptr(dst));
        return SBIR_OK;
    }
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_WORKSPACE, p->ws}};
    return dn_exec(p->fwd, p->ws ? 3 : 2, a);
}

int dn_pool_backward(dn_pool *p, dnnl_memory_t ddst, dnnl_memory_t dsrc) {
    if (p->direct_blk) {
        direct_backward(p, dn_ptr(ddst), dn_ptr(dsrc));
        return SBIR_OK;
    }
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_SRC, dsrc}, {DNNL_ARG_WORKSPACE, p->ws}};
    return dn_exec(p->bwd, p->ws ? 3 : 2, a);
}

void dn_pool_destroy(dn_pool *p) {
    dn_free_prim(&p->fwd);
    dn_free_prim(&p->bwd);
    dn_free_mem(&p->ws);
    free(p->direct_ws);
    p->direct_ws = NULL;
}
