/* cmd_bench_query.c — `sbir bench query` and `sbir bench index` (SPEC section 5):
 *
 *   bench query: one query end to end — Quick, Draw! strokes -> raster -> content embedding -> fused
 *     top 20 over N (default 100 000) images, with a style by name. The index is synthetic: N content
 *     and N style embeddings of the model's dimensions, drawn at random on the unit sphere (styles as
 *     noisy copies of 7 prototypes, so the style term is not uniform), written as a real index file
 *     (float32 with its int8 prefilter, as `sbir index` writes it) and mapped, so the search reads
 *     exactly what it reads in use. Why synthetic: search time depends on N and the dimensions, not on
 *     what the vectors mean, and embedding 100k real images would take minutes per run. The model is
 *     --model or, without one, an untrained model of the default architecture (latency does not
 *     depend on the weights). Warm-up queries first, then --reps timed queries; medians and p90.
 *   bench index: indexing throughput (decode, resize, embed, write) of sbir_index_build on the built-in
 *     collection's 128x128 PNGs (generated into a temporary folder) or --pacs DIR (PACS JPEGs, e.g.
 *     ../shared/data/pacs); one warm-up build, then the median of --reps builds; plus decode alone and
 *     embed alone, to show which one bounds the pipeline. */
#include <ftw.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "api/query_input.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "data/collection.h"
#include "data/image.h"
#include "data/import_folders.h"
#include "data/synth.h"
#include "model/dataset.h"
#include "model/train.h"
#include "util/rng.h"

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int i = (int)ceil(p * n) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static char *make_tmpdir(void) {
    char *d = strdupCheck("/tmp/sbir-bench.XXXXXX");
    if (!mkdtemp(d)) {
        free(d);
        return NULL;
    }
    return d;
}

/* The untrained default model (default input size, the synthetic collection's labels), saved to dir/model. */
static int default_model(const char *dir, char *path, size_t n, int gallery_mirror) {
    snprintf(path, n, "%s/model.safetensors", dir);
    sbir_model *m = model_create(MODEL_SIZE, SYNTH_N_CLASSES, (char **)synth_classes, SYNTH_N_STYLES, (char **)synth_styles,
                                 MODEL_STRUCTURE_SPEC, MODEL_STYLE_SPEC, API_MAX_BATCH, NET_BACKEND_DNNL);
    if (!m) return SBIR_ERR;
    net_init(m->structure, 1);
    net_init(m->style, 2);
    m->gallery_mirror = gallery_mirror;
    sbir_rng r;
    rng_seed(&r, 3);
    for (int i = 0; i < m->NS * m->Ds; i++) m->protos[i] = rng_range(&r, -0.2f, 0.2f);
    int rc = model_save(m, path, NULL, 0, NULL, 0);
    model_free(m);
    return rc;
}

static void random_unit(sbir_rng *r, float *x, int d, const float *around, float noise) {
    float n2 = 0;
    for (int i = 0; i < d; i++) {
        x[i] = (around ? around[i] : 0) + noise * rng_normal(r);
        n2 += x[i] * x[i];
    }
    float inv = 1.0f / sqrtf(n2 > 0 ? n2 : 1);
    for (int i = 0; i < d; i++) x[i] *= inv;
}

static int synthetic_index(const sbir_model *m, int64_t N, const char *path) {
    sbir_rng r;
    rng_seed(&r, 11);
    float *c = mallocCheck(sizeof(float) * (size_t)N * m->Dc), *s = mallocCheck(sizeof(float) * (size_t)N * m->Ds);
    float *centre = mallocCheck(sizeof(float) * (size_t)m->NS * m->Ds);
    sbir_index_item *it = mallocCheck(sizeof *it * (size_t)N);
    for (int k = 0; k < m->NS; k++) random_unit(&r, centre + (size_t)k * m->Ds, m->Ds, NULL, 1);
    for (int64_t i = 0; i < N; i++) {
        int sty = (int)(i % m->NS);
        random_unit(&r, c + (size_t)i * m->Dc, m->Dc, NULL, 1);
        random_unit(&r, s + (size_t)i * m->Ds, m->Ds, centre + (size_t)sty * m->Ds, 0.15f);
        it[i] = (sbir_index_item){i, (int32_t)(i / m->NS % m->C), sty};
    }
    sbir_index_meta meta = {SBIR_ELEM_F32, 1, m->fingerprint, m->C, (const char *const *)m->classes, m->NS,
                            (const char *const *)m->styles};
    sbir_index_rows rows = {N, m->Dc, m->Ds, c, s, it, NULL};
    int rc = index_write(path, &meta, &rows);
    free(c), free(s), free(centre), free(it);
    return rc;
}

