/* cmd_bench_shards.c — `sbir bench shards`: what sharding an index costs and buys, measured side by
 * side in one run (SCALING.md): the exact search over one index file against the same rows split in
 * shards searched by P processes under mpirun (or one after another without it), the pure exchange +
 * merge overhead, latency against rows (the basis for extrapolating to larger shards), and the bytes
 * per image of every storage format, FAISS IVF-PQ included.
 *
 * It searches with the index layer directly (search_topk + shard_merge + comm_allgatherv), which is
 * what `sbir query` on a sharded index does per shard (api/sharded_search.c) minus the model: the
 * messages carry 112 bytes per hit, the size of a real hit with a typical path. Timed per query on
 * rank 0: broadcast of the query vector, local search, exchange, merge. Queries start together (an
 * untimed barrier), as they would when a front end hands each query to every shard at once. While
 * rank 0 times the whole index alone, the other ranks sleep (comm_barrier_idle) rather than spin. */
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/bench_embeddings.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "dist/comm.h"
#include "index/faiss_shim.h"
#include "index/index_file.h"
#include "index/search.h"
#include "index/shards.h"
#include "util/common.h"

static const char k_usage[] =
    "usage: sbir bench shards [--n N] [--dim D] [--queries Q] [--k K] [--shards S] [--threads T] [--dir DIR]\n"
    "                         [--seed S] [--no-pq] [--keep]\n"
    "       mpirun -np P sbir bench shards ...   (P processes; S defaults to P)\n\n"
    "Rank 0 writes N x D embeddings (default 1000000 x 128; bench search's mixture) as one index file and\n"
    "as S shards (f32 + int8 prefilter) under DIR (default $TMPDIR or /tmp; ~2 x N x D x 5.2 bytes; removed\n"
    "afterwards unless --keep). Then, one query at a time, medians over Q queries (default 200), k=20:\n"
    "  whole     rank 0 alone on the whole file, with T x P threads and with T (others sleep); also on\n"
    "            its first N/4 and N/2 rows (latency against rows)\n"
    "  sharded   every process searches its shards with T threads (default: cores / P), the hits are\n"
    "            exchanged (allgatherv) and merged; rank 0's end-to-end time, its local search, and the\n"
    "            rest (exchange + merge + waiting for the slowest shard). Without mpirun: the shards one\n"
    "            after another in one process, then the merge.\n"
    "  exchange  the same messages exchanged and merged right after a barrier: the pure overhead\n"
    "Checks that every sharded result equals the whole file's. Then bytes per image of a product-like\n"
    "index (content D + style 64 + a 40-byte path) stored f32, fp16 and int8, and unless --no-pq of\n"
    "FAISS IVF1024,PQ16x8 and PQ64x8 over the N vectors (with their recall@K). Last line:\n"
    "  shards procs=P shards=S n=N whole_ms=.. sharded_ms=.. local_ms=.. rest_ms=.. exchange_us=..\n";

typedef struct {
    long n, dim, queries, k, shards, threads, seed;
    int pq, keep;
    const char *dir;
} options;

