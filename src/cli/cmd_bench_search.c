/* cmd_bench_search.c — `sbir bench search`: exact and approximate top-k over 1M embeddings, one query at
 * a time, ours side by side with FAISS in the same run (SPEC section 5).
 *
 * Data: N x D unit vectors from a mixture that has the structure of our trained embeddings:
 *   - 35 cluster centres, one per class x style cell (5 classes x 7 media as in the demo collection):
 *     centre = normalise(u_class + 0.5 v_style), because the triplet losses pull items of a class
 *     together and the content embedding still carries some of the medium;
 *   - inside a cluster the spread is LOW-RANK: centre + B_k z with B_k a random D x 16 basis per cluster
 *     (|B_k z| ~ 0.7), since images of one class vary along a few factors (pose, scale, colour,
 *     background): CNN descriptors have an intrinsic dimension of ~10-20 even at D = 128..4096, which
 *     is what makes IVF/HNSW work on real data (isotropic high-dimensional noise alone would be an
 *     unrealistically hard worst case for approximate search and an easy one for nothing);
 *   - plus small isotropic noise (|e| ~ 0.25) so the data has full rank, then L2-normalised
 *     (cosine to the own centre ~0.8).
 * Queries are drawn the same way with more isotropic noise (0.4: sketches are a different domain) and
 * are not in the index. The generator is deterministic in --seed whatever the thread count.
 *
 * Timing: every contender answers the same queries one at a time with the same thread count; ours and
 * FAISS's flat index alternate query by query (which goes first alternates too) after a warm-up, so
 * background load hits both alike; figures are medians. Recall@20 is measured against our exact
 * results (which the benchmark checks equal a full float scan). IVF's nprobe is chosen on separate
 * calibration queries (the smallest power of two reaching recall@20 >= 0.95), then timed and scored on
 * the measurement queries. The last line is machine-readable. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "cli/bench_embeddings.h"
#include "cli/cli.h"
#include "index/faiss_shim.h"
#include "index/index_file.h"
#include "index/search.h"
#include "util/common.h"
#include "util/rng.h"

int cmd_bench_search(int argc, char **argv); /* wired into `sbir bench` by cmd_bench.c */

static const char k_usage[] =
    "usage: sbir bench search [--n N] [--dim D] [--queries Q] [--k K] [--threads T] [--nlist L] [--hnsw]\n"
    "                         [--seed S] [--file INDEX]\n\n"
    "Exact top-k over N embeddings (default 1000000 x 128) one query at a time: ours (two-pass int8\n"
    "prefilter + float re-scoring, the same answer as a full scan) against FAISS IndexFlatIP, alternating,\n"
    "medians over Q queries (default 50); full f32/fp16/int8 scans with their recall; FAISS IVF<L>,Flat\n"
    "(default L = 1024) with nprobe chosen for recall@20 >= 0.95; with --hnsw also HNSW32,Flat (slow to\n"
    "build). Threads default to 2 for everything. With --file, our side searches an index file written\n"
    "there and opened with mmap, as `sbir query` does (needs ~N x D x 5 bytes of disk).\n"
    "Last line:\n"
    "  search exact_ms=.. faiss_flat_ms=.. speedup=.. ivf_ms=.. ivf_recall20=..\n";

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double recall_at(const int64_t *truth, const int64_t *got, int k) {
    int hit = 0;
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) hit += truth[a] == got[b] && got[b] >= 0;
    return (double)hit / k;
}

typedef struct {
    int n_q, k, threads;
    const float *q;
    int64_t *truth; /* n_q x k rows of the exact search */
} bench;

/* Times our search on every query (warm-up first); rows go to out (n_q x k) if given. */
static int time_ours(const bench *b, const sbir_matrix *m, int no_prefilter, double *ms, int64_t *out) {
    sbir_search_opts o = {.threads = b->threads, .no_prefilter = no_prefilter};
    sbir_hit *h = mallocCheck((size_t)b->k * sizeof *h);
    int d = m->dim;
    for (int w = 0; w < 3; w++)
        if (search_topk(m, b->q + (size_t)w * d, b->k, &o, h) < 0) return free(h), SBIR_ERR;
    for (int i = 0; i < b->n_q; i++) {
        double t = sbir_now();
        int n = search_topk(m, b->q + (size_t)i * d, b->k, &o, h);
        ms[i] = (sbir_now() - t) * 1e3;
        if (n < 0) return free(h), SBIR_ERR;
        for (int j = 0; out && j < b->k; j++) out[(size_t)i * b->k + j] = j < n ? h[j].row : -1;
    }
    free(h);
    return SBIR_OK;
}

