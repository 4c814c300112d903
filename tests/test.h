/* test.h — the tests' tiny framework. Each tests/test_*.c is one program:
 *
 *   static void test_something(void) { CHECK(x == 3, "x was %d", x); CHECK_NEAR(a, b, 1e-5); }
 *   int main(void) { RUN(test_something); return test_summary(); }
 *
 * Every CHECK counts as one assertion; a failure prints file:line and the message and the program
 * keeps going so one run shows every failure. test_summary() prints "<file>: N passed, N failed" and
 * returns non-zero when anything failed. Tests that need ../shared/data call test_data_dir(), which
 * returns NULL (and the test prints SKIP) where it is absent. */
#ifndef SBIR_TEST_H
#define SBIR_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

extern int g_test_passed, g_test_failed, g_test_skipped;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            g_test_passed++;                                                 \
        } else {                                                             \
            g_test_failed++;                                                 \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, "" __VA_ARGS__);                                 \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                               \
    do {                                                                                    \
        double a_ = (a), b_ = (b);                                                          \
        CHECK(fabs(a_ - b_) <= (tol), "%s = %.9g, %s = %.9g, tolerance %g", #a, a_, #b, b_, \
              (double)(tol));                                                               \
    } while (0)

/* SBIR_TEST_ONLY=name[,name...] runs only those tests of a program (e.g. one slow test under valgrind
 * in a process of its own); unset, all. */
int test_selected(const char *name);
#define RUN(fn)                                \
    do {                                       \
        if (!test_selected(#fn)) break;        \
        fprintf(stderr, "  %s\n", #fn);        \
        fn();                                  \
    } while (0)

int test_summary(void);
const char *test_data_dir(void); /* ../shared/data or $SBIR_SHARED_DATA, NULL if absent */
#define SKIP(...)                                   \
    do {                                            \
        g_test_skipped++;                           \
        fprintf(stderr, "  SKIP: " __VA_ARGS__);    \
        fputc('\n', stderr);                        \
    } while (0)

/* 1 when the tests run under valgrind (SBIR_UNDER_VALGRIND set and not "0", tests/run_valgrind.sh):
 * memcheck is 20-50x slower, so the few tests with time bounds or heavy loops stretch or thin them. */
int test_under_valgrind(void);

/* A fresh empty directory under $TMPDIR for the test's files (removed by the runner). */
const char *test_tmpdir(void);

/* Writes bytes to a file (for hostile-input tests). */
void test_write_file(const char *path, const void *data, size_t n);

/* Largest |a[i] - b[i]| relative to max(1, max|b|). */
double test_max_rel_diff(const float *a, const float *b, size_t n);

#endif
