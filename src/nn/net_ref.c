/* net_ref.c — the reference backend: every layer with the plain NCHW ops of ops.h, all buffers
 * sized for max_batch once. Slow but simple; it defines what the oneDNN backend must compute. */
#include <string.h>

#include "nn/bn_sync.h"
#include "nn/net_impl.h"
#include "nn/ops.h"
#include "util/common.h"

typedef struct {
    float *out;       /* layer output (B, OC, OH, OW) */
    float *pre, *bn;  /* conv: convolution output, batch-norm output (before the ReLU) */
    float *mean, *rstd;
    double count;     /* values per channel in the batch-norm statistics (all processes when synced) */
    int *argmax;      /* max pooling */
} ref_layer;

typedef struct {
    float *input;
    ref_layer *L;
    float *g[3];     /* gradient ping-pong buffers, max activation size */
    float *scratch;  /* one parameter tensor's gradient before it is added to n->grads */
    net_allreduce_fn synced; /* the last training forward's batch-norm all-reduce (NULL: local) */
} ref_state;

static size_t act_size(const net_layer *L) { return (size_t)L->OC * L->OH * L->OW; }

static int ref_create(net *n) {
    ref_state *s = callocCheck(1, sizeof *s);
    n->impl = s;
    size_t B = (size_t)n->max_batch, maxact = (size_t)n->in_c * n->in_h * n->in_w, maxp = 1;
    s->input = mallocCheck(sizeof(float) * B * maxact);
    s->L = callocCheck(n->n_layers, sizeof(ref_layer));
    for (int l = 0; l < n->n_layers; l++) {
        net_layer *L = &n->layers[l];
        ref_layer *R = &s->L[l];
        size_t a = act_size(L);
        maxact = SBIR_MAX(maxact, a);
        R->out = mallocCheck(sizeof(float) * B * a);
        if (L->kind == NET_CONV) {
            R->pre = mallocCheck(sizeof(float) * B * a);
            R->bn = mallocCheck(sizeof(float) * B * a);
            R->mean = mallocCheck(sizeof(float) * L->OC);
            R->rstd = mallocCheck(sizeof(float) * L->OC);
        }
        if (L->kind == NET_MAXPOOL) R->argmax = mallocCheck(sizeof(int) * B * a);
    }
    for (int t = 0; t < n->n_tensors; t++) maxp = SBIR_MAX(maxp, n->tensors[t].numel);
    for (int i = 0; i < 3; i++) s->g[i] = mallocCheck(sizeof(float) * B * maxact);
    s->scratch = mallocCheck(sizeof(float) * 2 * maxp); /* weight + bias, or dgamma + dbeta */
    return SBIR_OK;
}

static void ref_destroy(net *n) {
    ref_state *s = n->impl;
    for (int l = 0; l < n->n_layers; l++) {
        ref_layer *R = &s->L[l];
        free(R->out), free(R->pre), free(R->bn), free(R->mean), free(R->rstd), free(R->argmax);
    }
    for (int i = 0; i < 3; i++) free(s->g[i]);
    free(s->L), free(s->input), free(s->scratch), free(s);
    n->impl = NULL;
}

/* Batch norm of a conv layer's output in training mode, local or synchronised over processes. */
static int ref_bn_train(net *n, const net_layer *L, ref_layer *R, int B) {
    if (!n->bn_allreduce) {
        batchnorm_forward_train(R->bn, R->mean, R->rstd, net_buf(n, L->t_rmean), net_buf(n, L->t_rvar), R->pre,
                                net_param(n, L->t_gamma), net_param(n, L->t_beta), n->bn_momentum, n->bn_eps, B,
                                L->OC, L->OH * L->OW);
        return SBIR_OK;
    }
    bn_shape sh = {B, L->OC, L->OH * L->OW, 1};
    return bn_sync_forward(&sh, R->pre, R->bn, 0, net_param(n, L->t_gamma), net_param(n, L->t_beta), R->mean,
                           R->rstd, &R->count, net_buf(n, L->t_rmean), net_buf(n, L->t_rvar), n->bn_momentum,
                           n->bn_eps, n->bn_allreduce);
}

static const float *ref_forward(net *n, const float *input, int B, int training) {
    ref_state *s = n->impl;
    s->synced = training ? n->bn_allreduce : NULL;
    memcpy(s->input, input, sizeof(float) * B * n->in_c * n->in_h * n->in_w);
    const float *x = s->input;
    for (int l = 0; l < n->n_layers; l++) {
        net_layer *L = &n->layers[l];
        ref_layer *R = &s->L[l];
        size_t na = (size_t)B * act_size(L);
        double t0 = sbir_now(), t1;
        switch (L->kind) {
        case NET_CONV:
            conv2d_forward(R->pre, x, net_param(n, L->t_weight), NULL, B, L->C, L->H, L->W, L->OC, 3, 3, 1, 1);
            t1 = sbir_now();
            if (training) {
                if (ref_bn_train(n, L, R, B) != SBIR_OK) return NULL;
            } else {
                batchnorm_forward_infer(R->bn, R->pre, net_param(n, L->t_gamma), net_param(n, L->t_beta),
                                        net_buf(n, L->t_rmean), net_buf(n, L->t_rvar), n->bn_eps, B, L->OC,
                                        L->OH * L->OW);
            }
            leaky_relu_forward(R->out, R->bn, 0.0f, na);
            n->times[l][NET_T_FWD] += t1 - t0;
            n->times[l][NET_T_OTHER] += sbir_now() - t1;
            break;
        case NET_MAXPOOL:
            maxpool2d_forward(R->out, R->argmax, x, B, L->C, L->H, L->W, 2, 2, 0);
            break;
        case NET_AVGPOOL:
            avgpool2d_forward(R->out, x, B, L->C, L->H, L->W, 2, 2, 0);
            break;
        case NET_GAP:
            global_avgpool_forward(R->out, x, B, L->C, L->H * L->W);
            break;
        case NET_LINEAR:
            linear_forward(R->out, x, net_param(n, L->t_weight), net_param(n, L->t_bias), B, L->C * L->H * L->W, L->OC);
            break;
        case NET_RELU:
            leaky_relu_forward(R->out, x, 0.0f, na);
            break;
        }
        if (L->kind != NET_CONV) n->times[l][NET_T_FWD] += sbir_now() - t0;
        x = R->out;
    }
    return x;
}

