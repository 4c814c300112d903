/* cmd_query.c — `sbir query`: one (sketch, style) search over an index, as a table, JSON or a contact
 * sheet. The work is the library's (sbir.h); this file parses options and prints. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "api/ann.h"
#include "api/api_internal.h"
#include "api/index_sidecar.h"
#include "api/query_input.h"
#include "api/result_sheet.h"
#include "api/sharded.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "data/image.h"
#include "dist/comm.h"
#include "index/shards.h"

#define MAX_EXAMPLES 64

static void usage(FILE *out) {
    fprintf(out,
            "usage: sbir query --index INDEX --sketch FILE [--model MODEL] [--style NAME | --style-image FILE...]\n"
            "                  [-k 20] [--class-filter NAME] [--json] [--sheet OUT.png] [--exact | --ann ivf|hnsw]\n\n"
            "Ranks the indexed images by the sketch's content and the requested style.\n"
            "  --sketch FILE        a Quick, Draw! file (its first drawing, or FILE#N for drawing N), a PNG/JPEG\n"
            "                       drawing, '-' for one ndjson line on stdin, or a literal ndjson line / drawing\n"
            "  --model MODEL        default: the model recorded in INDEX.json when the index was built; it must\n"
            "                       be the model that built the index (fingerprints are compared)\n"
            "  --style NAME         one of the model's styles (its prototype); --style-image FILE (repeatable,\n"
            "                       or several files after it): the mean style of example images. Neither:\n"
            "                       content only.\n"
            "  --class-filter NAME  only images of that class\n"
            "  --json               a JSON object (query, timings, results with scores) instead of a table\n"
            "  --sheet OUT.png      also a contact sheet of the sketch and the results with their labels\n"
            "  --exact              score every image (the default)\n"
            "  --ann ivf|hnsw       approximate: FAISS candidates by content (cached as INDEX.<kind>.faiss),\n"
            "                       re-ranked exactly with the style\n"
            "Scores: -(f0 dc + f1 ds + f2 dc ds) with the model's fusion (higher is better; -dc without a style).\n"
            "A sharded INDEX (sbir index --shards N) is searched shard after shard and the results merged,\n"
            "identical to one file; `mpirun -np P sbir query ...` (P <= N) searches the shards in P processes\n"
            "(shard s in process s %% P), rank 0 embeds the query and prints. --ann needs a single file.\n");
}

typedef struct {
    const char *index, *model, *sketch, *style, *class_filter, *sheet, *ann;
    const char *examples[MAX_EXAMPLES];
    int n_examples, k, json;
} query_args;

static int parse(int argc, char **argv, query_args *a) {
    static const struct option opts[] = {
        {"index", required_argument, 0, 'i'}, {"model", required_argument, 0, 'm'},
        {"sketch", required_argument, 0, 's'}, {"style", required_argument, 0, 'y'},
        {"style-image", required_argument, 0, 'e'}, {"class-filter", required_argument, 0, 'c'},
        {"json", no_argument, 0, 'J'}, {"sheet", required_argument, 0, 'S'},
        {"exact", no_argument, 0, 'x'}, {"ann", required_argument, 0, 'a'}, {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    a->k = 20;
    int c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:m:s:k:", opts, NULL)) != -1) {
        switch (c) {
        case 'i': a->index = optarg; break;
        case 'm': a->model = optarg; break;
        case 's': a->sketch = optarg; break;
        case 'y': a->style = optarg; break;
        case 'e':
            if (a->n_examples == MAX_EXAMPLES) return cli_usage_error("query", "at most %d style images", MAX_EXAMPLES);
            a->examples[a->n_examples++] = optarg;
            break;
        case 'c': a->class_filter = optarg; break;
        case 'J': a->json = 1; break;
        case 'S': a->sheet = optarg; break;
        case 'x': a->ann = NULL; break;
        case 'a':
            if (strcmp(optarg, "ivf") && strcmp(optarg, "hnsw"))
                return cli_usage_error("query", "--ann is ivf or hnsw, not '%s'", optarg);
            a->ann = optarg;
            break;
        case 'k':
            if (cli_parse_int("query", "-k", optarg, 1, 100000, &v)) return 2;
            a->k = (int)v;
            break;
        default: return cli_usage_error("query", "unknown option");
        }
    }
    for (; optind < argc; optind++) { /* "--style-image a.jpg b.jpg": the files after the first */
        if (!a->n_examples) return cli_usage_error("query", "unexpected argument '%s'", argv[optind]);
        if (a->n_examples == MAX_EXAMPLES) return cli_usage_error("query", "at most %d style images", MAX_EXAMPLES);
        a->examples[a->n_examples++] = argv[optind];
    }
    if (!a->index || !a->sketch) return cli_usage_error("query", "--index and --sketch are required");
    if (a->style && a->n_examples) return cli_usage_error("query", "give --style or --style-image, not both");
    return 0;
}

