/* net.c — the backend-independent front end of a sequential network: spec parsing, the parameter
 * table, initialisation, optimisers, save/load, FLOP counts (see net.h). */
#include "nn/net.h"

#include <ctype.h>
#include <errno.h>
#include <omp.h>
#include <string.h>

#include "nn/net_impl.h"
#include "nn/ops.h"
#include "nn/safetensors.h"
#include "util/common.h"
#include "util/rng.h"

const char *net_backend_name(net_backend b) { return b == NET_BACKEND_DNNL ? "onednn" : "ref"; }

static const net_backend_ops *backend_ops(net_backend b) { return b == NET_BACKEND_DNNL ? &net_dnnl_ops : &net_ref_ops; }

static int add_tensor(net *n, int *cap, int layer, const char *what, int buffer, int ndim, const int64_t *shape) {
    if (n->n_tensors == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        n->tensors = reallocCheck(n->tensors, sizeof(net_tensor) * *cap);
    }
    net_tensor *t = &n->tensors[n->n_tensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "layers.%d.%s", layer, what);
    t->ndim = ndim, t->buffer = buffer, t->numel = 1;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i], t->numel *= (size_t)shape[i];
    size_t *total = buffer ? &n->n_bufs : &n->n_params;
    t->offset = *total;
    *total += t->numel;
    return n->n_tensors++;
}

/* One token -> a layer with its output shape and tensors. */
static int parse_layer(net *n, int *cap, const char *tok, int i, int C, int H, int W, int flat) {
    net_layer *L = &n->layers[i];
    memset(L, 0, sizeof *L);
    L->t_weight = L->t_bias = L->t_gamma = L->t_beta = L->t_rmean = L->t_rvar = -1;
    L->C = C, L->H = H, L->W = W;
    L->OC = C, L->OH = H, L->OW = W, L->flat = flat;
    long num = 0;
    if (tok[0] == 'c' || tok[0] == 'l') {
        char *end;
        errno = 0;
        num = strtol(tok + 1, &end, 10);
        if (!isdigit((unsigned char)tok[1]) || *end || errno || num < 1 || num > 65536)
            return sbir_error("net spec: bad layer \"%s\" (want %cN with 1 <= N <= 65536)", tok, tok[0]);
    } else if (tok[1] != '\0') {
        return sbir_error("net spec: unknown layer \"%s\"", tok);
    }
    switch (tok[0]) {
    case 'c': {
        if (flat) return sbir_error("net spec: \"%s\" after a linear layer", tok);
        L->kind = NET_CONV, L->OC = (int)num;
        int64_t ws[4] = {num, C, 3, 3}, cs[1] = {num};
        L->t_weight = add_tensor(n, cap, i, "conv.weight", 0, 4, ws);
        L->t_gamma = add_tensor(n, cap, i, "bn.weight", 0, 1, cs);
        L->t_beta = add_tensor(n, cap, i, "bn.bias", 0, 1, cs);
        L->t_rmean = add_tensor(n, cap, i, "bn.running_mean", 1, 1, cs);
        L->t_rvar = add_tensor(n, cap, i, "bn.running_var", 1, 1, cs);
        break;
    }
    case 'p':
    case 'a':
        if (flat) return sbir_error("net spec: pooling after a linear layer");
        if (H < 2 || W < 2) return sbir_error("net spec: 2x2 pooling of a %dx%d input (layer %d)", H, W, i);
        L->kind = tok[0] == 'p' ? NET_MAXPOOL : NET_AVGPOOL;
        L->OH = conv_out_size(H, 2, 2, 0), L->OW = conv_out_size(W, 2, 2, 0);
        break;
    case 'g':
        if (flat) return sbir_error("net spec: global pooling after a linear layer");
        L->kind = NET_GAP, L->OH = L->OW = 1;
        break;
    case 'l': {
        L->kind = NET_LINEAR, L->OC = (int)num, L->OH = L->OW = 1, L->flat = 1;
        int64_t ws[2] = {num, (int64_t)C * H * W}, bs[1] = {num};
        L->t_weight = add_tensor(n, cap, i, "linear.weight", 0, 2, ws);
        L->t_bias = add_tensor(n, cap, i, "linear.bias", 0, 1, bs);
        break;
    }
    case 'r':
        L->kind = NET_RELU;
        break;
    default:
        return sbir_error("net spec: unknown layer \"%s\"", tok);
    }
    return SBIR_OK;
}

