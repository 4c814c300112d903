/* test_index_cmd.c — `sbir index` and `sbir query` through the program itself: exit codes, JSON that
 * parses with k results sorted by score, the model found through INDEX.json, a model mismatch refused,
 * missing files reported in one line, --append embedding only the new images, sheets, --ann; `sbir
 * info` on each kind of file. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "data/collection.h"
#include "data/image.h"
#include "model/model.h"
#include "test.h"
#include "util/atomic_file.h"
#include "util/common.h"

#define N_IMG 12
static const char *k_cls[] = {"cat", "dog", "tree"}, *k_sty[] = {"ink", "paint"};
static char g_dir[4096], g_bin[4096], g_model[4300], g_model2[4300], g_coll[4300], g_part[4300], g_index[4300],
    g_sketch[4300], g_img0[4300];
static char g_out[4300], g_err[4300];

/* Runs the program with printf-style arguments; stdout and stderr to g_out / g_err; the exit status. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...) {
    char args[8192], cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "SBIR_QUIET=1 %s %s >%s 2>%s", g_bin, args, g_out, g_err);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *slurp(const char *path) {
    unsigned char *b = NULL;
    size_t n;
    if (read_file_all(path, 1 << 24, &b, &n) != SBIR_OK) return strdupCheck("");
    return (char *)b;
}

static int lines_of(const char *path) {
    char *s = slurp(path);
    int n = 0;
    for (char *p = s; *p; p++) n += *p == '\n';
    free(s);
    return n;
}

static int make_collection(const char *path, int n) {
    sbir_collection *c = collection_create(path, g_dir);
    if (!c) return SBIR_ERR;
    for (int i = 0; i < n; i++) {
        char p[4300];
        snprintf(p, sizeof p, "%s/img%02d.png", g_dir, i);
        if (collection_add_image(c, p, k_cls[i % 3], k_sty[(i / 3) % 2], 40, 40, NULL, NULL)) {
            collection_close(c);
            return SBIR_ERR;
        }
    }
    return collection_commit(c);
}

static int make_model(const char *path, uint64_t seed) {
    sbir_model *m = model_create(32, 3, (char **)k_cls, 2, (char **)k_sty, "c8,p,c16,p,g,l16", "c8,p,c8,g,l8", 8,
                                 NET_BACKEND_DNNL);
    if (!m) return SBIR_ERR;
    net_init(m->structure, seed);
    net_init(m->style, seed + 1);
    for (int i = 0; i < m->NS * m->Ds; i++) m->protos[i] = (float)((i * 7 + (int)seed) % 5 - 2) / 10;
    m->fusion[2] = 0.3f;
    int rc = model_save(m, path, NULL, 0, NULL, 0);
    model_free(m);
    return rc;
}

static void setup(void) {
    snprintf(g_dir, sizeof g_dir, "%s", test_tmpdir());
    snprintf(g_bin, sizeof g_bin, "%s/sbir", getenv("BUILD") ? getenv("BUILD") : "build");
    snprintf(g_out, sizeof g_out, "%s/stdout", g_dir);
    snprintf(g_err, sizeof g_err, "%s/stderr", g_dir);
    for (int i = 0; i < N_IMG; i++) {
        uint8_t px[40 * 40 * 3];
        for (int p = 0; p < 40 * 40; p++)
            for (int ch = 0; ch < 3; ch++)
                px[3 * p + ch] = (uint8_t)(((p % 40) * (i % 3 + 1) * 9 + (p / 40) * (ch + 1) * ((i / 3) % 2 + 1) * 5 + i) & 255);
        char p[4300];
        snprintf(p, sizeof p, "%s/img%02d.png", g_dir, i);
        CHECK(image_write_png(p, px, 40, 40, 3) == SBIR_OK, "%s", sbir_last_error());
    }
    snprintf(g_img0, sizeof g_img0, "%s/img00.png", g_dir);
    snprintf(g_coll, sizeof g_coll, "%s/coll.sqlite", g_dir);
    snprintf(g_part, sizeof g_part, "%s/part.sqlite", g_dir);
    snprintf(g_model, sizeof g_model, "%s/m.safetensors", g_dir);
    snprintf(g_model2, sizeof g_model2, "%s/m2.safetensors", g_dir);
    snprintf(g_index, sizeof g_index, "%s/i.sbix", g_dir);
    snprintf(g_sketch, sizeof g_sketch, "%s/cat.ndjson", g_dir);
    CHECK(make_collection(g_coll, N_IMG) == SBIR_OK && make_collection(g_part, 7) == SBIR_OK, "%s", sbir_last_error());
    CHECK(make_model(g_model, 3) == SBIR_OK && make_model(g_model2, 8) == SBIR_OK, "%s", sbir_last_error());
    const char *lines = "{\"word\":\"cat\",\"drawing\":[[[10,100,200],[10,200,20]],[[50,150],[120,120]]]}\n"
                        "{\"word\":\"dog\",\"drawing\":[[[0,50,90,255],[0,80,20,200]]]}\n";
    test_write_file(g_sketch, lines, strlen(lines));
}

static int out_has(const char *needle) {
    char *s = slurp(g_out);
    int r = strstr(s, needle) != NULL;
    free(s);
    return r;
}

/* Parses the JSON output; checks n results sorted by score with the fields a client needs. */
static cJSON *check_json(int want_n, const char *what) {
    char *s = slurp(g_out);
    cJSON *o = cJSON_Parse(s);
    free(s);
    CHECK(o != NULL, "%s: output is not JSON", what);
    if (!o) return NULL;
    cJSON *res = cJSON_GetObjectItem(o, "results");
    CHECK(cJSON_IsArray(res) && cJSON_GetArraySize(res) == want_n, "%s: %d results, want %d", what,
          cJSON_GetArraySize(res), want_n);
    CHECK(cJSON_IsObject(cJSON_GetObjectItem(o, "query")), "%s: no query object", what);
    double prev = 1e30;
    int rank = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, res) {
        cJSON *sc = cJSON_GetObjectItem(e, "score"), *p = cJSON_GetObjectItem(e, "path");
        CHECK(cJSON_IsNumber(sc) && sc->valuedouble <= prev, "%s: rank %d not sorted", what, rank + 1);
        CHECK(cJSON_GetObjectItem(e, "rank")->valueint == ++rank, "%s: rank", what);
        CHECK(cJSON_IsString(p) && strncmp(p->valuestring, g_dir, strlen(g_dir)) == 0, "%s: path", what);
        CHECK(cJSON_IsString(cJSON_GetObjectItem(e, "class")) && cJSON_IsString(cJSON_GetObjectItem(e, "style")),
              "%s: labels", what);
        if (cJSON_IsNumber(sc)) prev = sc->valuedouble;
    }
    return o;
}