static void add_into(float *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

static int ref_backward(net *n, const float *dout) {
    ref_state *s = n->impl;
    int B = n->last_B;
    const net_layer *last = &n->layers[n->n_layers - 1];
    float *dy = s->g[0];
    memcpy(dy, dout, sizeof(float) * B * act_size(last));
    for (int l = n->n_layers - 1; l >= 0; l--) {
        net_layer *L = &n->layers[l];
        ref_layer *R = &s->L[l];
        const float *x = l ? s->L[l - 1].out : s->input;
        /* The two buffers other than dy: dx receives the input gradient, tmp is for the conv block. */
        float *dx = dy == s->g[0] ? s->g[1] : s->g[0];
        float *tmp = (dy != s->g[2] && dx != s->g[2]) ? s->g[2] : s->g[1];
        float *dxp = l ? dx : NULL;
        size_t na = (size_t)B * act_size(L);
        double t0 = sbir_now(), t1;
        switch (L->kind) {
        case NET_CONV:
            leaky_relu_backward(tmp, dy, R->bn, 0.0f, na);
            if (s->synced) {
                bn_shape sh = {B, L->OC, L->OH * L->OW, 1};
                if (bn_sync_backward(&sh, R->pre, NULL, tmp, dy, net_param(n, L->t_gamma), R->mean, R->rstd, R->count,
                                     net_grad(n, L->t_gamma), net_grad(n, L->t_beta), s->synced) != SBIR_OK)
                    return SBIR_ERR;
            } else {
                batchnorm_backward(dy, s->scratch, s->scratch + L->OC, tmp, R->pre, net_param(n, L->t_gamma), R->mean,
                                   R->rstd, B, L->OC, L->OH * L->OW);
                add_into(net_grad(n, L->t_gamma), s->scratch, L->OC);
                add_into(net_grad(n, L->t_beta), s->scratch + L->OC, L->OC);
            }
            t1 = sbir_now();
            n->times[l][NET_T_OTHER] += t1 - t0;
            conv2d_backward(dxp, NULL, NULL, dy, x, net_param(n, L->t_weight), B, L->C, L->H, L->W, L->OC, 3, 3, 1, 1);
            t0 = sbir_now();
            n->times[l][NET_T_BWD_DATA] += t0 - t1;
            conv2d_backward(NULL, s->scratch, NULL, dy, x, net_param(n, L->t_weight), B, L->C, L->H, L->W, L->OC, 3, 3,
                            1, 1);
            add_into(net_grad(n, L->t_weight), s->scratch, n->tensors[L->t_weight].numel);
            n->times[l][NET_T_BWD_WEIGHTS] += sbir_now() - t0;
            break;
        case NET_MAXPOOL:
            if (dxp) maxpool2d_backward(dxp, dy, R->argmax, B, L->C, L->H, L->W, 2, 2, 0);
            break;
        case NET_AVGPOOL:
            if (dxp) avgpool2d_backward(dxp, dy, B, L->C, L->H, L->W, 2, 2, 0);
            break;
        case NET_GAP:
            if (dxp) global_avgpool_backward(dxp, dy, B, L->C, L->H * L->W);
            break;
        case NET_LINEAR: {
            int IN = L->C * L->H * L->W;
            linear_backward(dxp, NULL, NULL, dy, x, net_param(n, L->t_weight), B, IN, L->OC);
            t1 = sbir_now();
            n->times[l][NET_T_BWD_DATA] += t1 - t0;
            linear_backward(NULL, s->scratch, s->scratch + (size_t)L->OC * IN, dy, x, net_param(n, L->t_weight), B, IN,
                            L->OC);
            add_into(net_grad(n, L->t_weight), s->scratch, (size_t)L->OC * IN);
            add_into(net_grad(n, L->t_bias), s->scratch + (size_t)L->OC * IN, L->OC);
            n->times[l][NET_T_BWD_WEIGHTS] += sbir_now() - t1;
            break;
        }
        case NET_RELU:
            if (dxp) leaky_relu_backward(dxp, dy, x, 0.0f, na);
            break;
        }
        if (L->kind != NET_CONV && L->kind != NET_LINEAR) n->times[l][NET_T_BWD_DATA] += sbir_now() - t0;
        dy = dx;
    }
    return SBIR_OK;
}

const net_backend_ops net_ref_ops = {ref_create, ref_destroy, ref_forward, ref_backward};
