/* net.h — a sequential image network (ConvNet) built from a spec string, with two interchangeable
 * backends: NET_BACKEND_DNNL (oneDNN, blocked layouts end to end: the fast path) and
 * NET_BACKEND_REF (the plain NCHW ops of ops.h: the definition of correctness). Both backends share
 * this front end — spec, parameter table, init, optimiser, save/load — so the same weights can be
 * run through both and compared layer by layer and end to end.
 *
 * Spec: comma-separated layers, e.g. SBIR_NET_DEFAULT:
 *   cN  3x3 convolution (pad 1, stride 1, no bias) -> batch norm -> ReLU, N output channels
 *   p   2x2 max pooling, stride 2        a   2x2 average pooling, stride 2
 *   g   global average pooling (-> C x 1 x 1)
 *   lN  linear to N outputs (with bias; flattens a C x H x W input in NCHW order)
 *   r   ReLU (e.g. between two linear layers)
 * Input (B, in_c, in_h, in_w) NCHW float; output (B, D) features, D = the last layer's C*H*W. No
 * activation follows the last layer unless the spec says so.
 *
 * Parameters live in ONE float allocation (net->params), gradients in another of the same size
 * (net->grads), batch-norm running statistics in a third (net->bufs), each described by a table of
 * named tensors (net->tensors: name, shape, offset) in PyTorch's naming, e.g. "layers.0.conv.weight"
 * (OC,C,3,3), "layers.0.bn.weight", "layers.0.bn.bias", "layers.0.bn.running_mean" (buffer),
 * "layers.0.bn.running_var" (buffer), "layers.12.linear.weight" (OUT,IN), "layers.12.linear.bias".
 * Weights are plain OIHW / (OUT,IN); the oneDNN backend reorders them into its layouts once per
 * parameter change, which it notices through net->version: code that writes net->params directly
 * must call net_params_changed().
 *
 * Typical step:  net_zero_grad(n); f = net_forward(n, x, B, 1); loss + dL/df -> d;
 *                net_backward(n, d); net_sgd_step(n, lr, 0.9f, wd);
 * A forward may use any batch size B <= max_batch (primitives are cached per batch size). One thread
 * of the caller uses a net at a time; the ops inside use OpenMP (OMP_NUM_THREADS / omp_set_num_threads).
 * Errors: NULL / SBIR_ERR after sbir_error. */
#ifndef SBIR_NN_NET_H
#define SBIR_NN_NET_H

#include <stddef.h>
#include <stdint.h>

#define SBIR_NET_DEFAULT "c32,c32,p,c64,c64,p,c128,c128,p,c256,p,g,l128"

typedef enum { NET_BACKEND_REF = 0, NET_BACKEND_DNNL = 1 } net_backend;
/* In-place sum of n doubles over every process of a data-parallel job (comm_allreduce_sum_f64). */
typedef int (*net_allreduce_fn)(double *buf, size_t n);
typedef enum { NET_CONV, NET_MAXPOOL, NET_AVGPOOL, NET_GAP, NET_LINEAR, NET_RELU } net_kind;

typedef struct {
    net_kind kind;
    int C, H, W;    /* input */
    int OC, OH, OW; /* output (OH = OW = 1 after g and l) */
    int flat;       /* output is (B, OC) rather than (B, OC, OH, OW) (after l, and r after l) */
    /* Tensor indices into net->tensors, -1 where the layer has none. */
    int t_weight, t_bias, t_gamma, t_beta, t_rmean, t_rvar;
} net_layer;

#define NET_NAME_MAX 48
typedef struct {
    char name[NET_NAME_MAX];
    int ndim;
    int64_t shape[4];
    size_t offset, numel; /* into params/grads, or bufs when buffer = 1 */
    int buffer;
} net_tensor;

/* Per-layer timing, accumulated over calls (seconds). For a conv layer, FWD/BWD_DATA/BWD_WEIGHTS
 * time the convolution alone, OTHER the batch norm + ReLU (forward and backward), WEIGHTS the weight
 * reorders (plain master -> blocked before a forward after a parameter change; blocked gradient ->
 * plain sum after backward), so conv GFLOP/s can be computed; for layers without weights
 * everything is in FWD / BWD_DATA. */
enum { NET_T_FWD, NET_T_BWD_DATA, NET_T_BWD_WEIGHTS, NET_T_OTHER, NET_T_WEIGHTS, NET_T_COUNT };