static void test_index_and_query(void) {
    CHECK(run("index --model %s --collection %s --out %s --jobs 2", g_model, g_coll, g_index) == 0, "%s", slurp(g_err));
    struct stat st;
    char side[4400];
    snprintf(side, sizeof side, "%s.json", g_index);
    CHECK(stat(g_index, &st) == 0 && stat(side, &st) == 0, "index or INDEX.json missing");
    /* content only, --model taken from INDEX.json */
    CHECK(run("query --index %s --sketch %s --json -k 5", g_index, g_sketch) == 0, "%s", slurp(g_err));
    cJSON *o = check_json(5, "content only");
    if (o) {
        cJSON *q = cJSON_GetObjectItem(o, "query");
        cJSON *w = cJSON_GetObjectItem(q, "sketch_class");
        CHECK(cJSON_IsString(w) && strcmp(w->valuestring, "cat") == 0, "sketch class");
        cJSON_Delete(o);
    }
    /* style by name, drawing #1, class filter */
    CHECK(run("query --index %s --model %s --sketch '%s#1' --style paint --class-filter dog --json -k 50", g_index,
              g_model, g_sketch) == 0, "%s", slurp(g_err));
    o = check_json(N_IMG / 3, "class filter");
    cJSON *e;
    if (o) {
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(o, "results"))
            CHECK(strcmp(cJSON_GetObjectItem(e, "class")->valuestring, "dog") == 0, "class filter let another class in");
        cJSON_Delete(o);
    }
    /* style by example images (the same file twice: their mean is its style) */
    CHECK(run("query --index %s --sketch %s --style-image %s %s --json -k %d", g_index, g_sketch, g_img0, g_img0, N_IMG) == 0,
          "%s", slurp(g_err));
    o = check_json(N_IMG, "style images");
    cJSON_Delete(o);
    /* the table: a header and k rows */
    CHECK(run("query --index %s --sketch %s -k 3", g_index, g_sketch) == 0 && lines_of(g_out) == 4, "%s", slurp(g_out));
    /* a literal ndjson line and stdin */
    CHECK(run("query --index %s --sketch '[[[0,9,30],[5,40,2]]]' --json -k 2", g_index) == 0, "%s", slurp(g_err));
    cJSON_Delete(check_json(2, "literal drawing"));
    CHECK(run("query --index %s --sketch - --json -k 2 < %s", g_index, g_sketch) == 0, "%s", slurp(g_err));
    cJSON_Delete(check_json(2, "stdin"));
    /* a contact sheet */
    char sheet[4400];
    snprintf(sheet, sizeof sheet, "%s/sheet.png", g_dir);
    CHECK(run("query --index %s --sketch %s --style ink -k 6 --sheet %s", g_index, g_sketch, sheet) == 0, "%s", slurp(g_err));
    int w = 0, h = 0;
    image_format fmt;
    CHECK(image_probe_file(sheet, &w, &h, &fmt) == SBIR_OK && fmt == IMAGE_FORMAT_PNG && w > 400, "sheet %dx%d", w, h);
    /* approximate search: candidates from FAISS, k results all the same */
    CHECK(run("query --index %s --sketch %s --style ink --ann ivf --json -k 4", g_index, g_sketch) == 0, "%s", slurp(g_err));
    cJSON_Delete(check_json(4, "ann ivf"));
    CHECK(run("query --index %s --sketch %s --ann hnsw --json -k 4", g_index, g_sketch) == 0, "%s", slurp(g_err));
    cJSON_Delete(check_json(4, "ann hnsw"));
}

