/* test_mpi_shards.c — the sharded index searched by several processes (api/sharded.h under mpirun):
 * with 2 ranks, indexes of 2, 3 and 4 shards (one, and uneven and even round-robin shares per rank)
 * give every rank exactly the unsharded results (rows, ids, scores bit for bit, distances, labels,
 * paths) for product and linear fusions, styles, class filters and k up to past n; more ranks than
 * shards, and a shard that only one rank finds damaged, fail on every rank with one clear message
 * instead of a hang. Rank 0 writes the files in its scratch folder; the others read them there.
 * (`mpirun -np 2 sbir query` itself is tested by tests/test_shards.c: an mpirun started from inside
 * an MPI job gets the outer job's process manager and fails in MPI_Init.) */
#include <string.h>
#include <unistd.h>

#include "api/sharded.h"
#include "index/shards.h"
#include "mpi_test.h"
#include "sbir.h"
#include "support/shard_fixture.h"
#include "util/common.h"
#include "util/rng.h"

#define N_ROWS 2000
static char g_dir[4096];
static shard_fixture g_prod, g_lin;
static const int k_counts[] = {1, 2, 3, 4};

static void setup(void) {
    float prod[3] = {1, 0.7f, 0.5f}, lin[3] = {1, 0.6f, 0};
    int ok = 1;
    if (comm_rank() == 0) {
        snprintf(g_dir, sizeof g_dir, "%s", test_tmpdir());
        ok = shard_fixture_make(g_dir, "prod", N_ROWS, SBIR_ELEM_F32, prod, 31, k_counts, 4, &g_prod) == SBIR_OK &&
             shard_fixture_make(g_dir, "lin", N_ROWS, SBIR_ELEM_F16, lin, 32, k_counts + 1, 2, &g_lin) == SBIR_OK;
        if (!ok) fprintf(stderr, "fixture: %s\n", sbir_last_error());
    }
    CHECK(comm_bcast(g_dir, sizeof g_dir, 0) == 0);
    CHECK(comm_bcast(&g_prod, sizeof g_prod, 0) == 0 && comm_bcast(&g_lin, sizeof g_lin, 0) == 0);
    CHECK(comm_all_ok(ok), "rank 0 could not write the fixtures");
}

static int same_result(const sbir_result *a, const sbir_result *b) {
    return a->row == b->row && a->id == b->id && memcmp(&a->score, &b->score, 4) == 0 &&
           memcmp(&a->content_dist, &b->content_dist, 4) == 0 && memcmp(&a->style_dist, &b->style_dist, 4) == 0 &&
           strcmp(a->class_name, b->class_name) == 0 && strcmp(a->style, b->style) == 0 && strcmp(a->path, b->path) == 0;
}

static void parallel_equals_unsharded(const shard_fixture *f, int count) {
    char path[4400];
    shard_fixture_sharded(f, count, path, sizeof path);
    sbir_model_ctx *m = NULL;
    sbir_index_ctx *whole = NULL;
    sharded_index *sx = NULL;
    sbir_status st = sbir_model_open(f->model, &m);
    if (st == SBIR_E_OK) st = sbir_index_open(f->whole, &whole);
    if (st == SBIR_E_OK) st = sharded_open(path, comm_rank(), comm_size(), &sx);
    st = sharded_agree(comm_size(), st);
    CHECK(st == SBIR_E_OK, "%s", sbir_last_error());
    if (st == SBIR_E_OK) {
        int want_local = (count - comm_rank() + comm_size() - 1) / comm_size();
        CHECK(sharded_n_local(sx) == want_local, "rank %d serves %d shards, want %d", comm_rank(), sharded_n_local(sx), want_local);
        sbir_rng r;
        rng_seed(&r, 77); /* the same queries on every rank */
        sbir_result *want = mallocCheck(sizeof(sbir_result) * (N_ROWS + 3));
        const int ks[] = {1, 9, 60, N_ROWS + 3};
        int bad = 0, checked = 0;
        for (int qi = 0; qi < 8; qi++) {
            float sketch[16], ex[16];
            for (int j = 0; j < 16; j++) sketch[j] = rng_normal(&r) * 0.25f, ex[j] = rng_normal(&r);
            sbir_query q = {.sketch = sketch};
            if (qi % 4 == 1) q.style_name = "ink";
            if (qi % 4 == 2) q.style_examples = ex, q.n_examples = 2;
            if (qi % 4 == 3) q.style_name = "paint", q.class_name = "tree";
            for (int ki = 0; ki < 4; ki++) {
                q.k = ks[ki];
                int nw = 0;
                sharded_results got;
                sbir_status a = sbir_search(whole, m, &q, want, &nw);
                sbir_status b = sharded_search(sx, m, &q, &got); /* collective */
                checked++;
                int differ = a != SBIR_E_OK || b != SBIR_E_OK || got.n != nw;
                for (int i = 0; !differ && i < nw; i++) differ = !same_result(&got.res[i], &want[i]);
                if (differ && !bad)
                    fprintf(stderr, "    rank %d, %s in %d shards, query %d, k=%d: %d results vs %d (%s)\n", comm_rank(),
                            f->tag, count, qi, q.k, got.n, nw, sbir_last_error());
                bad += differ;
                sharded_results_free(&got);
            }
        }
        CHECK(bad == 0, "rank %d, %s in %d shards: %d of %d searches differ from the unsharded one", comm_rank(), f->tag,
              count, bad, checked);
        free(want);
    }
    sharded_close(sx);
    sbir_index_close(whole);
    sbir_model_close(m);
}