typedef struct net {
    char *spec;
    int in_c, in_h, in_w, max_batch, out_dim;
    net_backend backend;
    int n_layers;
    net_layer *layers;
    int n_tensors;
    net_tensor *tensors;
    size_t n_params, n_bufs;
    float *params, *grads, *bufs;
    float bn_momentum, bn_eps; /* 0.1 and 1e-5, PyTorch's defaults */
    uint64_t version;          /* bumped whenever params change */
    int threads;               /* OpenMP threads for this net's work; 0 = the caller's setting */
    int last_B, last_training; /* the forward that net_backward differentiates */
    net_allreduce_fn bn_allreduce; /* NULL: batch norm sees this process's batch only */
    double (*times)[NET_T_COUNT];
    /* optimiser state, allocated on first use */
    float *opt_m, *opt_v;
    int opt_t;
    void *impl; /* backend state */
} net;

/* spec NULL or "" = SBIR_NET_DEFAULT. The parameters start as net_init(n, 0) would set them; the
 * oneDNN backend builds its primitives for max_batch here (so a bad spec fails now). */
net *net_create(const char *spec, int in_c, int in_h, int in_w, int max_batch, net_backend backend);
void net_free(net *n);
/* What a spec costs before anything is allocated: parameter and buffer counts and the activation
 * values per batch item (sum of every layer's output size). For checking untrusted files. */
int net_spec_cost(const char *spec, int in_c, int in_h, int in_w, size_t *params, size_t *bufs,
                  size_t *activations);
/* Threads for this net's forward/backward (0 = whatever OpenMP has for the caller: OMP_NUM_THREADS
 * or omp_set_num_threads). E.g. 1 for batch-1 queries: a parallel region costs a thread wake-up, which
 * is microseconds on an idle machine but measured ~10 ms per region on a busy one (a batch-1 forward
 * of the default net: 4 ms on 1 thread, 230 ms on 2 with other work running). oneDNN fixes a
 * primitive's thread count when it is created, so the oneDNN backend keeps primitives per (batch
 * size, threads). */
void net_set_threads(net *n, int threads);
/* Synchronised batch norm for data-parallel training (bn_sync.h): with f set, a TRAINING forward
 * normalises every batch-norm layer with the statistics of the global batch (every process's slice,
 * summed through f) and updates the running statistics with them, and backward uses the global
 * gradient sums; the parameter gradients stay this process's share, for the caller to sum. All
 * processes must then run the same forwards and backwards in the same order (f is collective).
 * NULL (the default) restores the ordinary per-process path; inference never communicates. */
void net_set_bn_allreduce(net *n, net_allreduce_fn f);
const char *net_backend_name(net_backend b);

/* He-normal conv/linear weights (he_normal_init), zero biases, gamma 1, beta 0, running mean 0 and
 * variance 1; deterministic in seed. */
void net_init(net *n, uint64_t seed);
void net_params_changed(net *n);
/* Copies parameters and buffers between two nets of the same spec and input size (any backends). */
int net_copy_weights(net *dst, const net *src);
/* Whether a tensor belongs to a batch norm (scale, shift, running mean or variance). */
int net_tensor_is_bn(const net_tensor *t);

/* input (B, in_c, in_h, in_w) -> features (B, out_dim), valid until the next forward. training = 1
 * uses batch statistics (and updates the running ones), 0 the running statistics. */
const float *net_forward(net *n, const float *input, int B, int training);
/* dout (B, out_dim) for the last (training) forward; ADDS the parameter gradients into n->grads. */
int net_backward(net *n, const float *dout);
void net_zero_grad(net *n);

/* Optimisers over every parameter (ops.h semantics, PyTorch's). */
int net_sgd_step(net *n, float lr, float momentum, float weight_decay);
int net_adamw_step(net *n, float lr, float beta1, float beta2, float eps, float weight_decay);

/* safetensors, with the spec and input size in the metadata; load checks that every tensor name
 * and shape matches this net (and nothing else is in the file). */
int net_save(const net *n, const char *path);
int net_load(net *n, const char *path);
/* Creates the net a file describes and loads it. */
net *net_open(const char *path, int max_batch, net_backend backend);

size_t net_param_count(const net *n);
const net_tensor *net_find_tensor(const net *n, const char *name);
/* FLOPs of layer l at batch B: fwd, bwd-data, bwd-weights (multiply-add = 2). 0 for pooling etc. */
void net_layer_flops(const net *n, int l, int B, double flops[3]);
/* e.g. "c64 32x32x32->64x32x32". */
void net_layer_describe(const net *n, int l, char *buf, size_t size);
void net_reset_times(net *n);

#endif
