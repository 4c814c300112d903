/* comm.c — MPI collectives or their one-process identities; see comm.h. */
#include "dist/comm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/common.h"

#ifdef SBIR_WITH_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1;
static bool g_active = false;

/* Launched by a process manager? OpenMPI's mpirun sets OMPI_COMM_WORLD_SIZE; Hydra/Slurm PMI sets
 * PMI_SIZE. */
static bool launched_by_mpirun(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMI_SIZE") != NULL ||
           getenv("PMIX_RANK") != NULL;
}

bool comm_built_with_mpi(void) {
#ifdef SBIR_WITH_MPI
    return true;
#else
    return false;
#endif
}

int comm_init(int *argc, char ***argv) {
    if (g_active || !launched_by_mpirun()) return 0;
#ifdef SBIR_WITH_MPI
    int already = 0;
    MPI_Initialized(&already);
    if (!already && MPI_Init(argc, argv) != MPI_SUCCESS) {
        sbir_error("MPI_Init failed");
        return -1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    g_active = true;
    return 0;
#else
    (void)argc;
    (void)argv;
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n) n = getenv("PMI_SIZE");
    if (n && atoi(n) > 1) {
        sbir_error("this sbir was built without MPI (install libopenmpi-dev and rebuild) but was "
                   "started by mpirun with %s processes",
                   n);
        return -1;
    }
    return 0;
#endif
}

void comm_finalize(void) {
#ifdef SBIR_WITH_MPI
    if (g_active) {
        int done = 0;
        MPI_Finalized(&done);
        if (!done) MPI_Finalize();
    }
#endif
    g_active = false;
    g_rank = 0;
    g_size = 1;
}

bool comm_active(void) { return g_active; }
int comm_rank(void) { return g_rank; }
int comm_size(void) { return g_size; }

#ifdef SBIR_WITH_MPI
/* MPI counts are int; large buffers go in chunks. */
#define CHUNK ((size_t)1 << 28)

static int check(int rc, const char *what) {
    if (rc == MPI_SUCCESS) return 0;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    sbir_error("%s failed on rank %d: %s", what, g_rank, msg);
    return -1;
}

static int allreduce(void *buf, size_t n, size_t elem, MPI_Datatype type, MPI_Op op, const char *what) {
    for (size_t off = 0; off < n; off += CHUNK) {
        size_t m = n - off < CHUNK ? n - off : CHUNK;
        if (check(MPI_Allreduce(MPI_IN_PLACE, (char *)buf + off * elem, (int)m, type, op, MPI_COMM_WORLD),
                  what))
            return -1;
    }
    return 0;
}
#endif

int comm_allreduce_sum_f32(float *buf, size_t n) {
    if (g_size == 1) return 0;
#ifdef SBIR_WITH_MPI
    return allreduce(buf, n, sizeof *buf, MPI_FLOAT, MPI_SUM, "MPI_Allreduce(float)");
#else
    (void)buf;
    (void)n;
    return 0;
#endif
}

int comm_allreduce_sum_f64(double *buf, size_t n) {
    if (g_size == 1) return 0;
#ifdef SBIR_WITH_MPI
    return allreduce(buf, n, sizeof *buf, MPI_DOUBLE, MPI_SUM, "MPI_Allreduce(double)");
#else
    (void)buf;
    (void)n;
    return 0;
#endif
}

int comm_allreduce_max_i64(long long *buf, size_t n) {
    if (g_size == 1) return 0;
#ifdef SBIR_WITH_MPI
    return allreduce(buf, n, sizeof *buf, MPI_LONG_LONG, MPI_MAX, "MPI_Allreduce(max)");
#else
    (void)buf;
    (void)n;
    return 0;
#endif
}

int comm_bcast(void *buf, size_t bytes, int root) {
    if (g_size == 1) return 0;
#ifdef SBIR_WITH_MPI
    for (size_t off = 0; off < bytes; off += CHUNK) {
        size_t m = bytes - off < CHUNK ? bytes - off : CHUNK;
        if (check(MPI_Bcast((char *)buf + off, (int)m, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast"))
            return -1;
    }
    return 0;
#else
    (void)buf;
    (void)bytes;
    (void)root;
    return 0;
#endif
}

int comm_barrier(void) {
    if (g_size == 1) return 0;
#ifdef SBIR_WITH_MPI
    return check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
#else
    return 0;
#endif
}

int comm_allgather(const void *mine, void *all, size_t bytes) {
    if (g_size == 1) {
        if (all != mine) memmove(all, mine, bytes);
        return 0;
    }
#ifdef SBIR_WITH_MPI
    if (bytes > (size_t)INT32_MAX) {
        sbir_error("allgather of %zu bytes per rank is too large", bytes);
        return -1;
    }
    return check(MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, MPI_COMM_WORLD),
                 "MPI_Allgather");
#else
    return 0;
#endif
}

/* ---- for the sharded search ---- */

int comm_allgatherv(const void *mine, size_t bytes, void **all, size_t *sizes) {
    *all = NULL;
    if (g_size == 1) {
        *all = mallocCheck(bytes ? bytes : 1);
        if (bytes) memcpy(*all, mine, bytes);
        sizes[0] = bytes;
        return 0;
    }
#ifdef SBIR_WITH_MPI
    long long me = (long long)bytes;
    long long *each = mallocCheck(sizeof(long long) * (size_t)g_size);
    if (comm_allgather(&me, each, sizeof me) != 0) return free(each), -1;
    int *counts = mallocCheck(sizeof(int) * (size_t)g_size), *displs = mallocCheck(sizeof(int) * (size_t)g_size);
    long long total = 0;
    for (int r = 0; r < g_size; r++) {
        counts[r] = (int)each[r], displs[r] = (int)total;
        sizes[r] = (size_t)each[r];
        total += each[r];
    }
    free(each);
    int rc = 0;
    if (total > INT32_MAX) { /* MPI's displacements are int; k hits per shard are far below this */
        sbir_error("allgatherv of %lld bytes in all is too large", total);
        rc = -1;
    } else {
        *all = mallocCheck((size_t)(total ? total : 1));
        rc = check(MPI_Allgatherv(mine, (int)bytes, MPI_BYTE, *all, counts, displs, MPI_BYTE, MPI_COMM_WORLD),
                   "MPI_Allgatherv");
        if (rc) free(*all), *all = NULL;
    }
    free(counts);
    free(displs);
    return rc;
#else
    return 0;
#endif
}

bool comm_all_ok(bool ok) {
    long long failed = ok ? 0 : 1;
    if (comm_allreduce_max_i64(&failed, 1) != 0) return false;
    return failed == 0;
}

int comm_barrier_idle(void) {
    if (g_size == 1) return 0;
#ifdef SBIR_WITH_MPI
    MPI_Request req;
    if (check(MPI_Ibarrier(MPI_COMM_WORLD, &req), "MPI_Ibarrier")) return -1;
    for (;;) {
        int done = 0;
        if (check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test")) return -1;
        if (done) return 0;
        struct timespec pause = {0, 200000};
        nanosleep(&pause, NULL);
    }
#else
    return 0;
#endif
}

void comm_abort(int code) {
#ifdef SBIR_WITH_MPI
    if (g_active && g_size > 1) {
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, code);
    }
#else
    (void)code;
#endif
}