/* stderr is exactly one line starting "sbir: " and mentioning what */
static void one_line(const char *what) {
    char *s = slurp(g_err);
    CHECK(strncmp(s, "sbir: ", 6) == 0 && lines_of(g_err) == 1 && strstr(s, what), "stderr: %s", s);
    free(s);
}

static void test_errors(void) {
    CHECK(run("query --index %s --model %s --sketch %s", g_index, g_model2, g_sketch) == 1, "mismatch accepted");
    one_line("model");
    CHECK(run("index --model %s --collection %s --out %s --append", g_model2, g_coll, g_index) == 1, "append mismatch");
    one_line("model");
    CHECK(run("query --index %s/nope.sbix --model %s --sketch %s", g_dir, g_model, g_sketch) == 1, "see stderr above");
    one_line("nope.sbix");
    CHECK(run("query --index %s --sketch %s/nope.ndjson", g_index, g_dir) == 1, "see stderr above");
    one_line("nope.ndjson");
    CHECK(run("query --index %s --model %s/nope.model --sketch %s", g_index, g_dir, g_sketch) == 1, "see stderr above");
    one_line("nope.model");
    CHECK(run("query --index %s --sketch %s --style crayon", g_index, g_sketch) == 1, "see stderr above");
    one_line("crayon");
    CHECK(run("index --model %s --collection %s/nope.sqlite --out %s/x.sbix", g_model, g_dir, g_dir) == 1, "see stderr above");
    one_line("nope.sqlite");
    CHECK(run("index --model %s --collection %s --out %s/y.sbix --split nonsense", g_model, g_coll, g_dir) == 2, "see stderr above");
    CHECK(run("query --index %s --sketch %s --ann lsh", g_index, g_sketch) == 2, "see stderr above");
    CHECK(run("query --sketch %s", g_sketch) == 2, "see stderr above");
    CHECK(run("query --index %s --sketch %s --style ink --style-image %s", g_index, g_sketch, g_img0) == 2, "see stderr above");
    CHECK(run("index --help") == 0 && lines_of(g_out) > 3, "see stderr above");
    CHECK(run("query --help") == 0 && lines_of(g_out) > 3, "see stderr above");
}

/* Writes the first `keep` bytes of src to dst. */
static void truncated_copy(const char *src, const char *dst, size_t keep) {
    unsigned char *b = NULL;
    size_t n = 0;
    CHECK(read_file_all(src, 1 << 26, &b, &n) == SBIR_OK && n > keep, "%s", sbir_last_error());
    test_write_file(dst, b, keep < n ? keep : n);
    free(b);
}