static int parse(int argc, char **argv, options *o) {
    static const struct option longs[] = {{"n", 1, 0, 'n'},       {"dim", 1, 0, 'd'},   {"queries", 1, 0, 'q'},
                                          {"k", 1, 0, 'k'},       {"shards", 1, 0, 'S'}, {"threads", 1, 0, 't'},
                                          {"dir", 1, 0, 'D'},     {"seed", 1, 0, 's'},  {"no-pq", 0, 0, 'P'},
                                          {"keep", 0, 0, 'K'},    {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
    const char *tmp = getenv("TMPDIR");
    *o = (options){1000000, 128, 200, 20, 0, 0, 1, 1, 0, tmp && *tmp ? tmp : "/tmp"};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'n': bad = cli_parse_int("bench shards", "--n", optarg, 1000, 1000000000, &o->n); break;
        case 'd': bad = cli_parse_int("bench shards", "--dim", optarg, 8, 4096, &o->dim); break;
        case 'q': bad = cli_parse_int("bench shards", "--queries", optarg, 5, 100000, &o->queries); break;
        case 'k': bad = cli_parse_int("bench shards", "--k", optarg, 1, 1000, &o->k); break;
        case 'S': bad = cli_parse_int("bench shards", "--shards", optarg, 1, SHARD_MAX, &o->shards); break;
        case 't': bad = cli_parse_int("bench shards", "--threads", optarg, 1, 256, &o->threads); break;
        case 'D': o->dir = optarg; break;
        case 's': bad = cli_parse_int("bench shards", "--seed", optarg, 0, 1L << 40, &o->seed); break;
        case 'P': o->pq = 0; break;
        case 'K': o->keep = 1; break;
        case 'h': fputs(k_usage, stdout); return 1;
        default: cli_usage_error("bench shards", "unknown option"); return 2;
        }
        if (bad) return 2;
    }
    if (optind < argc) return cli_usage_error("bench shards", "unexpected argument '%s'", argv[optind]);
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static uint64_t file_bytes(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* What travels per hit: the merge's (key, score, row) and the payload a real hit carries (ids, labels,
 * distances, a ~64-byte path), 112 bytes as in api/sharded_search.c. */
typedef struct {
    float key, score;
    int64_t row;
    char payload[96];
} wire;

/* Writes n rows (content dim d, no style) as the whole file and as s shards. */
static int write_indexes(const char *whole, const char *sharded, int s, const float *x, int64_t n, int d,
                         const int32_t *cluster) {
    sbir_index_item *items = mallocCheck((size_t)n * sizeof *items);
    for (int64_t i = 0; i < n; i++) items[i] = (sbir_index_item){i, cluster[i] / N_STYLES, cluster[i] % N_STYLES};
    static const char *cls[N_CLASSES] = {"c0", "c1", "c2", "c3", "c4"};
    static const char *sty[N_STYLES] = {"s0", "s1", "s2", "s3", "s4", "s5", "s6"};
    sbir_index_meta meta = {SBIR_ELEM_F32, 1, "bench", N_CLASSES, cls, N_STYLES, sty};
    sbir_index_rows rows = {n, d, 0, x, NULL, items, NULL};
    double t0 = sbir_now();
    int rc = index_write(whole, &meta, &rows);
    double t1 = sbir_now();
    if (rc == SBIR_OK) rc = index_write_sharded(sharded, s, &meta, &rows);
    if (rc == SBIR_OK)
        printf("wrote %s (%.0f MB) in %.1f s and %d shards in %.1f s\n", whole, file_bytes(whole) / 1e6, t1 - t0, s,
               sbir_now() - t1);
    free(items);
    return rc;
}

/* The first rows of a matrix (its prefilter cut the same way). */
static sbir_matrix head_rows(const sbir_matrix *m, int64_t n, sbir_prefilter *pre) {
    sbir_matrix h = *m;
    h.n = n;
    if (m->pre) {
        *pre = *m->pre;
        pre->codes.n = n;
        h.pre = pre;
    }
    return h;
}

/* Median ms of search_topk on m over the queries, T threads; rows out (nq x k) if given. */
static double time_whole(const sbir_matrix *m, const float *q, int nq, int k, int threads, int64_t *rows) {
    sbir_search_opts o = {.threads = threads};
    sbir_hit *h = mallocCheck(sizeof(sbir_hit) * (size_t)k);
    double *ms = mallocCheck(sizeof(double) * (size_t)nq);
    for (int w = 0; w < 3; w++) search_topk(m, q, k, &o, h);
    for (int i = 0; i < nq; i++) {
        double t = sbir_now();
        int n = search_topk(m, q + (size_t)i * m->dim, k, &o, h);
        ms[i] = 1e3 * (sbir_now() - t);
        for (int j = 0; rows && j < k; j++) rows[(size_t)i * k + j] = j < n ? h[j].row : -1;
    }
    double med = median(ms, nq);
    free(h);
    free(ms);
    return med;
}

/* This process's shards. */
typedef struct {
    int n;
    int shard[64];
    sbir_index *ix[64];
} local_shards;

/* One sharded query: local searches, exchange (P > 1), merge. Times in ms; rows (k) of the result. */
static int sharded_query(const local_shards *ls, int S, const float *q, int k, int threads, double *local_ms,
                         double *total_ms, int64_t *rows, float *scores) {
    double t0 = sbir_now();
    sbir_search_opts o = {.threads = threads};
    sbir_hit *h = mallocCheck(sizeof(sbir_hit) * (size_t)k);
    wire *mine = mallocCheck(sizeof(wire) * (size_t)k * (size_t)ls->n);
    int cnt = 0;
    for (int p = 0; p < ls->n; p++) {
        sbir_matrix m = index_content(ls->ix[p]);
        int got = search_topk(&m, q, k, &o, h);
        for (int i = 0; i < got; i++) {
            memset(&mine[cnt], 0, sizeof mine[cnt]);
            mine[cnt].key = mine[cnt].score = h[i].score;
            mine[cnt].row = shard_global_row(h[i].row, S, ls->shard[p]);
            cnt++;
        }
    }
    double t1 = sbir_now();
    void *all = NULL;
    size_t sizes[SHARD_MAX];
    int rc = comm_allgatherv(mine, sizeof(wire) * (size_t)cnt, &all, sizes);
    int64_t n = 0;
    for (int r = 0; r < comm_size(); r++) n += (int64_t)(sizes[r] / sizeof(wire));
    shard_hit *sh = mallocCheck(sizeof(shard_hit) * (size_t)(n ? n : 1));
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        wire w;
        memcpy(&w, (char *)all + (size_t)i * sizeof w, sizeof w);
        sh[i] = (shard_hit){w.key, w.score, w.row, i};
    }
    int64_t kept = rc == 0 ? shard_merge(sh, n, k) : 0;
    *local_ms = 1e3 * (t1 - t0);
    *total_ms = 1e3 * (sbir_now() - t0);
    for (int j = 0; j < k; j++) rows[j] = j < kept ? sh[j].row : -1, scores[j] = j < kept ? sh[j].score : 0;
    free(sh), free(all), free(mine), free(h);
    return rc;
}

