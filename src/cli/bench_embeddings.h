/* bench_embeddings.h — internal to src/cli: the synthetic embeddings `sbir bench search` and
 * `sbir bench shards` search (their shape and why: cmd_bench_search.c's header comment). Deterministic
 * in the seed whatever the thread count. */
#ifndef SBIR_CLI_BENCH_EMBEDDINGS_H
#define SBIR_CLI_BENCH_EMBEDDINGS_H

#include <stdint.h>

#define N_CLASSES 5
#define N_STYLES 7
#define N_CLUSTERS (N_CLASSES * N_STYLES)
#define RANK 16

typedef struct {
    int d;
    float *centre; /* N_CLUSTERS x d */
    float *basis;  /* N_CLUSTERS x d x RANK, entries N(0, 1/d) */
} bench_genmodel;

/* The mixture: class x style centres and a low-rank basis per cluster (free centre and basis). */
bench_genmodel bench_gen_model(int d, uint64_t seed);
/* n unit rows into out (n x d); cluster (may be NULL) gets each row's cluster (class * N_STYLES + style). */
void bench_gen_rows(const bench_genmodel *g, int64_t n, float noise, uint64_t seed, float *out, int32_t *cluster);

#endif
