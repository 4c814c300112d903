/* test_mpi_comm.c — the collectives of src/dist/comm.c across real ranks. */
#include <stdint.h>
#include <string.h>

#include "mpi_test.h"

static void test_rank_and_size(void) {
    CHECK(comm_built_with_mpi());
    CHECK(comm_active());
    CHECK(comm_size() >= 2, "size %d", comm_size());
    CHECK(comm_rank() >= 0 && comm_rank() < comm_size());
}

static void test_allreduce(void) {
    int r = comm_rank(), n = comm_size();
    float f[1000];
    double d[3];
    for (int i = 0; i < 1000; i++) f[i] = (float)(r + 1) * (float)i;
    d[0] = r; d[1] = 1.0; d[2] = -0.5 * r;
    CHECK(comm_allreduce_sum_f32(f, 1000) == 0);
    CHECK(comm_allreduce_sum_f64(d, 3) == 0);
    float tri = (float)(n * (n + 1) / 2);
    int bad = 0;
    for (int i = 0; i < 1000; i++) bad += f[i] != tri * (float)i;
    CHECK(bad == 0, "%d sums wrong", bad);
    CHECK(d[0] == n * (n - 1) / 2.0 && d[1] == n);
    long long m[2] = {r, -r};
    CHECK(comm_allreduce_max_i64(m, 2) == 0);
    CHECK(m[0] == n - 1 && m[1] == 0);
}

static void test_bcast_and_gather(void) {
    int r = comm_rank(), n = comm_size();
    char msg[32] = {0};
    if (r == 0) strcpy(msg, "from rank zero");
    CHECK(comm_bcast(msg, sizeof msg, 0) == 0);
    CHECK(strcmp(msg, "from rank zero") == 0, "rank %d got '%s'", r, msg);
    int32_t mine[2] = {r, r * r}, all[64];
    CHECK(n <= 32);
    CHECK(comm_allgather(mine, all, sizeof mine) == 0);
    int bad = 0;
    for (int i = 0; i < n; i++) bad += all[2 * i] != i || all[2 * i + 1] != i * i;
    CHECK(bad == 0);
    CHECK(comm_barrier() == 0);
}

int main(int argc, char **argv) {
    mpi_test_init(&argc, &argv);
    RUN(test_rank_and_size);
    RUN(test_allreduce);
    RUN(test_bcast_and_gather);
    return mpi_test_summary();
}
