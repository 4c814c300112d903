/* net_dnnl.c — the oneDNN backend. Per batch size and OpenMP thread count, one instance holds
 * every layer's primitives and activation memories, created once and reused each step (a few are
 * cached: training at max_batch and queries at 1 must not rebuild each other's). Activations stay
 * in the layouts the convolutions choose (nChw16c on AVX-512, nChw8c on AVX2) and gradients flow
 * in the same layouts, so the only reorders are the network input, the final features, their
 * gradient, and the weights (plain master -> blocked once per parameter change, blocked gradient ->
 * plain += once per backward).
 *
 * Timing: on the CPU engine with the OpenMP runtime a primitive executes synchronously inside
 * dnnl_primitive_execute, so wall-clock time around each call is that primitive's time; the stream
 * is waited on only where our own code reads results (features, BN statistics, bias gradients). */
#include <omp.h>
#include <string.h>

#include "nn/bn_sync.h"
#include "nn/dnnl_bn.h"
#include "nn/dnnl_common.h"
#include "nn/dnnl_conv.h"
#include "nn/dnnl_eltwise.h"
#include "nn/dnnl_linear.h"
#include "nn/dnnl_pool.h"
#include "nn/net_impl.h"

typedef struct {
    dn_conv conv;
    dn_bn bn;
    dn_pool pool;
    dn_linear lin;
    dn_eltwise elt;
    dnnl_memory_t y;         /* conv output before batch norm + ReLU */
    dnnl_memory_t out, dout; /* the layer's output and the gradient w.r.t. it, same layout */
    float *sync_mean, *sync_rstd; /* synchronised batch norm's statistics (allocated on first use) */
    double sync_count;
} dl_layer;

typedef struct {
    int B, threads; /* built for this batch size and OpenMP thread count */
    uint64_t version; /* of the weights loaded into the blocked copies */
    long last_use;
    dl_layer *L;
    dnnl_memory_t in_user, in; /* the caller's NCHW input; our copy in the first layer's layout */
    dnnl_primitive_t in_reorder;
    dnnl_memory_t out_plain, dout_user; /* out_plain NULL when the last layer's output is plain */
    dnnl_primitive_t out_reorder, dout_reorder;
    net_allreduce_fn synced; /* the last training forward's batch-norm all-reduce (NULL: local) */
} dl_inst;

#define DL_CACHE 4
typedef struct {
    dl_inst *cache[DL_CACHE];
    dl_inst *cur;
    long clock;
} dl_state;

static void inst_destroy(net *n, dl_inst *I) {
    if (!I) return;
    for (int l = 0; I->L && l < n->n_layers; l++) {
        dl_layer *D = &I->L[l];
        dn_conv_destroy(&D->conv);
        dn_bn_destroy(&D->bn);
        dn_pool_destroy(&D->pool);
        dn_linear_destroy(&D->lin);
        dn_eltwise_destroy(&D->elt);
        dn_free_mem(&D->y), dn_free_mem(&D->out), dn_free_mem(&D->dout);
        free(D->sync_mean);
    }
    free(I->L);
    dn_free_mem(&I->in_user), dn_free_mem(&I->in), dn_free_mem(&I->out_plain), dn_free_mem(&I->dout_user);
    dn_free_prim(&I->in_reorder), dn_free_prim(&I->out_reorder), dn_free_prim(&I->dout_reorder);
    free(I);
}

/* Builds layer l reading src_md; sets *dst_md (pointer into the layer) and *first_src_md. */
static int layer_init(net *n, dl_layer *D, int l, int B, const dnnl_memory_desc_t *src_md,
                      const dnnl_memory_desc_t **dst_md, const dnnl_memory_desc_t **first_src_md) {
    const net_layer *L = &n->layers[l];
    switch (L->kind) {
    case NET_CONV:
        /* The first convolution picks its own input layout (plain NCHW suits 3 channels best). */
        DN_TRY(dn_conv_init(&D->conv, B, L->C, L->H, L->W, L->OC, 3, 1, 1, 0, l > 0, l ? src_md : NULL));
        DN_TRY(dn_bn_init(&D->bn, &D->conv.dst_md, n->bn_eps, 1));
        DN_TRY(dn_mem(&D->y, &D->conv.dst_md));
        *dst_md = &D->conv.dst_md, *first_src_md = &D->conv.src_md;
        break;
    case NET_MAXPOOL:
    case NET_AVGPOOL:
        DN_TRY(dn_pool_init(&D->pool, src_md, L->kind == NET_MAXPOOL, 2, 2, 2, 0));
        *dst_md = &D->pool.dst_md, *first_src_md = &D->pool.src_md;
        break;
    case NET_GAP:
        DN_TRY(dn_pool_init(&D->pool, src_md, 0, L->H, L->W, 1, 0));
        *dst_md = &D->pool.dst_md, *first_src_md = &D->pool.src_md;
        break;
    case NET_LINEAR:
        DN_TRY(dn_linear_init(&D->lin, src_md, L->OC, l > 0));
        *dst_md = &D->lin.dst_md, *first_src_md = &D->lin.src_md;
        break;
    case NET_RELU:
        DN_TRY(dn_eltwise_init(&D->elt, src_md, 0.0f));
        *dst_md = &D->elt.md, *first_src_md = &D->elt.md;
        break;
    }
    DN_TRY(dn_mem(&D->out, *dst_md));
    DN_TRY(dn_mem(&D->dout, *dst_md));
    return SBIR_OK;
}

