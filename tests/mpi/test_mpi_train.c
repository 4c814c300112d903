/* test_mpi_train.c — data-parallel training (src/model/train.c under mpirun).
 *
 *  - P processes with global batch B end with the weights of ONE process with batch B (the same
 *    train_run with local_only set, in this program), within TOL_REF / TOL_DNNL_L2 for the reference /
 *    oneDNN backend; every network parameter and buffer, both heads, the style prototypes, the
 *    fusion and the class weight are compared;
 *  - the same run without synchronised batch norm (bn_local) does NOT (the negative control: the
 *    comparison is sharp enough to see batch-norm statistics of half a batch);
 *  - only process 0 writes the model, the checkpoint and the curve;
 *  - stopped and resumed under mpirun (process 0 reads the checkpoint, the others receive it) it ends
 *    with the model of an uninterrupted run;
 *  - a batch that does not split evenly over the processes is refused with a message that says so. */
#include <string.h>
#include <sys/stat.h>

#include "model/model.h"
#include "model/train.h"
#include "mpi_test.h"
#include "support/tiny_collection.h"
#include "util/common.h"

/* Tolerances, 2 processes x B/2 against 1 process x B after 16 steps (8 structure, 4 + 4 style):
 *  - reference backend: its one-process batch norm and the synchronised one (bn_sync.c) are the same
 *    double-precision formulas; only the order of float sums differs. Every tensor group within
 *    TOL_REF of max(1, max |w|) (measured about 2e-5).
 *  - oneDNN: one process normalises with oneDNN's primitive, which rounds differently (float
 *    statistics). AdamW divides every gradient element by its own running magnitude, so a weight
 *    whose gradient is at rounding level moves by +-lr either way, from the first step on: the
 *    one-process oneDNN and reference backends differ from each other exactly as much. So oneDNN is
 *    held to a relative L2 distance per group, TOL_DNNL_L2 (measured about 1.2e-3; without
 *    synchronised batch norm about 0.1).
 * test_mpi_bn.c checks one step of both backends, without the optimiser, to 1e-5. */
#define TOL_REF 1e-4
#define TOL_DNNL_L2 5e-3

static char g_dir[4096], g_coll[4200];

static int setup(void) {
    int rc = SBIR_OK;
    if (comm_rank() == 0) {
        snprintf(g_dir, sizeof g_dir, "%s", test_tmpdir());
        snprintf(g_coll, sizeof g_coll, "%s/coll.sqlite", g_dir);
        /* 5 classes x 7 media x 6 images, 16 sketches per class, 32 px */
        rc = tiny_collection(g_dir, g_coll, 6, 16, 32, 11);
        if (rc != SBIR_OK) fprintf(stderr, "cannot build the test collection: %s\n", sbir_last_error());
    }
    comm_bcast(&rc, sizeof rc, 0);
    comm_bcast(g_dir, sizeof g_dir, 0);
    comm_bcast(g_coll, sizeof g_coll, 0);
    return rc;
}

static void small_opts(train_opts *o, const char *out, net_backend backend) {
    train_opts_default(o);
    o->collection = g_coll, o->out = out, o->backend = backend;
    o->S = 32, o->batch = 16, o->seed = 5, o->quiet = 1;
    o->structure_spec = "c8,p,c16,p,c16,g,l16";
    o->style_spec = "c8,p,c16,g,l8";
    o->structure_steps = 8, o->style_steps = 8; /* every phase: structure, style 1, style 2 */
    o->eval_every = 1000;                        /* validation only at the ends of phases */
}

/* out: "<dir>/<name>-r<rank>.safetensors"; process 0's is the one written. */
static void out_path(char *buf, size_t n, const char *name, int rank) {
    snprintf(buf, n, "%s/%s-r%d.safetensors", g_dir, name, rank);
}

/* How far apart two models are: over every tensor group (each network's parameters, its batch-norm
 * running statistics, both heads, the prototypes, the fusion, the class weight), the largest
 * difference relative to max(1, max |w|) of the group, and the largest relative L2 distance
 * |a - b| / |b|. */