static int time_faiss(const bench *b, const sbir_faiss *f, int d, double *ms, double *recall) {
    float *sc = mallocCheck((size_t)b->k * 4);
    int64_t *rows = mallocCheck((size_t)b->k * 8);
    double rsum = 0;
    for (int w = 0; w < 3; w++)
        if (sbir_faiss_search(f, 1, b->q + (size_t)w * d, b->k, sc, rows) < 0) return free(sc), free(rows), SBIR_ERR;
    for (int i = 0; i < b->n_q; i++) {
        double t = sbir_now();
        int n = sbir_faiss_search(f, 1, b->q + (size_t)i * d, b->k, sc, rows);
        ms[i] = (sbir_now() - t) * 1e3;
        if (n < 0) return free(sc), free(rows), SBIR_ERR;
        rsum += recall_at(b->truth + (size_t)i * b->k, rows, b->k);
    }
    *recall = rsum / b->n_q;
    free(sc);
    free(rows);
    return SBIR_OK;
}

/* Ours (exact, two-pass) and FAISS flat, alternating query by query and which goes first. */
static int time_exact_vs_flat(const bench *b, const sbir_matrix *m, const sbir_faiss *flat, double *ours_ms,
                              double *flat_ms, double *agree) {
    int d = m->dim, k = b->k;
    int64_t rescored = 0, rescored_sum = 0;
    sbir_search_opts o = {.threads = b->threads, .rescored = &rescored};
    sbir_hit *h = mallocCheck((size_t)k * sizeof *h);
    float *sc = mallocCheck((size_t)k * 4);
    int64_t *rows = mallocCheck((size_t)k * 8);
    int rc = SBIR_ERR;
    double asum = 0;
    for (int w = 0; w < 3; w++) {
        if (search_topk(m, b->q + (size_t)w * d, k, &o, h) < 0) goto out;
        if (sbir_faiss_search(flat, 1, b->q + (size_t)w * d, k, sc, rows) < 0) goto out;
    }
    for (int i = 0; i < b->n_q; i++) {
        const float *q = b->q + (size_t)i * d;
        for (int turn = 0; turn < 2; turn++) {
            if ((turn == 0) == (i % 2 == 0)) {
                double t = sbir_now();
                int n = search_topk(m, q, k, &o, h);
                ours_ms[i] = (sbir_now() - t) * 1e3;
                if (n < 0) goto out;
                rescored_sum += rescored;
                for (int j = 0; j < k; j++) b->truth[(size_t)i * k + j] = j < n ? h[j].row : -1;
            } else {
                double t = sbir_now();
                if (sbir_faiss_search(flat, 1, q, k, sc, rows) < 0) goto out;
                flat_ms[i] = (sbir_now() - t) * 1e3;
            }
        }
        asum += recall_at(b->truth + (size_t)i * k, rows, k);
    }
    *agree = asum / b->n_q;
    printf("exact two-pass: pass 2 re-scored %.0f rows per query on average (%.3f%% of the rows)\n",
           (double)rescored_sum / b->n_q, 100.0 * rescored_sum / b->n_q / (double)m->n);
    rc = SBIR_OK;
out:
    free(h);
    free(sc);
    free(rows);
    return rc;
}

static double mean_recall_faiss(const sbir_faiss *f, const float *q, int n_q, int d, int k, const int64_t *truth) {
    float *sc = mallocCheck((size_t)k * 4);
    int64_t *rows = mallocCheck((size_t)k * 8);
    double s = 0;
    for (int i = 0; i < n_q; i++) {
        if (sbir_faiss_search(f, 1, q + (size_t)i * d, k, sc, rows) < 0) s -= 1e9;
        s += recall_at(truth + (size_t)i * k, rows, k);
    }
    free(sc);
    free(rows);
    return s / n_q;
}

/* Exact results for calibration queries. */
static int64_t *exact_rows(const sbir_matrix *m, const float *q, int n_q, int k, int threads) {
    sbir_search_opts o = {.threads = threads};
    sbir_hit *h = mallocCheck((size_t)k * sizeof *h);
    int64_t *t = mallocCheck((size_t)n_q * k * 8);
    for (int i = 0; i < n_q; i++) {
        int n = search_topk(m, q + (size_t)i * m->dim, k, &o, h);
        for (int j = 0; j < k; j++) t[(size_t)i * k + j] = j < n ? h[j].row : -1;
    }
    free(h);
    return t;
}

typedef struct {
    long n, dim, queries, k, threads, nlist, seed;
    int hnsw;
    const char *file;
} options;