/* The exchange and merge alone, after a barrier: the pure overhead of a fan-out. */
static double time_exchange(int k, int per_rank, int nq) {
    wire *mine = callocCheck((size_t)k * per_rank, sizeof(wire));
    for (int i = 0; i < k * per_rank; i++) mine[i].key = mine[i].score = (float)(i % 97), mine[i].row = comm_rank() + i;
    double *us = mallocCheck(sizeof(double) * (size_t)nq);
    size_t sizes[SHARD_MAX];
    for (int i = 0; i < nq; i++) {
        comm_barrier();
        double t = sbir_now();
        void *all = NULL;
        comm_allgatherv(mine, sizeof(wire) * (size_t)k * per_rank, &all, sizes);
        int64_t n = 0;
        for (int r = 0; r < comm_size(); r++) n += (int64_t)(sizes[r] / sizeof(wire));
        shard_hit *sh = mallocCheck(sizeof(shard_hit) * (size_t)n);
        for (int64_t j = 0; j < n; j++) {
            wire w;
            memcpy(&w, (char *)all + (size_t)j * sizeof w, sizeof w);
            sh[j] = (shard_hit){w.key, w.score, w.row, j};
        }
        shard_merge(sh, n, k);
        us[i] = 1e6 * (sbir_now() - t);
        free(sh);
        free(all);
    }
    double med = median(us, nq);
    free(us);
    free(mine);
    return med;
}

