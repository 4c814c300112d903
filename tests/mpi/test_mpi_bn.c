/* test_mpi_bn.c — synchronised batch norm (src/nn/bn_sync.c) through whole networks: one training
 * forward and backward of a global batch of B split over the processes gives, on every process, the
 * features of its slice and (summed over processes) the parameter gradients and running statistics
 * of ONE process forwarding the whole batch — for both backends, within a stated tolerance. Without
 * the all-reduce (each process normalising its own slice) they differ: the negative control. */
#include <string.h>

#include "mpi_test.h"
#include "nn/net.h"
#include "util/common.h"
#include "util/rng.h"

/* Relative to max(1, max |reference|). Sums of up to B*H*W terms in another order: ~1e-6. */
#define TOL 1e-5
#define SPEC "c8,p,c16,p,c12,g,l10"
#define B 12
#define S 16

typedef struct {
    double out, grad, bufs;
} diffs;

/* One training step's results of a net: features (rows [lo, lo + nb)), gradients, running stats. */
static diffs step_and_compare(net_backend be, int sync) {
    int P = comm_size(), r = comm_rank(), nb = B / P, lo = r * nb;
    size_t in = (size_t)3 * S * S;
    float *x = mallocCheck(sizeof(float) * in * B);
    sbir_rng rng;
    rng_seed(&rng, 42);
    for (size_t i = 0; i < in * B; i++) x[i] = rng_normal(&rng) + 0.5f; /* a mean for BN to remove */
    net *one = net_create(SPEC, 3, S, S, B, be), *part = net_create(SPEC, 3, S, S, B, be);
    diffs d = {INFINITY, INFINITY, INFINITY};
    CHECK(one && part, "%s", sbir_last_error());
    if (!one || !part) goto done;
    net_init(one, 7);
    net_init(part, 7);
    if (sync) net_set_bn_allreduce(part, comm_allreduce_sum_f64);
    int D = one->out_dim;
    float *dout = mallocCheck(sizeof(float) * (size_t)B * D);
    for (int i = 0; i < B * D; i++) dout[i] = rng_normal(&rng) / B;
    const float *f1 = net_forward(one, x, B, 1);
    const float *fp = net_forward(part, x + in * lo, nb, 1);
    CHECK(f1 && fp, "%s", sbir_last_error());
    if (f1 && fp) {
        d.out = test_max_rel_diff(fp, f1 + (size_t)lo * D, (size_t)nb * D);
        net_zero_grad(one);
        net_zero_grad(part);
        CHECK(net_backward(one, dout) == SBIR_OK && net_backward(part, dout + (size_t)lo * D) == SBIR_OK, "%s",
              sbir_last_error());
        CHECK(comm_allreduce_sum_f32(part->grads, part->n_params) == 0);
        d.grad = test_max_rel_diff(part->grads, one->grads, one->n_params);
        d.bufs = test_max_rel_diff(part->bufs, one->bufs, one->n_bufs);
    }
    free(dout);
done:
    net_free(one);
    net_free(part);
    free(x);
    return d;
}

static void check_backend(net_backend be) {
    diffs s = step_and_compare(be, 1), l = step_and_compare(be, 0);
    if (comm_rank() == 0)
        fprintf(stderr,
                "    %s, %d processes x %d: synchronised: features %.2g, gradients %.2g, running stats %.2g; "
                "local: %.2g, %.2g, %.2g (tolerance %g)\n",
                net_backend_name(be), comm_size(), B / comm_size(), s.out, s.grad, s.bufs, l.out, l.grad, l.bufs, TOL);
    CHECK(s.out <= TOL && s.grad <= TOL && s.bufs <= TOL, "%s: %g %g %g", net_backend_name(be), s.out, s.grad, s.bufs);
    CHECK(l.out > TOL && l.grad > TOL && l.bufs > TOL, "%s without sync: %g %g %g", net_backend_name(be), l.out,
          l.grad, l.bufs);
}

static void test_reference_backend(void) { check_backend(NET_BACKEND_REF); }
static void test_onednn_backend(void) { check_backend(NET_BACKEND_DNNL); }

int main(int argc, char **argv) {
    mpi_test_init(&argc, &argv);
    if (B % comm_size()) {
        SKIP("batch %d does not split over %d processes", B, comm_size());
        return mpi_test_summary();
    }
    RUN(test_reference_backend);
    RUN(test_onednn_backend);
    return mpi_test_summary();
}