static dl_inst *inst_create(net *n, int B) {
    dl_inst *I = callocCheck(1, sizeof *I);
    I->B = B, I->threads = omp_get_max_threads();
    I->L = callocCheck(n->n_layers, sizeof(dl_layer));
    dnnl_memory_desc_t user_md, last_plain;
    dnnl_dims_t ud = {B, n->in_c, n->in_h, n->in_w};
    const dnnl_memory_desc_t *src_md = &user_md, *first_src = NULL, *dst_md = NULL;
    int rc = dn_md_plain(&user_md, 4, ud);
    for (int l = 0; l < n->n_layers && rc == SBIR_OK; l++) {
        const dnnl_memory_desc_t *fs = NULL;
        rc = layer_init(n, &I->L[l], l, B, src_md, &dst_md, &fs);
        if (rc != SBIR_OK) sbir_error_prefix("layer %d", l);
        if (l == 0) first_src = fs;
        src_md = dst_md;
    }
    /* The input is copied even where no layout change is needed: backward-weights of the first layer
     * reads it after the caller may have reused its buffer. */
    if (rc == SBIR_OK) rc = dn_mem_user(&I->in_user, &user_md, NULL);
    if (rc == SBIR_OK) rc = dn_mem(&I->in, first_src);
    if (rc == SBIR_OK) rc = dn_reorder_create(&I->in_reorder, &user_md, first_src, 0);
    if (rc == SBIR_OK) rc = dn_md_plain_like(&last_plain, dst_md);
    if (rc == SBIR_OK && !dnnl_memory_desc_equal(&last_plain, dst_md)) {
        rc = dn_mem(&I->out_plain, &last_plain);
        if (rc == SBIR_OK) rc = dn_reorder_create(&I->out_reorder, dst_md, &last_plain, 0);
    }
    if (rc == SBIR_OK) rc = dn_mem_user(&I->dout_user, &last_plain, NULL);
    if (rc == SBIR_OK) rc = dn_reorder_create(&I->dout_reorder, &last_plain, dst_md, 0);
    if (rc != SBIR_OK) {
        inst_destroy(n, I);
        return NULL;
    }
    return I;
}

static dl_inst *inst_get(net *n, int B) {
    dl_state *s = n->impl;
    for (int i = 0; i < DL_CACHE; i++) {
        if (s->cache[i] && s->cache[i]->B == B && s->cache[i]->threads == omp_get_max_threads()) {
            s->cache[i]->last_use = ++s->clock;
            return s->cache[i];
        }
    }
    int slot = 0; /* an empty slot, else the least recently used */
    for (int i = 0; i < DL_CACHE; i++) {
        if (!s->cache[i]) {
            slot = i;
            break;
        }
        if (s->cache[i]->last_use < s->cache[slot]->last_use) slot = i;
    }
    dl_inst *I = inst_create(n, B);
    if (!I) return NULL;
    if (s->cache[slot] == s->cur) s->cur = NULL;
    inst_destroy(n, s->cache[slot]);
    s->cache[slot] = I;
    I->last_use = ++s->clock;
    return I;
}

static int dl_create(net *n) {
    DN_TRY(dn_acquire());
    n->impl = callocCheck(1, sizeof(dl_state));
    return inst_get(n, n->max_batch) ? SBIR_OK : SBIR_ERR;
}

static void dl_destroy(net *n) {
    dl_state *s = n->impl;
    for (int i = 0; i < DL_CACHE; i++) inst_destroy(n, s->cache[i]);
    free(s);
    n->impl = NULL;
    dn_release();
}