/* sbir info tells a collection, a model, an index and a sharded index apart by their contents and
 * describes each; damaged and foreign files are refused in one line. */
static void test_info(void) {
    sbir_model *m = model_load(g_model, 8, NET_BACKEND_DNNL, NULL);
    CHECK(m != NULL, "%s", sbir_last_error());
    if (!m) return;
    char fp[17];
    snprintf(fp, sizeof fp, "%s", m->fingerprint); /* a save with gallery_mirror below changes m's */
    CHECK(run("info %s", g_model) == 0, "%s", slurp(g_err));
    CHECK(out_has(fp) && out_has("classes (3): cat, dog, tree") && out_has("styles (2): ink, paint") &&
              out_has("c8,p,c16,p,g,l16") && out_has("one view each"),
          "model: %s", slurp(g_out));
    char mirror[4400], bad[4400];
    snprintf(mirror, sizeof mirror, "%s/mirror.safetensors", g_dir);
    m->gallery_mirror = 1;
    CHECK(model_save(m, mirror, NULL, 0, NULL, 0) == SBIR_OK, "%s", sbir_last_error());
    CHECK(run("info %s", mirror) == 0 && out_has("with their mirror image") && !out_has(fp), "mirror model: %s",
          slurp(g_out));
    CHECK(run("info %s", g_index) == 0 && out_has("rows: 12") && out_has(fp) && out_has("built with model"),
          "index: %s", slurp(g_out));
    char sharded[4400];
    snprintf(sharded, sizeof sharded, "%s/sharded.sbix", g_dir);
    CHECK(run("index --model %s --collection %s --out %s --shards 2", g_model, g_coll, sharded) == 0, "%s", slurp(g_err));
    CHECK(run("info %s", sharded) == 0 && out_has("rows: 12 in 2 shards") && out_has(fp),
          "sharded index: %s", slurp(g_out));
    CHECK(run("info %s", g_coll) == 0 && out_has("images: 12"), "collection: %s", slurp(g_out));
    model_free(m);
    /* damaged or foreign */
    snprintf(bad, sizeof bad, "%s/half.safetensors", g_dir);
    truncated_copy(g_model, bad, 600);
    CHECK(run("info %s", bad) == 1, "a truncated model accepted: %s", slurp(g_out));
    one_line("half.safetensors");
    snprintf(bad, sizeof bad, "%s/half.sbix", g_dir);
    truncated_copy(g_index, bad, 100);
    CHECK(run("info %s", bad) == 1, "a truncated index accepted: %s", slurp(g_out));
    one_line("half.sbix");
    snprintf(bad, sizeof bad, "%s/junk.bin", g_dir);
    test_write_file(bad, "GIF89a not anything of ours", 27);
    CHECK(run("info %s", bad) == 1, "a foreign file accepted: %s", slurp(g_out));
    one_line("neither a collection, a model nor an index");
    CHECK(run("info %s %s", g_model, g_coll) == 2, "two files accepted");
    CHECK(run("info --help") == 0 && out_has("MODEL"), "help: %s", slurp(g_out));
}

static void test_append(void) {
    char index[4400];
    snprintf(index, sizeof index, "%s/part.sbix", g_dir);
    CHECK(run("index --model %s --collection %s --out %s --elem fp16", g_model, g_part, index) == 0, "%s", slurp(g_err));
    CHECK(out_has("indexed 7 images"), "%s", slurp(g_out));
    CHECK(run("index --model %s --collection %s --out %s --append", g_model, g_coll, index) == 0, "%s", slurp(g_err));
    CHECK(out_has("added 5 images"), "%s", slurp(g_out));
    CHECK(run("index --model %s --collection %s --out %s --append", g_model, g_coll, index) == 0, "%s", slurp(g_err));
    CHECK(out_has("nothing to add"), "%s", slurp(g_out));
    CHECK(run("query --index %s --sketch %s --json -k 100", index, g_sketch) == 0, "%s", slurp(g_err));
    cJSON_Delete(check_json(N_IMG, "appended"));
}

int main(void) {
    setup();
    RUN(test_index_and_query);
    RUN(test_errors);
    RUN(test_info);
    RUN(test_append);
    return test_summary();
}