static int parse_spec(net *n) {
    char *copy = strdupCheck(n->spec);
    int count = 1, cap = 0;
    for (const char *p = copy; *p; p++) count += *p == ',';
    n->layers = callocCheck(count, sizeof(net_layer));
    int C = n->in_c, H = n->in_h, W = n->in_w, flat = 0, rc = SBIR_OK;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == SBIR_OK; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok)) tok++;
        rc = parse_layer(n, &cap, tok, n->n_layers, C, H, W, flat);
        if (rc == SBIR_OK) {
            net_layer *L = &n->layers[n->n_layers++];
            C = L->OC, H = L->OH, W = L->OW, flat = L->flat;
        }
    }
    free(copy);
    if (rc == SBIR_OK && n->n_layers != count) rc = sbir_error("net spec \"%s\": empty layer", n->spec);
    int64_t out = (int64_t)C * H * W;
    if (rc == SBIR_OK && out > (1 << 24)) rc = sbir_error("net spec \"%s\": output of %lld values per item", n->spec, (long long)out);
    n->out_dim = rc == SBIR_OK ? (int)out : 0;
    return rc;
}

/* The net's thread count around a backend call; returns the caller's, for leave_threads. */
static int enter_threads(const net *n) {
    int prev = omp_get_max_threads();
    if (n->threads > 0 && n->threads != prev) omp_set_num_threads(n->threads);
    return prev;
}
static void leave_threads(const net *n, int prev) {
    if (n->threads > 0 && n->threads != prev) omp_set_num_threads(prev);
}

void net_set_threads(net *n, int threads) { n->threads = threads > 0 ? threads : 0; }

void net_set_bn_allreduce(net *n, net_allreduce_fn f) { n->bn_allreduce = f; }

int net_spec_cost(const char *spec, int in_c, int in_h, int in_w, size_t *params, size_t *bufs,
                  size_t *activations) {
    net tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.spec = strdupCheck(spec && *spec ? spec : SBIR_NET_DEFAULT);
    tmp.in_c = in_c, tmp.in_h = in_h, tmp.in_w = in_w;
    int rc = parse_spec(&tmp);
    size_t act = 0;
    for (int l = 0; rc == SBIR_OK && l < tmp.n_layers; l++)
        act += (size_t)tmp.layers[l].OC * tmp.layers[l].OH * tmp.layers[l].OW;
    if (params) *params = tmp.n_params;
    if (bufs) *bufs = tmp.n_bufs;
    if (activations) *activations = act;
    free(tmp.spec), free(tmp.layers), free(tmp.tensors);
    return rc;
}

net *net_create(const char *spec, int in_c, int in_h, int in_w, int max_batch, net_backend backend) {
    if (!spec || !*spec) spec = SBIR_NET_DEFAULT;
    if (in_c < 1 || in_h < 1 || in_w < 1 || max_batch < 1 || in_c > 4096 || in_h > 16384 || in_w > 16384) {
        sbir_error("net: bad input size %dx%dx%d or batch %d", in_c, in_h, in_w, max_batch);
        return NULL;
    }
    net *n = callocCheck(1, sizeof *n);
    n->spec = strdupCheck(spec);
    n->in_c = in_c, n->in_h = in_h, n->in_w = in_w, n->max_batch = max_batch, n->backend = backend;
    n->bn_momentum = 0.1f, n->bn_eps = 1e-5f;
    if (parse_spec(n) != SBIR_OK) {
        net_free(n);
        return NULL;
    }
    n->params = alignedAllocCheck(sizeof(float) * (n->n_params ? n->n_params : 1));
    n->grads = alignedAllocCheck(sizeof(float) * (n->n_params ? n->n_params : 1));
    n->bufs = alignedAllocCheck(sizeof(float) * (n->n_bufs ? n->n_bufs : 1));
    n->times = callocCheck(n->n_layers, sizeof *n->times);
    net_init(n, 0);
    net_zero_grad(n);
    if (backend_ops(backend)->create(n) != SBIR_OK) {
        sbir_error_prefix("net \"%s\" (%s)", spec, net_backend_name(backend));
        net_free(n);
        return NULL;
    }
    return n;
}

void net_free(net *n) {
    if (!n) return;
    if (n->impl) backend_ops(n->backend)->destroy(n);
    free(n->spec), free(n->layers), free(n->tensors), free(n->params), free(n->grads), free(n->bufs);
    free(n->times), free(n->opt_m), free(n->opt_v);
    free(n);
}