static int load_weights(net *n, dl_inst *I) {
    for (int l = 0; l < n->n_layers; l++) {
        const net_layer *L = &n->layers[l];
        double t0 = sbir_now();
        if (L->kind == NET_CONV) DN_TRY(dn_conv_load_weights(&I->L[l].conv, net_param(n, L->t_weight), NULL));
        if (L->kind == NET_LINEAR)
            DN_TRY(dn_linear_load_weights(&I->L[l].lin, net_param(n, L->t_weight), net_param(n, L->t_bias)));
        n->times[l][NET_T_WEIGHTS] += sbir_now() - t0;
    }
    I->version = n->version;
    return SBIR_OK;
}

/* Synchronised batch norm (bn_sync.h) runs in our own loops over the convolution's blocked output,
 * with the ReLU fused the way oneDNN fuses it: the forward writes relu(bn(y)) into out, and backward
 * masks the gradient where out is 0. */
static int sync_shape(const net_layer *L, dl_layer *D, int B, bn_shape *sh) {
    int k = dn_md_dense_block(dn_mem_md(D->y), NULL);
    if (k < 1 || k > BN_SYNC_MAX_BLOCK)
        return sbir_error("synchronised batch norm: the convolution chose a layout other than NCHW, nChw8c or nChw16c");
    *sh = (bn_shape){B, L->OC, L->OH * L->OW, k};
    return SBIR_OK;
}

static int sync_bn_forward(net *n, const net_layer *L, dl_layer *D, int B) {
    bn_shape sh;
    DN_TRY(sync_shape(L, D, B, &sh));
    if (!D->sync_mean) {
        D->sync_mean = mallocCheck(sizeof(float) * 2 * (size_t)L->OC);
        D->sync_rstd = D->sync_mean + L->OC;
    }
    DN_CHECK(dnnl_stream_wait(dn_stream())); /* the convolution's output must be final */
    return bn_sync_forward(&sh, dn_ptr(D->y), dn_ptr(D->out), 1, net_param(n, L->t_gamma), net_param(n, L->t_beta),
                           D->sync_mean, D->sync_rstd, &D->sync_count, net_buf(n, L->t_rmean), net_buf(n, L->t_rvar),
                           n->bn_momentum, n->bn_eps, n->bn_allreduce);
}

static int sync_bn_backward(net *n, const net_layer *L, dl_layer *D, dl_inst *I) {
    bn_shape sh;
    DN_TRY(sync_shape(L, D, I->B, &sh));
    DN_CHECK(dnnl_stream_wait(dn_stream())); /* dout was written by the layer above */
    float *dy = dn_ptr(D->dout);
    return bn_sync_backward(&sh, dn_ptr(D->y), dn_ptr(D->out), dy, dy, net_param(n, L->t_gamma), D->sync_mean,
                            D->sync_rstd, D->sync_count, net_grad(n, L->t_gamma), net_grad(n, L->t_beta), I->synced);
}

static int forward_layers(net *n, dl_inst *I, int training) {
    dnnl_memory_t x = I->in;
    for (int l = 0; l < n->n_layers; l++) {
        const net_layer *L = &n->layers[l];
        dl_layer *D = &I->L[l];
        double t0 = sbir_now();
        switch (L->kind) {
        case NET_CONV: {
            DN_TRY(dn_conv_forward(&D->conv, x, D->y));
            double t1 = sbir_now();
            n->times[l][NET_T_FWD] += t1 - t0;
            const float *g = net_param(n, L->t_gamma), *b = net_param(n, L->t_beta);
            if (training && n->bn_allreduce)
                DN_TRY(sync_bn_forward(n, L, D, I->B));
            else if (training)
                DN_TRY(dn_bn_forward_train(&D->bn, D->y, D->out, g, b, net_buf(n, L->t_rmean), net_buf(n, L->t_rvar),
                                           n->bn_momentum));
            else
                DN_TRY(dn_bn_forward_infer(&D->bn, D->y, D->out, g, b, net_buf(n, L->t_rmean), net_buf(n, L->t_rvar)));
            n->times[l][NET_T_OTHER] += sbir_now() - t1;
            break;
        }
        case NET_MAXPOOL:
        case NET_AVGPOOL:
        case NET_GAP:
            DN_TRY(dn_pool_forward(&D->pool, x, D->out));
            break;
        case NET_LINEAR:
            DN_TRY(dn_linear_forward(&D->lin, x, D->out));
            break;
        case NET_RELU:
            DN_TRY(dn_eltwise_forward(&D->elt, x, D->out));
            break;
        }
        if (L->kind != NET_CONV) n->times[l][NET_T_FWD] += sbir_now() - t0;
        x = D->out;
    }
    return SBIR_OK;
}