static void print_table(const sbir_result *r, int n) {
    printf("%4s  %10s  %-14s %-14s %s\n", "rank", "score", "class", "style", "path");
    for (int i = 0; i < n; i++)
        printf("%4d  %10.5f  %-14s %-14s %s\n", i + 1, r[i].score, r[i].class_name, r[i].style, r[i].path);
}

static void print_json(const query_args *a, const char *word, const char *fp, double ms_embed, double ms_search,
                       const sbir_result *r, int n) {
    cJSON *o = cJSON_CreateObject(), *q = cJSON_AddObjectToObject(o, "query");
    cJSON_AddStringToObject(q, "sketch", a->sketch);
    if (word && *word) cJSON_AddStringToObject(q, "sketch_class", word);
    if (a->style) cJSON_AddStringToObject(q, "style", a->style);
    if (a->n_examples) cJSON_AddItemToObject(q, "style_images", cJSON_CreateStringArray(a->examples, a->n_examples));
    if (a->class_filter) cJSON_AddStringToObject(q, "class_filter", a->class_filter);
    cJSON_AddNumberToObject(q, "k", a->k);
    cJSON_AddStringToObject(q, "search", a->ann ? a->ann : "exact");
    cJSON_AddStringToObject(o, "index", a->index);
    cJSON_AddStringToObject(o, "model_fingerprint", fp);
    cJSON *t = cJSON_AddObjectToObject(o, "ms");
    cJSON_AddNumberToObject(t, "embed", ms_embed);
    cJSON_AddNumberToObject(t, "search", ms_search);
    cJSON *res = cJSON_AddArrayToObject(o, "results");
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "rank", i + 1);
        cJSON_AddNumberToObject(e, "score", r[i].score);
        cJSON_AddNumberToObject(e, "content_dist", r[i].content_dist);
        cJSON_AddNumberToObject(e, "style_dist", r[i].style_dist);
        cJSON_AddNumberToObject(e, "id", (double)r[i].id);
        cJSON_AddNumberToObject(e, "row", (double)r[i].row);
        cJSON_AddStringToObject(e, "class", r[i].class_name);
        cJSON_AddStringToObject(e, "style", r[i].style);
        cJSON_AddStringToObject(e, "path", r[i].path);
        cJSON_AddItemToArray(res, e);
    }
    char *s = cJSON_Print(o);
    puts(s);
    cJSON_free(s);
    cJSON_Delete(o);
}

static int write_sheet(const query_args *a, int S, const uint8_t *grey, const char *word, const sbir_result *r, int n) {
    uint8_t **thumbs = callocCheck((size_t)n + a->n_examples + 1, sizeof(uint8_t *));
    uint8_t **ex = thumbs + n;
    for (int i = 0; i < n + a->n_examples; i++) { /* a thumbnail that fails to load is left blank */
        sbir_image im;
        const char *p = i < n ? r[i].path : a->examples[i - n];
        if (*p && image_load_square(p, S, IMAGE_FIT_PAD, &im) == SBIR_OK) thumbs[i] = im.rgb;
    }
    char title[512];
    snprintf(title, sizeof title, "%s%s%s%s", a->sketch, a->style ? " + " : "", a->style ? a->style : "",
             a->n_examples ? " + style examples" : "");
    result_sheet s = {title, S, grey, a->n_examples, (const uint8_t *const *)ex, word && *word ? word : NULL, a->style, n, r,
                      (const uint8_t *const *)thumbs};
    int rc = result_sheet_png(a->sheet, &s);
    for (int i = 0; i < n + a->n_examples; i++) free(thumbs[i]);
    free(thumbs);
    return rc;
}

/* Everything one query needs, on every process. */
typedef struct {
    sbir_index_ctx *ix;   /* a single index file, or */
    sharded_index *sx;    /* a sharded one (this process's shards) */
    sbir_model_ctx *m;
    int rank, nproc;      /* nproc > 1 only for a sharded index under mpirun */
    uint8_t *grey;
    float *sketch, *styles;
    char word[128];
    double ms_embed;
} query_run;