void net_init(net *n, uint64_t seed) {
    sbir_rng rng;
    rng_seed(&rng, seed);
    for (int l = 0; l < n->n_layers; l++) {
        net_layer *L = &n->layers[l];
        if (L->t_weight >= 0) {
            net_tensor *t = &n->tensors[L->t_weight];
            he_normal_init(n->params + t->offset, t->numel, (int)(t->numel / (size_t)t->shape[0]), &rng);
        }
        if (L->t_bias >= 0) memset(net_param(n, L->t_bias), 0, sizeof(float) * L->OC);
        if (L->t_gamma >= 0)
            for (int c = 0; c < L->OC; c++) net_param(n, L->t_gamma)[c] = 1, net_param(n, L->t_beta)[c] = 0;
        if (L->t_rmean >= 0)
            for (int c = 0; c < L->OC; c++) net_buf(n, L->t_rmean)[c] = 0, net_buf(n, L->t_rvar)[c] = 1;
    }
    if (n->opt_m) memset(n->opt_m, 0, sizeof(float) * n->n_params);
    if (n->opt_v) memset(n->opt_v, 0, sizeof(float) * n->n_params);
    n->opt_t = 0;
    net_params_changed(n);
}

void net_params_changed(net *n) { n->version++; }

int net_tensor_is_bn(const net_tensor *t) { return strstr(t->name, ".bn.") != NULL; }

int net_copy_weights(net *dst, const net *src) {
    if (strcmp(dst->spec, src->spec) || dst->in_c != src->in_c || dst->in_h != src->in_h || dst->in_w != src->in_w)
        return sbir_error("net: copying weights between different networks (\"%s\" vs \"%s\")", dst->spec, src->spec);
    memcpy(dst->params, src->params, sizeof(float) * src->n_params);
    memcpy(dst->bufs, src->bufs, sizeof(float) * src->n_bufs);
    net_params_changed(dst);
    return SBIR_OK;
}

const float *net_forward(net *n, const float *input, int B, int training) {
    if (B < 1 || B > n->max_batch) {
        sbir_error("net: batch of %d (the net was created for at most %d)", B, n->max_batch);
        return NULL;
    }
    n->last_B = 0;
    int prev = enter_threads(n);
    const float *out = backend_ops(n->backend)->forward(n, input, B, training);
    leave_threads(n, prev);
    if (out) n->last_B = B, n->last_training = training;
    return out;
}

int net_backward(net *n, const float *dout) {
    if (!n->last_B || !n->last_training) return sbir_error("net: backward without a training forward before it");
    int prev = enter_threads(n);
    int rc = backend_ops(n->backend)->backward(n, dout);
    leave_threads(n, prev);
    return rc;
}

void net_zero_grad(net *n) { memset(n->grads, 0, sizeof(float) * n->n_params); }

int net_sgd_step(net *n, float lr, float momentum, float weight_decay) {
    if (!n->opt_m) n->opt_m = callocCheck(n->n_params ? n->n_params : 1, sizeof(float));
    sgd_step(n->params, n->grads, n->opt_m, n->n_params, lr, momentum, weight_decay);
    net_params_changed(n);
    return SBIR_OK;
}

int net_adamw_step(net *n, float lr, float beta1, float beta2, float eps, float weight_decay) {
    if (!n->opt_m) n->opt_m = callocCheck(n->n_params ? n->n_params : 1, sizeof(float));
    if (!n->opt_v) n->opt_v = callocCheck(n->n_params ? n->n_params : 1, sizeof(float));
    adamw_step(n->params, n->grads, n->opt_m, n->opt_v, n->n_params, ++n->opt_t, lr, beta1, beta2, eps, weight_decay);
    net_params_changed(n);
    return SBIR_OK;
}

#define META_SPEC "sbir_net_spec"
#define META_INPUT "sbir_net_input"

int net_save(const net *n, const char *path) {
    st_tensor *ts = callocCheck(n->n_tensors ? n->n_tensors : 1, sizeof(st_tensor));
    for (int i = 0; i < n->n_tensors; i++) {
        const net_tensor *t = &n->tensors[i];
        ts[i].name = t->name;
        ts[i].ndim = t->ndim;
        for (int d = 0; d < t->ndim; d++) ts[i].shape[d] = t->shape[d];
        ts[i].data = (t->buffer ? n->bufs : n->params) + t->offset;
    }
    char input[64];
    snprintf(input, sizeof input, "%dx%dx%d", n->in_c, n->in_h, n->in_w);
    const char *meta[4] = {META_SPEC, n->spec, META_INPUT, input};
    int rc = safetensors_write(path, ts, n->n_tensors, meta, 2);
    free(ts);
    return rc;
}