static const float *dl_forward(net *n, const float *input, int B, int training) {
    dl_state *s = n->impl;
    dl_inst *I = inst_get(n, B);
    s->cur = NULL;
    if (!I) return NULL;
    if (I->version != n->version && load_weights(n, I) != SBIR_OK) return NULL;
    I->synced = training ? n->bn_allreduce : NULL;
    if (dn_set_ptr(I->in_user, input) != SBIR_OK || dn_reorder(I->in_reorder, I->in_user, I->in) != SBIR_OK)
        return NULL;
    if (forward_layers(n, I, training) != SBIR_OK) return NULL;
    dnnl_memory_t last = I->L[n->n_layers - 1].out;
    if (I->out_reorder && dn_reorder(I->out_reorder, last, I->out_plain) != SBIR_OK) return NULL;
    if (dnnl_stream_wait(dn_stream()) != dnnl_success) {
        sbir_error("oneDNN: stream wait failed");
        return NULL;
    }
    s->cur = I;
    return dn_ptr(I->out_plain ? I->out_plain : last);
}

static int dl_backward(net *n, const float *dout) {
    dl_state *s = n->impl;
    dl_inst *I = s->cur;
    if (!I) return sbir_error("net: backward without a successful forward");
    if (I->threads != omp_get_max_threads())
        return sbir_error("net: backward with another thread count than its forward");
    DN_TRY(dn_set_ptr(I->dout_user, dout));
    DN_TRY(dn_reorder(I->dout_reorder, I->dout_user, I->L[n->n_layers - 1].dout));
    for (int l = n->n_layers - 1; l >= 0; l--) {
        const net_layer *L = &n->layers[l];
        dl_layer *D = &I->L[l];
        dnnl_memory_t x = l ? I->L[l - 1].out : I->in, dx = l ? I->L[l - 1].dout : NULL;
        double t0 = sbir_now(), t1;
        switch (L->kind) {
        case NET_CONV:
            /* In place: the gradient w.r.t. the output becomes the one w.r.t. the conv output. */
            if (I->synced)
                DN_TRY(sync_bn_backward(n, L, D, I));
            else
                DN_TRY(dn_bn_backward(&D->bn, D->y, D->dout, D->dout, net_grad(n, L->t_gamma), net_grad(n, L->t_beta)));
            t1 = sbir_now();
            n->times[l][NET_T_OTHER] += t1 - t0;
            if (dx) DN_TRY(dn_conv_backward_data(&D->conv, D->dout, dx));
            t0 = sbir_now();
            n->times[l][NET_T_BWD_DATA] += t0 - t1;
            DN_TRY(dn_conv_backward_weights(&D->conv, x, D->dout, NULL, NULL));
            t1 = sbir_now();
            n->times[l][NET_T_BWD_WEIGHTS] += t1 - t0;
            DN_TRY(dn_weights_grad(&D->conv.w, net_grad(n, L->t_weight)));
            n->times[l][NET_T_WEIGHTS] += sbir_now() - t1;
            break;
        case NET_MAXPOOL:
        case NET_AVGPOOL:
        case NET_GAP:
            if (dx) DN_TRY(dn_pool_backward(&D->pool, D->dout, dx));
            n->times[l][NET_T_BWD_DATA] += sbir_now() - t0;
            break;
        case NET_LINEAR:
            if (dx) DN_TRY(dn_linear_backward_data(&D->lin, D->dout, dx));
            t1 = sbir_now();
            n->times[l][NET_T_BWD_DATA] += t1 - t0;
            DN_TRY(dn_linear_backward_weights(&D->lin, x, D->dout, NULL, net_grad(n, L->t_bias)));
            t0 = sbir_now();
            n->times[l][NET_T_BWD_WEIGHTS] += t0 - t1;
            DN_TRY(dn_weights_grad(&D->lin.w, net_grad(n, L->t_weight)));
            n->times[l][NET_T_WEIGHTS] += sbir_now() - t0;
            break;
        case NET_RELU:
            if (dx) DN_TRY(dn_eltwise_backward(&D->elt, x, D->dout, dx));
            n->times[l][NET_T_BWD_DATA] += sbir_now() - t0;
            break;
        }
    }
    DN_CHECK(dnnl_stream_wait(dn_stream()));
    return SBIR_OK;
}

const net_backend_ops net_dnnl_ops = {dl_create, dl_destroy, dl_forward, dl_backward};
