/* shard_fixture.h — for the sharded-index tests (tests/test_shards.c, tests/mpi/test_mpi_shards.c): a
 * small untrained model (its prototypes and fusion matter, not its networks) and an index of n random
 * unit embeddings computed "by" it, written whole and as several sharded copies of the same rows.
 * Rows include exact duplicates, next to each other (so on different shards) and 7 rows apart (the
 * same shard of 7), so merges are tested on ties. Deterministic in seed. */
#ifndef SBIR_TEST_SHARD_FIXTURE_H
#define SBIR_TEST_SHARD_FIXTURE_H

#include <stdint.h>

#include "index/matrix.h"

typedef struct {
    char model[4200]; /* the model file */
    char whole[4200]; /* the unsharded index */
    char dir[4200], tag[64];
} shard_fixture;

/* Writes <dir>/<tag>.model, <dir>/<tag>.whole and, for each count c in shard_counts, the sharded index
 * <dir>/<tag>.sh<c> (shard_fixture_sharded names it). fusion: the model's (f0, f1, f2). */
int shard_fixture_make(const char *dir, const char *tag, int64_t n, sbir_elem elem, const float fusion[3], uint64_t seed,
                       const int *shard_counts, int n_counts, shard_fixture *f);
/* The path of the copy in c shards. */
void shard_fixture_sharded(const shard_fixture *f, int c, char *out, size_t cap);

#endif