static int parse(int argc, char **argv, options *o) {
    static const struct option longs[] = {{"n", 1, 0, 'n'},       {"dim", 1, 0, 'd'},     {"queries", 1, 0, 'q'},
                                          {"k", 1, 0, 'k'},       {"threads", 1, 0, 't'}, {"nlist", 1, 0, 'l'},
                                          {"seed", 1, 0, 's'},    {"hnsw", 0, 0, 'H'},    {"help", 0, 0, 'h'},
                                          {"file", 1, 0, 'f'},    {0, 0, 0, 0}};
    *o = (options){1000000, 128, 50, 20, 2, 1024, 1, 0, NULL};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'n': bad = cli_parse_int("bench search", "--n", optarg, 1000, 100000000, &o->n); break;
        case 'd': bad = cli_parse_int("bench search", "--dim", optarg, 8, 4096, &o->dim); break;
        case 'q': bad = cli_parse_int("bench search", "--queries", optarg, 5, 100000, &o->queries); break;
        case 'k': bad = cli_parse_int("bench search", "--k", optarg, 1, 1000, &o->k); break;
        case 't': bad = cli_parse_int("bench search", "--threads", optarg, 1, 256, &o->threads); break;
        case 'l': bad = cli_parse_int("bench search", "--nlist", optarg, 1, 1 << 20, &o->nlist); break;
        case 's': bad = cli_parse_int("bench search", "--seed", optarg, 0, 1L << 40, &o->seed); break;
        case 'H': o->hnsw = 1; break;
        case 'f': o->file = optarg; break;
        case 'h': fputs(k_usage, stdout); return 1;
        default: cli_usage_error("bench search", "unknown option"); return 2;
        }
        if (bad) return 2;
    }
    if (optind < argc) return cli_usage_error("bench search", "unexpected argument '%s'", argv[optind]);
    if (o->nlist > o->n / 8) return cli_usage_error("bench search", "--nlist %ld is too large for --n %ld", o->nlist, o->n);
    return 0;
}