/* Bytes per image of a product-like index: content d + style 64, a 40-byte path, per storage type. */
static void bytes_per_image(const char *dir, int d) {
    const int64_t n = 100000;
    const int ds = 64;
    bench_genmodel g = bench_gen_model(d, 7), gs = bench_gen_model(ds, 8);
    float *c = mallocCheck(sizeof(float) * (size_t)n * d), *s = mallocCheck(sizeof(float) * (size_t)n * ds);
    int32_t *cl = mallocCheck(sizeof(int32_t) * (size_t)n);
    bench_gen_rows(&g, n, 0.25f, 1, c, cl);
    bench_gen_rows(&gs, n, 0.25f, 2, s, NULL);
    sbir_index_item *items = mallocCheck(sizeof *items * (size_t)n);
    char **paths = mallocCheck(sizeof(char *) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        items[i] = (sbir_index_item){i, cl[i] / N_STYLES, cl[i] % N_STYLES};
        paths[i] = mallocCheck(41);
        snprintf(paths[i], 41, "/data/collection/images/%016lld", (long long)i); /* 40 bytes */
    }
    static const char *cls[N_CLASSES] = {"c0", "c1", "c2", "c3", "c4"};
    static const char *sty[N_STYLES] = {"s0", "s1", "s2", "s3", "s4", "s5", "s6"};
    sbir_index_rows rows = {n, d, ds, c, s, items, (const char *const *)paths};
    printf("bytes per image, %lld images, content %d + style %d, 40-byte paths:\n", (long long)n, d, ds);
    const sbir_elem elems[3] = {SBIR_ELEM_F32, SBIR_ELEM_F16, SBIR_ELEM_I8};
    for (int e = 0; e < 3; e++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/sbir-bench-shards.bytes", dir);
        sbir_index_meta meta = {elems[e], elems[e] != SBIR_ELEM_I8, "bench", N_CLASSES, cls, N_STYLES, sty};
        if (index_write(path, &meta, &rows) == SBIR_OK)
            printf("  %-4s%s  %7.1f bytes/image\n", sbir_elem_name(elems[e]), meta.prefilter ? " + int8 prefilter" : "                 ",
                   (double)file_bytes(path) / n);
        unlink(path);
    }
    for (int64_t i = 0; i < n; i++) free(paths[i]);
    free(paths), free(items), free(cl), free(c), free(s);
    free(g.centre), free(g.basis), free(gs.centre), free(gs.basis);
}

/* FAISS IVF-PQ over the content vectors: file bytes per image, latency and recall against exact. */
static void ivf_pq(const char *dir, const float *x, int64_t n, int d, const float *q, int nq, int k,
                   const int64_t *truth, int threads, int m) {
    int nlist = 1024;
    if (n < 64 * nlist || d % m) {
        printf("IVF-PQ: skipped (needs n >= %d and dim divisible by %d)\n", 64 * nlist, m);
        return;
    }
    sbir_faiss_set_threads(threads);
    double t0 = sbir_now();
    sbir_faiss *f = sbir_faiss_ivf_pq(d, nlist, m, 8, 16);
    if (!f || sbir_faiss_train(f, (int64_t)64 * nlist, x) != SBIR_OK || sbir_faiss_add(f, n, x) != SBIR_OK) {
        fprintf(stderr, "sbir: IVF-PQ: %s\n", sbir_last_error());
        sbir_faiss_free(f);
        return;
    }
    double built = sbir_now() - t0;
    char path[4200];
    snprintf(path, sizeof path, "%s/sbir-bench-shards.ivfpq", dir);
    uint64_t bytes = sbir_faiss_save(f, path) == SBIR_OK ? file_bytes(path) : 0;
    unlink(path);
    printf("FAISS %s: built in %.1f s, file %.1f MB = %.1f bytes/image (%d-byte codes + 8-byte ids + lists)\n",
           sbir_faiss_describe(f), built, bytes / 1e6, (double)bytes / n, m);
    float *sc = mallocCheck(sizeof(float) * (size_t)k);
    int64_t *rows = mallocCheck(sizeof(int64_t) * (size_t)k);
    double *ms = mallocCheck(sizeof(double) * (size_t)nq);
    for (int nprobe = 16; nprobe <= 64; nprobe *= 4) {
        sbir_faiss_set_nprobe(f, nprobe);
        double rec = 0;
        for (int i = 0; i < nq; i++) {
            double t = sbir_now();
            sbir_faiss_search(f, 1, q + (size_t)i * d, k, sc, rows);
            ms[i] = 1e3 * (sbir_now() - t);
            int hit = 0;
            for (int a = 0; a < k; a++)
                for (int b = 0; b < k; b++) hit += truth[(size_t)i * k + a] == rows[b] && rows[b] >= 0;
            rec += (double)hit / k;
        }
        printf("  nprobe=%-3d median %.3f ms, recall@%d %.3f against the exact search\n", nprobe, median(ms, nq), k, rec / nq);
    }
    free(sc), free(rows), free(ms);
    sbir_faiss_free(f);
}