/* Everything is checked before anything is copied, so a rejected file leaves the net unchanged. */
int net_load(net *n, const char *path) {
    safetensors *st = safetensors_open(path);
    if (!st) return SBIR_ERR;
    int rc = SBIR_OK;
    const char *spec = safetensors_meta(st, META_SPEC);
    if (spec && strcmp(spec, n->spec))
        rc = sbir_error("%s: network \"%s\", expected \"%s\"", path, spec, n->spec);
    if (rc == SBIR_OK && safetensors_count(st) != n->n_tensors)
        rc = sbir_error("%s: %d tensors, the network has %d", path, safetensors_count(st), n->n_tensors);
    for (int i = 0; i < n->n_tensors && rc == SBIR_OK; i++) {
        const net_tensor *t = &n->tensors[i];
        const st_tensor *s = safetensors_get(st, t->name);
        if (!s) {
            rc = sbir_error("%s: tensor %s is missing", path, t->name);
            break;
        }
        int same = s->ndim == t->ndim;
        for (int d = 0; same && d < t->ndim; d++) same = s->shape[d] == t->shape[d];
        if (!same) rc = sbir_error("%s: tensor %s has another shape than the network's", path, t->name);
    }
    for (int i = 0; i < n->n_tensors && rc == SBIR_OK; i++) {
        const net_tensor *t = &n->tensors[i];
        memcpy((t->buffer ? n->bufs : n->params) + t->offset, safetensors_get(st, t->name)->data,
               sizeof(float) * t->numel);
    }
    safetensors_close(st);
    if (rc == SBIR_OK) net_params_changed(n);
    return rc;
}

net *net_open(const char *path, int max_batch, net_backend backend) {
    safetensors *st = safetensors_open(path);
    if (!st) return NULL;
    const char *spec = safetensors_meta(st, META_SPEC), *input = safetensors_meta(st, META_INPUT);
    int c = 0, h = 0, w = 0;
    char *spec_copy = spec ? strdupCheck(spec) : NULL;
    int ok = spec && input && sscanf(input, "%dx%dx%d", &c, &h, &w) == 3;
    safetensors_close(st);
    if (!ok) {
        free(spec_copy);
        sbir_error("%s: not a network file (no %s / %s metadata)", path, META_SPEC, META_INPUT);
        return NULL;
    }
    net *n = net_create(spec_copy, c, h, w, max_batch, backend);
    free(spec_copy);
    if (n && net_load(n, path) != SBIR_OK) {
        net_free(n);
        return NULL;
    }
    return n;
}

size_t net_param_count(const net *n) { return n->n_params; }

const net_tensor *net_find_tensor(const net *n, const char *name) {
    for (int i = 0; i < n->n_tensors; i++)
        if (!strcmp(n->tensors[i].name, name)) return &n->tensors[i];
    return NULL;
}

void net_layer_flops(const net *n, int l, int B, double flops[3]) {
    const net_layer *L = &n->layers[l];
    double f = 0;
    if (L->kind == NET_CONV) f = 2.0 * B * L->OC * L->OH * L->OW * L->C * 9;
    if (L->kind == NET_LINEAR) f = 2.0 * B * L->OC * L->C * L->H * L->W;
    flops[0] = f;
    flops[1] = l > 0 ? f : 0; /* the first layer needs no input gradient */
    flops[2] = f;
}

void net_layer_describe(const net *n, int l, char *buf, size_t size) {
    const net_layer *L = &n->layers[l];
    static const char *names[] = {"conv", "maxpool", "avgpool", "gap", "linear", "relu"};
    if (L->flat && L->kind != NET_LINEAR)
        snprintf(buf, size, "%s %d", names[L->kind], L->OC);
    else if (L->kind == NET_LINEAR)
        snprintf(buf, size, "%s %dx%dx%d->%d", names[L->kind], L->C, L->H, L->W, L->OC);
    else
        snprintf(buf, size, "%s %dx%dx%d->%dx%dx%d", names[L->kind], L->C, L->H, L->W, L->OC, L->OH, L->OW);
}

void net_reset_times(net *n) { memset(n->times, 0, sizeof(*n->times) * n->n_layers); }