static int bench_query(int argc, char **argv) {
    const char *model_arg = NULL;
    long n = 100000, reps = 200, k = 20;
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"n", required_argument, 0, 'n'},
                                         {"reps", required_argument, 0, 'r'},  {"k", required_argument, 0, 'k'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:n:r:k:", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_arg = optarg; break;
        case 'n': if (cli_parse_int("bench query", "--n", optarg, 1, 100000000, &n)) return 2; break;
        case 'r': if (cli_parse_int("bench query", "--reps", optarg, 1, 1000000, &reps)) return 2; break;
        case 'k': if (cli_parse_int("bench query", "-k", optarg, 1, 10000, &k)) return 2; break;
        default: return cli_usage_error("bench query", "unknown option");
        }
    }
    char *dir = make_tmpdir(), model_path[4200], index_path[4200];
    if (!dir) return cli_fail("cannot create a temporary folder in /tmp");
    int rc = 1;
    sbir_model_ctx *mc = NULL;
    sbir_index_ctx *ix = NULL;
    sbir_sketch sk;
    sketch_init(&sk);
    double *t_all = mallocCheck(sizeof(double) * 5 * reps), *t_r = t_all + reps, *t_e = t_r + reps, *t_s = t_e + reps,
           *t_p = t_s + reps;
    snprintf(index_path, sizeof index_path, "%s/bench.sbix", dir);
    if (model_arg) snprintf(model_path, sizeof model_path, "%s", model_arg);
    else if (default_model(dir, model_path, sizeof model_path, 0) != SBIR_OK) goto done;
    if (sbir_model_open(model_path, &mc) != SBIR_E_OK) goto done;
    sbir_model *m = mc->m;
    double t0 = sbir_now();
    if (synthetic_index(m, n, index_path) != SBIR_OK || sbir_index_open(index_path, &ix) != SBIR_E_OK) goto done;
    fprintf(stderr, "bench query: %ld synthetic images (Dc %d, Ds %d) written and mapped in %.1f s\n", n, m->Dc, m->Ds,
            sbir_now() - t0);
    int S = m->S;
    uint8_t *grey = mallocCheck((size_t)S * S);
    float q[SBIR_MAX_DIM];
    sbir_result *res = mallocCheck(sizeof(sbir_result) * k);
    int got = 0, warm = 10;
    float fusion[3];
    memcpy(fusion, m->fusion, sizeof fusion);
    for (long i = -warm; i < reps; i++) {
        int cls = (int)((i + warm) % SYNTH_N_CLASSES);
        if (synth_sketch_load(cls, 1, (uint32_t)(i + warm), &sk) != SBIR_OK) goto done_q;
        /* one query end to end, timed in parts */
        double a = sbir_now();
        if (qin_render_strokes(&sk, S, grey) != SBIR_OK) goto done_q;
        double b = sbir_now();
        if (api_embed_grey(mc, grey, q) != SBIR_E_OK) goto done_q;
        double c2 = sbir_now();
        sbir_query qq = {q, m->styles[(i + warm) % m->NS], NULL, 0, NULL, (int)k};
        if (sbir_search(ix, mc, &qq, res, &got) != SBIR_E_OK) goto done_q;
        double d = sbir_now();
        /* the same search under a fusion with a product term (the other code path) */
        m->fusion[2] = fusion[2] == 0 ? 0.5f : 0;
        double e0 = sbir_now();
        if (sbir_search(ix, mc, &qq, res, &got) != SBIR_E_OK) goto done_q;
        double e1 = sbir_now();
        memcpy(m->fusion, fusion, sizeof fusion);
        if (i >= 0) t_all[i] = 1e3 * (d - a), t_r[i] = 1e3 * (b - a), t_e[i] = 1e3 * (c2 - b), t_s[i] = 1e3 * (d - c2),
            t_p[i] = 1e3 * (e1 - e0);
    }
    double med = pct(t_all, (int)reps, 0.5), p90 = pct(t_all, (int)reps, 0.9);
    printf("bench query: %ld images, top %ld, %ld queries after %d warm-up, %d OpenMP threads\n", n, k, reps, warm,
           omp_get_max_threads());
    printf("  %-34s %8s %8s\n", "part", "median", "p90");
    printf("  %-34s %6.3f ms %6.3f ms\n", "raster (strokes -> S x S)", pct(t_r, (int)reps, 0.5), pct(t_r, (int)reps, 0.9));
    printf("  %-34s %6.3f ms %6.3f ms\n", "embed (structure net, batch 1)", pct(t_e, (int)reps, 0.5), pct(t_e, (int)reps, 0.9));
    printf("  %-34s %6.3f ms %6.3f ms\n", fusion[2] == 0 ? "search (linear fusion, prefilter)" : "search (product fusion, scan)",
           pct(t_s, (int)reps, 0.5), pct(t_s, (int)reps, 0.9));
    printf("  %-34s %6.3f ms %6.3f ms\n", "end to end", med, p90);
    printf("  %-34s %6.3f ms %6.3f ms   (not in end to end)\n",
           fusion[2] == 0 ? "search with a product fusion" : "search with a linear fusion", pct(t_p, (int)reps, 0.5),
           pct(t_p, (int)reps, 0.9));
    printf("query_ms_median=%.3f target=10 %s\n", med, med < 10 ? "PASS" : "FAIL");
    rc = 0;