typedef struct {
    double max_rel, l2_rel;
    const char *worst; /* the group with the largest max_rel */
} model_gap;

static void group_gap(model_gap *g, const char *name, const float *a, const float *b, size_t n) {
    double m = test_max_rel_diff(a, b, n), dd = 0, bb = 0;
    for (size_t i = 0; i < n; i++) dd += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), bb += (double)b[i] * b[i];
    double l2 = sqrt(dd / (bb > 0 ? bb : 1));
    if (m > g->max_rel || m != m) g->max_rel = m != m ? INFINITY : m, g->worst = name;
    if (l2 > g->l2_rel || l2 != l2) g->l2_rel = l2 != l2 ? INFINITY : l2;
}

static model_gap model_diff(const char *pa, const char *pb) {
    sbir_model *a = model_load(pa, 16, NET_BACKEND_REF, NULL), *b = model_load(pb, 16, NET_BACKEND_REF, NULL);
    model_gap g = {INFINITY, INFINITY, "loading"};
    CHECK(a && b, "%s", sbir_last_error());
    if (a && b && a->structure->n_params == b->structure->n_params && a->style->n_params == b->style->n_params &&
        a->Df == b->Df &&
        a->style_head_rows == b->style_head_rows) {
        g = (model_gap){0, 0, "none"};
        group_gap(&g, "structure", a->structure->params, b->structure->params, a->structure->n_params);
        group_gap(&g, "structure bn stats", a->structure->bufs, b->structure->bufs, a->structure->n_bufs);
        group_gap(&g, "style", a->style->params, b->style->params, a->style->n_params);
        group_gap(&g, "style bn stats", a->style->bufs, b->style->bufs, a->style->n_bufs);
        group_gap(&g, "content head", a->content_head, b->content_head, (size_t)a->C * (a->Df + 1));
        group_gap(&g, "style head", a->style_head, b->style_head, (size_t)a->style_head_rows * (a->Ds + 1));
        group_gap(&g, "prototypes", a->protos, b->protos, (size_t)a->NS * a->Ds);
        group_gap(&g, "fusion", a->fusion, b->fusion, 3);
        group_gap(&g, "class weight", &a->class_weight, &b->class_weight, 1);
    }
    model_free(a);
    model_free(b);
    return g;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_batch_must_split(void) {
    char out[4300];
    out_path(out, sizeof out, "odd", comm_rank());
    train_opts o;
    small_opts(&o, out, NET_BACKEND_DNNL);
    o.batch = 2 * comm_size() + 1;
    CHECK(train_run(&o) == SBIR_ERR, "a batch of %d was split over %d processes", o.batch, comm_size());
    CHECK(strstr(sbir_last_error(), "cannot be split evenly over") != NULL, "%s", sbir_last_error());
    CHECK(!exists(out), "a refused run wrote %s", out);
}

/* Runs `name` data-parallel over every process (each gives its own out path; process 0's counts). */
static void run_parallel(const char *name, net_backend backend, int bn_local) {
    char out[4300];
    out_path(out, sizeof out, name, comm_rank());
    train_opts o;
    small_opts(&o, out, backend);
    o.bn_local = bn_local;
    double t0 = sbir_now();
    CHECK(train_run(&o) == SBIR_OK, "%s: %s", name, sbir_last_error());
    if (comm_rank() == 0)
        fprintf(stderr, "    %s: %d processes, batch %d: %.2f s\n", name, comm_size(), o.batch, sbir_now() - t0);
}

/* The same training in this process alone. */
static void run_single(const char *name, net_backend backend) {
    char out[4300];
    out_path(out, sizeof out, name, 0);
    train_opts o;
    small_opts(&o, out, backend);
    o.local_only = 1;
    double t0 = sbir_now();
    CHECK(train_run(&o) == SBIR_OK, "%s: %s", name, sbir_last_error());
    fprintf(stderr, "    %s: 1 process (rank %d alone), batch %d: %.2f s\n", name, comm_rank(), o.batch,
            sbir_now() - t0);
}

/* expect: 1 within the backend's tolerance, 0 beyond it (the negative control). */
static void compare(const char *parallel, const char *single, net_backend be, int expect) {
    char a[4300], b[4300];
    out_path(a, sizeof a, parallel, 0);
    out_path(b, sizeof b, single, 0);
    model_gap g = model_diff(a, b);
    int dnnl = be == NET_BACKEND_DNNL, within = dnnl ? g.l2_rel <= TOL_DNNL_L2 : g.max_rel <= TOL_REF;
    fprintf(stderr, "    %s vs %s: max relative difference %.3g (%s), relative L2 %.3g; tolerance: %s %g\n", parallel,
            single, g.max_rel, g.worst, g.l2_rel, dnnl ? "relative L2" : "max relative", dnnl ? TOL_DNNL_L2 : TOL_REF);
    if (expect) CHECK(within, "%s differs from %s beyond the tolerance", parallel, single);
    else CHECK(!within && g.max_rel != INFINITY, "%s matches %s without synchronised batch norm", parallel, single);
}

static void test_matches_one_process(void) {
    int P = comm_size(), r = comm_rank();
    run_parallel("dnnl-par", NET_BACKEND_DNNL, 0);
    run_parallel("ref-par", NET_BACKEND_REF, 0);
    run_parallel("dnnl-nosync", NET_BACKEND_DNNL, 1);
    /* the one-process baselines, one per process where there are two */
    if (r == 0) run_single("dnnl-one", NET_BACKEND_DNNL);
    if (r == 1 % P) run_single("ref-one", NET_BACKEND_REF);
    comm_barrier();
    if (r == 0) compare("dnnl-par", "dnnl-one", NET_BACKEND_DNNL, 1);
    if (r == 0) compare("dnnl-nosync", "dnnl-one", NET_BACKEND_DNNL, 0);
    if (r == 1 % P) compare("ref-par", "ref-one", NET_BACKEND_REF, 1);
}

static void test_only_rank0_writes(void) {
    if (comm_rank() != 0) return;
    const char *suffix[] = {"", ".ckpt", ".curve.png"};
    for (int r = 0; r < comm_size(); r++)
        for (int i = 0; i < 3; i++) {
            char p[4400];
            out_path(p, sizeof p - 16, "dnnl-par", r);
            strcat(p, suffix[i]);
            if (r == 0) CHECK(exists(p), "process 0 did not write %s", p);
            else CHECK(!exists(p), "process %d wrote %s", r, p);
        }
}

static void fingerprint_of(const char *path, char out[17]) {
    sbir_model *m = model_load(path, 8, NET_BACKEND_REF, NULL);
    CHECK(m != NULL, "%s", sbir_last_error());
    snprintf(out, 17, "%s", m ? m->fingerprint : "none");
    model_free(m);
}

static void test_resume(void) {
    char out[4300], full[4300];
    snprintf(out, sizeof out, "%s/resumed.safetensors", g_dir);
    out_path(full, sizeof full, "dnnl-par", 0);
    train_opts o;
    small_opts(&o, out, NET_BACKEND_DNNL);
    o.stop_after = 5; /* inside the structure phase */
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    o.resume = 1, o.stop_after = 11; /* inside style stage 1 */
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    o.stop_after = 0;
    CHECK(train_run(&o) == SBIR_OK, "%s", sbir_last_error());
    if (comm_rank() != 0) return;
    char a[17], b[17];
    fingerprint_of(full, a);
    fingerprint_of(out, b);
    CHECK(strcmp(a, b) == 0, "resumed under mpirun: %s, uninterrupted: %s", b, a);
}

int main(int argc, char **argv) {
    mpi_test_init(&argc, &argv);
    if (setup() != SBIR_OK) {
        CHECK(0, "setup");
        return mpi_test_summary();
    }
    RUN(test_batch_must_split);
    RUN(test_matches_one_process);
    RUN(test_only_rank0_writes);
    RUN(test_resume);
    return mpi_test_summary();
}
