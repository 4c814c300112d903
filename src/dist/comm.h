/* comm.h — the few MPI collectives sbir needs, behind one small interface.
 *
 * sbir is built with MPI when OpenMPI's development files are present (the Makefile defines
 * SBIR_WITH_MPI); without them every call below is the single-process identity, so the rest of the
 * code never needs an #ifdef. Even in an MPI build, MPI is only initialised when the process was
 * started by mpirun (OMPI_COMM_WORLD_SIZE or PMI_SIZE in the environment): a plain `sbir train`
 * stays a plain single process.
 *
 *   if (comm_init(&argc, &argv) != 0) die(...);      // once, in main
 *   ... comm_rank(), comm_size() ...
 *   comm_allreduce_sum_f32(grads, n);                 // every rank gets the sum
 *   comm_finalize();                                  // once, before exit
 */
#ifndef SBIR_DIST_COMM_H
#define SBIR_DIST_COMM_H

#include <stdbool.h>
#include <stddef.h>

/* 0 on success; -1 with sbir_error set if mpirun started us but this build has no MPI, or if
 * MPI_Init failed. Safe to call more than once. */
int comm_init(int *argc, char ***argv);
void comm_finalize(void);

bool comm_active(void); /* true only inside an initialised MPI job of any size */
int comm_rank(void);    /* 0 when not under MPI */
int comm_size(void);    /* 1 when not under MPI */
bool comm_built_with_mpi(void);

/* Collectives over all ranks; each returns 0 or -1 with sbir_error set. With one process they return
 * immediately (the buffers already hold the answer). */
int comm_allreduce_sum_f32(float *buf, size_t n);
int comm_allreduce_sum_f64(double *buf, size_t n);
int comm_allreduce_max_i64(long long *buf, size_t n);
int comm_bcast(void *buf, size_t bytes, int root);
int comm_barrier(void);
/* Every rank contributes `bytes` bytes; `all` (size_bytes * comm_size()) receives them in rank order
 * on every rank. */
int comm_allgather(const void *mine, void *all, size_t bytes);
/* Ends every process of the job (MPI_Abort) when this one cannot go on and the others may be waiting
 * for it inside a collective; returns (doing nothing) outside an MPI job. */
void comm_abort(int code);

/* ---- for the sharded search (src/api/sharded_search.c) ---- */
/* Every rank contributes `bytes` bytes (counts may differ by rank); *all receives their concatenation
 * in rank order (malloc'd, the caller frees it) and sizes[r] (comm_size() entries, the caller's array)
 * rank r's count. One process: a copy of mine. */
int comm_allgatherv(const void *mine, size_t bytes, void **all, size_t *sizes);
/* Collective: true on every rank iff ok is true on every rank, so ranks that failed on their own
 * (a missing shard) and ranks that did not leave together instead of waiting in the next collective. */
bool comm_all_ok(bool ok);
/* A barrier whose waiting ranks sleep (MPI_Ibarrier polled every 0.2 ms) instead of spinning, so a
 * rank that waits leaves the cores to the ones still working (benchmarks timing one rank alone). */
int comm_barrier_idle(void);

#endif