static void test_parallel_equals_unsharded(void) {
    for (int c = 1; c < 4; c++) parallel_equals_unsharded(&g_prod, k_counts[c]);
    parallel_equals_unsharded(&g_lin, 2);
    parallel_equals_unsharded(&g_lin, 3);
}

static void test_failures_reach_every_rank(void) {
    char path[4400];
    shard_fixture_sharded(&g_prod, 1, path, sizeof path);
    sharded_index *sx = NULL;
    sbir_status st = sharded_open(path, comm_rank(), comm_size(), &sx); /* 1 shard, 2 processes */
    CHECK(st != SBIR_E_OK && strstr(sbir_last_error(), "start at most 1"), "%s", sbir_last_error());
    sharded_close(sx);

    /* shard 1 of a copy truncated: only rank 1 opens it, both ranks learn why */
    float fu[3] = {1, 1, 0};
    int two[] = {2}, ok = 1;
    shard_fixture f;
    if (comm_rank() == 0) {
        ok = shard_fixture_make(g_dir, "bad", 50, SBIR_ELEM_F32, fu, 3, two, 1, &f) == SBIR_OK;
        shard_fixture_sharded(&f, 2, path, sizeof path);
        char s1[4500];
        snprintf(s1, sizeof s1, "%s.shard-1-of-2", path);
        ok = ok && truncate(s1, 600) == 0;
    }
    CHECK(comm_bcast(path, sizeof path, 0) == 0 && comm_all_ok(ok), "setup");
    st = sharded_agree(comm_size(), sharded_open(path, comm_rank(), comm_size(), &sx));
    CHECK(st != SBIR_E_OK && strstr(sbir_last_error(), "shard 1 of 2") && strstr(sbir_last_error(), "truncated"),
          "rank %d: status %d, '%s'", comm_rank(), st, sbir_last_error());
    if (comm_rank() == 0) CHECK(strncmp(sbir_last_error(), "rank 1: ", 8) == 0, "%s", sbir_last_error());
    sharded_close(sx);

    /* a search error (an unknown style) returns on every rank, no rank left waiting */
    shard_fixture_sharded(&g_prod, 2, path, sizeof path);
    sbir_model_ctx *m = NULL;
    st = sharded_agree(comm_size(), sbir_model_open(g_prod.model, &m));
    if (st == SBIR_E_OK) st = sharded_agree(comm_size(), sharded_open(path, comm_rank(), comm_size(), &sx));
    if (st == SBIR_E_OK) {
        float sk[16] = {1};
        sbir_query q = {.sketch = sk, .style_name = "crayon", .k = 3};
        sharded_results got;
        CHECK(sharded_search(sx, m, &q, &got) == SBIR_E_NOT_FOUND && strstr(sbir_last_error(), "crayon"), "%s",
              sbir_last_error());
        sharded_results_free(&got);
    }
    sharded_close(sx);
    sbir_model_close(m);
    CHECK(comm_barrier() == 0);
}

int main(int argc, char **argv) {
    mpi_test_init(&argc, &argv);
    RUN(setup);
    RUN(test_parallel_equals_unsharded);
    RUN(test_failures_reach_every_rank);
    return mpi_test_summary();
}
