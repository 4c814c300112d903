/* mpi_test.h — what an MPI test adds to tests/test.h: every rank runs the checks; the summary adds up
 * all ranks' counts and only rank 0 prints the RESULT line tests/mpi/run_mpi_tests.sh reads.
 *
 *   int main(int argc, char **argv) { mpi_test_init(&argc, &argv); RUN(...); return mpi_test_summary(); }
 */
#ifndef SBIR_MPI_TEST_H
#define SBIR_MPI_TEST_H

#include "dist/comm.h"
#include "test.h"

static inline void mpi_test_init(int *argc, char ***argv) {
    if (comm_init(argc, argv) != 0 || !comm_active()) {
        fprintf(stderr, "this test must run under mpirun (make test-mpi)\n");
        exit(2);
    }
}

static inline int mpi_test_summary(void) {
    double counts[3] = {g_test_passed, g_test_failed, g_test_skipped};
    comm_allreduce_sum_f64(counts, 3);
    int rank = comm_rank();
    comm_finalize();
    if (rank != 0) return counts[1] > 0 ? 1 : 0;
    g_test_passed = (int)counts[0];
    g_test_failed = (int)counts[1];
    g_test_skipped = (int)counts[2];
    return test_summary();
}

#endif
