#include "test.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int g_test_passed, g_test_failed, g_test_skipped;
extern const char *__progname;

int test_summary(void) {
    fprintf(stderr, "%s: %d passed, %d failed", __progname, g_test_passed, g_test_failed);
    if (g_test_skipped) fprintf(stderr, ", %d skipped", g_test_skipped);
    fputc('\n', stderr);
    /* A machine-readable line for tests/run_tests.sh. */
    printf("RESULT %d %d %d\n", g_test_passed, g_test_failed, g_test_skipped);
    return g_test_failed ? 1 : 0;
}

const char *test_data_dir(void) {
    static char buf[4096];
    const char *env = getenv("SBIR_SHARED_DATA");
    const char *cands[] = {env, "../shared/data", "../../shared/data"};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        if (!cands[i]) continue;
        struct stat st;
        snprintf(buf, sizeof buf, "%s/README.md", cands[i]);
        if (stat(buf, &st) == 0) {
            snprintf(buf, sizeof buf, "%s", cands[i]);
            return buf;
        }
    }
    return NULL;
}

int test_under_valgrind(void) {
    const char *v = getenv("SBIR_UNDER_VALGRIND");
    return v && *v && strcmp(v, "0") != 0;
}

const char *test_tmpdir(void) {
    static char dir[4096];
    if (dir[0]) return dir;
    const char *base = getenv("SBIR_TEST_TMP");
    if (!base) base = getenv("TMPDIR");
    if (!base) base = "/tmp";
    snprintf(dir, sizeof dir, "%s/sbir-test-%s-XXXXXX", base, __progname);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(2);
    }
    return dir;
}

void test_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

double test_max_rel_diff(const float *a, const float *b, size_t n) {
    double m = 0, r = 1;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || d != d) m = d != d ? INFINITY : d;
        if (fabs(b[i]) > r) r = fabs(b[i]);
    }
    return m / r;
}

int test_selected(const char *name) {
    const char *only = getenv("SBIR_TEST_ONLY");
    if (!only || !*only) return 1;
    size_t n = strlen(name);
    for (const char *p = only; (p = strstr(p, name)) != NULL; p += n)
        if ((p == only || p[-1] == ',') && (p[n] == '\0' || p[n] == ',')) return 1;
    return 0;
}
