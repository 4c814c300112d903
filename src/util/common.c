#include "util/common.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

static _Thread_local char g_error[1024];

int sbir_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_error, sizeof g_error, fmt, ap);
    va_end(ap);
    return SBIR_ERR;
}

int sbir_error_prefix(const char *fmt, ...) {
    char prefix[512], old[sizeof g_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_error, sizeof old);
    snprintf(g_error, sizeof g_error, "%s: %s", prefix, old);
    return SBIR_ERR;
}

const char *sbir_last_error(void) { return g_error[0] ? g_error : "unknown error"; }
void sbir_clear_error(void) { g_error[0] = 0; }

static void die_oom(size_t size, const char *file, int line) {
    fprintf(stderr, "sbir: out of memory allocating %zu bytes at %s:%d\n", size, file, line);
    abort();
}

void *malloc_check(size_t size, const char *file, int line) {
    void *p = malloc(size ? size : 1);
    if (!p) die_oom(size, file, line);
    return p;
}

void *calloc_check(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) die_oom(n * size, file, line);
    return p;
}

void *realloc_check(void *q, size_t size, const char *file, int line) {
    void *p = realloc(q, size ? size : 1);
    if (!p) die_oom(size, file, line);
    return p;
}

char *strdup_check(const char *s, const char *file, int line) {
    size_t n = strlen(s) + 1;
    char *p = malloc_check(n, file, line);
    memcpy(p, s, n);
    return p;
}

void *aligned_alloc_check(size_t size, const char *file, int line) {
    size_t rounded = (size + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) die_oom(size, file, line);
    return p;
}

double sbir_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