done_q:
    free(grey);
    free(res);
done:
    if (rc) cli_fail_last();
    sketch_free(&sk);
    free(t_all);
    sbir_index_close(ix);
    sbir_model_close(mc);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
    return rc;
}

/* ---- bench index ---- */

static int make_synth_collection(const char *dir, int per_cell, char *coll, size_t n) {
    char data[4300], images[4400];
    snprintf(data, sizeof data, "%s/synth", dir);
    synth_opts so;
    synth_opts_default(&so);
    so.per_cell = per_cell, so.sketches_per_class = 1, so.size = 128, so.progress = 0;
    if (synth_generate(data, &so) != SBIR_OK) return SBIR_ERR;
    snprintf(images, sizeof images, "%s/images", data);
    snprintf(coll, n, "%s/synth.sqlite", dir);
    import_folders_opts fo = {images, coll, NULL, 0};
    import_folders_report rep;
    return import_folders(&fo, &rep);
}

static int bench_index(int argc, char **argv) {
    const char *model_arg = NULL, *pacs = NULL;
    long per_cell = 60, reps = 3, jobs = 0;
    int mirror = 0;
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"pacs", required_argument, 0, 'p'},
                                         {"per-cell", required_argument, 0, 'c'}, {"reps", required_argument, 0, 'r'},
                                         {"jobs", required_argument, 0, 'j'}, {"gallery-mirror", no_argument, 0, 'g'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:p:c:r:j:g", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_arg = optarg; break;
        case 'p': pacs = optarg; break;
        case 'c': if (cli_parse_int("bench index", "--per-cell", optarg, 1, 100000, &per_cell)) return 2; break;
        case 'r': if (cli_parse_int("bench index", "--reps", optarg, 1, 100, &reps)) return 2; break;
        case 'j': if (cli_parse_int("bench index", "--jobs", optarg, 1, 64, &jobs)) return 2; break;
        case 'g': mirror = 1; break;
        default: return cli_usage_error("bench index", "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("bench index", "unexpected argument '%s'", argv[optind]);
    if (model_arg && mirror)
        return cli_usage_error("bench index", "--gallery-mirror is for the untrained model: a trained model has its own");
    char *dir = make_tmpdir(), model_path[4200], coll[4300], out[4300];
    if (!dir) return cli_fail("cannot create a temporary folder in /tmp");
    int rc = 1;
    sbir_model_ctx *mc = NULL;
    snprintf(out, sizeof out, "%s/bench.sbix", dir);
    double *t = mallocCheck(sizeof(double) * reps);
    if (model_arg) snprintf(model_path, sizeof model_path, "%s", model_arg);
    else if (default_model(dir, model_path, sizeof model_path, mirror) != SBIR_OK) goto done;
    if (pacs) {
        snprintf(coll, sizeof coll, "%s/pacs.sqlite", dir);
        import_folders_opts fo = {pacs, coll, "sketch", 0};
        import_folders_report rep;
        if (import_folders(&fo, &rep) != SBIR_OK) goto done;
    } else if (make_synth_collection(dir, (int)per_cell, coll, sizeof coll) != SBIR_OK) {
        goto done;
    }
    if (sbir_model_open(model_path, &mc) != SBIR_E_OK) goto done;
    sbir_build_opts o = {.jobs = (int)jobs};
    int64_t n = 0;
    if (sbir_index_build(mc, coll, out, &o, &n) != SBIR_E_OK) goto done; /* warm-up: oneDNN primitives, page cache */
    for (long r = 0; r < reps; r++) {
        double a = sbir_now();
        if (sbir_index_build(mc, coll, out, &o, &n) != SBIR_E_OK) goto done;
        t[r] = sbir_now() - a;
    }
    double med = pct(t, (int)reps, 0.5);
    /* the two halves alone: decode+fit on the same threads, embed of batches of API_MAX_BATCH */
    sbir_collection *cl = collection_open(coll);
    coll_image *im = NULL;
    size_t ni = 0;
    if (!cl || collection_list_images(cl, NULL, &im, &ni) != SBIR_OK) goto done;
    int S = mc->m->S, nth = jobs > 0 ? (int)jobs : omp_get_num_procs();
    double a = sbir_now();
#pragma omp parallel for num_threads(nth) schedule(dynamic, 16)
    for (size_t i = 0; i < ni; i++) {
        char *p = collection_abs_path(cl, im[i].path);
        sbir_image sq;
        if (image_load_square(p, S, IMAGE_FIT_PAD, &sq) == SBIR_OK) image_free(&sq);
        free(p);
    }
    double dec = (double)ni / (sbir_now() - a);
    coll_images_free(im, ni);
    collection_close(cl);
    int B = API_MAX_BATCH, batches = SBIR_MAX(1, (int)(n / B));
    float *x = callocCheck((size_t)B * 3 * S * S, sizeof(float));
    float *ce = mallocCheck(sizeof(float) * B * mc->m->Dc), *se = mallocCheck(sizeof(float) * B * mc->m->Ds);
    a = sbir_now();
    for (int b = 0; b < batches; b++) api_embed_inputs(mc, x, B, ce, se);
    double emb = (double)batches * B / (sbir_now() - a);
    free(x), free(ce), free(se);
    printf("bench index: %lld images (%s), S %d, %d decoding threads, %d OpenMP threads, median of %ld builds\n",
           (long long)n, pacs ? "PACS JPEGs" : "built-in 128x128 PNGs", S, nth, omp_get_max_threads(), reps);
    printf("  decode + fit alone   %8.0f images/s\n", dec);
    printf("  embed alone (B=%d)   %8.0f images/s (both networks; %s)\n", B, emb,
           mc->m->gallery_mirror ? "gallery_mirror: each image and its mirror image" : "one view of each image");
    printf("  index (pipeline)     %8.0f images/s  (%.2f s)\n", (double)n / med, med);
    printf("index_images_per_s=%.0f target=500 %s\n", (double)n / med, (double)n / med >= 500 ? "PASS" : "FAIL");
    rc = 0;
done:
    if (rc) cli_fail_last();
    free(t);
    sbir_model_close(mc);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
    return rc;
}

int cmd_bench_query(int argc, char **argv) {
    if (argc < 1 || cli_wants_help(argc, argv)) {
        printf("usage: sbir bench query [--model MODEL] [--n 100000] [--reps 200] [-k 20]\n"
               "       sbir bench index [--model MODEL | --gallery-mirror] [--pacs DIR | --per-cell 60] [--reps 3]\n"
               "                        [--jobs N]\n\n"
               "query: one query end to end (strokes -> raster -> embedding -> fused top k) over a synthetic\n"
               "index of N images; index: indexing throughput of the built-in collection or PACS.\n"
               "Without --model, an untrained model of the default architecture (timings do not depend on\n"
               "the weights); for index, it embeds one view of each image, or with --gallery-mirror each\n"
               "image and its mirror image, as models trained on collections of up to %d images do.\n",
               TRAIN_GALLERY_MIRROR_MAX_IMAGES);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "query") == 0) return bench_query(argc, argv);
    if (strcmp(argv[0], "index") == 0) return bench_index(argc, argv);
    return cli_usage_error("bench", "cmd_bench_query handles 'query' and 'index', not '%s'", argv[0]);
}