int cmd_bench_search(int argc, char **argv) {
    options opt;
    int prc = parse(argc, argv, &opt);
    if (prc) return prc == 1 ? 0 : prc;
    int64_t n = opt.n;
    int d = (int)opt.dim, k = (int)opt.k, nq = (int)opt.queries, nt = (int)opt.threads;
    omp_set_num_threads(nt);
    sbir_faiss_set_threads(nt);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("data: %lld x %d unit vectors, %d clusters (class x style) with rank-%d spread + noise; %d queries, "
           "k=%d, %d threads\n", (long long)n, d, N_CLUSTERS, RANK, nq, k, nt);

    double t0 = sbir_now();
    bench_genmodel g = bench_gen_model(d, (uint64_t)opt.seed);
    float *x = alignedAllocCheck((size_t)n * d * 4);
    float *q = mallocCheck((size_t)nq * 2 * d * 4); /* measurement queries, then calibration queries */
    int32_t *cluster = mallocCheck((size_t)n * sizeof(int32_t));
    bench_gen_rows(&g, n, 0.25f, (uint64_t)opt.seed + 1, x, cluster);
    bench_gen_rows(&g, 2 * nq, 0.4f, (uint64_t)opt.seed + 2, q, NULL);
    fprintf(stderr, "generated in %.1f s\n", sbir_now() - t0);

    /* our matrices: f32 with its int8 prefilter, fp16, int8 */
    t0 = sbir_now();
    sbir_matrix m = {SBIR_ELEM_F32, n, d, (size_t)d * 4, x, NULL, NULL};
    int8_t *codes = alignedAllocCheck((size_t)n * d);
    float *pscale = mallocCheck((size_t)n * 4), *perr = mallocCheck((size_t)n * 4);
    sbir_prefilter pre = {{SBIR_ELEM_I8, n, d, (size_t)d, codes, pscale, NULL}, perr, 0};
    sbir_prefilter_compute(&m, codes, pscale, perr, &pre.max_norm);
    sbir_matrix mx = m;
    mx.pre = &pre;
    uint16_t *h16 = alignedAllocCheck((size_t)n * d * 2);
    sbir_quantize_rows(SBIR_ELEM_F16, x, n, d, h16, NULL);
    sbir_matrix m16 = {SBIR_ELEM_F16, n, d, (size_t)d * 2, h16, NULL, NULL};
    sbir_matrix m8 = pre.codes; /* the prefilter's codes are exactly an int8 matrix */
    fprintf(stderr, "quantised in %.1f s\n", sbir_now() - t0);

    sbir_index *ix = NULL;
    sbir_rowlists *styles = NULL;
    if (opt.file) { /* the product's path: write the index file, map it, search the mapping */
        t0 = sbir_now();
        sbir_index_item *items = mallocCheck((size_t)n * sizeof *items);
        for (int64_t i = 0; i < n; i++) items[i] = (sbir_index_item){i, cluster[i] / N_STYLES, cluster[i] % N_STYLES};
        static const char *cls[N_CLASSES] = {"c0", "c1", "c2", "c3", "c4"};
        static const char *sty[N_STYLES] = {"s0", "s1", "s2", "s3", "s4", "s5", "s6"};
        sbir_index_meta meta = {SBIR_ELEM_F32, 1, "bench", N_CLASSES, cls, N_STYLES, sty};
        sbir_index_rows ir = {n, d, 0, x, NULL, items, NULL};
        int wrc = index_write(opt.file, &meta, &ir);
        free(items);
        if (wrc != SBIR_OK) return cli_fail_last();
        double tw = sbir_now() - t0;
        t0 = sbir_now();
        ix = index_open(opt.file, 0);
        if (!ix) return cli_fail_last();
        fprintf(stderr, "index file written in %.1f s, opened and CRC-verified in %.2f s\n", tw, sbir_now() - t0);
        mx = index_content(ix);
    }
    int rc = 1;
    double *a = mallocCheck((size_t)nq * sizeof(double)), *b = mallocCheck((size_t)nq * sizeof(double));
    int64_t *truth = mallocCheck((size_t)nq * k * 8), *rows = mallocCheck((size_t)nq * k * 8);
    bench bn = {nq, k, nt, q, truth};
    sbir_faiss *flat = NULL, *ivf = NULL, *hnsw = NULL;
    int64_t *cal_truth = NULL;

    /* 1. exact: ours vs FAISS flat */
    flat = sbir_faiss_flat_ip(d);
    if (!flat || sbir_faiss_add(flat, n, x) != SBIR_OK) goto fail;
    double agree;
    if (time_exact_vs_flat(&bn, &mx, flat, a, b, &agree) != SBIR_OK) goto fail;
    double exact_ms = median(a, nq), flat_ms = median(b, nq);
    sbir_faiss_free(flat);
    flat = NULL;
    printf("exact (ours: int8 prefilter + f32 re-scoring): median %8.2f ms\n", exact_ms);
    printf("FAISS IndexFlatIP:                            median %8.2f ms   (recall@%d of FAISS vs ours %.4f)\n",
           flat_ms, k, agree);

    /* 2. full scans: f32 must equal the two-pass answer; fp16 and int8 trade recall for bytes */
    if (time_ours(&bn, &m, 1, a, rows) != SBIR_OK) goto fail;
    int same = 0;
    for (int i = 0; i < nq * k; i++) same += rows[i] == truth[i];
    printf("full f32 scan:                                median %8.2f ms   (identical ranks: %d of %d)\n",
           median(a, nq), same, nq * k);
    if (same != nq * k) {
        sbir_error("two-pass exact search differs from the full scan on %d of %d ranks", nq * k - same, nq * k);
        goto fail;
    }
    const sbir_matrix *scans[2] = {&m16, &m8};
    for (int s = 0; s < 2; s++) {
        if (time_ours(&bn, scans[s], 1, a, rows) != SBIR_OK) goto fail;
        double rs = 0;
        for (int i = 0; i < nq; i++) rs += recall_at(truth + (size_t)i * k, rows + (size_t)i * k, k);
        printf("%s scan:                                    median %8.2f ms   recall@%d %.4f\n",
               s == 0 ? "fp16" : "int8", median(a, nq), k, rs / nq);
    }

    /* 2b. exact search restricted to one style (a seventh of the rows), as `query --style NAME` does */
    {
        int32_t *sty = mallocCheck((size_t)n * sizeof(int32_t));
        for (int64_t i = 0; i < n; i++) sty[i] = cluster[i] % N_STYLES;
        styles = rowlists_build(sty, sizeof(int32_t), n, N_STYLES);
        free(sty);
        if (!styles) goto fail;
        int64_t cnt;
        const uint32_t *rl = rowlists_get(styles, 0, &cnt);
        sbir_search_opts so = {.threads = nt, .rows = rl, .n_rows = cnt};
        sbir_hit *h = mallocCheck((size_t)k * sizeof *h);
        for (int i = 0; i < nq + 3; i++) {
            double t = sbir_now();
            int got = search_topk(&mx, q + (size_t)(i % nq) * d, k, &so, h);
            if (i >= 3) a[i - 3] = (sbir_now() - t) * 1e3;
            if (got < 0) {
                free(h);
                goto fail;
            }
        }
        free(h);
        printf("exact, one style only (%7lld rows):      median %8.2f ms\n", (long long)cnt, median(a, nq));
    }

    /* 3. FAISS IVF: train on a sample, calibrate nprobe on separate queries, then measure */
    t0 = sbir_now();
    int nlist = (int)opt.nlist;
    int64_t ntrain = SBIR_MIN(n, (int64_t)64 * nlist);
    ivf = sbir_faiss_ivf_flat(d, nlist, 1);
    if (!ivf || sbir_faiss_train(ivf, ntrain, x) != SBIR_OK || sbir_faiss_add(ivf, n, x) != SBIR_OK) goto fail;
    fprintf(stderr, "IVF%d trained on %lld and filled in %.1f s\n", nlist, (long long)ntrain, sbir_now() - t0);
    cal_truth = exact_rows(&mx, q + (size_t)nq * d, nq, k, nt);
    /* nprobe: steps of about x1.4 (1 2 3 4 6 8 11 16 23 32 ...) up to the first reaching 0.95, then
     * a bisection between it and the step before for the smallest that does */
    int nprobe = 1, lo = 0;
    double cal = 0;
    for (int step = 0;; step++) {
        nprobe = step < 4 ? step + 1 : (int)lround(4 * pow(sqrt(2.0), step - 3));
        if (nprobe >= nlist) nprobe = nlist;
        sbir_faiss_set_nprobe(ivf, nprobe);
        cal = mean_recall_faiss(ivf, q + (size_t)nq * d, nq, d, k, cal_truth);
        fprintf(stderr, "  nprobe=%d calibration recall@%d %.4f\n", nprobe, k, cal);
        if (cal >= 0.95 || nprobe == nlist) break;
        lo = nprobe;
    }
    while (cal >= 0.95 && nprobe - lo > 1) { /* invariant: lo fails, nprobe passes */
        int mid = (lo + nprobe) / 2;
        sbir_faiss_set_nprobe(ivf, mid);
        double r = mean_recall_faiss(ivf, q + (size_t)nq * d, nq, d, k, cal_truth);
        fprintf(stderr, "  nprobe=%d calibration recall@%d %.4f\n", mid, k, r);
        if (r >= 0.95) nprobe = mid;
        else lo = mid;
    }
    sbir_faiss_set_nprobe(ivf, nprobe);
    /* FAISS's default parallel_mode splits queries over threads, so one query runs on one thread;
     * mode 1 (split the probed lists) was tried and is far slower for one query (thread start-up and
     * heap merging cost more than scanning ~10k rows). */
    double ivf_ms, ivf_recall;
    if (time_faiss(&bn, ivf, d, a, &ivf_recall) != SBIR_OK) goto fail;
    ivf_ms = median(a, nq);
    printf("FAISS %-32s median %8.3f ms   recall@%d %.4f\n", sbir_faiss_describe(ivf), ivf_ms, k, ivf_recall);
    sbir_faiss_free(ivf);
    ivf = NULL;

    /* 4. optional HNSW */
    if (opt.hnsw) {
        t0 = sbir_now();
        hnsw = sbir_faiss_hnsw_flat(d, 32, 16);
        if (!hnsw || sbir_faiss_add(hnsw, n, x) != SBIR_OK) goto fail;
        fprintf(stderr, "HNSW32 built in %.1f s\n", sbir_now() - t0);
        int ef = 16;
        for (; ef <= 4096; ef *= 2) {
            sbir_faiss_set_ef_search(hnsw, ef);
            cal = mean_recall_faiss(hnsw, q + (size_t)nq * d, nq, d, k, cal_truth);
            if (cal >= 0.95) break;
        }
        double r;
        if (time_faiss(&bn, hnsw, d, a, &r) != SBIR_OK) goto fail;
        printf("FAISS %-32s median %8.3f ms   recall@%d %.4f\n", sbir_faiss_describe(hnsw), median(a, nq), k, r);
    }

    printf("search exact_ms=%.3f faiss_flat_ms=%.3f speedup=%.2f ivf_ms=%.3f ivf_recall20=%.4f\n", exact_ms, flat_ms,
           flat_ms / exact_ms, ivf_ms, ivf_recall);
    rc = 0;
    goto out;
fail:
    rc = cli_fail_last();
out:
    sbir_faiss_free(flat);
    sbir_faiss_free(ivf);
    sbir_faiss_free(hnsw);
    free(cal_truth);
    rowlists_free(styles);
    index_close(ix);
    free(cluster);
    free(a), free(b), free(truth), free(rows);
    free(x), free(q), free(codes), free(pscale), free(perr), free(h16);
    free(g.centre), free(g.basis);
    return rc;
}