static sbir_status open_all(const query_args *a, const char *model_path, query_run *r) {
    sbir_status st = r->nproc > 1 || shard_manifest_is(a->index) ? sharded_open(a->index, r->rank, r->nproc, &r->sx)
                                                                 : sbir_index_open(a->index, &r->ix);
    if (st == SBIR_E_OK) st = sbir_model_open(model_path, &r->m);
    const char *fp = r->sx ? sharded_fingerprint(r->sx) : r->ix ? sbir_index_fingerprint(r->ix) : "";
    if (st == SBIR_E_OK && strcmp(fp, sbir_model_fingerprint(r->m)) != 0) {
        sbir_error("%s was built with model %s, but %s is model %s: rebuild the index or give the right --model", a->index,
                   fp, model_path, sbir_model_fingerprint(r->m));
        st = SBIR_E_MISMATCH;
    }
    return st;
}

/* The sketch and style examples, embedded by rank 0 (only it may read stdin) and sent to the others. */
static sbir_status embed_query(const query_args *a, query_run *r) {
    int S = sbir_model_input_size(r->m), Dc = sbir_model_content_dim(r->m), Ds = sbir_model_style_dim(r->m);
    r->grey = mallocCheck((size_t)S * S);
    r->sketch = mallocCheck(sizeof(float) * Dc);
    r->styles = mallocCheck(sizeof(float) * Ds * (a->n_examples + 1));
    sbir_status st = SBIR_E_OK;
    double t0 = sbir_now();
    if (r->rank == 0) {
        if (qin_render_spec(a->sketch, S, r->grey, r->word, sizeof r->word) != SBIR_OK) st = SBIR_E_FORMAT;
        if (st == SBIR_E_OK) st = api_embed_grey(r->m, r->grey, r->sketch);
        for (int i = 0; st == SBIR_E_OK && i < a->n_examples; i++)
            st = sbir_embed_image_file(r->m, a->examples[i], NULL, r->styles + (size_t)i * Ds);
    }
    r->ms_embed = 1e3 * (sbir_now() - t0);
    st = sharded_agree(r->nproc, st);
    if (st == SBIR_E_OK && r->nproc > 1 &&
        (comm_bcast(r->sketch, sizeof(float) * Dc, 0) != 0 ||
         comm_bcast(r->styles, sizeof(float) * Ds * (a->n_examples + 1), 0) != 0))
        st = SBIR_E_INTERNAL;
    return st;
}

int cmd_query(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    query_args a;
    int rc = parse(argc, argv, &a);
    if (rc) return rc;
    query_run r = {.rank = comm_rank(), .nproc = 1};
    if (shard_manifest_is(a.index)) {
        r.nproc = comm_size(); /* under mpirun the shards are shared out between the processes */
        if (a.ann && r.rank == 0)
            return cli_usage_error("query", "--ann needs a single-file index; %s is sharded (searched exactly)", a.index);
        if (a.ann) return 2;
    } else if (r.rank != 0) {
        return 0; /* a single index file under mpirun: rank 0 answers alone */
    }
    char *model_path = a.model ? strdupCheck(a.model) : sidecar_model(a.index);
    if (!model_path) {
        if (r.rank != 0) return 1;
        return cli_fail("%s: no model recorded next to the index (no %s.json): give --model", a.index, a.index);
    }
    sbir_result *res = NULL;
    sharded_results sres = {0};
    rc = 1;
    sbir_status st = sharded_agree(r.nproc, open_all(&a, model_path, &r));
    if (st == SBIR_E_OK) st = embed_query(&a, &r);
    if (st != SBIR_E_OK) goto done;
    double t1 = sbir_now();
    sbir_query q = {r.sketch, a.style, a.n_examples ? r.styles : NULL, a.n_examples, a.class_filter, a.k};
    int n = 0;
    if (r.sx) {
        st = sharded_search(r.sx, r.m, &q, &sres);
        res = sres.res, n = sres.n;
    } else {
        sres.res = res = mallocCheck(sizeof(sbir_result) * a.k);
        st = a.ann ? ann_search(r.ix, r.m, &q, a.index, a.ann, res, &n) : sbir_search(r.ix, r.m, &q, res, &n);
    }
    if (st != SBIR_E_OK) goto done;
    double t2 = sbir_now();
    rc = 0;
    if (r.rank != 0) goto done; /* every process holds the merged results; rank 0 prints them */
    if (a.json) print_json(&a, r.word, sbir_model_fingerprint(r.m), r.ms_embed, 1e3 * (t2 - t1), res, n);
    else print_table(res, n);
    if (a.sheet && write_sheet(&a, sbir_model_input_size(r.m), r.grey, r.word, res, n) != SBIR_OK) rc = 1;
done:
    if (rc && r.rank == 0) cli_fail_last();
    sharded_results_free(&sres);
    free(r.styles), free(r.sketch), free(r.grey), free(model_path);
    sbir_model_close(r.m);
    sbir_index_close(r.ix);
    sharded_close(r.sx);
    return rc;
}