int cmd_bench_shards(int argc, char **argv) {
    options o;
    int prc = parse(argc, argv, &o);
    if (prc) return prc == 1 ? 0 : prc;
    int P = comm_size(), rank = comm_rank(), cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    int S = o.shards ? (int)o.shards : (P > 1 ? P : 2);
    int T = o.threads ? (int)o.threads : SBIR_MAX(1, cores / P);
    int64_t n = o.n;
    int d = (int)o.dim, k = (int)o.k, nq = (int)o.queries;
    if (S < P || S / P > 64) return rank == 0 ? cli_usage_error("bench shards", "--shards must be P..64 x P") : 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    char whole[4200], sharded[4200];
    snprintf(whole, sizeof whole, "%s/sbir-bench-shards.whole", o.dir);
    snprintf(sharded, sizeof sharded, "%s/sbir-bench-shards.s%d", o.dir, S);

    /* queries on every rank (the generator is deterministic); data and files on rank 0 */
    bench_genmodel g = bench_gen_model(d, (uint64_t)o.seed);
    float *q = mallocCheck(sizeof(float) * (size_t)nq * d), *x = NULL;
    bench_gen_rows(&g, nq, 0.4f, (uint64_t)o.seed + 2, q, NULL);
    int ok = 1;
    if (rank == 0) {
        printf("data: %lld x %d (bench search's mixture), %d queries, k=%d; %d process%s x %d threads, %d shards, "
               "%d cores\n", (long long)n, d, nq, k, P, P > 1 ? "es" : "", T, S, cores);
        x = alignedAllocCheck(sizeof(float) * (size_t)n * d);
        int32_t *cluster = mallocCheck(sizeof(int32_t) * (size_t)n);
        bench_gen_rows(&g, n, 0.25f, (uint64_t)o.seed + 1, x, cluster);
        ok = write_indexes(whole, sharded, S, x, n, d, cluster) == SBIR_OK;
        if (!ok) fprintf(stderr, "sbir: %s\n", sbir_last_error());
        free(cluster);
    }
    if (!comm_all_ok(ok)) return 1;

    /* everyone opens its shards (shard s on rank s % P) */
    shard_manifest man;
    local_shards ls = {0};
    ok = shard_manifest_read(sharded, &man) == SBIR_OK;
    for (int s = rank; ok && s < S; s += P) {
        ls.shard[ls.n] = s;
        ls.ix[ls.n] = shard_open(sharded, &man, s, 0);
        ok = ls.ix[ls.n++] != NULL;
    }
    if (!ok) fprintf(stderr, "sbir: rank %d: %s\n", rank, sbir_last_error());
    int rc = 1;
    int64_t *truth = mallocCheck(sizeof(int64_t) * (size_t)nq * k);
    double whole_ms = 0, whole1_ms = 0;
    if (!comm_all_ok(ok)) goto out;

    /* 1. the whole file, rank 0 alone */
    if (rank == 0) {
        sbir_index *w = index_open(whole, 0);
        if (w) {
            sbir_matrix m = index_content(w);
            whole_ms = time_whole(&m, q, nq, k, T * P, truth);
            int T1 = P > 1 ? T : 1; /* a process's share of the cores, or one */
            whole1_ms = time_whole(&m, q, nq, k, T1, NULL);
            printf("whole file, %lld rows: median %.2f ms with %d threads, %.2f ms with %d\n", (long long)n, whole_ms,
                   T * P, whole1_ms, T1);
            for (int part = 4; part >= 2; part /= 2) {
                sbir_prefilter pre;
                sbir_matrix h = head_rows(&m, n / part, &pre);
                printf("  its first %lld rows: median %.2f ms with %d threads, %.2f ms with %d\n", (long long)(n / part),
                       time_whole(&h, q, nq, k, T * P, NULL), T * P, time_whole(&h, q, nq, k, T1, NULL), T1);
            }
            index_close(w);
        } else {
            fprintf(stderr, "sbir: %s\n", sbir_last_error());
        }
        ok = w != NULL;
    }
    comm_barrier_idle();
    if (!comm_all_ok(ok)) goto out;

    /* 2. sharded: every query to every process at once */
    double *tot = mallocCheck(sizeof(double) * (size_t)nq), *loc = mallocCheck(sizeof(double) * (size_t)nq);
    int64_t rows[1000];
    float scores[1000];
    int differ = 0;
    for (int w = 0; w < 3; w++) sharded_query(&ls, S, q, k, T, &loc[0], &tot[0], rows, scores);
    for (int i = 0; i < nq; i++) {
        comm_barrier();
        float qi[4096];
        double t0 = sbir_now();
        if (rank == 0) memcpy(qi, q + (size_t)i * d, sizeof(float) * d);
        comm_bcast(qi, sizeof(float) * d, 0); /* the front end hands the query to every shard */
        double bc = 1e3 * (sbir_now() - t0);
        if (sharded_query(&ls, S, qi, k, T, &loc[i], &tot[i], rows, scores) != 0) ok = 0;
        tot[i] += bc;
        if (rank == 0) differ += memcmp(rows, truth + (size_t)i * k, sizeof(int64_t) * k) != 0;
    }
    double sharded_ms = median(tot, nq), local_ms = median(loc, nq), slowest = 0;
    for (int i = 0; i < nq; i++) tot[i] -= loc[i];
    double rest_ms = median(tot, nq);
    double *each = mallocCheck(sizeof(double) * (size_t)P); /* every process's median local search */
    comm_allgather(&local_ms, each, sizeof local_ms);
    for (int r = 0; r < P; r++) slowest = SBIR_MAX(slowest, each[r]);
    free(each);
    free(tot), free(loc);
    double ex_us = time_exchange(k, ls.n, nq);
    if (rank == 0) {
        printf("sharded, %d shards on %d process%s x %d threads: median %.2f ms end to end; local search %.2f ms, "
               "the rest %.3f ms (broadcast, exchange, merge, waiting for the slowest shard)\n",
               S, P, P > 1 ? "es" : "", T, sharded_ms, local_ms, rest_ms);
        if (P > 1) printf("  local search medians: rank 0 %.2f ms, slowest rank %.2f ms\n", local_ms, slowest);
        printf("exchange + merge alone (%d x %d hits of %zu bytes per process): median %.1f us\n", ls.n, k, sizeof(wire),
               ex_us);
        printf("sharded results identical to the whole file's: %d of %d queries%s\n", nq - differ, nq,
               differ ? "  <-- MISMATCH" : "");
    }
    comm_barrier_idle();

    /* 3. bytes per image (rank 0 alone) */
    if (rank == 0) {
        bytes_per_image(o.dir, d);
        for (int m = 16; o.pq && m <= 64; m *= 4) ivf_pq(o.dir, x, n, d, q, nq, k, truth, T * P, m);
        printf("shards procs=%d shards=%d n=%lld whole_ms=%.3f sharded_ms=%.3f local_ms=%.3f rest_ms=%.3f "
               "exchange_us=%.1f\n",
               P, S, (long long)n, whole_ms, sharded_ms, local_ms, rest_ms, ex_us);
    }
    comm_barrier_idle();
    rc = differ || !ok ? 1 : 0;
out:
    for (int p = 0; p < ls.n; p++) index_close(ls.ix[p]);
    if (rank == 0 && !o.keep) {
        unlink(whole);
        shard_remove_files(&man, NULL);
        unlink(sharded);
    }
    shard_manifest_free(&man);
    free(truth), free(q), free(x);
    free(g.centre), free(g.basis);
    return rc;
}
