/* test_install.c — `make install PREFIX=<tmp>` installs a usable library: the example program
 * (examples/search.c) builds against it with pkg-config alone (PKG_CONFIG_PATH=<tmp>/lib/pkgconfig),
 * shared and static, and answers a query on a tiny index built by the installed `sbir index`. */
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "data/collection.h"
#include "data/image.h"
#include "model/model.h"
#include "test.h"
#include "util/common.h"

#define N_IMG 9
static char g_dir[4096];

static int sh(const char *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(const char *log, const char *fmt, ...) {
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd / 2, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd / 2) return -1;
    snprintf(cmd + n, sizeof cmd - (size_t)n, " >%s 2>&1", log);
    int rc = system(cmd);
    if (rc != 0) { /* show why */
        char tail[8192];
        snprintf(tail, sizeof tail, "tail -15 %s >&2", log);
        if (system(tail)) {}
    }
    return rc;
}

static int fixture(char *model, char *coll, char *sketch, size_t n) {
    static const char *cls[] = {"cat", "dog", "tree"}, *sty[] = {"ink", "paint"};
    snprintf(coll, n, "%s/coll.sqlite", g_dir);
    sbir_collection *c = collection_create(coll, g_dir);
    if (!c) return SBIR_ERR;
    for (int i = 0; i < N_IMG; i++) {
        uint8_t px[40 * 40 * 3];
        for (int p = 0; p < 40 * 40; p++)
            for (int ch = 0; ch < 3; ch++)
                px[3 * p + ch] = (uint8_t)(((p % 40) * (i + 1) + (p / 40) * (ch + 1) * (i % 3 + 1)) & 255);
        char path[4300];
        snprintf(path, sizeof path, "%s/img%d.png", g_dir, i);
        if (image_write_png(path, px, 40, 40, 3) || collection_add_image(c, path, cls[i % 3], sty[i % 2], 40, 40, NULL, NULL)) {
            collection_close(c);
            return SBIR_ERR;
        }
    }
    if (collection_commit(c) != SBIR_OK) return SBIR_ERR;
    snprintf(model, n, "%s/m.safetensors", g_dir);
    sbir_model *m = model_create(32, 3, (char **)cls, 2, (char **)sty, "c8,p,c16,p,g,l16", "c8,p,c8,g,l8", 8,
                                 NET_BACKEND_DNNL);
    if (!m) return SBIR_ERR;
    net_init(m->structure, 1);
    net_init(m->style, 2);
    for (int i = 0; i < m->NS * m->Ds; i++) m->protos[i] = (float)((i * 7) % 5 - 2) / 10;
    int rc = model_save(m, model, NULL, 0, NULL, 0);
    model_free(m);
    snprintf(sketch, n, "%s/cat.ndjson", g_dir);
    const char *line = "{\"word\":\"cat\",\"key_id\":\"7\",\"drawing\":[[[10,100,200],[10,200,20]],[[50,150],[120,120]]]}\n";
    test_write_file(sketch, line, strlen(line));
    return rc;
}

/* The example's output: K lines "rank<TAB>score<TAB>class<TAB>style<TAB>path", scores not increasing. */
static void check_output(const char *path, int k, const char *what) {
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "%s: no output", what);
    if (!f) return;
    char line[8192];
    int n = 0;
    double prev = 1e30;
    while (fgets(line, sizeof line, f)) {
        int rank;
        double score;
        char cls[64], sty[64], img[4096];
        int ok = sscanf(line, "%d\t%lf\t%63[^\t]\t%63[^\t]\t%4095[^\n]", &rank, &score, cls, sty, img) == 5;
        CHECK(ok, "%s: bad line: %s", what, line);
        if (!ok) continue;
        n++;
        CHECK(rank == n && score <= prev, "%s: rank %d score %g after %g", what, rank, score, prev);
        struct stat st;
        CHECK(stat(img, &st) == 0, "%s: result path %s does not exist", what, img);
        CHECK(strcmp(sty, "ink") == 0 || strcmp(sty, "paint") == 0, "%s: style %s", what, sty);
        prev = score;
    }
    fclose(f);
    CHECK(n == k, "%s: %d results, want %d", what, n, k);
}

static void test_install_and_example(void) {
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
#if defined(__SANITIZE_ADDRESS__)
    const char *san = "SAN=1", *xflags = "-fsanitize=address,undefined";
#else
    const char *san = "", *xflags = "";
#endif
    snprintf(g_dir, sizeof g_dir, "%s", test_tmpdir());
    char prefix[4200], log[4200], model[4300], coll[4300], sketch[4300], index[4300], out[4300], exe[4300];
    snprintf(prefix, sizeof prefix, "%s/prefix", g_dir);
    snprintf(log, sizeof log, "%s/log", g_dir);
    CHECK(fixture(model, coll, sketch, sizeof model) == SBIR_OK, "%s", sbir_last_error());
    int rc = sh(log, "make --no-print-directory %s BUILD=%s install PREFIX=%s", san, build, prefix);
    CHECK(rc == 0, "make install failed");
    if (rc) return;
    const char *files[] = {"bin/sbir", "lib/libsbir.a", "lib/libsbir.so", "include/sbir.h", "lib/pkgconfig/sbir.pc",
                           "share/man/man1/sbir.1"};
    for (size_t i = 0; i < SBIR_ARRAY_LEN(files); i++) {
        char p[4400];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", prefix, files[i]);
        CHECK(stat(p, &st) == 0 && st.st_size > 0, "not installed: %s", files[i]);
    }
    CHECK(sh(log, "PKG_CONFIG_PATH=%s/lib/pkgconfig pkg-config --cflags --libs sbir | grep -q -- '-lsbir'", prefix) == 0,
          "pkg-config does not know sbir");
    snprintf(index, sizeof index, "%s/tiny.sbix", g_dir);
    CHECK(sh(log, "SBIR_QUIET=1 %s/bin/sbir index --model %s --collection %s --out %s", prefix, model, coll, index) == 0,
          "the installed sbir index failed");
    const char *modes[] = {"", "STATIC=1"};
    for (int m = 0; m < 2; m++) {
        snprintf(exe, sizeof exe, "%s/search%d", g_dir, m);
        rc = sh(log, "PKG_CONFIG_PATH=%s/lib/pkgconfig make --no-print-directory -s -C examples -B %s search "
                     "CFLAGS='-O1 %s' LDFLAGS='%s' && mv examples/search %s",
                prefix, modes[m], xflags, xflags, exe);
        CHECK(rc == 0, "building the example (%s) against the installed library failed", m ? "static" : "shared");
        if (rc) continue;
        snprintf(out, sizeof out, "%s/out%d", g_dir, m);
        CHECK(sh(out, "%s %s %s '%s' paint 4", exe, model, index, sketch) == 0, "the example failed");
        check_output(out, 4, m ? "static" : "shared");
    }
}

int main(void) {
    RUN(test_install_and_example);
    return test_summary();
}
