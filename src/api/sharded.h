/* sharded.h — internal to src/api: searching a sharded index (index/shards.h), in one process or in
 * several under mpirun, with the results of one search over the unsharded index.
 *
 * A process opens the shards it serves: shard s belongs to process s % nproc (round-robin), so any
 * number of processes up to the shard count works, each shard searched by exactly one of them (with
 * as many processes as shards, process r serves shard r). nproc = 1 opens every shard.
 *
 * A search: every process runs the single-index search (api_search_hits) on each of its shards, one
 * after another, turns the hits' rows into global rows, and packs them with what a result needs (id,
 * labels, path). With nproc > 1 the packed candidates are exchanged (comm_allgatherv: every process
 * ends with all of them, at most nproc x k per shard served), and every process merges them with
 * shard_merge, so every process holds the same final results (the CLI prints rank 0's). A failure on
 * one process travels in the exchange, so all fail together with its message instead of hanging. */
#ifndef SBIR_API_SHARDED_H
#define SBIR_API_SHARDED_H

#include "sbir.h"

typedef struct sharded_index sharded_index;

/* Reads the manifest at path and opens this process's shards (each checked against the manifest:
 * shard_open). nproc must not exceed the shard count; with nproc > 1, it must be comm_size() and rank
 * comm_rank(), and sharded_search is then a collective call. */
sbir_status sharded_open(const char *path, int rank, int nproc, sharded_index **out);
void sharded_close(sharded_index *s); /* NULL-safe */

const char *sharded_fingerprint(const sharded_index *s);
int64_t sharded_count(const sharded_index *s); /* rows over all shards */
int sharded_n_shards(const sharded_index *s);
int sharded_n_local(const sharded_index *s); /* shards this process serves */

typedef struct {
    sbir_result *res; /* n results, best first; rows are global (the unsharded index's rows) */
    int n;
    void *owned;      /* the exchanged candidates, which the results' paths point into */
} sharded_results;

/* sbir_search over the whole sharded index (see above). */
sbir_status sharded_search(const sharded_index *s, const sbir_model_ctx *m, const sbir_query *q, sharded_results *out);
void sharded_results_free(sharded_results *r);

/* Collective when nproc > 1: every process passes its own status of a step; all get SBIR_E_OK, or the
 * status of the lowest failing rank with its message (prefixed "rank R: " on the others). */
sbir_status sharded_agree(int nproc, sbir_status st);

#endif
